#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Tunnel throughput with and without xipsec, in one VM run (not part of make test):
#
#   selftests/vm/vm-run --timeout 1800 -- bench/tunnel_throughput.sh [SECONDS] [ROUNDS] [VARIANT...]
#
#   h1 --- gw1 ====== wire ====== gw2 --- h2      (selftests/vm/lib.sh)
#
# "kernel": the AES-GCM tunnel keyed with `ip xfrm` (selector policies), no BPF.
# Each VARIANT is the same SAs (SPIs, keys, algorithm) installed by `xipsec load`,
# with the inner classifier (XDP + TC) and the outer prefilter and inbound check
# (XDP + TC) attached on both gateways: every packet is classified and steered by
# mark, counted per bucket and SA, and checked after decryption. Variants differ
# in how XDP is attached:
#   auto           no --mode: xipsec picks for the device (on these veths: no
#                  XDP on in0, TC only; generic XDP on out0)
#   native         XDP in driver mode on in0 and out0 (`--mode native`)
#   generic        XDP in skb mode on in0 and out0 (`--mode generic`)
#   inner-generic  generic on in0, native on out0
#   inner-tc       native on out0, `--mode tc` on in0 (TC classifies alone)
#   tc             `--mode tc` on in0 and out0: no XDP at all
#   native-gro     native, plus GRO switched on for in0 (ethtool -K), for diagnosis
# Default: native generic.
#
# Why the variants: on veth (6.1 and later), a native XDP program on in0 makes
# the kernel clear TSO on its peer (h1's eth0, "off [fixed]"), whether or not the
# program declares XDP frags; the peer then segments in software and gw1 routes
# and encrypts every segment on its own, where without XDP it routes one 64 KiB
# GSO packet. The script prints h1's TSO state under each variant.
#
# Rounds alternate kernel and every variant so drifts of the emulated machine hit
# all alike; each measures a TCP iperf3 stream h1 -> h2 for SECONDS (first second
# omitted). Prints each round as Mbit/s/retransmits (TCP segments the sender
# retransmitted: drops on the way), the medians and their ratios to the kernel's.
# Under TCG (no KVM) single runs vary by 2x: only medians of alternating rounds
# of one run mean anything. Two figures per variant: the ratio of its median to
# the kernel's, and the median of its per-round ratios (each to the kernel
# round just before it), which a drift of the host's load disturbs less.
. "$(dirname "$0")/../selftests/vm/lib.sh"
. "$(dirname "$0")/../selftests/vm/dp_lib.sh"
require iperf3 jq

secs=${1:-5}
rounds=${2:-5}
shift $(($# < 2 ? $# : 2))
variants=(native generic)
[ $# -eq 0 ] || variants=("$@")
for v in "${variants[@]}"; do
	case $v in
	auto | native | generic | inner-generic | inner-tc | tc) ;;
	native-gro) require ethtool ;;
	*) fail "unknown variant '$v'" ;;
	esac
done

topo_gateways
in_ns h2 iperf3 -s -D -p 5201 || fail "iperf3 server"
wait_until 10 in_ns h1 bash -c 'exec 3<>/dev/tcp/10.2.0.2/5201'

mbps() {	# one iperf3 run: "Mbit/s-received/TCP-retransmits"
	local v
	v=$(in_ns h1 iperf3 -c 10.2.0.2 -p 5201 -t "$secs" -O 1 -J |
		jq -r '"\(.end.sum_received.bits_per_second / 1e5 | floor / 10)/\(.end.sum_sent.retransmits)"')
	case $v in [0-9]*/[0-9]*) ;; *) fail "iperf3 measured nothing ($v)" ;; esac
	echo "$v"
}

h1_tso() {
	if command -v ethtool >/dev/null; then
		in_ns h1 ethtool -k eth0 | awk '/^tcp-segmentation-offload:/ {print $2 $3}'
	else
		echo "?"
	fi
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

xipsec_up() {	# xipsec_up VARIANT
	local gw in_mode=native out_mode=native
	case $1 in
	auto) in_mode=auto out_mode=auto ;;
	generic) in_mode=generic out_mode=generic ;;
	inner-generic) in_mode=generic ;;
	inner-tc) in_mode=tc ;;
	tc) in_mode=tc out_mode=tc ;;
	esac
	for gw in gw1 gw2; do
		dpx $gw attach in0 --inner --mode "$in_mode" >/dev/null || fail "$gw: attach in0"
		dpx $gw attach out0 --outer --mode "$out_mode" >/dev/null || fail "$gw: attach out0"
		case $1 in
		native-gro) in_ns $gw ethtool -K in0 gro on >/dev/null || fail "$gw: GRO on" ;;
		esac
	done
	dp_conf gw1 "rule from 10.1.0.0/24 to 10.2.0.0/24 protect gw1-gw2"
	dp_conf gw2 "rule from 10.2.0.0/24 to 10.1.0.0/24 protect gw2-gw1"
	for gw in gw1 gw2; do
		dpx $gw load "$TEST_TMP/$gw.conf" >/dev/null 2>&1 || fail "$gw: xipsec load"
	done
}

# Unload and detach: the kernel rounds run with no BPF program at all.
xipsec_down() {	# xipsec_down VARIANT
	local gw
	for gw in gw1 gw2; do
		dpx $gw unload >/dev/null 2>&1 || fail "$gw: xipsec unload"
		dpx $gw detach in0 >/dev/null || fail "$gw: detach in0"
		dpx $gw detach out0 >/dev/null || fail "$gw: detach out0"
		[ "$1" != native-gro ] || in_ns $gw ethtool -K in0 gro off >/dev/null
	done
}

median() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

declare -A res tso
res[kernel]=
tso[kernel]=$(h1_tso)
for ((r = 1; r <= rounds; r++)); do
	kernel_up
	res[kernel]+=" $(mbps)"
	kernel_down
	line="round $r: kernel $(echo ${res[kernel]} | awk '{print $NF}')"
	for v in "${variants[@]}"; do
		xipsec_up "$v"
		tso[$v]=$(h1_tso)
		res[$v]+=" $(mbps)"
		# the tunnel really was ESP through xipsec's SA
		[ "$(xfrm_state_packets gw1 0x1001)" -gt 0 ] || fail "no packets on xipsec's SA"
		xipsec_down "$v"
		line+=", $v $(echo ${res[$v]} | awk '{print $NF}')"
	done
	log "$line Mbit/s"
done

echo "tunnel throughput, TCP h1 -> h2, ${secs}s x $rounds rounds, $(uname -r), $(nproc) vCPUs"
mb() {	# Mbit/s of "Mbit/s/retransmits" words
	local w
	for w in "$@"; do echo "${w%/*}"; done
}
# round_ratios V: V's Mbit/s over the kernel's of the same round, per round
round_ratios() {
	paste -d' ' <(mb ${res[kernel]}) <(mb ${res[$1]}) | awk '{printf "%.3f\n", $2 / $1}'
}
km=$(median $(mb ${res[kernel]}))
for v in kernel "${variants[@]}"; do
	m=$(median $(mb ${res[$v]}))
	printf '  %-14s rounds (Mbit/s/retr):%s; median %s; ratio %s; median of round ratios %s; h1 TSO %s\n' \
		"$v" "${res[$v]}" "$m" "$(awk -v k="$km" -v x="$m" 'BEGIN {printf "%.3f", x / k}')" \
		"$(median $(round_ratios "$v"))" "${tso[$v]}"
done
