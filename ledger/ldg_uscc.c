/* SPDX-License-Identifier: MIT */
/* ledger/ldg_uscc.c -- the unified social credit code check (GB 32100-2015
 * with Amendment 1, and the GB 11714 organisation code inside it).  Pure
 * function of its input: no allocation, no state.  Facts and sources are in
 * research/credit-anchors.md section 1. */
#include "ledger/ldg.h"

#include <stddef.h>
#include <stdint.h>

/* GB 32100 table 1: 31 symbols, values 0..30 in this order. */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
#define USCC_NSYM 31

/* Authority code (position 1) and its entity-type codes (position 2), as in
 * the post-2016 table (credit-anchors.md 1.2).  Authority 9 has 1, 2, 3 only:
 * the "9 other" some tables add is unverified. */
static const struct {
	char        authority;
	const char *types;
} uscc_pairs[] = {
    {'1', "1239"}, {'2', "19"},  {'3', "123459"}, {'4', "19"},
    {'5', "1239"}, {'6', "129"}, {'7', "129"},    {'8', "19"},
    {'9', "123"},  {'A', "19"},  {'N', "1239"},   {'Y', "1"},
};

/* Value + 1 of each byte in the 31-symbol table, 0 for the others: the
 * check runs on every attestation's subject, and a table beats a scan of
 * the alphabet per character (tests/ledger/ldg_uscc_test.c tries every
 * byte against the standard's alphabet). */
static const uint8_t uscc_sym[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18,
    ['J'] = 19, ['K'] = 20, ['L'] = 21, ['M'] = 22, ['N'] = 23, ['P'] = 24,
    ['Q'] = 25, ['R'] = 26, ['T'] = 27, ['U'] = 28, ['W'] = 29, ['X'] = 30,
    ['Y'] = 31,
};

/* Value of c in the 31-symbol table, or -1. */
static int
symbol_value(uint8_t c)
{
	return ((int) uscc_sym[c] - 1);
}

/* Value of c in the 36-symbol GB 11714 table (0-9, A=10 .. Z=35), or -1.
 * Different from symbol_value for every letter after H. */
static int
orgcode_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'Z')
		return (c - 'A' + 10);
	return (-1);
}

/* The GB 11714 check character for the 8-character body p[0..8), or 0 if a
 * body character is outside the 36-symbol table. */
static char
orgcode_check(const uint8_t *p)
{
	static const int w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
	int              sum = 0, c9;

	for (int i = 0; i < 8; i++) {
		int v = orgcode_value(p[i]);

		if (v < 0)
			return (0);
		sum += v * w[i];
	}
	c9 = 11 - sum % 11;
	if (c9 == 10)
		return ('X');
	if (c9 == 11)
		return ('0');
	return ((char) ('0' + c9));
}

/* The position-18 check character for p[0..17), all in the alphabet.
 * Weights are 3^(i-1) mod 31; the final "mod 31" maps a zero sum to '0'
 * rather than to the nonexistent 32nd symbol. */
static char
uscc_check_char(const uint8_t *p)
{
	/* 3^(i-1) mod 31 for i = 1..17, written out; ldg_uscc_test's
	 * independent generator uses its own copy of the list. */
	static const int w[LDG_USCC_LEN - 1] = {
	    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
	int sum = 0;

	for (int i = 0; i < LDG_USCC_LEN - 1; i++)
		sum += symbol_value(p[i]) * w[i];
	return (uscc_alphabet[(USCC_NSYM - sum % USCC_NSYM) % USCC_NSYM]);
}

/* The bytes of the character at p[i]: a valid UTF-8 sequence, else 1 (an
 * ASCII character, or a byte that is not UTF-8, each counted as one). */
static size_t
char_len(const uint8_t *p, size_t len, size_t i)
{
	size_t n = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;

	return (n > 1 && n <= len - i && cm_utf8_valid(p + i, n) ? n : 1);
}

/* The code point of the valid n-byte UTF-8 sequence p[0..n), n >= 2. */
static uint32_t
char_value(const uint8_t *p, size_t n)
{
	uint32_t v = p[0] & (0x7f >> n);

	for (size_t i = 1; i < n; i++)
		v = v << 6 | (p[i] & 0x3f);
	return (v);
}

/* Order of checks, so each input has one reason: lowercase anywhere, length
 * (in characters: UTF-8 sequences, and any other byte as one), alphabet
 * (first bad position, in characters), authority, entity type, division
 * digits (3-8), organisation code check (17), final check (18). */
cm_err
ldg_uscc_check(cm_bytes code, cm_diag *d)
{
	const uint8_t *p = code.p;
	size_t         i, k, n;
	char           want;

	if (p == NULL && code.len != 0)
		return (cm_fail(d, CM_EINVAL, "no code"));
	for (i = 0; i < code.len; i++) {
		if (p[i] >= 'a' && p[i] <= 'z')
			return (cm_fail(d, CM_EINVAL, "lowercase"));
	}
	for (i = 0, k = 0; i < code.len; k++)
		i += char_len(p, code.len, i);
	if (k != LDG_USCC_LEN) {
		return (cm_fail(d, CM_EINVAL, "must be %d characters, got %zu",
		                LDG_USCC_LEN, k));
	}
	for (i = 0, k = 1; i < code.len; i += n, k++) {
		n = char_len(p, code.len, i);
		if (n > 1) {
			return (
			    cm_fail(d, CM_EINVAL,
			            "invalid character U+%04X at position %zu",
			            (unsigned) char_value(p + i, n), k));
		}
		if (symbol_value(p[i]) >= 0)
			continue;
		if (p[i] > 0x20 && p[i] < 0x7f) {
			return (cm_fail(
			    d, CM_EINVAL,
			    "invalid character '%c' at position %zu", p[i], k));
		}
		return (cm_fail(d, CM_EINVAL,
		                "invalid byte 0x%02X at position %zu", p[i],
		                k));
	}
	for (k = 0; k < sizeof(uscc_pairs) / sizeof(uscc_pairs[0]); k++) {
		if ((uint8_t) uscc_pairs[k].authority == p[0])
			break;
	}
	if (k == sizeof(uscc_pairs) / sizeof(uscc_pairs[0])) {
		return (cm_fail(d, CM_EINVAL,
		                "registration authority '%c' unknown", p[0]));
	}
	for (i = 0; uscc_pairs[k].types[i] != '\0'; i++) {
		if ((uint8_t) uscc_pairs[k].types[i] == p[1])
			break;
	}
	if (uscc_pairs[k].types[i] == '\0') {
		return (cm_fail(d, CM_EINVAL,
		                "entity type '%c' not valid for authority '%c'",
		                p[1], p[0]));
	}
	for (i = 2; i < 8; i++) {
		if (p[i] < '0' || p[i] > '9') {
			return (cm_fail(d, CM_EINVAL,
			                "positions 3-8 must be digits"));
		}
	}
	/* Every alphabet symbol is in the 36-symbol table, so want != 0. */
	want = orgcode_check(p + 8);
	if ((uint8_t) want != p[16]) {
		return (cm_fail(
		    d, CM_EINVAL,
		    "organisation code check character at position 17 is "
		    "'%c', expected '%c'",
		    p[16], want));
	}
	want = uscc_check_char(p);
	if ((uint8_t) want != p[17]) {
		return (cm_fail(
		    d, CM_EINVAL,
		    "check character at position 18 is '%c', expected '%c'",
		    p[17], want));
	}
	return (CM_OK);
}
