/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiked's typed configuration, read from swanctl.conf syntax.
 *
 * conf_load() parses the file (and its includes) into a conf_tree, then
 * walks it with one key table per section kind: every key is validated and
 * converted here, unknown or unsupported keys and values are errors
 * ("file:line: unknown key 'foo' in connections.x"), and absent keys get
 * swanctl's defaults. Certificates and private keys are then loaded from
 * x509/, x509ca/, private/, rsa/, ecdsa/, pkcs8/ next to the file (conf_creds.c).
 *
 * Algorithm and identity numbers are the IANA values from ikev2.h, so the
 * engine puts them on the wire as they are. See docs/swanctl-subset.md.
 */
#ifndef XIKED_CONF_H
#define XIKED_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ikev2.h"

#define CONF_DEFAULT_PATH "/etc/xipsec/swanctl.conf"

/* An address or an inclusive address range; a CIDR prefix is a range too. */
struct conf_range {
	int family; /* AF_INET, AF_INET6 */
	uint8_t from[16], to[16]; /* network order, 4 bytes used for IPv4 */
	int prefixlen; /* -1 if not a CIDR prefix */
};

enum conf_host_kind {
	CONF_HOST_ANY, /* %any, %any4 (family AF_INET), %any6 */
	CONF_HOST_RANGE, /* address, subnet or range */
	CONF_HOST_NAME, /* DNS name, resolved by the engine */
};

struct conf_host {
	enum conf_host_kind kind;
	int family; /* AF_UNSPEC for %any */
	struct conf_range range;
	char *name;
};

/* Traffic selector: "dynamic" (the IKE/virtual address) or a range. */
struct conf_ts {
	bool dynamic;
	struct conf_range range;
};

/* One proposal; transform IDs are the IANA numbers (enum ikev2_*). */
#define CONF_PROP_MAX 8
struct conf_proposal {
	uint16_t encr[CONF_PROP_MAX];
	uint16_t encr_keylen[CONF_PROP_MAX]; /* bits */
	uint16_t integ[CONF_PROP_MAX];
	uint16_t prf[CONF_PROP_MAX];
	uint16_t ke[CONF_PROP_MAX];
	uint16_t esn[2];
	uint8_t nencr, ninteg, nprf, nke, nesn;
	bool aead;
};

struct conf_proposals {
	struct conf_proposal *v;
	size_t n;
};

/* Identity; data holds the ID payload body (4/16 bytes, name bytes, DER DN). */
struct conf_id {
	unsigned int type; /* enum ikev2_id_type, or CONF_ID_ANY */
	uint8_t *data;
	size_t len;
	char *str; /* as written (for logs and messages) */
	bool wildcard; /* contains '*': matches by pattern */
};
#define CONF_ID_ANY 0

enum conf_mark_flags {
	CONF_MARK_UNIQUE = 1 << 0, /* %unique */
	CONF_MARK_UNIQUE_DIR = 1 << 1, /* %unique-dir */
	CONF_MARK_SAME = 1 << 2, /* %same (set_mark_* only) */
};

struct conf_mark {
	uint32_t value, mask;
	unsigned int flags;
	bool set;
};

struct conf_if_id {
	uint32_t value;
	unsigned int flags; /* CONF_MARK_UNIQUE, CONF_MARK_UNIQUE_DIR */
};

enum conf_auth_method {
	CONF_AUTH_PUBKEY, /* any key type, RFC 7427 signatures */
	CONF_AUTH_RSA, /* pubkey restricted to RSA keys */
	CONF_AUTH_ECDSA, /* pubkey restricted to ECDSA keys */
	CONF_AUTH_PSK,
};

struct conf_auth {
	char *name; /* "local", "local-1", "remote-foo", ... */
	unsigned int round;
	enum conf_auth_method method;
	struct conf_id id; /* local default: first cert's subject, else
				 * CONF_ID_ANY = the engine uses the IP address;
				 * remote default: %any */
	bool id_set;
	X509 **certs; /* own references */
	size_t ncerts;
	X509 **cacerts; /* remote only: trust anchors for this peer */
	size_t ncacerts;
	const char *file;
	unsigned int line;
};

enum conf_start_action { CONF_START_NONE, CONF_START_START, CONF_START_TRAP };
/* dpd_action and close_action; NONE is strongSwan's "clear": close, nothing more */
enum conf_action { CONF_ACTION_NONE, CONF_ACTION_TRAP, CONF_ACTION_RESTART };
enum conf_mode { CONF_MODE_TUNNEL };
enum conf_frag { CONF_FRAG_YES, CONF_FRAG_ACCEPT, CONF_FRAG_FORCE, CONF_FRAG_NO };
enum conf_send_cert { CONF_SEND_CERT_IFASKED, CONF_SEND_CERT_ALWAYS, CONF_SEND_CERT_NEVER };
enum conf_unique { CONF_UNIQUE_NO, CONF_UNIQUE_NEVER, CONF_UNIQUE_KEEP, CONF_UNIQUE_REPLACE };

struct conf_child {
	char *name;
	struct conf_ts *local_ts, *remote_ts;
	size_t nlocal_ts, nremote_ts;
	struct conf_proposals esp;
	enum conf_mode mode;
	enum conf_start_action start_action;
	enum conf_action dpd_action, close_action;
	uint32_t rekey_time, life_time, rand_time; /* seconds */
	struct conf_mark mark_in, mark_out, set_mark_in, set_mark_out;
	struct conf_if_id if_id_in, if_id_out;
	uint32_t reqid; /* 0: allocated by the engine */
	uint32_t replay_window;
	const char *file;
	unsigned int line;
};

struct conf_pool {
	char *name;
	struct conf_range range;
	struct conf_range *dns; /* single addresses */
	size_t ndns;
};

struct conf_conn {
	char *name;
	unsigned int version; /* 2 (0 in the file means "any" = 2 here) */
	struct conf_host *local_addrs, *remote_addrs;
	size_t nlocal_addrs, nremote_addrs;
	uint16_t local_port, remote_port;
	struct conf_proposals proposals;
	uint32_t dpd_delay, dpd_timeout; /* seconds */
	uint32_t rekey_time, reauth_time, over_time, rand_time;
	bool encap, mobike, send_certreq;
	enum conf_frag fragmentation;
	enum conf_send_cert send_cert;
	enum conf_unique unique;
	uint32_t keyingtries; /* 0: forever */
	struct conf_pool **pools; /* point into struct conf */
	size_t npools;
	struct conf_range *vips; /* single addresses, 0.0.0.0/:: = any */
	size_t nvips;
	struct conf_mark mark_in, mark_out;
	struct conf_if_id if_id_in, if_id_out;
	struct conf_auth *local, *remote; /* sorted by round */
	size_t nlocal, nremote;
	struct conf_child **children;
	size_t nchildren;
	const char *file;
	unsigned int line;
};

struct conf_secret {
	char *name; /* "ike-home" */
	struct conf_id *ids; /* none: the secret matches any peer */
	size_t nids;
	uint8_t *secret; /* scrubbed on free */
	size_t secret_len;
};

struct conf_authority {
	char *name;
	X509 *cacert;
};

/* A credential file loaded from next to the configuration. */
struct conf_cert {
	char *path;
	X509 *x509;
};

struct conf_key {
	char *path;
	EVP_PKEY *pkey;
};

struct conf_creds {
	struct conf_cert *certs; /* x509/ */
	size_t ncerts;
	struct conf_cert *cacerts; /* x509ca/ and authorities.*.cacert */
	size_t ncacerts;
	struct conf_key *keys; /* private/, rsa/, ecdsa/, pkcs8/ */
	size_t nkeys;
};

struct conf {
	char *path;
	char *dir; /* base of x509/ etc. */
	struct conf_conn **conns;
	size_t nconns;
	struct conf_pool **pools;
	size_t npools;
	struct conf_secret **secrets;
	size_t nsecrets;
	struct conf_authority **authorities;
	size_t nauthorities;
	struct conf_creds creds;
};

enum conf_load_flags {
	CONF_NO_INCLUDE = 1 << 0, /* "include" is an error */
	CONF_NO_CREDS = 1 << 1, /* don't read x509/ etc., certs = is an error */
	CONF_NO_PERM_CHECK = 1 << 2, /* secrets may be readable by others */
};

/*
 * Load @path. On error returns -errno with "file:line: message" in @err.
 * The result is freed with conf_free(), which scrubs secrets.
 */
int conf_load(const char *path, unsigned int flags, struct conf **out, char *err, size_t errlen);
/* Same from memory; @name is used in messages, relative names are relative to cwd. */
int conf_load_buf(const char *buf, size_t len, const char *name, unsigned int flags,
		  struct conf **out, char *err, size_t errlen);
void conf_free(struct conf *conf);

/* Summary for "xiked -n": one line per connection, more with @verbose. */
void conf_print_summary(const struct conf *conf, FILE *f, int verbose);

const struct conf_conn *conf_find_conn(const struct conf *conf, const char *name);
const struct conf_child *conf_find_child(const struct conf_conn *conn, const char *name);
const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name);
/*
 * The IKE secret for a pair of identities, strongSwan's way: a secret whose
 * ids match both wins over one matching only one, which wins over one with
 * no ids; NULL if none. Either identity may be NULL.
 */
const struct conf_secret *conf_find_ike_secret(const struct conf *conf, const struct conf_id *me,
					       const struct conf_id *peer);
/* The private key matching @cert's public key, or NULL. */
EVP_PKEY *conf_find_key(const struct conf *conf, X509 *cert);

/* Value parsers, exported for tests and the control socket. 0 or -EINVAL. */
int conf_parse_time(const char *s, uint32_t *out);
int conf_parse_bool(const char *s, bool *out);
int conf_parse_range(const char *s, struct conf_range *r);
int conf_parse_id(const char *s, struct conf_id *id);
void conf_id_free(struct conf_id *id);
/* True if @id (configured, may hold '*' or be %any) accepts @peer. */
bool conf_id_match(const struct conf_id *id, const struct conf_id *peer);
int conf_parse_mark(const char *s, bool set_mark, struct conf_mark *m);
/* @ike: IKE proposals (PRF and KE required) rather than ESP. @err names the bad token. */
int conf_parse_proposals(const char *s, bool ike, struct conf_proposals *out, char *err,
			 size_t errlen);
void conf_proposals_free(struct conf_proposals *p);
/* strongSwan's keyword for a transform ("aes256gcm16", "x25519"), "unknown" if none. */
const char *conf_alg_name(unsigned int xform_type, uint16_t id, uint16_t keylen);

/* conf_creds.c */
int conf_creds_load(struct conf *conf, unsigned int flags, char *err, size_t errlen);
void conf_creds_free(struct conf_creds *creds);
/* Load one certificate (PEM or DER); relative names are under @conf->dir/@subdir. */
int conf_creds_load_cert(const struct conf *conf, const char *subdir, const char *name, X509 **out,
			 char *err, size_t errlen);

#endif
