#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xiked fills the xipsec dataplane maps for the child SAs it negotiates.
#
#   h1 --- gw1 ====== wire ====== gw2 --- h2   (topology in lib.sh)
#          xipsec attached (in0 inner, out0 outer) on both gateways
#          xiked (XIKED_PIN_DIR = gw1's pins)    charon "gw2" (unknown SPIs
#                                                passed: its SAs are not in
#                                                gw2's maps)
#
#   1. xiked initiates: its child gets a PROTECT bucket "xiked:<SPI out>" in
#      gw1's rule set and SA records (ids from 4096); `xipsec sa list --json`
#      shows the IKE-made SAs with dataplane counters equal to the pings.
#   2. With unknown SPIs dropped at gw1, a burst of ESP with random SPIs is
#      dropped at XDP and counted while the IKE tunnel carries pings.
#   3. Deleting the child removes its bucket and records (the SPI index is
#      empty again); a new child gets new ones, and SIGTERM removes those.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_swan.sh"
. "$(dirname "$0")/../lib_xiked.sh"
. "$(dirname "$0")/../dp_lib.sh"
require ip ping jq bpftool swanctl perl "$SWAN_CHARON" "$XIKED"

count=5
PINS=/run/gw1-bpf/xipsec

s2s_setup
dp_gateways_attach
# charon's SAs on gw2 are not in gw2's maps: let their ESP through there
dpx gw2 set unknown-spi pass || fail "gw2: set unknown-spi pass"
export XIKED_PIN_DIR=$PINS
xiked_start
grep -q "xipsec dataplane maps in $PINS" "$XLOG" || { xiked_tail; fail "xiked did not find gw1's maps"; }

# ike_sa SPI FIELD: a field of the `sa list --json` entry of SPI
ike_sa() {
	dpx gw1 sa list --json | jq -r ".[] | select(.spi == \"0x$1\") | .xipsec.$2"
}

ike_buckets() {	# ike_buckets: xiked's bucket names in gw1's rule set
	dpx gw1 spd list --json | jq -r '[.[] | select(.bucket_name | startswith("xiked:")) | .bucket_name] | unique | .[]'
}

spi_index() {	# spi_index: entries of gw1's inbound SPI index
	bpftool -j map dump pinned "$PINS/xipsec_spi" | jq length
}

no_ike_buckets() {
	[ -z "$(ike_buckets)" ] && [ "$(spi_index)" = 0 ]
}

# diag: what the dataplane and the kernel saw, on stderr (before a fail)
diag() {
	local gw
	for gw in gw1 gw2; do
		echo "--- $gw:" >&2
		dpx "$gw" status >&2
		dpx "$gw" spd list >&2
		dpx "$gw" sa list >&2
		ip -n "$gw" -s xfrm state >&2
		ip -n "$gw" xfrm policy >&2
		in_ns "$gw" cat /proc/net/xfrm_stat | grep -v ' 0$' >&2
	done
	xiked_tail
}

# pings FROM-NS TO: $count pings must all be answered
pings() {
	in_ns "$1" ping -n -q -c $count -i 0.1 -W 5 "$2" >/dev/null || { diag; fail "ping $1 -> $2 through the tunnel"; }
}

up() {
	xike_ok up s2s/net
	poll 30 xiked_established || { xiked_tail; _swan_tail gw2; fail "xiked -> charon: no child SA"; }
	read -r spi_in spi_out <<<"$(xiked_child_spis)"
}

# 1. The child's dataplane entries and their counters.
step "setup done"
up
assert_eq "xiked's bucket in gw1's rule set" "$(ike_buckets)" "xiked:$spi_out"
assert_eq "gw1's SPI index (the child's inbound SA)" "$(spi_index)" 1
pings h1 10.2.0.2
assert_eq "0x$spi_out in sa list: owner" "$(ike_sa "$spi_out" name)" xiked
assert_eq "0x$spi_out in sa list: direction" "$(ike_sa "$spi_out" dir)" out
id_out=$(ike_sa "$spi_out" id)
id_in=$(ike_sa "$spi_in" id)
assert_ge "0x$spi_out record id" "$id_out" 4096
assert_ge "0x$spi_in record id" "$id_in" 4096
assert_eq "0x$spi_out tx_packets (steered by the PROTECT bucket)" "$(ike_sa "$spi_out" tx_packets)" $count
assert_eq "0x$spi_in rx_packets (outer XDP)" "$(ike_sa "$spi_in" rx_packets)" $count
assert_eq "0x$spi_in rx_inner_packets (inner selectors checked)" "$(ike_sa "$spi_in" rx_inner_packets)" $count
assert_eq "0x$spi_out kernel packets" "$(xfrm_state_packets gw1 "0x$spi_out")" $count
bucket=xiked:$spi_out
assert_eq "bucket $bucket packets" "$(dp_bucket gw1 "$bucket" packets)" $count

# 2. Unknown SPIs are dropped at gw1's XDP (attach's default) while the
#    IKE tunnel works.
dpx gw1 set unknown-spi drop || fail "set unknown-spi drop"
cat >"$TEST_TMP/flood.py" <<'EOF'
import os, random, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
rnd = random.Random(7)
for i in range(int(sys.argv[1])):
    spi = rnd.randrange(0x10000, 0xffffffff)
    s.sendto(struct.pack("!II", spi, 1) + os.urandom(48), ("192.0.2.1", 0))
EOF
flood=100
in_ns gw2 $PY "$TEST_TMP/flood.py" $flood || fail "flood sender"
pings h1 10.2.0.2
assert_eq "gw1 esp_unknown_spi drops" "$(dp_status gw1 .drops.esp_unknown_spi)" $flood
assert_eq "0x$spi_in rx_packets after the flood" "$(ike_sa "$spi_in" rx_packets)" $((2 * count))
assert_eq "0x$spi_out tx_packets after the flood" "$(ike_sa "$spi_out" tx_packets)" $((2 * count))

# 3. Child delete, a new child, shutdown.
xike_ok down s2s/net
poll 15 no_ike_buckets || fail "child deleted, but gw1 keeps: buckets '$(ike_buckets)', SPI index $(spi_index)"
log "ok: child delete removed its bucket and records"
xike_ok up s2s/net
poll 30 xiked_established || { xiked_tail; fail "no second child"; }
read -r spi_in spi_out <<<"$(xiked_child_spis)"
assert_eq "the new child's bucket" "$(ike_buckets)" "xiked:$spi_out"
pings h1 10.2.0.2
assert_eq "0x$spi_out tx_packets" "$(ike_sa "$spi_out" tx_packets)" $count
xiked_stop
no_ike_buckets || fail "xiked stopped, but gw1 keeps: buckets '$(ike_buckets)', SPI index $(spi_index)"
[ -e "/run/xiked/$(tr / _ <<<"$SOCK").state" ] && fail "state file left behind"
foreign_check
log "ok: xiked's child SAs in the dataplane maps, counted, removed with the child and at exit"
