// SPDX-License-Identifier: GPL-2.0-only
/*
 * `xipsec ike`: one request line to xiked's control socket, one JSON reply
 * line back (iked/ctl.h). --json prints the reply as it is; otherwise the
 * daemon's own text rendering ("list text") or its message is printed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd_ike.h"

#define IKE_REPLY_MAX (16 << 20)

static void ike_usage(FILE *f)
{
	fprintf(f,
		"usage: xipsec ike [--socket PATH] list [--json]\n"
		"       xipsec ike [--socket PATH] up CONN[/CHILD]\n"
		"       xipsec ike [--socket PATH] down CONN[/CHILD]\n"
		"       xipsec ike [--socket PATH] rekey CONN[/CHILD]\n"
		"       xipsec ike [--socket PATH] reload\n"
		"  --socket PATH  xiked's control socket (default " IKE_CTL_DEFAULT_SOCKET ")\n");
}

static int ike_hex4(const char *s, unsigned int *v)
{
	unsigned int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned int)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	return 0;
}

int ike_json_get_str(const char *json, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	if (snprintf(pat, sizeof(pat), "\"%s\":\"", key) >= (int)sizeof(pat))
		return -EINVAL;
	/* The daemon writes these keys once, at the top level of its reply. */
	p = strstr(json, pat);
	if (!p)
		return -ENOENT;
	for (p += strlen(pat); *p && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			unsigned int v;

			switch (*++p) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'u':
				if (ike_hex4(p + 1, &v))
					return -EINVAL;
				c = v < 0x80 ? (char)v : '?';
				p += 4;
				break;
			case '\0':
				return -EINVAL;
			default:
				c = *p;
			}
		}
		if (n + 1 >= outlen)
			return -ENOSPC;
		out[n++] = c;
	}
	if (*p != '"')
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

/* Send @req, return the reply (malloc'ed, NUL-terminated) in @out. */
static int ike_request(const char *path, const char *req, char **out)
{
	struct sockaddr_un sun;
	size_t len = 0, cap = 4096;
	char *buf;
	int fd, err = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		err = -errno;
		close(fd);
		return err;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *nb = cap < IKE_REPLY_MAX ? realloc(buf, 2 * cap) : NULL;

			if (!nb) {
				err = -EMSGSIZE;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (!err && !len)
		err = -ECONNRESET;
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

int cmd_ike(int argc, char **argv)
{
	const char *sock = IKE_CTL_DEFAULT_SOCKET, *verb = NULL, *target = NULL;
	char req[600], *reply = NULL, *text = NULL;
	bool json = false;
	size_t textlen;
	int i, err, rc = 1;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock = argv[i] + 9;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			ike_usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "xipsec ike: unknown option '%s'\n", argv[i]);
			ike_usage(stderr);
			return 1;
		} else if (!verb) {
			verb = argv[i];
		} else if (!target) {
			target = argv[i];
		} else {
			fprintf(stderr, "xipsec ike: unexpected argument '%s'\n", argv[i]);
			ike_usage(stderr);
			return 1;
		}
	}
	if (!verb || !*sock) {
		ike_usage(stderr);
		return 1;
	}
	if (!strcmp(verb, "list") || !strcmp(verb, "reload")) {
		if (target || (json && strcmp(verb, "list") != 0)) {
			ike_usage(stderr);
			return 1;
		}
		snprintf(req, sizeof(req), "%s%s", verb,
			 !strcmp(verb, "list") && !json ? " text" : "");
	} else if (!strcmp(verb, "up") || !strcmp(verb, "down") || !strcmp(verb, "rekey")) {
		if (!target || json || strlen(target) > 500 || strpbrk(target, " \t\r\n")) {
			ike_usage(stderr);
			return 1;
		}
		snprintf(req, sizeof(req), "%s %s", verb, target);
	} else {
		fprintf(stderr, "xipsec ike: unknown command '%s'\n", verb);
		ike_usage(stderr);
		return 1;
	}

	err = ike_request(sock, req, &reply);
	if (err || !reply) {
		fprintf(stderr, "xipsec ike: %s: %s (is xiked running?)\n", sock,
			strerror(err ? -err : EIO));
		return 1;
	}
	textlen = strlen(reply) + 1;
	text = malloc(textlen);
	if (!text)
		goto out;
	if (strncmp(reply, "{\"ok\":true", 10) != 0) {
		if (ike_json_get_str(reply, "error", text, textlen))
			snprintf(text, textlen, "bad reply from xiked");
		fprintf(stderr, "xipsec ike %s: %s\n", verb, text);
		if (json)
			fputs(reply, stdout);
		goto out;
	}
	if (json) {
		fputs(reply, stdout);
	} else if (!ike_json_get_str(reply, "text", text, textlen) ||
		   !ike_json_get_str(reply, "message", text, textlen)) {
		fputs(text, stdout);
		if (*text && text[strlen(text) - 1] != '\n')
			fputc('\n', stdout);
	}
	rc = 0;
out:
	free(text);
	free(reply);
	return rc;
}
