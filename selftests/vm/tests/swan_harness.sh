#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The strongSwan harness (lib_swan.sh) proven charon to charon, so that xiked
# interop tests can later replace either side: gw1 and gw2 each run a charon,
# which negotiate a site-to-site tunnel, first with a pre-shared key, then with
# ECDSA P-256 certificates.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          charon "gw1"  IKE: udp 500, 4500       charon "gw2"
#          initiator     ESP: 10.1.0.0/24 <-> 10.2.0.0/24   responder
#
# Each round: the CHILD_SA's SPIs, as charon reports them, are installed as xfrm
# states on both gateways (gw1's outbound SPI is gw2's inbound one); pings from
# h1 to h2 cross the wire as ESP with exactly those SPIs and never as ICMP; the
# IKE SA is deleted and the states go with it. At the end tshark dissects every
# IKE message on the wire without a malformed or error mark.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
require ip tcpdump ping swanctl tshark openssl "$SWAN_CHARON"

topo_gateways
ike_dissector_start	# tshark starts up while the test runs

t0=$SECONDS
swan_kernel_warmup &
warm=$!
swan_spawn gw1 gw1
swan_spawn gw2 gw2
swan_ready gw1
swan_ready gw2
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
log "two charons up in $((SECONDS - t0))s"

make_ca "$TEST_TMP/pki"
make_cert "$TEST_TMP/pki" gw1 gw1.xipsec.test
make_cert "$TEST_TMP/pki" gw2 gw2.xipsec.test

capture_start wire br0 "$TEST_TMP/outer.pcap" 'udp port 500 or udp port 4500 or esp or icmp'

count=5
rounds=0
spis=()	# "OUT IN" SPIs of gw1's CHILD_SA, per round

# xfrm_count NS: xfrm states in NS
xfrm_count() {
	ip -n "$1" xfrm state | grep -c '^src'
}

no_xfrm_states() {
	[ "$(xfrm_count "$1")" = 0 ]
}

# round_load GW TEMPLATE [VAR=VALUE...]: render TEMPLATE for GW and load it.
round_load() {
	local gw=$1 tmpl=$2 peer dir
	local -a side
	shift 2
	if [ $gw = gw1 ]; then
		peer=gw2
		side=(LOCAL_ADDR=192.0.2.1 REMOTE_ADDR=192.0.2.2 LOCAL_TS=10.1.0.0/24 REMOTE_TS=10.2.0.0/24)
	else
		peer=gw1
		side=(LOCAL_ADDR=192.0.2.2 REMOTE_ADDR=192.0.2.1 LOCAL_TS=10.2.0.0/24 REMOTE_TS=10.1.0.0/24)
	fi
	dir=$(swan_conf_dir $gw)
	rm -f "$dir"/x509/* "$dir"/x509ca/* "$dir"/private/*
	[ "$tmpl" = s2s-cert.conf ] && pki_install "$TEST_TMP/pki" $gw "$dir"
	swan_render "$tmpl" "$dir/swanctl.conf" CONN=s2s CHILD=net "${side[@]}" \
		LOCAL_ID=$gw.xipsec.test REMOTE_ID=$peer.xipsec.test CERT=$gw.pem \
		IKE_PROPOSALS=aes256gcm16-prfsha256-x25519 ESP_PROPOSALS=aes128gcm16 \
		PSK="xipsec test key, not secret" "$@"
	swan_load $gw "$dir/swanctl.conf"
}

# round NAME TEMPLATE [VAR=VALUE...]: render TEMPLATE for both gateways, load,
# initiate from gw1, check the SAs and traffic, delete the IKE SA.
round() {
	local what=$1 tmpl=$2 gw p t sas1 sas2 spi_out spi_in
	local -a pids=()
	shift 2
	t=$SECONDS
	# Both gateways at once: each swanctl takes a second or more under TCG.
	for gw in gw1 gw2; do
		round_load $gw "$tmpl" "$@" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "$what: loading the configurations"
	done
	swan_initiate gw1 net s2s
	log "$what: loaded and initiated in $((SECONDS - t))s"
	swan_sas gw1 >"$TEST_TMP/sas-gw1-$what" &
	swan_sas gw2 >"$TEST_TMP/sas-gw2-$what" || fail "$what: list-sas at gw2"
	wait $! || fail "$what: list-sas at gw1"
	sas1=$(<"$TEST_TMP/sas-gw1-$what")
	sas2=$(<"$TEST_TMP/sas-gw2-$what")
	assert_eq "$what: gw1 IKE SA state" "$(swan_parse_ike_state <<<"$sas1")" ESTABLISHED
	assert_eq "$what: gw2 IKE SA state" "$(swan_parse_ike_state <<<"$sas2")" ESTABLISHED
	assert_eq "$what: IKE SPIs agree" "$(swan_parse_ike_spis <<<"$sas2")" \
		"$(swan_parse_ike_spis <<<"$sas1")"
	read -r spi_in spi_out <<<"$(swan_parse_child_spis net <<<"$sas1")"
	[ -n "$spi_out" ] || fail "$what: no installed CHILD_SA at gw1: $sas1"
	assert_eq "$what: gw2's CHILD_SA SPIs (in out) mirror gw1's" \
		"$(swan_parse_child_spis net <<<"$sas2")" "$spi_out $spi_in"
	assert_eq "$what: xfrm states at gw1" "$(xfrm_count gw1)" 2
	assert_eq "$what: xfrm states at gw2" "$(xfrm_count gw2)" 2
	ip -n gw1 xfrm state list spi 0x$spi_out | grep -q 'src 192.0.2.1 dst 192.0.2.2' ||
		fail "$what: gw1 has no outbound state 0x$spi_out"
	ip -n gw1 xfrm state list spi 0x$spi_out | grep -q 'aead rfc4106(gcm(aes)) 0x[0-9a-f]\{40\} 128' ||
		fail "$what: gw1's state 0x$spi_out is not AES-GCM-128: $(ip -n gw1 xfrm state list spi 0x$spi_out)"
	ip -n gw2 xfrm state list spi 0x$spi_out | grep -q 'src 192.0.2.1 dst 192.0.2.2' ||
		fail "$what: gw2 has no inbound state 0x$spi_out"
	ip -n gw1 xfrm policy list dir out | grep -q 'src 10.1.0.0/24 dst 10.2.0.0/24' ||
		fail "$what: no outbound policy at gw1"

	in_ns h1 ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null ||
		fail "$what: ping h1 -> h2 through the tunnel"
	assert_eq "$what: packets on 0x$spi_out at gw1 (out)" "$(xfrm_state_packets gw1 0x$spi_out)" $count
	assert_eq "$what: packets on 0x$spi_out at gw2 (in)" "$(xfrm_state_packets gw2 0x$spi_out)" $count
	assert_eq "$what: packets on 0x$spi_in at gw1 (in)" "$(xfrm_state_packets gw1 0x$spi_in)" $count
	spis+=("$spi_out $spi_in")

	swan_terminate gw1 s2s
	# The delete reached gw2: its charon removed the CHILD_SA from the kernel.
	wait_until 10 no_xfrm_states gw2
	assert_eq "$what: xfrm states at gw1 after the delete" "$(xfrm_count gw1)" 0
	rounds=$((rounds + 1))
	log "$what: round took $((SECONDS - t))s"
}

round psk s2s-psk.conf
round ecdsa s2s-cert.conf
capture_stop

grep -q 'authentication of .gw2.xipsec.test. with ECDSA.* successful' "$(swan_log gw1)" ||
	fail "gw1 did not authenticate gw2 with its ECDSA certificate"
# One pass over the capture: "SRC SPI" for each ESP packet, "icmp" for ICMP.
wire=$(tcpdump -n -r "$TEST_TMP/outer.pcap" 'esp or icmp' 2>/dev/null |
	sed -n 's/.* IP \([0-9.]*\) > .*ESP(spi=0x\([0-9a-f]*\),.*/\1 \2/p; / ICMP /s/.*/icmp/p')
for ((r = 0; r < rounds; r++)); do
	read -r spi_out spi_in <<<"${spis[r]}"
	assert_eq "ESP gw1->gw2 with SPI 0x$spi_out on the wire" \
		"$(grep -c "^192.0.2.1 $spi_out\$" <<<"$wire")" $count
	assert_eq "ESP gw2->gw1 with SPI 0x$spi_in on the wire" \
		"$(grep -c "^192.0.2.2 $spi_in\$" <<<"$wire")" $count
done
assert_eq "ESP on the wire" "$(grep -c '^192' <<<"$wire")" $((2 * count * rounds))
assert_eq "ICMP on the wire" "$(grep -c '^icmp$' <<<"$wire")" 0

t=$SECONDS
ike_capture_check "$TEST_TMP/outer.pcap"
log "tshark took $((SECONDS - t))s"
# Per round: IKE_SA_INIT, IKE_AUTH and the delete's INFORMATIONAL, request and
# response each (more only if something was retransmitted).
assert_ge "IKEv2 messages" "$IKE_MESSAGES" $((6 * rounds))
for x in "IKE_SA_INIT req" "IKE_SA_INIT resp" "IKE_AUTH req" "IKE_AUTH resp" \
	"INFORMATIONAL req" "INFORMATIONAL resp"; do
	assert_ge "'$x' messages" "$(grep -o "$x" <<<"$IKE_EXCHANGES" | wc -l)" "$rounds"
done

# Stopping charon leaves nothing behind: the process and its private /run are gone.
for gw in gw1 gw2; do
	pid=$(swan_pid $gw)
	swan_stop $gw
	kill -0 "$pid" 2>/dev/null && fail "charon $gw ($pid) still running"
done
log "ok: charons stopped"
