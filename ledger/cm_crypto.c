/* SPDX-License-Identifier: MIT */
/* ledger/cm_crypto.c -- the one file that includes OpenSSL: SHA-256, HMAC,
 * randomness and Ed25519 keys and signatures (EVP).  OpenSSL failures map to
 * CM_ECRYPTO.  Signatures are domain-separated (docs/format.md).  Secrets
 * (seeds, PKCS#8 DER, PEM text) are wiped on every path. */
#include "ledger/cm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The SHA256_* context API is deprecated in OpenSSL 3 but is the only one that
 * needs no allocation, so hashing (every Merkle node) cannot fail. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

void
cm_sha256(const void *p, size_t len, uint8_t out[CM_HASH_LEN])
{
	SHA256(p, len, out);
}

void
cm_sha256_parts(const cm_bytes *parts, size_t n, uint8_t out[CM_HASH_LEN])
{
	SHA256_CTX c;

	SHA256_Init(&c);
	for (size_t i = 0; i < n; i++)
		SHA256_Update(&c, parts[i].p, parts[i].len);
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}

struct cm_sha256_ctx {
	SHA256_CTX c;
};

cm_err
cm_sha256_new(cm_sha256_ctx **out)
{
	cm_sha256_ctx *c = cm_malloc(sizeof(*c));

	if (c == NULL)
		return (CM_ENOMEM);
	SHA256_Init(&c->c);
	*out = c;
	return (CM_OK);
}

void
cm_sha256_update(cm_sha256_ctx *c, const void *p, size_t len)
{
	SHA256_Update(&c->c, p, len);
}

void
cm_sha256_final(cm_sha256_ctx *c, uint8_t out[CM_HASH_LEN])
{
	SHA256_Final(out, &c->c);
}

void
cm_sha256_free(cm_sha256_ctx *c)
{
	if (c == NULL)
		return;
	OPENSSL_cleanse(c, sizeof(*c));
	cm_free(c);
}

void
cm_hmac_sha256(cm_bytes key, cm_bytes msg, uint8_t out[CM_HASH_LEN])
{
	unsigned len = CM_HASH_LEN;

	HMAC(EVP_sha256(), key.p, (int) key.len, msg.p, msg.len, out, &len);
}

cm_err
cm_random(void *out, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(out, (int) len) != 1)
		return (CM_ECRYPTO);
	return (CM_OK);
}

/* ---- Ed25519 keys ------------------------------------------------------ */

struct cm_key {
	EVP_PKEY *pkey;
	uint8_t   pub[CM_PUBKEY_LEN];
};

/* Key files and PEM texts are a few hundred bytes; anything past this is not
 * a key. */
#define KEY_TEXT_MAX 16384

/* RFC 8410: the DER of an Ed25519 PKCS#8 v1 private key (then the 32-byte
 * seed) and of an Ed25519 SubjectPublicKeyInfo (then the 32-byte key). */
static const uint8_t pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30,
                                         0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
                                         0x04, 0x22, 0x04, 0x20};
static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

#define PEM_PRIV_BEGIN "-----BEGIN PRIVATE KEY-----\n"
#define PEM_PRIV_END "-----END PRIVATE KEY-----\n"
#define PUBKEY_TAG "ed25519:"

/* OpenSSL's error queue is per thread and we have no log here: drop it so a
 * later, unrelated failure does not report a stale reason. */
static cm_err
ossl_fail(cm_err e)
{
	ERR_clear_error();
	return (e);
}

static bool
char_space(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

static cm_bytes
bytes_trim(cm_bytes b)
{
	while (b.len > 0 && char_space(b.p[0]))
		b.p++, b.len--;
	while (b.len > 0 && char_space(b.p[b.len - 1]))
		b.len--;
	return (b);
}

/* Takes ownership of pkey, even on failure. */
static cm_err
key_wrap(EVP_PKEY *pkey, cm_key **out)
{
	cm_key *k;
	size_t  len = CM_PUBKEY_LEN;

	if ((k = cm_calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return (CM_ENOMEM);
	}
	if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &len) != 1 ||
	    len != CM_PUBKEY_LEN) {
		EVP_PKEY_free(pkey);
		cm_free(k);
		return (ossl_fail(CM_ECRYPTO));
	}
	k->pkey = pkey;
	*out = k;
	return (CM_OK);
}

cm_err
cm_key_generate(cm_key **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY     *pkey = NULL;
	cm_err        rv = CM_ECRYPTO;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
		goto out;
	rv = key_wrap(pkey, out);
out:
	EVP_PKEY_CTX_free(ctx);
	return (rv == CM_OK ? rv : ossl_fail(rv));
}

void
cm_key_free(cm_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey); /* the provider wipes the private key */
	OPENSSL_cleanse(k, sizeof(*k));
	cm_free(k);
}

void
cm_key_public(const cm_key *k, uint8_t out[CM_PUBKEY_LEN])
{
	memcpy(out, k->pub, CM_PUBKEY_LEN);
}

/* Decodes the one PEM block of type name that text holds, with nothing but
 * whitespace around it.  *out_der comes from OpenSSL's secure allocator
 * (wiped on free): release it with OPENSSL_secure_clear_free(der, len). */
static cm_err
pem_decode(cm_bytes text, const char *name, uint8_t **out_der, long *out_len)
{
	BIO           *bio = NULL;
	char          *pname = NULL, *hdr = NULL;
	unsigned char *der = NULL;
	long           len = 0;
	char           c;
	cm_err         rv = CM_EPROTO;

	*out_der = NULL;
	*out_len = 0;
	text = bytes_trim(text);
	if (text.len > KEY_TEXT_MAX || text.len < 11 ||
	    memcmp(text.p, "-----BEGIN ", 11) != 0)
		return (CM_EPROTO);
	if ((bio = BIO_new_mem_buf(text.p, (int) text.len)) == NULL)
		return (ossl_fail(CM_ENOMEM));
	if (PEM_read_bio_ex(bio, &pname, &hdr, &der, &len,
	                    PEM_FLAG_SECURE | PEM_FLAG_ONLY_B64) != 1)
		goto out;
	if (strcmp(pname, name) != 0 || hdr[0] != '\0' || len <= 0)
		goto out;
	while (BIO_read(bio, &c, 1) == 1) {
		if (!char_space((uint8_t) c))
			goto out;
	}
	*out_der = der;
	*out_len = len;
	der = NULL;
	rv = CM_OK;
out:
	if (der != NULL)
		OPENSSL_secure_clear_free(der, (size_t) len);
	OPENSSL_secure_free(pname);
	OPENSSL_secure_free(hdr);
	BIO_free(bio);
	ERR_clear_error();
	return (rv);
}

cm_err
cm_key_from_pem(cm_bytes pem, cm_key **out)
{
	uint8_t             *der = NULL;
	const unsigned char *p;
	long                 len = 0;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY            *pkey = NULL;
	cm_err               rv;

	*out = NULL;
	if ((rv = pem_decode(pem, "PRIVATE KEY", &der, &len)) != CM_OK)
		goto out;
	rv = CM_EPROTO;
	p = der;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len)) == NULL ||
	    p != der + len)
		goto out;
	if ((pkey = EVP_PKCS82PKEY(p8)) == NULL ||
	    EVP_PKEY_is_a(pkey, "ED25519") != 1)
		goto out;
	rv = key_wrap(pkey, out);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (der != NULL)
		OPENSSL_secure_clear_free(der, (size_t) len);
	ERR_clear_error();
	return (rv);
}

cm_err
cm_key_to_pem(const cm_key *k, cm_buf *out)
{
	uint8_t der[sizeof(pkcs8_prefix) + 32];
	size_t  slen = 32;
	cm_err  rv;

	memcpy(der, pkcs8_prefix, sizeof(pkcs8_prefix));
	if (EVP_PKEY_get_raw_private_key(k->pkey, der + sizeof(pkcs8_prefix),
	                                 &slen) != 1 ||
	    slen != 32) {
		rv = ossl_fail(CM_ECRYPTO);
		goto out;
	}
	/* Reserve it all first: a realloc later would leave a copy of the
	 * secret in freed memory. */
	if ((rv = cm_buf_reserve(out, sizeof(PEM_PRIV_BEGIN) + 64 + 1 +
	                                  sizeof(PEM_PRIV_END))) != CM_OK)
		goto out;
	if ((rv = cm_buf_append(out, PEM_PRIV_BEGIN,
	                        sizeof(PEM_PRIV_BEGIN) - 1)) != CM_OK ||
	    (rv = cm_b64_encode(out, CM_BYTES(der, sizeof(der)))) != CM_OK ||
	    (rv = cm_buf_append(out, "\n" PEM_PRIV_END,
	                        sizeof(PEM_PRIV_END))) != CM_OK)
		goto out;
out:
	OPENSSL_cleanse(der, sizeof(der));
	return (rv);
}

cm_err
cm_key_load(const char *path, cm_key **out, cm_diag *d)
{
	int         fd = -1;
	struct stat st;
	cm_buf      b = {0};
	char        etext[128];
	ssize_t     n;
	cm_err      rv;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
	 * refuses it, and a regular file reads the same either way. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) <
	        0 ||
	    fstat(fd, &st) != 0) {
		cm_errno_text(errno, etext, sizeof(etext));
		rv = cm_fail(d, CM_EIO, "cannot read key file %s: %s", path,
		             etext);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rv = cm_fail(d, CM_EIO, "key file %s is not a regular file",
		             path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rv = cm_fail(
		    d, CM_EPERM,
		    "key file %s is %s by others (mode %04o); chmod 600 it",
		    path, (st.st_mode & 044) != 0 ? "readable" : "writable",
		    (unsigned) (st.st_mode & 07777));
		goto out;
	}
	if ((uint64_t) st.st_size > KEY_TEXT_MAX)
		goto big;
	/* One allocation up front, so the secret is never realloc'ed. */
	if ((rv = cm_buf_reserve(&b, KEY_TEXT_MAX + 1)) != CM_OK)
		goto out;
	for (;;) {
		n = read(fd, b.p + b.len, KEY_TEXT_MAX + 1 - b.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cm_errno_text(errno, etext, sizeof(etext));
			rv = cm_fail(d, CM_EIO, "cannot read key file %s: %s",
			             path, etext);
			goto out;
		}
		if (n == 0)
			break;
		b.len += (size_t) n;
		if (b.len > KEY_TEXT_MAX)
			goto big;
	}
	if ((rv = cm_key_from_pem(cm_buf_bytes(&b), out)) == CM_EPROTO)
		cm_diag_set(d, "key file %s is not a PKCS#8 Ed25519 PEM", path);
	goto out;
big:
	rv = cm_fail(d, CM_ETOOBIG,
	             "key file %s is too large (limit %d bytes for a key "
	             "file)",
	             path, KEY_TEXT_MAX);
out:
	if (fd >= 0)
		close(fd);
	cm_buf_fini_secret(&b);
	return (rv);
}

static cm_err
fd_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (CM_EIO);
		p += n;
		len -= (size_t) n;
	}
	return (CM_OK);
}

/* Writes data to a new file at path (never replacing one): under a
 * temporary name, synced, then linked into place and the directory synced,
 * so that a crash leaves either no file or a whole one (link, unlike
 * rename, never replaces an existing file).  what names it in messages. */
static cm_err
file_publish(const char *path, cm_bytes data, mode_t mode, const char *what,
             cm_diag *d)
{
	int         fd = -1;
	bool        created = false;
	cm_buf      tmp = {0};
	char        etext[128];
	struct stat st;
	int         e;
	cm_err      rv;

	if (lstat(path, &st) == 0) {
		rv = cm_fail(d, CM_EEXIST, "%s %s already exists", what, path);
		goto out;
	}
	if ((rv = cm_buf_printf(&tmp, "%s.tmp.%ld", path, (long) getpid())) !=
	    CM_OK)
		goto out;
	fd = open((char *) tmp.p,
	          O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		e = errno;
		cm_errno_text(e, etext, sizeof(etext));
		rv = cm_fail(d, CM_EIO, "cannot create %s %s: %s", what,
		             (char *) tmp.p, etext);
		goto out;
	}
	created = true;
	if (fd_write_all(fd, data.p, data.len) != CM_OK || fsync(fd) != 0) {
		e = errno;
		goto io;
	}
	e = close(fd) != 0 ? errno : 0;
	fd = -1;
	if (e != 0)
		goto io;
	if (link((char *) tmp.p, path) != 0) {
		e = errno;
		if (e == EEXIST) {
			rv = cm_fail(d, CM_EEXIST, "%s %s already exists", what,
			             path);
			goto out;
		}
		goto io;
	}
	unlink((char *) tmp.p);
	created = false;
	/* The new name (and the temporary's removal) survive a power loss
	 * only once the directory is synced. */
	rv = cm_sync_parent(path, d);
	goto out;
io:
	cm_errno_text(e, etext, sizeof(etext));
	rv = cm_fail(d, CM_EIO, "cannot write %s %s: %s", what, path, etext);
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink((char *) tmp.p);
	cm_buf_fini(&tmp);
	return (rv);
}

cm_err
cm_key_save(const cm_key *k, const char *path, cm_diag *d)
{
	cm_buf pem = {0};
	cm_err rv;

	if ((rv = cm_key_to_pem(k, &pem)) == CM_OK)
		rv =
		    file_publish(path, cm_buf_bytes(&pem), 0600, "key file", d);
	cm_buf_fini_secret(&pem);
	return (rv);
}

cm_err
cm_pubkey_text(const uint8_t pub[CM_PUBKEY_LEN], cm_buf *out)
{
	uint8_t kid[CM_KEYID_LEN];
	cm_err  rv;

	cm_key_id(pub, kid);
	if ((rv = cm_pubkey_format(pub, out)) != CM_OK ||
	    (rv = cm_buf_append(out, "\nkey-id ", 8)) != CM_OK ||
	    (rv = cm_hex_encode(out, CM_BYTES(kid, CM_KEYID_LEN))) != CM_OK ||
	    (rv = cm_buf_append(out, "\n", 1)) != CM_OK)
		return (rv);
	return (CM_OK);
}

cm_err
cm_pubkey_save(const uint8_t pub[CM_PUBKEY_LEN], const char *path, cm_diag *d)
{
	cm_buf text = {0};
	cm_err rv;

	if ((rv = cm_pubkey_text(pub, &text)) == CM_OK)
		rv = file_publish(path, cm_buf_bytes(&text), 0644,
		                  "public key file", d);
	cm_buf_fini(&text);
	return (rv);
}

/* ---- signatures -------------------------------------------------------- */

static const uint8_t *
bytes_ptr(cm_bytes b)
{
	return (b.p != NULL ? b.p : (const uint8_t *) "");
}

cm_err
cm_sign_raw(const cm_key *k, cm_bytes msg, uint8_t out[CM_SIG_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	size_t      len = CM_SIG_LEN;
	cm_err      rv = CM_OK;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (ossl_fail(CM_ENOMEM));
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, out, &len, bytes_ptr(msg), msg.len) != 1 ||
	    len != CM_SIG_LEN)
		rv = ossl_fail(CM_ECRYPTO);
	EVP_MD_CTX_free(ctx);
	return (rv);
}

/* "tally/v1/" || purpose || 0x00 || msg */
static cm_err
domain_msg(const char *purpose, cm_bytes msg, cm_buf *out)
{
	cm_err rv;

	if (purpose == NULL)
		return (CM_EINVAL);
	if ((rv = cm_buf_append(out, "tally/v1/", 9)) != CM_OK ||
	    (rv = cm_buf_append(out, purpose, strlen(purpose) + 1)) != CM_OK ||
	    (rv = cm_buf_append(out, bytes_ptr(msg), msg.len)) != CM_OK)
		return (rv);
	return (CM_OK);
}

cm_err
cm_sign(const cm_key *k, const char *purpose, cm_bytes msg,
        uint8_t out[CM_SIG_LEN])
{
	cm_buf m = {0};
	cm_err rv;

	if ((rv = domain_msg(purpose, msg, &m)) == CM_OK)
		rv = cm_sign_raw(k, cm_buf_bytes(&m), out);
	cm_buf_fini(&m);
	return (rv);
}

static cm_err pubkey_check_cheap(const uint8_t pub[CM_PUBKEY_LEN], cm_diag *d);

cm_err
cm_verify_raw(const uint8_t pub[CM_PUBKEY_LEN], cm_bytes msg,
              const uint8_t sig[CM_SIG_LEN])
{
	EVP_PKEY   *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	cm_err      rv;

	/* A small-order key "signs" many messages at once: never accept. */
	if ((rv = pubkey_check_cheap(pub, NULL)) != CM_OK)
		return (rv == CM_EBADKEY ? CM_EBADSIG : rv);
	rv = CM_ECRYPTO;
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	                                        CM_PUBKEY_LEN)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto out;
	if (EVP_DigestVerify(ctx, sig, CM_SIG_LEN, bytes_ptr(msg), msg.len) ==
	    1)
		rv = CM_OK;
	else
		rv = CM_EBADSIG;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return (rv);
}

cm_err
cm_verify(const uint8_t pub[CM_PUBKEY_LEN], const char *purpose, cm_bytes msg,
          const uint8_t sig[CM_SIG_LEN])
{
	cm_buf m = {0};
	cm_err rv;

	if ((rv = domain_msg(purpose, msg, &m)) == CM_OK)
		rv = cm_verify_raw(pub, cm_buf_bytes(&m), sig);
	cm_buf_fini(&m);
	return (rv);
}

/* ---- public keys ------------------------------------------------------- */

/* The y coordinates (little-endian, sign bit clear) of the 8 points of small
 * order: y = 0 (order 4, both x), 1 (identity), p-1 (order 2), and the two
 * y of the order-8 points (both x each).  Derived from 2P = (sqrt(-1), 0):
 * x^2 = (1 +- sqrt(1+d))/d, y^2 = -x^2; they match libsodium's blocklist. */
static const uint8_t small_order_y[5][32] = {
    {0},
    {1},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
};

/* The curve constant d = -121665/121666 mod p, big-endian. */
static const uint8_t curve_d[32] = {
    0x52, 0x03, 0x6c, 0xee, 0x2b, 0x6f, 0xfe, 0x73, 0x8c, 0xc7, 0x40,
    0x79, 0x77, 0x79, 0xe8, 0x98, 0x00, 0x70, 0x0a, 0x4d, 0x41, 0x41,
    0xd8, 0xab, 0x75, 0xeb, 0x4d, 0xca, 0x13, 0x59, 0x78, 0xa3};

/* y (sign bit clear) >= p = 2^255 - 19? */
static bool
y_unreduced(const uint8_t y[32])
{
	if (y[31] != 0x7f || y[0] < 0xed)
		return (false);
	for (int i = 1; i < 31; i++) {
		if (y[i] != 0xff)
			return (false);
	}
	return (true);
}

/* Sets *on if some x has -x^2 + y^2 = 1 + d x^2 y^2, i.e. if
 * (y^2 - 1) / (d y^2 + 1) is a square mod p (Euler's criterion on the
 * product, which has the same quadratic character). */
static cm_err
y_on_curve(const uint8_t y_le[32], bool *on)
{
	BN_CTX *ctx;
	BIGNUM *p, *d, *y, *u, *v, *e;
	cm_err  rv = CM_ENOMEM;

	if ((ctx = BN_CTX_new()) == NULL)
		return (ossl_fail(CM_ENOMEM));
	BN_CTX_start(ctx);
	p = BN_CTX_get(ctx);
	d = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	u = BN_CTX_get(ctx);
	v = BN_CTX_get(ctx);
	if ((e = BN_CTX_get(ctx)) == NULL)
		goto out;
	if (BN_set_bit(p, 255) != 1 || BN_sub_word(p, 19) != 1 ||
	    BN_bin2bn(curve_d, 32, d) == NULL ||
	    BN_lebin2bn(y_le, 32, y) == NULL || BN_mod_sqr(y, y, p, ctx) != 1 ||
	    BN_mod_sub(u, y, BN_value_one(), p, ctx) != 1 ||
	    BN_mod_mul(v, d, y, p, ctx) != 1 ||
	    BN_mod_add(v, v, BN_value_one(), p, ctx) != 1 ||
	    BN_mod_mul(u, u, v, p, ctx) != 1 || BN_copy(e, p) == NULL ||
	    BN_sub_word(e, 1) != 1 || BN_rshift1(e, e) != 1 ||
	    BN_mod_exp(u, u, e, p, ctx) != 1)
		goto out;
	*on = BN_is_zero(u) || BN_is_one(u);
	rv = CM_OK;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return (rv == CM_OK ? rv : ossl_fail(rv));
}

/* The checks that need no arithmetic: canonical y and not small order.
 * Verification needs only these (OpenSSL refuses a point off the curve
 * when it decodes the key); registration adds the on-curve test. */
static cm_err
pubkey_check_cheap(const uint8_t pub[CM_PUBKEY_LEN], cm_diag *d)
{
	uint8_t y[32];
	bool    sign = (pub[31] & 0x80) != 0;

	memcpy(y, pub, 32);
	y[31] &= 0x7f;
	if (y_unreduced(y))
		return (cm_fail(d, CM_EBADKEY,
		                "public key is not canonical (y >= 2^255-19)"));
	/* y = 1 and y = p-1 have x = 0, which has no negative. */
	if (sign && (memcmp(y, small_order_y[1], 32) == 0 ||
	             memcmp(y, small_order_y[2], 32) == 0))
		return (cm_fail(d, CM_EBADKEY,
		                "public key is not canonical (x = 0 with the "
		                "sign bit set)"));
	for (size_t i = 0; i < 5; i++) {
		if (memcmp(y, small_order_y[i], 32) == 0)
			return (
			    cm_fail(d, CM_EBADKEY,
			            "public key is a point of small order"));
	}
	return (CM_OK);
}

cm_err
cm_pubkey_check(const uint8_t pub[CM_PUBKEY_LEN], cm_diag *d)
{
	uint8_t y[32];
	bool    on = false;
	cm_err  rv;

	if ((rv = pubkey_check_cheap(pub, d)) != CM_OK)
		return (rv);
	memcpy(y, pub, 32);
	y[31] &= 0x7f;
	if ((rv = y_on_curve(y, &on)) != CM_OK)
		return (rv);
	if (!on)
		return (cm_fail(d, CM_EBADKEY,
		                "public key is not a point on the curve"));
	return (CM_OK);
}

void
cm_key_id(const uint8_t pub[CM_PUBKEY_LEN], uint8_t out[CM_KEYID_LEN])
{
	static const uint8_t alg = CM_ALG_ED25519;
	cm_bytes parts[2] = {CM_BYTES(&alg, 1), CM_BYTES(pub, CM_PUBKEY_LEN)};

	cm_sha256_parts(parts, 2, out);
}

/* keygen's text form is "ed25519:<base64>\nkey-id <hex>\n": splits off
 * the optional second line (its hex to *kid_hex, checked by the caller),
 * leaving the key line in *text.  Nothing else may follow the key. */
static cm_err
kid_line_split(cm_bytes *text, cm_bytes *kid_hex, cm_diag *d)
{
	static const char lead[] = "key-id ";
	const uint8_t    *nl = memchr(text->p, '\n', text->len);
	cm_bytes          rest;

	if (nl == NULL)
		return (CM_OK);
	rest = CM_BYTES(nl + 1, text->len - (size_t) (nl + 1 - text->p));
	text->len = (size_t) (nl - text->p);
	*text = bytes_trim(*text);
	if (rest.len <= sizeof(lead) - 1 ||
	    memcmp(rest.p, lead, sizeof(lead) - 1) != 0)
		return (cm_fail(d, CM_EPROTO,
		                "public key: after the key line only "
		                "\"key-id <hex>\" may follow"));
	*kid_hex =
	    CM_BYTES(rest.p + sizeof(lead) - 1, rest.len - (sizeof(lead) - 1));
	if (memchr(kid_hex->p, '\n', kid_hex->len) != NULL)
		return (cm_fail(d, CM_EPROTO,
		                "public key: nothing may follow the key-id "
		                "line"));
	return (CM_OK);
}

cm_err
cm_pubkey_parse(cm_bytes text, uint8_t out[CM_PUBKEY_LEN], cm_diag *d)
{
	uint8_t  pub[CM_PUBKEY_LEN];
	uint8_t *der = NULL;
	long     len = 0;
	cm_buf   b = {0};
	size_t   tag = sizeof(PUBKEY_TAG) - 1;
	cm_bytes kid_hex = {0};
	cm_err   rv;

	text = bytes_trim(text);
	if (text.len >= tag && memcmp(text.p, PUBKEY_TAG, tag) == 0) {
		if ((rv = kid_line_split(&text, &kid_hex, d)) != CM_OK)
			goto out;
		if (text.len != tag + 44 ||
		    cm_b64_decode(&b, (const char *) text.p + tag, 44) !=
		        CM_OK ||
		    b.len != CM_PUBKEY_LEN) {
			rv = cm_fail(
			    d, CM_EPROTO,
			    "public key: bad base64 after \"ed25519:\"");
			goto out;
		}
		memcpy(pub, b.p, CM_PUBKEY_LEN);
	} else if ((rv = pem_decode(text, "PUBLIC KEY", &der, &len)) == CM_OK) {
		if (len != (long) sizeof(spki_prefix) + CM_PUBKEY_LEN ||
		    memcmp(der, spki_prefix, sizeof(spki_prefix)) != 0) {
			rv = cm_fail(
			    d, CM_EPROTO,
			    "public key: PEM is not an Ed25519 PUBLIC KEY");
			goto out;
		}
		memcpy(pub, der + sizeof(spki_prefix), CM_PUBKEY_LEN);
	} else {
		if (rv == CM_EPROTO)
			cm_diag_set(d, "public key: want \"ed25519:<base64>\" "
			               "or a PEM PUBLIC KEY block");
		goto out;
	}
	if ((rv = cm_pubkey_check(pub, d)) != CM_OK)
		goto out;
	if (kid_hex.len > 0) {
		uint8_t kid[CM_KEYID_LEN];

		cm_key_id(pub, kid);
		cm_buf_reset(&b);
		if (cm_hex_decode(&b, (const char *) kid_hex.p, kid_hex.len) !=
		        CM_OK ||
		    b.len != CM_KEYID_LEN ||
		    memcmp(b.p, kid, CM_KEYID_LEN) != 0) {
			rv = cm_fail(d, CM_EPROTO,
			             "public key: the key-id line is not this "
			             "key's ID");
			goto out;
		}
	}
	memcpy(out, pub, CM_PUBKEY_LEN);
out:
	if (der != NULL)
		OPENSSL_secure_clear_free(der, (size_t) len);
	cm_buf_fini(&b);
	return (rv);
}

cm_err
cm_pubkey_format(const uint8_t pub[CM_PUBKEY_LEN], cm_buf *out)
{
	cm_err rv;

	if ((rv = cm_buf_append(out, PUBKEY_TAG, sizeof(PUBKEY_TAG) - 1)) !=
	    CM_OK)
		return (rv);
	return (cm_b64_encode(out, CM_BYTES(pub, CM_PUBKEY_LEN)));
}

/* ---- X25519 and HKDF (the service's sessions) -------------------------- */

cm_err
cm_x25519_public(const uint8_t priv[CM_X25519_LEN], uint8_t out[CM_X25519_LEN])
{
	EVP_PKEY *k;
	size_t    len = CM_X25519_LEN;
	cm_err    rv = CM_OK;

	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	                                 CM_X25519_LEN);
	if (k == NULL)
		return (ossl_fail(CM_ECRYPTO));
	if (EVP_PKEY_get_raw_public_key(k, out, &len) != 1 ||
	    len != CM_X25519_LEN)
		rv = ossl_fail(CM_ECRYPTO);
	EVP_PKEY_free(k);
	return (rv);
}

cm_err
cm_x25519_shared(const uint8_t priv[CM_X25519_LEN],
                 const uint8_t peer[CM_X25519_LEN], uint8_t out[CM_X25519_LEN])
{
	EVP_PKEY     *k = NULL, *p = NULL;
	EVP_PKEY_CTX *c = NULL;
	size_t        len = CM_X25519_LEN;
	uint8_t       acc = 0;
	cm_err        rv = CM_ECRYPTO;

	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	                                 CM_X25519_LEN);
	p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer,
	                                CM_X25519_LEN);
	if (k == NULL || p == NULL || (c = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, p) != 1)
		goto out;
	/* OpenSSL refuses an all-zero result itself; check it anyway. */
	if (EVP_PKEY_derive(c, out, &len) != 1 || len != CM_X25519_LEN) {
		rv = CM_EBADKEY;
		goto out;
	}
	for (size_t i = 0; i < CM_X25519_LEN; i++)
		acc |= out[i];
	rv = acc == 0 ? CM_EBADKEY : CM_OK;
out:
	if (rv != CM_OK)
		OPENSSL_cleanse(out, CM_X25519_LEN);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	EVP_PKEY_free(p);
	return (rv == CM_OK ? rv : ossl_fail(rv));
}

cm_err
cm_hkdf_sha256(cm_bytes salt, cm_bytes ikm, cm_bytes info, uint8_t *out,
               size_t len)
{
	uint8_t   prk[CM_HASH_LEN], t[CM_HASH_LEN];
	unsigned  tl = 0, pl = CM_HASH_LEN;
	size_t    done = 0;
	uint8_t   ctr = 0;
	HMAC_CTX *h;
	cm_err    rv = CM_OK;

	if (len == 0 || len > 255 * CM_HASH_LEN)
		return (CM_EINVAL);
	/* Extract: PRK = HMAC(salt, IKM); a missing salt is HashLen zeros. */
	memset(t, 0, sizeof(t));
	if (HMAC(EVP_sha256(), salt.len ? salt.p : t,
	         salt.len ? (int) salt.len : CM_HASH_LEN, ikm.p, ikm.len, prk,
	         &pl) == NULL)
		return (ossl_fail(CM_ECRYPTO));
	if ((h = HMAC_CTX_new()) == NULL)
		return (ossl_fail(CM_ECRYPTO));
	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	while (done < len) {
		size_t n;

		ctr++;
		if (HMAC_Init_ex(h, prk, CM_HASH_LEN, EVP_sha256(), NULL) !=
		        1 ||
		    HMAC_Update(h, t, tl) != 1 ||
		    HMAC_Update(h, info.p, info.len) != 1 ||
		    HMAC_Update(h, &ctr, 1) != 1 ||
		    HMAC_Final(h, t, &tl) != 1) {
			rv = ossl_fail(CM_ECRYPTO);
			break;
		}
		n = len - done < tl ? len - done : tl;
		memcpy(out + done, t, n);
		done += n;
	}
	HMAC_CTX_free(h);
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return (rv);
}

bool
cm_ct_eq(const void *a, const void *b, size_t len)
{
	return (CRYPTO_memcmp(a, b, len) == 0);
}
