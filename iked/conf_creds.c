// SPDX-License-Identifier: GPL-2.0-only
/*
 * Certificates and private keys found the way swanctl finds them: every file
 * in x509/ (end-entity certificates), x509ca/ (trust anchors), private/,
 * rsa/, ecdsa/ and pkcs8/ (private keys) next to the configuration file, PEM
 * or DER.
 * A file that cannot be read is an error rather than a warning, and a
 * private key readable by group or others is refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "log.h"

#define CONF_CREDS_MAX_FILE (1 << 20)
#define CONF_CREDS_MAX_DIR  1024

/* Read a bounded regular file; the caller scrubs and frees *buf. */
static int conf_creds_read(const char *path, char **buf, size_t *len, mode_t *mode)
{
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd, err = 0;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (st.st_size > CONF_CREDS_MAX_FILE) {
		err = -EFBIG;
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		err = -ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, *buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	*len = off;
	*mode = st.st_mode;
out:
	if (err && *buf) {
		explicit_bzero(*buf, off);
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return err;
}

static const char *conf_creds_why(int err)
{
	return err == -EISDIR ? "not a regular file" :
	       err == -EFBIG  ? "file too large" :
				strerror(-err);
}

static X509 *conf_creds_parse_cert(const char *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	X509 *x = NULL;

	if (!bio)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!x) {
		(void)BIO_reset(bio);
		x = d2i_X509_bio(bio, NULL);
	}
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

/* Encrypted keys would need a passphrase: refuse instead of prompting. */
static int conf_creds_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static EVP_PKEY *conf_creds_parse_key(const char *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *k = NULL;

	if (!bio)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, conf_creds_no_pass, NULL);
	if (!k) {
		(void)BIO_reset(bio);
		k = d2i_PrivateKey_bio(bio, NULL);
	}
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

int conf_creds_load_cert(const struct conf *conf, const char *subdir, const char *name, X509 **out,
			 char *err, size_t errlen)
{
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	mode_t mode;
	int rc;

	*out = NULL;
	if (name[0] == '/')
		path = strdup(name);
	else if (asprintf(&path, "%s/%s/%s", conf->dir, subdir ? subdir : ".", name) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;
	rc = conf_creds_read(path, &buf, &len, &mode);
	if (rc) {
		snprintf(err, errlen, "certificate '%.128s': %s", path, conf_creds_why(rc));
		goto out;
	}
	*out = conf_creds_parse_cert(buf, len);
	if (!*out) {
		snprintf(err, errlen, "certificate '%.128s': not a PEM or DER X.509 certificate",
			 path);
		rc = -EINVAL;
	}
out:
	free(buf);
	free(path);
	return rc;
}

enum conf_creds_kind {
	CONF_CRED_CERT,
	CONF_CRED_CACERT,
	CONF_CRED_KEY,
	CONF_CRED_RSA,
	CONF_CRED_ECDSA
};

static int conf_creds_file(struct conf *conf, enum conf_creds_kind kind, const char *path,
			   unsigned int flags, char *err, size_t errlen)
{
	struct conf_creds *cr = &conf->creds;
	char *buf = NULL;
	size_t len = 0;
	mode_t mode = 0;
	void *v;
	int rc;

	rc = conf_creds_read(path, &buf, &len, &mode);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, conf_creds_why(rc));
		return rc;
	}
	if (kind == CONF_CRED_CERT || kind == CONF_CRED_CACERT) {
		struct conf_cert **arr = kind == CONF_CRED_CERT ? &cr->certs : &cr->cacerts;
		size_t *n = kind == CONF_CRED_CERT ? &cr->ncerts : &cr->ncacerts;
		X509 *x = conf_creds_parse_cert(buf, len);

		free(buf);
		if (!x) {
			snprintf(err, errlen, "%s: not a PEM or DER X.509 certificate", path);
			return -EINVAL;
		}
		v = realloc(*arr, (*n + 1) * sizeof(**arr));
		if (!v) {
			X509_free(x);
			return -ENOMEM;
		}
		*arr = v;
		(*arr)[*n].x509 = x;
		(*arr)[*n].path = strdup(path);
		if (!(*arr)[*n].path) {
			X509_free(x);
			return -ENOMEM;
		}
		(*n)++;
		return 0;
	}

	if ((mode & 077) && !(flags & CONF_NO_PERM_CHECK)) {
		if (buf)
			explicit_bzero(buf, len);
		free(buf);
		snprintf(
			err, errlen,
			"%s: private key is accessible by group or others (mode %04o); chmod 600 it",
			path, (unsigned int)(mode & 07777));
		return -EPERM;
	}
	{
		EVP_PKEY *k = conf_creds_parse_key(buf, len);
		int type;

		if (buf)
			explicit_bzero(buf, len);
		free(buf);
		if (!k) {
			snprintf(
				err, errlen,
				"%s: not a PEM or DER private key (encrypted keys are not supported)",
				path);
			return -EINVAL;
		}
		type = EVP_PKEY_get_base_id(k);
		if ((kind == CONF_CRED_RSA && type != EVP_PKEY_RSA) ||
		    (kind == CONF_CRED_ECDSA && type != EVP_PKEY_EC)) {
			EVP_PKEY_free(k);
			snprintf(err, errlen, "%s: not an %s key", path,
				 kind == CONF_CRED_RSA ? "RSA" : "ECDSA");
			return -EINVAL;
		}
		v = realloc(cr->keys, (cr->nkeys + 1) * sizeof(*cr->keys));
		if (!v) {
			EVP_PKEY_free(k);
			return -ENOMEM;
		}
		cr->keys = v;
		cr->keys[cr->nkeys].pkey = k;
		cr->keys[cr->nkeys].path = strdup(path);
		if (!cr->keys[cr->nkeys].path) {
			EVP_PKEY_free(k);
			return -ENOMEM;
		}
		cr->nkeys++;
	}
	return 0;
}

static int conf_creds_dir(struct conf *conf, const char *sub, enum conf_creds_kind kind,
			  unsigned int flags, char *err, size_t errlen)
{
	struct dirent **ents = NULL;
	char *dir = NULL, *path;
	int n, i, rc = 0;

	if (asprintf(&dir, "%s/%s", conf->dir, sub) < 0)
		return -ENOMEM;
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		rc = errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
		if (rc)
			snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
		free(dir);
		return rc;
	}
	if (n > CONF_CREDS_MAX_DIR) {
		snprintf(err, errlen, "%s: more than %d files", dir, CONF_CREDS_MAX_DIR);
		rc = -E2BIG;
	}
	for (i = 0; i < n; i++) {
		if (!rc && ents[i]->d_name[0] != '.') {
			if (asprintf(&path, "%s/%s", dir, ents[i]->d_name) < 0) {
				rc = -ENOMEM;
			} else {
				rc = conf_creds_file(conf, kind, path, flags, err, errlen);
				if (!rc)
					log_debug("conf: loaded %s", path);
				free(path);
			}
		}
		free(ents[i]);
	}
	free(ents);
	free(dir);
	return rc;
}

int conf_creds_load(struct conf *conf, unsigned int flags, char *err, size_t errlen)
{
	static const struct {
		const char *dir;
		enum conf_creds_kind kind;
	} dirs[] = {
		{ "x509", CONF_CRED_CERT },   { "x509ca", CONF_CRED_CACERT },
		{ "private", CONF_CRED_KEY }, { "rsa", CONF_CRED_RSA },
		{ "ecdsa", CONF_CRED_ECDSA }, { "pkcs8", CONF_CRED_KEY },
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		rc = conf_creds_dir(conf, dirs[i].dir, dirs[i].kind, flags, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

void conf_creds_free(struct conf_creds *cr)
{
	size_t i;

	for (i = 0; i < cr->ncerts; i++) {
		X509_free(cr->certs[i].x509);
		free(cr->certs[i].path);
	}
	for (i = 0; i < cr->ncacerts; i++) {
		X509_free(cr->cacerts[i].x509);
		free(cr->cacerts[i].path);
	}
	for (i = 0; i < cr->nkeys; i++) {
		EVP_PKEY_free(cr->keys[i].pkey);
		free(cr->keys[i].path);
	}
	free(cr->certs);
	free(cr->cacerts);
	free(cr->keys);
	memset(cr, 0, sizeof(*cr));
}

EVP_PKEY *conf_find_key(const struct conf *conf, X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	size_t i;

	if (!pub)
		return NULL;
	for (i = 0; i < conf->creds.nkeys; i++)
		if (EVP_PKEY_eq(pub, conf->creds.keys[i].pkey) == 1)
			return conf->creds.keys[i].pkey;
	return NULL;
}
