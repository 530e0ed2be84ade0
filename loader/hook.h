/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Attaching the dataplane programs to an interface and taking them off.
 *
 * TC: one cls_bpf filter on the clsact ingress hook at HOOK_TC_HANDLE /
 * HOOK_TC_PRIO, replaced in place (BPF_TC_F_REPLACE) on re-attach, so a
 * packet always meets either the old or the new classifier. The clsact qdisc
 * is left in place on detach: other filters may live on it.
 *
 * XDP: through libxdp. With the multiprog dispatcher, the new program is
 * added next to the old one (one atomic dispatcher swap) and the old one is
 * removed afterwards (a second swap); in between both run and their verdicts
 * agree, since they read the same maps. Without a dispatcher (kernel or
 * bpffs that cannot run one: libxdp falls back to a single program), the old
 * program is swapped with XDP_FLAGS_REPLACE naming it, which is atomic too.
 * Programs are ours when their name starts with "xipsec_"; nothing else is
 * ever replaced or removed.
 */
#ifndef XIPSEC_HOOK_H
#define XIPSEC_HOOK_H

#include <stdbool.h>
#include <linux/types.h>

#define HOOK_TC_HANDLE 0x7869 /* "xi" */
#define HOOK_TC_PRIO   0x100

enum hook_side {
	HOOK_NONE = 0,
	HOOK_INNER, /* faces the protected network */
	HOOK_OUTER, /* faces the peers */
};

enum hook_xdp_mode {
	HOOK_XDP_NATIVE,
	HOOK_XDP_GENERIC,
	HOOK_XDP_NONE, /* TC only: the TC program classifies and counts alone */
	/*
	 * The mode already in use on the interface if there is an XDP program.
	 * Otherwise native, except on the inner side of a veth, which gets no
	 * XDP (TC only): a native program on a veth makes the kernel turn TSO
	 * off on its peer ("off [fixed]", 6.1 and later, frags-aware programs
	 * too), so the peer segments in software and every segment is routed
	 * and encrypted on its own (tunnel throughput 0.68-0.88 of the plain
	 * kernel's); generic XDP keeps TSO but copies every 64 KiB GSO packet
	 * into one linear buffer. On the outer side the peer sends ESP, one
	 * MTU-sized packet at a time, so native XDP costs no offload there, and
	 * it measured faster than generic (docs/benchmarks.md).
	 */
	HOOK_XDP_AUTO,
};

struct hook_info {
	enum hook_side side; /* from the program names; HOOK_NONE: nothing of ours */
	__u32 tc_prog_id; /* 0: none */
	__u32 xdp_prog_id;
	bool xdp_generic; /* XDP in skb mode */
	bool xdp_dispatcher; /* through libxdp's dispatcher (else a single program) */
	unsigned int xdp_count; /* our XDP programs there: 1 (2 only if a replace was cut short) */
};

/* Mounts bpffs where @pin_dir needs it when missing, creates @pin_dir. */
int hook_prepare_pin_dir(const char *pin_dir);

/* Attach (or atomically replace) the @side programs on @ifindex. */
int hook_attach(int ifindex, enum hook_side side, enum hook_xdp_mode mode, const char *pin_dir);
/* Remove our programs from @ifindex; -ENOENT when there were none. */
int hook_detach(int ifindex);
/* What of ours is attached to @ifindex. */
int hook_query(int ifindex, struct hook_info *info);

const char *hook_side_name(enum hook_side side);

#endif
