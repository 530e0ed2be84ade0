#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reauthentication (reauth_time, RFC 7296 2.8.3) between xiked and Debian's
# strongSwan, each side reauthenticating, with traffic across it.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          xiked                                 charon "gw2"
#          ESP tunnel 10.1.0.0/24 <-> 10.2.0.0/24, IKE on udp 500
#
# vm-timeout: 600
#
#   1. xiked initiates with reauth_time = 20s (rand_time = 0): at 20 s it sets
#      up a new IKE SA beside the old one (IKE_SA_INIT, IKE_AUTH with the
#      child), installs the new child, then deletes the old IKE SA and child.
#      charon authenticated xiked twice, set up a second IKE SA and the new
#      child (its SPIs mirroring xiked's), removed the old child's SAs and got
#      the Delete of the first IKE SA; a ping running across it loses at most
#      the echo in flight at its end (make-before-break); ESP crosses the
#      wire on the old child's SPIs before and the new one's after; `ike list
#      --json` counts one reauthentication.
#   2. charon initiates with reauth_time = 20s and make_before_break = yes:
#      xiked, the responder, gets a second IKE SA with the same child
#      selectors, then charon's Delete of the old one; it keeps the new child
#      (its policies included), drops the old one's states, and the ping
#      loses at most a few echoes (see ping_stop below).
#   3. SIGTERM: xiked removes what it installed, only that; tshark dissects
#      every IKE message without error marks.
#
# The reauthentications repeat every 20 s and a swanctl call can take seconds
# under TCG: the checks use xiked's and charon's logs (in order), the wire and
# counters that only grow, not a snapshot of both daemons at once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl tshark jq perl "$SWAN_CHARON" "$XIKED"

# s2s_setup, with charon reauthenticating make-before-break when it does.
t0=$SECONDS
topo_gateways
swan_kernel_warmup &
warm=$!
swan_spawn gw2 gw2 make_before_break=yes
swan_ready gw2
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
log "charon up in $((SECONDS - t0))s"
foreign_add
DIR2=$(swan_conf_dir gw2)
render_s2s gw2 "$DIR2/swanctl.conf"
swan_load gw2 "$DIR2/swanctl.conf"
render_s2s gw1 "$XCONF"
PLAIN_CONF=$XDIR/plain.conf
cp "$XCONF" "$PLAIN_CONF"

# add_reauth FILE: reauth_time 20 s, no jitter, for the connection in FILE.
add_reauth() {
	sed -i 's/^\(\s*\)proposals = .*/&\n\1reauth_time = 20s\n\1rand_time = 0\n\1over_time = 30s/' "$1"
	grep -q 'reauth_time = 20s' "$1" || fail "could not add reauth_time to $1"
}

count=5

# xiked_ike_spis: "SPI_I SPI_R" of xiked's established IKE SAs, one per line.
xiked_ike_spis() {
	xike list | jq -r '.ike_sas[] | select(.state == "ESTABLISHED") | "\(.spi_i) \(.spi_r)"'
}

diag() {
	echo "--- xiked: $(xike list | jq -c '[.ike_sas[] | {state, initiator, spi_i, spi_r, children}]')" >&2
	echo "--- charon: $(swan_sas gw2)" >&2
	echo "--- gw1 states: $(ip -n gw1 xfrm state | grep -o 'spi 0x[0-9a-f]*' | tr '\n' ' ')" >&2
	echo "--- gw2 states: $(ip -n gw2 xfrm state | grep -o 'spi 0x[0-9a-f]*' | tr '\n' ' ')" >&2
	grep -v 'DEBUG\|debug' "$XLOG" | tail -n 60 >&2
	_swan_tail gw2 40
}

# ping_start SECONDS: h1 pings h2 every 0.2 s for SECONDS (a background job
# ignores SIGINT, so ping cannot be stopped early and still report).
ping_start() {
	in_ns h1 ping -n -q -i 0.2 -W 2 -w "$1" 10.2.0.2 >"$TEST_TMP/ping.out" 2>&1 &
	pingpid=$!
}

# ping_stop WHAT MAXLOST: wait for it; at most MAXLOST echoes may be missing.
ping_stop() {
	local sent got
	wait $pingpid
	sent=$(grep -o '[0-9]* packets transmitted' "$TEST_TMP/ping.out" | cut -d' ' -f1)
	got=$(grep -o '[0-9]* received' "$TEST_TMP/ping.out" | cut -d' ' -f1)
	log "$1: $got of $sent pings answered across the reauthentication"
	assert_ge "$1: pings sent" "${sent:-0}" 50
	assert_ge "$1: pings answered (at most $2 lost)" "${got:-0}" $((sent - $2))
}

# xlog_from LINE: xiked's log from LINE on, without debug lines.
xlog_from() {
	tail -n +"$1" "$XLOG" | grep -v 'DEBUG\|debug'
}

# xlog_ike FROM: the initiator's SPI of the first IKE SA established
# in xiked's log from line FROM on.
xlog_ike() {
	tail -n +"$1" "$XLOG" | sed -n 's/^ike: s2s\[\([0-9a-f]*\)_i .*IKE SA established.*/\1/p' | sed -n 1p
}

# xlog_child FROM N: "IN OUT" SPIs of the Nth child net established in
# xiked's log from line FROM on.
xlog_child() {
	tail -n +"$1" "$XLOG" |
		sed -n 's/.*CHILD_SA net established, SPIs in 0x\([0-9a-f]*\) out 0x\([0-9a-f]*\),.*/\1 \2/p' |
		sed -n "$2p"
}

# before FILE A B: the first line matching A comes before the first matching B.
before() {
	local a b
	a=$(grep -n -m1 -- "$2" "$1" | cut -d: -f1)
	b=$(grep -n -m1 -- "$3" "$1" | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

# esp_both WHAT OUT IN: ESP on the wire with gw1's outbound SPI OUT and
# inbound SPI IN.
esp_both() {
	assert_ge "$1: ESP gw1->gw2 with SPI 0x$2 on the wire" \
		"$(pcap_count "$TEST_TMP/outer.pcap" "src 192.0.2.1 and esp and ip[20:4] = 0x$2")" 1
	assert_ge "$1: ESP gw2->gw1 with SPI 0x$3 on the wire" \
		"$(pcap_count "$TEST_TMP/outer.pcap" "src 192.0.2.2 and esp and ip[20:4] = 0x$3")" 1
}

step "setup done"
capture_start wire br0 "$TEST_TMP/outer.pcap" 'udp port 500 or udp port 4500 or esp'
ike_dissector_start

# 1. xiked reauthenticates.
add_reauth "$XCONF"
xiked_start
t=$SECONDS
xike_ok up s2s/net
poll 30 xiked_established || { diag; fail "xiked -> charon: no child SA"; }
# From the log: the list may already show the next IKE SA under TCG.
i0=$(xlog_ike 1) c0=$(xlog_child 1 1)
ping_start 40
poll 60 grep -q 'IKE SA reauthenticated' "$XLOG" || { diag; fail "xiked did not reauthenticate"; }
gone1() {
	grep -q "kernel: child net removed: SAs in 0x${c0% *}" "$XLOG"
}
poll 20 gone1 || { diag; fail "xiked did not remove the old child"; }
# No gap: the one in flight at the end, or one slow under TCG, at most.
ping_stop "xiked reauthenticates" 2
list=$(xike list)
xiked_stop
log "phase 1 (xiked reauthenticates) took $((SECONDS - t))s"
xlog_from 1 >"$TEST_TMP/x1.log"
assert_ge "reauthentications counted (ike list --json)" "$(jq .stats.ike_reauthed <<<"$list")" 1
assert_ge "IKE SAs established (ike list --json)" "$(jq .stats.ike_established <<<"$list")" 2
# The first reauthentication: its new IKE SA and child, from xiked's log.
new_i=$(sed -n 's/.*reauthenticating IKE SA: new IKE SA \([0-9a-f]*\)_i.*/\1/p' "$TEST_TMP/x1.log" | sed -n 1p)
[ -n "$new_i" ] || fail "no new IKE SA in xiked's log"
[ "$new_i" != "$i0" ] || fail "the new IKE SA has the old SPI $new_i"
read -r n_in n_out <<<"$(sed -n "s/^ike: s2s\[${new_i}_i .*CHILD_SA net established, SPIs in 0x\([0-9a-f]*\) out 0x\([0-9a-f]*\),.*/\1 \2/p" "$TEST_TMP/x1.log" | sed -n 1p)"
[ -n "$n_out" ] || fail "no child of the new IKE SA $new_i in xiked's log"
read -r o_in o_out <<<"$c0"
[ "$n_in" != "$o_in" ] && [ "$n_out" != "$o_out" ] || fail "child SPIs unchanged ($c0)"
# make-before-break: new child installed, then the old IKE SA deleted with its child
before "$TEST_TMP/x1.log" "kernel: child net installed: SAs in 0x$n_in" \
	"kernel: child net removed: SAs in 0x$o_in" ||
	fail "xiked removed the old child before the new one was installed"
before "$TEST_TMP/x1.log" "IKE SA reauthenticated, replaced by s2s\[${new_i}_i" \
	"s2s\[${i0}_i .*IKE SA deleted" || fail "old IKE SA not deleted after the reauthentication"
SLOG=$(swan_log gw2)
assert_ge "charon authenticated xiked (twice or more)" \
	"$(grep -c "authentication of 'gw1.xipsec.test' with pre-shared key successful" "$SLOG")" 2
grep -q "received DELETE for IKE_SA s2s\[1\]" "$SLOG" || { diag; fail "charon got no Delete of the first IKE SA"; }
grep -q "established with SPIs ${n_out}_i ${n_in}_o" "$SLOG" || fail "charon has no child with SPIs in $n_out out $n_in"
grep -q "IKE_SA s2s\[2\] established .*192.0.2.1\[gw1.xipsec.test\]" "$SLOG" || fail "charon has no second IKE SA"
grep -q "deleted SAD entry with SPI $o_out" "$SLOG" || fail "charon kept the old inbound SA 0x$o_out"
poll 15 no_states gw2 || fail "charon kept its SAs after xiked stopped"
only_foreign_left || fail "phase 1: xiked left states or policies"

# 2. charon reauthenticates, xiked responds.
cp "$PLAIN_CONF" "$XCONF"
add_reauth "$DIR2/swanctl.conf"
swan_load gw2 "$DIR2/swanctl.conf"
xlines=$(wc -l <"$XLOG")
slines=$(wc -l <"$SLOG")
xiked_start
t=$SECONDS
swan_initiate gw2 net s2s
poll 15 xiked_established || { diag; fail "charon -> xiked: no child SA at xiked"; }
[ "$(xike list | jq -r '.ike_sas[0].initiator')" = false ] || fail "xiked is not the responder"
i0=$(xlog_ike $((xlines + 1))) c0=$(xlog_child $((xlines + 1)) 1)
ping_start 40
# (pipefail: grep -c reads to the end, grep -q would SIGPIPE the tail)
gone2() {
	[ "$(tail -n +$((xlines + 1)) "$XLOG" | grep -c "kernel: child net removed: SAs in 0x${c0% *}")" -gt 0 ]
}
poll 60 gone2 || { diag; fail "charon's reauthentication did not replace xiked's child"; }
assert_eq "xfrm policies at gw1 (xiked's out/in/fwd + foreign 1)" "$(xfrm_policies gw1)" 4
# xiked, the responder, moves its outbound traffic to the new child when it
# installs it, before charon (on our IKE_AUTH response) has the inbound SA
# (iked/kernel.c: the newest child holds the policies): a gap of about one
# message flight, 3 of 156 pings in a loaded TCG guest. Break-before-make
# would lose the whole IKE_SA_INIT + IKE_AUTH, several seconds here.
ping_stop "charon reauthenticates" 10
list=$(xike list)
xiked_stop
log "phase 2 (charon reauthenticates) took $((SECONDS - t))s"
xlog_from $((xlines + 1)) >"$TEST_TMP/x2.log"
assert_eq "xiked counted no reauthentication of its own" "$(jq .stats.ike_reauthed <<<"$list")" 0
[ "$(tail -n +$((slines + 1)) "$SLOG" | grep -c 'reauthenticating IKE_SA')" -gt 0 ] ||
	fail "charon did not log its reauthentication"
grep -q 'initiating IKE SA' "$TEST_TMP/x2.log" && fail "xiked initiated an IKE SA in phase 2"
read -r o_in o_out <<<"$c0"
read -r n_in n_out <<<"$(xlog_child $((xlines + 1)) 2)"
[ -n "$n_out" ] || fail "no second child at xiked"
[ "$n_in" != "$o_in" ] && [ "$n_out" != "$o_out" ] || fail "child SPIs unchanged ($c0)"
before "$TEST_TMP/x2.log" "kernel: child net installed: SAs in 0x$n_in" \
	"kernel: child net removed: SAs in 0x$o_in" ||
	fail "xiked removed the old child before the new one was installed"
grep -q "s2s\[${i0}_i .*IKE SA deleted by peer" "$TEST_TMP/x2.log" ||
	fail "xiked saw no Delete of the old IKE SA ${i0}"

# 3. Stop and the wire.
assert_eq "xfrm states at gw1 after xiked stopped" "$(xfrm_states gw1)" 1
assert_eq "xfrm policies at gw1 after xiked stopped" "$(xfrm_policies gw1)" 1
foreign_check
poll 10 no_states gw2 || fail "charon kept its SAs after xiked stopped"
capture_stop
esp_both "phase 2, old child" "$o_out" "$o_in"
esp_both "phase 2, new child" "$n_out" "$n_in"
read -r o_in o_out <<<"$(xlog_child 1 1)"
read -r n_in n_out <<<"$(sed -n "s/^ike: s2s\[${new_i}_i .*CHILD_SA net established, SPIs in 0x\([0-9a-f]*\) out 0x\([0-9a-f]*\),.*/\1 \2/p" "$TEST_TMP/x1.log" | sed -n 1p)"
esp_both "phase 1, old child" "$o_out" "$o_in"
esp_both "phase 1, new child" "$n_out" "$n_in"
ike_capture_check "$TEST_TMP/outer.pcap"
# Four IKE SAs set up at least: two initiations, two reauthentications.
assert_ge "IKE_SA_INIT requests" "$(grep -o 'IKE_SA_INIT req' <<<"$IKE_EXCHANGES" | wc -l)" 4
assert_ge "IKE_AUTH responses" "$(grep -o 'IKE_AUTH resp' <<<"$IKE_EXCHANGES" | wc -l)" 4
grep -qiE '[0-9a-f]{32}' "$XLOG" && fail "hex key material in xiked's log"
log "ok: reauthentication both ways, $IKE_MESSAGES IKE messages"
