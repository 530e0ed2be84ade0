#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xiked against Debian's strongSwan with a pre-shared key, in both roles.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          xiked                                 charon "gw2"
#          ESP tunnel 10.1.0.0/24 <-> 10.2.0.0/24, IKE on udp 500
#
# Both sides load the same swanctl.conf template (selftests/vm/swan/s2s-psk.conf).
# gw1 also holds a state and a policy that xiked did not install; they must
# survive everything below.
#
#   1. xiked initiates (`up` on its control socket), charon responds; h1 pings h2
#      through the tunnel; the xfrm states carry exactly the pings, the wire only
#      ESP with the child's SPIs; `down` deletes the IKE SA on both sides.
#   2. charon initiates, xiked responds; the same traffic checks.
#   3. SIGTERM to xiked: it deletes the IKE SA (charon removes its SAs) and its
#      own states and policies, and only those.
#   4. tshark dissects every IKE message without a malformed or error mark.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl tshark jq perl "$SWAN_CHARON" "$XIKED"

s2s_setup

count=5
spis=()

# traffic WHAT: ping h1 -> h2 through the tunnel; check xiked's SAs carried it.
traffic() {
	local what=$1 spi_in spi_out
	read -r spi_in spi_out <<<"$(xiked_child_spis)"
	[ -n "$spi_out" ] || { xiked_tail; fail "$what: xiked has no installed child"; }
	assert_eq "$what: charon's CHILD_SA (in out) mirrors xiked's" \
		"$(swan_child_spis gw2 net)" "$spi_out $spi_in"
	assert_eq "$what: xfrm states at gw1 (xiked's 2 + foreign 1)" "$(xfrm_states gw1)" 3
	assert_eq "$what: xfrm policies at gw1 (xiked's out/in/fwd + foreign 1)" \
		"$(xfrm_policies gw1)" 4
	ip -n gw1 xfrm state list spi 0x$spi_out | grep -q 'src 192.0.2.1 dst 192.0.2.2' ||
		fail "$what: no outbound state 0x$spi_out at gw1"
	ip -n gw1 xfrm state list spi 0x$spi_out | grep -q 'aead rfc4106(gcm(aes)) 0x[0-9a-f]\{40\} 128' ||
		fail "$what: 0x$spi_out is not AES-GCM-128: $(ip -n gw1 xfrm state list spi 0x$spi_out)"
	ip -n gw1 xfrm policy list dir out | grep -q 'src 10.1.0.0/24 dst 10.2.0.0/24' ||
		fail "$what: no outbound policy at gw1"
	ip -n gw1 xfrm policy list dir fwd | grep -q 'src 10.2.0.0/24 dst 10.1.0.0/24' ||
		fail "$what: no fwd policy at gw1"
	in_ns h1 ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null ||
		fail "$what: ping h1 -> h2 through the tunnel"
	assert_eq "$what: packets on 0x$spi_out at gw1 (out)" "$(xfrm_state_packets gw1 0x$spi_out)" $count
	assert_eq "$what: packets on 0x$spi_in at gw1 (in)" "$(xfrm_state_packets gw1 0x$spi_in)" $count
	assert_eq "$what: packets on 0x$spi_out at gw2 (in)" "$(xfrm_state_packets gw2 0x$spi_out)" $count
	spis+=("$spi_out $spi_in")
}

step "setup done"
capture_start wire br0 "$TEST_TMP/outer.pcap" 'udp port 500 or udp port 4500 or esp or icmp'
xiked_start

# 1. xiked initiates.
t=$SECONDS
xike_ok up s2s/net
poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "xiked -> charon: no child SA"; }
log "xiked -> charon established in $((SECONDS - t))s"
traffic "xiked initiator"
[ "$(xike list | jq -r '.ike_sas[0].initiator')" = true ] || fail "xiked is not the initiator"
xike_ok down s2s
poll 15 no_states gw2 || fail "charon kept its SAs after xiked's delete"
poll 15 only_foreign_left || fail "xiked kept SAs or policies after the delete"
log "round 1 (xiked initiator) done in $((SECONDS - t))s"

# 2. charon initiates.
t=$SECONDS
swan_initiate gw2 net s2s
poll 15 xiked_established || { xiked_tail; fail "charon -> xiked: no child SA at xiked"; }
[ "$(xike list | jq -r '.ike_sas[0].initiator')" = false ] || fail "xiked is not the responder"
traffic "xiked responder"
log "round 2 (xiked responder) done in $((SECONDS - t))s"

# 3. SIGTERM: xiked deletes the IKE SA and removes what it installed, only that.
t=$SECONDS
xiked_stop
assert_eq "xfrm states at gw1 after xiked stopped" "$(xfrm_states gw1)" 1
assert_eq "xfrm policies at gw1 after xiked stopped" "$(xfrm_policies gw1)" 1
foreign_check
poll 10 no_states gw2 || fail "charon kept its SAs after xiked stopped"
[ -S "$SOCK" ] && fail "control socket left behind"
capture_stop
log "stop and cleanup checks took $((SECONDS - t))s"

step "pcap checks"
for ((r = 0; r < ${#spis[@]}; r++)); do
	read -r spi_out spi_in <<<"${spis[r]}"
	assert_eq "ESP gw1->gw2 with SPI 0x$spi_out on the wire" \
		"$(pcap_count "$TEST_TMP/outer.pcap" "src 192.0.2.1 and esp and ip[20:4] = 0x$spi_out")" $count
	assert_eq "ESP gw2->gw1 with SPI 0x$spi_in on the wire" \
		"$(pcap_count "$TEST_TMP/outer.pcap" "src 192.0.2.2 and esp and ip[20:4] = 0x$spi_in")" $count
done
assert_eq "ESP on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" esp)" $((2 * count * 2))
assert_eq "ICMP on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" icmp)" 0

t=$SECONDS
ike_capture_check "$TEST_TMP/outer.pcap"
log "tshark took $((SECONDS - t))s"
# Two IKE SAs set up (4 messages each) and deleted (2 each).
assert_ge "IKEv2 messages" "$IKE_MESSAGES" 12
for x in "IKE_SA_INIT req" "IKE_SA_INIT resp" "IKE_AUTH req" "IKE_AUTH resp" \
	"INFORMATIONAL req" "INFORMATIONAL resp"; do
	assert_ge "'$x' messages" "$(grep -o "$x" <<<"$IKE_EXCHANGES" | wc -l)" 2
done
# SPIs are 16 hex digits at most; a longer hex run would be key material.
grep -qiE '[0-9a-f]{32}' "$XLOG" && fail "hex key material in xiked's log"
log "ok: xiked <-> charon in both roles, $IKE_MESSAGES IKE messages, ESP only on the wire"
