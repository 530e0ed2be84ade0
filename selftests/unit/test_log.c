// SPDX-License-Identifier: GPL-2.0-only
/*
 * lib/log: level filtering, line format, and libbpf's messages routed through it.
 * stderr is redirected into a temporary file that each test reads back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>

#include "log.h"

static FILE *capture;
static int saved_stderr = -1;

static int capture_setup(void **state)
{
	capture = tmpfile();
	if (!capture)
		return -1;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(capture), STDERR_FILENO);
	log_init("test", LOG_LVL_INFO, false);
	return 0;
}

static int capture_teardown(void **state)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(capture);
	return 0;
}

/* Everything written to stderr since the test began. */
static const char *captured(void)
{
	static char buf[4096];
	size_t n;

	fflush(stderr);
	rewind(capture);
	n = fread(buf, 1, sizeof(buf) - 1, capture);
	buf[n] = '\0';
	return buf;
}

static void test_levels_filter(void **state)
{
	log_info("shown %d", 1);
	log_debug("hidden %d", 2);
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown %d", 3);
	log_set_level(LOG_LVL_ERR);
	log_warn("hidden %d", 4);
	log_err("shown %d", 5);
	assert_string_equal(captured(), "shown 1\ndebug: shown 3\nerror: shown 5\n");
}

static void test_enabled(void **state)
{
	log_set_level(LOG_LVL_WARN);
	assert_true(log_enabled(LOG_LVL_ERR));
	assert_true(log_enabled(LOG_LVL_WARN));
	assert_false(log_enabled(LOG_LVL_INFO));
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
}

static void test_libbpf_routed(void **state)
{
	struct bpf_object *obj;

	log_route_libbpf();
	obj = bpf_object__open_file("/nonexistent/xipsec-test.bpf.o", NULL);
	assert_null(obj);
	/* libbpf's own '\n' is folded into ours: one line, our prefix. */
	assert_non_null(strstr(captured(), "warning: libbpf: "));
	assert_null(strstr(captured(), "\n\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels_filter, capture_setup, capture_teardown),
		cmocka_unit_test_setup_teardown(test_enabled, capture_setup, capture_teardown),
		cmocka_unit_test_setup_teardown(test_libbpf_routed, capture_setup, capture_teardown),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
