#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm-timeout: 450
#
# Virtual IPs through configuration payloads, xiked against Debian's strongSwan
# in both roles.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          xiked                                 charon
#
#   1. charon is the gateway (pool 10.3.0.0/24, local_ts 10.2.0.0/24), xiked the
#      client (vips = 0.0.0.0): xiked gets 10.3.0.1, puts it on out0 and routes
#      10.2.0.0/24 with it as source in table 220; gw1 pings h2 without naming a
#      source and the packets go out as ESP from the virtual IP; `down` takes
#      the address, the route and the rule away again.
#   2. xiked is the gateway (pool 10.4.0.0/24 with a DNS server, local_ts
#      10.1.0.0/24), charon the client: charon gets 10.4.0.1 and the DNS
#      server (its log shows CPRP(ADDR DNS) parsed), xiked's child carries exactly 10.4.0.1/32 as the remote
#      selector, and gw2 pings h1 through it.
#   3. tshark dissects every IKE message (the CP payloads included).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl tshark jq perl "$SWAN_CHARON" "$XIKED"

count=5
PSK="xipsec test key, not secret"

# conf_client FILE NAME LOCAL REMOTE LOCAL_ID REMOTE_ID REMOTE_TS
conf_client() {
	cat >"$1" <<-EOF
	connections {
		$2 {
			local_addrs = $3
			remote_addrs = $4
			vips = 0.0.0.0
			proposals = aes256gcm16-prfsha256-x25519
			local { auth = psk
				id = $5 }
			remote { auth = psk
				id = $6 }
			children { net { remote_ts = $7
				esp_proposals = aes128gcm16 } }
		}
	}
	secrets { ike-1 { id-a = $5
		id-b = $6
		secret = "$PSK" } }
	EOF
	chmod 600 "$1"
}

# conf_gateway FILE NAME LOCAL LOCAL_ID REMOTE_ID LOCAL_TS POOL [DNS]
conf_gateway() {
	cat >"$1" <<-EOF
	connections {
		$2 {
			local_addrs = $3
			pools = rw
			proposals = aes256gcm16-prfsha256-x25519
			local { auth = psk
				id = $4 }
			remote { auth = psk
				id = $5 }
			children { net { local_ts = $6
				esp_proposals = aes128gcm16 } }
		}
	}
	pools { rw { addrs = $7
		${8:+dns = $8} } }
	secrets { ike-1 { id-a = $4
		id-b = $5
		secret = "$PSK" } }
	EOF
	chmod 600 "$1"
}

topo_gateways
swan_kernel_warmup &
warm=$!
swan_spawn gw2 gw2
swan_ready gw2
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
dir2=$(swan_conf_dir gw2)
# The gateways route the pools back through the tunnel ends.
ip -n gw2 route add 10.3.0.0/24 via 192.0.2.1
ip -n gw1 route add 10.4.0.0/24 via 192.0.2.2
capture_start wire br0 "$TEST_TMP/outer.pcap" 'udp port 500 or udp port 4500 or esp or icmp'
ike_dissector_start	# tshark starts up while the test runs

# 1. xiked is the client.
step "xiked client, charon gateway"
conf_gateway "$dir2/swanctl.conf" rw 192.0.2.2 gw2.xipsec.test client.xipsec.test 10.2.0.0/24 \
	10.3.0.0/24
swan_load gw2 "$dir2/swanctl.conf"
conf_client "$XCONF" gw 192.0.2.1 192.0.2.2 client.xipsec.test gw2.xipsec.test 10.2.0.0/24
xiked_start
xike_ok up gw/net
poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "xiked client: no child SA"; }
read -r spi_in spi_out <<<"$(xiked_child_spis)"
ip -n gw1 -4 addr show dev out0 | grep -q 'inet 10.3.0.1/32' ||
	{ xiked_tail; fail "virtual IP 10.3.0.1 not on gw1 out0: $(ip -n gw1 addr show dev out0)"; }
ip -n gw1 route show table 220 | grep -q '10.2.0.0/24 .*dev out0 .*src 10.3.0.1' ||
	fail "no route with the virtual IP as source: $(ip -n gw1 route show table 220)"
ip -n gw1 rule | grep -q '^220:.*lookup 220' || fail "no rule for table 220: $(ip -n gw1 rule)"
ip -n gw1 xfrm policy list dir out | grep -q 'src 10.3.0.1/32 dst 10.2.0.0/24' ||
	fail "outbound policy is not from the virtual IP: $(ip -n gw1 xfrm policy list dir out)"
grep -q 'virtual IP 10.3.0.1 assigned' "$XLOG" || fail "no log line for the virtual IP"
in_ns gw1 ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null ||
	fail "ping gw1 -> h2 from the virtual IP"
assert_eq "packets out on 0x$spi_out (gw1)" "$(xfrm_state_packets gw1 0x$spi_out)" $count
assert_eq "packets in on 0x$spi_in (gw1)" "$(xfrm_state_packets gw1 0x$spi_in)" $count
swan_sas gw2 | grep -q '10.3.0.1' || fail "charon does not list the lease"
xike_ok down gw
poll 15 no_states gw1 || fail "xiked kept SAs after down"
poll 10 sh -c "! ip -n gw1 addr show dev out0 | grep -q 10.3.0.1" ||
	fail "virtual IP left on out0 after down"
[ -z "$(ip -n gw1 route show table 220)" ] || fail "routes left in table 220"
ip -n gw1 rule | grep -q 'lookup 220' && fail "rule for table 220 left"
xiked_stop
log "ok: xiked as client got 10.3.0.1 and used it"

# 2. xiked is the gateway.
step "charon client, xiked gateway"
: >"$XLOG"
conf_gateway "$XCONF" rw 192.0.2.1 gw1.xipsec.test client.xipsec.test 10.1.0.0/24 10.4.0.0/24 \
	10.1.0.53
xiked_start
conf_client "$dir2/swanctl.conf" gw 192.0.2.2 192.0.2.1 client.xipsec.test gw1.xipsec.test \
	10.1.0.0/24
swan_load gw2 "$dir2/swanctl.conf"
swan_initiate gw2 net gw
poll 15 xiked_established || { xiked_tail; fail "charon client: no child SA at xiked"; }
read -r spi_in spi_out <<<"$(xiked_child_spis)"
grep -q 'virtual IP 10.4.0.1 leased from pool rw' "$XLOG" || { xiked_tail; fail "no lease logged"; }
ip -n gw1 xfrm policy list dir out | grep -q 'src 10.1.0.0/24 dst 10.4.0.1/32' ||
	fail "xiked's outbound policy is not to the lease: $(ip -n gw1 xfrm policy list dir out)"
# xiked (responder) has its child before charon has processed the reply
poll 15 sh -c "ip -n gw2 addr show dev out0 | grep -q 'inet 10.4.0.1/32'" ||
	fail "charon did not install 10.4.0.1: $(ip -n gw2 addr show dev out0)"
# charon parses our CFG_REPLY with the address and the pool's DNS server
grep -q 'parsed IKE_AUTH response 1 \[.*CPRP(ADDR DNS)' "$(swan_log gw2)" ||
	fail "charon did not parse a CP reply with ADDR and DNS"
grep -q 'processing INTERNAL_IP4_DNS attribute' "$(swan_log gw2)" ||
	fail "charon did not process the DNS attribute"
in_ns gw2 ping -n -q -c $count -i 0.05 -W 2 10.1.0.2 >/dev/null ||
	fail "ping gw2 -> h1 from the virtual IP"
assert_eq "packets in on 0x$spi_in (gw1)" "$(xfrm_state_packets gw1 0x$spi_in)" $count
assert_eq "packets out on 0x$spi_out (gw1)" "$(xfrm_state_packets gw1 0x$spi_out)" $count
swan_terminate gw2 gw
poll 15 no_states gw1 || fail "xiked kept SAs after charon's delete"
grep -q 'virtual IP lease(s) released' "$XLOG" || fail "lease not released"
xiked_stop
capture_stop

step "pcap checks"
assert_eq "ICMP on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" icmp)" 0
assert_eq "ESP from 192.0.2.1" "$(pcap_count "$TEST_TMP/outer.pcap" 'src 192.0.2.1 and esp')" \
	$((2 * count))
ike_capture_check "$TEST_TMP/outer.pcap"
log "ok: virtual IPs in both roles, $IKE_MESSAGES IKE messages"
