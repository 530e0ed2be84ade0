// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <syslog.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;

static const int log_syslog_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

static const char *const log_level_name[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_init(const char *ident, enum log_level level, bool use_syslog)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

bool log_enabled(enum log_level level)
{
	return level <= log_level;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (!log_enabled(level))
		return;
	if (log_syslog) {
		vsyslog(log_syslog_prio[level], fmt, ap);
		return;
	}
	if (level != LOG_LVL_INFO)
		fprintf(stderr, "%s: ", log_level_name[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static int log_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG;
	char line[1024];
	int n;

	if (!log_enabled(ours))
		return 0;
	/* libbpf ends its lines with '\n'; ours adds one. */
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0 && (size_t)n < sizeof(line) && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_msg(ours, "libbpf: %s", line);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(log_libbpf_print);
}
