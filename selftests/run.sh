#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run test groups and print one summary line. Usage: run.sh BUILD GROUP...
# Groups: unit, bpf, fuzz, vm. Every test reports PASS, FAIL or SKIP under its
# own name; the last line is "N passed, N failed, N skipped"; exit 1 on failure.
#
# Environment: VM_TESTS="name ..." limits the VM group, VM_JOBS (default 1) VMs
# run at once; FUZZ_SECONDS per target.
set -u

BUILD=$1; shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
RESULTS="$BUILD/test-results"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SKIP_RC=4	# exit code meaning "skipped", shared with selftests/vm/lib.sh

npass=0; nfail=0; nskip=0; failed=()
record() {	# record RESULT NAME [LOG]
	case $1 in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)); failed+=("$2${3:+ (log: $3)}") ;;
	SKIP) nskip=$((nskip + 1)) ;;
	esac
	printf '%-4s %s\n' "$1" "$2" | tee -a "$RESULTS/summary.txt"
}

# cmocka binaries: each test case counts; TAP output tells them apart.
run_cmocka() {	# run_cmocka GROUP BINARY
	local group=$1 bin=$2 name log rc line
	name=$(basename "$bin")
	log="$RESULTS/$group-$name.log"
	CMOCKA_MESSAGE_OUTPUT=TAP "$bin" >"$log" 2>&1
	rc=$?
	local seen=0
	while IFS= read -r line; do
		case $line in
		# cmocka 1.1 prints skipped cases as "not ok N # SKIP name"
		*" # SKIP"*) record SKIP "$group/$name/${line##*# SKIP }"; seen=1 ;;
		"ok "*)  record PASS "$group/$name/${line#ok * - }"; seen=1 ;;
		"not ok "*) record FAIL "$group/$name/${line#not ok * - }" "$log"; seen=1 ;;
		esac
	done <"$log"
	if [ $rc -eq $SKIP_RC ] && [ $seen -eq 0 ]; then
		record SKIP "$group/$name"
	elif [ $rc -ne 0 ] && ! grep -v '# SKIP' "$log" | grep -q '^not ok'; then
		# crashed, sanitizer report, or failed outside a test case
		record FAIL "$group/$name (exit $rc)" "$log"
		sed 's/^/    /' "$log" | tail -30
	elif [ $rc -ne 0 ]; then
		grep -B2 -A8 '^not ok\|^#' "$log" | sed 's/^/    /' | head -60
	fi
}

group_unit() {
	local b
	for b in "$BUILD"/san/selftests/unit/test_*; do
		[ -x "$b" ] && run_cmocka unit "$b"
	done
}

group_bpf() {
	local b
	for b in "$BUILD"/san/selftests/bpf/test_*; do
		[ -x "$b" ] || continue
		if [ "$(id -u)" -ne 0 ]; then record SKIP "bpf/$(basename "$b") (needs root)"; continue; fi
		run_cmocka bpf "$b"
	done
}

group_fuzz() {
	local b name corpus work log
	for b in "$BUILD"/fuzz/selftests/fuzz/fuzz_*; do
		[ -x "$b" ] || continue
		name=$(basename "$b")
		corpus="$SRC/selftests/fuzz/corpus/${name#fuzz_}"
		work="$RESULTS/fuzz-$name.corpus"; mkdir -p "$work"
		log="$RESULTS/fuzz-$name.log"
		# The seed corpus is read-only input; new units go to the work dir.
		if "$b" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 "$work" ${corpus:+$( [ -d "$corpus" ] && echo "$corpus")} \
			>"$log" 2>&1; then
			record PASS "fuzz/$name ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs)"
		else
			record FAIL "fuzz/$name" "$log"
			tail -40 "$log" | sed 's/^/    /'
		fi
	done
}

# One VM test: its exit status and run time go to $RESULTS/vm-NAME.{rc,secs}.
vm_test() {	# vm_test SCRIPT
	local t=$1 name log to t0=$SECONDS
	name=$(basename "$t" .sh)
	log="$RESULTS/vm-$name.log"
	# a test that needs longer than vm-run's default says so in a
	# "# vm-timeout: SECONDS" line
	to=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\)$/\1/p' "$t")
	"$SRC/selftests/vm/vm-run" ${to:+--timeout "$to"} --log "$log" -- "$t"
	local rc=$?
	echo $rc >"$RESULTS/vm-$name.rc"
	echo $((SECONDS - t0)) >"$RESULTS/vm-$name.secs"
	echo "     vm/$name finished (exit $rc, $((SECONDS - t0))s)"
}

group_vm() {
	local t name log rc line tests=()
	# The runner's own checks first: exit codes, splat detection, timeout.
	while IFS= read -r line; do
		case $line in
		"PASS "*) record PASS "vm/${line#PASS }" ;;
		"FAIL "*) record FAIL "vm/${line#FAIL }" ;;
		esac
	done < <("$SRC/selftests/vm/runner-selftest.sh" "$RESULTS")
	for t in "$SRC"/selftests/vm/tests/*.sh; do
		name=$(basename "$t" .sh)
		if [ -n "${VM_TESTS:-}" ] && ! [[ " $VM_TESTS " == *" $name "* ]]; then continue; fi
		tests+=("$t")
	done
	# VM_JOBS VMs at a time. The tests spend most of their time waiting, so
	# two overlap well on two cores, but in one CI run with two a guest lost
	# its 9p run directory (EIO reading vm-init.sh) after its test passed:
	# one at a time until that is understood.
	for t in "${tests[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "${VM_JOBS:-1}" ]; do
			wait -n
		done
		vm_test "$t" &
	done
	wait
	for t in "${tests[@]}"; do
		name=$(basename "$t" .sh)
		log="$RESULTS/vm-$name.log"
		rc=$(cat "$RESULTS/vm-$name.rc" 2>/dev/null || echo 255)
		case $rc in
		0) record PASS "vm/$name ($(cat "$RESULTS/vm-$name.secs")s)" ;;
		"$SKIP_RC") record SKIP "vm/$name: $(grep -m1 -o 'SKIP: .*' "$log" | tr -d '\r')" ;;
		*) record FAIL "vm/$name (exit $rc)" "$log"
		   grep -v '^\[ *[0-9.]*\] ' "$log" | tail -40 | sed 's/^/    /' ;;
		esac
	done
}

for g in "$@"; do
	echo "==== $g"
	"group_$g"
done

echo
if [ $nfail -gt 0 ]; then
	echo "Failed:"
	printf '  %s\n' "${failed[@]}"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
[ $nfail -eq 0 ]
