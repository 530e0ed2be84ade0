// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control socket server: framing and JSON helpers. The commands themselves
 * are the daemon's (daemon.c); see ctl.h for the protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ikev2_exch.h"
#include "log.h"

static void ctl_buf_reserve(struct ctl_buf *b, size_t more)
{
	size_t cap;
	char *s;

	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return;
	}
	b->s = s;
	b->cap = cap;
}

void ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	ctl_buf_reserve(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ctl_buf_json_str(struct ctl_buf *b, const char *s)
{
	ctl_buf_printf(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			ctl_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			ctl_buf_printf(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			ctl_buf_printf(b, "\\u%04x", c);
		else
			ctl_buf_printf(b, "%c", c);
	}
	ctl_buf_printf(b, "\"");
}

void ctl_stats_json(struct ctl_buf *b, const struct engine_stats *st)
{
	ctl_buf_printf(b,
		       "\"stats\":{\"rx\":%" PRIu64 ",\"rx_dropped\":%" PRIu64 ",\"tx\":%" PRIu64
		       ",\"retransmits\":%" PRIu64 ",\"ike_established\":%" PRIu64
		       ",\"ike_deleted\":%" PRIu64 ",\"auth_failed\":%" PRIu64
		       ",\"child_installed\":%" PRIu64 ",\"child_removed\":%" PRIu64
		       ",\"ike_rekeyed\":%" PRIu64 ",\"child_rekeyed\":%" PRIu64
		       ",\"ike_reauthed\":%" PRIu64 "}",
		       st->rx, st->rx_dropped, st->tx, st->retransmits, st->ike_established,
		       st->ike_deleted, st->auth_failed, st->child_installed, st->child_removed,
		       st->ike_rekeyed, st->child_rekeyed, st->ike_reauthed);
}

void ctl_buf_free(struct ctl_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

static int ctl_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int ctl_open(const char *path, int *fd_out)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, probe, err;

	err = ctl_addr(path, &sun);
	if (err)
		return err;
	/* A socket file someone answers on is another xiked: don't steal it. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (!connect(probe, (struct sockaddr *)&sun, sizeof(sun))) {
			close(probe);
			return -EADDRINUSE;
		}
		close(probe);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	old = umask(0077);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old);
	if (!err && listen(fd, 8))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

void ctl_close(int fd, const char *path)
{
	if (fd < 0)
		return;
	close(fd);
	(void)unlink(path);
}

/* Read up to the first newline; a client gets one second to send it. */
static int ctl_read_line(int fd, char *line, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = read(fd, line + len, size - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	if (!memchr(line, '\n', len) && len + 1 >= size)
		return -EMSGSIZE;
	line[strcspn(line, "\r\n")] = '\0';
	return 0;
}

static void ctl_write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_debug("ctl: reply not sent: %s", strerror(errno));
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

void ctl_serve(int fd, ctl_handler handler, void *arg)
{
	struct timeval tv = { .tv_sec = 1 };
	char line[CTL_LINE_MAX + 2], err[256] = "";
	struct ctl_buf reply = { 0 };
	char *cmd, *args;
	int cfd, rc;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("ctl: accept: %s", strerror(errno));
		return;
	}
	(void)setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	rc = ctl_read_line(cfd, line, sizeof(line));
	if (rc) {
		snprintf(err, sizeof(err), "request: %s", strerror(-rc));
		goto answer;
	}
	cmd = line + strspn(line, " \t");
	args = cmd + strcspn(cmd, " \t");
	if (*args)
		*args++ = '\0';
	args += strspn(args, " \t");
	if (!*cmd) {
		rc = -EINVAL;
		snprintf(err, sizeof(err), "empty request");
		goto answer;
	}
	log_debug("ctl: request '%s' '%s'", cmd, args);
	rc = handler(arg, cmd, args, &reply, err, sizeof(err));
answer:
	if (!rc && reply.oom) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
	}
	if (rc) {
		ctl_buf_free(&reply);
		ctl_buf_printf(&reply, "{\"ok\":false,\"error\":");
		ctl_buf_json_str(&reply, *err ? err : strerror(-rc));
		ctl_buf_printf(&reply, "}");
	}
	ctl_buf_printf(&reply, "\n");
	if (!reply.oom)
		ctl_write_all(cfd, reply.s, reply.len);
	ctl_buf_free(&reply);
	close(cfd);
}
