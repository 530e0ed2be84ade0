// SPDX-License-Identifier: GPL-2.0-only
/*
 * Program attach/detach on one interface; the contract is in hook.h.
 *
 * Order on attach: load our own copy of the object (maps reused from the pin
 * directory), put its TC program in place first, then the XDP program. The
 * inner TC program classifies on its own when XDP metadata is missing, so
 * at no point is a packet seen by an XDP program of ours without a TC
 * classifier behind it (except on the very first attach, when the SPD maps
 * start empty). Order on detach is the reverse.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xipsec/dataplane.h"
#include "xipsec_inner.skel.h"
#include "xipsec_outer.skel.h"
#include "log.h"
#include "hook.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

const char *hook_side_name(enum hook_side side)
{
	return side == HOOK_INNER ? "inner" : side == HOOK_OUTER ? "outer" : "none";
}

static __attribute__((format(printf, 2, 0))) int hook_libxdp_print(enum libxdp_print_level level,
								   const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBXDP_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG;
	char line[512];

	/* libxdp warns when it falls back from its dispatcher; that is not our user's problem */
	if (strstr(fmt, "ompatibility check") || strstr(fmt, "alling back to loading single"))
		ours = LOG_LVL_DEBUG;
	int n;

	if (!log_enabled(ours))
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0 && (size_t)n < sizeof(line) && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_msg(ours, "libxdp: %s", line);
	return 0;
}

static int hook_mkdir_p(const char *path)
{
	char buf[256];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/*
 * The pin directory must be on a bpffs. When it is the default one and
 * /sys/fs/bpf is not mounted (minimal systems, `ip netns exec`), mount it.
 */
int hook_prepare_pin_dir(const char *pin_dir)
{
	char parent[256];
	struct statfs sfs;
	char *slash;
	int err;

	if (snprintf(parent, sizeof(parent), "%s", pin_dir) >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &sfs) == 0 && sfs.f_type != BPF_FS_MAGIC) {
		if (strcmp(parent, "/sys/fs/bpf")) {
			log_err("attach: %s is not on a bpf filesystem", pin_dir);
			return -ENOTSUP;
		}
		if (mount("bpf", parent, "bpf", 0, "mode=0700")) {
			err = -errno;
			log_err("attach: mount bpffs on %s: %s", parent, strerror(errno));
			return err;
		}
		log_debug("attach: mounted bpffs on %s", parent);
	}
	err = hook_mkdir_p(pin_dir);
	if (err)
		log_err("attach: create %s: %s", pin_dir, strerror(-err));
	return err;
}

/* Our copy of the inner or outer object, opened with the pin directory set. */
static struct bpf_object *hook_open(enum hook_side side, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	const void *bytes;
	size_t size;

	if (side == HOOK_INNER) {
		bytes = xipsec_inner_bpf__elf_bytes(&size);
		opts.object_name = "xipsec_inner";
	} else {
		bytes = xipsec_outer_bpf__elf_bytes(&size);
		opts.object_name = "xipsec_outer";
	}
	return bpf_object__open_mem(bytes, size, &opts);
}

/* Kernel name of program @id (truncated to 15 characters), "" if gone. */
static void hook_prog_name(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd;

	name[0] = '\0';
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(name, len, "%s", info.name);
	close(fd);
}

static bool hook_name_ours(const char *name)
{
	return !strncmp(name, "xipsec_", 7);
}

static enum hook_side hook_name_side(const char *name)
{
	if (!strncmp(name, "xipsec_inner", 12))
		return HOOK_INNER;
	if (!strncmp(name, "xipsec_outer", 12))
		return HOOK_OUTER;
	return HOOK_NONE;
}

/* ---- TC ---- */

static int hook_tc_query(int ifindex, __u32 *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HOOK_TC_HANDLE, .priority = HOOK_TC_PRIO);
	libbpf_print_fn_t old;
	int err;

	*prog_id = 0;
	/* "no such qdisc/filter" is the normal answer here: keep libbpf quiet */
	old = libbpf_set_print(NULL);
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (err)
		return err;
	*prog_id = opts.prog_id;
	return 0;
}

static int hook_tc_attach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HOOK_TC_HANDLE, .priority = HOOK_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	char name[BPF_OBJ_NAME_LEN];
	libbpf_print_fn_t old;
	__u32 old_id;
	int err;

	if (!hook_tc_query(ifindex, &old_id)) {
		hook_prog_name(old_id, name, sizeof(name));
		if (!hook_name_ours(name)) {
			log_err("attach: TC filter %#x prio %#x holds program '%s', not ours",
				HOOK_TC_HANDLE, HOOK_TC_PRIO, name);
			return -EBUSY;
		}
	}
	old = libbpf_set_print(NULL); /* EEXIST is fine and would be logged */
	err = bpf_tc_hook_create(&hook);
	libbpf_set_print(old);
	if (err && err != -EEXIST) {
		log_err("attach: create clsact: %s", strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		log_err("attach: TC ingress filter: %s", strerror(-err));
	return err;
}

static int hook_tc_detach(int ifindex, bool *found)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HOOK_TC_HANDLE, .priority = HOOK_TC_PRIO);
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;
	int err;

	if (hook_tc_query(ifindex, &id))
		return 0;
	hook_prog_name(id, name, sizeof(name));
	if (!hook_name_ours(name))
		return 0;
	err = bpf_tc_detach(&hook, &opts);
	if (err) {
		log_err("detach: TC filter: %s", strerror(-err));
		return err;
	}
	*found = true;
	return 0;
}

/* ---- XDP ---- */

struct hook_xdp_state {
	bool present; /* some XDP program is attached */
	bool legacy; /* a single program, no dispatcher */
	enum xdp_attach_mode mode;
	__u32 legacy_id; /* legacy: the program's id */
	bool legacy_ours;
	unsigned int nours;
	__u32 ours[8]; /* dispatcher: ids of our component programs */
	enum hook_side side;
};

static int hook_xdp_state(int ifindex, struct hook_xdp_state *st)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	long err;

	memset(st, 0, sizeof(*st));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT)
		return 0;
	if (err)
		return (int)err;
	st->present = true;
	st->legacy = xdp_multiprog__is_legacy(mp);
	st->mode = xdp_multiprog__attach_mode(mp);
	if (st->legacy) {
		p = xdp_multiprog__main_prog(mp);
		if (p) {
			st->legacy_id = xdp_program__id(p);
			st->legacy_ours = hook_name_ours(xdp_program__name(p));
			if (st->legacy_ours)
				st->side = hook_name_side(xdp_program__name(p));
		}
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p;
		     p = xdp_multiprog__next_prog(p, mp)) {
			if (!hook_name_ours(xdp_program__name(p)) ||
			    st->nours >= sizeof(st->ours) / sizeof(st->ours[0]))
				continue;
			st->ours[st->nours++] = xdp_program__id(p);
			st->side = hook_name_side(xdp_program__name(p));
		}
	}
	xdp_multiprog__close(mp);
	return 0;
}

/* Whether @ifindex is a veth (its ethtool driver name); false when unknown. */
static bool hook_is_veth(int ifindex)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	bool veth = false;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned int)ifindex, ifr.ifr_name))
		return false;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		veth = !strncmp(info.driver, "veth", sizeof(info.driver));
	close(fd);
	return veth;
}

/* @mode made concrete for @ifindex: native, generic or none (see hook.h). */
static int hook_xdp_mode_resolve(int ifindex, enum hook_side side, enum hook_xdp_mode mode,
				 enum hook_xdp_mode *out)
{
	struct hook_xdp_state st;
	int err;

	*out = mode;
	if (mode != HOOK_XDP_AUTO)
		return 0;
	err = hook_xdp_state(ifindex, &st);
	if (err) {
		log_err("attach: query XDP: %s", strerror(-err));
		return err;
	}
	if (st.present && st.mode == XDP_MODE_SKB)
		*out = HOOK_XDP_GENERIC;
	else if (!st.present && side == HOOK_INNER && hook_is_veth(ifindex))
		*out = HOOK_XDP_NONE;
	else
		*out = HOOK_XDP_NATIVE;
	return 0;
}

static const char *hook_mode_name(enum xdp_attach_mode m)
{
	return m == XDP_MODE_SKB ? "generic" : m == XDP_MODE_NATIVE ? "native" : "other";
}

/* Detach dispatcher component @id (one of ours) from @ifindex. */
static int hook_xdp_detach_component(int ifindex, __u32 id, enum xdp_attach_mode mode)
{
	struct xdp_program *p = xdp_program__from_id(id);
	int err = (int)libxdp_get_error(p);

	if (err)
		return err;
	err = xdp_program__detach(p, ifindex, mode, 0);
	xdp_program__close(p);
	return err;
}

static int hook_xdp_attach(int ifindex, enum hook_side side, enum xdp_attach_mode mode,
			   struct bpf_object *loaded, const char *xdp_name, const char *pin_dir)
{
	struct hook_xdp_state st;
	struct xdp_program *xp = NULL;
	struct bpf_object *obj = NULL;
	unsigned int i;
	int err;

	err = hook_xdp_state(ifindex, &st);
	if (err) {
		log_err("attach: query XDP: %s", strerror(-err));
		return err;
	}
	if (st.present && st.mode != mode) {
		log_err("attach: XDP already attached in %s mode; detach first to change the mode",
			hook_mode_name(st.mode));
		return -EBUSY;
	}
	if (st.present && st.legacy) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
		__u32 flags = XDP_FLAGS_REPLACE |
			      (mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
		struct bpf_program *prog = bpf_object__find_program_by_name(loaded, xdp_name);

		if (!st.legacy_ours) {
			log_err("attach: another XDP program (id %u) is attached without libxdp's "
				"dispatcher; not touching it",
				st.legacy_id);
			return -EBUSY;
		}
		/* Atomic swap that fails if the program changed under us. */
		xo.old_prog_fd = bpf_prog_get_fd_by_id(st.legacy_id);
		if (xo.old_prog_fd < 0)
			return -errno;
		err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), flags, &xo);
		close(xo.old_prog_fd);
		if (err)
			log_err("attach: replace XDP program: %s", strerror(-err));
		return err;
	}

	/* libxdp loads its own copy: it must set the program type for the dispatcher. */
	obj = hook_open(side, pin_dir);
	err = (int)libbpf_get_error(obj);
	if (err) {
		obj = NULL;
		goto out;
	}
	xp = xdp_program__from_bpf_obj(obj, "xdp");
	err = (int)libxdp_get_error(xp);
	if (err) {
		xp = NULL;
		log_err("attach: libxdp: %s", strerror(-err));
		goto out;
	}
	/*
	 * libxdp first probes whether the kernel runs its dispatcher; where it
	 * cannot, libbpf logs the failed probe load as a warning although libxdp
	 * then falls back to a single program: keep that for -v.
	 */
	if (!log_enabled(LOG_LVL_DEBUG)) {
		libbpf_print_fn_t old = libbpf_set_print(NULL);

		err = xdp_program__attach(xp, ifindex, mode, 0);
		libbpf_set_print(old);
	} else {
		err = xdp_program__attach(xp, ifindex, mode, 0);
	}
	if (err) {
		log_err("attach: XDP (%s mode): %s", hook_mode_name(mode), strerror(-err));
		goto out;
	}
	/* The new program runs; now the old ones of ours can go. */
	for (i = 0; i < st.nours; i++) {
		int derr = hook_xdp_detach_component(ifindex, st.ours[i], mode);

		if (derr)
			log_warn("attach: remove previous XDP program %u: %s", st.ours[i],
				 strerror(-derr));
	}
out:
	/* from_bpf_obj does not take the object: close both; attached programs stay */
	if (xp)
		xdp_program__close(xp);
	if (obj)
		bpf_object__close(obj);
	return err;
}

static int hook_xdp_detach(int ifindex, bool *found)
{
	struct hook_xdp_state st;
	unsigned int i;
	int err;

	err = hook_xdp_state(ifindex, &st);
	if (err || !st.present)
		return err;
	if (st.legacy) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
		__u32 flags = XDP_FLAGS_REPLACE |
			      (st.mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

		if (!st.legacy_ours)
			return 0;
		xo.old_prog_fd = bpf_prog_get_fd_by_id(st.legacy_id);
		if (xo.old_prog_fd < 0)
			return -errno;
		err = bpf_xdp_detach(ifindex, flags, &xo);
		close(xo.old_prog_fd);
		if (err) {
			log_err("detach: XDP: %s", strerror(-err));
			return err;
		}
		*found = true;
		return 0;
	}
	for (i = 0; i < st.nours; i++) {
		err = hook_xdp_detach_component(ifindex, st.ours[i], st.mode);
		if (err) {
			log_err("detach: XDP program %u: %s", st.ours[i], strerror(-err));
			return err;
		}
		*found = true;
	}
	return 0;
}

/* ---- entry points ---- */

int hook_attach(int ifindex, enum hook_side side, enum hook_xdp_mode mode, const char *pin_dir)
{
	const char *xdp_name = side == HOOK_INNER ? XIPSEC_PROG_INNER_XDP : XIPSEC_PROG_OUTER_XDP;
	const char *tc_name = side == HOOK_INNER ? XIPSEC_PROG_INNER_TC : XIPSEC_PROG_OUTER_TC;
	enum hook_xdp_mode xmode;
	struct bpf_object *obj;
	struct bpf_program *tc;
	struct hook_info before;
	int err;

	libxdp_set_print(hook_libxdp_print);
	err = hook_prepare_pin_dir(pin_dir);
	if (err)
		return err;
	err = hook_query(ifindex, &before);
	if (err)
		return err;
	err = hook_xdp_mode_resolve(ifindex, side, mode, &xmode);
	if (err)
		return err;
	log_debug("attach: XDP %s", xmode == HOOK_XDP_NONE    ? "none (TC only)" :
				    xmode == HOOK_XDP_GENERIC ? "in generic mode" :
								"in native mode");

	obj = hook_open(side, pin_dir);
	err = (int)libbpf_get_error(obj);
	if (err) {
		log_err("attach: open BPF object: %s", strerror(-err));
		return err;
	}
	err = bpf_object__load(obj);
	if (err) {
		log_err("attach: load BPF object: %s (stale pins in %s from another version? "
			"remove them when nothing is attached)",
			strerror(-err), pin_dir);
		goto out;
	}
	tc = bpf_object__find_program_by_name(obj, tc_name);
	if (!tc) {
		err = -ENOENT;
		goto out;
	}
	err = hook_tc_attach(ifindex, bpf_program__fd(tc));
	if (err)
		goto out;
	if (xmode == HOOK_XDP_NONE) {
		/* TC alone from now on: the new classifier runs, our XDP can go */
		bool found = false;

		err = hook_xdp_detach(ifindex, &found);
	} else {
		err = hook_xdp_attach(ifindex, side,
				      xmode == HOOK_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE, obj,
				      xdp_name, pin_dir);
	}
	if (err && before.side == HOOK_NONE) {
		/* first attach failed half way: leave the interface as it was */
		bool found = false;

		hook_tc_detach(ifindex, &found);
	}
out:
	bpf_object__close(obj);
	return err;
}

int hook_detach(int ifindex)
{
	bool found = false;
	int err;

	libxdp_set_print(hook_libxdp_print);
	err = hook_xdp_detach(ifindex, &found);
	if (err)
		return err;
	err = hook_tc_detach(ifindex, &found);
	if (err)
		return err;
	return found ? 0 : -ENOENT;
}

int hook_query(int ifindex, struct hook_info *info)
{
	struct hook_xdp_state st;
	char name[BPF_OBJ_NAME_LEN];
	int err;

	memset(info, 0, sizeof(*info));
	if (!hook_tc_query(ifindex, &info->tc_prog_id)) {
		hook_prog_name(info->tc_prog_id, name, sizeof(name));
		if (hook_name_ours(name))
			info->side = hook_name_side(name);
		else
			info->tc_prog_id = 0;
	}
	libxdp_set_print(hook_libxdp_print);
	err = hook_xdp_state(ifindex, &st);
	if (err)
		return err;
	if (st.legacy_ours || st.nours) {
		info->xdp_prog_id = st.legacy ? st.legacy_id : st.ours[0];
		info->xdp_generic = st.mode == XDP_MODE_SKB;
		info->xdp_dispatcher = !st.legacy;
		info->xdp_count = st.legacy ? 1 : st.nours;
		if (info->side == HOOK_NONE)
			info->side = st.side;
	}
	return 0;
}
