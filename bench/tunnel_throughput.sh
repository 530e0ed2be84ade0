#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Tunnel throughput with and without xipsec, in one VM run (not part of make test):
#
#   selftests/vm/vm-run --timeout 900 -- bench/tunnel_throughput.sh [SECONDS] [ROUNDS] [native|generic]
#
#   h1 --- gw1 ====== wire ====== gw2 --- h2      (selftests/vm/lib.sh)
#
# "kernel": the AES-GCM tunnel keyed with `ip xfrm` (selector policies), no BPF.
# "xipsec": the same SAs (SPIs, keys, algorithm) installed by `xipsec load`, with
#           the inner classifier (XDP + TC) and the outer prefilter and inbound check
#           (XDP + TC) attached on both gateways: every packet is classified and
#           steered by mark, counted per bucket and SA, and checked after decryption.
# Rounds alternate kernel/xipsec so drifts of the emulated machine hit both alike;
# each measures a TCP iperf3 stream h1 -> h2 for SECONDS (first second omitted).
# Prints each round and the ratio of the medians. Under TCG (no KVM) single runs
# vary by 2x: only the medians of many alternating rounds mean anything.
. "$(dirname "$0")/../selftests/vm/lib.sh"
. "$(dirname "$0")/../selftests/vm/dp_lib.sh"
require iperf3 jq

secs=${1:-5}
rounds=${2:-5}
xdp_mode=${3:-native}	# XDP attach mode for the xipsec rounds

topo_gateways
in_ns h2 iperf3 -s -D -p 5201 || fail "iperf3 server"
wait_until 10 in_ns h1 bash -c 'exec 3<>/dev/tcp/10.2.0.2/5201'

mbps() {	# one iperf3 run, Mbit/s received
	local v
	v=$(in_ns h1 iperf3 -c 10.2.0.2 -p 5201 -t "$secs" -O 1 -J |
		jq '.end.sum_received.bits_per_second / 1e5 | floor / 10')
	[ -n "$v" ] && [ "$v" != null ] || fail "iperf3 measured nothing"
	echo "$v"
}

kernel_up() {
	xfrm_static_tunnel
}

kernel_down() {
	local gw
	for gw in gw1 gw2; do
		ip -n $gw xfrm policy flush
		ip -n $gw xfrm state flush
	done
}

# Each gateway gets its own bpffs (see dp_lib.sh), mounted once.
for gw in gw1 gw2; do
	mkdir -p "/run/$gw-bpf"
	mount -t bpf bpf "/run/$gw-bpf" || fail "mount bpffs for $gw"
	on_exit "umount /run/$gw-bpf"
done
modprobe -a esp4 xfrm_user

xipsec_up() {
	local gw
	for gw in gw1 gw2; do
		dpx $gw attach in0 --inner --mode "$xdp_mode" >/dev/null || fail "$gw: attach in0"
		dpx $gw attach out0 --outer --mode "$xdp_mode" >/dev/null || fail "$gw: attach out0"
	done
	dp_conf gw1 "rule from 10.1.0.0/24 to 10.2.0.0/24 protect gw1-gw2"
	dp_conf gw2 "rule from 10.2.0.0/24 to 10.1.0.0/24 protect gw2-gw1"
	for gw in gw1 gw2; do
		dpx $gw load "$TEST_TMP/$gw.conf" >/dev/null 2>&1 || fail "$gw: xipsec load"
	done
}

# Unload and detach: the kernel rounds run with no BPF program at all.
xipsec_down() {
	local gw
	for gw in gw1 gw2; do
		dpx $gw unload >/dev/null 2>&1 || fail "$gw: xipsec unload"
		dpx $gw detach in0 >/dev/null || fail "$gw: detach in0"
		dpx $gw detach out0 >/dev/null || fail "$gw: detach out0"
	done
}

kern=() xip=()
for ((r = 1; r <= rounds; r++)); do
	kernel_up
	kern+=("$(mbps)")
	kernel_down
	xipsec_up
	xip+=("$(mbps)")
	# the tunnel really was ESP through xipsec's SA
	[ "$(xfrm_state_packets gw1 0x1001)" -gt 0 ] || fail "no packets on xipsec's SA"
	xipsec_down
	log "round $r: kernel ${kern[-1]} Mbit/s, xipsec ${xip[-1]} Mbit/s"
done

median() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
km=$(median "${kern[@]}")
xm=$(median "${xip[@]}")
echo "tunnel throughput, TCP h1 -> h2, ${secs}s x $rounds rounds, XDP $xdp_mode, $(uname -r), $(nproc) vCPUs"
echo "  kernel only:     ${kern[*]} Mbit/s, median $km"
echo "  xipsec attached: ${xip[*]} Mbit/s, median $xm"
awk -v k="$km" -v x="$xm" 'BEGIN {printf "  ratio xipsec/kernel: %.3f\n", x / k}'
