#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host-side checks of vm-run itself, run first in the vm group: if the runner
# lost exit codes, missed kernel splats or hung, every VM test result would lie.
# Prints one "PASS|FAIL name" line per check; exit 1 on any failure.
set -u
VMRUN="$(dirname "$0")/vm-run"
LOGDIR=${1:-/tmp}
rc=0

check() {	# check NAME WANT_RC VM-RUN-ARGS...
	local name=$1 want=$2 got
	shift 2
	"$VMRUN" --log "$LOGDIR/vm-runner-$name.log" "$@" 2>/dev/null
	got=$?
	if [ "$got" = "$want" ]; then
		echo "PASS runner/$name"
	else
		echo "FAIL runner/$name: vm-run exited $got, want $want (log: $LOGDIR/vm-runner-$name.log)"
		rc=1
	fi
}

# The command's status comes back, and the guest really is the 6.1 kernel with ESP.
check exit-status 3 --timeout 120 -- sh -c 'uname -r | grep -q "^6\.1\." && modprobe esp4 && exit 3'
# A kernel warning fails the run even though the command succeeded.
check splat 125 --timeout 120 -- sh -c 'echo "WARNING: CPU: 0 PID: 1 at xipsec-runner-selftest" >/dev/kmsg; exit 0'
# A command that never ends is stopped at the timeout.
check timeout 124 --timeout 5 -- sleep 600
exit $rc
