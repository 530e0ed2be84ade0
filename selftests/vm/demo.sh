#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: the built-in demo topology in the VM (see lib.sh for the picture):
#
#   h1 (10.1.0.2) --- gw1 ==ESP== wire ==ESP== gw2 --- h2 (10.2.0.2)
#
# Both gateways get a manually keyed AES-GCM tunnel for 10.1.0.0/24 <-> 10.2.0.0/24;
# h1 pings h2 through it and the demo shows the SAs, their counters and what the
# wire saw.
. "$(dirname "$0")/lib.sh"

banner() {
	printf '\n===== %s\n' "$*"
}

banner "building the topology: h1 - gw1 - wire - gw2 - h2"
topo_gateways
xfrm_static_tunnel

capture_start wire br0 "$TEST_TMP/wire.pcap"
banner "h1 pings h2 (20 packets)"
in_ns h1 ping -n -c 20 -i 0.05 10.2.0.2 | tail -3 || fail "no traffic through the tunnel"
capture_stop

banner "gw1: xfrm states (keys elided)"
ip -n gw1 -s xfrm state | sed -E 's/(aead [^ ]+) 0x[0-9a-f]+/\1 <key>/'
banner "gw1: xfrm policies"
ip -n gw1 xfrm policy
banner "what crossed the wire (first 6 packets)"
tcpdump -n -r "$TEST_TMP/wire.pcap" 2>/dev/null | head -6
banner "counters"
printf '%-28s %s\n' "gw1 SA 0x1001 out packets:" "$(xfrm_state_packets gw1 0x1001)"
printf '%-28s %s\n' "gw1 SA 0x2002 in packets:" "$(xfrm_state_packets gw1 0x2002)"
printf '%-28s %s\n' "ESP packets on the wire:" "$(pcap_count "$TEST_TMP/wire.pcap" esp)"
printf '%-28s %s\n' "ICMP packets on the wire:" "$(pcap_count "$TEST_TMP/wire.pcap" icmp)"
