#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm-timeout: 600
#
# On demand: xiked's start_action = trap child comes up from its first packet.
#
#   h1 --- gw1 ====== wire (br0, capture) ====== gw2 --- h2   (topology in lib.sh)
#          xiked, child "net"                    charon "gw2", responder
#          start_action = trap                   10.2.0.0/24 <-> 10.1.0.0/24
#
#   1. xiked starts: only its trap (an out policy, no state) is installed; no IKE.
#   2. Three pings h1 -> h2 at once: the kernel's acquire starts exactly one IKE
#      SA with one child (the acquires coalesce); the first packets may be lost.
#      The IKE_AUTH request's TSi/TSr start with the packet's addresses: charon
#      logs the selectors it received, xiked the acquire it acted on.
#   3. Later pings cross the wire as ESP on that child; no second child appears.
#   4. The child is deleted: the trap policy is back, and the next ping starts
#      a new child at once (the child took over the trap's reqid, so the
#      kernel's larval acquire state did not outlive the first child).
#   5. SIGTERM: xiked removes its policies and states, the trap included.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
require ip tcpdump ping swanctl jq perl "$SWAN_CHARON" "$XIKED"

s2s_setup
# gw1's child waits for traffic.
sed -i 's/^\(\t*\)mode = tunnel$/&\n\1start_action = trap/' "$XCONF"
grep -q 'start_action = trap' "$XCONF" || fail "could not set start_action = trap"

# children_installed: xiked's installed children named net, over all IKE SAs.
children_installed() {
	xike list | jq '[.ike_sas[].children[] | select(.name == "net" and .state == "INSTALLED")] | length'
}

ike_sas() {
	xike list | jq '.ike_sas | length'
}

foreign_state_only() {
	[ "$(xfrm_states gw1)" = 1 ]
}

step "setup done"
capture_start wire br0 "$TEST_TMP/outer.pcap" 'udp port 500 or udp port 4500 or esp or icmp'
xiked_start
poll 10 grep -q "trap s2s/net: matching traffic starts the child SA" "$XLOG" ||
	{ xiked_tail; fail "no trap installed"; }

# 1. Only the trap.
assert_eq "xfrm policies at gw1 (trap out + foreign)" "$(xfrm_policies gw1)" 2
ip -n gw1 xfrm policy list dir out | grep -q 'src 10.1.0.0/24 dst 10.2.0.0/24' ||
	fail "no trap policy at gw1"
assert_eq "xfrm states at gw1 (foreign only)" "$(xfrm_states gw1)" 1
assert_eq "IKE SAs before any traffic" "$(ike_sas)" 0

# 2. Parallel pings: one negotiation.
t=$SECONDS
pids=()
for i in 1 2 3; do
	in_ns h1 ping -n -q -c 10 -i 0.3 -W 1 10.2.0.2 >/dev/null 2>&1 &
	pids+=($!)
done
poll 40 xiked_established || { xiked_tail; _swan_tail gw2; fail "no child SA from the acquire"; }
log "child up $((SECONDS - t))s after the first packet"
wait "${pids[@]}"
assert_eq "IKE SAs after the pings" "$(ike_sas)" 1
assert_eq "children after the pings" "$(children_installed)" 1
assert_eq "charon's IKE SAs" "$(swan_sas gw2 2>/dev/null | grep -c 'ESTABLISHED')" 1
grep -q "acquire: kernel 10.1.0.2..10.1.0.2\[1/0-65535\] === 10.2.0.2..10.2.0.2\[1/0-65535\]: starting s2s/net" "$XLOG" ||
	{ xiked_tail; fail "xiked did not log the acquire it acted on"; }
assert_eq "negotiations started by acquires" "$(grep -c 'acquire: kernel .*: starting s2s/net' "$XLOG")" 1
# A negotiation in flight is not a failure (a failure holds acquires for 10 s).
grep -q "negotiation failed" "$XLOG" && { xiked_tail; fail "xiked took the negotiation for failed"; }
# charon (responder, cfg level 2): its selectors first, then ours, each list
# as received, the packet's address in front.
grep -E "looking for a child config for 10\.2\.0\.2/32\[icmp\] 10\.2\.0\.0/24 === 10\.1\.0\.2/32\[icmp\] 10\.1\.0\.0/24" "$(swan_log gw2)" ||
	{ grep -i "child config\|traffic selectors" "$(swan_log gw2)" >&2; fail "IKE_AUTH TSi/TSr do not start with the packet's flow"; }
log "ok: the acquire's packet selectors came first in TSi/TSr"

# 3. Traffic on the child, no second one.
read -r spi_in spi_out <<<"$(xiked_child_spis)"
before=$(xfrm_state_packets gw1 0x$spi_out)
in_ns h1 ping -n -q -c 5 -i 0.1 -W 2 10.2.0.2 >/dev/null || fail "ping through the on-demand tunnel"
assert_eq "pings on 0x$spi_out at gw1" "$(( $(xfrm_state_packets gw1 0x$spi_out) - before ))" 5
assert_eq "children after more traffic" "$(children_installed)" 1
assert_eq "xfrm policies at gw1 (child out/in/fwd + foreign; the trap's out taken over)" \
	"$(xfrm_policies gw1)" 4

# 4. Child gone: the trap is back and works again.
xike_ok down s2s
poll 15 no_states gw2 || fail "charon kept its SAs after xiked's delete"
poll 15 foreign_state_only || { ip -n gw1 xfrm state >&2; xiked_tail; fail "xiked kept its states"; }
assert_eq "xfrm policies at gw1 after the delete (trap + foreign)" "$(xfrm_policies gw1)" 2
t=$SECONDS
in_ns h1 ping -n -q -c 20 -i 0.5 -W 1 10.2.0.2 >/dev/null 2>&1 &
pids=($!)
poll 40 xiked_established || { xiked_tail; fail "no child SA from the second acquire"; }
log "second child up $((SECONDS - t))s after its first packet"
wait "${pids[@]}"
assert_eq "negotiations started by acquires" "$(grep -c 'acquire: kernel .*: starting s2s/net' "$XLOG")" 2

# 5. Stop: everything of xiked's goes, the trap too.
xiked_stop
assert_eq "xfrm states at gw1 after xiked stopped" "$(xfrm_states gw1)" 1
assert_eq "xfrm policies at gw1 after xiked stopped" "$(xfrm_policies gw1)" 1
foreign_check
capture_stop
assert_eq "ICMP in the clear on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" icmp)" 0
assert_ge "ESP on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" esp)" 10
grep -qiE '[0-9a-f]{32}' "$XLOG" && fail "hex key material in xiked's log"
log "ok: start_action = trap: one child per acquire burst, packet selectors first"
