// SPDX-License-Identifier: GPL-2.0-only
/*
 * swanctl.conf tree -> struct conf. One key table per section kind; a key
 * that is not in its table is an error, never skipped. Defaults are
 * swanctl's (see docs/swanctl-subset.md for the differences).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "conf.h"
#include "conf_parse.h"

#define CONF_UNSET UINT32_MAX /* derived default not computed yet */

struct conf_ctx {
	struct conf *conf;
	struct conf_tree *tree;
	unsigned int flags;
	char *err;
	size_t errlen;
};

static int conf_fail(struct conf_ctx *c, const struct conf_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_fail(struct conf_ctx *c, const struct conf_node *n, const char *fmt, ...)
{
	va_list ap;
	int w = 0;

	if (c->err[0])
		return -EINVAL;
	if (n && n->file)
		w = snprintf(c->err, c->errlen, "%s:%u: ", n->file->path, n->line);
	if (w < 0 || (size_t)w >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + w, c->errlen - (size_t)w, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "invalid <what> 'value' for connections.x.key" */
static int conf_bad(struct conf_ctx *c, const struct conf_node *kv, const char *what,
		    const char *detail)
{
	char path[384];

	conf_node_path(kv, path, sizeof(path));
	return conf_fail(c, kv, "invalid %s '%.128s' for %s%s%s", what, kv->value, path,
			 detail ? ": " : "", detail ? detail : "");
}

static int conf_unknown(struct conf_ctx *c, const struct conf_node *n)
{
	char path[384];

	conf_node_path(n->parent, path, sizeof(path));
	if (!path[0])
		return conf_fail(c, n, "unknown %s '%.128s' at top level",
				 n->section ? "section" : "key", n->name);
	return conf_fail(c, n, "unknown %s '%.128s' in %s", n->section ? "section" : "key", n->name,
			 path);
}

static bool conf_has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Split a comma separated list; calls @fn with each trimmed, non-empty item. */
static int conf_list(struct conf_ctx *c, const struct conf_node *kv,
		     int (*fn)(struct conf_ctx *, const struct conf_node *, const char *, void *),
		     void *arg)
{
	char *copy = strdup(kv->value), *tok, *save = NULL, *end;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok)
			err = fn(c, kv, tok, arg);
	}
	free(copy);
	return err;
}

static int conf_grow(void **arr, size_t *n, size_t size)
{
	void *v;

	if (*n >= 4096)
		return -E2BIG;
	v = realloc(*arr, (*n + 1) * size);
	if (!v)
		return -ENOMEM;
	memset((char *)v + *n * size, 0, size);
	*arr = v;
	return 0;
}

/* Typed fields. Enum members are stored as int (checked below). */

enum conf_ftype {
	CF_TIME,
	CF_BOOL,
	CF_U32,
	CF_PORT,
	CF_ENUM,
	CF_MARK,
	CF_SETMARK,
	CF_IFID,
	CF_PROPS_IKE,
	CF_PROPS_ESP,
	CF_SPECIAL,
};

struct conf_enum_val {
	const char *name;
	int value;
};

struct conf_field {
	const char *key;
	enum conf_ftype type;
	size_t off;
	const struct conf_enum_val *vals;
	int (*special)(struct conf_ctx *c, const struct conf_node *kv, void *obj);
};

_Static_assert(sizeof(enum conf_action) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum conf_frag) == sizeof(int), "enum fields are stored as int");

static const struct conf_enum_val conf_frag_vals[] = {
	{ "yes", CONF_FRAG_YES },
	{ "accept", CONF_FRAG_ACCEPT },
	{ "force", CONF_FRAG_FORCE },
	{ "no", CONF_FRAG_NO },
	{ NULL, 0 },
};
static const struct conf_enum_val conf_send_cert_vals[] = {
	{ "ifasked", CONF_SEND_CERT_IFASKED },
	{ "always", CONF_SEND_CERT_ALWAYS },
	{ "never", CONF_SEND_CERT_NEVER },
	{ NULL, 0 },
};
static const struct conf_enum_val conf_unique_vals[] = {
	{ "no", CONF_UNIQUE_NO },
	{ "never", CONF_UNIQUE_NEVER },
	{ "keep", CONF_UNIQUE_KEEP },
	{ "replace", CONF_UNIQUE_REPLACE },
	{ NULL, 0 },
};
/* strongSwan 5.9 (vici_config.c) reads all three actions with one map. */
static const struct conf_enum_val conf_start_vals[] = {
	{ "none", CONF_START_NONE },
	{ "clear", CONF_START_NONE },
	{ "start", CONF_START_START },
	{ "restart", CONF_START_START },
	{ "trap", CONF_START_TRAP },
	{ "route", CONF_START_TRAP },
	{ NULL, 0 },
};
static const struct conf_enum_val conf_action_vals[] = {
	{ "none", CONF_ACTION_NONE },
	{ "clear", CONF_ACTION_NONE },
	{ "trap", CONF_ACTION_TRAP },
	{ "route", CONF_ACTION_TRAP },
	{ "restart", CONF_ACTION_RESTART },
	{ "start", CONF_ACTION_RESTART },
	{ NULL, 0 },
};
static const struct conf_enum_val conf_mode_vals[] = {
	{ "tunnel", CONF_MODE_TUNNEL },
	{ NULL, 0 },
};
static const struct conf_enum_val conf_auth_vals[] = {
	{ "pubkey", CONF_AUTH_PUBKEY },
	{ "rsa", CONF_AUTH_RSA },
	{ "ecdsa", CONF_AUTH_ECDSA },
	{ "psk", CONF_AUTH_PSK },
	{ NULL, 0 },
};

static int conf_enum_expected(const struct conf_enum_val *v, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; v->name && o < len; v++) {
		int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "expected one of ", v->name);

		if (w < 0)
			return -EINVAL;
		o += (size_t)w;
	}
	return 0;
}

static int conf_field_set(struct conf_ctx *c, const struct conf_field *f,
			  const struct conf_node *kv, void *obj)
{
	void *p = (char *)obj + f->off;
	char detail[256];
	uint32_t u;
	int err;

	switch (f->type) {
	case CF_TIME:
		if (conf_parse_time(kv->value, p))
			return conf_bad(c, kv, "time",
					"expected a number with an optional s, m, h or d suffix");
		return 0;
	case CF_BOOL:
		if (conf_parse_bool(kv->value, p))
			return conf_bad(c, kv, "boolean", "expected yes or no");
		return 0;
	case CF_U32:
		if (conf_parse_time(kv->value, &u) ||
		    strspn(kv->value, "0123456789") != strlen(kv->value))
			return conf_bad(c, kv, "number", NULL);
		*(uint32_t *)p = u;
		return 0;
	case CF_PORT:
		if (conf_parse_time(kv->value, &u) ||
		    strspn(kv->value, "0123456789") != strlen(kv->value) || !u || u > 65535)
			return conf_bad(c, kv, "port", "expected 1 to 65535");
		*(uint16_t *)p = (uint16_t)u;
		return 0;
	case CF_ENUM:
		for (const struct conf_enum_val *v = f->vals; v->name; v++) {
			if (!strcmp(v->name, kv->value)) {
				*(int *)p = v->value;
				return 0;
			}
		}
		conf_enum_expected(f->vals, detail, sizeof(detail));
		return conf_bad(c, kv, "value", detail);
	case CF_MARK:
	case CF_SETMARK:
		if (conf_parse_mark(kv->value, f->type == CF_SETMARK, p))
			return conf_bad(c, kv, "mark",
					f->type == CF_SETMARK ?
						"expected value[/mask] or %same" :
						"expected value[/mask], %unique or %unique-dir");
		return 0;
	case CF_IFID: {
		struct conf_if_id *id = p;
		struct conf_mark m;

		if (strchr(kv->value, '/') || conf_parse_mark(kv->value, false, &m))
			return conf_bad(c, kv, "interface ID",
					"expected a number, %unique or %unique-dir");
		id->value = m.value;
		id->flags = m.flags;
		return 0;
	}
	case CF_PROPS_IKE:
	case CF_PROPS_ESP: {
		struct conf_proposals props;

		err = conf_parse_proposals(kv->value, f->type == CF_PROPS_IKE, &props, detail,
					   sizeof(detail));
		if (err == -ENOMEM)
			return err;
		if (err)
			return conf_bad(c, kv, "proposals", detail);
		conf_proposals_free(p);
		*(struct conf_proposals *)p = props;
		return 0;
	}
	case CF_SPECIAL:
		return f->special(c, kv, obj);
	}
	return -EINVAL;
}

/*
 * Apply a key table to the keys of @sec. @sub is called for subsections
 * (NULL: none allowed). Empty values keep the default, as an unset key.
 */
static int conf_apply(struct conf_ctx *c, const struct conf_node *sec,
		      const struct conf_field *fields, void *obj,
		      int (*sub)(struct conf_ctx *, const struct conf_node *, void *))
{
	const struct conf_field *f;
	const struct conf_node *n;
	int err;

	for (n = sec->head; n; n = n->next) {
		if (n->section) {
			err = sub ? sub(c, n, obj) : conf_unknown(c, n);
			if (err)
				return err;
			continue;
		}
		for (f = fields; f->key; f++)
			if (!strcmp(f->key, n->name))
				break;
		if (!f->key)
			return conf_unknown(c, n);
		if (!n->value[0])
			continue;
		err = conf_field_set(c, f, n, obj);
		if (err)
			return err;
	}
	return 0;
}

/* Addresses */

static void conf_range_str(const struct conf_range *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int alen = r->family == AF_INET ? 32 : 128;

	inet_ntop(r->family, r->from, a, sizeof(a));
	if (r->prefixlen == alen)
		snprintf(buf, len, "%s", a);
	else if (r->prefixlen >= 0)
		snprintf(buf, len, "%s/%d", a, r->prefixlen);
	else {
		inet_ntop(r->family, r->to, b, sizeof(b));
		snprintf(buf, len, "%s-%s", a, b);
	}
}

static bool conf_is_hostname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

struct conf_hosts_arg {
	struct conf_host **v;
	size_t *n;
};

static int conf_host_item(struct conf_ctx *c, const struct conf_node *kv, const char *s, void *arg)
{
	struct conf_hosts_arg *a = arg;
	struct conf_host h = { 0 };
	char path[384];
	int err;

	if (!strcmp(s, "%any") || !strcmp(s, "%any4") || !strcmp(s, "%any6")) {
		h.kind = CONF_HOST_ANY;
		h.family = s[4] == '4' ? AF_INET : s[4] == '6' ? AF_INET6 : AF_UNSPEC;
	} else if (!conf_parse_range(s, &h.range)) {
		h.kind = CONF_HOST_RANGE;
		h.family = h.range.family;
	} else if (conf_is_hostname(s) && !strchr(s, '/')) {
		h.kind = CONF_HOST_NAME;
		h.name = strdup(s);
		if (!h.name)
			return -ENOMEM;
	} else {
		conf_node_path(kv, path, sizeof(path));
		return conf_fail(c, kv, "invalid address '%.128s' for %s", s, path);
	}
	err = conf_grow((void **)a->v, a->n, sizeof(h));
	if (err) {
		free(h.name);
		return err;
	}
	(*a->v)[(*a->n)++] = h;
	return 0;
}

static void conf_hosts_free(struct conf_host *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int conf_hosts_set(struct conf_ctx *c, const struct conf_node *kv, struct conf_host **v,
			  size_t *n)
{
	struct conf_hosts_arg a = { v, n };

	conf_hosts_free(*v, *n);
	*v = NULL;
	*n = 0;
	return conf_list(c, kv, conf_host_item, &a);
}

struct conf_ranges_arg {
	struct conf_range **v;
	size_t *n;
	bool single; /* only single addresses */
	const char *what;
};

static int conf_range_item(struct conf_ctx *c, const struct conf_node *kv, const char *s, void *arg)
{
	struct conf_ranges_arg *a = arg;
	struct conf_range r;
	char path[384];
	int err;

	if (conf_parse_range(s, &r) ||
	    (a->single && r.prefixlen != (r.family == AF_INET ? 32 : 128))) {
		conf_node_path(kv, path, sizeof(path));
		return conf_fail(c, kv, "invalid %s '%.128s' for %s", a->what, s, path);
	}
	if ((err = conf_grow((void **)a->v, a->n, sizeof(r))))
		return err;
	(*a->v)[(*a->n)++] = r;
	return 0;
}

static int conf_ts_item(struct conf_ctx *c, const struct conf_node *kv, const char *s, void *arg)
{
	struct conf_ranges_arg *a = arg;
	struct conf_ts ts = { 0 }, **v = (struct conf_ts **)a->v;
	char path[384];
	int err;

	conf_node_path(kv, path, sizeof(path));
	if (strchr(s, '['))
		return conf_fail(
			c, kv,
			"traffic selector '%.128s' for %s: protocol/port selectors are not supported",
			s, path);
	if (!strcmp(s, "dynamic"))
		ts.dynamic = true;
	else if (conf_parse_range(s, &ts.range))
		return conf_fail(c, kv, "invalid traffic selector '%.128s' for %s", s, path);
	if ((err = conf_grow((void **)v, a->n, sizeof(ts))))
		return err;
	(*v)[(*a->n)++] = ts;
	return 0;
}

static int conf_ts_set(struct conf_ctx *c, const struct conf_node *kv, struct conf_ts **v,
		       size_t *n)
{
	struct conf_ranges_arg a = { (struct conf_range **)v, n, false, "traffic selector" };

	free(*v);
	*v = NULL;
	*n = 0;
	return conf_list(c, kv, conf_ts_item, &a);
}

static int conf_ts_default(struct conf_ts **v, size_t *n)
{
	if (*n)
		return 0;
	*v = calloc(1, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	(*v)->dynamic = true;
	*n = 1;
	return 0;
}

/* Pools */

static int conf_pool_addrs(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_pool *pool = obj;

	if (!strcmp(kv->value, "dhcp") || !strcmp(kv->value, "radius"))
		return conf_bad(c, kv, "pool", "dhcp and radius pools are not supported");
	if (conf_parse_range(kv->value, &pool->range))
		return conf_bad(c, kv, "pool", "expected a subnet (10.3.0.0/24) or a range");
	return 0;
}

static int conf_pool_dns(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_pool *pool = obj;
	struct conf_ranges_arg a = { &pool->dns, &pool->ndns, true, "DNS server" };

	free(pool->dns);
	pool->dns = NULL;
	pool->ndns = 0;
	return conf_list(c, kv, conf_range_item, &a);
}

static const struct conf_field conf_pool_fields[] = {
	{ "addrs", CF_SPECIAL, 0, NULL, conf_pool_addrs },
	{ "dns", CF_SPECIAL, 0, NULL, conf_pool_dns },
	{ NULL, 0, 0, NULL, NULL },
};

static void conf_pool_free(struct conf_pool *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->dns);
	free(p);
}

static int conf_load_pools(struct conf_ctx *c, const struct conf_node *sec)
{
	const struct conf_node *n;
	struct conf_pool *pool;
	int err;

	for (n = sec->head; n; n = n->next) {
		if (!n->section)
			return conf_unknown(c, n);
		pool = calloc(1, sizeof(*pool));
		if (!pool || !(pool->name = strdup(n->name))) {
			free(pool);
			return -ENOMEM;
		}
		err = conf_grow((void **)&c->conf->pools, &c->conf->npools, sizeof(pool));
		if (err) {
			conf_pool_free(pool);
			return err;
		}
		c->conf->pools[c->conf->npools++] = pool;
		err = conf_apply(c, n, conf_pool_fields, pool, NULL);
		if (err)
			return err;
		if (!pool->range.family)
			return conf_fail(c, n, "pool '%.128s' has no 'addrs'", n->name);
	}
	return 0;
}

/* Certificates named in auth rounds and authorities */

struct conf_certs_arg {
	X509 ***v;
	size_t *n;
	const char *subdir;
};

static int conf_cert_item(struct conf_ctx *c, const struct conf_node *kv, const char *s, void *arg)
{
	struct conf_certs_arg *a = arg;
	char msg[384];
	X509 *x;
	int err;

	if (c->flags & CONF_NO_CREDS)
		return conf_fail(c, kv, "certificate '%.128s': credentials are not loaded here", s);
	err = conf_creds_load_cert(c->conf, a->subdir, s, &x, msg, sizeof(msg));
	if (err)
		return conf_fail(c, kv, "%s", msg);
	err = conf_grow((void **)a->v, a->n, sizeof(x));
	if (err) {
		X509_free(x);
		return err;
	}
	(*a->v)[(*a->n)++] = x;
	return 0;
}

/* Auth rounds */

static int conf_auth_id(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_auth *a = obj;
	int err;

	conf_id_free(&a->id);
	err = conf_parse_id(kv->value, &a->id);
	if (err == -ENOMEM)
		return err;
	if (err)
		return conf_bad(c, kv, "identity", NULL);
	a->id_set = true;
	return 0;
}

static int conf_auth_round(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_auth *a = obj;

	if (conf_parse_time(kv->value, &a->round) ||
	    strspn(kv->value, "0123456789") != strlen(kv->value))
		return conf_bad(c, kv, "number", NULL);
	return 0;
}

static void conf_x509_list_free(X509 **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		X509_free(v[i]);
	free(v);
}

static int conf_auth_certs(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_auth *a = obj;
	struct conf_certs_arg arg = { &a->certs, &a->ncerts, "x509" };

	conf_x509_list_free(a->certs, a->ncerts);
	a->certs = NULL;
	a->ncerts = 0;
	return conf_list(c, kv, conf_cert_item, &arg);
}

static int conf_auth_cacerts(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_auth *a = obj;
	struct conf_certs_arg arg = { &a->cacerts, &a->ncacerts, "x509ca" };

	conf_x509_list_free(a->cacerts, a->ncacerts);
	a->cacerts = NULL;
	a->ncacerts = 0;
	return conf_list(c, kv, conf_cert_item, &arg);
}

static const struct conf_field conf_local_fields[] = {
	{ "auth", CF_ENUM, offsetof(struct conf_auth, method), conf_auth_vals, NULL },
	{ "id", CF_SPECIAL, 0, NULL, conf_auth_id },
	{ "round", CF_SPECIAL, 0, NULL, conf_auth_round },
	{ "certs", CF_SPECIAL, 0, NULL, conf_auth_certs },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct conf_field conf_remote_fields[] = {
	{ "auth", CF_ENUM, offsetof(struct conf_auth, method), conf_auth_vals, NULL },
	{ "id", CF_SPECIAL, 0, NULL, conf_auth_id },
	{ "round", CF_SPECIAL, 0, NULL, conf_auth_round },
	{ "certs", CF_SPECIAL, 0, NULL, conf_auth_certs },
	{ "cacerts", CF_SPECIAL, 0, NULL, conf_auth_cacerts },
	{ NULL, 0, 0, NULL, NULL },
};

static void conf_auth_free(struct conf_auth *a)
{
	free(a->name);
	conf_id_free(&a->id);
	conf_x509_list_free(a->certs, a->ncerts);
	conf_x509_list_free(a->cacerts, a->ncacerts);
}

static int conf_id_from_cert(struct conf_id *id, X509 *x)
{
	X509_NAME *name = X509_get_subject_name(x);
	unsigned char *der = NULL;
	BIO *bio = NULL;
	char *mem;
	long n;
	int len, err = -ENOMEM;

	len = i2d_X509_NAME(name, &der);
	if (len <= 0)
		return -EINVAL;
	bio = BIO_new(BIO_s_mem());
	if (!bio || X509_NAME_print_ex(bio, name, 0, XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN) < 0)
		goto out;
	n = BIO_get_mem_data(bio, &mem);
	id->str = strndup(mem, (size_t)n);
	id->data = malloc((size_t)len);
	if (!id->str || !id->data) {
		conf_id_free(id);
		goto out;
	}
	memcpy(id->data, der, (size_t)len);
	id->len = (size_t)len;
	id->type = IKEV2_ID_DER_ASN1_DN;
	err = 0;
out:
	BIO_free(bio);
	OPENSSL_free(der);
	return err;
}

/* Connections */

struct conf_conn_parse {
	struct conf_conn *conn;
};

static int conf_conn_version(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_conn *conn = obj;

	if (!strcmp(kv->value, "1"))
		return conf_bad(c, kv, "version", "IKEv1 is not supported");
	if (strcmp(kv->value, "0") && strcmp(kv->value, "2"))
		return conf_bad(c, kv, "version", "expected 0 or 2");
	conn->version = 2;
	return 0;
}

static int conf_conn_local_addrs(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_conn *conn = obj;

	return conf_hosts_set(c, kv, &conn->local_addrs, &conn->nlocal_addrs);
}

static int conf_conn_remote_addrs(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_conn *conn = obj;

	return conf_hosts_set(c, kv, &conn->remote_addrs, &conn->nremote_addrs);
}

static int conf_conn_mobike(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_conn *conn = obj;
	bool b;

	if (conf_parse_bool(kv->value, &b))
		return conf_bad(c, kv, "boolean", "expected yes or no");
	if (b)
		return conf_bad(c, kv, "value", "MOBIKE is not supported, set mobike = no");
	conn->mobike = false;
	return 0;
}

static int conf_pool_ref(struct conf_ctx *c, const struct conf_node *kv, const char *s, void *arg)
{
	struct conf_conn *conn = arg;
	size_t i;
	int err;

	for (i = 0; i < c->conf->npools; i++) {
		if (strcmp(c->conf->pools[i]->name, s))
			continue;
		if ((err = conf_grow((void **)&conn->pools, &conn->npools, sizeof(conn->pools[0]))))
			return err;
		conn->pools[conn->npools++] = c->conf->pools[i];
		return 0;
	}
	return conf_fail(c, kv, "unknown pool '%.128s' (no such section in pools)", s);
}

static int conf_conn_pools(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_conn *conn = obj;

	free(conn->pools);
	conn->pools = NULL;
	conn->npools = 0;
	return conf_list(c, kv, conf_pool_ref, conn);
}

static int conf_conn_vips(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_conn *conn = obj;
	struct conf_ranges_arg a = { &conn->vips, &conn->nvips, true, "virtual IP" };

	free(conn->vips);
	conn->vips = NULL;
	conn->nvips = 0;
	return conf_list(c, kv, conf_range_item, &a);
}

static const struct conf_field conf_conn_fields[] = {
	{ "version", CF_SPECIAL, 0, NULL, conf_conn_version },
	{ "local_addrs", CF_SPECIAL, 0, NULL, conf_conn_local_addrs },
	{ "remote_addrs", CF_SPECIAL, 0, NULL, conf_conn_remote_addrs },
	{ "local_port", CF_PORT, offsetof(struct conf_conn, local_port), NULL, NULL },
	{ "remote_port", CF_PORT, offsetof(struct conf_conn, remote_port), NULL, NULL },
	{ "proposals", CF_PROPS_IKE, offsetof(struct conf_conn, proposals), NULL, NULL },
	{ "dpd_delay", CF_TIME, offsetof(struct conf_conn, dpd_delay), NULL, NULL },
	{ "dpd_timeout", CF_TIME, offsetof(struct conf_conn, dpd_timeout), NULL, NULL },
	{ "rekey_time", CF_TIME, offsetof(struct conf_conn, rekey_time), NULL, NULL },
	{ "reauth_time", CF_TIME, offsetof(struct conf_conn, reauth_time), NULL, NULL },
	{ "over_time", CF_TIME, offsetof(struct conf_conn, over_time), NULL, NULL },
	{ "rand_time", CF_TIME, offsetof(struct conf_conn, rand_time), NULL, NULL },
	{ "encap", CF_BOOL, offsetof(struct conf_conn, encap), NULL, NULL },
	{ "mobike", CF_SPECIAL, 0, NULL, conf_conn_mobike },
	{ "send_certreq", CF_BOOL, offsetof(struct conf_conn, send_certreq), NULL, NULL },
	{ "fragmentation", CF_ENUM, offsetof(struct conf_conn, fragmentation), conf_frag_vals,
	  NULL },
	{ "send_cert", CF_ENUM, offsetof(struct conf_conn, send_cert), conf_send_cert_vals, NULL },
	{ "unique", CF_ENUM, offsetof(struct conf_conn, unique), conf_unique_vals, NULL },
	{ "keyingtries", CF_U32, offsetof(struct conf_conn, keyingtries), NULL, NULL },
	{ "pools", CF_SPECIAL, 0, NULL, conf_conn_pools },
	{ "vips", CF_SPECIAL, 0, NULL, conf_conn_vips },
	{ "mark_in", CF_MARK, offsetof(struct conf_conn, mark_in), NULL, NULL },
	{ "mark_out", CF_MARK, offsetof(struct conf_conn, mark_out), NULL, NULL },
	{ "if_id_in", CF_IFID, offsetof(struct conf_conn, if_id_in), NULL, NULL },
	{ "if_id_out", CF_IFID, offsetof(struct conf_conn, if_id_out), NULL, NULL },
	{ NULL, 0, 0, NULL, NULL },
};

static int conf_child_local_ts(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_child *ch = obj;

	return conf_ts_set(c, kv, &ch->local_ts, &ch->nlocal_ts);
}

static int conf_child_remote_ts(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_child *ch = obj;

	return conf_ts_set(c, kv, &ch->remote_ts, &ch->nremote_ts);
}

static int conf_child_mode(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_child *ch = obj;

	if (!strcmp(kv->value, "tunnel")) {
		ch->mode = CONF_MODE_TUNNEL;
		return 0;
	}
	if (!strcmp(kv->value, "transport") || !strcmp(kv->value, "beet") ||
	    !strcmp(kv->value, "pass") || !strcmp(kv->value, "drop"))
		return conf_bad(c, kv, "mode", "only tunnel mode is supported");
	return conf_bad(c, kv, "mode", "expected tunnel");
}

static const struct conf_field conf_child_fields[] = {
	{ "local_ts", CF_SPECIAL, 0, NULL, conf_child_local_ts },
	{ "remote_ts", CF_SPECIAL, 0, NULL, conf_child_remote_ts },
	{ "esp_proposals", CF_PROPS_ESP, offsetof(struct conf_child, esp), NULL, NULL },
	{ "mode", CF_SPECIAL, 0, conf_mode_vals, conf_child_mode },
	{ "start_action", CF_ENUM, offsetof(struct conf_child, start_action), conf_start_vals,
	  NULL },
	{ "dpd_action", CF_ENUM, offsetof(struct conf_child, dpd_action), conf_action_vals, NULL },
	{ "close_action", CF_ENUM, offsetof(struct conf_child, close_action), conf_action_vals,
	  NULL },
	{ "rekey_time", CF_TIME, offsetof(struct conf_child, rekey_time), NULL, NULL },
	{ "life_time", CF_TIME, offsetof(struct conf_child, life_time), NULL, NULL },
	{ "rand_time", CF_TIME, offsetof(struct conf_child, rand_time), NULL, NULL },
	{ "mark_in", CF_MARK, offsetof(struct conf_child, mark_in), NULL, NULL },
	{ "mark_out", CF_MARK, offsetof(struct conf_child, mark_out), NULL, NULL },
	{ "set_mark_in", CF_SETMARK, offsetof(struct conf_child, set_mark_in), NULL, NULL },
	{ "set_mark_out", CF_SETMARK, offsetof(struct conf_child, set_mark_out), NULL, NULL },
	{ "if_id_in", CF_IFID, offsetof(struct conf_child, if_id_in), NULL, NULL },
	{ "if_id_out", CF_IFID, offsetof(struct conf_child, if_id_out), NULL, NULL },
	{ "reqid", CF_U32, offsetof(struct conf_child, reqid), NULL, NULL },
	{ "replay_window", CF_U32, offsetof(struct conf_child, replay_window), NULL, NULL },
	{ NULL, 0, 0, NULL, NULL },
};

static void conf_child_free(struct conf_child *ch)
{
	if (!ch)
		return;
	free(ch->name);
	free(ch->local_ts);
	free(ch->remote_ts);
	conf_proposals_free(&ch->esp);
	free(ch);
}

static int conf_load_child(struct conf_ctx *c, const struct conf_node *sec, struct conf_conn *conn)
{
	struct conf_child *ch;
	char detail[256];
	int err;

	ch = calloc(1, sizeof(*ch));
	if (!ch || !(ch->name = strdup(sec->name))) {
		free(ch);
		return -ENOMEM;
	}
	err = conf_grow((void **)&conn->children, &conn->nchildren, sizeof(ch));
	if (err) {
		conf_child_free(ch);
		return err;
	}
	conn->children[conn->nchildren++] = ch;
	ch->file = sec->file ? sec->file->path : NULL;
	ch->line = sec->line;
	ch->rekey_time = 3600;
	ch->life_time = CONF_UNSET;
	ch->rand_time = CONF_UNSET;
	ch->replay_window = 32;
	err = conf_apply(c, sec, conf_child_fields, ch, NULL);
	if (err)
		return err;
	if ((err = conf_ts_default(&ch->local_ts, &ch->nlocal_ts)) ||
	    (err = conf_ts_default(&ch->remote_ts, &ch->nremote_ts)))
		return err;
	if (!ch->esp.n &&
	    (err = conf_parse_proposals("default", false, &ch->esp, detail, sizeof(detail))))
		return err;
	/* swanctl: life = rekey + 10%, rand = life - rekey */
	if (ch->life_time == CONF_UNSET)
		ch->life_time = (uint32_t)((uint64_t)ch->rekey_time * 110 / 100);
	if (ch->rand_time == CONF_UNSET)
		ch->rand_time = ch->life_time -
				(ch->rekey_time < ch->life_time ? ch->rekey_time : ch->life_time);
	if (ch->rekey_time && ch->life_time && ch->life_time < ch->rekey_time)
		return conf_fail(c, sec, "child '%.128s': life_time is shorter than rekey_time",
				 sec->name);
	return 0;
}

static int conf_conn_sub(struct conf_ctx *c, const struct conf_node *sec, void *obj)
{
	struct conf_conn *conn = obj;
	const struct conf_node *n;
	bool local = conf_has_prefix(sec->name, "local");
	struct conf_auth *a, **v;
	size_t *cnt;
	int err;

	if (!strcmp(sec->name, "children")) {
		for (n = sec->head; n; n = n->next) {
			if (!n->section)
				return conf_unknown(c, n);
			if ((err = conf_load_child(c, n, conn)))
				return err;
		}
		return 0;
	}
	if (!local && !conf_has_prefix(sec->name, "remote"))
		return conf_unknown(c, sec);
	v = local ? &conn->local : &conn->remote;
	cnt = local ? &conn->nlocal : &conn->nremote;
	if (*cnt)
		return conf_fail(
			c, sec,
			"second %s authentication round '%.128s': multiple authentication rounds (RFC 4739) are not supported",
			local ? "local" : "remote", sec->name);
	if ((err = conf_grow((void **)v, cnt, sizeof(**v))))
		return err;
	a = &(*v)[(*cnt)++];
	a->name = strdup(sec->name);
	if (!a->name)
		return -ENOMEM;
	a->file = sec->file ? sec->file->path : NULL;
	a->line = sec->line;
	a->method = CONF_AUTH_PUBKEY;
	err = conf_apply(c, sec, local ? conf_local_fields : conf_remote_fields, a, NULL);
	if (err)
		return err;
	if (local && !a->id_set && a->ncerts) {
		conf_id_free(&a->id);
		if ((err = conf_id_from_cert(&a->id, a->certs[0])))
			return err;
	}
	if (!a->id_set && !a->id.str && !(a->id.str = strdup("%any")))
		return -ENOMEM;
	return 0;
}

static void conf_conn_free(struct conf_conn *conn)
{
	size_t i;

	if (!conn)
		return;
	free(conn->name);
	conf_hosts_free(conn->local_addrs, conn->nlocal_addrs);
	conf_hosts_free(conn->remote_addrs, conn->nremote_addrs);
	conf_proposals_free(&conn->proposals);
	free(conn->pools);
	free(conn->vips);
	for (i = 0; i < conn->nlocal; i++)
		conf_auth_free(&conn->local[i]);
	for (i = 0; i < conn->nremote; i++)
		conf_auth_free(&conn->remote[i]);
	free(conn->local);
	free(conn->remote);
	for (i = 0; i < conn->nchildren; i++)
		conf_child_free(conn->children[i]);
	free(conn->children);
	free(conn);
}

static int conf_auth_default(struct conf_auth **v, size_t *n, const char *name)
{
	struct conf_auth *a;

	if (*n)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*v = a;
	*n = 1;
	a->method = CONF_AUTH_PUBKEY;
	a->name = strdup(name);
	a->id.str = strdup("%any");
	if (!a->name || !a->id.str)
		return -ENOMEM;
	return 0;
}

static int conf_load_conn(struct conf_ctx *c, const struct conf_node *sec)
{
	struct conf_conn *conn;
	char detail[256];
	size_t i;
	int err;

	conn = calloc(1, sizeof(*conn));
	if (!conn || !(conn->name = strdup(sec->name))) {
		free(conn);
		return -ENOMEM;
	}
	err = conf_grow((void **)&c->conf->conns, &c->conf->nconns, sizeof(conn));
	if (err) {
		conf_conn_free(conn);
		return err;
	}
	c->conf->conns[c->conf->nconns++] = conn;
	conn->file = sec->file ? sec->file->path : NULL;
	conn->line = sec->line;
	conn->version = 2;
	conn->local_port = IKEV2_PORT;
	conn->remote_port = IKEV2_PORT;
	conn->rekey_time = 4 * 3600;
	conn->over_time = CONF_UNSET;
	conn->rand_time = CONF_UNSET;
	conn->send_certreq = true;
	conn->keyingtries = 1;
	conn->fragmentation = CONF_FRAG_YES;
	conn->send_cert = CONF_SEND_CERT_IFASKED;
	err = conf_apply(c, sec, conf_conn_fields, conn, conf_conn_sub);
	if (err)
		return err;
	if (!conn->nlocal_addrs &&
	    (err = conf_host_item(
		     c, sec, "%any",
		     &(struct conf_hosts_arg){ &conn->local_addrs, &conn->nlocal_addrs })))
		return err;
	if (!conn->nremote_addrs &&
	    (err = conf_host_item(
		     c, sec, "%any",
		     &(struct conf_hosts_arg){ &conn->remote_addrs, &conn->nremote_addrs })))
		return err;
	if (!conn->proposals.n &&
	    (err = conf_parse_proposals("default", true, &conn->proposals, detail, sizeof(detail))))
		return err;
	/*
	 * xiked extension (swanctl 5.9 has marks on children only): marks set on
	 * the connection are the default for its children.
	 */
	for (i = 0; i < conn->nchildren; i++) {
		if (!conn->children[i]->mark_in.set)
			conn->children[i]->mark_in = conn->mark_in;
		if (!conn->children[i]->mark_out.set)
			conn->children[i]->mark_out = conn->mark_out;
	}
	if ((err = conf_auth_default(&conn->local, &conn->nlocal, "local")) ||
	    (err = conf_auth_default(&conn->remote, &conn->nremote, "remote")))
		return err;
	/* vici_config.c: over = 10% of the longer of rekey/reauth; rand = over,
	 * but at most half of the shorter one */
	if (conn->over_time == CONF_UNSET)
		conn->over_time = (conn->rekey_time > conn->reauth_time ? conn->rekey_time :
									  conn->reauth_time) /
				  10;
	if (conn->rand_time == CONF_UNSET) {
		uint32_t r;

		if (conn->rekey_time && conn->reauth_time)
			r = conn->rekey_time < conn->reauth_time ? conn->rekey_time :
								   conn->reauth_time;
		else
			r = conn->rekey_time > conn->reauth_time ? conn->rekey_time :
								   conn->reauth_time;
		conn->rand_time = conn->over_time < r / 2 ? conn->over_time : r / 2;
	}
	for (i = 0; i < conn->nlocal; i++)
		if (conn->local[i].method != CONF_AUTH_PSK && !conn->local[i].ncerts &&
		    !(c->flags & CONF_NO_CREDS) && !c->conf->creds.ncerts)
			return conf_fail(
				c, sec,
				"connection '%.128s' authenticates with public keys but has no certificate (set certs = or auth = psk)",
				sec->name);
	return 0;
}

static int conf_load_conns(struct conf_ctx *c, const struct conf_node *sec)
{
	const struct conf_node *n;
	int err;

	for (n = sec->head; n; n = n->next) {
		if (!n->section)
			return conf_unknown(c, n);
		if ((err = conf_load_conn(c, n)))
			return err;
	}
	return 0;
}

/* Secrets */

static int conf_b64_decode(const char *s, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(s), pad = 0;
	uint8_t *b;
	int len;

	if (!n || n % 4 || n > INT32_MAX)
		return -EINVAL;
	b = malloc(n / 4 * 3 + 1);
	if (!b)
		return -ENOMEM;
	len = EVP_DecodeBlock(b, (const unsigned char *)s, (int)n);
	if (len < 0) {
		free(b);
		return -EINVAL;
	}
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	*out = b;
	*outlen = (size_t)len - pad;
	return 0;
}

static int conf_secret_value(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_secret *s = obj;
	const char *v = kv->value;
	char path[384];
	int err = 0;

	conf_node_path(kv, path, sizeof(path));
	if (s->secret) {
		explicit_bzero(s->secret, s->secret_len);
		free(s->secret);
		s->secret = NULL;
	}
	if (!strncmp(v, "0x", 2)) {
		uint8_t *b;
		size_t n = strlen(v + 2) / 2 + 1, k = 0;
		int hi, lo;

		/* decoded here rather than by the shared helper to keep errors secret-free */
		b = malloc(n);
		if (!b)
			return -ENOMEM;
		for (const char *p = v + 2; *p; p += 2) {
			hi = p[0] >= '0' && p[0] <= '9' ? p[0] - '0' :
			     (p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'f' ?
							  (p[0] | 0x20) - 'a' + 10 :
							  -1;
			lo = hi < 0 || !p[1]		? -1 :
			     p[1] >= '0' && p[1] <= '9' ? p[1] - '0' :
			     (p[1] | 0x20) >= 'a' && (p[1] | 0x20) <= 'f' ?
							  (p[1] | 0x20) - 'a' + 10 :
							  -1;
			if (lo < 0) {
				err = -EINVAL;
				break;
			}
			b[k++] = (uint8_t)(hi << 4 | lo);
		}
		if (err || !k) {
			explicit_bzero(b, n);
			free(b);
			/* never echo the value of a secret */
			return conf_fail(c, kv, "invalid hex secret for %s", path);
		}
		s->secret = b;
		s->secret_len = k;
	} else if (!strncmp(v, "0s", 2)) {
		err = conf_b64_decode(v + 2, &s->secret, &s->secret_len);
		if (err == -ENOMEM)
			return err;
		if (err || !s->secret_len) {
			if (s->secret)
				explicit_bzero(s->secret, s->secret_len);
			free(s->secret);
			s->secret = NULL;
			return conf_fail(c, kv, "invalid base64 secret for %s", path);
		}
	} else {
		s->secret_len = strlen(v);
		if (!s->secret_len)
			return conf_fail(c, kv, "empty secret for %s", path);
		s->secret = malloc(s->secret_len);
		if (!s->secret)
			return -ENOMEM;
		memcpy(s->secret, v, s->secret_len);
	}
	return 0;
}

static void conf_secret_free(struct conf_secret *s)
{
	size_t i;

	if (!s)
		return;
	if (s->secret)
		explicit_bzero(s->secret, s->secret_len);
	free(s->secret);
	for (i = 0; i < s->nids; i++)
		conf_id_free(&s->ids[i]);
	free(s->ids);
	free(s->name);
	free(s);
}

static int conf_load_secret(struct conf_ctx *c, const struct conf_node *sec)
{
	const struct conf_node *n;
	struct conf_secret *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(sec->name))) {
		free(s);
		return -ENOMEM;
	}
	err = conf_grow((void **)&c->conf->secrets, &c->conf->nsecrets, sizeof(s));
	if (err) {
		conf_secret_free(s);
		return err;
	}
	c->conf->secrets[c->conf->nsecrets++] = s;
	for (n = sec->head; n; n = n->next) {
		if (n->section)
			return conf_unknown(c, n);
		if (!strcmp(n->name, "secret")) {
			if ((err = conf_secret_value(c, n, s)))
				return err;
			continue;
		}
		if (!conf_has_prefix(n->name, "id"))
			return conf_unknown(c, n);
		if (!n->value[0])
			continue;
		if ((err = conf_grow((void **)&s->ids, &s->nids, sizeof(s->ids[0]))))
			return err;
		err = conf_parse_id(n->value, &s->ids[s->nids]);
		if (err == -ENOMEM)
			return err;
		if (err)
			return conf_bad(c, n, "identity", NULL);
		s->nids++;
	}
	if (!s->secret)
		return conf_fail(c, sec, "secrets.%.128s has no 'secret'", sec->name);
	return 0;
}

static int conf_load_secrets(struct conf_ctx *c, const struct conf_node *sec)
{
	const struct conf_node *n;
	int err;

	for (n = sec->head; n; n = n->next) {
		if (n->section && conf_has_prefix(n->name, "ike")) {
			if ((err = conf_load_secret(c, n)))
				return err;
			continue;
		}
		if (n->section &&
		    (conf_has_prefix(n->name, "eap") || conf_has_prefix(n->name, "xauth") ||
		     conf_has_prefix(n->name, "ntlm") || conf_has_prefix(n->name, "ppk") ||
		     conf_has_prefix(n->name, "private") || conf_has_prefix(n->name, "rsa") ||
		     conf_has_prefix(n->name, "ecdsa") || conf_has_prefix(n->name, "pkcs") ||
		     conf_has_prefix(n->name, "token")))
			return conf_fail(
				c, n,
				"unsupported section '%.128s' in secrets (only ike<suffix> secrets are supported)",
				n->name);
		return conf_unknown(c, n);
	}
	return 0;
}

/* Authorities */

static int conf_authority_cacert(struct conf_ctx *c, const struct conf_node *kv, void *obj)
{
	struct conf_authority *a = obj;
	char msg[384];
	int err;

	if (c->flags & CONF_NO_CREDS)
		return conf_fail(c, kv, "certificate '%.128s': credentials are not loaded here",
				 kv->value);
	X509_free(a->cacert);
	a->cacert = NULL;
	err = conf_creds_load_cert(c->conf, !strcmp(kv->name, "file") ? NULL : "x509ca", kv->value,
				   &a->cacert, msg, sizeof(msg));
	if (err)
		return conf_fail(c, kv, "%s", msg);
	return 0;
}

static const struct conf_field conf_authority_fields[] = {
	{ "cacert", CF_SPECIAL, 0, NULL, conf_authority_cacert },
	{ "file", CF_SPECIAL, 0, NULL, conf_authority_cacert },
	{ NULL, 0, 0, NULL, NULL },
};

static void conf_authority_free(struct conf_authority *a)
{
	if (!a)
		return;
	X509_free(a->cacert);
	free(a->name);
	free(a);
}

static int conf_load_authorities(struct conf_ctx *c, const struct conf_node *sec)
{
	const struct conf_node *n;
	struct conf_authority *a;
	struct conf_cert *cc;
	int err;

	for (n = sec->head; n; n = n->next) {
		if (!n->section)
			return conf_unknown(c, n);
		a = calloc(1, sizeof(*a));
		if (!a || !(a->name = strdup(n->name))) {
			free(a);
			return -ENOMEM;
		}
		err = conf_grow((void **)&c->conf->authorities, &c->conf->nauthorities, sizeof(a));
		if (err) {
			conf_authority_free(a);
			return err;
		}
		c->conf->authorities[c->conf->nauthorities++] = a;
		if ((err = conf_apply(c, n, conf_authority_fields, a, NULL)))
			return err;
		if (!a->cacert)
			return conf_fail(c, n, "authority '%.128s' has no 'cacert'", n->name);
		/* an authority's certificate is a trust anchor like those in x509ca/ */
		err = conf_grow((void **)&c->conf->creds.cacerts, &c->conf->creds.ncacerts,
				sizeof(*cc));
		if (err)
			return err;
		cc = &c->conf->creds.cacerts[c->conf->creds.ncacerts];
		cc->path = strdup(n->name);
		if (!cc->path || !X509_up_ref(a->cacert)) {
			free(cc->path);
			cc->path = NULL;
			return -ENOMEM;
		}
		cc->x509 = a->cacert;
		c->conf->creds.ncacerts++;
	}
	return 0;
}

/* Top level */

static int conf_check_perms(struct conf_ctx *c)
{
	const struct conf_file *f;

	if (c->flags & CONF_NO_PERM_CHECK)
		return 0;
	for (f = c->tree->files; f; f = f->next) {
		if (!f->has_secret || !f->mode || !(f->mode & 077))
			continue;
		snprintf(
			c->err, c->errlen,
			"%s: holds secrets but is accessible by group or others (mode %04o); chmod 600 it",
			f->path, (unsigned int)(f->mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int conf_build(struct conf_ctx *c)
{
	static const char *const order[] = { "pools", "authorities", "connections", "secrets" };
	const struct conf_node *n;
	size_t i;
	int err;

	for (n = c->tree->root.head; n; n = n->next) {
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			if (n->section && !strcmp(n->name, order[i]))
				break;
		/* Other top-level sections are allowed only as reference templates. */
		if (i == sizeof(order) / sizeof(order[0]) && !(n->section && n->referenced))
			return conf_unknown(c, n);
	}
	/* Pools before connections, which refer to them by name. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		n = conf_node_get(&c->tree->root, order[i], true);
		if (!n)
			continue;
		switch (i) {
		case 0:
			err = conf_load_pools(c, n);
			break;
		case 1:
			err = conf_load_authorities(c, n);
			break;
		case 2:
			err = conf_load_conns(c, n);
			break;
		default:
			err = conf_load_secrets(c, n);
			break;
		}
		if (err)
			return err;
	}
	return 0;
}

static int conf_finish(struct conf_ctx *c, int err)
{
	if (!err)
		err = conf_tree_resolve(c->tree);
	if (err && !c->err[0])
		snprintf(c->err, c->errlen, "%s", c->tree->err[0] ? c->tree->err : strerror(-err));
	if (!err)
		err = conf_check_perms(c);
	if (!err && !(c->flags & CONF_NO_CREDS))
		err = conf_creds_load(c->conf, c->flags, c->err, c->errlen);
	if (!err)
		err = conf_build(c);
	if (err && !c->err[0])
		snprintf(c->err, c->errlen, "%s: %s", c->conf->path, strerror(-err));
	conf_tree_free(c->tree);
	return err;
}

static int conf_new(const char *path, struct conf **out)
{
	struct conf *conf = calloc(1, sizeof(*conf));
	const char *slash;

	if (!conf)
		return -ENOMEM;
	conf->path = strdup(path);
	slash = strrchr(path, '/');
	conf->dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!conf->path || !conf->dir) {
		conf_free(conf);
		return -ENOMEM;
	}
	*out = conf;
	return 0;
}

int conf_load(const char *path, unsigned int flags, struct conf **out, char *err, size_t errlen)
{
	struct conf_tree tree;
	struct conf_ctx c = { .flags = flags, .err = err, .errlen = errlen, .tree = &tree };
	int rc;

	err[0] = '\0';
	*out = NULL;
	rc = conf_new(path, &c.conf);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	conf_tree_init(&tree);
	rc = conf_parse_file(&tree, path, (flags & CONF_NO_INCLUDE) ? CONF_PARSE_NO_INCLUDE : 0);
	rc = conf_finish(&c, rc);
	if (rc) {
		conf_free(c.conf);
		return rc;
	}
	*out = c.conf;
	return 0;
}

int conf_load_buf(const char *buf, size_t len, const char *name, unsigned int flags,
		  struct conf **out, char *err, size_t errlen)
{
	struct conf_tree tree;
	struct conf_ctx c = { .flags = flags, .err = err, .errlen = errlen, .tree = &tree };
	int rc;

	err[0] = '\0';
	*out = NULL;
	rc = conf_new(name, &c.conf);
	if (rc) {
		snprintf(err, errlen, "%s: %s", name, strerror(-rc));
		return rc;
	}
	conf_tree_init(&tree);
	rc = conf_parse_buf(&tree, buf, len, name,
			    (flags & CONF_NO_INCLUDE) ? CONF_PARSE_NO_INCLUDE : 0);
	rc = conf_finish(&c, rc);
	if (rc) {
		conf_free(c.conf);
		return rc;
	}
	*out = c.conf;
	return 0;
}

void conf_free(struct conf *conf)
{
	size_t i;

	if (!conf)
		return;
	for (i = 0; i < conf->nconns; i++)
		conf_conn_free(conf->conns[i]);
	free(conf->conns);
	for (i = 0; i < conf->npools; i++)
		conf_pool_free(conf->pools[i]);
	free(conf->pools);
	for (i = 0; i < conf->nsecrets; i++)
		conf_secret_free(conf->secrets[i]);
	free(conf->secrets);
	for (i = 0; i < conf->nauthorities; i++)
		conf_authority_free(conf->authorities[i]);
	free(conf->authorities);
	conf_creds_free(&conf->creds);
	free(conf->path);
	free(conf->dir);
	free(conf);
}

const struct conf_conn *conf_find_conn(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nconns; i++)
		if (!strcmp(conf->conns[i]->name, name))
			return conf->conns[i];
	return NULL;
}

const struct conf_child *conf_find_child(const struct conf_conn *conn, const char *name)
{
	size_t i;

	for (i = 0; i < conn->nchildren; i++)
		if (!strcmp(conn->children[i]->name, name))
			return conn->children[i];
	return NULL;
}

const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->npools; i++)
		if (!strcmp(conf->pools[i]->name, name))
			return conf->pools[i];
	return NULL;
}

/* An identity matches a secret's id exactly (wildcards in the secret allowed). */
static bool conf_secret_has(const struct conf_secret *s, const struct conf_id *id)
{
	size_t i;

	if (!id)
		return false;
	for (i = 0; i < s->nids; i++)
		if (s->ids[i].type != CONF_ID_ANY && conf_id_match(&s->ids[i], id))
			return true;
	return false;
}

const struct conf_secret *conf_find_ike_secret(const struct conf *conf, const struct conf_id *me,
					       const struct conf_id *peer)
{
	const struct conf_secret *best = NULL;
	int best_score = -1, score;
	size_t i;

	for (i = 0; i < conf->nsecrets; i++) {
		const struct conf_secret *s = conf->secrets[i];

		if (!s->nids) {
			score = 0;
		} else {
			score = (conf_secret_has(s, me) ? 1 : 0) +
				(conf_secret_has(s, peer) ? 2 : 0);
			if (!score)
				continue;
		}
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	return best;
}

/* Summary */

static void conf_hosts_str(const struct conf_host *v, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;
	char r[96];

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++) {
		if (v[i].kind == CONF_HOST_ANY)
			snprintf(r, sizeof(r), "%s",
				 v[i].family == AF_INET	 ? "%any4" :
				 v[i].family == AF_INET6 ? "%any6" :
							   "%any");
		else if (v[i].kind == CONF_HOST_NAME)
			snprintf(r, sizeof(r), "%.90s", v[i].name);
		else
			conf_range_str(&v[i].range, r, sizeof(r));
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", r);
	}
}

static void conf_ts_str(const struct conf_ts *v, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;
	char r[96];

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++) {
		if (v[i].dynamic)
			snprintf(r, sizeof(r), "dynamic");
		else
			conf_range_str(&v[i].range, r, sizeof(r));
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", r);
	}
}

static const char *conf_auth_name(enum conf_auth_method m)
{
	return m == CONF_AUTH_PSK   ? "psk" :
	       m == CONF_AUTH_RSA   ? "rsa" :
	       m == CONF_AUTH_ECDSA ? "ecdsa" :
				      "pubkey";
}

static void conf_props_print(FILE *f, const char *what, const struct conf_proposals *p)
{
	size_t i;
	int k;

	for (i = 0; i < p->n; i++) {
		const struct conf_proposal *q = &p->v[i];

		fprintf(f, "    %s proposal %zu:", what, i + 1);
		for (k = 0; k < q->nencr; k++)
			fprintf(f, " %s",
				conf_alg_name(IKEV2_XFORM_ENCR, q->encr[k], q->encr_keylen[k]));
		for (k = 0; k < q->ninteg; k++)
			fprintf(f, " %s", conf_alg_name(IKEV2_XFORM_INTEG, q->integ[k], 0));
		for (k = 0; k < q->nprf; k++)
			fprintf(f, " %s", conf_alg_name(IKEV2_XFORM_PRF, q->prf[k], 0));
		for (k = 0; k < q->nke; k++)
			fprintf(f, " %s", conf_alg_name(IKEV2_XFORM_DH, q->ke[k], 0));
		for (k = 0; k < q->nesn; k++)
			fprintf(f, " %s", conf_alg_name(IKEV2_XFORM_ESN, q->esn[k], 0));
		fputc('\n', f);
	}
}

void conf_print_summary(const struct conf *conf, FILE *f, int verbose)
{
	char a[512], b[512];
	size_t i, j;

	fprintf(f, "%s: %zu connection%s, %zu pool%s, %zu IKE secret%s, %zu authorit%s\n",
		conf->path, conf->nconns, conf->nconns == 1 ? "" : "s", conf->npools,
		conf->npools == 1 ? "" : "s", conf->nsecrets, conf->nsecrets == 1 ? "" : "s",
		conf->nauthorities, conf->nauthorities == 1 ? "y" : "ies");
	fprintf(f, "credentials: %zu certificate%s, %zu CA certificate%s, %zu private key%s\n",
		conf->creds.ncerts, conf->creds.ncerts == 1 ? "" : "s", conf->creds.ncacerts,
		conf->creds.ncacerts == 1 ? "" : "s", conf->creds.nkeys,
		conf->creds.nkeys == 1 ? "" : "s");
	for (i = 0; i < conf->nconns; i++) {
		const struct conf_conn *c = conf->conns[i];

		conf_hosts_str(c->local_addrs, c->nlocal_addrs, a, sizeof(a));
		conf_hosts_str(c->remote_addrs, c->nremote_addrs, b, sizeof(b));
		fprintf(f, "connection %s: %s[%u] ... %s[%u], IKEv%u, %zu IKE proposal%s\n",
			c->name, a, c->local_port, b, c->remote_port, c->version, c->proposals.n,
			c->proposals.n == 1 ? "" : "s");
		fprintf(f, "  local: %s, id %s, %zu cert%s\n", conf_auth_name(c->local[0].method),
			c->local[0].id.str ? c->local[0].id.str : "%any", c->local[0].ncerts,
			c->local[0].ncerts == 1 ? "" : "s");
		fprintf(f, "  remote: %s, id %s, %zu CA cert%s\n",
			conf_auth_name(c->remote[0].method),
			c->remote[0].id.str ? c->remote[0].id.str : "%any", c->remote[0].ncacerts,
			c->remote[0].ncacerts == 1 ? "" : "s");
		if (verbose) {
			fprintf(f,
				"    rekey_time %us, reauth_time %us, over_time %us, rand_time %us, dpd_delay %us, keyingtries %u\n",
				c->rekey_time, c->reauth_time, c->over_time, c->rand_time,
				c->dpd_delay, c->keyingtries);
			conf_props_print(f, "IKE", &c->proposals);
			for (j = 0; j < c->npools; j++)
				fprintf(f, "    pool %s\n", c->pools[j]->name);
		}
		for (j = 0; j < c->nchildren; j++) {
			const struct conf_child *ch = c->children[j];

			conf_ts_str(ch->local_ts, ch->nlocal_ts, a, sizeof(a));
			conf_ts_str(ch->remote_ts, ch->nremote_ts, b, sizeof(b));
			fprintf(f, "  child %s: %s === %s, tunnel, start_action %s\n", ch->name, a,
				b,
				ch->start_action == CONF_START_TRAP  ? "trap" :
				ch->start_action == CONF_START_START ? "start" :
								       "none");
			if (verbose) {
				fprintf(f,
					"    rekey_time %us, life_time %us, rand_time %us, reqid %u, replay_window %u\n",
					ch->rekey_time, ch->life_time, ch->rand_time, ch->reqid,
					ch->replay_window);
				conf_props_print(f, "ESP", &ch->esp);
			}
		}
	}
	for (i = 0; i < conf->npools; i++) {
		conf_range_str(&conf->pools[i]->range, a, sizeof(a));
		fprintf(f, "pool %s: %s\n", conf->pools[i]->name, a);
	}
	/* names and identities only: secret values are never printed */
	for (i = 0; verbose && i < conf->nsecrets; i++) {
		fprintf(f, "secret %s:", conf->secrets[i]->name);
		for (j = 0; j < conf->secrets[i]->nids; j++)
			fprintf(f, " %s", conf->secrets[i]->ids[j].str);
		fputc('\n', f);
	}
}
