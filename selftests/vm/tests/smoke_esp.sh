#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Smoke test of the VM platform: a manually keyed tunnel-mode ESP (AES-GCM) tunnel
# between two gateways, set up with plain `ip xfrm` (no xipsec code involved).
#
#   h1 --- gw1 ==ESP== wire ==ESP== gw2 --- h2      (topology in lib.sh)
#
# Traffic from h1 to h2 must arrive, be counted by both SAs, and cross the outer
# link only as ESP: the capture on the wire holds ESP with our SPIs and neither ICMP nor
# the payload's marker bytes, which the capture on h1's link does hold.
. "$(dirname "$0")/../lib.sh"
require ip tcpdump ping

topo_gateways
xfrm_static_tunnel

marker=78697073656374657374	# "xipsectest", repeated by ping to fill the payload
count=10
capture_start wire br0 "$TEST_TMP/outer.pcap"
capture_start h1 eth0 "$TEST_TMP/inner.pcap"

in_ns h1 ping -n -q -c $count -i 0.05 -W 2 -p $marker 10.2.0.2 ||
	fail "ping through the tunnel failed"
capture_stop

assert_eq "packets on SA 0x1001 at gw1 (out)" "$(xfrm_state_packets gw1 0x1001)" $count
assert_eq "packets on SA 0x1001 at gw2 (in)" "$(xfrm_state_packets gw2 0x1001)" $count
assert_eq "packets on SA 0x2002 at gw2 (out)" "$(xfrm_state_packets gw2 0x2002)" $count
assert_eq "packets on SA 0x2002 at gw1 (in)" "$(xfrm_state_packets gw1 0x2002)" $count

assert_eq "ESP gw1->gw2 with SPI 0x1001 on the wire" \
	"$(pcap_count "$TEST_TMP/outer.pcap" 'src 192.0.2.1 and esp and ip[20:4] = 0x1001')" $count
assert_eq "ESP gw2->gw1 with SPI 0x2002 on the wire" \
	"$(pcap_count "$TEST_TMP/outer.pcap" 'src 192.0.2.2 and esp and ip[20:4] = 0x2002')" $count
assert_eq "ICMP on the outer link" "$(pcap_count "$TEST_TMP/outer.pcap" icmp)" 0
assert_eq "plaintext marker on the outer link" \
	"$(grep -a -c xipsectestxipsec "$TEST_TMP/outer.pcap")" 0
# The same check must see the marker where traffic is clear, or it proves nothing.
assert_ge "plaintext marker on h1's link" \
	"$(grep -a -c xipsectestxipsec "$TEST_TMP/inner.pcap")" 1
log "tunnel carried $count echo requests and replies as ESP only"
