/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_person_test.c -- person tokens: the resident identity
 * number's check (GB 11643, ISO 7064 MOD 11-2) on valid numbers and on
 * each kind of fault, with the exact reason; the token and the key ID
 * against HMAC-SHA-256 values computed outside (Python's hmac module). */
#include "credit/crd.h"
#include "tests/tst.h"

#include <string.h>

static void
check_id(const char *id, const char *want)
{
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	rv = crd_person_id_check(CM_BYTES(id, strlen(id)), &d);
	if (want == NULL) {
		TST_OK(rv);
		return;
	}
	TST_ERR(rv, CM_EINVAL);
	if (strcmp(d.msg, want) != 0)
		fprintf(stderr, "%s: got \"%s\"\n  want \"%s\"\n", id, d.msg,
		        want);
	TST_EQ_STR(d.msg, want);
}

static void
test_id_check(void)
{
	/* The standard's example (check X: its digits weigh to 2 mod 11),
	 * and 44030019800101001, weighing to 0 mod 11: check 1 (weights 7 9
	 * 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, check characters 1 0 X 9 ... 2). */
	check_id("11010519491231002X", NULL);
	check_id("440300198001010011", NULL);
	check_id("440300198001010010",
	         "the check character of the identity number is wrong (ISO "
	         "7064 MOD 11-2)");
	check_id("11010519491231002Y",
	         "the check character of the identity number is wrong (ISO "
	         "7064 MOD 11-2)");
	check_id("110105194912310021",
	         "the check character of the identity number is wrong (ISO "
	         "7064 MOD 11-2)");
	check_id("11010519491231002x",
	         "the check character is a lowercase x: write X");
	check_id("11010519490231002X",
	         "characters 7-14 of the identity number are not a birth "
	         "date");
	check_id("11010518991231002X",
	         "characters 7-14 of the identity number are not a birth "
	         "date");
	check_id("1101051949123100", "an identity number has 18 characters, "
	                             "not 16");
	check_id("11010519491231A02X",
	         "character 15 of the identity number is not a digit");
	/* 2000 was a leap year, 1900 not. */
	check_id("110105200002290013", NULL);
	check_id("110105190002290017",
	         "characters 7-14 of the identity number are not a birth "
	         "date");
}

static void
hex_eq(const uint8_t h[CM_HASH_LEN], const char *want)
{
	char got[2 * CM_HASH_LEN + 1];

	for (size_t i = 0; i < CM_HASH_LEN; i++)
		snprintf(got + 2 * i, 3, "%02x", h[i]);
	TST_EQ_STR(got, want);
}

static void
test_token(void)
{
	uint8_t key[32], out[CM_HASH_LEN];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t) i;
	crd_person_token(CM_BYTES(key, sizeof(key)),
	                 CM_BYTES("11010519491231002X", 18), out);
	hex_eq(out, "9b976c65e6079f7bf658d57dc6e996786247db7818b63d9f0c7dc03f"
	            "3f9f9349");
	crd_person_key_id(CM_BYTES(key, sizeof(key)), out);
	hex_eq(out, "11315b67144d6ef1863503ce7c924eb5e1d5f97667300b2fc1d38fe0"
	            "44e0c4d0");
}

TST_MAIN(TST_CASE(test_id_check), TST_CASE(test_token))
