// SPDX-License-Identifier: GPL-2.0-only
/*
 * The xiked command line (iked/main.c): exit codes and messages of -h, -n,
 * bad options, a bad configuration, and a daemon that cannot start (its
 * control socket cannot be created) failing with a clear message. Runs the built binary, $(BUILD)/xiked, found relative to this
 * test ($(BUILD)/san/selftests/unit/); skipped if it is not built.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char xiked[600];
static char tmpdir[64];
static char out[8192];

static int setup(void **state)
{
	char self[512];
	ssize_t n;
	char *p;

	(void)state;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	/* .../BUILD/san/selftests/unit/test_conf_main -> .../BUILD/xiked */
	for (int i = 0; i < 4; i++) {
		p = strrchr(self, '/');
		if (!p)
			return -1;
		*p = '\0';
	}
	snprintf(xiked, sizeof(xiked), "%s/xiked", self);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xiked-main-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Run xiked with @args (a shell word list); stdout and stderr into out. */
static int run(const char *args)
{
	char cmd[1024];
	size_t n;
	FILE *f;
	int rc;

	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", xiked, args);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	rc = pclose(f);
	assert_true(WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

static void write_conf(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

static void test_cli(void **state)
{
	char args[512];

	(void)state;
	if (access(xiked, X_OK))
		skip();
	assert_int_equal(run("-h"), 0);
	assert_non_null(strstr(out, "usage: xiked"));
	assert_int_equal(run("-Z"), 1);
	assert_non_null(strstr(out, "usage: xiked"));
	assert_int_equal(run("-n extra"), 1);
	assert_non_null(strstr(out, "unexpected argument 'extra'"));

	write_conf("ok.conf", "connections { c {\n local { auth = psk }\n"
			      " children { net { local_ts = 10.1.0.0/16 } } } }\n"
			      "secrets { ike { secret = x } }\n");
	snprintf(args, sizeof(args), "-n -c %s/ok.conf", tmpdir);
	assert_int_equal(run(args), 0);
	assert_non_null(strstr(out, "connection c: %any[500] ... %any[500], IKEv2"));
	assert_non_null(strstr(out, "child net: 10.1.0.0/16 === dynamic"));
	assert_non_null(strstr(out, "configuration OK"));
	assert_null(strstr(out, "secret ike"));
	snprintf(args, sizeof(args), "-n -v -c %s/ok.conf", tmpdir);
	assert_int_equal(run(args), 0);
	assert_non_null(strstr(out, "IKE proposal 1: aes128 aes192 aes256 sha256"));
	assert_non_null(strstr(out, "secret ike:"));
	/* the secret's value never shows */
	assert_null(strstr(out, "= x"));

	write_conf("bad.conf", "connections {\n c {\n  foo = 1\n }\n}\n");
	snprintf(args, sizeof(args), "-n -c %s/bad.conf", tmpdir);
	assert_int_equal(run(args), 1);
	assert_non_null(strstr(out, "bad.conf:3: unknown key 'foo' in connections.c"));
	assert_null(strstr(out, "configuration OK"));

	snprintf(args, sizeof(args), "-n -c %s/missing.conf", tmpdir);
	assert_int_equal(run(args), 1);
	assert_non_null(strstr(out, "missing.conf: No such file or directory"));

	/* The daemon stops before any socket or netlink work when its control
	 * socket cannot be created: a clear message and a failure. */
	snprintf(args, sizeof(args), "-F -s %s/nodir/ctl.sock -c %s/ok.conf", tmpdir, tmpdir);
	assert_int_equal(run(args), 1);
	assert_non_null(strstr(out, "nodir/ctl.sock: No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
