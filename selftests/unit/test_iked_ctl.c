// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control channel end to end in one test process: xiked's server side
 * (iked/ctl.c) answering `xipsec ike` (loader/cmd_ike.c), which runs in a
 * forked child with its stdout captured; plus the JSON helpers of both ends
 * and the engine counters of "list".
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "../../iked/ctl.h"
#include "../../iked/ikev2_exch.h"
#include "../../loader/cmd_ike.h"

static char sock_path[64];
static char last_cmd[64], last_args[CTL_LINE_MAX];

static int handler(void *arg, const char *cmd, const char *args, struct ctl_buf *reply, char *err,
		   size_t errlen)
{
	(void)arg;
	snprintf(last_cmd, sizeof(last_cmd), "%s", cmd);
	snprintf(last_args, sizeof(last_args), "%s", args);
	if (!strcmp(cmd, "list") && !strcmp(args, "text")) {
		ctl_buf_printf(reply, "{\"ok\":true,\"text\":");
		ctl_buf_json_str(reply, "s2s: ESTABLISHED \"x\"\\\n\tA\n");
		ctl_buf_printf(reply, "}");
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		ctl_buf_printf(reply, "{\"ok\":true,\"ike_sas\":[]}");
		return 0;
	}
	if (!strcmp(cmd, "up")) {
		ctl_buf_printf(reply, "{\"ok\":true,\"message\":\"initiating %s\"}", args);
		return 0;
	}
	snprintf(err, errlen, "no IKE SA of '%s'", args);
	return -ENOENT;
}

/* Run cmd_ike(@argv) in a child, serve one request; returns its exit status
 * and its stdout in @out. @serve false: no server answers. */
static int run_client(char **argv, int argc, bool serve, char *out, size_t outlen)
{
	char outfile[] = "/tmp/test_iked_ctl.out.XXXXXX";
	struct pollfd pfd;
	int ofd, fd = -1, status;
	ssize_t n;
	pid_t pid;

	last_cmd[0] = last_args[0] = '\0';
	ofd = mkstemp(outfile);
	assert_true(ofd >= 0);
	if (serve)
		assert_int_equal(ctl_open(sock_path, &fd), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		status = cmd_ike(argc, argv);
		fflush(stdout);
		_exit(status);
	}
	if (serve) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) == 1)
			ctl_serve(fd, handler, NULL);
		ctl_close(fd, sock_path);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	n = pread(ofd, out, outlen - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(ofd);
	unlink(outfile);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_list_text(void **state)
{
	char *argv[] = { "--socket", sock_path, "list" };
	char out[256];

	(void)state;
	assert_int_equal(run_client(argv, 3, true, out, sizeof(out)), 0);
	assert_string_equal(last_cmd, "list");
	assert_string_equal(last_args, "text");
	assert_string_equal(out, "s2s: ESTABLISHED \"x\"\\\n\tA\n");
}

static void test_list_json(void **state)
{
	char *argv[] = { "list", "--json", "--socket", sock_path };
	char out[256];

	(void)state;
	assert_int_equal(run_client(argv, 4, true, out, sizeof(out)), 0);
	assert_string_equal(last_cmd, "list");
	assert_string_equal(last_args, "");
	assert_string_equal(out, "{\"ok\":true,\"ike_sas\":[]}\n");
}

static void test_up_down(void **state)
{
	char *up[] = { "--socket", sock_path, "up", "s2s/net" };
	char *down[] = { "--socket", sock_path, "down", "s2s" };
	char out[256];

	(void)state;
	assert_int_equal(run_client(up, 4, true, out, sizeof(out)), 0);
	assert_string_equal(last_cmd, "up");
	assert_string_equal(last_args, "s2s/net");
	assert_string_equal(out, "initiating s2s/net\n");
	/* An error reply is exit status 1, the message on stderr. */
	assert_int_equal(run_client(down, 4, true, out, sizeof(out)), 1);
	assert_string_equal(last_cmd, "down");
	assert_string_equal(out, "");
}

static void test_usage_and_no_daemon(void **state)
{
	char *none[] = { "--socket", sock_path };
	char *up_no_target[] = { "--socket", sock_path, "up" };
	char *unknown[] = { "--socket", sock_path, "frob" };
	char *json_up[] = { "--socket", sock_path, "up", "x", "--json" };
	char *list[] = { "--socket", sock_path, "list" };
	char out[256];

	(void)state;
	assert_int_equal(run_client(none, 2, false, out, sizeof(out)), 1);
	assert_int_equal(run_client(up_no_target, 3, false, out, sizeof(out)), 1);
	assert_int_equal(run_client(unknown, 3, false, out, sizeof(out)), 1);
	assert_int_equal(run_client(json_up, 5, false, out, sizeof(out)), 1);
	/* Nobody listening. */
	assert_int_equal(run_client(list, 3, false, out, sizeof(out)), 1);
}

static void test_json_helpers(void **state)
{
	struct ctl_buf b = { 0 };
	char out[64];

	(void)state;
	ctl_buf_json_str(&b, "a\"b\\c\nd\x01");
	assert_false(b.oom);
	assert_string_equal(b.s, "\"a\\\"b\\\\c\\nd\\u0001\"");
	ctl_buf_free(&b);

	assert_int_equal(ike_json_get_str("{\"ok\":false,\"error\":\"x\\u0041\\\"\\\\y\"}", "error",
					  out, sizeof(out)),
			 0);
	assert_string_equal(out, "xA\"\\y");
	assert_int_equal(ike_json_get_str("{\"ok\":true}", "error", out, sizeof(out)), -ENOENT);
	assert_int_equal(ike_json_get_str("{\"text\":\"abcdef\"}", "text", out, 4), -ENOSPC);
	assert_int_equal(ike_json_get_str("{\"text\":\"abc", "text", out, sizeof(out)), -EINVAL);
	assert_int_equal(ike_json_get_str("{\"text\":\"\\u00zz\"}", "text", out, sizeof(out)),
			 -EINVAL);
}

/* Every counter of struct engine_stats that "list" shows, by name, with
 * its own value; engine_stats_add() sums each of them. */
static void test_stats_json(void **state)
{
	struct engine_stats a = {
		.rx = 1, .rx_dropped = 2, .tx = 3, .retransmits = 4,
		.cached_replies = 5, .requests_processed = 6, .cookies_sent = 7,
		.invalid_ke_sent = 8, .ike_established = 9, .ike_deleted = 10,
		.auth_failed = 11, .child_installed = 12, .child_removed = 13,
		.ike_rekeyed = 14, .child_rekeyed = 15, .ike_reauthed = 16,
	};
	struct engine_stats sum = a;
	struct ctl_buf b = { 0 };

	(void)state;
	ctl_stats_json(&b, &a);
	assert_false(b.oom);
	assert_string_equal(b.s, "\"stats\":{\"rx\":1,\"rx_dropped\":2,\"tx\":3,\"retransmits\":4,"
				 "\"ike_established\":9,\"ike_deleted\":10,\"auth_failed\":11,"
				 "\"child_installed\":12,\"child_removed\":13,\"ike_rekeyed\":14,"
				 "\"child_rekeyed\":15,\"ike_reauthed\":16}");
	ctl_buf_free(&b);

	engine_stats_add(&sum, &a);
	memset(&b, 0, sizeof(b));
	ctl_stats_json(&b, &sum);
	assert_false(b.oom);
	assert_non_null(strstr(b.s, "\"ike_rekeyed\":28,\"child_rekeyed\":30,\"ike_reauthed\":32}"));
	assert_non_null(strstr(b.s, "\"rx\":2,"));
	assert_int_equal(sum.cached_replies, 10);
	assert_int_equal(sum.requests_processed, 12);
	assert_int_equal(sum.cookies_sent, 14);
	assert_int_equal(sum.invalid_ke_sent, 16);
	ctl_buf_free(&b);
}

static void test_socket_in_use(void **state)
{
	int fd, fd2;

	(void)state;
	assert_int_equal(ctl_open(sock_path, &fd), 0);
	/* A second daemon must not steal a live socket. */
	assert_int_equal(ctl_open(sock_path, &fd2), -EADDRINUSE);
	ctl_close(fd, sock_path);
	assert_int_not_equal(access(sock_path, F_OK), 0);
	/* A stale socket file (nobody answers) is replaced. */
	assert_int_equal(ctl_open(sock_path, &fd), 0);
	close(fd);
	assert_int_equal(ctl_open(sock_path, &fd), 0);
	ctl_close(fd, sock_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_text),    cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_up_down),	     cmocka_unit_test(test_usage_and_no_daemon),
		cmocka_unit_test(test_json_helpers), cmocka_unit_test(test_socket_in_use),
		cmocka_unit_test(test_stats_json),
	};

	snprintf(sock_path, sizeof(sock_path), "/tmp/test_iked_ctl.%d.sock", (int)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
