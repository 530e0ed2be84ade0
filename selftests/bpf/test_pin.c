// SPDX-License-Identifier: GPL-2.0-only
/*
 * Map sharing between the two BPF objects through LIBBPF_PIN_BY_NAME, as the
 * CLI uses it: open with pin_root_path, load xipsec_inner then xipsec_outer,
 * and check the second reused every map of the first (same kernel map ids),
 * and that a third load (re-attach) reuses them again.
 *
 * The test runs in a private mount namespace with its own bpffs, so nothing
 * is pinned on the host.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "dp_test_util.h"
#include "xipsec_inner.skel.h"
#include "xipsec_outer.skel.h"

static char root[] = "/tmp/xipsec-pin-XXXXXX";
static char pin_dir[64];

static uint32_t map_id(struct bpf_map *m)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len), 0);
	return info.id;
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	if (!mkdtemp(root) || mount("bpf", root, "bpf", 0, NULL))
		return -1;
	snprintf(pin_dir, sizeof(pin_dir), "%s/xipsec", root);
	return mkdir(pin_dir, 0700);
}

static int teardown(void **state)
{
	(void)state;
	umount(root);
	rmdir(root);
	return 0;
}

static void test_objects_share_pinned_maps(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = pin_dir);
	struct xipsec_inner_bpf *in = NULL, *in2 = NULL;
	struct xipsec_outer_bpf *out = NULL;
	struct bpf_map *m;
	char path[128];
	int n = 0;

	(void)state;
	in = xipsec_inner_bpf__open_opts(&o);
	assert_non_null(in);
	assert_int_equal(xipsec_inner_bpf__load(in), 0);
	out = xipsec_outer_bpf__open_opts(&o);
	assert_non_null(out);
	assert_int_equal(xipsec_outer_bpf__load(out), 0);

	bpf_object__for_each_map(m, in->obj)
	{
		struct bpf_map *m2 = bpf_object__find_map_by_name(out->obj, bpf_map__name(m));

		if (strstr(bpf_map__name(m), ".rodata"))
			continue;
		assert_non_null(m2);
		assert_true(bpf_map__is_pinned(m));
		assert_int_equal(map_id(m), map_id(m2));
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(m));
		assert_int_equal(access(path, F_OK), 0);
		n++;
	}
	assert_int_equal(n, 15);

	/* Re-attach: a new load of the same object picks the pins up again. */
	in2 = xipsec_inner_bpf__open_opts(&o);
	assert_non_null(in2);
	assert_int_equal(xipsec_inner_bpf__load(in2), 0);
	assert_int_equal(map_id(in2->maps.xipsec_spd_pfx), map_id(in->maps.xipsec_spd_pfx));
	assert_int_equal(map_id(in2->maps.xipsec_config), map_id(out->maps.xipsec_config));

	xipsec_inner_bpf__destroy(in2);
	xipsec_outer_bpf__destroy(out);
	xipsec_inner_bpf__destroy(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_objects_share_pinned_maps, setup, teardown),
	};

	dp_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
