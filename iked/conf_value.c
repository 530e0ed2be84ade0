// SPDX-License-Identifier: GPL-2.0-only
/*
 * Parsers for single swanctl.conf values: times, booleans, addresses and
 * ranges, identities, marks and proposal strings. Each returns 0 or -EINVAL
 * and leaves nothing allocated on error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/x509.h>

#include "conf.h"

int conf_parse_time(const char *s, uint32_t *out)
{
	unsigned long long v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long long)(*p++ - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	switch (*p) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (*p && p[1])
		return -EINVAL;
	v *= mult;
	/* UINT32_MAX is kept free as "not configured" for derived defaults */
	if (v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "enabled", "1" };
	static const char *const no[] = { "no", "false", "off", "disabled", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int conf_parse_addr(const char *s, size_t n, int *family, uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* "addr", "addr/len" (host bits are cleared, as strongSwan does) or "from-to". */
int conf_parse_range(const char *s, struct conf_range *r)
{
	const char *slash = strchr(s, '/'), *dash = strchr(s, '-');
	int alen, fam2, i;
	char *end;
	long len;

	memset(r, 0, sizeof(*r));
	r->prefixlen = -1;
	if (slash && dash)
		return -EINVAL;
	if (dash) {
		if (conf_parse_addr(s, (size_t)(dash - s), &r->family, r->from) ||
		    conf_parse_addr(dash + 1, strlen(dash + 1), &fam2, r->to) || fam2 != r->family)
			return -EINVAL;
		alen = r->family == AF_INET ? 4 : 16;
		if (memcmp(r->from, r->to, (size_t)alen) > 0)
			return -EINVAL;
		return 0;
	}
	if (conf_parse_addr(s, slash ? (size_t)(slash - s) : strlen(s), &r->family, r->from))
		return -EINVAL;
	alen = r->family == AF_INET ? 4 : 16;
	len = alen * 8;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || len < 0 || len > alen * 8)
			return -EINVAL;
	}
	r->prefixlen = (int)len;
	for (i = 0; i < alen; i++) {
		int bits = (int)len - i * 8;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		r->from[i] &= mask;
		r->to[i] = r->from[i] | (uint8_t)~mask;
	}
	return 0;
}

void conf_id_free(struct conf_id *id)
{
	free(id->data);
	free(id->str);
	memset(id, 0, sizeof(*id));
}

static int conf_id_set(struct conf_id *id, unsigned int type, const void *data, size_t len)
{
	id->type = type;
	id->len = len;
	id->data = malloc(len ? len : 1);
	if (!id->data)
		return -ENOMEM;
	if (len)
		memcpy(id->data, data, len);
	return 0;
}

/* "C=CH, O=strongSwan, CN=moon" (',' or '/' separated RDNs) to DER. */
static int conf_id_dn(struct conf_id *id, const char *s)
{
	X509_NAME *name = X509_NAME_new();
	char *copy = strdup(s), *p, *tok, *eq, *save = NULL;
	unsigned char *der = NULL;
	int len, err = -EINVAL;
	const char *key;

	if (!name || !copy)
		goto out;
	p = copy;
	if (*p == '/')
		p++;
	for (tok = strtok_r(p, strchr(s, ',') ? "," : "/", &save); tok;
	     tok = strtok_r(NULL, strchr(s, ',') ? "," : "/", &save)) {
		while (*tok == ' ')
			tok++;
		eq = strchr(tok, '=');
		if (!eq || eq == tok)
			goto out;
		*eq = '\0';
		for (p = eq - 1; p > tok && *p == ' '; p--)
			*p = '\0';
		key = tok;
		tok = eq + 1;
		while (*tok == ' ')
			tok++;
		for (p = tok + strlen(tok); p > tok && p[-1] == ' '; p--)
			p[-1] = '\0';
		if (!*tok)
			goto out;
		/* strongSwan's names for a few attributes differ from OpenSSL's */
		if (!strcmp(key, "E") || !strcasecmp(key, "email"))
			key = "emailAddress";
		else if (!strcmp(key, "S"))
			key = "ST";
		if (!X509_NAME_add_entry_by_txt(name, key, MBSTRING_UTF8, (unsigned char *)tok, -1,
						-1, 0))
			goto out;
	}
	if (X509_NAME_entry_count(name) == 0)
		goto out;
	len = i2d_X509_NAME(name, &der);
	if (len <= 0)
		goto out;
	err = conf_id_set(id, IKEV2_ID_DER_ASN1_DN, der, (size_t)len);
out:
	OPENSSL_free(der);
	X509_NAME_free(name);
	free(copy);
	return err;
}

static int conf_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex digits, optionally ':' separated, to bytes. */
static int conf_hex_decode(const char *s, uint8_t **out, size_t *outlen)
{
	size_t n = 0, cap = strlen(s) / 2 + 1;
	uint8_t *b = malloc(cap);
	int hi, lo;

	if (!b)
		return -ENOMEM;
	while (*s) {
		if (*s == ':') {
			s++;
			continue;
		}
		hi = conf_hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : conf_hexval((unsigned char)s[1]);
		if (hi < 0 || lo < 0) {
			explicit_bzero(b, cap);
			free(b);
			return -EINVAL;
		}
		b[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (!n) {
		free(b);
		return -EINVAL;
	}
	*out = b;
	*outlen = n;
	return 0;
}

int conf_parse_id(const char *s, struct conf_id *id)
{
	uint8_t a[16];
	const char *v;
	int family, err;

	memset(id, 0, sizeof(*id));
	id->str = strdup(s);
	if (!id->str)
		return -ENOMEM;
	id->wildcard = strchr(s, '*') != NULL;
	if (!*s || !strcmp(s, "%any") || !strcmp(s, "%any6") || !strcmp(s, "*")) {
		id->type = CONF_ID_ANY;
		id->wildcard = false;
		return 0;
	}
	if (!strncmp(s, "fqdn:", 5) || !strncmp(s, "dns:", 4)) {
		v = strchr(s, ':') + 1;
		err = *v ? conf_id_set(id, IKEV2_ID_FQDN, v, strlen(v)) : -EINVAL;
	} else if (!strncmp(s, "email:", 6) || !strncmp(s, "rfc822:", 7) ||
		   !strncmp(s, "userfqdn:", 9)) {
		v = strchr(s, ':') + 1;
		err = *v ? conf_id_set(id, IKEV2_ID_RFC822_ADDR, v, strlen(v)) : -EINVAL;
	} else if (!strncmp(s, "asn1dn:", 7)) {
		err = conf_id_dn(id, s + 7);
	} else if (!strncmp(s, "keyid:", 6) || !strncmp(s, "@#", 2)) {
		v = s[0] == '@' ? s + 2 : s + 6;
		if (!strncmp(v, "0x", 2))
			v += 2;
		err = conf_hex_decode(v, &id->data, &id->len);
		if (!err)
			id->type = IKEV2_ID_KEY_ID;
	} else if (strchr(s, '=')) {
		err = conf_id_dn(id, s);
	} else if (s[0] == '@') {
		err = s[1] ? conf_id_set(id, IKEV2_ID_FQDN, s + 1, strlen(s + 1)) : -EINVAL;
	} else if (strchr(s, '@')) {
		err = conf_id_set(id, IKEV2_ID_RFC822_ADDR, s, strlen(s));
	} else if (!conf_parse_addr(s, strlen(s), &family, a)) {
		err = conf_id_set(id, family == AF_INET ? IKEV2_ID_IPV4_ADDR : IKEV2_ID_IPV6_ADDR,
				  a, family == AF_INET ? 4 : 16);
	} else {
		err = -EINVAL;
		for (v = s; *v; v++)
			if (isspace((unsigned char)*v) || !isprint((unsigned char)*v))
				break;
		if (!*v)
			err = conf_id_set(id, IKEV2_ID_FQDN, s, strlen(s));
	}
	if (err) {
		conf_id_free(id);
		return err == -ENOMEM ? err : -EINVAL;
	}
	return 0;
}

/* DNs with a '*' value match RDN by RDN; other DNs compare canonically. */
static bool conf_dn_match(const struct conf_id *id, const struct conf_id *peer)
{
	const unsigned char *p1 = id->data, *p2 = peer->data;
	X509_NAME *a = d2i_X509_NAME(NULL, &p1, (long)id->len);
	X509_NAME *b = d2i_X509_NAME(NULL, &p2, (long)peer->len);
	bool match = false;
	int i, n;

	if (!a || !b)
		goto out;
	if (!id->wildcard) {
		match = X509_NAME_cmp(a, b) == 0;
		goto out;
	}
	n = X509_NAME_entry_count(a);
	if (n != X509_NAME_entry_count(b))
		goto out;
	for (i = 0; i < n; i++) {
		X509_NAME_ENTRY *ea = X509_NAME_get_entry(a, i), *eb = X509_NAME_get_entry(b, i);
		ASN1_STRING *va = X509_NAME_ENTRY_get_data(ea), *vb = X509_NAME_ENTRY_get_data(eb);

		if (OBJ_cmp(X509_NAME_ENTRY_get_object(ea), X509_NAME_ENTRY_get_object(eb)))
			goto out;
		if (ASN1_STRING_length(va) == 1 && ASN1_STRING_get0_data(va)[0] == '*')
			continue;
		if (ASN1_STRING_length(va) != ASN1_STRING_length(vb) ||
		    strncasecmp((const char *)ASN1_STRING_get0_data(va),
				(const char *)ASN1_STRING_get0_data(vb),
				(size_t)ASN1_STRING_length(va)))
			goto out;
	}
	match = true;
out:
	X509_NAME_free(a);
	X509_NAME_free(b);
	return match;
}

bool conf_id_match(const struct conf_id *id, const struct conf_id *peer)
{
	char pat[256], val[256];

	if (id->type == CONF_ID_ANY)
		return true;
	if (!peer || id->type != peer->type)
		return false;
	if (id->type == IKEV2_ID_DER_ASN1_DN)
		return conf_dn_match(id, peer);
	if (!id->wildcard || (id->type != IKEV2_ID_FQDN && id->type != IKEV2_ID_RFC822_ADDR)) {
		if (id->type == IKEV2_ID_FQDN || id->type == IKEV2_ID_RFC822_ADDR)
			return id->len == peer->len &&
			       !strncasecmp((const char *)id->data, (const char *)peer->data,
					    id->len);
		return id->len == peer->len && !memcmp(id->data, peer->data, id->len);
	}
	if (id->len >= sizeof(pat) || peer->len >= sizeof(val) ||
	    memchr(peer->data, '\0', peer->len))
		return false;
	memcpy(pat, id->data, id->len);
	pat[id->len] = '\0';
	memcpy(val, peer->data, peer->len);
	val[peer->len] = '\0';
	return fnmatch(pat, val, FNM_CASEFOLD) == 0;
}

static int conf_parse_u32_any(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* "value[/mask]", "%unique", "%unique-dir", and "%same" for set_mark_*. */
int conf_parse_mark(const char *s, bool set_mark, struct conf_mark *m)
{
	const char *slash = strchr(s, '/');
	char val[32];
	size_t n;

	memset(m, 0, sizeof(*m));
	m->mask = UINT32_MAX;
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(val))
		return -EINVAL;
	memcpy(val, s, n);
	val[n] = '\0';
	if (!set_mark && !strcmp(val, "%unique"))
		m->flags = CONF_MARK_UNIQUE;
	else if (!set_mark && !strcmp(val, "%unique-dir"))
		m->flags = CONF_MARK_UNIQUE_DIR;
	else if (set_mark && !strcmp(val, "%same"))
		m->flags = CONF_MARK_SAME;
	else if (conf_parse_u32_any(val, &m->value))
		return -EINVAL;
	if (slash && conf_parse_u32_any(slash + 1, &m->mask))
		return -EINVAL;
	if (!m->flags && (m->value & ~m->mask))
		return -EINVAL;
	m->set = true;
	return 0;
}

/* Proposal keywords; names follow strongSwan's proposal_keywords. */
enum conf_alg_kind {
	CONF_ALG_ENCR,
	CONF_ALG_AEAD,
	CONF_ALG_INTEG,
	CONF_ALG_PRF,
	CONF_ALG_KE,
	CONF_ALG_ESN
};

struct conf_alg {
	const char *name;
	enum conf_alg_kind kind;
	uint16_t id;
	uint16_t keylen;
	bool esp_only;
};

static const struct conf_alg conf_algs[] = {
	{ "aes", CONF_ALG_ENCR, IKEV2_ENCR_AES_CBC, 128, false },
	{ "aes128", CONF_ALG_ENCR, IKEV2_ENCR_AES_CBC, 128, false },
	{ "aes192", CONF_ALG_ENCR, IKEV2_ENCR_AES_CBC, 192, false },
	{ "aes256", CONF_ALG_ENCR, IKEV2_ENCR_AES_CBC, 256, false },
	{ "aes128gcm16", CONF_ALG_AEAD, IKEV2_ENCR_AES_GCM_16, 128, false },
	{ "aes128gcm128", CONF_ALG_AEAD, IKEV2_ENCR_AES_GCM_16, 128, false },
	{ "aes192gcm16", CONF_ALG_AEAD, IKEV2_ENCR_AES_GCM_16, 192, false },
	{ "aes192gcm128", CONF_ALG_AEAD, IKEV2_ENCR_AES_GCM_16, 192, false },
	{ "aes256gcm16", CONF_ALG_AEAD, IKEV2_ENCR_AES_GCM_16, 256, false },
	{ "aes256gcm128", CONF_ALG_AEAD, IKEV2_ENCR_AES_GCM_16, 256, false },
	{ "chacha20poly1305", CONF_ALG_AEAD, IKEV2_ENCR_CHACHA20_POLY1305, 0, true },
	{ "sha256", CONF_ALG_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, 0, false },
	{ "sha2_256", CONF_ALG_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, 0, false },
	{ "sha384", CONF_ALG_INTEG, IKEV2_INTEG_HMAC_SHA2_384_192, 0, false },
	{ "sha2_384", CONF_ALG_INTEG, IKEV2_INTEG_HMAC_SHA2_384_192, 0, false },
	{ "sha512", CONF_ALG_INTEG, IKEV2_INTEG_HMAC_SHA2_512_256, 0, false },
	{ "sha2_512", CONF_ALG_INTEG, IKEV2_INTEG_HMAC_SHA2_512_256, 0, false },
	{ "prfsha256", CONF_ALG_PRF, IKEV2_PRF_HMAC_SHA2_256, 0, false },
	{ "prfsha2_256", CONF_ALG_PRF, IKEV2_PRF_HMAC_SHA2_256, 0, false },
	{ "prfsha384", CONF_ALG_PRF, IKEV2_PRF_HMAC_SHA2_384, 0, false },
	{ "prfsha2_384", CONF_ALG_PRF, IKEV2_PRF_HMAC_SHA2_384, 0, false },
	{ "prfsha512", CONF_ALG_PRF, IKEV2_PRF_HMAC_SHA2_512, 0, false },
	{ "prfsha2_512", CONF_ALG_PRF, IKEV2_PRF_HMAC_SHA2_512, 0, false },
	{ "modp2048", CONF_ALG_KE, IKEV2_DH_MODP_2048, 0, false },
	{ "ecp256", CONF_ALG_KE, IKEV2_DH_ECP_256, 0, false },
	{ "ecp384", CONF_ALG_KE, IKEV2_DH_ECP_384, 0, false },
	{ "x25519", CONF_ALG_KE, IKEV2_DH_CURVE25519, 0, false },
	{ "curve25519", CONF_ALG_KE, IKEV2_DH_CURVE25519, 0, false },
	{ "esn", CONF_ALG_ESN, IKEV2_ESN_YES, 0, true },
	{ "noesn", CONF_ALG_ESN, IKEV2_ESN_NO, 0, true },
};

/*
 * What "default" means. strongSwan's defaults, limited to what xiked
 * implements; the first proposals are preferred.
 */
static const char conf_default_ike[] =
	"aes128-aes192-aes256-sha256-sha384-sha512-x25519-ecp256-ecp384-modp2048,"
	"aes128gcm16-aes256gcm16-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-modp2048";
static const char conf_default_esp[] =
	"aes128gcm16-aes256gcm16-chacha20poly1305,aes128-aes192-aes256-sha256-sha384-sha512";

void conf_proposals_free(struct conf_proposals *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static int conf_prop_add(uint16_t *arr, uint8_t *n, uint16_t id, size_t max)
{
	uint8_t i;

	for (i = 0; i < *n; i++)
		if (arr[i] == id)
			return 0;
	if (*n >= max)
		return -E2BIG;
	arr[(*n)++] = id;
	return 0;
}

static int conf_prop_one(char *s, bool ike, struct conf_proposal *p, char *err, size_t errlen)
{
	char *tok, *save = NULL;
	const struct conf_alg *a;
	bool plain = false, prf_given;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	for (tok = strtok_r(s, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		a = NULL;
		for (i = 0; i < sizeof(conf_algs) / sizeof(conf_algs[0]); i++)
			if (!strcmp(conf_algs[i].name, tok))
				a = &conf_algs[i];
		if (!a) {
			snprintf(err, errlen, "unknown or unsupported algorithm '%.64s'", tok);
			return -EINVAL;
		}
		if (ike && a->esp_only) {
			snprintf(err, errlen, "'%s' is not supported in IKE proposals", tok);
			return -EINVAL;
		}
		if (!ike && a->kind == CONF_ALG_PRF) {
			snprintf(err, errlen, "'%s': no PRF in ESP proposals", tok);
			return -EINVAL;
		}
		rc = 0;
		switch (a->kind) {
		case CONF_ALG_ENCR:
		case CONF_ALG_AEAD:
			if ((a->kind == CONF_ALG_AEAD && plain) ||
			    (a->kind == CONF_ALG_ENCR && p->aead)) {
				snprintf(err, errlen,
					 "'%s': AEAD and non-AEAD ciphers in one proposal", tok);
				return -EINVAL;
			}
			plain = a->kind == CONF_ALG_ENCR;
			p->aead = a->kind == CONF_ALG_AEAD;
			for (i = 0; i < p->nencr; i++)
				if (p->encr[i] == a->id && p->encr_keylen[i] == a->keylen)
					break;
			if (i < p->nencr)
				break;
			if (p->nencr >= CONF_PROP_MAX) {
				rc = -E2BIG;
				break;
			}
			p->encr[p->nencr] = a->id;
			p->encr_keylen[p->nencr++] = a->keylen;
			break;
		case CONF_ALG_INTEG:
			rc = conf_prop_add(p->integ, &p->ninteg, a->id, CONF_PROP_MAX);
			break;
		case CONF_ALG_PRF:
			rc = conf_prop_add(p->prf, &p->nprf, a->id, CONF_PROP_MAX);
			break;
		case CONF_ALG_KE:
			rc = conf_prop_add(p->ke, &p->nke, a->id, CONF_PROP_MAX);
			break;
		case CONF_ALG_ESN:
			rc = conf_prop_add(p->esn, &p->nesn, a->id, 2);
			break;
		}
		if (rc) {
			snprintf(err, errlen, "too many algorithms at '%s'", tok);
			return rc;
		}
	}
	if (!p->nencr) {
		snprintf(err, errlen, "no encryption algorithm");
		return -EINVAL;
	}
	if (p->aead && p->ninteg) {
		snprintf(err, errlen, "integrity algorithm with an AEAD cipher");
		return -EINVAL;
	}
	if (!p->aead && !p->ninteg) {
		snprintf(err, errlen, "no integrity algorithm");
		return -EINVAL;
	}
	if (!ike) {
		if (!p->nesn)
			p->esn[p->nesn++] = IKEV2_ESN_NO;
		return 0;
	}
	if (!p->nke) {
		snprintf(err, errlen, "a key exchange method is mandatory in IKE proposals");
		return -EINVAL;
	}
	prf_given = p->nprf > 0;
	if (p->aead && !p->nprf) {
		snprintf(err, errlen, "a PRF is mandatory in AEAD proposals");
		return -EINVAL;
	}
	/* strongSwan: without an explicit PRF, use the integrity algorithms' hashes */
	for (i = 0; !p->aead && i < p->ninteg && !prf_given; i++) {
		uint16_t prf =
			p->integ[i] == IKEV2_INTEG_HMAC_SHA2_256_128 ? IKEV2_PRF_HMAC_SHA2_256 :
			p->integ[i] == IKEV2_INTEG_HMAC_SHA2_384_192 ? IKEV2_PRF_HMAC_SHA2_384 :
								       IKEV2_PRF_HMAC_SHA2_512;

		(void)conf_prop_add(p->prf, &p->nprf, prf, CONF_PROP_MAX);
	}
	return 0;
}

static int conf_props_add_str(const char *s, bool ike, struct conf_proposals *out, char *err,
			      size_t errlen, int depth)
{
	char *copy = strdup(s), *tok, *save = NULL, *end;
	struct conf_proposal *v;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok) {
			snprintf(err, errlen, "empty proposal");
			rc = -EINVAL;
			break;
		}
		if (!strcmp(tok, "default") && depth == 0) {
			rc = conf_props_add_str(ike ? conf_default_ike : conf_default_esp, ike, out,
						err, errlen, 1);
			if (rc)
				break;
			continue;
		}
		if (out->n >= 32) {
			snprintf(err, errlen, "more than 32 proposals");
			rc = -E2BIG;
			break;
		}
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			break;
		}
		out->v = v;
		{
			char where[96];
			int werr;

			snprintf(where, sizeof(where), "%.64s", tok);
			werr = conf_prop_one(tok, ike, &out->v[out->n], err, errlen);
			if (werr) {
				char tmp[192];

				snprintf(tmp, sizeof(tmp), "proposal '%s': %s", where, err);
				snprintf(err, errlen, "%s", tmp);
				rc = werr;
				break;
			}
		}
		out->n++;
	}
	free(copy);
	return rc;
}

int conf_parse_proposals(const char *s, bool ike, struct conf_proposals *out, char *err,
			 size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	rc = conf_props_add_str(s, ike, out, err, errlen, 0);
	if (!rc && !out->n) {
		snprintf(err, errlen, "no proposal");
		rc = -EINVAL;
	}
	if (rc)
		conf_proposals_free(out);
	return rc;
}

const char *conf_alg_name(unsigned int xform_type, uint16_t id, uint16_t keylen)
{
	size_t i;

	for (i = 0; i < sizeof(conf_algs) / sizeof(conf_algs[0]); i++) {
		const struct conf_alg *a = &conf_algs[i];
		bool kind_ok;

		switch (xform_type) {
		case IKEV2_XFORM_ENCR:
			kind_ok = (a->kind == CONF_ALG_ENCR || a->kind == CONF_ALG_AEAD) &&
				  a->keylen == keylen && strcmp(a->name, "aes");
			break;
		case IKEV2_XFORM_PRF:
			kind_ok = a->kind == CONF_ALG_PRF;
			break;
		case IKEV2_XFORM_INTEG:
			kind_ok = a->kind == CONF_ALG_INTEG;
			break;
		case IKEV2_XFORM_DH:
			kind_ok = a->kind == CONF_ALG_KE;
			break;
		case IKEV2_XFORM_ESN:
			kind_ok = a->kind == CONF_ALG_ESN;
			break;
		default:
			kind_ok = false;
		}
		if (kind_ok && a->id == id)
			return a->name;
	}
	return "unknown";
}
