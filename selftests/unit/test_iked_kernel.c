// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiked's kernel module (iked/kernel.c): address ranges as CIDR prefixes,
 * and, as root in a private network namespace on the host kernel, the
 * ownership record: leftovers of an earlier run are removed at start when
 * they are still the ones recorded (same key and reqid) and kept otherwise,
 * a child that cannot be installed (the host kernel has no ESP) leaves
 * nothing behind, and start_action = trap policies come and go with xiked
 * without touching someone else's policy. Real ESP installs are covered by the VM tests.
 * The record is a journal (a line per object installed, "- " + the same line when
 * it is gone, compacted when mostly such pairs): its replay, its compaction, and
 * a run killed without kernel_close() whose policies the next start removes.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "../../iked/conf.h"
#include "../../iked/kernel.h"
#include "xfrm_nl.h"

static void pton4(const char *s, uint8_t *b)
{
	memset(b, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, b), 1);
}

static void check_range(const char *from, const char *to, size_t max, int want_n,
			const char *const *want)
{
	uint8_t s[16], e[16], addr[16][16], plen[16];
	char buf[INET_ADDRSTRLEN + 4];
	int n, i;

	pton4(from, s);
	pton4(to, e);
	n = kernel_range_to_prefixes(s, e, 4, addr, plen, max);
	assert_int_equal(n, want_n);
	for (i = 0; i < n; i++) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, addr[i], a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s/%u", a, plen[i]);
		assert_string_equal(buf, want[i]);
	}
}

static void test_range_prefixes(void **state)
{
	static const char *const p24[] = { "10.1.0.0/24" };
	static const char *const host[] = { "10.1.0.7/32" };
	static const char *const any[] = { "0.0.0.0/0" };
	static const char *const odd[] = { "10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31",
					   "10.0.0.6/32" };
	static const char *const top[] = { "255.255.255.254/31" };
	static const char *const carry[] = { "10.0.0.255/32", "10.0.1.0/32" };
	uint8_t s[16], e[16], addr[4][16], plen[4];

	(void)state;
	check_range("10.1.0.0", "10.1.0.255", 4, 1, p24);
	check_range("10.1.0.7", "10.1.0.7", 4, 1, host);
	check_range("0.0.0.0", "255.255.255.255", 4, 1, any);
	check_range("10.0.0.1", "10.0.0.6", 4, 4, odd);
	check_range("255.255.255.254", "255.255.255.255", 4, 1, top);
	check_range("10.0.0.255", "10.0.1.0", 4, 2, carry);
	check_range("10.0.0.1", "10.0.0.6", 3, -E2BIG, NULL);
	check_range("10.0.0.2", "10.0.0.1", 4, -EINVAL, NULL);

	memset(s, 0, sizeof(s));
	memset(e, 0xff, sizeof(e));
	assert_int_equal(kernel_range_to_prefixes(s, e, 16, addr, plen, 4), 1);
	assert_int_equal(plen[0], 0);
	/* fd00:: .. fd00::ffff is fd00::/112 */
	memset(e, 0, sizeof(e));
	s[0] = e[0] = 0xfd;
	e[14] = e[15] = 0xff;
	assert_int_equal(kernel_range_to_prefixes(s, e, 16, addr, plen, 4), 1);
	assert_int_equal(plen[0], 112);
	assert_memory_equal(addr[0], s, 16);
	s[0] = 0;
	memset(e, 0xff, sizeof(e));
	e[15] = 0xfe;
	assert_int_equal(kernel_range_to_prefixes(s, e, 16, addr, plen, 4), -E2BIG);
	assert_int_equal(kernel_range_to_prefixes(s, e, 5, addr, plen, 4), -EINVAL);
}

static int ns_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	return unshare(CLONE_NEWNET) ? -1 : 0;
}

/* out policy 10.1.0.0/24 -> @dst/24 via 192.0.2.1 -> 192.0.2.2 with @reqid */
static void policy(struct xfrm_nl_policy *p, const char *dst, __u32 reqid)
{
	xfrm_nl_policy_init(p, AF_INET, XFRM_POLICY_OUT);
	inet_pton(AF_INET, "10.1.0.0", &p->sel.saddr.a4);
	inet_pton(AF_INET, dst, &p->sel.daddr.a4);
	p->sel.prefixlen_s = 24;
	p->sel.prefixlen_d = 24;
	p->ntmpl = 1;
	p->tmpl[0].family = AF_INET;
	p->tmpl[0].id.proto = IPPROTO_ESP;
	inet_pton(AF_INET, "192.0.2.1", &p->tmpl[0].saddr.a4);
	inet_pton(AF_INET, "192.0.2.2", &p->tmpl[0].id.daddr.a4);
	p->tmpl[0].reqid = reqid;
	p->tmpl[0].mode = XFRM_MODE_TUNNEL;
	p->tmpl[0].aalgos = p->tmpl[0].ealgos = p->tmpl[0].calgos = ~0U;
}

/* The state file line kernel.c writes for @p, claiming @reqid. */
static void state_line(FILE *f, const struct xfrm_nl_policy *p, __u32 reqid)
{
	const uint8_t *b = (const uint8_t *)&p->sel;
	size_t i;

	fprintf(f, "pol %x ", p->dir);
	for (i = 0; i < sizeof(p->sel); i++)
		fprintf(f, "%02x", b[i]);
	fprintf(f, " 0 0 0 0 0 %x\n", reqid);
}

static bool policy_exists(struct xfrm_nl *nl, const struct xfrm_nl_policy *p)
{
	struct xfrm_nl_policy_id id;
	struct xfrm_nl_policy got;

	xfrm_nl_policy_to_id(p, &id);
	return xfrm_nl_policy_get(nl, &id, &got) == 0;
}

static void test_leftovers(void **state)
{
	struct xfrm_nl_policy ours, replaced, foreign;
	struct xfrm_nl_policy_id id;
	char dir[] = "/tmp/test_iked_kernel.XXXXXX", path[256];
	struct kernel *k = NULL;
	struct xfrm_nl *nl;
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(xfrm_nl_open(&nl), 0);
	policy(&ours, "10.2.0.0", 7);
	policy(&replaced, "10.3.0.0", 8); /* recorded with reqid 7, now someone's 8 */
	policy(&foreign, "10.4.0.0", 9); /* never ours */
	assert_int_equal(xfrm_nl_policy_add(nl, &ours, false), 0);
	assert_int_equal(xfrm_nl_policy_add(nl, &replaced, false), 0);
	assert_int_equal(xfrm_nl_policy_add(nl, &foreign, false), 0);

	/* The record of a run whose control socket was /x/ctl.sock. */
	snprintf(path, sizeof(path), "%s/_x_ctl.sock.state", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	state_line(f, &ours, 7);
	state_line(f, &replaced, 7);
	fprintf(f, "garbage line\n");
	fclose(f);

	/* Another instance's record is not ours to act on. */
	assert_int_equal(kernel_open(dir, "/y/ctl.sock", &k), 0);
	assert_true(policy_exists(nl, &ours));
	kernel_close(k);

	assert_int_equal(kernel_open(dir, "/x/ctl.sock", &k), 0);
	assert_false(policy_exists(nl, &ours));
	assert_true(policy_exists(nl, &replaced));
	assert_true(policy_exists(nl, &foreign));
	assert_int_equal(kernel_object_count(k), 0);
	kernel_close(k);
	/* A clean close leaves no record behind. */
	assert_int_not_equal(access(path, F_OK), 0);
	xfrm_nl_policy_to_id(&replaced, &id);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	xfrm_nl_policy_to_id(&foreign, &id);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	xfrm_nl_close(nl);
	rmdir(dir);
}

static const char conf_text[] = "connections {\n"
				"  c {\n"
				"    remote_addrs = 192.0.2.2\n"
				"    proposals = aes256gcm16-prfsha256-x25519\n"
				"    local { auth = psk }\n"
				"    remote { auth = psk }\n"
				"    children { net {\n"
				"      local_ts = 10.1.0.0/24\n"
				"      remote_ts = 10.2.0.0/24\n"
				"      esp_proposals = aes128gcm16\n"
				"    } }\n"
				"  }\n"
				"}\n";

static int count_cb(const struct xfrm_nl_policy *p, void *arg)
{
	(void)p;
	(*(int *)arg)++;
	return 0;
}

/* The host kernel refuses ESP states: the install fails and leaves nothing. */
static void test_install_failure_clean(void **state)
{
	char dir[] = "/tmp/test_iked_kernel.XXXXXX", err[256];
	struct sockaddr_in l = { .sin_family = AF_INET }, r = { .sin_family = AF_INET };
	struct ikev2_ts_list tl = { .n = 1 }, tr = { .n = 1 };
	uint8_t key[20] = { 1 };
	struct engine_child c;
	struct kernel *k = NULL;
	struct conf *conf = NULL;
	struct xfrm_nl *nl;
	int npol_before = 0, npol = 0, rc;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(conf_load_buf(conf_text, sizeof(conf_text) - 1, "t.conf",
				       CONF_NO_INCLUDE | CONF_NO_CREDS | CONF_NO_PERM_CHECK, &conf,
				       err, sizeof(err)),
			 0);
	inet_pton(AF_INET, "192.0.2.1", &l.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &r.sin_addr);
	tl.ts[0] = (struct ikev2_ts){ .type = IKEV2_TS_IPV4_ADDR_RANGE, .end_port = 0xffff };
	pton4("10.1.0.0", tl.ts[0].start_addr);
	pton4("10.1.0.255", tl.ts[0].end_addr);
	tr.ts[0] = tl.ts[0];
	pton4("10.2.0.0", tr.ts[0].start_addr);
	pton4("10.2.0.255", tr.ts[0].end_addr);
	memset(&c, 0, sizeof(c));
	c.conn = conf->conns[0];
	c.cfg = conf->conns[0]->children[0];
	c.local = (struct sockaddr *)&l;
	c.remote = (struct sockaddr *)&r;
	c.spi_in = 0xc0000001;
	c.spi_out = 0xc0000002;
	c.encr = IKEV2_ENCR_AES_GCM_16;
	c.encr_keylen = 128;
	c.encr_key_len = sizeof(key);
	c.encr_key_in = c.encr_key_out = key;
	c.ts_local = &tl;
	c.ts_remote = &tr;

	assert_int_equal(xfrm_nl_open(&nl), 0);
	assert_int_equal(xfrm_nl_policy_list(nl, count_cb, &npol_before), 0);
	assert_int_equal(kernel_open(dir, "/z.sock", &k), 0);
	rc = kernel_install_child(k, &c);
	assert_int_not_equal(rc, 0);
	assert_int_equal(kernel_object_count(k), 0);
	assert_int_equal(xfrm_nl_policy_list(nl, count_cb, &npol), 0);
	assert_int_equal(npol, npol_before);
	xfrm_nl_close(nl);
	kernel_close(k);
	conf_free(conf);
	rmdir(dir);
}

static void test_trap(void **state)
{
	static const char text[] = "connections { c {\n"
				   "  remote_addrs = 192.0.2.2\n"
				   "  local { auth = psk }\n"
				   "  remote { auth = psk }\n"
				   "  children { t {\n"
				   "    local_ts = 10.1.0.0/24\n"
				   "    remote_ts = 10.2.0.0/24\n"
				   "    start_action = trap\n"
				   "  } }\n"
				   "} }\n";
	char dir[] = "/tmp/test_iked_kernel.XXXXXX", err[256];
	struct sockaddr_in l = { .sin_family = AF_INET }, r = { .sin_family = AF_INET };
	struct xfrm_nl_policy want, got;
	struct xfrm_nl_policy_id id;
	struct kernel *k = NULL;
	struct conf *conf = NULL;
	struct xfrm_nl *nl;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(conf_load_buf(text, sizeof(text) - 1, "t.conf",
				       CONF_NO_INCLUDE | CONF_NO_CREDS | CONF_NO_PERM_CHECK, &conf,
				       err, sizeof(err)),
			 0);
	inet_pton(AF_INET, "192.0.2.1", &l.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &r.sin_addr);
	assert_int_equal(xfrm_nl_open(&nl), 0);
	policy(&want, "10.2.0.0", 0);
	xfrm_nl_policy_to_id(&want, &id);

	assert_int_equal(kernel_open(dir, "/t.sock", &k), 0);
	assert_int_equal(kernel_install_trap(k, conf->conns[0], conf->conns[0]->children[0],
					     (struct sockaddr *)&l, (struct sockaddr *)&r),
			 0);
	assert_int_equal(kernel_object_count(k), 1);
	assert_int_equal(xfrm_nl_policy_get(nl, &id, &got), 0);
	assert_int_equal(got.ntmpl, 1);
	assert_int_not_equal(got.tmpl[0].reqid, 0);
	assert_int_equal(got.tmpl[0].id.proto, IPPROTO_ESP);
	kernel_close(k);
	assert_int_equal(xfrm_nl_policy_get(nl, &id, &got), -ENOENT);

	/* Someone else's policy for the same selectors: refused, left alone. */
	want.tmpl[0].reqid = 4242;
	assert_int_equal(xfrm_nl_policy_add(nl, &want, false), 0);
	assert_int_equal(kernel_open(dir, "/t.sock", &k), 0);
	assert_int_equal(kernel_install_trap(k, conf->conns[0], conf->conns[0]->children[0],
					     (struct sockaddr *)&l, (struct sockaddr *)&r),
			 -EEXIST);
	assert_int_equal(kernel_object_count(k), 0);
	kernel_close(k);
	assert_int_equal(xfrm_nl_policy_get(nl, &id, &got), 0);
	assert_int_equal(got.tmpl[0].reqid, 4242);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);

	xfrm_nl_close(nl);
	conf_free(conf);
	rmdir(dir);
}

static int count_lines(const char *path, int *gone)
{
	char line[512];
	int n = 0;
	FILE *f;

	*gone = 0;
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		n++;
		*gone += !strncmp(line, "- ", 2);
	}
	fclose(f);
	return n;
}

/* Lines added, removed ("- "), added again, removed without being added, torn. */
static void test_journal_replay(void **state)
{
	struct xfrm_nl_policy a, b, c, d, e;
	struct xfrm_nl_policy_id id;
	char dir[] = "/tmp/test_iked_kernel.XXXXXX", path[256];
	struct kernel *k = NULL;
	struct xfrm_nl *nl;
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(xfrm_nl_open(&nl), 0);
	policy(&a, "10.2.0.0", 7); /* added: removed at start */
	policy(&b, "10.3.0.0", 7); /* added, gone: kept */
	policy(&c, "10.4.0.0", 7); /* added, gone, added again: removed */
	policy(&d, "10.5.0.0", 7); /* only "gone": kept */
	policy(&e, "10.6.0.0", 7); /* a torn last line: kept */
	assert_int_equal(xfrm_nl_policy_add(nl, &a, false), 0);
	assert_int_equal(xfrm_nl_policy_add(nl, &b, false), 0);
	assert_int_equal(xfrm_nl_policy_add(nl, &c, false), 0);
	assert_int_equal(xfrm_nl_policy_add(nl, &d, false), 0);
	assert_int_equal(xfrm_nl_policy_add(nl, &e, false), 0);

	snprintf(path, sizeof(path), "%s/_j.sock.state", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	state_line(f, &a, 7);
	state_line(f, &b, 7);
	state_line(f, &c, 7);
	fputs("- ", f);
	state_line(f, &b, 7);
	fputs("- ", f);
	state_line(f, &c, 7);
	state_line(f, &c, 7);
	fputs("- ", f);
	state_line(f, &d, 7);
	fputs("pol 1 0a06", f);
	fclose(f);

	assert_int_equal(kernel_open(dir, "/j.sock", &k), 0);
	assert_false(policy_exists(nl, &a));
	assert_true(policy_exists(nl, &b));
	assert_false(policy_exists(nl, &c));
	assert_true(policy_exists(nl, &d));
	assert_true(policy_exists(nl, &e));
	kernel_close(k);
	xfrm_nl_policy_to_id(&b, &id);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	xfrm_nl_policy_to_id(&d, &id);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	xfrm_nl_policy_to_id(&e, &id);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	xfrm_nl_close(nl);
	rmdir(dir);
}

static const char trap_text[] = "connections { c {\n"
				"  remote_addrs = 192.0.2.2\n"
				"  local { auth = psk }\n"
				"  remote { auth = psk }\n"
				"  children {\n"
				"    t { local_ts = 10.1.0.0/24\n"
				"        remote_ts = 10.2.0.0/24\n"
				"        start_action = trap }\n"
				"    u { local_ts = 10.1.0.0/24\n"
				"        remote_ts = 10.3.0.0/24\n"
				"        start_action = trap }\n"
				"  }\n"
				"} }\n";

/*
 * Install trap t and u, then remove and reinstall u many times (a trap has
 * SPIs 0/0: kernel_remove_child() finds it like a child SA). The journal
 * stays within a bound and ends up describing t and u; a run that dies then
 * (a forked child that _exits without kernel_close) leaves policies the next
 * start removes.
 */
static void test_journal_compact_crash(void **state)
{
	char dir[] = "/tmp/test_iked_kernel.XXXXXX", path[256], err[256];
	struct sockaddr_in l = { .sin_family = AF_INET }, r = { .sin_family = AF_INET };
	struct xfrm_nl_policy want_t, want_u;
	struct conf *conf = NULL;
	struct kernel *k = NULL;
	struct xfrm_nl *nl;
	int status, gone;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/_crash.sock.state", dir);
	assert_int_equal(conf_load_buf(trap_text, sizeof(trap_text) - 1, "t.conf",
				       CONF_NO_INCLUDE | CONF_NO_CREDS | CONF_NO_PERM_CHECK, &conf,
				       err, sizeof(err)),
			 0);
	inet_pton(AF_INET, "192.0.2.1", &l.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &r.sin_addr);
	assert_int_equal(xfrm_nl_open(&nl), 0);
	policy(&want_t, "10.2.0.0", 0);
	policy(&want_u, "10.3.0.0", 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct conf_conn *conn = conf->conns[0];
		struct engine_child c;
		int i, n, rc = 0;

		memset(&c, 0, sizeof(c));
		c.local = (struct sockaddr *)&l;
		if (kernel_open(dir, "/crash.sock", &k) ||
		    kernel_install_trap(k, conn, conn->children[0], c.local,
					(struct sockaddr *)&r) ||
		    kernel_install_trap(k, conn, conn->children[1], c.local,
					(struct sockaddr *)&r))
			_exit(10);
		for (i = 0; i < 300 && !rc; i++) {
			/* the newest trap with SPIs 0/0: u */
			kernel_remove_child(k, &c);
			if (kernel_object_count(k) != 1 ||
			    kernel_install_trap(k, conn, conn->children[1], c.local,
						(struct sockaddr *)&r))
				rc = 11;
			/* compacted once past 256 lines (two per cycle) */
			n = count_lines(path, &gone);
			if (n < 2 || n > 256 + 2)
				rc = 12;
		}
		if (!rc && kernel_object_count(k) != 2)
			rc = 13;
		_exit(rc); /* no kernel_close(): a crash */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the dead run's policies and its record are still there */
	assert_true(policy_exists(nl, &want_t));
	assert_true(policy_exists(nl, &want_u));
	assert_true(count_lines(path, &gone) >= 2);
	assert_true(gone > 0); /* it was appended to, not only rewritten */

	assert_int_equal(kernel_open(dir, "/crash.sock", &k), 0);
	assert_false(policy_exists(nl, &want_t));
	assert_false(policy_exists(nl, &want_u));
	assert_int_equal(kernel_object_count(k), 0);
	assert_int_equal(count_lines(path, &gone), 0);
	kernel_close(k);
	assert_int_not_equal(access(path, F_OK), 0);
	xfrm_nl_close(nl);
	conf_free(conf);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_prefixes),
		cmocka_unit_test(test_leftovers),
		cmocka_unit_test(test_install_failure_clean),
		cmocka_unit_test(test_trap),
		cmocka_unit_test(test_journal_replay),
		cmocka_unit_test(test_journal_compact_crash),
	};

	return cmocka_run_group_tests(tests, ns_setup, NULL);
}
