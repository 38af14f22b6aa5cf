/* SPDX-License-Identifier: MIT */
/* credit/crd_person.c -- natural persons (a legal representative, a
 * guarantor) never appear in clear: only as a keyed hash of the resident
 * identity number, under a key the operator holds outside the ledger.
 * The number's check (GB 11643-1999: ISO 7064 MOD 11-2), the token, and
 * the record kind credit.token that logs each token a writer obtained.
 * docs/credit.md section 12 (and its threat model). */
#include "credit/crd_impl.h"

#include <stdio.h>
#include <string.h>

#define TOKEN_DOMAIN "tally/person/v1"
#define KEY_ID_DOMAIN "tally/person-key/v1"

static bool
leap(unsigned y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

cm_err
crd_person_id_check(cm_bytes id, cm_diag *d)
{
	static const char    check[] = "10X98765432";
	unsigned             sum = 0, y, m, dd, w = 1;
	static const uint8_t mdays[] = {31, 28, 31, 30, 31, 30,
	                                31, 31, 30, 31, 30, 31};

	if (id.len != 18)
		return (cm_fail(d, CM_EINVAL,
		                "an identity number has 18 characters, not %zu",
		                id.len));
	for (size_t i = 0; i < 17; i++)
		if (id.p[i] < '0' || id.p[i] > '9')
			return (cm_fail(d, CM_EINVAL,
			                "character %zu of the identity number "
			                "is not a digit",
			                i + 1));
	if (id.p[17] == 'x')
		return (cm_fail(d, CM_EINVAL,
		                "the check character is a lowercase x: write "
		                "X"));
	/* Weights 2^(17-i) mod 11, from the last of the 17 digits up. */
	for (size_t i = 17; i-- > 0;) {
		w = (w * 2) % 11;
		sum += (unsigned) (id.p[i] - '0') * w;
	}
	y = (unsigned) ((id.p[6] - '0') * 1000 + (id.p[7] - '0') * 100 +
	                (id.p[8] - '0') * 10 + (id.p[9] - '0'));
	m = (unsigned) ((id.p[10] - '0') * 10 + (id.p[11] - '0'));
	dd = (unsigned) ((id.p[12] - '0') * 10 + (id.p[13] - '0'));
	if (y < 1900 || m < 1 || m > 12 || dd < 1 ||
	    dd > (unsigned) mdays[m - 1] + (m == 2 && leap(y)))
		return (
		    cm_fail(d, CM_EINVAL,
		            "characters 7-14 of the identity number are not "
		            "a birth date"));
	if (id.p[17] != (uint8_t) check[sum % 11])
		return (cm_fail(d, CM_EINVAL,
		                "the check character of the identity number "
		                "is wrong (ISO 7064 MOD 11-2)"));
	return (CM_OK);
}

void
crd_person_token(cm_bytes key, cm_bytes id, uint8_t out[CM_HASH_LEN])
{
	uint8_t msg[sizeof(TOKEN_DOMAIN) + 18];
	size_t  n = id.len > 18 ? 18 : id.len;

	/* The domain with its NUL, then the number. */
	memcpy(msg, TOKEN_DOMAIN, sizeof(TOKEN_DOMAIN));
	memcpy(msg + sizeof(TOKEN_DOMAIN), id.p, n);
	cm_hmac_sha256(key, CM_BYTES(msg, sizeof(TOKEN_DOMAIN) + n), out);
	cm_wipe(msg, sizeof(msg));
}

void
crd_person_key_id(cm_bytes key, uint8_t out[CM_HASH_LEN])
{
	cm_hmac_sha256(key, CM_BYTES(KEY_ID_DOMAIN, strlen(KEY_ID_DOMAIN)),
	               out);
}

/* ---- credit.token ---- */

typedef struct token_rec {
	uint8_t key_id[CM_HASH_LEN], token[CM_HASH_LEN];
	bool    guarantor;
} token_rec;

cm_err
crd_token_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum { T, KIND, ROLE, TOKEN, KEY_ID, NF };
	ldg_field f[NF] = {{.name = "t", .required = true},
	                   {.name = "kind", .required = true},
	                   {.name = "role", .required = true},
	                   {.name = "token", .required = true},
	                   {.name = "key_id", .required = true}};
	token_rec x;
	cm_bytes  role;
	cm_err    rv;

	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_fixed(&f[TOKEN], CM_HASH_LEN, x.token, d)) !=
	        CM_OK ||
	    (rv = ldg_field_fixed(&f[KEY_ID], CM_HASH_LEN, x.key_id, d)) !=
	        CM_OK ||
	    (rv = ldg_field_text(&f[ROLE], &role, d)) != CM_OK)
		return (rv);
	x.guarantor = cm_bytes_eq_str(role, "guarantor");
	if (!x.guarantor && !cm_bytes_eq_str(role, "legal-representative"))
		return (cm_fail(d, CM_EPROTO,
		                "%s: role must be legal-representative or "
		                "guarantor",
		                CRD_KIND_TOKEN));
	if (out != NULL)
		memcpy(out, &x, sizeof(x));
	return (CM_OK);
}

bool
crd_token_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role == LDG_ROLE_REGULATOR || id->role == LDG_ROLE_BANK ||
	    id->role == LDG_ROLE_ENTERPRISE)
		return (true);
	cm_diag_set(d,
	            "%s: only a writer of credit records (regulator, bank, "
	            "enterprise) obtains person tokens; this key's role is %s",
	            CRD_KIND_TOKEN, ldg_role_name(id->role));
	return (false);
}

cm_err
crd_token_build(const uint8_t key_id[CM_HASH_LEN],
                const uint8_t token[CM_HASH_LEN], const char *role, cm_buf *out,
                cm_diag *d)
{
	cm_cbor_wr w;

	/* keys: t, kind, role, token, key_id */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, CRD_KIND_TOKEN);
	cm_cbor_wr_cstr(&w, "role");
	cm_cbor_wr_cstr(&w, role);
	cm_cbor_wr_cstr(&w, "token");
	cm_cbor_wr_bytes(&w, CM_BYTES(token, CM_HASH_LEN));
	cm_cbor_wr_cstr(&w, "key_id");
	cm_cbor_wr_bytes(&w, CM_BYTES(key_id, CM_HASH_LEN));
	return (cm_cbor_wr_finish(&w, d));
}
