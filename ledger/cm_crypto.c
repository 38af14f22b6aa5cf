/* SPDX-License-Identifier: MIT */
/* ledger/cm_crypto.c -- the one file that includes OpenSSL: SHA-256, HMAC,
 * randomness and Ed25519 keys and signatures (EVP).  OpenSSL failures map to
 * CM_ECRYPTO.  Signatures are domain-separated (docs/format.md). */
#include "ledger/cm.h"

/* The SHA256_* context API is deprecated in OpenSSL 3 but is the only one that
 * needs no allocation, so hashing (every Merkle node) cannot fail. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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
