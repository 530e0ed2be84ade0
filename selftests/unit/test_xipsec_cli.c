// SPDX-License-Identifier: GPL-2.0-only
/*
 * The `xipsec` command line (loader/cli.c): every argument error exits 1
 * with the command's grammar or a message naming the bad word, and
 * `load --check` reports "file:line: message" without touching anything.
 * Nothing here needs root or a dataplane: the pin and run directories point
 * at places that do not exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "../../loader/journal.h"
#include "../../loader/xipsec.h"

static char out[8192], err[8192];

/* Runs xipsec with the words of @cmdline (space separated), capturing stdout and stderr. */
static int run(const char *cmdline)
{
	char buf[1024], *argv[32], *save = NULL, *w;
	char opath[] = "/tmp/xipsec-cli-out-XXXXXX", epath[] = "/tmp/xipsec-cli-err-XXXXXX";
	int argc = 0, ofd, efd, saved_out, saved_err, rc;
	ssize_t n;

	snprintf(buf, sizeof(buf),
		 "xipsec --pin-dir /nonexistent/bpf/xipsec --run-dir "
		 "/nonexistent/run %s",
		 cmdline);
	for (w = strtok_r(buf, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;

	ofd = mkstemp(opath);
	efd = mkstemp(epath);
	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	rc = xipsec_run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);

	n = pread(ofd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	n = pread(efd, err, sizeof(err) - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(ofd);
	close(efd);
	unlink(opath);
	unlink(epath);
	return rc;
}

#define EXPECT(cmd, want_rc, stream, text)                                                        \
	do {                                                                                      \
		int rc_ = run(cmd);                                                               \
		if (rc_ != (want_rc) || !strstr(stream, text))                                    \
			fail_msg("'%s': exit %d, wanted %d and \"%s\" in\n%s", cmd, rc_, want_rc, \
				 text, stream);                                                   \
	} while (0)

static void test_global(void **state)
{
	(void)state;
	EXPECT("", 1, err, "usage: xipsec [-v]");
	EXPECT("--help", 0, out, "attach IFACE --inner|--outer");
	EXPECT("--help", 0, out, "load [--check] FILE");
	EXPECT("bogus", 1, err, "unknown command 'bogus'");
	EXPECT("--frobnicate status", 1, err, "unknown or incomplete option '--frobnicate'");
	EXPECT("--pin-dir relative status", 1, err, "unknown or incomplete option '--pin-dir'");
}

static void test_attach_detach(void **state)
{
	(void)state;
	EXPECT("attach", 1, err, "usage: xipsec attach IFACE --inner|--outer");
	EXPECT("attach lo", 1, err, "usage: xipsec attach");
	EXPECT("attach lo --inner --outer", 1, err, "give one of --inner and --outer");
	EXPECT("attach lo --inner --mode turbo", 1, err, "unknown mode 'turbo'");
	EXPECT("attach lo --inner --mode", 1, err, "unexpected '--mode'");
	EXPECT("attach lo eth0 --inner", 1, err, "unexpected 'eth0'");
	EXPECT("attach lo --inner --allow-unknown-spi", 1, err, "usage: xipsec attach");
	EXPECT("attach no-such-if0 --inner", 1, err, "no interface 'no-such-if0'");
	EXPECT("detach", 1, err, "usage: xipsec detach IFACE");
	EXPECT("detach a b", 1, err, "usage: xipsec detach IFACE");
	EXPECT("detach no-such-if0", 1, err, "no interface 'no-such-if0'");
}

static void test_status_sa_set(void **state)
{
	(void)state;
	EXPECT("status --yaml", 1, err, "usage: xipsec status [--json]");
	/* no dataplane is not an error for status */
	EXPECT("status", 0, out, "dataplane: no maps in /nonexistent/bpf/xipsec");
	EXPECT("status --json", 0, out, "\"dataplane\":null}");
	EXPECT("sa", 1, err, "usage: xipsec sa list [--json]");
	EXPECT("sa show", 1, err, "usage: xipsec sa list [--json]");
	EXPECT("sa list --xml", 1, err, "usage: xipsec sa list [--json]");
	EXPECT("set", 1, err, "usage: xipsec set unknown-spi drop|pass");
	EXPECT("set unknown-spi maybe", 1, err, "usage: xipsec set unknown-spi drop|pass");
	EXPECT("set unknown-spi drop", 1, err, "no dataplane maps in /nonexistent/bpf/xipsec");
	EXPECT("unload now", 1, err, "usage: xipsec unload");
}

static void test_spd(void **state)
{
	(void)state;
	EXPECT("spd", 1, err, "usage: xipsec spd list");
	EXPECT("spd show", 1, err, "usage: xipsec spd list");
	EXPECT("spd list --xml", 1, err, "usage: xipsec spd list");
	EXPECT("spd del", 1, err, "usage: xipsec spd list");
	EXPECT("spd flush now", 1, err, "usage: xipsec spd list");
	EXPECT("spd add", 1, err, "usage: xipsec spd list");
	EXPECT("spd add from 10.0.0.0/8 to 10.1.0.0/16 proto tcp dport x bypass", 1, err,
	       "bad port or port range 'x'");
	EXPECT("spd add from 10.0.0.0/8 to 10.1.0.0/16 proto tcp dport x bypass", 1, err,
	       "RULE: from PREFIX to PREFIX");
	EXPECT("spd add from 10.0.0.0/8 bypass", 1, err,
	       "rule needs 'from PREFIX' and 'to PREFIX'");
	EXPECT("spd add from 10.0.0.0/8 to 10.1.0.0/16 protect nosuch", 1, err,
	       "no outbound SA 'nosuch' installed by 'xipsec load'");
	EXPECT("spd add from 10.0.0.0/8 to 10.1.0.0/16 bypass", 1, err,
	       "no dataplane maps in /nonexistent/bpf/xipsec");
	EXPECT("spd list", 1, err, "run 'xipsec attach' first");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_load(void **state)
{
	char path[] = "/tmp/xipsec-cli-conf-XXXXXX", cmd[256];
	int fd;

	(void)state;
	EXPECT("load", 1, err, "usage: xipsec load [--check] FILE");
	EXPECT("load --frob x", 1, err, "usage: xipsec load [--check] FILE");
	EXPECT("load a b", 1, err, "usage: xipsec load [--check] FILE");
	EXPECT("load /nonexistent/x.conf", 1, err,
	       "/nonexistent/x.conf: No such file or directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path,
		   "sa a out spi 0x1001 src 192.0.2.1 dst 192.0.2.2 aead aes-gcm "
		   "0x0102030405060708090a0b0c0d0e0f1011121314\n"
		   "rule from 10.1.0.0/24 to 10.2.0.0/24 protect a\n"
		   "rule from 10.1.0.0/24 to 10.2.0.0/24 bypass\n",
		   0600);
	snprintf(cmd, sizeof(cmd), "load --check %s", path);
	EXPECT(cmd, 0, out, "ok: 1 SAs, 2 rules, 2 buckets");

	/* a real load needs the dataplane: refused with nothing changed */
	snprintf(cmd, sizeof(cmd), "load %s", path);
	EXPECT(cmd, 1, err, "run 'xipsec attach' first");

	chmod(path, 0604);
	snprintf(cmd, sizeof(cmd), "load --check %s", path);
	EXPECT(cmd, 1, err, "holds keys but is accessible by group or others (mode 0604)");

	write_file(
		path,
		"rule from 10.1.0.0/24 to 10.2.0.0/24 bypass\n\nrule from 10.1.0.0/33 to x discard\n",
		0644);
	snprintf(cmd, sizeof(cmd), "load --check %s", path);
	EXPECT(cmd, 1, err, ":3: bad prefix length: '10.1.0.0/33'");
	unlink(path);
}

/* The ownership journal survives a write/read round trip; damage is detected. */
static void test_journal(void **state)
{
	char path[] = "/tmp/xipsec-journal-XXXXXX";
	struct journal j, back;
	struct journal_sa sa;
	struct journal_pol pol;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	memset(&j, 0, sizeof(j));
	memset(&sa, 0, sizeof(sa));
	snprintf(sa.name, sizeof(sa.name), "gw1-gw2");
	sa.id = 3;
	sa.reqid = 0x78490003;
	sa.xid.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::2", &sa.xid.daddr);
	sa.xid.spi = htonl(0xdeadbeef);
	sa.xid.proto = IPPROTO_ESP;
	assert_int_equal(journal_add_sa(&j, &sa), 0);
	memset(&pol, 0, sizeof(pol));
	pol.pid.dir = XFRM_POLICY_OUT;
	pol.pid.has_mark = true;
	pol.pid.mark.v = 0x30000;
	pol.pid.mark.m = 0xffff0000;
	pol.pid.sel.family = AF_INET;
	pol.pid.sel.prefixlen_d = 24;
	pol.pid.sel.daddr.a4 = htonl(0x0a020000);
	pol.pid.sel.dport = htons(22);
	assert_int_equal(journal_add_pol(&j, &pol), 0);
	pol.pid.dir = XFRM_POLICY_FWD;
	pol.pid.has_mark = false;
	pol.pid.mark.v = pol.pid.mark.m = 0;
	assert_int_equal(journal_add_pol(&j, &pol), 0);
	assert_int_equal(journal_write(path, &j), 0);

	assert_int_equal(journal_read(path, &back), 0);
	assert_int_equal(back.nsas, 1);
	assert_int_equal(back.npols, 2);
	assert_string_equal(back.sas[0].name, "gw1-gw2");
	assert_int_equal(back.sas[0].id, 3);
	assert_false(back.sas[0].inbound);
	assert_int_equal(back.sas[0].reqid, 0x78490003);
	assert_true(journal_sa_id_eq(&back.sas[0].xid, &sa.xid));
	assert_non_null(journal_find_sa(&back, &sa.xid));
	assert_non_null(journal_find_sa_name(&back, "gw1-gw2"));
	assert_null(journal_find_sa_name(&back, "gw1"));
	assert_non_null(journal_find_pol(&back, &j.pols[0].pid));
	assert_non_null(journal_find_pol(&back, &j.pols[1].pid));
	pol.pid.sel.dport = htons(23);
	assert_null(journal_find_pol(&back, &pol.pid));
	journal_free(&back);

	f = fopen(path, "a");
	assert_non_null(f);
	fputs("pol 1 0/0 00ff\n", f);
	fclose(f);
	assert_int_equal(journal_read(path, &back), -EBADMSG);
	assert_int_equal(back.nsas + back.npols, 0);
	unlink(path);
	/* missing journal: nothing owned */
	assert_int_equal(journal_read(path, &back), 0);
	assert_int_equal(back.nsas + back.npols, 0);
	journal_free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global),	      cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_status_sa_set), cmocka_unit_test(test_spd),
		cmocka_unit_test(test_load),	      cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
