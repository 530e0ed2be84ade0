#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xiked against Debian's strongSwan with X.509 certificates (RFC 7427 signature
# authentication), in both roles, and the refusal of a certificate xiked does
# not trust.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          xiked                                 charon "gw2"
#          ESP tunnel 10.1.0.0/24 <-> 10.2.0.0/24, IKE on udp 500
#
#   CA 1 (P-256) --+-- gw1: P-256, DNS:gw1.xipsec.test
#                  +-- gw2: P-384, DNS:gw2.xipsec.test
#   CA 2 (P-256) --+-- gw1, gw2: RSA 2048 (round 3)
#   CA 3 (P-256) ----- gw2: P-256, DNS:gw2.xipsec.test (round 4: xiked trusts CA 1)
#   (make_ca gives all three the same subject; their keys differ)
#
# Both load selftests/vm/swan/s2s-cert.conf without `send_cert = always`, so
# each sends its certificate only because the other's CERTREQ asked for it.
#
#   1. ECDSA, xiked initiates: h1 pings h2 through the tunnel, ESP only on the
#      wire with the child's SPIs; `down` deletes the IKE SA on both sides.
#   2. ECDSA, charon initiates, xiked responds; the same checks.
#   3. RSA with distinguished-name identities (the certificates' subjects),
#      send_cert = always; charon initiates.
#   4. charon presents a certificate of a CA xiked does not trust: as responder
#      xiked answers AUTHENTICATION_FAILED, as initiator it refuses charon's
#      AUTH and says so (INFORMATIONAL); its log says why, nothing is installed.
#   5. tshark dissects every IKE message without a malformed or error mark; with
#      xiked's key log it decrypts the IKE_AUTH messages and finds both sides'
#      CERT payloads, CERTREQs and AUTH method 14 (Digital Signature).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl tshark jq perl openssl "$SWAN_CHARON" "$XIKED"

t0=$SECONDS
topo_gateways
ike_dissector_start	# tshark starts up while the test runs
swan_kernel_warmup &
warm=$!
swan_spawn gw2 gw2
# openssl is slow under TCG (RSA key generation most): three PKIs at once,
# while charon starts.
PKI=$TEST_TMP/pki
(make_ca "$PKI" && make_cert "$PKI" gw1 gw1.xipsec.test &&
	make_cert "$PKI" gw2 gw2.xipsec.test p384) &
pki1=$!
(make_ca "$TEST_TMP/pki-rsa" && make_cert "$TEST_TMP/pki-rsa" gw1 gw1.xipsec.test rsa &&
	make_cert "$TEST_TMP/pki-rsa" gw2 gw2.xipsec.test rsa) &
pki2=$!
(make_ca "$TEST_TMP/pki-rogue" && make_cert "$TEST_TMP/pki-rogue" gw2 gw2.xipsec.test) &
pki3=$!
swan_ready gw2
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
wait $pki1 && wait $pki2 && wait $pki3 || fail "making the certificates failed"
log "charon up, certificates made in $((SECONDS - t0))s"

# send_cert = ifasked (the default on both): only CERTREQs make them send.
TMPL=$TEST_TMP/s2s-cert-ifasked.conf
sed '/send_cert = always/d' "$SWAN_TEMPLATES/s2s-cert.conf" >"$TMPL"
grep -q send_cert "$TMPL" && fail "send_cert still in $TMPL"
DIR2=$(swan_conf_dir gw2)

# load_round PKI TEMPLATE ID1 ID2 [GW2_PKI]: gw2's charon and gw1's xiked
# configuration (xiked not started) with the certificates of PKI, identities
# ID1 (gw1) and ID2 (gw2); GW2_PKI gives gw2 a certificate of another CA.
load_round() {
	local pki=$1 tmpl=$2 id1=$3 id2=$4 pki2=${5:-$1}
	rm -rf "$XDIR"/x509 "$XDIR"/x509ca "$XDIR"/private "$DIR2"/x509/* "$DIR2"/x509ca/* \
		"$DIR2"/private/*
	pki_install "$pki" gw1 "$XDIR"
	pki_install "$pki2" gw2 "$DIR2"
	cp "$pki/ca.pem" "$DIR2/x509ca/ca.pem" || fail "cp ca"
	swan_render "$tmpl" "$DIR2/swanctl.conf" CONN=s2s CHILD=net LOCAL_ADDR=192.0.2.2 \
		REMOTE_ADDR=192.0.2.1 LOCAL_TS=10.2.0.0/24 REMOTE_TS=10.1.0.0/24 \
		LOCAL_ID="$id2" REMOTE_ID="$id1" CERT=gw2.pem \
		IKE_PROPOSALS=aes256gcm16-prfsha256-x25519 ESP_PROPOSALS=aes128gcm16
	swan_load gw2 "$DIR2/swanctl.conf"
	swan_render "$tmpl" "$XCONF" CONN=s2s CHILD=net LOCAL_ADDR=192.0.2.1 \
		REMOTE_ADDR=192.0.2.2 LOCAL_TS=10.1.0.0/24 REMOTE_TS=10.2.0.0/24 \
		LOCAL_ID="$id1" REMOTE_ID="$id2" CERT=gw1.pem \
		IKE_PROPOSALS=aes256gcm16-prfsha256-x25519 ESP_PROPOSALS=aes128gcm16
	"$XIKED" -n -c "$XCONF" >"$TEST_TMP/xiked-n.out" 2>&1 ||
		fail "xiked -n: $(cat "$TEST_TMP/xiked-n.out")"
}

count=5
spis=()

# traffic WHAT: ping h1 -> h2 through the tunnel; check xiked's SAs carried it.
traffic() {
	local what=$1 spi_in spi_out
	read -r spi_in spi_out <<<"$(xiked_child_spis)"
	[ -n "$spi_out" ] || { xiked_tail; fail "$what: xiked has no installed child"; }
	assert_eq "$what: charon's CHILD_SA (in out) mirrors xiked's" \
		"$(swan_child_spis gw2 net)" "$spi_out $spi_in"
	assert_eq "$what: xfrm states at gw1" "$(xfrm_states gw1)" 2
	ip -n gw1 xfrm state list spi 0x$spi_out | grep -q 'src 192.0.2.1 dst 192.0.2.2' ||
		fail "$what: no outbound state 0x$spi_out at gw1"
	in_ns h1 ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null ||
		fail "$what: ping h1 -> h2 through the tunnel"
	assert_eq "$what: packets on 0x$spi_out at gw1 (out)" "$(xfrm_state_packets gw1 0x$spi_out)" $count
	assert_eq "$what: packets on 0x$spi_in at gw1 (in)" "$(xfrm_state_packets gw1 0x$spi_in)" $count
	assert_eq "$what: packets on 0x$spi_out at gw2 (in)" "$(xfrm_state_packets gw2 0x$spi_out)" $count
	spis+=("$spi_out $spi_in")
}

# xiked_says TEXT: xiked's log has a line containing TEXT (fixed string).
xiked_says() {
	grep -qF -- "$1" "$XLOG"
}

KEYS=$TEST_TMP/ike-keys
# Whole frames (tshark decrypts IKE_AUTH below), and IP fragments: an
# IKE_AUTH message with an RSA certificate may not fit one frame.
capture_start wire br0 "$TEST_TMP/outer.pcap" -s 0 \
	'udp port 500 or udp port 4500 or esp or icmp or (ip[6:2] & 0x3fff != 0)'

step "1. ECDSA, xiked initiates"
load_round "$PKI" "$TMPL" gw1.xipsec.test gw2.xipsec.test
xiked_start --keylog "$KEYS"
t=$SECONDS
xike_ok up s2s/net
poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "xiked -> charon: no child SA"; }
log "xiked -> charon established in $((SECONDS - t))s"
[ "$(xike list | jq -r '.ike_sas[0].initiator')" = true ] || fail "xiked is not the initiator"
xiked_says "peer 'gw2.xipsec.test' authenticated with certificate 'O=xipsec test, CN=gw2'" ||
	{ xiked_tail; fail "xiked did not check charon's certificate"; }
grep -q "authentication of 'gw1.xipsec.test' with ECDSA_WITH_SHA256_DER successful" \
	"$(swan_log gw2)" || { _swan_tail gw2; fail "charon did not check xiked's ECDSA signature"; }
traffic "ECDSA, xiked initiator"
xike_ok down s2s
poll 15 no_states gw2 || fail "charon kept its SAs after xiked's delete"
poll 15 no_states gw1 || fail "xiked kept its SAs after the delete"

step "2. ECDSA, charon initiates"
t=$SECONDS
swan_initiate gw2 net s2s
poll 15 xiked_established || { xiked_tail; fail "charon -> xiked: no child SA at xiked"; }
log "charon -> xiked established in $((SECONDS - t))s"
[ "$(xike list | jq -r '.ike_sas[0].initiator')" = false ] || fail "xiked is not the responder"
grep -q "authentication of 'gw2.xipsec.test' (myself) with ECDSA_WITH_SHA384_DER successful" \
	"$(swan_log gw2)" || { _swan_tail gw2; fail "charon did not sign with ECDSA P-384"; }
traffic "ECDSA, xiked responder"
swan_terminate gw2 s2s
poll 15 no_states gw1 || fail "xiked kept its SAs after charon's delete"
xiked_stop

step "3. RSA, distinguished names, charon initiates"
load_round "$TEST_TMP/pki-rsa" s2s-cert.conf "O=xipsec test, CN=gw1" "O=xipsec test, CN=gw2"
xiked_start --keylog "$KEYS"
t=$SECONDS
swan_initiate gw2 net s2s
poll 15 xiked_established || { xiked_tail; fail "RSA: no child SA at xiked"; }
log "RSA: charon -> xiked established in $((SECONDS - t))s"
xiked_says "peer 'O=xipsec test, CN=gw2' authenticated with certificate 'O=xipsec test, CN=gw2'" ||
	{ xiked_tail; fail "xiked did not check charon's RSA certificate"; }
grep -q "authentication of 'O=xipsec test, CN=gw1' with RSA_EMSA_PKCS1_SHA2_256 successful" \
	"$(swan_log gw2)" || { _swan_tail gw2; fail "charon did not check xiked's RSA signature"; }
traffic "RSA, xiked responder"
swan_terminate gw2 s2s
poll 15 no_states gw1 || fail "xiked kept its SAs after charon's delete"
xiked_stop

step "4. a certificate of a CA xiked does not trust"
load_round "$PKI" "$TMPL" gw1.xipsec.test gw2.xipsec.test "$TEST_TMP/pki-rogue"
xiked_start --keylog "$KEYS"
# 4a. charon initiates: xiked refuses it and answers AUTHENTICATION_FAILED.
swan_swanctl gw2 --initiate --child net --ike s2s --timeout 30 >"$TEST_TMP/bad.out" 2>&1 &&
	fail "charon's IKE SA with an untrusted certificate came up"
poll 10 xiked_says "authentication of peer 'gw2.xipsec.test' failed: certificate 'O=xipsec test, CN=gw2' untrusted" ||
	{ xiked_tail; fail "no clear refusal in xiked's log"; }
poll 10 grep -q 'received AUTHENTICATION_FAILED notify error' "$(swan_log gw2)" ||
	{ _swan_tail gw2; fail "charon did not get AUTHENTICATION_FAILED"; }
log "$(grep -F "authentication of peer 'gw2.xipsec.test' failed" "$XLOG" | tail -n 1)"
# 4b. xiked initiates: charon accepts xiked, xiked refuses charon's AUTH and
# tells it; charon closes its IKE SA and the child it had installed.
n=$(grep -c "failed: certificate 'O=xipsec test, CN=gw2' untrusted" "$XLOG")
xike_ok up s2s/net
poll 30 test "$(grep -c "failed: certificate 'O=xipsec test, CN=gw2' untrusted" "$XLOG")" -gt "$n" ||
	{ xiked_tail; fail "xiked as initiator did not refuse the untrusted certificate"; }
xiked_says "IKE SA failed: AUTHENTICATION_FAILED sent" || { xiked_tail; fail "no AUTHENTICATION_FAILED"; }
poll 15 test -z "$(swan_ike_state gw2 s2s)" || { _swan_tail gw2; fail "charon kept the refused IKE SA"; }
poll 15 no_states gw2 || fail "charon kept the child of the refused IKE SA"
assert_eq "xfrm states at gw1 after the refusals" "$(xfrm_states gw1)" 0
assert_eq "IKE SAs at xiked after the refusals" "$(xike list | jq '.ike_sas | length')" 0
xiked_stop
capture_stop

step "pcap checks"
for ((r = 0; r < ${#spis[@]}; r++)); do
	read -r spi_out spi_in <<<"${spis[r]}"
	assert_eq "ESP gw1->gw2 with SPI 0x$spi_out on the wire" \
		"$(pcap_count "$TEST_TMP/outer.pcap" "src 192.0.2.1 and esp and ip[20:4] = 0x$spi_out")" $count
	assert_eq "ESP gw2->gw1 with SPI 0x$spi_in on the wire" \
		"$(pcap_count "$TEST_TMP/outer.pcap" "src 192.0.2.2 and esp and ip[20:4] = 0x$spi_in")" $count
done
assert_eq "ESP on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" esp)" $((2 * count * 3))
assert_eq "ICMP on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" icmp)" 0
t=$SECONDS
ike_capture_check "$TEST_TMP/outer.pcap"
log "tshark took $((SECONDS - t))s"
assert_ge "IKEv2 messages" "$IKE_MESSAGES" 20

step "decrypted IKE_AUTH"
# 5. With xiked's key log, tshark opens the SK payloads.
assert_eq "key log mode" "$(stat -c %a "$KEYS")" 600
mkdir -p "$TEST_TMP/wshome/.config/wireshark"
cp "$KEYS" "$TEST_TMP/wshome/.config/wireshark/ikev2_decryption_table"
out=$(HOME=$TEST_TMP/wshome tshark -n -r "$TEST_TMP/outer.pcap" \
	-Y 'isakmp || _ws.malformed || _ws.expert.severity == error' -T fields -E separator='|' \
	-E occurrence=a -E aggregator=, -e frame.number -e ip.src -e isakmp.exchangetype \
	-e isakmp.flag_r -e isakmp.cert.encoding -e isakmp.certreq.type -e isakmp.auth.method \
	-e isakmp.notify.msgtype -e _ws.malformed -e _ws.expert.severity 2>/dev/null) ||
	fail "tshark failed"
echo "$out" >"$TEST_TMP/decrypted.txt"
bad=$(awk -F'|' '$9 != "" || $10 ~ /8388608/' <<<"$out")
[ -z "$bad" ] || fail "malformed or erroneous frames with decryption: $bad"
# $2 source, $3 exchange (34 IKE_SA_INIT, 35 IKE_AUTH), $5 CERT encodings,
# $6 CERTREQ types, $7 AUTH method, $8 notify types (16431 SIGNATURE_HASH_ALGORITHMS).
cnt() {
	awk -F'|' "$1" <<<"$out" | wc -l
}
# what tshark saw, for the log of a failing run
awk -F'|' '$3 == 34 || $3 == 35 {print "  " $0}' <<<"$out" | head -n 40
assert_ge "xiked's IKE_SA_INIT messages with SIGNATURE_HASH_ALGORITHMS" \
	"$(cnt '$2 == "192.0.2.1" && $3 == 34 && $8 ~ /16431/')" 4
assert_ge "xiked's IKE_AUTH messages with CERT (X.509) and AUTH method 14" \
	"$(cnt '$2 == "192.0.2.1" && $3 == 35 && $5 ~ /^4/ && $7 == 14')" 4
assert_ge "charon's IKE_AUTH messages with CERT (X.509) and AUTH method 14" \
	"$(cnt '$2 == "192.0.2.2" && $3 == 35 && $5 ~ /^4/ && $7 == 14')" 4
assert_ge "xiked's CERTREQs (IKE_SA_INIT response, IKE_AUTH request)" \
	"$(cnt '$2 == "192.0.2.1" && $6 ~ /4/')" 3
grep -qiE '[0-9a-f]{32}' "$XLOG" && fail "hex key material in xiked's log"
grep -q 'PRIVATE KEY' "$XLOG" && fail "a private key in xiked's log"
log "ok: certificates with charon in both roles (ECDSA P-256/P-384, RSA, DNs), untrusted CA refused, $IKE_MESSAGES IKE messages"
