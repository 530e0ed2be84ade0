// SPDX-License-Identifier: GPL-2.0-only
/* Ownership journal of `xipsec load` (format in journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "journal.h"

void journal_free(struct journal *j)
{
	free(j->sas);
	free(j->pols);
	memset(j, 0, sizeof(*j));
}

int journal_add_sa(struct journal *j, const struct journal_sa *sa)
{
	void *p = realloc(j->sas, (j->nsas + 1) * sizeof(*j->sas));

	if (!p)
		return -ENOMEM;
	j->sas = p;
	j->sas[j->nsas++] = *sa;
	return 0;
}

int journal_add_pol(struct journal *j, const struct journal_pol *pol)
{
	void *p = realloc(j->pols, (j->npols + 1) * sizeof(*j->pols));

	if (!p)
		return -ENOMEM;
	j->pols = p;
	j->pols[j->npols++] = *pol;
	return 0;
}

bool journal_sa_id_eq(const struct xfrm_nl_sa_id *a, const struct xfrm_nl_sa_id *b)
{
	return a->family == b->family && a->spi == b->spi && a->proto == b->proto &&
	       !memcmp(&a->daddr, &b->daddr, sizeof(a->daddr)) && a->has_mark == b->has_mark &&
	       (!a->has_mark || !memcmp(&a->mark, &b->mark, sizeof(a->mark)));
}

bool journal_pol_id_eq(const struct xfrm_nl_policy_id *a, const struct xfrm_nl_policy_id *b)
{
	return a->dir == b->dir && !memcmp(&a->sel, &b->sel, sizeof(a->sel)) &&
	       a->has_mark == b->has_mark &&
	       (!a->has_mark || !memcmp(&a->mark, &b->mark, sizeof(a->mark))) &&
	       a->has_if_id == b->has_if_id && (!a->has_if_id || a->if_id == b->if_id);
}

const struct journal_sa *journal_find_sa(const struct journal *j, const struct xfrm_nl_sa_id *id)
{
	size_t i;

	for (i = 0; i < j->nsas; i++)
		if (journal_sa_id_eq(&j->sas[i].xid, id))
			return &j->sas[i];
	return NULL;
}

const struct journal_sa *journal_find_sa_name(const struct journal *j, const char *name)
{
	size_t i;

	for (i = 0; i < j->nsas; i++)
		if (!strcmp(j->sas[i].name, name))
			return &j->sas[i];
	return NULL;
}

const struct journal_pol *journal_find_pol(const struct journal *j,
					   const struct xfrm_nl_policy_id *id)
{
	size_t i;

	for (i = 0; i < j->npols; i++)
		if (journal_pol_id_eq(&j->pols[i].pid, id))
			return &j->pols[i];
	return NULL;
}

static void journal_hex(FILE *f, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
}

static int journal_unhex(const char *s, void *p, size_t len)
{
	unsigned char *b = p;
	size_t i;

	if (strlen(s) != 2 * len)
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EBADMSG;
		b[i] = (unsigned char)v;
	}
	return 0;
}

int journal_write(const char *path, const struct journal *j)
{
	char tmp[512], addr[INET6_ADDRSTRLEN];
	FILE *f;
	size_t i;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto fail;
	}
	fprintf(f, "# xipsec journal v1: kernel xfrm objects installed by 'xipsec load'\n");
	for (i = 0; i < j->nsas; i++) {
		const struct journal_sa *s = &j->sas[i];

		inet_ntop(s->xid.family, &s->xid.daddr, addr, sizeof(addr));
		fprintf(f, "sa %s %u %s %d %s %08x %u %u\n", s->name, s->id,
			s->inbound ? "in" : "out", s->xid.family == AF_INET ? 4 : 6, addr,
			ntohl(s->xid.spi), s->xid.proto, s->reqid);
	}
	for (i = 0; i < j->npols; i++) {
		const struct journal_pol *p = &j->pols[i];

		fprintf(f, "pol %u %08x/%08x ", p->pid.dir, p->pid.has_mark ? p->pid.mark.v : 0,
			p->pid.has_mark ? p->pid.mark.m : 0);
		journal_hex(f, &p->pid.sel, sizeof(p->pid.sel));
		fputc('\n', f);
	}
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		goto fail;
	if (rename(tmp, path)) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return err;
}

int journal_read(const char *path, struct journal *j)
{
	char line[512];
	FILE *f;
	int err = 0;

	memset(j, 0, sizeof(*j));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char name[64], dir[8], addr[INET6_ADDRSTRLEN + 1],
			sel[2 * sizeof(struct xfrm_selector) + 3];
		unsigned int id, fam, spi, proto, reqid, pdir, mv, mm;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strncmp(line, "sa ", 3)) {
			struct journal_sa s;

			memset(&s, 0, sizeof(s));
			if (sscanf(line, "sa %63s %u %7s %u %46s %x %u %u", name, &id, dir, &fam,
				   addr, &spi, &proto, &reqid) != 8 ||
			    strlen(name) >= sizeof(s.name) || (fam != 4 && fam != 6)) {
				err = -EBADMSG;
				break;
			}
			strcpy(s.name, name);
			s.id = id;
			s.inbound = !strcmp(dir, "in");
			s.reqid = reqid;
			s.xid.family = fam == 4 ? AF_INET : AF_INET6;
			if (inet_pton(s.xid.family, addr, &s.xid.daddr) != 1) {
				err = -EBADMSG;
				break;
			}
			s.xid.spi = htonl(spi);
			s.xid.proto = (__u8)proto;
			err = journal_add_sa(j, &s);
		} else if (!strncmp(line, "pol ", 4)) {
			struct journal_pol p;

			memset(&p, 0, sizeof(p));
			if (sscanf(line, "pol %u %x/%x %114s", &pdir, &mv, &mm, sel) != 4 ||
			    journal_unhex(sel, &p.pid.sel, sizeof(p.pid.sel))) {
				err = -EBADMSG;
				break;
			}
			p.pid.dir = (__u8)pdir;
			p.pid.has_mark = mv || mm;
			p.pid.mark.v = mv;
			p.pid.mark.m = mm;
			err = journal_add_pol(j, &p);
		} else {
			err = -EBADMSG;
		}
		if (err)
			break;
	}
	fclose(f);
	if (err)
		journal_free(j);
	return err;
}
