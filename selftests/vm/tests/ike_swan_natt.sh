#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# NAT traversal (RFC 7296 2.23, RFC 3948) between xiked and Debian's
# strongSwan, with gw1 behind a masquerading NAT router:
#
#   h1 ---- gw1 ---------- nat ====== wire (br0, capture) ====== gw2 ---- h2
#   10.1.0.2    out0 172.16.0.2/24    out0 192.0.2.1/24              10.2.0.2
#               lan0 172.16.0.1/24    (nft masquerade    out0 192.0.2.2/24
#                                      to ports 30000-39999, so that
#                                      the NAT's port is never 4500)
#
#   1. xiked on gw1 (behind the NAT) initiates, charon on gw2 responds: both
#      detect the NAT, IKE moves to port 4500 from IKE_AUTH on, the child SAs
#      are UDP-encapsulated (xfrm state "encap espinudp 4500 4500"); pings
#      h1 -> h2 cross the wire as ESP-in-UDP only (UDP 4500 with a non-zero
#      SPI, no plain ESP); xiked sends NAT keepalives (one 0xff byte) on its
#      own; `down` removes the SAs on both sides.
#   2. charon on gw1 (behind the NAT) initiates, xiked on gw2 responds: it sees
#      the initiator at the NAT's address, follows it to port 4500 and the
#      port the NAT chose, and installs ESP-in-UDP SAs to that port.
#   3. tshark dissects every IKE message (on 500 and, behind the non-ESP
#      marker, on 4500) without a malformed or error mark.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip nft tcpdump ping swanctl tshark jq perl "$SWAN_CHARON" "$XIKED"

count=5
PCAP=$TEST_TMP/outer.pcap

topo_nat() {
	netns_add h1 gw1 nat wire gw2 h2
	veth_link h1 eth0 10.1.0.2/24 gw1 in0 10.1.0.1/24
	veth_link gw1 out0 172.16.0.2/24 nat lan0 172.16.0.1/24
	veth_link nat out0 192.0.2.1/24 wire p1 -
	veth_link wire p2 - gw2 out0 192.0.2.2/24
	ip -n wire link add br0 type bridge
	ip -n wire link set p1 master br0
	ip -n wire link set p2 master br0
	ip -n wire link set br0 up
	veth_link gw2 in0 10.2.0.1/24 h2 eth0 10.2.0.2/24
	ip -n h1 route add default via 10.1.0.1
	ip -n h2 route add default via 10.2.0.1
	local ns
	for ns in gw1 nat gw2; do
		in_ns $ns sysctl -qw net.ipv4.ip_forward=1
	done
	# gw1 reaches everything through the NAT; gw2 knows only the NAT's
	# public address (no route to 172.16.0.0/24: the NAT is real).
	ip -n gw1 route add default via 172.16.0.1
	ip -n gw2 route add 10.1.0.0/24 via 192.0.2.1
	in_ns nat nft -f - <<-'NFT' || fail "nft masquerade"
		table ip natt {
			chain post {
				type nat hook postrouting priority srcnat;
				oifname "out0" meta l4proto udp masquerade to :30000-39999
				oifname "out0" masquerade
			}
		}
	NFT
}

# conf GW FILE LOCAL REMOTE: the site-to-site configuration for GW's side.
conf() {
	local gw=$1 file=$2 lts rts lid rid
	if [ "$gw" = gw1 ]; then
		lts=10.1.0.0/24 rts=10.2.0.0/24 lid=gw1.xipsec.test rid=gw2.xipsec.test
	else
		lts=10.2.0.0/24 rts=10.1.0.0/24 lid=gw2.xipsec.test rid=gw1.xipsec.test
	fi
	swan_render s2s-psk.conf "$file" CONN=s2s CHILD=net LOCAL_ADDR="$3" REMOTE_ADDR="$4" \
		LOCAL_TS=$lts REMOTE_TS=$rts LOCAL_ID=$lid REMOTE_ID=$rid \
		IKE_PROPOSALS=aes256gcm16-prfsha256-x25519 ESP_PROPOSALS=aes128gcm16 \
		PSK="xipsec test key, not secret"
}

# xiked_in NS: xiked_start in another namespace (lib_xiked.sh's is for gw1).
xiked_in() {
	ip netns exec "$1" "$XIKED" -F -v -v -c "$XCONF" -s "$SOCK" >>"$XLOG" 2>&1 &
	xpid=$!
	on_exit "kill -9 $xpid"
	wait_until 10 test -S "$SOCK"
}

# encap_state NS SPI SPORT DPORT: the state is ESP-in-UDP between those ports.
encap_state() {
	ip -n "$1" xfrm state list spi "0x$2" | grep -q "encap type espinudp sport $3 dport $4" ||
		fail "$1: state 0x$2 is not espinudp $3 -> $4: $(ip -n "$1" xfrm state list spi "0x$2")"
	log "ok: $1: state 0x$2 is ESP-in-UDP $3 -> $4"
}

# ping_through FROM TO XNS SPI_OUT SPI_IN: pings cross the tunnel, counted by
# xiked's states in XNS.
ping_through() {
	in_ns "$1" ping -n -q -c $count -i 0.05 -W 2 "$2" >/dev/null || fail "ping $1 -> $2 through the tunnel"
	assert_eq "packets on 0x$4 at $3 (out)" "$(xfrm_state_packets "$3" "0x$4")" $count
	assert_eq "packets on 0x$5 at $3 (in)" "$(xfrm_state_packets "$3" "0x$5")" $count
}

# wire_esp_in_udp SRC SPI: ESP-in-UDP packets from SRC with SPI on the wire.
wire_esp_in_udp() {
	pcap_count "$PCAP" "src $1 and udp port 4500 and udp[8:4] = 0x$2"
}

keepalive_seen() {
	[ "$(pcap_count "$PCAP" 'src 192.0.2.1 and udp dst port 4500 and udp[4:2] = 9 and udp[8] = 0xff')" -ge 1 ]
}

topo_nat
swan_kernel_warmup &
warm=$!
swan_spawn gw2 gw2
swan_ready gw2
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
capture_start wire br0 "$PCAP" 'udp port 500 or udp port 4500 or esp or icmp'
step "setup done"

# 1. xiked behind the NAT initiates.
dir2=$(swan_conf_dir gw2)
conf gw2 "$dir2/swanctl.conf" 192.0.2.2 192.0.2.1
swan_load gw2 "$dir2/swanctl.conf"
conf gw1 "$XCONF" 172.16.0.2 192.0.2.2
xiked_in gw1
t=$SECONDS
xike_ok up s2s/net
poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "xiked -> charon: no child SA"; }
log "xiked (behind the NAT) -> charon established in $((SECONDS - t))s"
read -r in1 out1 <<<"$(xiked_child_spis)"
assert_eq "charon's CHILD_SA (in out) mirrors xiked's" "$(swan_child_spis gw2 net)" "$out1 $in1"
list=$(xike list)
assert_eq "xiked's IKE SA local" "$(jq -r '.ike_sas[0].local' <<<"$list")" "172.16.0.2[4500]"
assert_eq "xiked's IKE SA remote" "$(jq -r '.ike_sas[0].remote' <<<"$list")" "192.0.2.2[4500]"
grep -q "NAT detected: we are behind one" "$XLOG" || fail "xiked did not log the NAT in front of it"
grep -q "local host is behind NAT" "$(swan_log gw2)" && fail "charon thinks it is behind a NAT"
grep -q "remote host is behind NAT" "$(swan_log gw2)" || fail "charon did not see xiked behind a NAT"
encap_state gw1 "$out1" 4500 4500
encap_state gw1 "$in1" 4500 4500
ping_through h1 10.2.0.2 gw1 "$out1" "$in1"
# Keepalives: one 0xff byte every 20 s, from the NAT's public side.
poll 30 keepalive_seen || fail "no NAT keepalive from xiked within 30 s"
log "ok: xiked sends NAT keepalives"
xike_ok down s2s
poll 15 no_states gw2 || fail "charon kept its SAs after xiked's delete"
poll 15 no_states gw1 || fail "xiked kept its SAs after the delete"
xiked_stop
swan_stop gw2
step "round 1 (xiked behind the NAT, initiator) done"

# 2. charon behind the NAT initiates, xiked responds on gw2.
SOCK=$XDIR/ctl2.sock
XLOG=$XDIR/xiked2.log
conf gw2 "$XCONF" 192.0.2.2 192.0.2.1
xiked_in gw2
swan_start gw1 gw1
dir1=$(swan_conf_dir gw1)
conf gw1 "$dir1/swanctl.conf" 172.16.0.2 192.0.2.2
swan_load gw1 "$dir1/swanctl.conf"
t=$SECONDS
swan_initiate gw1 net s2s
poll 15 xiked_established || { xiked_tail; fail "charon -> xiked: no child SA at xiked"; }
log "charon (behind the NAT) -> xiked established in $((SECONDS - t))s"
read -r in2 out2 <<<"$(xiked_child_spis)"
list=$(xike list)
[ "$(jq -r '.ike_sas[0].initiator' <<<"$list")" = false ] || fail "xiked is not the responder"
assert_eq "xiked's IKE SA local" "$(jq -r '.ike_sas[0].local' <<<"$list")" "192.0.2.2[4500]"
remote=$(jq -r '.ike_sas[0].remote' <<<"$list")
[[ $remote =~ ^192\.0\.2\.1\[(3[0-9]{4})\]$ ]] || fail "xiked's peer is not the NAT's address and port: $remote"
nat_port=${BASH_REMATCH[1]}
log "ok: xiked follows the initiator to 192.0.2.1[$nat_port]"
grep -q "NAT detected: the peer is behind one" "$XLOG" || fail "xiked did not see charon behind a NAT"
grep -q "peer moved" "$XLOG" || fail "xiked did not follow the initiator to port 4500"
encap_state gw2 "$out2" 4500 "$nat_port"
encap_state gw2 "$in2" "$nat_port" 4500
ping_through h2 10.1.0.2 gw2 "$out2" "$in2"
xiked_stop
poll 10 no_states gw1 || fail "charon kept its SAs after xiked stopped"
capture_stop
step "round 2 (xiked responder to a client behind the NAT) done"

# 3. The wire: ESP only inside UDP 4500.
assert_eq "ESP-in-UDP 0x$out1 (xiked -> charon) on the wire" "$(wire_esp_in_udp 192.0.2.1 "$out1")" $count
assert_eq "ESP-in-UDP 0x$in1 (charon -> xiked) on the wire" "$(wire_esp_in_udp 192.0.2.2 "$in1")" $count
assert_eq "ESP-in-UDP 0x$out2 (xiked -> charon) on the wire" "$(wire_esp_in_udp 192.0.2.2 "$out2")" $count
assert_eq "ESP-in-UDP 0x$in2 (charon -> xiked) on the wire" "$(wire_esp_in_udp 192.0.2.1 "$in2")" $count
assert_eq "plain ESP on the wire" "$(pcap_count "$PCAP" esp)" 0
assert_eq "ICMP on the wire" "$(pcap_count "$PCAP" icmp)" 0
assert_eq "IKE from 172.16.0.0/24 on the wire (the NAT lets none through)" \
	"$(pcap_count "$PCAP" 'net 172.16.0.0/24')" 0
t=$SECONDS
ike_capture_check "$PCAP"
log "tshark took $((SECONDS - t))s"
for x in "IKE_SA_INIT req" "IKE_SA_INIT resp" "IKE_AUTH req" "IKE_AUTH resp"; do
	assert_ge "'$x' messages" "$(grep -o "$x" <<<"$IKE_EXCHANGES" | wc -l)" 2
done
assert_ge "IKE messages on port 4500" "$(pcap_count "$PCAP" 'udp port 4500 and udp[8:4] = 0')" 4
grep -qiE '[0-9a-f]{32}' "$XDIR"/xiked*.log && fail "hex key material in xiked's log"
log "ok: NAT-T with charon in both roles, ESP-in-UDP only on the wire"
