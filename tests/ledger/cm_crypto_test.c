/* SPDX-License-Identifier: MIT */
/* tests/ledger/cm_crypto_test.c -- SHA-256, HMAC, Ed25519 keys, files and
 * signatures, public key checks and forms.  Golden vectors are in
 * tests/vectors/keys/ (made by gen.sh there with the openssl command: RFC
 * 8032 keys); key files are copied to a mode-0600 temp file first. */
#include "tests/tst.h"
#include "tests/tst_file.h"

#include <sys/stat.h>
#include <unistd.h>

#define KEYS "tests/vectors/keys/"

/* Copies a committed key file to a private temp file (git keeps no modes). */
static const char *
key_copy(const char *src, const char *name, mode_t mode)
{
	cm_buf      b = {0};
	const char *dst = tst_tmp_path(name);
	bool        ok =
	    tst_file_read(src, &b) && tst_file_write(dst, b.p, b.len, mode);

	cm_buf_fini(&b);
	TST_TRUE(ok);
	return (dst);
}

static cm_key *
key_load_vector(const char *name)
{
	cm_key *k = NULL;
	char    src[128];

	snprintf(src, sizeof(src), KEYS "%s", name);
	TST_OK(cm_key_load(key_copy(src, name, 0600), &k, NULL));
	return (k);
}

/* The first line of a vector file (an .exp), without its newline. */
static void
exp_line(const char *name, cm_buf *b)
{
	char path[128];

	snprintf(path, sizeof(path), KEYS "%s", name);
	TST_TRUE(tst_file_read(path, b));
	while (b->len > 0 && b->p[b->len - 1] == '\n')
		b->p[--b->len] = 0;
}

static void
hex_of(const uint8_t *p, size_t len, cm_buf *out)
{
	cm_buf_reset(out);
	TST_OK(cm_hex_encode(out, CM_BYTES(p, len)));
}

static void
test_sha256_hmac(void)
{
	uint8_t  h[CM_HASH_LEN], h2[CM_HASH_LEN];
	cm_bytes parts[3] = {CM_BYTES("a", 1), CM_BYTES("", 0),
	                     CM_BYTES("bc", 2)};
	cm_buf   hex = {0};

	cm_sha256("abc", 3, h);
	hex_of(h, sizeof(h), &hex);
	TST_EQ_STR((char *) hex.p, "ba7816bf8f01cfea414140de5dae2223"
	                           "b00361a396177a9cb410ff61f20015ad");
	cm_sha256_parts(parts, 3, h2);
	TST_EQ_MEM(h, h2, sizeof(h));
	/* RFC 4231 test case 2. */
	cm_hmac_sha256(CM_BYTES("Jefe", 4),
	               CM_BYTES("what do ya want for nothing?", 28), h);
	hex_of(h, sizeof(h), &hex);
	TST_EQ_STR((char *) hex.p, "5bdcc146bf60754e6a042426089575c7"
	                           "5a003f089d2739839dec58b964ec3843");
	cm_buf_fini(&hex);
}

static void
test_random(void)
{
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};

	TST_OK(cm_random(a, sizeof(a)));
	TST_OK(cm_random(b, sizeof(b)));
	TST_TRUE(memcmp(a, b, sizeof(a)) != 0);
	TST_TRUE(memcmp(a, zero, sizeof(a)) != 0);
}

static void
test_key_golden(void)
{
	cm_key *k = key_load_vector("test1.pem");
	uint8_t pub[CM_PUBKEY_LEN], id[CM_KEYID_LEN];
	cm_buf  got = {0}, want = {0};

	if (k == NULL)
		return;
	cm_key_public(k, pub);
	TST_OK(cm_pubkey_format(pub, &got));
	exp_line("test1.pub.exp", &want);
	TST_EQ_STR((char *) got.p, (char *) want.p);
	cm_key_id(pub, id);
	hex_of(id, sizeof(id), &got);
	exp_line("test1.keyid.exp", &want);
	TST_EQ_STR((char *) got.p, (char *) want.p);
	/* Our PEM is byte for byte what openssl wrote. */
	cm_buf_reset(&got);
	TST_OK(cm_key_to_pem(k, &got));
	TST_TRUE(tst_file_read(KEYS "test1.pem", &want));
	TST_EQ_U(got.len, want.len);
	TST_EQ_STR((char *) got.p, (char *) want.p);
	cm_key_free(k);
	cm_key_free(NULL);
	cm_buf_fini_secret(&got);
	cm_buf_fini_secret(&want);
}

static void
test_key_load_mode(void)
{
	static const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0666};
	cm_key             *k = NULL;
	cm_diag             d;
	const char         *path;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = key_copy(KEYS "test1.pem", "mode.pem", bad[i]);
		cm_diag_clear(&d);
		TST_ERR(cm_key_load(path, &k, &d), CM_EPERM);
		TST_TRUE(k == NULL);
		TST_TRUE(strstr(d.msg, "chmod 600") != NULL);
		TST_TRUE(strstr(d.msg, path) != NULL);
	}
	path = key_copy(KEYS "test1.pem", "mode.pem", 0644);
	cm_diag_clear(&d);
	TST_ERR(cm_key_load(path, &k, &d), CM_EPERM);
	TST_TRUE(strstr(d.msg, "readable by others (mode 0644)") != NULL);
	path = key_copy(KEYS "test1.pem", "mode.pem", 0400);
	TST_OK(cm_key_load(path, &k, NULL));
	TST_TRUE(k != NULL);
	cm_key_free(k);
	unlink(path);
}

static void
test_key_load_refusals(void)
{
	cm_key *k = NULL;
	cm_diag d;

	cm_diag_clear(&d);
	TST_ERR(cm_key_load(tst_tmp_path("absent.pem"), &k, &d), CM_EIO);
	TST_TRUE(d.msg[0] != '\0');
	TST_ERR(cm_key_load(tst_tmpdir, &k, NULL), CM_EIO);
	/* X25519 (same RFC 8410 shape, other OID), a public key, garbage. */
	cm_diag_clear(&d);
	TST_ERR(
	    cm_key_load(key_copy(KEYS "bad_x25519.pem", "x.pem", 0600), &k, &d),
	    CM_EPROTO);
	TST_TRUE(strstr(d.msg, "PKCS#8") != NULL);
	TST_ERR(cm_key_load(key_copy(KEYS "test1.spki.pem", "x.pem", 0600), &k,
	                    NULL),
	        CM_EPROTO);
	TST_ERR(cm_key_load(key_copy(KEYS "test1.pub.exp", "x.pem", 0600), &k,
	                    NULL),
	        CM_EPROTO);
	TST_TRUE(k == NULL);
	unlink(tst_tmp_path("x.pem"));
}

static void
test_key_from_pem(void)
{
	cm_buf  pem = {0}, bad = {0};
	cm_key *k = NULL;

	TST_TRUE(tst_file_read(KEYS "test1.pem", &pem));
	TST_OK(cm_key_from_pem(cm_buf_bytes(&pem), &k));
	cm_key_free(k);
	/* Surrounding whitespace is fine; anything else is not. */
	TST_OK(cm_buf_printf(&bad, "\n  %s\n\n", (char *) pem.p));
	TST_OK(cm_key_from_pem(cm_buf_bytes(&bad), &k));
	cm_key_free(k);
	cm_buf_reset(&bad);
	TST_OK(cm_buf_printf(&bad, "junk\n%s", (char *) pem.p));
	TST_ERR(cm_key_from_pem(cm_buf_bytes(&bad), &k), CM_EPROTO);
	cm_buf_reset(&bad);
	TST_OK(cm_buf_printf(&bad, "%sjunk\n", (char *) pem.p));
	TST_ERR(cm_key_from_pem(cm_buf_bytes(&bad), &k), CM_EPROTO);
	/* Truncated: no END line. */
	TST_ERR(cm_key_from_pem(CM_BYTES(pem.p, pem.len - 27), &k), CM_EPROTO);
	/* A header (legacy encryption) is refused. */
	cm_buf_reset(&bad);
	TST_OK(cm_buf_printf(
	    &bad, "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n%s",
	    (char *) pem.p + 28));
	TST_ERR(cm_key_from_pem(cm_buf_bytes(&bad), &k), CM_EPROTO);
	TST_ERR(cm_key_from_pem(CM_BYTES("", 0), &k), CM_EPROTO);
	/* A NUL anywhere (a C string would end there): in the type line,
	 * in the base64, in the trailing whitespace. */
	for (size_t i = 0; i < 3; i++) {
		static const size_t at[] = {22, 40, 0};

		cm_buf_reset(&bad);
		TST_OK(cm_buf_append(&bad, pem.p, pem.len));
		if (at[i] == 0)
			TST_OK(cm_buf_append(&bad, "\0", 1));
		else
			bad.p[at[i]] = 0;
		TST_ERR(cm_key_from_pem(cm_buf_bytes(&bad), &k), CM_EPROTO);
	}
	TST_TRUE(k == NULL);
	cm_buf_fini_secret(&pem);
	cm_buf_fini_secret(&bad);
}

static void
test_sign_rfc8032(void)
{
	cm_key *k = key_load_vector("test2.pem");
	cm_key *k1 = key_load_vector("test1.pem");
	uint8_t sig[CM_SIG_LEN], pub[CM_PUBKEY_LEN], pub1[CM_PUBKEY_LEN];
	cm_buf  got = {0}, want = {0};

	if (k == NULL || k1 == NULL)
		goto out;
	TST_OK(cm_sign_raw(k, CM_BYTES("r", 1), sig));
	hex_of(sig, sizeof(sig), &got);
	exp_line("test2.rsig.exp", &want);
	TST_EQ_STR((char *) got.p, (char *) want.p);
	cm_key_public(k, pub);
	cm_key_public(k1, pub1);
	TST_OK(cm_verify_raw(pub, CM_BYTES("r", 1), sig));
	TST_ERR(cm_verify_raw(pub, CM_BYTES("s", 1), sig), CM_EBADSIG);
	TST_ERR(cm_verify_raw(pub, CM_BYTES("r", 0), sig), CM_EBADSIG);
	TST_ERR(cm_verify_raw(pub1, CM_BYTES("r", 1), sig), CM_EBADSIG);
	for (size_t i = 0; i < CM_SIG_LEN; i += 7) {
		sig[i] ^= 0x10;
		TST_ERR(cm_verify_raw(pub, CM_BYTES("r", 1), sig), CM_EBADSIG);
		sig[i] ^= 0x10;
	}
	/* The empty message signs and verifies. */
	TST_OK(cm_sign_raw(k1, CM_BYTES(NULL, 0), sig));
	TST_OK(cm_verify_raw(pub1, CM_BYTES(NULL, 0), sig));
out:
	cm_key_free(k);
	cm_key_free(k1);
	cm_buf_fini(&got);
	cm_buf_fini(&want);
}

static void
test_sign_domain(void)
{
	cm_key  *k = key_load_vector("test1.pem");
	uint8_t  sig[CM_SIG_LEN], pub[CM_PUBKEY_LEN];
	cm_bytes msg = CM_BYTES("hello", 5);
	cm_buf   got = {0}, want = {0};

	if (k == NULL)
		return;
	cm_key_public(k, pub);
	TST_OK(cm_sign(k, "test", msg, sig));
	hex_of(sig, sizeof(sig), &got);
	exp_line("test1.domsig.exp", &want);
	TST_EQ_STR((char *) got.p, (char *) want.p);
	TST_OK(cm_verify(pub, "test", msg, sig));
	TST_OK(cm_verify_raw(pub, CM_BYTES("tally/v1/test\0hello", 19), sig));
	/* Another purpose, a moved separator, or no domain: refused. */
	TST_ERR(cm_verify(pub, "tes", CM_BYTES("t\0hello", 7), sig),
	        CM_EBADSIG);
	TST_ERR(cm_verify(pub, "test2", msg, sig), CM_EBADSIG);
	TST_ERR(cm_verify_raw(pub, msg, sig), CM_EBADSIG);
	TST_ERR(cm_sign(k, NULL, msg, sig), CM_EINVAL);
	cm_key_free(k);
	cm_buf_fini(&got);
	cm_buf_fini(&want);
}

static void
test_generate_save_load(void)
{
	cm_key     *k = NULL, *k2 = NULL;
	uint8_t     pub[CM_PUBKEY_LEN], pub2[CM_PUBKEY_LEN], sig[CM_SIG_LEN];
	const char *path = tst_tmp_path("gen.pem");
	struct stat st;
	cm_diag     d;

	unlink(path);
	TST_OK(cm_key_generate(&k));
	if (k == NULL)
		return;
	cm_key_public(k, pub);
	TST_OK(cm_pubkey_check(pub, NULL));
	TST_OK(cm_key_save(k, path, NULL));
	TST_TRUE(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	cm_diag_clear(&d);
	TST_ERR(cm_key_save(k, path, &d), CM_EEXIST);
	TST_TRUE(strstr(d.msg, "exists") != NULL);
	TST_ERR(cm_key_save(k, tst_tmp_path("no/such/dir.pem"), NULL), CM_EIO);
	TST_OK(cm_key_load(path, &k2, NULL));
	if (k2 != NULL) {
		cm_key_public(k2, pub2);
		TST_EQ_MEM(pub, pub2, sizeof(pub));
		TST_OK(cm_sign(k2, "gen", CM_BYTES("m", 1), sig));
		TST_OK(cm_verify(pub, "gen", CM_BYTES("m", 1), sig));
	}
	cm_key_free(k);
	cm_key_free(k2);
	unlink(path);
}

/* Keys made by `openssl genpkey` load; `openssl pkey` reads ours. */
static void
test_openssl_interop(void)
{
	const char *ossl = tst_tmp_path("ossl.pem"),
	           *ours = tst_tmp_path("ours.pem");
	const char *pubf = tst_tmp_path("ours.pub");
	char        cmd[512];
	cm_key     *k = NULL;
	cm_buf      b = {0};
	uint8_t     pub[CM_PUBKEY_LEN], pub2[CM_PUBKEY_LEN];

	unlink(ossl);
	unlink(ours);
	snprintf(cmd, sizeof(cmd),
	         "umask 077 && openssl genpkey -algorithm ed25519 -out %s",
	         ossl);
	TST_TRUE(system(cmd) == 0);
	TST_OK(cm_key_load(ossl, &k, NULL));
	if (k == NULL)
		return;
	cm_key_public(k, pub);
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -pubout -out %s", ossl,
	         pubf);
	TST_TRUE(system(cmd) == 0);
	TST_TRUE(tst_file_read(pubf, &b));
	TST_OK(cm_pubkey_parse(cm_buf_bytes(&b), pub2, NULL));
	TST_EQ_MEM(pub, pub2, sizeof(pub));
	cm_key_free(k);
	k = NULL;

	TST_OK(cm_key_generate(&k));
	if (k == NULL)
		goto out;
	cm_key_public(k, pub);
	TST_OK(cm_key_save(k, ours, NULL));
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -pubout -out %s", ours,
	         pubf);
	TST_TRUE(system(cmd) == 0);
	TST_TRUE(tst_file_read(pubf, &b));
	memset(pub2, 0, sizeof(pub2));
	TST_OK(cm_pubkey_parse(cm_buf_bytes(&b), pub2, NULL));
	TST_EQ_MEM(pub, pub2, sizeof(pub));
out:
	cm_key_free(k);
	cm_buf_fini(&b);
	unlink(ossl);
	unlink(ours);
	unlink(pubf);
}

static void
test_pubkey_forms(void)
{
	cm_key *k = key_load_vector("test1.pem");
	uint8_t pub[CM_PUBKEY_LEN], got[CM_PUBKEY_LEN];
	cm_buf  b = {0}, line = {0};

	if (k == NULL)
		return;
	cm_key_public(k, pub);
	TST_TRUE(tst_file_read(KEYS "test1.pub.exp", &line));
	TST_OK(cm_pubkey_parse(cm_buf_bytes(&line), got, NULL));
	TST_EQ_MEM(pub, got, sizeof(pub));
	TST_OK(cm_pubkey_parse(CM_BYTES(line.p, line.len - 1), got, NULL));
	TST_TRUE(tst_file_read(KEYS "test1.spki.pem", &b));
	memset(got, 0, sizeof(got));
	TST_OK(cm_pubkey_parse(cm_buf_bytes(&b), got, NULL));
	TST_EQ_MEM(pub, got, sizeof(pub));
	cm_buf_reset(&b);
	TST_OK(cm_pubkey_format(pub, &b));
	TST_EQ_U(b.len, line.len - 1);
	TST_EQ_MEM(b.p, line.p, b.len);
	/* Near misses of the one-line form. */
	TST_ERR(cm_pubkey_parse(CM_BYTES(line.p + 1, line.len - 1), got, NULL),
	        CM_EPROTO);
	TST_ERR(cm_pubkey_parse(CM_BYTES(line.p, line.len - 2), got, NULL),
	        CM_EPROTO);
	TST_ERR(cm_pubkey_parse(CM_BYTES("ed25519:", 8), got, NULL), CM_EPROTO);
	TST_ERR(cm_pubkey_parse(CM_BYTES("", 0), got, NULL), CM_EPROTO);
	cm_key_free(k);
	cm_buf_fini(&b);
	cm_buf_fini(&line);
}

/* keygen's output (key line + key-id line), saved as it is, is a public
 * key; a key-id that is not the key's, or anything more, is refused. */
static void
test_pubkey_text(void)
{
	cm_key     *k = key_load_vector("test1.pem");
	uint8_t     pub[CM_PUBKEY_LEN], got[CM_PUBKEY_LEN];
	cm_buf      t = {0}, b = {0};
	const char *path = tst_tmp_path("text.pub");
	struct stat st;
	cm_diag     d;

	if (k == NULL)
		return;
	cm_key_public(k, pub);
	TST_OK(cm_pubkey_text(pub, &t));
	TST_TRUE(t.len > 0 && t.p[t.len - 1] == '\n');
	TST_TRUE(memchr(t.p, '\n', t.len) != t.p + t.len - 1); /* two lines */
	memset(got, 0, sizeof(got));
	TST_OK(cm_pubkey_parse(cm_buf_bytes(&t), got, NULL));
	TST_EQ_MEM(pub, got, sizeof(pub));
	/* The saved file holds exactly the text, mode 0644, never replaced. */
	unlink(path);
	TST_OK(cm_pubkey_save(pub, path, NULL));
	TST_TRUE(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	TST_TRUE(tst_file_read(path, &b));
	TST_EQ_U(b.len, t.len);
	TST_EQ_MEM(b.p, t.p, t.len);
	cm_diag_clear(&d);
	TST_ERR(cm_pubkey_save(pub, path, &d), CM_EEXIST);
	TST_TRUE(strstr(d.msg, "already exists") != NULL);
	unlink(path);
	/* One wrong hex digit in the key ID. */
	cm_buf_reset(&b);
	TST_OK(cm_buf_append(&b, t.p, t.len));
	b.p[b.len - 2] = b.p[b.len - 2] == '0' ? '1' : '0';
	cm_diag_clear(&d);
	TST_ERR(cm_pubkey_parse(cm_buf_bytes(&b), got, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "not this key's ID") != NULL);
	/* A third line, or another second line. */
	cm_buf_reset(&b);
	TST_OK(cm_buf_append(&b, t.p, t.len));
	TST_OK(cm_buf_append(&b, "x\n", 2));
	cm_diag_clear(&d);
	TST_ERR(cm_pubkey_parse(cm_buf_bytes(&b), got, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "nothing may follow") != NULL);
	cm_buf_reset(&b);
	TST_OK(cm_pubkey_format(pub, &b));
	TST_OK(cm_buf_append(&b, "\nkid 00\n", 9));
	cm_diag_clear(&d);
	TST_ERR(cm_pubkey_parse(cm_buf_bytes(&b), got, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "only \"key-id <hex>\"") != NULL);
	cm_key_free(k);
	cm_buf_fini(&t);
	cm_buf_fini(&b);
}

static void
test_pubkey_refusals(void)
{
	static const struct {
		const char *file;
		cm_err      want;
		const char *why;
	} cases[] = {
	    {"bad_small_zero.pub", CM_EBADKEY, "small order"},
	    {"bad_small_zero_neg.pub", CM_EBADKEY, "small order"},
	    {"bad_small_one.pub", CM_EBADKEY, "small order"},
	    {"bad_small_minus1.pub", CM_EBADKEY, "small order"},
	    {"bad_small_8a.pub", CM_EBADKEY, "small order"},
	    {"bad_small_8a_neg.pub", CM_EBADKEY, "small order"},
	    {"bad_small_8b.pub", CM_EBADKEY, "small order"},
	    {"bad_small_8b_neg.pub", CM_EBADKEY, "small order"},
	    {"bad_noncanon_p.pub", CM_EBADKEY, "y >= 2^255-19"},
	    {"bad_noncanon_p1.pub", CM_EBADKEY, "y >= 2^255-19"},
	    {"bad_noncanon_max.pub", CM_EBADKEY, "y >= 2^255-19"},
	    {"bad_noncanon_one_neg.pub", CM_EBADKEY, "sign bit"},
	    {"bad_noncanon_minus1_neg.pub", CM_EBADKEY, "sign bit"},
	    {"bad_offcurve.pub", CM_EBADKEY, "not a point"},
	    {"bad_short.pub", CM_EPROTO, "base64"},
	    {"bad_tag.pub", CM_EPROTO, "want"},
	    {"bad_x25519.spki.pem", CM_EPROTO, "Ed25519"},
	};
	cm_buf  b = {0};
	cm_diag d;
	uint8_t got[CM_PUBKEY_LEN];
	char    path[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), KEYS "%s", cases[i].file);
		TST_TRUE(tst_file_read(path, &b));
		cm_diag_clear(&d);
		TST_ERR(cm_pubkey_parse(cm_buf_bytes(&b), got, &d),
		        cases[i].want);
		if (strstr(d.msg, cases[i].why) == NULL)
			TST_FAIL_("%s: diag \"%s\" lacks \"%s\"", cases[i].file,
			          d.msg, cases[i].why);
	}
	cm_buf_fini(&b);
}

/* With a small-order key, R = identity and S = 0 "verifies" any message
 * under a cofactorless check; such keys are refused before any curve math. */
static void
test_verify_small_order(void)
{
	uint8_t pub[CM_PUBKEY_LEN] = {1}, sig[CM_SIG_LEN] = {1};

	TST_ERR(cm_pubkey_check(pub, NULL), CM_EBADKEY);
	TST_ERR(cm_verify_raw(pub, CM_BYTES("any", 3), sig), CM_EBADSIG);
	TST_ERR(cm_verify(pub, "p", CM_BYTES("other", 5), sig), CM_EBADSIG);
}

static void
test_cleanup(void)
{
	char        cmd[128];
	struct stat st;

	if (tst_tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tst_tmpdir);
	TST_TRUE(system(cmd) == 0);
	TST_TRUE(stat(tst_tmpdir, &st) != 0);
}

/* The hex string s as bytes into out (exactly len bytes). */
static void
unhex(const char *s, uint8_t *out, size_t len)
{
	cm_buf b = {0};

	TST_OK(cm_hex_decode(&b, s, strlen(s)));
	TST_EQ_U(b.len, len);
	memcpy(out, b.p, b.len < len ? b.len : len);
	cm_buf_fini(&b);
}

/* RFC 7748 section 6.1, both directions; a small-order peer is refused. */
static void
test_x25519(void)
{
	uint8_t a[32], b[32], apub[32], bpub[32], want[32], got[32],
	    z[32] = {0};

	unhex(
	    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	    a, 32);
	unhex(
	    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	    b, 32);
	TST_OK(cm_x25519_public(a, got));
	unhex(
	    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	    apub, 32);
	TST_EQ_MEM(got, apub, 32);
	TST_OK(cm_x25519_public(b, got));
	unhex(
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	    bpub, 32);
	TST_EQ_MEM(got, bpub, 32);
	unhex(
	    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
	    want, 32);
	TST_OK(cm_x25519_shared(a, bpub, got));
	TST_EQ_MEM(got, want, 32);
	TST_OK(cm_x25519_shared(b, apub, got));
	TST_EQ_MEM(got, want, 32);
	TST_ERR(cm_x25519_shared(a, z, got), CM_EBADKEY);
	TST_EQ_MEM(got, z, 32);
}

/* RFC 5869 test cases 1 and 3; lengths out of range. */
static void
test_hkdf(void)
{
	uint8_t ikm[22], salt[13], info[10], want[42], got[42];

	memset(ikm, 0x0b, sizeof(ikm));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t) i;
	for (size_t i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t) (0xf0 + i);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	      "34007208d5b887185865",
	      want, 42);
	TST_OK(cm_hkdf_sha256(CM_BYTES(salt, 13), CM_BYTES(ikm, 22),
	                      CM_BYTES(info, 10), got, 42));
	TST_EQ_MEM(got, want, 42);
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	      "9d201395faa4b61a96c8",
	      want, 42);
	TST_OK(cm_hkdf_sha256(CM_BYTES(NULL, 0), CM_BYTES(ikm, 22),
	                      CM_BYTES(NULL, 0), got, 42));
	TST_EQ_MEM(got, want, 42);
	TST_ERR(cm_hkdf_sha256(CM_BYTES(NULL, 0), CM_BYTES(ikm, 22),
	                       CM_BYTES(NULL, 0), got, 0),
	        CM_EINVAL);
	TST_ERR(cm_hkdf_sha256(CM_BYTES(NULL, 0), CM_BYTES(ikm, 22),
	                       CM_BYTES(NULL, 0), got, 255 * 32 + 1),
	        CM_EINVAL);
	TST_TRUE(cm_ct_eq(want, want, 42));
	TST_TRUE(!cm_ct_eq(want, ikm, 22));
}

TST_MAIN(TST_CASE(test_sha256_hmac), TST_CASE(test_random),
         TST_CASE(test_key_golden), TST_CASE(test_key_load_mode),
         TST_CASE(test_key_load_refusals), TST_CASE(test_key_from_pem),
         TST_CASE(test_sign_rfc8032), TST_CASE(test_sign_domain),
         TST_CASE(test_generate_save_load), TST_CASE(test_openssl_interop),
         TST_CASE(test_pubkey_forms), TST_CASE(test_pubkey_text),
         TST_CASE(test_pubkey_refusals), TST_CASE(test_verify_small_order),
         TST_CASE(test_x25519), TST_CASE(test_hkdf), TST_CASE(test_cleanup))
