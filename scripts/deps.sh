#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages listed in scripts/packages.txt that are missing.
# Idempotent: prints "deps: nothing to do" when everything is present.
set -eu

list="$(dirname "$0")/packages.txt"
missing=
for pkg in $(sed -e 's/#.*//' "$list"); do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
	echo "deps: nothing to do"
	exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to run apt-get; run 'sudo make deps'" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them when older than a day.
stamp=/var/lib/apt/periodic/update-success-stamp
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ] &&
   [ -z "$(find "$stamp" -mtime -1 2>/dev/null)" ]; then
	apt-get update -qq
fi
# shellcheck disable=SC2086
if ! apt-get install -y -qq $missing >/dev/null; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
fi
echo "deps: done"
