#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# IKE SA setup rate and memory per SA, xiked against charon, in one VM run
# (not part of make test):
#
#   selftests/vm/vm-run --timeout 1800 --mem 1024 -- bench/ike_bench.sh [N] [ROUNDS]
#
#   h1 --- gw1 ====== wire ====== gw2 --- h2      (selftests/vm/lib.sh)
#          charon "init"           responder: xiked, or charon "resp"
#          N connections, all      one connection for any child inside
#          started at load         10.2.0.0/16 <-> 10.1.0.0/16
#
# The load generator is one charon on gw1 with N connections c1..cN (identity
# cI.xipsec.test, one PSK, one child each with its own /32 selectors, IKE
# aes256gcm16-prfsha256-x25519, ESP aes256gcm16), all with start_action =
# start, so `swanctl --load-all` initiates N IKE SAs with their first child at
# once (reuse_ikesa = no, so each is a new IKE SA, not a CREATE_CHILD_SA).
# Debian's strongSwan has no load-tester plugin. Distinct identities matter:
# IKE SAs started together all carry INITIAL_CONTACT, and charon as the
# responder deletes the other IKE SAs of an identity on it (xiked ignores
# the notify).
#
# The responder on gw2 is xiked or charon, both loading the same swanctl.conf;
# rounds alternate between them, each with fresh daemons and empty xfrm
# tables. Per round: seconds from the load until gw2 holds 2N AEAD states
# (every child installed; larval ALLOCSPI states have no algorithm), the
# setups per second this gives, and the responder's resident memory
# (VmRSS) after minus before, divided by N, and its CPU time (utime+stime)
# per setup. charon's responder limits are raised so that neither daemon
# refuses the burst: block_threshold (half-open SAs per peer address, 5 by
# default) to N, cookie_threshold to 64 as in xiked (ENGINE_COOKIE_THRESHOLD).
# The rate is that of the pair: both rounds share the initiator, and the
# CPU per setup is the responder's own.
#
# Environment (vm-run passes only a few variables into the VM: give these
# with `-- env VAR=VALUE bench/ike_bench.sh`):
#   IKE_BENCH_RESPONDERS  responders per round, in order ("xiked charon")
#   IKE_BENCH_WAIT        seconds a round may take (900)
#   IKE_BENCH_LOGDIR      copy each round's responder and initiator logs
#                         there (a VM_SHARE directory to keep them)
. "$(dirname "$0")/../selftests/vm/lib.sh"
. "$(dirname "$0")/../selftests/vm/lib_swan.sh"
require swanctl jq "$SWAN_CHARON" "$XIKED"

n=${1:-200}
rounds=${2:-2}
[ "$n" -ge 1 ] && [ "$n" -le 60000 ] || fail "N out of range: $n"
psk="xipsec ike benchmark key"
ike=aes256gcm16-prfsha256-x25519
esp=aes256gcm16

topo_gateways
swan_kernel_warmup 'rfc4106(gcm(aes))' || fail "kernel AEAD warm-up"
# Many states: the larval (ALLOCSPI) states must outlive a slow TCG round.
for ns in gw1 gw2; do
	in_ns "$ns" sysctl -qw net.core.xfrm_acq_expires=600
done

# The initiator's N connections (child i: 10.1.x.y/32 <-> 10.2.x.y/32).
init_conf() {
	local i
	echo "connections {"
	for ((i = 1; i <= n; i++)); do
		local sel="$((i / 250)).$((i % 250 + 1))"
		cat <<-EOF
		c$i {
			local_addrs = 192.0.2.1
			remote_addrs = 192.0.2.2
			proposals = $ike
			local { auth = psk
				id = c$i.xipsec.test }
			remote { auth = psk
				id = gw2.xipsec.test }
			children { net$i {
				local_ts = 10.1.$sel/32
				remote_ts = 10.2.$sel/32
				esp_proposals = $esp
				start_action = start } }
		}
		EOF
	done
	echo "}"
	echo "secrets { ike-1 { id-1 = gw2.xipsec.test
		secret = \"$psk\" } }"
}

resp_conf() {
	cat <<-EOF
	connections {
		bench {
			local_addrs = 192.0.2.2
			proposals = $ike
			local { auth = psk
				id = gw2.xipsec.test }
			remote { auth = psk
				id = %any }
			children { net {
				local_ts = 10.2.0.0/16
				remote_ts = 10.1.0.0/16
				esp_proposals = $esp } }
		}
	}
	secrets { ike-1 { id-1 = gw2.xipsec.test
		secret = "$psk" } }
	EOF
}

aead_states() {	# aead_states NS: states with keys (no larval ones)
	ip -n "$1" xfrm state | grep -c '^[[:space:]]*aead '
}

# until_states NS SECONDS: wait until NS holds 2N AEAD states, polling at a
# pace that leaves the emulated CPUs to the daemons.
until_states() {
	local end=$((SECONDS + $2))
	until [ "$(aead_states "$1")" -ge $((2 * n)) ]; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
}

rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

cpu_ms() {	# utime + stime of PID in ms
	awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"
}

flush_xfrm() {
	local ns
	for ns in gw1 gw2; do
		ip -n "$ns" xfrm state flush
		ip -n "$ns" xfrm policy flush
	done
}

# charon logs at level 0 (a line or two per SA, as xiked without -v), not
# at lib_swan.sh's level 2
swan_quiet="filelog.swanlog.ike=0 filelog.swanlog.cfg=0 filelog.swanlog.knl=0 filelog.swanlog.chd=0"

# kill_wait PID: SIGKILL a daemon started by this shell, quietly.
kill_wait() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

xdir=$TEST_TMP/xiked
mkdir -p "$xdir"
logdir=${IKE_BENCH_LOGDIR:-}
[ -z "$logdir" ] || mkdir -p "$logdir" || fail "cannot create $logdir"
round=0

# stamp: prefix each line with the time of day in ms, to see where a round
# spends its time
stamp() {
	perl -MTime::HiRes=time -ne '$| = 1; my $t = time;
		printf "%02d:%02d:%02d.%03d %s", (gmtime $t)[2, 1, 0], ($t - int $t) * 1000, $_'
}

# keep_logs WHICH: the round's logs into IKE_BENCH_LOGDIR
keep_logs() {
	[ -n "$logdir" ] || return 0
	if [ "$1" = xiked ]; then
		cp "$xdir/xiked.$round.log" "$logdir/"
	else
		cp "$(swan_log "resp$round")" "$logdir/charon-resp.$round.log"
	fi
	cp "$(swan_log "init$round")" "$logdir/charon-init.$round.log"
}

# xiked_summary: what its log says about the round. Either of the last two
# loses a connection for good (charon's initiator has keyingtries = 1), so
# the round never gets all N up: a half-open IKE SA whose IKE_AUTH xiked did
# not get to within ENGINE_HALF_OPEN_TIMEOUT_MS (30 s), and an IKE_AUTH that
# fails with a PSK mismatch, which is what made rounds fail when xiked was
# slow: a late copy of an IKE_SA_INIT without COOKIE got the half-open SA,
# xiked then took the initiator's request with the COOKIE for a
# retransmission of it, and the initiator signs the one with the COOKIE
# (docs/benchmarks.md, IKE section).
xiked_summary() {
	local f=$xdir/xiked.$round.log
	log "xiked log: $(grep -c 'CHILD_SA .* established' "$f") children established," \
		"$(grep -c 'cookie' "$f") cookie lines," \
		"$(grep -c 'timed out waiting for IKE_AUTH' "$f") half-open IKE SAs timed out," \
		"$(grep -c 'PSK mismatch' "$f") PSK mismatches"
}

# one_round WHICH: xiked or charon as the responder; prints one result line.
one_round() {
	local which=$1 rpid idir rdir rss0 rss1 cpu0 cpu1 t0 t1 done_states
	round=$((round + 1))
	flush_xfrm
	if [ "$which" = xiked ]; then
		(umask 077 && resp_conf >"$xdir/swanctl.conf")
		ip netns exec gw2 "$XIKED" -F -c "$xdir/swanctl.conf" -s "$xdir/ctl.$round" \
			> >(stamp >"$xdir/xiked.$round.log") 2>&1 &
		rpid=$!
		wait_until 20 test -S "$xdir/ctl.$round" || fail "xiked did not start"
	else
		swan_start gw2 "resp$round" block_threshold="$n" cookie_threshold=64 \
			retransmit_tries=5 $swan_quiet
		rdir=$(swan_conf_dir "resp$round")
		(umask 077 && resp_conf >"$rdir/swanctl.conf")
		swan_load "resp$round" "$rdir/swanctl.conf"
		rpid=$(swan_pid "resp$round")
	fi
	swan_start gw1 "init$round" reuse_ikesa=no retransmit_tries=5 init_limit_half_open=0 \
		$swan_quiet
	idir=$(swan_conf_dir "init$round")
	(umask 077 && init_conf >"$idir/swanctl.conf")
	sleep 2
	rss0=$(rss_kb "$rpid")
	cpu0=$(cpu_ms "$rpid")
	t0=$(date +%s.%N)
	swan_load "init$round" "$idir/swanctl.conf"
	if ! until_states gw2 "${IKE_BENCH_WAIT:-900}"; then
		log "$which round $round: $(aead_states gw2) of $((2 * n)) states at gw2 after ${IKE_BENCH_WAIT:-900} s"
		swan_swanctl "init$round" --list-sas 2>&1 | grep -c ESTABLISHED | sed 's/^/initiator IKE SAs established: /'
		ip -n gw2 xfrm state | head -n 60
		[ "$which" = xiked ] && tail -n 30 "$xdir/xiked.$round.log" && xiked_summary
		[ "$which" = charon ] && tail -n 30 "$(swan_log "resp$round")"
		tail -n 30 "$(swan_log "init$round")"
		keep_logs "$which"
		fail "$which round $round: not all children up"
	fi
	t1=$(date +%s.%N)
	# the responder has finished its work once its states are in
	sleep 1
	rss1=$(rss_kb "$rpid")
	cpu1=$(cpu_ms "$rpid")
	done_states=$(aead_states gw1)
	[ "$done_states" -ge $((2 * n)) ] ||
		log "note: initiator has $done_states of $((2 * n)) states (its IKE_AUTH answers may still be in flight)"
	awk -v w="$which" -v r="$round" -v n="$n" -v t0="$t0" -v t1="$t1" -v a="$rss0" -v b="$rss1" \
		-v c0="$cpu0" -v c1="$cpu1" 'BEGIN {
		s = t1 - t0
		printf "RESULT round %d %-6s N=%d  %7.1f s  %6.1f setups/s  RSS %d -> %d KiB, %.1f KiB/SA  CPU %.1f ms/SA\n",
			r, w, n, s, n / s, a, b, (b - a) / n, (c1 - c0) / n
	}'
	# stop both, without N deletes: kill, then flush what they installed
	kill_wait "$rpid"
	if [ "$which" = xiked ]; then
		xiked_summary
	fi
	kill_wait "$(swan_pid "init$round")"
	keep_logs "$which"
	sleep 1
}

for ((r = 0; r < rounds; r++)); do
	for which in ${IKE_BENCH_RESPONDERS:-xiked charon}; do
		one_round "$which"
	done
done
log "ok: $rounds rounds of N=$n against each responder"
