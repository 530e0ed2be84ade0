/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Levelled logging shared by xipsec and xiked.
 *
 * Lines go to stderr (foreground, CLI) or syslog (daemon). Callers prefix the
 * module: log_warn("xfrm: add SA spi 0x%08x: %s", spi, strerror(-err)).
 * Never pass key material to these functions.
 */
#ifndef XIPSEC_LOG_H
#define XIPSEC_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Messages above @level are dropped. @use_syslog sends them to syslog(3) as @ident. */
void log_init(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Route libbpf's own messages into this logger (debug only with -v -v). */
void log_route_libbpf(void);

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
