#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two gateways running on xipsec alone with static keys (`xipsec load`):
# PROTECT, BYPASS and DISCARD rules checked on the wire, counters equal to
# the packets sent, and a spoofed inner source sent through a valid SA
# dropped and counted by the receiving gateway.
#
#   h1 ---- gw1 ====== wire (br0, capture) ====== gw2 ---- h2
#           in0: xipsec inner                   in0: xipsec inner
#           out0: xipsec outer                  out0: xipsec outer
#
#   h1 -> h2 ICMP            PROTECT gw1-gw2 (ESP SPI 0x1001)
#   h1 -> h2 UDP dport 7000  BYPASS  (plaintext on the wire)
#   h1 -> h2 UDP dport 7001  DISCARD (nothing on the wire)
#   10.9.9.9 (on h1) -> h2   gw1 protects it (a misbehaving peer), gw2 drops it
#                            after decryption: outside SA 0x1001's selectors
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dp_lib.sh"
require ip tcpdump ping jq

topo_gateways
dp_gateways_attach

dp_conf gw1 "rule from 10.1.0.0/24 to 10.2.0.0/24 proto udp dport 7000 bypass
rule from 10.1.0.0/24 to 10.2.0.0/24 proto udp dport 7001 discard
rule from 10.1.0.0/24 to 10.2.0.0/24 protect gw1-gw2
rule from 10.9.9.0/24 to 10.2.0.0/24 protect gw1-gw2 bucket spoof"
dp_conf gw2 "rule from 10.2.0.0/24 to 10.1.0.0/24 protect gw2-gw1"
# the file holds keys: group/other access is refused and nothing changes
chmod 644 "$TEST_TMP/gw1.conf"
dpx gw1 load "$TEST_TMP/gw1.conf" 2>"$TEST_TMP/err" && fail "load accepted a world-readable key file"
grep -q 'accessible by group or others' "$TEST_TMP/err" || fail "no mode error: $(cat "$TEST_TMP/err")"
assert_eq "SAs after a refused load" "$(ip -n gw1 xfrm state | grep -c '^src')" 0
chmod 600 "$TEST_TMP/gw1.conf"
dpx gw1 load --check "$TEST_TMP/gw1.conf" >/dev/null || fail "check of gw1.conf"
assert_eq "SAs after --check" "$(ip -n gw1 xfrm state | grep -c '^src')" 0
dpx gw1 load "$TEST_TMP/gw1.conf" || fail "load gw1"
dpx gw2 load "$TEST_TMP/gw2.conf" || fail "load gw2"
assert_eq "gw1 states" "$(ip -n gw1 xfrm state | grep -c '^src')" 2
assert_eq "gw1 policies (out + in + fwd)" "$(ip -n gw1 xfrm policy | grep -c '^src')" 3

count=10
capture_start wire br0 "$TEST_TMP/outer.pcap"
in_ns h1 ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "ping through the tunnel"
for ((i = 0; i < count; i++)); do
	in_ns h1 bash -c 'echo bypass-payload >/dev/udp/10.2.0.2/7000; echo discard-payload >/dev/udp/10.2.0.2/7001'
done
# spoofed source: h1 claims 10.9.9.9; gw1 protects it, gw2 must drop it
ip -n h1 addr add 10.9.9.9/32 dev eth0
in_ns gw1 sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.in0.rp_filter=0
ip -n gw1 route add 10.9.9.9/32 dev in0
in_ns h1 ping -n -q -c 5 -i 0.05 -W 1 -I 10.9.9.9 10.2.0.2 >/dev/null &&
	fail "spoofed ping got an answer"
capture_stop

assert_eq "ESP gw1->gw2 SPI 0x1001 on the wire" \
	"$(pcap_count "$TEST_TMP/outer.pcap" 'src 192.0.2.1 and esp and ip[20:4] = 0x1001')" $((count + 5))
assert_eq "ESP gw2->gw1 SPI 0x2002 on the wire" \
	"$(pcap_count "$TEST_TMP/outer.pcap" 'src 192.0.2.2 and esp and ip[20:4] = 0x2002')" $count
assert_eq "ICMP in clear on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" icmp)" 0
assert_eq "BYPASS: UDP 7000 in clear on the wire" \
	"$(pcap_count "$TEST_TMP/outer.pcap" 'udp dst port 7000')" $count
assert_eq "DISCARD: UDP 7001 on the wire" "$(pcap_count "$TEST_TMP/outer.pcap" 'udp dst port 7001')" 0

# counters: buckets at gw1, SAs at both ends
assert_eq "gw1 bucket gw1-gw2 packets" "$(dp_bucket gw1 gw1-gw2 packets)" $count
assert_eq "gw1 bucket bypass packets" "$(dp_bucket gw1 bypass packets)" $count
assert_eq "gw1 bucket discard packets" "$(dp_bucket gw1 discard packets)" $count
assert_eq "gw1 bucket discard drops" "$(dp_bucket gw1 discard drop_discard)" $count
assert_eq "gw1 bucket spoof packets" "$(dp_bucket gw1 spoof packets)" 5
assert_eq "gw1 SA gw1-gw2 tx_packets" "$(dp_sa gw1 gw1-gw2 tx_packets)" $((count + 5))
assert_eq "gw2 SA gw1-gw2 rx_packets (outer XDP)" "$(dp_sa gw2 gw1-gw2 rx_packets)" $((count + 5))
assert_eq "gw2 SA gw1-gw2 decrypted ok" "$(dp_sa gw2 gw1-gw2 rx_inner_packets)" $count
assert_eq "gw2 SA gw1-gw2 selector drops" "$(dp_sa gw2 gw1-gw2 drop_selector)" 5
assert_eq "gw2 drop counter inner_selector" "$(dp_status gw2 '.drops.inner_selector')" 5
assert_eq "gw2 bucket gw2-gw1 packets" "$(dp_bucket gw2 gw2-gw1 packets)" $count
assert_eq "kernel SA 0x1001 packets at gw1" "$(xfrm_state_packets gw1 0x1001)" $((count + 5))

# loading the same file again leaves the states alone (their counters keep running)
dpx gw1 load "$TEST_TMP/gw1.conf" || fail "reload gw1"
assert_eq "kernel SA 0x1001 packets at gw1 after reload" "$(xfrm_state_packets gw1 0x1001)" $((count + 5))
# a new key for the outbound SA: the state is replaced (counters start again), traffic flows
sed -i 's/aead aes-gcm 0x0102/aead aes-gcm 0x0f02/' "$TEST_TMP/gw1.conf" "$TEST_TMP/gw2.conf"
dpx gw1 load "$TEST_TMP/gw1.conf" || fail "load gw1 with a new key"
dpx gw2 load "$TEST_TMP/gw2.conf" || fail "load gw2 with a new key"
assert_eq "kernel SA 0x1001 packets at gw1 after rekey" "$(xfrm_state_packets gw1 0x1001)" 0
in_ns h1 ping -n -q -c 3 -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "ping after the new key"

# the kernel refuses an SA half way (its cipher module is blocked): the load is
# rolled back, the replaced state comes back with its previous key
if [ ! -d /sys/module/chacha20poly1305 ]; then
	echo "install chacha20poly1305 /bin/false" >/etc/modprobe.d/xipsec-test-nochacha.conf
	on_exit "rm -f /etc/modprobe.d/xipsec-test-nochacha.conf"
	sed 's/aead aes-gcm 0x0f02/aead aes-gcm 0x0e02/' "$TEST_TMP/gw1.conf" >"$TEST_TMP/bad.conf"
	echo "sa c out spi 0x3003 src 192.0.2.1 dst 192.0.2.2 aead chacha20-poly1305 $KEY_GW1_GW2" \
		>>"$TEST_TMP/bad.conf"
	chmod 600 "$TEST_TMP/bad.conf"
	dpx gw1 load "$TEST_TMP/bad.conf" 2>"$TEST_TMP/err" && fail "load with a refused SA succeeded"
	grep -q "bad.conf:[0-9]*: SA 'c'" "$TEST_TMP/err" || fail "no file:line error: $(cat "$TEST_TMP/err")"
	assert_eq "state 0x3003 after rollback" "$(ip -n gw1 xfrm state list spi 0x3003 | grep -c '^src')" 0
	assert_eq "gw1 states after rollback" "$(ip -n gw1 xfrm state | grep -c '^src')" 2
	assert_eq "restored key of SA 0x1001" \
		"$(ip -n gw1 xfrm state list spi 0x1001 | grep -c 'aead rfc4106(gcm(aes)) 0x0f02')" 1
	in_ns h1 ping -n -q -c 3 -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "ping after the rollback"
else
	log "chacha20poly1305 already loaded: rollback check skipped"
fi

# unload removes exactly what load installed
ip -n gw1 xfrm policy add src 10.7.0.0/24 dst 10.8.0.0/24 dir out priority 5 action block
dpx gw1 unload || fail "unload gw1"
assert_eq "gw1 states after unload" "$(ip -n gw1 xfrm state | grep -c '^src')" 0
assert_eq "gw1 policies after unload (only the foreign one)" \
	"$(ip -n gw1 xfrm policy | grep -c '^src')" 1
assert_eq "gw1 rules after unload" "$(dpx gw1 spd list --json | jq length)" 0
log "PROTECT, BYPASS, DISCARD and the inbound selector check behave as configured"
