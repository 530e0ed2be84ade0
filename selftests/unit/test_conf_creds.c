// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/conf_creds.c: certificates and keys found next to the configuration
 * (x509/, x509ca/, private/, rsa/, ecdsa/), PEM and DER, referenced from
 * connections and authorities; a roadwarrior configuration with pools and
 * certificates; the errors for unreadable, wrong or exposed files.
 *
 * The test makes its own CA and end-entity certificate (ECDSA P-256).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../iked/conf.h"

static char tmpdir[64];
static char err[1024];

static EVP_PKEY *ca_key, *moon_key;
static X509 *ca_cert, *moon_cert;

static X509 *make_cert(const char *cn, EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (unsigned char *)"CH", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (unsigned char *)"strongSwan", -1, -1,
				   0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

static void mkdirs(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	assert_int_equal(mkdir(path, 0700), 0);
}

static FILE *open_file(const char *name, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(chmod(path, mode), 0);
	return f;
}

static void write_text(const char *name, const char *text, mode_t mode)
{
	FILE *f = open_file(name, mode);

	fputs(text, f);
	fclose(f);
}

static void write_key(const char *name, EVP_PKEY *k, mode_t mode)
{
	FILE *f = open_file(name, mode);

	assert_true(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
}

static void rm(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xiked-creds-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	ca_key = EVP_EC_gen("P-256");
	moon_key = EVP_EC_gen("P-256");
	if (!ca_key || !moon_key)
		return -1;
	ca_cert = make_cert("strongSwan Root CA", ca_key, ca_key, NULL);
	moon_cert = make_cert("moon.strongswan.org", moon_key, ca_key, ca_cert);
	mkdirs("x509");
	mkdirs("x509ca");
	mkdirs("private");
	mkdirs("rsa");
	mkdirs("ecdsa");
	f = open_file("x509ca/caCert.pem", 0644);
	PEM_write_X509(f, ca_cert);
	fclose(f);
	f = open_file("x509ca/caCert.der", 0644);
	i2d_X509_fp(f, ca_cert);
	fclose(f);
	f = open_file("x509/moonCert.pem", 0644);
	PEM_write_X509(f, moon_cert);
	fclose(f);
	write_key("private/moonKey.pem", moon_key, 0600);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	X509_free(ca_cert);
	X509_free(moon_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(moon_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int load_file(const char *name, struct conf **out)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return conf_load(path, 0, out, err, sizeof(err));
}

/* err with the temporary directory cut out */
static const char *rel_err(void)
{
	static char buf[1024];
	const char *p = err;
	size_t o = 0, l = strlen(tmpdir);

	while (*p && o + 1 < sizeof(buf)) {
		if (!strncmp(p, tmpdir, l) && p[l] == '/') {
			p += l + 1;
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o] = '\0';
	return buf;
}

static const char *roadwarrior = "# moon: gateway for roadwarriors, virtual IPs from a pool\n"
				 "connections {\n"
				 "   rw {\n"
				 "      pools = rw_pool\n"
				 "      local {\n"
				 "         auth = pubkey\n"
				 "         certs = moonCert.pem\n"
				 "         id = moon.strongswan.org\n"
				 "      }\n"
				 "      remote {\n"
				 "         auth = pubkey\n"
				 "         cacerts = caCert.pem\n"
				 "      }\n"
				 "      children {\n"
				 "         net {\n"
				 "            local_ts = 10.1.0.0/16\n"
				 "            dpd_action = clear\n"
				 "         }\n"
				 "      }\n"
				 "      send_certreq = no\n"
				 "      dpd_delay = 60s\n"
				 "      mobike = no\n"
				 "   }\n"
				 "   rw-default-id {\n"
				 "      local {\n"
				 "         certs = moonCert.pem\n"
				 "      }\n"
				 "      remote {\n"
				 "         id = \"C=CH, O=strongSwan, CN=*\"\n"
				 "      }\n"
				 "      mobike = no\n"
				 "   }\n"
				 "}\n"
				 "pools {\n"
				 "   rw_pool {\n"
				 "      addrs = 10.3.0.0/16\n"
				 "      dns = 10.1.0.53\n"
				 "   }\n"
				 "}\n"
				 "authorities {\n"
				 "   strongswan {\n"
				 "      cacert = caCert.der\n"
				 "   }\n"
				 "}\n";

static void test_roadwarrior(void **state)
{
	const struct conf_conn *c;
	struct conf_id moon_dn;
	struct conf *conf;

	(void)state;
	write_text("swanctl.conf", roadwarrior, 0644);
	if (load_file("swanctl.conf", &conf))
		fail_msg("%s", err);
	assert_int_equal(conf->creds.ncerts, 1);
	assert_int_equal(conf->creds.ncacerts, 3); /* x509ca/ (2) and the authority */
	assert_int_equal(conf->creds.nkeys, 1);
	assert_int_equal(conf->nauthorities, 1);
	assert_int_equal(X509_cmp(conf->authorities[0]->cacert, ca_cert), 0);

	c = conf_find_conn(conf, "rw");
	assert_int_equal(c->npools, 1);
	assert_string_equal(c->pools[0]->name, "rw_pool");
	assert_int_equal(c->local[0].ncerts, 1);
	assert_int_equal(X509_cmp(c->local[0].certs[0], moon_cert), 0);
	assert_ptr_equal(conf_find_key(conf, c->local[0].certs[0]), conf->creds.keys[0].pkey);
	assert_null(conf_find_key(conf, ca_cert));
	assert_int_equal(c->local[0].id.type, IKEV2_ID_FQDN);
	assert_int_equal(c->remote[0].ncacerts, 1);
	assert_int_equal(X509_cmp(c->remote[0].cacerts[0], ca_cert), 0);
	assert_int_equal(c->dpd_delay, 60);

	/* without id, the local identity is the certificate's subject */
	c = conf_find_conn(conf, "rw-default-id");
	assert_int_equal(c->local[0].method, CONF_AUTH_PUBKEY);
	assert_false(c->local[0].id_set);
	assert_int_equal(c->local[0].id.type, IKEV2_ID_DER_ASN1_DN);
	assert_string_equal(c->local[0].id.str, "C=CH, O=strongSwan, CN=moon.strongswan.org");
	assert_int_equal(conf_parse_id("C=CH, O=strongSwan, CN=moon.strongswan.org", &moon_dn), 0);
	assert_true(conf_id_match(&moon_dn, &c->local[0].id));
	assert_true(conf_id_match(&c->remote[0].id, &moon_dn));
	conf_id_free(&moon_dn);
	conf_free(conf);
}

static void test_cert_paths(void **state)
{
	struct conf *conf;
	char text[512];

	(void)state;
	/* absolute paths work; missing files are errors with file:line */
	snprintf(text, sizeof(text),
		 "connections { a {\n local { certs = %s/x509/moonCert.pem }\n mobike = no } }\n",
		 tmpdir);
	write_text("abs.conf", text, 0600);
	assert_int_equal(load_file("abs.conf", &conf), 0);
	assert_int_equal(conf->conns[0]->local[0].ncerts, 1);
	conf_free(conf);

	write_text("miss.conf", "connections { a {\n local {\n certs = nope.pem } } }\n", 0600);
	assert_int_equal(load_file("miss.conf", &conf), -EINVAL);
	assert_string_equal(rel_err(),
			    "miss.conf:3: certificate 'x509/nope.pem': No such file or directory");

	write_text("x509/garbage.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n", 0644);
	assert_int_equal(load_file("abs.conf", &conf), -EINVAL);
	assert_string_equal(rel_err(), "x509/garbage.pem: not a PEM or DER X.509 certificate");
	rm("x509/garbage.pem");

	write_text("auth.conf", "authorities { ca {\n cacert = moonKey.pem } }\n", 0600);
	assert_int_equal(load_file("auth.conf", &conf), -EINVAL);
	assert_string_equal(
		rel_err(),
		"auth.conf:2: certificate 'x509ca/moonKey.pem': No such file or directory");
	write_text("auth.conf", "authorities { ca {\n } }\n", 0600);
	assert_int_equal(load_file("auth.conf", &conf), -EINVAL);
	assert_string_equal(rel_err(), "auth.conf:1: authority 'ca' has no 'cacert'");

	/* public key authentication needs a certificate somewhere */
	rm("x509/moonCert.pem");
	write_text("nocert.conf", "connections {\n a { mobike = no } }\n", 0600);
	assert_int_equal(load_file("nocert.conf", &conf), -EINVAL);
	assert_string_equal(
		rel_err(),
		"nocert.conf:2: connection 'a' authenticates with public keys but has no certificate (set certs = or auth = psk)");
	{
		FILE *f = open_file("x509/moonCert.pem", 0644);

		PEM_write_X509(f, moon_cert);
		fclose(f);
	}
}

static void test_keys(void **state)
{
	struct conf *conf;

	(void)state;
	write_text("k.conf", "connections { a { local { auth = psk } } }\n", 0600);
	assert_int_equal(load_file("k.conf", &conf), 0);
	conf_free(conf);

	write_key("private/exposed.pem", moon_key, 0644);
	assert_int_equal(load_file("k.conf", &conf), -EPERM);
	assert_string_equal(
		rel_err(),
		"private/exposed.pem: private key is accessible by group or others (mode 0644); chmod 600 it");
	rm("private/exposed.pem");

	write_key("rsa/notrsa.pem", moon_key, 0600);
	assert_int_equal(load_file("k.conf", &conf), -EINVAL);
	assert_string_equal(rel_err(), "rsa/notrsa.pem: not an RSA key");
	rm("rsa/notrsa.pem");

	write_key("ecdsa/moon.pem", moon_key, 0600);
	assert_int_equal(load_file("k.conf", &conf), 0);
	assert_int_equal(conf->creds.nkeys, 2);
	conf_free(conf);
	rm("ecdsa/moon.pem");

	{
		FILE *f = open_file("private/enc.pem", 0600);

		assert_true(PEM_write_PrivateKey(f, moon_key, EVP_aes_128_cbc(),
						 (unsigned char *)"pass", 4, NULL, NULL) == 1);
		fclose(f);
	}
	assert_int_equal(load_file("k.conf", &conf), -EINVAL);
	assert_string_equal(
		rel_err(),
		"private/enc.pem: not a PEM or DER private key (encrypted keys are not supported)");
	rm("private/enc.pem");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roadwarrior),
		cmocka_unit_test(test_cert_paths),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
