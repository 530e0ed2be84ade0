// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attach/detach of the dataplane programs (loader/hook.c) on the host kernel:
 * idempotent re-attach replacing programs in place, switching sides, the XDP
 * mode chosen for veth (auto) and TC only, refusing to touch programs that are not ours,
 * detach leaving others' programs alone.
 *
 *   private netns + private mount ns (fresh bpffs on /sys/fs/bpf)
 *
 *     xa <==== veth ====> xb
 *     (programs under test)
 *
 * Root only (exit 4 = skip otherwise).
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/mount.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "xipsec/dataplane.h"
#include "../../loader/hook.h"
#include "log.h"

static int ifa, ifb;

static int count_lines(const char *cmd, const char *needle)
{
	char line[1024];
	FILE *f = popen(cmd, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	pclose(f);
	return n;
}

/* A program that is not ours: "mov r0, ACTION; exit", named "foreign". */
static int foreign_prog(enum bpf_prog_type type, int action)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = action },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);

	return bpf_prog_load(type, "foreign", "GPL", insns, 2, &opts);
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET | CLONE_NEWNS))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	/* our own bpffs: pins and libxdp's dispatcher files stay in this test */
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -1;
	if (system("ip link add xa type veth peer name xb && ip link set xa up && ip link set xb up"))
		return -1;
	ifa = (int)if_nametoindex("xa");
	ifb = (int)if_nametoindex("xb");
	log_init("test_attach", getenv("DP_TEST_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR, false);
	return ifa && ifb ? 0 : -1;
}

static void test_attach_idempotent(void **state)
{
	struct hook_info a, b;

	(void)state;
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_NONE);
	assert_int_equal(hook_detach(ifa), -ENOENT);

	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_INNER);
	assert_true(a.tc_prog_id > 0);
	assert_true(a.xdp_prog_id > 0);
	assert_false(a.xdp_generic);
	assert_int_equal(access(XIPSEC_PIN_DIR "/" XIPSEC_MAP_CONFIG, F_OK), 0);
	assert_int_equal(access(XIPSEC_PIN_DIR "/" XIPSEC_MAP_SA, F_OK), 0);

	/* again: new programs in the same places, still one filter */
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &b), 0);
	assert_int_equal(b.side, HOOK_INNER);
	assert_int_not_equal(b.tc_prog_id, a.tc_prog_id);
	assert_int_not_equal(b.xdp_prog_id, a.xdp_prog_id);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "xipsec_inner_tc"), 1);
	assert_int_equal(count_lines("ip -d link show dev xa", "prog/xdp"), 1);

	/* a different mode is refused rather than leaving a gap */
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_GENERIC, XIPSEC_PIN_DIR), -EBUSY);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.xdp_prog_id, b.xdp_prog_id);

	/* the other side replaces ours */
	assert_int_equal(hook_attach(ifa, HOOK_OUTER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_OUTER);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "xipsec_inner_tc"), 0);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "xipsec_outer_tc"), 1);

	assert_int_equal(hook_detach(ifa), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_NONE);
	assert_int_equal(a.tc_prog_id, 0);
	assert_int_equal(a.xdp_prog_id, 0);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "xipsec"), 0);
	/* maps stay pinned: rules and SAs survive a detach/attach */
	assert_int_equal(access(XIPSEC_PIN_DIR "/" XIPSEC_MAP_CONFIG, F_OK), 0);
	assert_int_equal(hook_detach(ifa), -ENOENT);
}

static void test_generic_mode(void **state)
{
	struct hook_info a;

	(void)state;
	assert_int_equal(hook_attach(ifb, HOOK_OUTER, HOOK_XDP_GENERIC, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifb, &a), 0);
	assert_int_equal(a.side, HOOK_OUTER);
	assert_true(a.xdp_generic);
	assert_int_equal(hook_attach(ifb, HOOK_OUTER, HOOK_XDP_GENERIC, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_detach(ifb), 0);
}

/*
 * Auto mode on a veth: no XDP on the inner side (TC only), keeping TSO on the
 * peer (a native program turns it off there), native XDP on the outer side;
 * the mode in use when XDP is already attached. Mode tc takes our XDP
 * program off.
 */
static void test_auto_mode(void **state)
{
	/* the TSO checks need ethtool (not part of the build dependencies) */
	bool eth = !system("command -v ethtool >/dev/null");
	struct hook_info a;

	(void)state;
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_AUTO, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_INNER);
	assert_true(a.tc_prog_id > 0);
	assert_int_equal(a.xdp_prog_id, 0);
	assert_int_equal(count_lines("ip -d link show dev xa", "prog/xdp"), 0);
	if (eth)
		assert_int_equal(count_lines("ethtool -k xb", "tcp-segmentation-offload: on"), 1);
	assert_int_equal(hook_detach(ifa), 0);

	/* the outer side: native XDP (its peer sends ESP, TSO does not matter) */
	assert_int_equal(hook_attach(ifa, HOOK_OUTER, HOOK_XDP_AUTO, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_OUTER);
	assert_true(a.xdp_prog_id > 0);
	assert_false(a.xdp_generic);
	assert_int_equal(hook_detach(ifa), 0);

	/* auto keeps a generic program when switching to the inner side */
	assert_int_equal(hook_attach(ifa, HOOK_OUTER, HOOK_XDP_GENERIC, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_AUTO, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_INNER);
	assert_true(a.xdp_generic);
	assert_int_equal(hook_detach(ifa), 0);

	/* the native program's effect that auto avoids */
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), 0);
	if (eth)
		assert_int_equal(count_lines("ethtool -k xb", "tcp-segmentation-offload: off"), 1);
	/* re-attach in auto mode keeps the native mode instead of failing */
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_AUTO, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_true(a.xdp_prog_id > 0);
	assert_false(a.xdp_generic);
	/* tc: our XDP program goes, the classifier stays */
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NONE, XIPSEC_PIN_DIR), 0);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_INNER);
	assert_true(a.tc_prog_id > 0);
	assert_int_equal(a.xdp_prog_id, 0);
	if (eth)
		assert_int_equal(count_lines("ethtool -k xb", "tcp-segmentation-offload: on"), 1);
	assert_int_equal(hook_detach(ifa), 0);
	assert_int_equal(hook_detach(ifa), -ENOENT);
}

/* Programs of others: never replaced, never removed. */
static void test_foreign(void **state)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifa, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, topts, .handle = 1, .priority = 1);
	LIBBPF_OPTS(bpf_tc_opts, ours, .handle = HOOK_TC_HANDLE, .priority = HOOK_TC_PRIO);
	struct hook_info a;
	int xdp_fd, tc_fd, err;

	(void)state;
	xdp_fd = foreign_prog(BPF_PROG_TYPE_XDP, XDP_PASS);
	tc_fd = foreign_prog(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_UNSPEC);
	assert_true(xdp_fd >= 0);
	assert_true(tc_fd >= 0);

	/* a foreign XDP program attached without libxdp: we must not replace it */
	assert_int_equal(bpf_xdp_attach(ifa, xdp_fd, XDP_FLAGS_DRV_MODE, NULL), 0);
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), -EBUSY);
	assert_int_equal(count_lines("ip -d link show dev xa", "name foreign"), 1);
	/* and the half-done attach was undone */
	assert_int_equal(count_lines("tc filter show dev xa ingress", "xipsec"), 0);
	assert_int_equal(hook_detach(ifa), -ENOENT);
	assert_int_equal(count_lines("ip -d link show dev xa", "name foreign"), 1);
	assert_int_equal(bpf_xdp_detach(ifa, XDP_FLAGS_DRV_MODE, NULL), 0);

	/* a foreign TC filter at another priority lives next to ours */
	err = bpf_tc_hook_create(&hook);
	assert_true(err == 0 || err == -EEXIST);
	topts.prog_fd = tc_fd;
	assert_int_equal(bpf_tc_attach(&hook, &topts), 0);
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), 0);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "name foreign"), 1);
	assert_int_equal(hook_detach(ifa), 0);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "name foreign"), 1);

	/* a foreign filter at our handle and priority: refused, left alone */
	topts.prog_fd = 0;
	topts.prog_id = 0;
	topts.flags = 0;
	assert_int_equal(bpf_tc_detach(&hook, &topts), 0);
	ours.prog_fd = tc_fd;
	assert_int_equal(bpf_tc_attach(&hook, &ours), 0);
	assert_int_equal(hook_attach(ifa, HOOK_INNER, HOOK_XDP_NATIVE, XIPSEC_PIN_DIR), -EBUSY);
	assert_int_equal(hook_detach(ifa), -ENOENT);
	assert_int_equal(count_lines("tc filter show dev xa ingress", "name foreign"), 1);
	assert_int_equal(hook_query(ifa, &a), 0);
	assert_int_equal(a.side, HOOK_NONE);
	close(xdp_fd);
	close(tc_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_idempotent),
		cmocka_unit_test(test_generic_mode),
		cmocka_unit_test(test_auto_mode),
		cmocka_unit_test(test_foreign),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root\n");
		return 4;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
