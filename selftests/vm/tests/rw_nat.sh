#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vm-timeout: 600
#
# Tunnel Reform: road warriors behind one NAT, each with its own SAs and
# virtual IP, on a gateway running xipsec + xiked.
#
#   rw1 (charon) 172.16.0.11 --+
#   rw2 (xiked)  172.16.0.12 --+-- lan (br0) -- nat ====== wire (br0, capture) ====== gw2 --- h2
#   rw3 (xiked)  172.16.0.13 --+     lan0 172.16.0.1       192.0.2.2 (out0)   10.2.0.1 (in0)  10.2.0.2
#                                    out0 192.0.2.1 (nft masquerade, UDP to ports 30000-39999)
#
#   gw2: xipsec attached (in0 inner, out0 outer, unknown SPIs dropped),
#        xiked with pool 10.3.0.0/24, local_ts 10.2.0.0/24, one PSK identity
#        "rw.xipsec.test" shared by all three clients.
#
#   1. All three connect at once: each gets a distinct virtual IP, IKE and ESP
#      go through the NAT on UDP 4500 from the NAT's address with a port of
#      their own, gw2 holds one IKE SA, one child and one reqid per client.
#   2. Each client pings h2 from its virtual IP: gw2's dataplane counters for
#      each client's SAs equal the pings, the wire carries ESP-in-UDP only.
#   3. rw2 sends with rw3's virtual IP through its own tunnel: gw2 drops the
#      packets after decryption and counts them on rw2's SA; h2 gets none.
#   4. rw1 goes away: its SAs, policies and map entries go, the others' pings
#      still flow; rw1 reconnecting from the same NAT mapping gets its address back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
. "$(dirname "$0")/../dp_lib.sh"
require ip nft tcpdump ping swanctl tshark jq perl bpftool "$SWAN_CHARON" "$XIKED" "$XIPSEC"

count=5
PCAP=$TEST_TMP/outer.pcap
PSK="xipsec road warrior key, not secret"
PINS=/run/gw2-bpf/xipsec

topo_rw() {
	local i
	netns_add lan nat wire gw2 h2 rw1 rw2 rw3
	ip -n lan link add br0 type bridge
	ip -n lan link set br0 up
	veth_link nat lan0 172.16.0.1/24 lan pn -
	ip -n lan link set pn master br0
	for i in 1 2 3; do
		veth_link rw$i eth0 172.16.0.1$i/24 lan p$i -
		ip -n lan link set p$i master br0
		ip -n rw$i route add default via 172.16.0.1
	done
	veth_link nat out0 192.0.2.1/24 wire p1 -
	veth_link wire p2 - gw2 out0 192.0.2.2/24
	ip -n wire link add br0 type bridge
	ip -n wire link set p1 master br0
	ip -n wire link set p2 master br0
	ip -n wire link set br0 up
	veth_link gw2 in0 10.2.0.1/24 h2 eth0 10.2.0.2/24
	ip -n h2 route add default via 10.2.0.1
	in_ns nat sysctl -qw net.ipv4.ip_forward=1
	in_ns gw2 sysctl -qw net.ipv4.ip_forward=1
	# the pool is reached through the tunnels, via the NAT's public address
	ip -n gw2 route add 10.3.0.0/24 via 192.0.2.1
	in_ns nat nft -f - <<-'NFT' || fail "nft masquerade"
		table ip rw {
			chain post {
				type nat hook postrouting priority srcnat;
				oifname "out0" meta l4proto udp masquerade to :30000-39999
				oifname "out0" masquerade
			}
		}
	NFT
}

# The configurations of docs/remote-access.md (selftests/vm/swan/rw-*.conf).
conf_gateway() {	# conf_gateway FILE
	swan_render rw-gateway.conf "$1" GW_ADDR=192.0.2.2 LAN=10.2.0.0/24 POOL=10.3.0.0/24 PSK="$PSK"
}
conf_client() {	# conf_client FILE LOCAL_ADDR
	swan_render rw-client.conf "$1" LOCAL_ADDR="$2" GW_ADDR=192.0.2.2 LAN=10.2.0.0/24 PSK="$PSK"
}

# xiked_ns NS: start an xiked in NS with its files under $XDIR/NS; the
# control socket path is printed by xsock NS.
xsock() { echo "$XDIR/$1/ctl.sock"; }
xiked_ns() {
	local ns=$1 d=$XDIR/$1 pid
	mkdir -p "$d"
	ip netns exec "$ns" env ${2:+XIKED_PIN_DIR=$2} "$XIKED" -F -v -v -c "$d/swanctl.conf" \
		-s "$d/ctl.sock" >>"$d/xiked.log" 2>&1 &
	pid=$!
	on_exit "kill -9 $pid"
	eval "pid_$ns=$pid"
	wait_until 10 test -S "$d/ctl.sock"
}
xns() {	# xns NS CMD...: xike on NS's instance
	local ns=$1
	shift
	SOCK=$(xsock "$ns") xike "$@"
}
xns_tail() {
	echo "--- xiked log ($1):" >&2
	tail -n 30 "$XDIR/$1/xiked.log" >&2
}
# rw_child NS: "SPI_IN SPI_OUT" of the client's installed child
rw_child() {
	xns "$1" list | jq -r '[.ike_sas[] | select(.state == "ESTABLISHED") | .children[] |
		select(.state == "INSTALLED")][0] | "\(.spi_in) \(.spi_out)"' 2>/dev/null | grep -v null
}
vip_of() {	# vip_of NS: the 10.3.0.x address on eth0
	ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | grep '^10\.3\.0\.' | cut -d/ -f1
}
gw_sa() {	# gw_sa SPI FIELD: a dataplane field of gw2's `sa list --json` entry
	dpx gw2 sa list --json | jq -r ".[] | select(.spi == \"0x$1\") | .xipsec.$2"
}
gw_ike_sas() {
	xns gw2 list | jq '[.ike_sas[] | select(.state == "ESTABLISHED")] | length'
}
gw_buckets() {	# gw_buckets: xiked's SPD buckets at gw2
	dpx gw2 spd list --json |
		jq '[.[] | select(.bucket_name | startswith("xiked:")) | .bucket_name] | unique | length'
}
gw_three() {
	[ "$(gw_ike_sas)" = 3 ]
}
h2_from() {	# h2_from ADDR: packets h2 received from ADDR (nft counter)
	in_ns h2 nft -j list counter ip h2 "from_$(tr . _ <<<"$1")" |
		jq '.nftables[] | select(.counter) | .counter.packets'
}

topo_rw
swan_kernel_warmup &
warm=$!
swan_spawn rw1 rw1
swan_ready rw1
wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
mkdir -p /run/gw2-bpf
mount -t bpf bpf /run/gw2-bpf || fail "mount bpffs for gw2"
on_exit "umount /run/gw2-bpf"
dpx gw2 attach in0 --inner || fail "gw2: attach in0"
dpx gw2 attach out0 --outer || fail "gw2: attach out0"
dpx gw2 set unknown-spi drop || fail "set unknown-spi drop"

mkdir -p "$XDIR/gw2" "$XDIR/rw2" "$XDIR/rw3"
conf_gateway "$XDIR/gw2/swanctl.conf"
xiked_ns gw2 "$PINS"
conf_client "$XDIR/rw2/swanctl.conf" 172.16.0.12
conf_client "$XDIR/rw3/swanctl.conf" 172.16.0.13
xiked_ns rw2
xiked_ns rw3
dir1=$(swan_conf_dir rw1)
conf_client "$dir1/swanctl.conf" 172.16.0.11
swan_load rw1 "$dir1/swanctl.conf"
capture_start wire br0 "$PCAP" 'udp port 500 or udp port 4500 or esp or icmp'
ike_dissector_start	# tshark starts up while the test runs
step "setup done"

# 1. All three at once.
SOCK=$(xsock rw2) xike_ok up gw/net
SOCK=$(xsock rw3) xike_ok up gw/net
swan_initiate rw1 net gw
poll 30 rw_child rw2 || { xns_tail rw2; xns_tail gw2; fail "rw2: no child SA"; }
poll 30 rw_child rw3 || { xns_tail rw3; xns_tail gw2; fail "rw3: no child SA"; }
poll 15 gw_three || { xns_tail gw2; fail "gw2 does not hold three IKE SAs: $(gw_ike_sas)"; }
v1=$(vip_of rw1)
v2=$(vip_of rw2)
v3=$(vip_of rw3)
log "virtual IPs: rw1 $v1, rw2 $v2, rw3 $v3"
[ -n "$v1" ] && [ -n "$v2" ] && [ -n "$v3" ] || fail "a client has no virtual IP"
[ "$(printf '%s\n' "$v1" "$v2" "$v3" | sort -u | wc -l)" = 3 ] ||
	fail "clients sharing one identity got the same address: $v1 $v2 $v3"
list=$(xns gw2 list)
remotes=$(jq -r '.ike_sas[].remote' <<<"$list" | sort -u)
assert_eq "gw2's peers: one NAT address, three ports" "$(wc -l <<<"$remotes")" 3
grep -vq '^192\.0\.2\.1\[3[0-9]\{4\}\]$' <<<"$remotes" &&
	fail "a peer is not the NAT's address and a port it chose: $remotes"
reqids=$(ip -n gw2 xfrm state | awk '/reqid/ {for (i = 1; i <= NF; i++) if ($i == "reqid") print $(i + 1)}' | sort -u)
assert_eq "gw2: one reqid per client" "$(wc -l <<<"$reqids")" 3
assert_eq "gw2: one SPD bucket per client" "$(gw_buckets)" 3
for n in rw2 rw3; do
	ip -n $n route show table 220 | grep -q "10.2.0.0/24 .*src $(vip_of $n)" ||
		fail "$n: no route from its virtual IP"
done
step "three clients up"

# 2. Traffic from each virtual IP, counted per client at gw2.
read -r in2 out2 <<<"$(rw_child rw2)"
read -r in3 out3 <<<"$(rw_child rw3)"
read -r in1 out1 <<<"$(swan_child_spis rw1 net)"
for c in "rw1 $out1 $in1" "rw2 $out2 $in2" "rw3 $out3 $in3"; do
	read -r n o i <<<"$c"
	in_ns $n ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "$n: ping h2"
	assert_eq "gw2: $n's inbound SA 0x$o rx_packets (outer XDP)" "$(gw_sa "$o" rx_packets)" $count
	assert_eq "gw2: $n's inbound SA 0x$o decrypted inner packets" \
		"$(gw_sa "$o" rx_inner_packets)" $count
	assert_eq "gw2: $n's outbound SA 0x$i tx_packets" "$(gw_sa "$i" tx_packets)" $count
	ip -n gw2 xfrm state list spi "0x$o" | grep -q 'encap type espinudp sport 3[0-9]\{4\} dport 4500' ||
		fail "gw2: $n's SA 0x$o is not ESP-in-UDP from the NAT"
done
step "traffic counted per client"

# 3. rw2 speaks for rw3 through its own tunnel.
reqid2=$(ip -n rw2 xfrm state list spi "0x$out2" | awk '/reqid/ {for (i = 1; i <= NF; i++) if ($i == "reqid") print $(i + 1)}')
ip -n rw2 addr add "$v3/32" dev lo
ip -n rw2 xfrm policy add src "$v3/32" dst 10.2.0.0/24 dir out priority 100 \
	tmpl src 172.16.0.12 dst 192.0.2.2 proto esp reqid "$reqid2" mode tunnel ||
	fail "rw2: spoofing policy"
c3="from_$(tr . _ <<<"$v3")"
in_ns h2 nft -f - <<-NFT || fail "nft counter on h2"
	table ip h2 {
		counter $c3 { }
		chain in {
			type filter hook input priority 0;
			ip saddr $v3 counter name $c3
		}
	}
NFT
in_ns rw2 ping -n -q -c $count -i 0.05 -W 1 -I "$v3" 10.2.0.2 >/dev/null &&
	fail "a ping with rw3's address through rw2's tunnel got an answer"
assert_eq "gw2: rw2's SA 0x$out2 selector drops" "$(gw_sa "$out2" drop_selector)" $count
assert_eq "gw2: rw2's SA 0x$out2 rx_packets (the spoofed ones too)" "$(gw_sa "$out2" rx_packets)" \
	$((2 * count))
assert_eq "h2: packets from rw3's address" "$(h2_from "$v3")" 0
assert_eq "gw2: rw3's SA 0x$out3 untouched" "$(gw_sa "$out3" rx_packets)" $count
ip -n rw2 xfrm policy delete src "$v3/32" dst 10.2.0.0/24 dir out
ip -n rw2 addr del "$v3/32" dev lo
step "spoofing dropped and counted"

# 4. rw1 leaves; the others keep going; rw1 comes back to its address.
# What an operator sees: per-client SAs with kernel and dataplane counters,
# and the per-CPU counters of one client's inbound SA as bpftool prints them.
echo "--- gw2: xipsec sa list (before rw1 leaves)"
dpx gw2 sa list
id2=$(gw_sa "$out2" id)
echo "--- gw2: bpftool map lookup pinned $PINS/xipsec_sa_stat (rw2's inbound SA, id $id2)"
bpftool map lookup pinned "$PINS/xipsec_sa_stat" key $(printf '%d %d %d %d' \
	$((id2 & 255)) $((id2 >> 8 & 255)) $((id2 >> 16 & 255)) $((id2 >> 24)))
swan_terminate rw1 gw
poll 15 sh -c "! ip -n gw2 xfrm state list spi 0x$out1 | grep -q ." || fail "gw2 kept rw1's SA"
[ -z "$(gw_sa "$out1" id)" ] || fail "gw2's maps keep rw1's SA record"
ip -n gw2 xfrm policy | grep -q "$v1" && fail "gw2 kept a policy for rw1's address"
assert_eq "gw2: SPD buckets after rw1 left" "$(gw_buckets)" 2
for c in "rw2 $out2" "rw3 $out3"; do
	read -r n o <<<"$c"
	in_ns $n ping -n -q -c $count -i 0.05 -W 2 10.2.0.2 >/dev/null || fail "$n: ping after rw1 left"
	want=$((2 * count))
	[ $n = rw2 ] && want=$((3 * count)) # the spoofed ones too
	assert_eq "gw2: $n's SA 0x$o rx_packets after rw1 left" "$(gw_sa "$o" rx_packets)" $want
done
swan_initiate rw1 net gw
assert_eq "rw1's address after reconnecting" "$(vip_of rw1)" "$v1"
step "one client gone, the others unaffected"

capture_stop
assert_eq "plain ESP on the wire" "$(pcap_count "$PCAP" esp)" 0
assert_eq "ICMP on the wire" "$(pcap_count "$PCAP" icmp)" 0
assert_ge "ESP-in-UDP on the wire" "$(pcap_count "$PCAP" 'udp port 4500 and udp[8:4] != 0')" \
	$((2 * 3 * count))
ike_capture_check "$PCAP"
echo "--- gw2 at the end:"
dpx gw2 sa list
log "ok: three road warriors behind one NAT, separated per client"
