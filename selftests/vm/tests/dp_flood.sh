#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The outer prefilter under an ESP flood with random SPIs, and programs
# replaced or re-attached while traffic flows.
#
#   h1 ---- gw1 ====== wire (br0) ====== gw2 ---- h2
#           |                             ^
#           +-- raw ESP, random SPIs -----+  dropped at gw2's XDP, counted,
#                                            never reaching the kernel's xfrm
#
# 1. flood + ping at once: every echo answered, the flood counted as
#    esp_unknown_spi at gw2 and the kernel saw none of it (XfrmInNoStates 0)
# 2. re-attach all four programs three times during a ping: no reply lost
# 3. detach gw1's inner side, attach again: rules and counters survived,
#    the tunnel carries traffic again
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dp_lib.sh"
require ip ping jq

nostates() { in_ns gw2 awk '/XfrmInNoStates/ {print $2}' /proc/net/xfrm_stat; }
nostates_is() { [ "$(nostates)" -eq "$1" ]; }

topo_gateways
dp_gateways_attach
dp_conf gw1 "rule from 10.1.0.0/24 to 10.2.0.0/24 protect gw1-gw2"
dp_conf gw2 "rule from 10.2.0.0/24 to 10.1.0.0/24 protect gw2-gw1"
dpx gw1 load "$TEST_TMP/gw1.conf" || fail "load gw1"
dpx gw2 load "$TEST_TMP/gw2.conf" || fail "load gw2"
in_ns h1 ping -n -q -c 1 -W 5 10.2.0.2 >/dev/null || fail "tunnel does not carry a first ping"

# 1. flood: raw ESP (the kernel adds the IP header), SPIs never ours
flood=300
cat >"$TEST_TMP/flood.py" <<'EOF'
import os, random, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
rnd = random.Random(int(sys.argv[2]))
for i in range(int(sys.argv[1])):
    spi = rnd.randrange(0x10000, 0xffffffff)
    s.sendto(struct.pack("!II", spi, 1) + os.urandom(48), ("192.0.2.2", 0))
EOF
pings=20
in_ns h1 ping -n -q -c $pings -i 0.05 -W 5 10.2.0.2 >"$TEST_TMP/ping1" 2>&1 &
ping_pid=$!
in_ns gw1 $PY "$TEST_TMP/flood.py" $flood 1 || fail "flood sender"
wait $ping_pid || fail "ping during the flood: $(cat "$TEST_TMP/ping1")"
grep -q "$pings received" "$TEST_TMP/ping1" || fail "lost replies during the flood: $(cat "$TEST_TMP/ping1")"
log "ok: $pings/$pings echoes answered during the flood"
assert_eq "gw2 esp_unknown_spi drops" "$(dp_status gw2 .drops.esp_unknown_spi)" $flood
assert_eq "gw2 outer ESP with unknown SPI" "$(dp_status gw2 .stats.outer_esp_unknown_spi)" $flood
assert_eq "gw2 kernel XfrmInNoStates" "$(nostates)" 0
assert_eq "gw2 SA gw1-gw2 rx_packets" "$(dp_sa gw2 gw1-gw2 rx_packets)" $((pings + 1))

# switched off at run time: the kernel sees (and drops) them instead
dpx gw2 set unknown-spi pass || fail "set unknown-spi pass"
in_ns gw1 $PY "$TEST_TMP/flood.py" 10 2 || fail "flood sender"
wait_until 10 nostates_is 10
assert_eq "gw2 esp_unknown_spi drops after 'pass'" "$(dp_status gw2 .drops.esp_unknown_spi)" $flood
dpx gw2 set unknown-spi drop || fail "set unknown-spi drop"

# 2. replace every program, three times, under traffic
before=$(dp_bucket gw1 gw1-gw2 packets)
n=120
in_ns h1 ping -n -q -c $n -i 0.02 -W 5 10.2.0.2 >"$TEST_TMP/ping2" 2>&1 &
ping_pid=$!
for round in 1 2 3; do
	for gw in gw1 gw2; do
		dpx $gw attach in0 --inner || fail "$gw: re-attach in0 (round $round)"
		dpx $gw attach out0 --outer || fail "$gw: re-attach out0 (round $round)"
	done
done
wait $ping_pid || fail "ping during re-attach: $(cat "$TEST_TMP/ping2")"
grep -q "$n received" "$TEST_TMP/ping2" || fail "lost replies during re-attach: $(cat "$TEST_TMP/ping2")"
log "ok: $n/$n echoes answered while programs were replaced 3 times"
assert_eq "gw1 bucket gw1-gw2 counted every echo" "$(dp_bucket gw1 gw1-gw2 packets)" $((before + n))
assert_eq "XDP programs on gw1 in0" "$(ip -n gw1 -d link show dev in0 | grep -c 'prog/xdp')" 1
# 6.1 runs libxdp's dispatcher: the add-then-remove replacement was the one exercised
assert_eq "gw1 in0 XDP through libxdp's dispatcher" \
	"$(dp_status gw1 '.interfaces[] | select(.name == "in0") | .xdp_dispatcher')" true
assert_eq "xipsec XDP programs in gw1 in0's dispatcher" \
	"$(dp_status gw1 '.interfaces[] | select(.name == "in0") | .xdp_programs')" 1
assert_eq "TC filters of xipsec on gw1 in0" \
	"$(in_ns gw1 tc filter show dev in0 ingress | grep -c xipsec_inner_tc)" 1

# 3. detach and attach again: maps (rules, SAs, counters) survive
dpx gw1 detach in0 || fail "detach gw1 in0"
assert_eq "gw1 interfaces after detaching in0" "$(dp_status gw1 '.interfaces | length')" 1
assert_eq "gw1 rules while detached" "$(dpx gw1 spd list --json | jq length)" 1
dpx gw1 detach in0 2>/dev/null && fail "second detach claimed success"
dpx gw1 attach in0 --inner || fail "re-attach gw1 in0"
in_ns h1 ping -n -q -c 5 -i 0.05 -W 5 10.2.0.2 >/dev/null || fail "tunnel after re-attach"
assert_eq "gw1 bucket gw1-gw2 continues counting" "$(dp_bucket gw1 gw1-gw2 packets)" $((before + n + 5))
log "flood dropped at XDP, programs replaced without loss, detach/attach keeps state"
