# SPDX-License-Identifier: GPL-2.0-only
#
# xiked in VM tests, sourced after lib.sh and lib_swan.sh:
#	. "$(dirname "$0")/../lib.sh"
#	. "$(dirname "$0")/../lib_swan.sh"
#	. "$(dirname "$0")/../lib_xiked.sh"
#
# One xiked per test, in netns gw1, with everything under $TEST_TMP/xiked/:
# swanctl.conf (XCONF), the control socket (SOCK), its log (XLOG).

XDIR=$TEST_TMP/xiked
XCONF=$XDIR/swanctl.conf
SOCK=$XDIR/ctl.sock
XLOG=$XDIR/xiked.log
mkdir -p "$XDIR"

# render_s2s GW FILE [VAR=VALUE...]: selftests/vm/swan/s2s-psk.conf for gw1 or
# gw2 of topo_gateways (10.1.0.0/24 <-> 10.2.0.0/24, AES-GCM, x25519).
render_s2s() {
	local gw=$1 file=$2 side
	shift 2
	if [ "$gw" = gw1 ]; then
		side=(LOCAL_ADDR=192.0.2.1 REMOTE_ADDR=192.0.2.2 LOCAL_TS=10.1.0.0/24 REMOTE_TS=10.2.0.0/24
			LOCAL_ID=gw1.xipsec.test REMOTE_ID=gw2.xipsec.test)
	else
		side=(LOCAL_ADDR=192.0.2.2 REMOTE_ADDR=192.0.2.1 LOCAL_TS=10.2.0.0/24 REMOTE_TS=10.1.0.0/24
			LOCAL_ID=gw2.xipsec.test REMOTE_ID=gw1.xipsec.test)
	fi
	swan_render s2s-psk.conf "$file" CONN=s2s CHILD=net "${side[@]}" \
		IKE_PROPOSALS=aes256gcm16-prfsha256-x25519 ESP_PROPOSALS=aes128gcm16 \
		PSK="xipsec test key, not secret" "$@"
}

# xike CMD...: one request on xiked's control socket (protocol in iked/ctl.h),
# the JSON reply on stdout. (`xipsec ike` speaks the same protocol.)
xike() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => shift @ARGV) or die "connect: $!\n";
		print $s "@ARGV\n";
		print while <$s>;' "$SOCK" "$@"
}

# xike_ok CMD...: the request must succeed.
xike_ok() {
	local out
	out=$(xike "$@")
	[ "$(jq -r .ok <<<"$out" 2>/dev/null)" = true ] || { xiked_tail; fail "xike $*: $out"; }
}

# xiked_start [ARG...]: start xiked in gw1 (foreground, debug log) and wait
# for its control socket; sets xpid.
xiked_start() {
	ip netns exec gw1 "$XIKED" -F -v -v -c "$XCONF" -s "$SOCK" "$@" >>"$XLOG" 2>&1 &
	xpid=$!
	on_exit "kill -9 $xpid"
	wait_until 10 test -S "$SOCK"
}

# xiked_stop: SIGTERM, wait for the exit; fails unless it exits 0.
xiked_stop() {
	local rc
	kill -TERM "$xpid"
	wait "$xpid"
	rc=$?
	[ $rc = 0 ] || { xiked_tail; fail "xiked exited with $rc"; }
}

xiked_tail() {
	echo "--- xiked log:" >&2
	tail -n 40 "$XLOG" >&2
}

# xiked_child_spis: "SPI_IN SPI_OUT" of xiked's first installed child "net"
# of an established IKE SA.
xiked_child_spis() {
	xike list | jq -r '[.ike_sas[] | select(.state == "ESTABLISHED") | .children[] |
		select(.name == "net" and .state == "INSTALLED")][0] | "\(.spi_in) \(.spi_out)"' 2>/dev/null |
		grep -v null
}

xiked_established() {
	[ -n "$(xiked_child_spis)" ]
}

# poll SECONDS CMD...: as wait_until_quiet, at a pace that leaves the emulated
# CPUs to charon and xiked.
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.4
	done
}

xfrm_states() {	# xfrm_states NS: number of states
	ip -n "$1" xfrm state | grep -c '^src'
}

xfrm_policies() {	# xfrm_policies NS: number of policies (per-socket bypasses excluded)
	ip -n "$1" xfrm policy | awk '/^src/ {n++} /^[ \t]+socket/ {n--} END {print n + 0}'
}

no_states() {
	[ "$(xfrm_states "$1")" = 0 ]
}

# foreign_add: a state and a policy on gw1 that xiked did not install (reqid
# 999); foreign_check fails unless both are still there, unchanged.
foreign_add() {
	ip -n gw1 xfrm state add src 192.0.2.1 dst 192.0.2.9 proto esp spi 0x999 reqid 999 mode tunnel \
		aead 'rfc4106(gcm(aes))' 0x$(printf '%040d' 9) 128 || fail "foreign state"
	ip -n gw1 xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out priority 5000 \
		tmpl src 192.0.2.1 dst 192.0.2.9 proto esp reqid 999 mode tunnel || fail "foreign policy"
	foreign_state=$(ip -n gw1 xfrm state list spi 0x999)
	foreign_policy=$(ip -n gw1 xfrm policy list dir out src 10.9.0.0/24)
}

foreign_check() {
	[ "$(ip -n gw1 xfrm state list spi 0x999)" = "$foreign_state" ] ||
		fail "foreign state changed: $(ip -n gw1 xfrm state list spi 0x999)"
	[ "$(ip -n gw1 xfrm policy list dir out src 10.9.0.0/24)" = "$foreign_policy" ] ||
		fail "foreign policy changed: $(ip -n gw1 xfrm policy list dir out src 10.9.0.0/24)"
	log "ok: foreign state and policy unchanged"
}

# step TEXT: a log line with the seconds since the test script started.
step() {
	log "[${SECONDS}s] $*"
}

only_foreign_left() {
	[ "$(xfrm_states gw1)" = 1 ] && [ "$(xfrm_policies gw1)" = 1 ]
}

# s2s_setup: the start shared by the xiked/charon tests. The standard topology,
# charon on gw2 (started while the kernel's ESP crypto loads) with the
# site-to-site configuration loaded, the foreign state and policy on gw1, and
# gw1's xiked configuration rendered into $XCONF (xiked not started).
s2s_setup() {
	local t0=$SECONDS warm dir2

	topo_gateways
	swan_kernel_warmup &
	warm=$!
	swan_spawn gw2 gw2
	swan_ready gw2
	wait $warm || fail "kernel has no rfc4106(gcm(aes)) for ESP"
	log "charon up in $((SECONDS - t0))s"

	foreign_add
	dir2=$(swan_conf_dir gw2)
	render_s2s gw2 "$dir2/swanctl.conf"
	swan_load gw2 "$dir2/swanctl.conf"
	render_s2s gw1 "$XCONF"
}
