#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xiked's life cycle around a charon peer: start_action, the control socket,
# crash leftovers, reload, the key log.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          xiked (start_action = start)          charon "gw2" (responder)
#
#   1. xiked brings the child up by itself at start; `list text` shows it; a
#      ping crosses the tunnel. A second child with start_action = trap gets
#      its out policy (template, no state).
#   2. SIGKILL: xiked's states and policies stay in the kernel (it had no chance
#      to clean up). A new xiked on the same control socket removes exactly
#      those at start (the foreign state and policy on gw1 survive) and
#      negotiates again.
#   3. reload (the control socket): the IKE SA keeps running on its
#      configuration generation; `down` through the socket removes it.
#   4. Errors come back as {"ok":false}: unknown connection, unknown command.
#   5. --keylog: one line per IKE SA, mode 600; tshark decrypts the IKE_AUTH
#      messages with it (the peers' identities appear) and marks nothing
#      malformed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl tshark jq perl "$SWAN_CHARON" "$XIKED"

s2s_setup
sed -i 's/^\(\s*\)mode = tunnel$/&\n\1start_action = start/' "$XCONF"
grep -q 'start_action = start' "$XCONF" || fail "could not add start_action to $XCONF"
# swanctl.conf merges sections given twice: a trap child only xiked knows.
cat >>"$XCONF" <<'CONF'
connections {
	s2s {
		children {
			trapnet {
				local_ts = 10.1.1.0/24
				remote_ts = 10.2.1.0/24
				esp_proposals = aes128gcm16
				start_action = trap
			}
		}
	}
}
CONF
KEYS=$XDIR/ike.keys

# Full frames: the key log check decrypts IKE_AUTH.
capture_start wire br0 "$TEST_TMP/ike.pcap" -s 0 'udp port 500 or udp port 4500'

# 1. start_action = start.
step "xiked start"
t=$SECONDS
xiked_start --keylog "$KEYS"
poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "start_action: no child SA"; }
text=$(xike list text | jq -r .text)
echo "$text"
grep -q '^s2s: ESTABLISHED, initiator, 192.0.2.1\[500\]...192.0.2.2\[500\]' <<<"$text" ||
	fail "list text: no established IKE SA: $text"
grep -q '^  net: INSTALLED, SPIs in 0x[0-9a-f]\{8\} out 0x[0-9a-f]\{8\}' <<<"$text" ||
	fail "list text: no installed child: $text"
in_ns h1 ping -n -q -c 3 -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "ping through the tunnel"
read -r old_in old_out <<<"$(xiked_child_spis)"
trap=$(ip -n gw1 xfrm policy list dir out src 10.1.1.0/24 dst 10.2.1.0/24)
grep -q 'tmpl src 192.0.2.1 dst 192.0.2.2' <<<"$trap" || fail "no trap policy: $trap"
reqid=$(grep -o 'reqid [0-9]*' <<<"$trap" | cut -d' ' -f2)
[ -n "$reqid" ] && [ "$reqid" != 0 ] || fail "trap policy without reqid: $trap"
ip -n gw1 xfrm state list reqid "$reqid" | grep -q . && fail "trap reqid $reqid has a state"
log "start_action: established and carrying traffic in $((SECONDS - t))s"

step "SIGKILL"
# 2. A crash leaves state behind; the next start removes exactly that.
kill -KILL $xpid
wait $xpid 2>/dev/null
assert_eq "xfrm states after SIGKILL (xiked's 2 + foreign)" "$(xfrm_states gw1)" 3
assert_eq "xfrm policies after SIGKILL (xiked's 3 + trap + foreign)" "$(xfrm_policies gw1)" 5
ls /run/xiked/*.state >/dev/null 2>&1 || fail "no ownership record in /run/xiked"
t=$SECONDS
xiked_start --keylog "$KEYS"
poll 30 xiked_established || { xiked_tail; fail "after restart: no child SA"; }
assert_eq "leftover SAs removed" "$(grep -c 'removed leftover SA' "$XLOG")" 2
assert_eq "leftover policies removed" "$(grep -c 'removed leftover policy' "$XLOG")" 4
ip -n gw1 xfrm state list spi 0x$old_in | grep -q . && fail "old inbound SA 0x$old_in still there"
ip -n gw1 xfrm state list spi 0x$old_out | grep -q . && fail "old outbound SA 0x$old_out still there"
foreign_check
assert_eq "xfrm states after restart (new 2 + foreign)" "$(xfrm_states gw1)" 3
assert_eq "xfrm policies after restart (new 3 + trap + foreign)" "$(xfrm_policies gw1)" 5
log "restart after SIGKILL: leftovers removed, renegotiated in $((SECONDS - t))s"

step "reload"
# 3. reload: existing SAs stay on the old generation until they go.
xike_ok reload
out=$(xike list)
assert_eq "IKE SA kept across reload (generation 0)" \
	"$(jq -r '[.ike_sas[] | select(.state == "ESTABLISHED")][0].generation' <<<"$out")" 0
kill -HUP $xpid
poll 5 grep -q 'SIGHUP, reloading' "$XLOG" || fail "SIGHUP did not reload"
xike_ok down s2s
trap_and_foreign_left() {
	[ "$(xfrm_states gw1)" = 1 ] && [ "$(xfrm_policies gw1)" = 2 ]
}
poll 15 trap_and_foreign_left || { xiked_tail; fail "down after reload left SAs or policies"; }
poll 5 grep -q 'generation 0 has no SAs left' "$XLOG" || fail "old generation not freed"
assert_eq "counters survive the freed generation (IKE SAs established)" \
	"$(xike list | jq .stats.ike_established)" 1

step "errors"
# 4. Errors.
out=$(xike up nosuchconn)
assert_eq "up of an unknown connection" "$(jq -r .ok <<<"$out")" false
jq -r .error <<<"$out" | grep -q "no connection 'nosuchconn'" || fail "error text: $out"
assert_eq "unknown command" "$(xike frobnicate | jq -r .ok)" false

step "stop"
xiked_stop
foreign_check
assert_eq "xfrm states at gw1 after xiked stopped" "$(xfrm_states gw1)" 1
assert_eq "xfrm policies at gw1 after xiked stopped (trap gone)" "$(xfrm_policies gw1)" 1
capture_stop

step "key log"
# 5. The key log.
assert_eq "key log mode" "$(stat -c %a "$KEYS")" 600
assert_ge "key log lines (one per IKE SA)" "$(wc -l <"$KEYS")" 2
mkdir -p "$TEST_TMP/wshome/.config/wireshark"
cp "$KEYS" "$TEST_TMP/wshome/.config/wireshark/ikev2_decryption_table"
t=$SECONDS
out=$(HOME=$TEST_TMP/wshome tshark -n -r "$TEST_TMP/ike.pcap" \
	-Y 'isakmp || _ws.malformed || _ws.expert.severity == error' -T fields -E separator='|' \
	-E occurrence=a -E aggregator=, -e frame.number -e isakmp.exchangetype \
	-e isakmp.id.data.fqdn -e _ws.malformed -e _ws.expert.severity 2>/dev/null) ||
	fail "tshark failed"
log "tshark took $((SECONDS - t))s"
bad=$(awk -F'|' '$4 != "" || $5 ~ /8388608/' <<<"$out")
[ -z "$bad" ] || fail "malformed or erroneous frames with decryption: $bad"
# IKE_AUTH (35) requests carry IDi=gw1 (and IDr=gw2), responses IDr=gw2.
auth_ids=$(awk -F'|' '$2 == 35 && $3 != ""' <<<"$out" | wc -l)
assert_ge "decrypted IKE_AUTH messages with identities" "$auth_ids" 4
grep -q 'gw1.xipsec.test' <<<"$out" || fail "gw1's identity not decrypted"
grep -q 'gw2.xipsec.test' <<<"$out" || fail "gw2's identity not decrypted"
grep -qiE '[0-9a-f]{32}' "$XLOG" && fail "hex key material in xiked's log"
log "ok: start_action, list, leftovers, reload, errors, key log"
