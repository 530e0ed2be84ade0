# SPDX-License-Identifier: GPL-2.0-only
#
# PID 1 of a vm-run VM, after switch_root into the overlay over the host's root.
# Sets up the mounts a test expects, runs $run/cmd, leaves its exit status and
# the kernel log in the shared run directory and powers off.

run=$(dirname "${BASH_SOURCE[0]}")

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /dev/pts /dev/shm /run/netns /run/xipsec
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t bpf bpffs /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ln -sf /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -sf /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -sf /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -sf /proc/self/fd/2 /dev/stderr

hostname xipsec-vm
ip link set lo up
# Sockets of root in a VM: allow pinging without capabilities games.
sysctl -qw net.ipv4.ping_group_range="0 2147483647" 2>/dev/null

# The command's environment comes from $run/cmd; VM_SHARE mounts before it runs.
share=$(sed -n 's/^export VM_SHARE=//p' "$run/cmd")
if [ -n "$share" ]; then
	share=$(eval echo "$share")
	mkdir -p "$share" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 xshare "$share"
fi

echo "vm: $(uname -r), running: $(tail -1 "$run/cmd" | cut -c6-)"
bash "$run/cmd" </dev/null
rc=$?
echo "vm: exit status $rc"
dmesg >"$run/dmesg" 2>/dev/null
echo "$rc" >"$run/exit"
sync
echo o >/proc/sysrq-trigger
sleep 30 2>/dev/null
