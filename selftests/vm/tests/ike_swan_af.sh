#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm-timeout: 450
#
# IPv4 and IPv6 inner traffic in one child SA (two selectors per side), over
# an IPv4 and then over an IPv6 outer path, between xiked and Debian's
# strongSwan.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#   10.1.0.2    192.0.2.1 / 2001:db8::1     192.0.2.2 / 2001:db8::2   10.2.0.2
#   fd01::2     xiked                       charon                    fd02::2
#
#   child "net": 10.1.0.0/24,fd01::/64 <-> 10.2.0.0/24,fd02::/64
#
#   1. outer IPv4, xiked initiates: pings h1 -> h2 over IPv4 and IPv6 both use
#      the child's one SA pair (counters = both pings); the wire carries ESP
#      over IPv4 only.
#   2. outer IPv6, charon initiates: the same over ESP in IPv6.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl tshark jq perl "$SWAN_CHARON" "$XIKED"

count=4
PCAP=$TEST_TMP/outer.pcap

# conf GW FILE LOCAL_ADDR REMOTE_ADDR
conf() {
	local lts rts lid rid
	if [ "$1" = gw1 ]; then
		lts=10.1.0.0/24,fd01::/64 rts=10.2.0.0/24,fd02::/64 lid=gw1.xipsec.test rid=gw2.xipsec.test
	else
		lts=10.2.0.0/24,fd02::/64 rts=10.1.0.0/24,fd01::/64 lid=gw2.xipsec.test rid=gw1.xipsec.test
	fi
	swan_render s2s-psk.conf "$2" CONN=s2s CHILD=net LOCAL_ADDR="$3" REMOTE_ADDR="$4" \
		LOCAL_TS=$lts REMOTE_TS=$rts LOCAL_ID=$lid REMOTE_ID=$rid \
		IKE_PROPOSALS=aes256gcm16-prfsha256-x25519 ESP_PROPOSALS=aes128gcm16 \
		PSK="xipsec test key, not secret"
}

# both_families WHAT OUTER: IPv4 and IPv6 pings through xiked's one child
both_families() {
	local what=$1 outer=$2 spi_in spi_out
	read -r spi_in spi_out <<<"$(xiked_child_spis)"
	[ -n "$spi_out" ] || { xiked_tail; fail "$what: xiked has no installed child"; }
	assert_eq "$what: xfrm states at gw1" "$(xfrm_states gw1)" 2
	# out, in, fwd for each of the 2 x 2 selector pairs of one family each
	assert_eq "$what: xfrm policies at gw1" "$(xfrm_policies gw1)" 6
	ip -n gw1 xfrm state list spi "0x$spi_out" | grep -q "src $outer" ||
		fail "$what: 0x$spi_out is not over $outer: $(ip -n gw1 xfrm state list spi "0x$spi_out")"
	in_ns h1 ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "$what: ping h1 -> h2"
	in_ns h1 ping -6 -n -q -c $count -i 0.05 -W 2 fd02::2 >/dev/null || fail "$what: ping6 h1 -> h2"
	assert_eq "$what: packets out on 0x$spi_out (IPv4 and IPv6 inner)" \
		"$(xfrm_state_packets gw1 "0x$spi_out")" $((2 * count))
	assert_eq "$what: packets in on 0x$spi_in" "$(xfrm_state_packets gw1 "0x$spi_in")" $((2 * count))
	assert_eq "$what: packets in on 0x$spi_out at gw2" "$(xfrm_state_packets gw2 "0x$spi_out")" \
		$((2 * count))
}

topo_gateways
swan_kernel_warmup &
warm=$!
swan_spawn gw2 gw2
swan_ready gw2
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
dir2=$(swan_conf_dir gw2)
capture_start wire br0 "$PCAP" 'udp port 500 or udp port 4500 or esp or icmp or icmp6'
ike_dissector_start	# tshark starts up while the test runs
step "setup done"

# 1. Outer IPv4, xiked initiates.
conf gw2 "$dir2/swanctl.conf" 192.0.2.2 192.0.2.1
swan_load gw2 "$dir2/swanctl.conf"
conf gw1 "$XCONF" 192.0.2.1 192.0.2.2
xiked_start
xike_ok up s2s/net
poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "xiked -> charon over IPv4: no child"; }
both_families "outer IPv4" 192.0.2.1
xike_ok down s2s
poll 15 no_states gw1 || fail "xiked kept SAs after down"
xiked_stop
step "outer IPv4 done"

# 2. Outer IPv6, charon initiates.
: >"$XLOG"
conf gw2 "$dir2/swanctl.conf" 2001:db8::2 2001:db8::1
swan_load gw2 "$dir2/swanctl.conf"
conf gw1 "$XCONF" 2001:db8::1 2001:db8::2
xiked_start
swan_initiate gw2 net s2s
poll 15 xiked_established || { xiked_tail; fail "charon -> xiked over IPv6: no child"; }
both_families "outer IPv6" 2001:db8::1
xiked_stop
poll 10 no_states gw2 || fail "charon kept its SAs after xiked stopped"
capture_stop
step "outer IPv6 done"

assert_eq "ESP over IPv4 on the wire" "$(pcap_count "$PCAP" 'ip and esp')" $((4 * count))
assert_eq "ESP over IPv6 on the wire" "$(pcap_count "$PCAP" 'ip6 and esp')" $((4 * count))
assert_eq "ICMP in clear on the wire" "$(pcap_count "$PCAP" 'icmp or (icmp6 and ip6[40] < 133)')" 0
ike_capture_check "$PCAP"
log "ok: IPv4 and IPv6 inner traffic in one child, over IPv4 and IPv6"
