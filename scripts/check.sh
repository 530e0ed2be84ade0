#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Static analysis for `make check`: cppcheck and clang-tidy's analyzer over the
# userspace C code, SPDX lines on every source file. Exit 1 on any finding.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
rc=0

srcs=$(git ls-files 'lib/*.c' 'loader/*.c' 'iked/*.c' 2>/dev/null)
incs="-Iinclude -Ilib -I$BUILD/bpf"

echo "check: cppcheck"
# shellcheck disable=SC2086
cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 \
	--enable=warning,portability,performance \
	--suppress=missingIncludeSystem -D__linux__ -D_GNU_SOURCE \
	'-DLIBBPF_OPTS(TYPE,NAME,...)=struct TYPE NAME = {0}' $incs $srcs || rc=1

echo "check: clang-tidy (clang-analyzer, bugprone)"
# Left out, with the reason: idioms this code base uses on purpose.
#  insecureAPI.strcpy / DeprecatedOrUnsafeBufferHandling: copies are bounded by an
#      explicit length check first (kernel style), not by the *_s functions
#  bugprone-suspicious-string-compare: `!strcmp(a, b)` is the kernel idiom
#  bugprone-sizeof-expression: flags sizeof(struct x *) for arrays of pointers
#  bugprone-suspicious-memory-comparison: memcmp of kernel uapi structs (xfrm
#      selectors, addresses) that are zeroed before being filled, as iproute2 does
#  bugprone-implicit-widening-of-multiplication-result, bugprone-narrowing-conversions,
#  bugprone-easily-swappable-parameters, bugprone-reserved-identifier,
#  bugprone-assignment-in-if-condition, bugprone-macro-parentheses: style, not bugs
checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,-clang-analyzer-security.insecureAPI.strcpy,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition,-bugprone-macro-parentheses,-bugprone-suspicious-string-compare,-bugprone-sizeof-expression,-bugprone-suspicious-memory-comparison,-bugprone-implicit-widening-of-multiplication-result'
for f in $srcs; do
	# shellcheck disable=SC2086
	out=$(clang-tidy --quiet --checks="$checks" --warnings-as-errors='*' "$f" -- \
		-std=gnu11 -D_GNU_SOURCE $incs 2>&1) || { echo "$out"; rc=1; }
done

# clang-format is a helper for new code (`make format`), not a gate: like the
# kernel's, its output for aligned tables is worse than the hand-written ones.
echo "check: SPDX headers"
for f in $(git ls-files '*.c' '*.h' '*.sh' '*.mk' '*.scd' Makefile .ci/run \
		selftests/vm/vm-run); do
	case $f in selftests/fuzz/corpus/*) continue ;; esac
	if ! head -3 "$f" | grep -q 'SPDX-License-Identifier:'; then
		echo "check: $f: no SPDX-License-Identifier in its first lines"
		rc=1
	fi
done

[ $rc -eq 0 ] && echo "check: clean"
exit $rc
