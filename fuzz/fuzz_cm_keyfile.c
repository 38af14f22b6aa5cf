/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_cm_keyfile.c -- key texts.  The first byte selects: even, a
 * private key PEM (cm_key_from_pem); odd, a public key (cm_pubkey_parse).
 * Oracles: a private key re-encoded and parsed again has the same public
 * key; a public key formatted and parsed again is the same key, and passes
 * cm_pubkey_check. */
#include "ledger/cm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
private_check(cm_bytes in)
{
	cm_key *k = NULL, *k2 = NULL;
	cm_buf  pem = {0};
	uint8_t pub[CM_PUBKEY_LEN], pub2[CM_PUBKEY_LEN];

	if (cm_key_from_pem(in, &k) != CM_OK)
		return;
	cm_key_public(k, pub);
	if (cm_key_to_pem(k, &pem) != CM_OK ||
	    cm_key_from_pem(cm_buf_bytes(&pem), &k2) != CM_OK)
		abort();
	cm_key_public(k2, pub2);
	if (memcmp(pub, pub2, sizeof(pub)) != 0)
		abort();
	cm_key_free(k);
	cm_key_free(k2);
	cm_buf_fini_secret(&pem);
}

static void
public_check(cm_bytes in)
{
	uint8_t pub[CM_PUBKEY_LEN], pub2[CM_PUBKEY_LEN];
	cm_buf  text = {0};

	if (cm_pubkey_parse(in, pub, NULL) != CM_OK)
		return;
	if (cm_pubkey_check(pub, NULL) != CM_OK ||
	    cm_pubkey_format(pub, &text) != CM_OK ||
	    cm_pubkey_parse(cm_buf_bytes(&text), pub2, NULL) != CM_OK ||
	    memcmp(pub, pub2, sizeof(pub)) != 0)
		abort();
	cm_buf_fini(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return (0);
	if ((data[0] & 1) == 0)
		private_check(CM_BYTES(data + 1, size - 1));
	else
		public_check(CM_BYTES(data + 1, size - 1));
	return (0);
}
