#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm-timeout: 900
#
# On demand with the xipsec dataplane: the trap child of xiked comes up from
# an acquire that the inner classifier put on its ring buffer.
#
#   h1 --- gw1 ====== wire ====== gw2 --- h2   (topology in lib.sh)
#          xipsec attached (in0 inner, out0 outer) on both gateways
#          xiked, child "net"           charon "gw2", responder
#          start_action = trap          (unknown SPIs passed at gw2)
#          XIKED_PIN_DIR = gw1's pins
#
#   1. xiked starts: its trap gets a PROTECT bucket without SA,
#      "xiked:t<instance>.0", next to the kernel's trap policy; no IKE yet.
#   2. Three pings h1 -> h2 at once: gw1's XDP drops them in that bucket and
#      emits acquires (counted per bucket); xiked reads them from the ring
#      buffer and starts exactly one child, the packet's flow first in
#      TSi/TSr. The kernel's trap policy never sees the packets: no kernel
#      acquire.
#   3. Later pings go through the child's own bucket "xiked:<SPI out>" (it
#      wins over the trap bucket by priority) and its xfrm state.
#   4. `ike down`: the child's bucket goes, the trap bucket catches the next
#      ping and a second child comes up the same way.
#   5. A killed xiked's buckets are removed by the next start; SIGTERM
#      removes the trap bucket.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
. "$(dirname "$0")/../dp_lib.sh"
require ip ping jq bpftool swanctl perl "$SWAN_CHARON" "$XIKED"

PINS=/run/gw1-bpf/xipsec

s2s_setup
sed -i 's/^\(\t*\)mode = tunnel$/&\n\1start_action = trap/' "$XCONF"
grep -q 'start_action = trap' "$XCONF" || fail "could not set start_action = trap"
dp_gateways_attach
dpx gw2 set unknown-spi pass || fail "gw2: set unknown-spi pass"
export XIKED_PIN_DIR=$PINS

# ike_buckets: xiked's bucket names in gw1's rule set, sorted
ike_buckets() {
	dpx gw1 spd list --json | jq -r '[.[] | select(.bucket_name | startswith("xiked:")) | .bucket_name] | unique | .[]'
}

trap_bucket() {	# trap_bucket: the name of xiked's trap bucket
	ike_buckets | grep '^xiked:t'
}

children_installed() {
	xike list | jq '[.ike_sas[].children[] | select(.name == "net" and .state == "INSTALLED")] | length'
}

ike_sas() {
	xike list | jq '.ike_sas | length'
}

only_trap_bucket() {
	[ "$(ike_buckets)" = "$tb" ]
}

diag() {
	echo "--- gw1:" >&2
	dpx gw1 status >&2
	dpx gw1 spd list >&2
	ip -n gw1 -s xfrm state >&2
	ip -n gw1 xfrm policy >&2
	xiked_tail
}

traps_logged() {	# traps_logged N: xiked installed its trap N times (log)
	[ "$(grep -c 'trap s2s/net: matching traffic starts the child SA' "$XLOG")" -ge "$1" ]
}

dp_starts() {	# dp_starts: negotiations started by dataplane acquires
	grep -c 'acquire: dataplane .*: starting s2s/net' "$XLOG"
}

# assert_starts N: N negotiations from dataplane acquires, none from the
# kernel's, none taken as failed
assert_starts() {
	if [ "$(dp_starts)" != "$1" ] || grep -q 'acquire: kernel \|negotiation failed' "$XLOG"; then
		grep 'acquire\|child .* installed\|IKE SA' "$XLOG" >&2
		fail "want $1 negotiations from dataplane acquires and no kernel acquire"
	fi
	log "ok: $1 negotiations from dataplane acquires, no kernel acquire"
}

step "setup done"
xiked_start
poll 10 grep -q "trap s2s/net: matching traffic starts the child SA" "$XLOG" ||
	{ xiked_tail; fail "no trap installed"; }
grep -q "reading the dataplane's acquires from $PINS/xipsec_events" "$XLOG" ||
	{ xiked_tail; fail "xiked does not read gw1's ring buffer"; }

# 1. The trap: a bucket and the kernel's out policy, nothing negotiated.
tb=$(trap_bucket)
[ -n "$tb" ] || { diag; fail "no trap bucket in gw1's rule set"; }
assert_eq "xiked's buckets before traffic" "$(ike_buckets)" "$tb"
assert_eq "trap bucket action" "$(dp_bucket gw1 "$tb" action)" '"protect"'
assert_eq "trap bucket acquires before traffic" "$(dp_bucket gw1 "$tb" acquires)" 0
ip -n gw1 xfrm policy list dir out | grep -q 'src 10.1.0.0/24 dst 10.2.0.0/24' ||
	fail "no kernel trap policy at gw1"
assert_eq "IKE SAs before any traffic" "$(ike_sas)" 0

# 2. Parallel pings: dataplane acquires, one negotiation.
t=$SECONDS
pids=()
for i in 1 2 3; do
	in_ns h1 ping -n -q -c 10 -i 0.3 -W 1 10.2.0.2 >/dev/null 2>&1 &
	pids+=($!)
done
poll 40 xiked_established || { diag; _swan_tail gw2; fail "no child SA from the dataplane's acquire"; }
step "child up $((SECONDS - t))s after the first packet"
wait "${pids[@]}"
assert_eq "IKE SAs after the pings" "$(ike_sas)" 1
assert_eq "children after the pings" "$(children_installed)" 1
grep -q "acquire: dataplane 10.1.0.2..10.1.0.2\[1/0-65535\] === 10.2.0.2..10.2.0.2\[1/0-65535\]: starting s2s/net" "$XLOG" ||
	{ xiked_tail; fail "xiked did not log the dataplane acquire it acted on"; }
assert_starts 1
acq=$(dp_bucket gw1 "$tb" acquires)
assert_ge "trap bucket acquires (dataplane counter)" "$acq" 1
assert_ge "trap bucket drop_no_sa" "$(dp_bucket gw1 "$tb" drop_no_sa)" 1
log "trap bucket: $acq acquires; xiked: $(grep -c 'acquire: dataplane ' "$XLOG") dataplane acquire lines:"
grep -E 'acquire: |IKE SA established|child .* installed' "$XLOG" | sed 's/^/    /' >&2
grep -E "looking for a child config for 10\.2\.0\.2/32\[icmp\] 10\.2\.0\.0/24 === 10\.1\.0\.2/32\[icmp\] 10\.1\.0\.0/24" "$(swan_log gw2)" >/dev/null ||
	{ grep -i "child config" "$(swan_log gw2)" >&2; fail "IKE_AUTH TSi/TSr do not start with the packet's flow"; }

# 3. Traffic on the child's SA and bucket, not the trap's.
step "traffic on the child"
read -r spi_in spi_out <<<"$(xiked_child_spis)"
assert_eq "xiked's buckets with the child up" "$(ike_buckets)" "$(printf '%s\n' "$tb" "xiked:$spi_out" | LC_ALL=C sort)"
before=$(xfrm_state_packets gw1 0x$spi_out)
drops=$(dp_bucket gw1 "$tb" drop_no_sa)
in_ns h1 ping -n -q -c 5 -i 0.1 -W 2 10.2.0.2 >/dev/null || { diag; fail "ping through the on-demand tunnel"; }
assert_eq "pings on 0x$spi_out at gw1" "$(( $(xfrm_state_packets gw1 0x$spi_out) - before ))" 5
assert_ge "child bucket xiked:$spi_out packets" "$(dp_bucket gw1 "xiked:$spi_out" packets)" 5
assert_eq "trap bucket drops while the child is up" "$(dp_bucket gw1 "$tb" drop_no_sa)" "$drops"
assert_eq "children after more traffic" "$(children_installed)" 1

# 4. Child gone: the trap bucket catches traffic again.
step "child down"
xike_ok down s2s
poll 15 no_states gw2 || fail "charon kept its SAs after xiked's delete"
poll 15 only_trap_bucket || { diag; fail "child deleted, but gw1 has buckets '$(ike_buckets)'"; }
t=$SECONDS
in_ns h1 ping -n -q -c 10 -i 0.5 -W 1 10.2.0.2 >/dev/null 2>&1 &
pids=($!)
poll 40 xiked_established || { diag; fail "no child SA from the second acquire"; }
step "second child up $((SECONDS - t))s after its first packet"
wait "${pids[@]}"
assert_starts 2
assert_eq "children after the second burst" "$(children_installed)" 1
assert_ge "trap bucket acquires after the second child" "$(dp_bucket gw1 "$tb" acquires)" $((acq + 1))
read -r spi_in spi_out <<<"$(xiked_child_spis)"
before=$(xfrm_state_packets gw1 0x$spi_out)
in_ns h1 ping -n -q -c 3 -i 0.1 -W 2 10.2.0.2 >/dev/null || { diag; fail "ping through the second child"; }
assert_eq "pings on 0x$spi_out at gw1" "$(( $(xfrm_state_packets gw1 0x$spi_out) - before ))" 3

# 5. A killed xiked leaves its buckets; the next start removes them (the
#    child's through kernel.c's state file, the trap's by its name), and
#    SIGTERM removes the new trap bucket.
step "kill -9 and restart"
kill -9 "$xpid"
wait "$xpid" 2>/dev/null
rm -f "$SOCK"
assert_eq "buckets a killed xiked left" "$(ike_buckets)" "$(printf '%s\n' "$tb" "xiked:$spi_out" | LC_ALL=C sort)"
xiked_start
poll 20 traps_logged 2 || { xiked_tail; fail "no trap after the restart"; }
grep -q "acquire: dataplane trap buckets of an earlier run removed" "$XLOG" ||
	{ xiked_tail; fail "leftover trap bucket not removed at start"; }
assert_eq "xiked's buckets after the restart" "$(ike_buckets)" "$tb"
xiked_stop
assert_eq "xiked's buckets after SIGTERM" "$(ike_buckets)" ""
foreign_check
grep -qiE '[0-9a-f]{32}' "$XLOG" && fail "hex key material in xiked's log"
log "ok: dataplane acquires start the trap child, one per burst; trap bucket kept, removed at exit"
