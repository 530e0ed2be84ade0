// SPDX-License-Identifier: GPL-2.0-only
/*
 * `xipsec load` / `unload` / `spd` on the host kernel, driven through the
 * command line (xipsec_run) in a private netns and mount ns:
 *
 *   xa <==== veth ====> xb      xa: inner programs, fresh bpffs on /sys/fs/bpf
 *
 * The host kernel has no ESP, so a file with SAs must fail at the kernel and
 * change nothing (previous rules stay, no policy is left behind); files with
 * rules only go all the way. Root only (exit 4 = skip otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../loader/xipsec.h"
#include "../../loader/journal.h"

static char dir[] = "/tmp/xipsec-load-XXXXXX";
static char out[16384];

/* xipsec WORDS... with stdout captured into out[]; stderr passes through. */
static int xipsec(const char *cmdline)
{
	char buf[1024], *argv[32], *save = NULL, *w, opath[64];
	int argc = 0, fd, saved, rc;
	ssize_t n;

	snprintf(buf, sizeof(buf), "xipsec --run-dir %s/run %s", dir, cmdline);
	for (w = strtok_r(buf, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	snprintf(opath, sizeof(opath), "%s/out", dir);
	fd = open(opath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	rc = xipsec_run(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void conf(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int count(const char *cmd, const char *needle)
{
	char line[512];
	FILE *f = popen(cmd, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	pclose(f);
	return n;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -1;
	if (system("ip link add xa type veth peer name xb && ip link set xa up && ip link set xb up"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

#define RULES_A                                                              \
	"rule from 10.1.0.0/24 to 10.2.0.0/24 proto udp dport 7000 bypass\n" \
	"rule from 10.1.0.0/24 to 10.2.0.0/24 discard\n"

static void test_load_rules(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "load %s/a.conf", dir);
	conf("a.conf", RULES_A);
	/* nothing attached yet: no maps, refused */
	assert_int_equal(xipsec(cmd), 1);
	assert_int_equal(xipsec("attach xa --inner"), 0);
	assert_int_equal(xipsec(cmd), 0);
	assert_int_equal(xipsec("spd list --json"), 0);
	assert_non_null(strstr(out, "\"index\":1,\"from\":\"10.1.0.0/24\",\"to\":\"10.2.0.0/24\""));
	assert_non_null(strstr(out, "\"bucket_name\":\"discard\",\"action\":\"discard\""));
	assert_int_equal(xipsec("status --json"), 0);
	assert_non_null(strstr(out, "\"rules\":2"));
	assert_non_null(strstr(out, "\"name\":\"xa\",\"side\":\"inner\""));

	/* spd add / del / flush change the active set as a whole */
	assert_int_equal(xipsec("spd add from 10.3.0.0/16 to 10.4.0.0/16 proto tcp sport 1-1023 "
				"bucket low discard"),
			 0);
	assert_int_equal(xipsec("spd list"), 0);
	assert_non_null(strstr(out, "2: from 10.3.0.0/16 to 10.4.0.0/16 proto tcp sport 1-1023"));
	assert_int_equal(xipsec("spd del 0"), 0);
	assert_int_equal(xipsec("spd list --json"), 0);
	assert_null(strstr(out, "\"dport\":[7000,7000]"));
	assert_int_equal(xipsec("spd del 5"), 1);
	assert_int_equal(xipsec("spd flush"), 0);
	assert_int_equal(xipsec("spd list --json"), 0);
	assert_string_equal(out, "[]\n");
	assert_int_equal(xipsec(cmd), 0);
}

/* SAs cannot be installed here (no ESP): the load fails and changes nothing. */
static void test_load_sa_rolls_back(void **state)
{
	char cmd[256], path[128];
	struct journal j;

	(void)state;
	conf("b.conf",
	     "sa o out spi 0x1001 src 192.0.2.1 dst 192.0.2.2 aead aes-gcm "
	     "0x0102030405060708090a0b0c0d0e0f1011121314\n"
	     "sa i in spi 0x2002 src 192.0.2.2 dst 192.0.2.1 aead aes-gcm "
	     "0x0102030405060708090a0b0c0d0e0f1011121314 traffic 10.1.0.0/24 10.2.0.0/24\n"
	     "rule from 10.1.0.0/24 to 10.2.0.0/24 protect o\n");
	snprintf(cmd, sizeof(cmd), "load %s/b.conf", dir);
	assert_int_equal(xipsec(cmd), 1);
	/* the rules of a.conf stay, no state or policy was left behind */
	assert_int_equal(xipsec("spd list --json"), 0);
	assert_non_null(strstr(out, "\"dport\":[7000,7000]"));
	assert_int_equal(count("ip xfrm policy", "src"), 0);
	assert_int_equal(count("ip xfrm state", "src"), 0);
	snprintf(path, sizeof(path), "%s/run/journal", dir);
	assert_int_equal(journal_read(path, &j), 0);
	assert_int_equal(j.nsas, 0);
	assert_int_equal(j.npols, 0);
	journal_free(&j);
}

/* A policy that is not xipsec's blocks a load that would replace it. */
static void test_foreign_policy(void **state)
{
	char cmd[256];

	(void)state;
	/* the 'in' policy b.conf's inbound SA would install, made by someone else */
	assert_int_equal(
		system("ip xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir in "
		       "priority 30720 tmpl src 192.0.2.2 dst 192.0.2.1 proto esp mode tunnel"),
		0);
	snprintf(cmd, sizeof(cmd), "load %s/b.conf", dir);
	assert_int_equal(xipsec(cmd), 1);
	assert_int_equal(count("ip xfrm policy", "dir in"), 1);
	assert_int_equal(xipsec("unload"), 0);
	/* unload removes xipsec's rules but not the foreign policy */
	assert_int_equal(count("ip xfrm policy", "dir in"), 1);
	assert_int_equal(xipsec("spd list --json"), 0);
	assert_string_equal(out, "[]\n");
	assert_int_equal(system("ip xfrm policy flush"), 0);
	assert_int_equal(xipsec("detach xa"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_rules),
		cmocka_unit_test(test_load_sa_rolls_back),
		cmocka_unit_test(test_foreign_policy),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root\n");
		return 4;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
