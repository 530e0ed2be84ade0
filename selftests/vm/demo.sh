#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: two gateways running on xipsec alone with static keys, in the VM.
#
#   h1 (10.1.0.2) --- gw1 ====== wire ====== gw2 --- h2 (10.2.0.2)
#                     in0: xipsec inner      in0: xipsec inner
#                     out0: xipsec outer     out0: xipsec outer
#
# gw1's SPD: ICMP and everything else from 10.1.0.0/24 to 10.2.0.0/24 is PROTECTed
# by an AES-GCM SA (ESP SPI 0x1001), UDP port 7000 BYPASSes the tunnel, UDP port
# 7001 is DISCARDed. h1 sends some of each; the demo shows what crossed the wire,
# xipsec's view (status, SPD buckets, SAs with their counters) and a pinned map as
# bpftool prints it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dp_lib.sh"

banner() {
	printf '\n===== %s\n' "$*"
}

banner "topology: h1 - gw1 - wire - gw2 - h2; xipsec attached on both gateways"
topo_gateways
dp_gateways_attach
dp_conf gw1 "rule from 10.1.0.0/24 to 10.2.0.0/24 proto udp dport 7000 bypass
rule from 10.1.0.0/24 to 10.2.0.0/24 proto udp dport 7001 discard
rule from 10.1.0.0/24 to 10.2.0.0/24 protect gw1-gw2"
dp_conf gw2 "rule from 10.2.0.0/24 to 10.1.0.0/24 protect gw2-gw1"
banner "gw1's static configuration (keys elided)"
sed -E 's/0x[0-9a-f]{40,}/<key>/' "$TEST_TMP/gw1.conf"
dpx gw1 load "$TEST_TMP/gw1.conf" || fail "load gw1"
dpx gw2 load "$TEST_TMP/gw2.conf" || fail "load gw2"

capture_start wire br0 "$TEST_TMP/wire.pcap"
banner "h1 -> h2: 20 pings (PROTECT), 5 UDP to port 7000 (BYPASS), 5 to port 7001 (DISCARD)"
in_ns h1 ping -n -c 20 -i 0.05 10.2.0.2 | tail -2 || fail "no traffic through the tunnel"
for i in 1 2 3 4 5; do
	in_ns h1 bash -c 'echo bypass >/dev/udp/10.2.0.2/7000; echo discard >/dev/udp/10.2.0.2/7001'
done
capture_stop

banner "what crossed the wire"
tcpdump -n -q -r "$TEST_TMP/wire.pcap" 2>/dev/null | grep -v ARP | sed -n '1,4p;$p'
printf '%-26s %s\n' "ESP packets:" "$(pcap_count "$TEST_TMP/wire.pcap" esp)" \
	"ICMP in clear:" "$(pcap_count "$TEST_TMP/wire.pcap" icmp)" \
	"UDP 7000 in clear:" "$(pcap_count "$TEST_TMP/wire.pcap" 'udp port 7000')" \
	"UDP 7001 in clear:" "$(pcap_count "$TEST_TMP/wire.pcap" 'udp port 7001')"

banner "gw1: xipsec status"
dpx gw1 status
banner "gw1: xipsec spd list"
dpx gw1 spd list
banner "gw1: xipsec sa list"
dpx gw1 sa list
banner "gw2: xipsec sa list"
dpx gw2 sa list
banner "gw1: bpftool map dump pinned .../xipsec_bkt_stat (per-CPU, named fields; first entry)"
in_ns gw1 bpftool map dump pinned /run/gw1-bpf/xipsec/xipsec_bkt_stat | awk 'NR <= 24'
