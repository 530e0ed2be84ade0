# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for VM tests (selftests/vm/tests/*.sh), sourced at the top of each:
#	. "$(dirname "$0")/../lib.sh"
# A test runs as root inside its own VM (selftests/vm/vm-run); it exits 0 to pass,
# $SKIP_RC to skip, anything else to fail. Cleanup registered with on_exit runs
# however the test ends.
#
# The standard topology (topo_gateways):
#
#   h1 ---------- gw1 ======== wire ======== gw2 ---------- h2
#   10.1.0.2/24   in0  10.1.0.1/24            in0  10.2.0.1/24  10.2.0.2/24
#   fd01::2/64         fd01::1/64                  fd02::1/64   fd02::2/64
#                 out0 192.0.2.1/24           out0 192.0.2.2/24
#                      2001:db8::1/64              2001:db8::2/64
#
# Each box is a network namespace; the gateways forward. The outer link (out0)
# carries the tunnel; in0 faces each gateway's protected network. "wire" is a
# bridge (br0, ports p1 to gw1 and p2 to gw2): capture there to see what really
# crossed the link, since a capture on a gateway's out0 also shows the decrypted
# packets the kernel re-injects on that device.

set -u
set -o pipefail

SKIP_RC=4
XIPSEC_SRC=${XIPSEC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XIPSEC_BUILD=${XIPSEC_BUILD:-$XIPSEC_SRC/build}
XIPSEC=$XIPSEC_BUILD/xipsec
XIKED=$XIPSEC_BUILD/xiked
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")
PY=/usr/bin/python3	# Debian's, which has scapy

_exit_cmds=()

# on_exit CMD: run CMD (a string for eval) when the test exits, newest first.
on_exit() {
	_exit_cmds=("$1" "${_exit_cmds[@]}")
}

_run_exit_cmds() {
	local rc=$? c
	set +e
	for c in "${_exit_cmds[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	exit $rc
}
trap _run_exit_cmds EXIT

log() {
	echo "[$TEST_NAME] $*"
}

fail() {
	echo "FAIL: [$TEST_NAME] $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit $SKIP_RC
}

# require CMD...: skip unless every command exists.
require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fail after SECONDS.
wait_until() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out after ${limit}s waiting for: $*"
}

assert_eq() {	# assert_eq WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	log "ok: $1 = $3"
}

assert_ge() {	# assert_ge WHAT GOT MIN
	[ "$2" -ge "$3" ] 2>/dev/null || fail "$1: got '$2', want at least $3"
	log "ok: $1 = $2 (>= $3)"
}

netns_add() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || fail "netns add $ns"
		on_exit "ip netns del $ns"
		ip -n "$ns" link set lo up
	done
}

in_ns() {	# in_ns NS CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# veth_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two namespaces, up,
# with the given CIDR addresses ("-" for none).
veth_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" ||
		fail "veth $1:$2 - $4:$5"
	[ "$3" = - ] || ip -n "$1" addr add "$3" dev "$2"
	[ "$6" = - ] || ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

topo_gateways() {
	netns_add h1 gw1 wire gw2 h2
	veth_link h1 eth0 10.1.0.2/24 gw1 in0 10.1.0.1/24
	veth_link gw1 out0 192.0.2.1/24 wire p1 -
	veth_link wire p2 - gw2 out0 192.0.2.2/24
	ip -n wire link add br0 type bridge
	ip -n wire link set p1 master br0
	ip -n wire link set p2 master br0
	ip -n wire link set br0 up
	veth_link gw2 in0 10.2.0.1/24 h2 eth0 10.2.0.2/24
	ip -n h1 addr add fd01::2/64 dev eth0 nodad
	ip -n gw1 addr add fd01::1/64 dev in0 nodad
	ip -n gw2 addr add fd02::1/64 dev in0 nodad
	ip -n h2 addr add fd02::2/64 dev eth0 nodad
	ip -n gw1 addr add 2001:db8::1/64 dev out0 nodad
	ip -n gw2 addr add 2001:db8::2/64 dev out0 nodad
	ip -n h1 route add default via 10.1.0.1
	ip -n h2 route add default via 10.2.0.1
	ip -n h1 -6 route add default via fd01::1
	ip -n h2 -6 route add default via fd02::1
	local gw
	for gw in gw1 gw2; do
		in_ns $gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	done
	# Without routes for the far side, the gateways drop before the xfrm lookup.
	ip -n gw1 route add 10.2.0.0/24 via 192.0.2.2
	ip -n gw2 route add 10.1.0.0/24 via 192.0.2.1
	ip -n gw1 -6 route add fd02::/64 via 2001:db8::2
	ip -n gw2 -6 route add fd01::/64 via 2001:db8::1
}

# Test keys: fixed, public, for test traffic only.
KEY_GW1_GW2=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324
KEY_GW2_GW1=0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4

# xfrm_static_tunnel: a manually keyed AES-GCM-128 (rfc4106, 16-byte ICV) tunnel
# between gw1 and gw2 for 10.1.0.0/24 <-> 10.2.0.0/24. SPIs 0x1001 (gw1->gw2) and
# 0x2002 (gw2->gw1), reqids 1 and 2.
xfrm_static_tunnel() {
	modprobe -a esp4 esp6 xfrm_user 2>/dev/null
	local a b spi_ab spi_ba key_ab key_ba net_a net_b
	_xfrm_gw() {	# _xfrm_gw NS LOCAL REMOTE LNET RNET SPI_OUT KEY_OUT SPI_IN KEY_IN
		local ns=$1 l=$2 r=$3 ln=$4 rn=$5
		ip -n "$ns" xfrm state add src "$l" dst "$r" proto esp spi "$6" reqid 1 mode tunnel replay-window 32 \
			aead 'rfc4106(gcm(aes))' "$7" 128 || fail "$ns: xfrm state out"
		ip -n "$ns" xfrm state add src "$r" dst "$l" proto esp spi "$8" reqid 2 mode tunnel replay-window 32 \
			aead 'rfc4106(gcm(aes))' "$9" 128 || fail "$ns: xfrm state in"
		ip -n "$ns" xfrm policy add src "$ln" dst "$rn" dir out \
			tmpl src "$l" dst "$r" proto esp reqid 1 mode tunnel || fail "$ns: policy out"
		ip -n "$ns" xfrm policy add src "$rn" dst "$ln" dir in \
			tmpl src "$r" dst "$l" proto esp reqid 2 mode tunnel || fail "$ns: policy in"
		ip -n "$ns" xfrm policy add src "$rn" dst "$ln" dir fwd \
			tmpl src "$r" dst "$l" proto esp reqid 2 mode tunnel || fail "$ns: policy fwd"
	}
	_xfrm_gw gw1 192.0.2.1 192.0.2.2 10.1.0.0/24 10.2.0.0/24 0x1001 "$KEY_GW1_GW2" 0x2002 "$KEY_GW2_GW1"
	_xfrm_gw gw2 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 0x2002 "$KEY_GW2_GW1" 0x1001 "$KEY_GW1_GW2"
}

# xfrm_state_packets NS SPI: packets the kernel counted on that SA.
xfrm_state_packets() {
	ip -n "$1" -s xfrm state list spi "$2" |
		awk '/lifetime current:/ {getline; sub(/\(packets\)/, "", $2); print $2; exit}'
}

# capture_start NS IF FILE [FILTER]: tcpdump into FILE until capture_stop.
_capture_pids=()
_capture_files=()
capture_start() {
	local ns=$1 dev=$2 file=$3
	shift 3
	# `ip netns exec` execs tcpdump, so $! is tcpdump itself.
	ip netns exec "$ns" tcpdump -i "$dev" -U -n -s 256 -w "$file" "$@" >"$file.log" 2>&1 &
	_capture_pids+=($!)
	_capture_files+=("$file")
	on_exit "kill $! 2>/dev/null"
	wait_until 10 grep -q 'listening on' "$file.log"
}

capture_stop() {
	local p f size prev= i
	# -U writes each packet as it comes; wait until the files stop growing
	# (TCG can be slow to schedule tcpdump), then stop. SIGTERM: background
	# jobs of a non-interactive shell ignore SIGINT.
	for ((i = 0; i < 50; i++)); do
		sleep 0.2
		size=
		for f in "${_capture_files[@]}"; do
			size+="$(stat -c %s "$f" 2>/dev/null) "
		done
		[ "$size" = "$prev" ] && [ $i -ge 2 ] && break
		prev=$size
	done
	for p in "${_capture_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	_capture_pids=()
	_capture_files=()
}

# pcap_count FILE FILTER: packets in FILE matching a tcpdump filter.
pcap_count() {
	tcpdump -n -r "$1" "$2" 2>/dev/null | wc -l
}
