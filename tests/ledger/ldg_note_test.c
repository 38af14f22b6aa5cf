/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_note_test.c -- checkpoints as signed notes and verifier
 * keys.  Golden and refused notes are in tests/vectors/note/ (made by gen.sh
 * there with the openssl command from tests/vectors/keys/test1.pem, RFC 8032
 * TEST 1); one signature is also checked with `openssl pkeyutl -verify`. */
#include "ledger/ldg.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

#include <sys/stat.h>
#include <unistd.h>

#define NOTES "tests/vectors/note/"
#define KEYS "tests/vectors/keys/"
#define ORIGIN "tally.example/test1"

static bool
vector_read(const char *name, cm_buf *b)
{
	char path[128];
	bool ok;

	snprintf(path, sizeof(path), NOTES "%s", name);
	ok = tst_file_read(path, b);
	if (!ok)
		TST_FAIL_("cannot read %s", path);
	return (ok);
}

/* test1.pem, copied to a mode-0600 temp file (git keeps no modes). */
static cm_key *
test1_key(void)
{
	cm_buf      b = {0};
	cm_key     *k = NULL;
	const char *path = tst_tmp_path("test1.pem");

	TST_TRUE(tst_file_read(KEYS "test1.pem", &b) &&
	         tst_file_write(path, b.p, b.len, 0600));
	TST_OK(cm_key_load(path, &k, NULL));
	unlink(path);
	cm_buf_fini_secret(&b);
	return (k);
}

static void
test1_vkey(ldg_vkey *vk)
{
	cm_buf b = {0};

	memset(vk, 0, sizeof(*vk));
	if (vector_read("test1.vkey.exp", &b))
		TST_OK(ldg_vkey_parse(cm_buf_bytes(&b), vk, NULL));
	cm_buf_fini(&b);
}

static void
test1_checkpoint(ldg_checkpoint *c, uint64_t size)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->origin, ORIGIN);
	c->size = size;
	cm_sha256("tally", 5, c->root);
}

static void
test_origin_check(void)
{
	char long_name[LDG_ORIGIN_MAX + 2];

	TST_OK(ldg_origin_check(ORIGIN, NULL));
	TST_OK(ldg_origin_check("!~", NULL));
	TST_ERR(ldg_origin_check("", NULL), CM_EPROTO);
	TST_ERR(ldg_origin_check(NULL, NULL), CM_EPROTO);
	TST_ERR(ldg_origin_check("a+b", NULL), CM_EPROTO);
	TST_ERR(ldg_origin_check("a b", NULL), CM_EPROTO);
	TST_ERR(ldg_origin_check("a\x7f", NULL), CM_EPROTO);
	TST_ERR(ldg_origin_check("a\n", NULL), CM_EPROTO);
	TST_ERR(ldg_origin_check("caf\xc3\xa9", NULL), CM_EPROTO);
	memset(long_name, 'a', sizeof(long_name));
	long_name[LDG_ORIGIN_MAX] = '\0';
	TST_OK(ldg_origin_check(long_name, NULL));
	long_name[LDG_ORIGIN_MAX] = 'a';
	long_name[LDG_ORIGIN_MAX + 1] = '\0';
	TST_ERR(ldg_origin_check(long_name, NULL), CM_EPROTO);
}

static void
test_vkey_golden(void)
{
	cm_key  *k = test1_key();
	uint8_t  pub[CM_PUBKEY_LEN];
	ldg_vkey vk, parsed;
	cm_buf   got = {0}, want = {0};

	if (k == NULL)
		return;
	cm_key_public(k, pub);
	TST_OK(ldg_vkey_make(ORIGIN, pub, &vk, NULL));
	TST_OK(ldg_vkey_format(&vk, &got));
	if (vector_read("test1.vkey.exp", &want))
		TST_EQ_STR((char *) got.p, (char *) want.p);
	TST_OK(ldg_vkey_parse(cm_buf_bytes(&got), &parsed, NULL));
	TST_TRUE(memcmp(&vk, &parsed, sizeof(vk)) == 0);
	/* Surrounding whitespace is allowed. */
	memset(&parsed, 0, sizeof(parsed));
	if (vector_read("vkey_space.vkey", &want))
		TST_OK(ldg_vkey_parse(cm_buf_bytes(&want), &parsed, NULL));
	TST_TRUE(memcmp(&vk, &parsed, sizeof(vk)) == 0);
	TST_ERR(ldg_vkey_make("a+b", pub, &vk, NULL), CM_EINVAL);
	cm_key_free(k);
	cm_buf_fini(&got);
	cm_buf_fini(&want);
}

static void
test_vkey_refusals(void)
{
	static const struct {
		const char *file;
		cm_err      want;
	} cases[] = {
	    {"bad_id.vkey", CM_EPROTO},
	    {"bad_upper_hex.vkey", CM_EPROTO},
	    {"bad_name.vkey", CM_EPROTO},
	    {"bad_short.vkey", CM_EPROTO},
	    {"bad_b64.vkey", CM_EPROTO},
	    {"bad_type.vkey", CM_EPROTO},
	    {"bad_small_order.vkey", CM_EBADKEY},
	};
	cm_buf   b = {0};
	ldg_vkey vk;
	cm_diag  d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!vector_read(cases[i].file, &b))
			continue;
		cm_diag_clear(&d);
		TST_ERR(ldg_vkey_parse(cm_buf_bytes(&b), &vk, &d),
		        cases[i].want);
		if (d.msg[0] == '\0')
			TST_FAIL_("%s: no diag", cases[i].file);
	}
	TST_ERR(ldg_vkey_parse(CM_BYTES("", 0), &vk, NULL), CM_EPROTO);
	cm_buf_fini(&b);
}

static void
test_body_and_sign_golden(void)
{
	cm_key        *k = test1_key();
	ldg_checkpoint c;
	cm_buf         got = {0}, want = {0};

	test1_checkpoint(&c, 1234567);
	TST_OK(ldg_checkpoint_body(&c, &got));
	if (vector_read("body1.exp", &want))
		TST_EQ_STR((char *) got.p, (char *) want.p);
	if (k == NULL)
		goto out;
	cm_buf_reset(&got);
	TST_OK(ldg_checkpoint_sign(&c, k, &got));
	if (vector_read("checkpoint1.note.exp", &want)) {
		TST_EQ_U(got.len, want.len);
		TST_EQ_STR((char *) got.p, (char *) want.p);
	}
	/* Size 0 and the largest size. */
	test1_checkpoint(&c, 0);
	cm_sha256("", 0, c.root);
	cm_buf_reset(&got);
	TST_OK(ldg_checkpoint_sign(&c, k, &got));
	if (vector_read("checkpoint0.note", &want))
		TST_EQ_STR((char *) got.p, (char *) want.p);
	test1_checkpoint(&c, UINT64_MAX);
	cm_buf_reset(&got);
	TST_OK(ldg_checkpoint_sign(&c, k, &got));
	if (vector_read("size_max.note", &want))
		TST_EQ_STR((char *) got.p, (char *) want.p);
	/* A bad origin signs nothing. */
	strcpy(c.origin, "a b");
	cm_buf_reset(&got);
	TST_ERR(ldg_checkpoint_sign(&c, k, &got), CM_EINVAL);
	TST_EQ_U(got.len, 0);
out:
	cm_key_free(k);
	cm_buf_fini(&got);
	cm_buf_fini(&want);
}

static void
test_verify_accepts(void)
{
	static const struct {
		const char *file;
		uint64_t    size;
	} cases[] = {
	    {"checkpoint1.note.exp", 1234567},
	    {"checkpoint0.note", 0},
	    {"size_max.note", UINT64_MAX},
	    {"witness.note", 1234567}, /* witness cosignatures ignored */
	    {"sigs100.note", 1234567}, /* exactly 100 signature lines */
	};
	ldg_vkey       vk;
	ldg_checkpoint c, want;
	cm_buf         b = {0};

	test1_vkey(&vk);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!vector_read(cases[i].file, &b))
			continue;
		test1_checkpoint(&want, cases[i].size);
		if (cases[i].size == 0)
			cm_sha256("", 0, want.root);
		memset(&c, 0xa5, sizeof(c));
		TST_OK(ldg_checkpoint_verify(cm_buf_bytes(&b), &vk, &c, NULL));
		TST_EQ_STR(c.origin, ORIGIN);
		TST_EQ_U(c.size, cases[i].size);
		TST_EQ_MEM(c.root, want.root, CM_HASH_LEN);
		memset(&c, 0xa5, sizeof(c));
		TST_OK(ldg_checkpoint_parse(cm_buf_bytes(&b), &c, NULL));
		TST_EQ_U(c.size, cases[i].size);
	}
	cm_buf_fini(&b);
}

static void
test_verify_refusals(void)
{
	static const struct {
		const char *file;
		cm_err      verify, parse;
	} cases[] = {
	    {"bad_sig.note", CM_EBADSIG, CM_OK},
	    {"bad_wrong_key.note", CM_EBADSIG, CM_OK},
	    {"bad_only_witness.note", CM_EBADSIG, CM_OK},
	    {"bad_wrong_origin.note", CM_EBADSIG, CM_OK},
	    {"bad_dup_sig.note", CM_EPROTO, CM_OK},
	    {"bad_extension.note", CM_EPROTO, CM_EPROTO},
	    {"bad_leading_zero.note", CM_EPROTO, CM_EPROTO},
	    {"bad_size_overflow.note", CM_EPROTO, CM_EPROTO},
	    {"bad_size_sign.note", CM_EPROTO, CM_EPROTO},
	    {"bad_short_root.note", CM_EPROTO, CM_EPROTO},
	    {"bad_b64_root.note", CM_EPROTO, CM_EPROTO},
	    {"bad_b64_sig.note", CM_EPROTO, CM_EPROTO},
	    {"bad_no_blank.note", CM_EPROTO, CM_EPROTO},
	    {"bad_ascii_dash.note", CM_EPROTO, CM_EPROTO},
	    {"bad_sigs101.note", CM_EPROTO, CM_EPROTO},
	    {"bad_no_sigs.note", CM_EPROTO, CM_EPROTO},
	    {"bad_no_newline.note", CM_EPROTO, CM_EPROTO},
	    {"bad_crlf.note", CM_EPROTO, CM_EPROTO},
	    {"bad_origin_space.note", CM_EPROTO, CM_EPROTO},
	    {"bad_origin_plus.note", CM_EPROTO, CM_EPROTO},
	    {"bad_sig_noname.note", CM_EPROTO, CM_EPROTO},
	    {"bad_empty.note", CM_EPROTO, CM_EPROTO},
	};
	ldg_vkey       vk;
	ldg_checkpoint c;
	cm_buf         b = {0};
	cm_diag        d;

	test1_vkey(&vk);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!vector_read(cases[i].file, &b))
			continue;
		cm_diag_clear(&d);
		TST_ERR(ldg_checkpoint_verify(cm_buf_bytes(&b), &vk, &c, &d),
		        cases[i].verify);
		if (d.msg[0] == '\0')
			TST_FAIL_("%s: no diag", cases[i].file);
		TST_ERR(ldg_checkpoint_parse(cm_buf_bytes(&b), &c, NULL),
		        cases[i].parse);
	}
	cm_buf_fini(&b);
}

/* Every truncation and every one-bit change of the golden note is refused
 * (a flip in a base64 padding bit changes the spelling, which is refused
 * too). */
static void
test_verify_mutations(void)
{
	ldg_vkey       vk;
	ldg_checkpoint c;
	cm_buf         b = {0};

	test1_vkey(&vk);
	if (!vector_read("checkpoint1.note.exp", &b))
		return;
	for (size_t n = 0; n < b.len; n++) {
		if (ldg_checkpoint_verify(CM_BYTES(b.p, n), &vk, &c, NULL) ==
		    CM_OK)
			TST_FAIL_("truncation to %zu bytes accepted", n);
	}
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b.p[i] ^= (uint8_t) (1u << bit);
			if (ldg_checkpoint_verify(cm_buf_bytes(&b), &vk, &c,
			                          NULL) == CM_OK)
				TST_FAIL_("flip of bit %d of byte %zu accepted",
				          bit, i);
			b.p[i] ^= (uint8_t) (1u << bit);
		}
	}
	TST_OK(ldg_checkpoint_verify(cm_buf_bytes(&b), &vk, &c, NULL));
	cm_buf_fini(&b);
}

/* The signature on the golden note verifies with the openssl command. */
static void
test_openssl_crosscheck(void)
{
	cm_buf      note = {0}, raw = {0};
	const char *bodyf = tst_tmp_path("body"), *sigf = tst_tmp_path("sig");
	const char *line, *sp;
	char        cmd[512];
	size_t      bodylen;

	if (!vector_read("checkpoint1.note.exp", &note))
		return;
	bodylen =
	    (size_t) (strstr((char *) note.p, "\n\n") + 1 - (char *) note.p);
	line = (char *) note.p + bodylen + 1;
	sp = strrchr(line, ' ');
	TST_TRUE(sp != NULL);
	if (sp == NULL)
		goto out;
	TST_OK(cm_b64_decode(&raw, sp + 1, strlen(sp + 1) - 1));
	TST_EQ_U(raw.len, 4 + CM_SIG_LEN);
	TST_TRUE(tst_file_write(bodyf, note.p, bodylen, 0600));
	TST_TRUE(tst_file_write(sigf, raw.p + 4, CM_SIG_LEN, 0600));
	snprintf(cmd, sizeof(cmd),
	         "openssl pkeyutl -verify -pubin -inkey " KEYS "test1.spki.pem "
	         "-rawin -in %s -sigfile %s >/dev/null 2>&1",
	         bodyf, sigf);
	TST_TRUE(system(cmd) == 0);
	/* And the check can fail: a changed body does not verify. */
	note.p[0] ^= 1;
	TST_TRUE(tst_file_write(bodyf, note.p, bodylen, 0600));
	TST_TRUE(system(cmd) != 0);
out:
	unlink(bodyf);
	unlink(sigf);
	cm_buf_fini(&note);
	cm_buf_fini(&raw);
}

/* Sign, then verify what we signed, with a generated key. */
static void
test_roundtrip_generated(void)
{
	cm_key        *k = NULL;
	uint8_t        pub[CM_PUBKEY_LEN];
	ldg_vkey       vk, other;
	ldg_checkpoint c, got;
	cm_buf         note = {0};

	TST_OK(cm_key_generate(&k));
	if (k == NULL)
		return;
	cm_key_public(k, pub);
	test1_checkpoint(&c, 42);
	strcpy(c.origin, "gen.example/log");
	TST_OK(ldg_vkey_make(c.origin, pub, &vk, NULL));
	TST_OK(ldg_checkpoint_sign(&c, k, &note));
	TST_OK(ldg_checkpoint_verify(cm_buf_bytes(&note), &vk, &got, NULL));
	TST_EQ_STR(got.origin, c.origin);
	TST_EQ_U(got.size, 42);
	TST_EQ_MEM(got.root, c.root, CM_HASH_LEN);
	/* Same name, another key: no signature by it. */
	test1_vkey(&other);
	memcpy(other.name, vk.name, sizeof(vk.name));
	TST_ERR(ldg_checkpoint_verify(cm_buf_bytes(&note), &other, &got, NULL),
	        CM_EBADSIG);
	TST_ERR(ldg_checkpoint_verify(cm_buf_bytes(&note), NULL, &got, NULL),
	        CM_EINVAL);
	cm_key_free(k);
	cm_buf_fini(&note);
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

TST_MAIN(TST_CASE(test_origin_check), TST_CASE(test_vkey_golden),
         TST_CASE(test_vkey_refusals), TST_CASE(test_body_and_sign_golden),
         TST_CASE(test_verify_accepts), TST_CASE(test_verify_refusals),
         TST_CASE(test_verify_mutations), TST_CASE(test_openssl_crosscheck),
         TST_CASE(test_roundtrip_generated), TST_CASE(test_cleanup))
