/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_uscc_test.c -- ldg_uscc_check: the golden vectors in
 * tests/vectors/uscc/, codes made by an independent generator below, and
 * corruptions of them (substitutions, transpositions, case, length, excluded
 * letters, authority/type pairs, a wrong organisation code check). */
#include "ledger/ldg.h"
#include "tests/tst.h"

#define VEC_DIR "tests/vectors/uscc/"
#define NGEN 2000

/* The generator: written from the standard's wording (weights as a literal
 * list, GB 11714 values by position in the 36-letter string), not from the
 * library's code, so a shared mistake is less likely. */
static const char        gen_sym[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const char        gen_sym36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const int         gen_w18[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                        29, 25, 13, 8,  24, 10, 30, 28};
static const int         gen_w9[8] = {3, 7, 9, 10, 5, 8, 4, 2};
static const char *const gen_pairs[] = {
    "11", "12", "13", "19", "21", "29", "31", "32", "33", "34", "35", "39",
    "41", "49", "51", "52", "53", "59", "61", "62", "69", "71", "72", "79",
    "81", "89", "91", "92", "93", "A1", "A9", "N1", "N2", "N3", "N9", "Y1"};
#define NPAIRS (sizeof(gen_pairs) / sizeof(gen_pairs[0]))

static uint32_t gen_state = 12345;

static uint32_t
gen_next(uint32_t n)
{
	gen_state = gen_state * 1103515245u + 12345u;
	return ((gen_state >> 8) % n);
}

static int
gen_index(const char *set, char c)
{
	const char *q = strchr(set, c);

	return (q != NULL && c != '\0' ? (int) (q - set) : -1);
}

/* Sets code[16] from code[8..16). */
static void
gen_fix_org(char *code)
{
	int sum = 0, c;

	for (int i = 0; i < 8; i++)
		sum += gen_index(gen_sym36, code[8 + i]) * gen_w9[i];
	c = 11 - sum % 11;
	code[16] = c == 10 ? 'X' : c == 11 ? '0' : (char) ('0' + c);
}

/* Sets code[17] from code[0..17). */
static void
gen_fix_final(char *code)
{
	int sum = 0;

	for (int i = 0; i < 17; i++)
		sum += gen_index(gen_sym, code[i]) * gen_w18[i];
	code[17] = gen_sym[(31 - sum % 31) % 31];
}

/* A random valid code in code[0..19), NUL-terminated. */
static void
gen_code(char *code)
{
	const char *pair = gen_pairs[gen_next(NPAIRS)];

	code[0] = pair[0];
	code[1] = pair[1];
	for (int i = 2; i < 8; i++)
		code[i] = (char) ('0' + gen_next(10));
	for (int i = 8; i < 16; i++)
		code[i] = gen_sym[gen_next(31)];
	gen_fix_org(code);
	gen_fix_final(code);
	code[18] = '\0';
}

static cm_err
check_str(const char *s, cm_diag *d)
{
	cm_diag_clear(d);
	return (ldg_uscc_check(CM_BYTES(s, strlen(s)), d));
}

static cm_err
check_mem(const char *s, size_t len, cm_diag *d)
{
	cm_diag_clear(d);
	return (ldg_uscc_check(CM_BYTES(s, len), d));
}

static void
test_real_codes(void)
{
	cm_diag d;

	TST_OK(check_str("914403001922038216", &d)); /* Huawei */
	TST_OK(check_str("91350100M000100Y43", &d)); /* standard's example */
	TST_OK(check_str("91340600MA2PBP2120", &d)); /* sum = 31 * 68 */
	/* The standard's worked example as printed, wrong last character. */
	TST_ERR(check_str("91350100M000100Y4Z", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid character 'Z' at position 18");
	TST_ERR(check_str("91340600MA2PBP212Y", &d), CM_EINVAL);
	TST_EQ_STR(d.msg,
	           "check character at position 18 is 'Y', expected '0'");
	/* NULL diag is accepted. */
	TST_OK(ldg_uscc_check(CM_BYTES("914403001922038216", 18), NULL));
	TST_ERR(ldg_uscc_check(CM_BYTES("914403001922038217", 18), NULL),
	        CM_EINVAL);
	TST_ERR(ldg_uscc_check(CM_BYTES(NULL, 0), NULL), CM_EINVAL);
}

/* Reads one vector file; calls fn for each line (code, reason or NULL). */
static int
vectors_read(const char *path, int with_reason,
             void (*fn)(const char *code, size_t len, const char *reason))
{
	FILE *f = fopen(path, "r");
	char  line[512];
	int   n = 0;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\n");
		char  *tab;

		line[len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (with_reason != (tab != NULL)) {
			fprintf(stderr, "%s: bad line \"%s\"\n", path, line);
			n = -1;
			break;
		}
		if (tab != NULL)
			*tab = '\0';
		fn(line, strlen(line), tab != NULL ? tab + 1 : NULL);
		n++;
	}
	fclose(f);
	return (n);
}

static void
vector_valid(const char *code, size_t len, const char *reason)
{
	cm_diag d;

	(void) reason;
	TST_OK(check_mem(code, len, &d));
	if (d.msg[0] != '\0')
		fprintf(stderr, "  %s: %s\n", code, d.msg);
}

static void
vector_invalid(const char *code, size_t len, const char *reason)
{
	cm_diag d;

	TST_ERR(check_mem(code, len, &d), CM_EINVAL);
	TST_EQ_STR(d.msg, reason);
}

static void
test_vectors(void)
{
	int n;

	n = vectors_read(VEC_DIR "valid.txt", 0, vector_valid);
	TST_TRUE(n >= 40);
	n = vectors_read(VEC_DIR "invalid.txt", 1, vector_invalid);
	TST_TRUE(n >= 20);
}

static void
test_generated_valid(void)
{
	char    code[19];
	cm_diag d;
	int     zero = 0, orgx = 0, org0 = 0;

	for (int k = 0; k < NGEN; k++) {
		gen_code(code);
		TST_OK(check_str(code, &d));
		zero += code[17] == '0';
		orgx += code[16] == 'X';
		org0 += code[16] == '0';
	}
	/* The edge cases are reached, not only the common path. */
	TST_TRUE(zero > 0);
	TST_TRUE(orgx > 0);
	TST_TRUE(org0 > 0);
}

/* Every single-byte change anywhere is refused, with a reason. */
static void
test_substitutions(void)
{
	char    code[19], bad[19];
	cm_diag d;
	int     refused = 0;

	for (int k = 0; k < 40; k++) {
		gen_code(code);
		for (int i = 0; i < 18; i++) {
			for (int c = 1; c < 256; c++) {
				if (c == (unsigned char) code[i])
					continue;
				memcpy(bad, code, sizeof(bad));
				bad[i] = (char) c;
				TST_ERR(check_mem(bad, 18, &d), CM_EINVAL);
				TST_TRUE(d.msg[0] != '\0');
				refused++;
			}
		}
	}
	TST_EQ_U(refused, 40 * 18 * 254);
	/* A change at 18 to another symbol names the expected character. */
	memcpy(bad, "914403001922038216", 19);
	for (int s = 0; s < 31; s++) {
		if (gen_sym[s] == '6')
			continue;
		bad[17] = gen_sym[s];
		TST_ERR(check_str(bad, &d), CM_EINVAL);
		TST_TRUE(strstr(d.msg, "expected '6'") != NULL);
	}
}

/* Swapping two different adjacent characters in 1-17 is always refused. */
static void
test_transpositions(void)
{
	char    code[19], bad[19];
	cm_diag d;
	int     n = 0;

	for (int k = 0; k < 500; k++) {
		gen_code(code);
		for (int i = 0; i < 16; i++) {
			if (code[i] == code[i + 1])
				continue;
			memcpy(bad, code, sizeof(bad));
			bad[i] = code[i + 1];
			bad[i + 1] = code[i];
			TST_ERR(check_str(bad, &d), CM_EINVAL);
			n++;
		}
	}
	TST_TRUE(n > 500 * 10);
}

static void
test_lowercase(void)
{
	char    code[19];
	cm_diag d;

	for (int k = 0; k < 200; k++) {
		gen_code(code);
		for (int i = 0; i < 18; i++) {
			char c = code[i];

			if (c < 'A' || c > 'Z')
				continue;
			code[i] = (char) (c - 'A' + 'a');
			TST_ERR(check_str(code, &d), CM_EINVAL);
			TST_EQ_STR(d.msg, "lowercase");
			code[i] = c;
		}
	}
	/* Lowercase wins over every other reason, including length. */
	TST_ERR(check_str("9144030019220382i", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "lowercase");
	TST_ERR(check_str("z", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "lowercase");
	TST_ERR(check_str("91440300192203821a6", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "lowercase");
}

static void
test_length(void)
{
	char    code[40], want[64];
	cm_diag d;

	gen_code(code);
	memset(code + 18, '1', sizeof(code) - 18);
	for (size_t len = 0; len < sizeof(code); len++) {
		if (len == 18)
			continue;
		TST_ERR(check_mem(code, len, &d), CM_EINVAL);
		snprintf(want, sizeof(want), "must be 18 characters, got %zu",
		         len);
		TST_EQ_STR(d.msg, want);
	}
	TST_ERR(check_str("91440300192203821", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "must be 18 characters, got 17");
	TST_ERR(check_str("9144030019220382160", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "must be 18 characters, got 19");
	/* Characters, not bytes: 16 + one 2-byte character is 17 (18
	 * bytes), 17 + one is 18 (19 bytes) and names the character. */
	TST_ERR(check_str("9144030019220382\xc3\xa9", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "must be 18 characters, got 17");
	TST_ERR(check_str("91440300192203821\xc3\xa9", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid character U+00E9 at position 18");
	TST_ERR(check_str("9144\xe4\xb8\xad"
	                  "0300192203821",
	                  &d),
	        CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid character U+4E2D at position 5");
	TST_ERR(check_str("\xf0\x9f\x98\x80"
	                  "14403001922038216",
	                  &d),
	        CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid character U+1F600 at position 1");
	/* A byte that is not UTF-8 counts as one character. */
	TST_ERR(check_str("9144030019220382\xff\xfe", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid byte 0xFF at position 17");
	TST_ERR(check_str("914403001922038\xff\xfe", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "must be 18 characters, got 17");
}

static void
test_excluded_letters(void)
{
	static const char excl[] = "IOSVZ";
	char              code[19], want[64];
	cm_diag           d;

	for (int k = 0; k < 5; k++) {
		gen_code(code);
		for (int i = 0; i < 18; i++) {
			char c = code[i];

			code[i] = excl[k];
			TST_ERR(check_str(code, &d), CM_EINVAL);
			snprintf(want, sizeof(want),
			         "invalid character '%c' at position %d",
			         excl[k], i + 1);
			TST_EQ_STR(d.msg, want);
			code[i] = c;
		}
	}
	/* The first bad position is named. */
	TST_ERR(check_str("9144030019220O821I", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid character 'O' at position 14");
	TST_ERR(check_mem("91440300\001"
	                  "922038216",
	                  18, &d),
	        CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid byte 0x01 at position 9");
	TST_ERR(check_str("9144030019220382\xe4\xb8", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "invalid byte 0xE4 at position 17");
}

/* A letter in 3-8 is refused even when both checks are recomputed. */
static void
test_division_digits(void)
{
	char    code[19];
	cm_diag d;

	for (int k = 0; k < 200; k++) {
		gen_code(code);
		code[2 + gen_next(6)] = gen_sym[10 + gen_next(21)];
		gen_fix_final(code);
		TST_ERR(check_str(code, &d), CM_EINVAL);
		TST_EQ_STR(d.msg, "positions 3-8 must be digits");
	}
}

/* All 31 x 31 first-two-character pairs, checks recomputed: accepted
 * exactly when the pair is in the table. */
static void
test_pairs(void)
{
	char    code[19], want[64], pair[3] = {0};
	cm_diag d;
	int     ok = 0;

	gen_code(code);
	for (int a = 0; a < 31; a++) {
		for (int t = 0; t < 31; t++) {
			int known = 0, in_table = 0;

			code[0] = gen_sym[a];
			code[1] = gen_sym[t];
			gen_fix_final(code);
			pair[0] = code[0];
			pair[1] = code[1];
			for (size_t i = 0; i < NPAIRS; i++) {
				known |= gen_pairs[i][0] == pair[0];
				in_table |= strcmp(gen_pairs[i], pair) == 0;
			}
			if (in_table) {
				TST_OK(check_str(code, &d));
				ok++;
				continue;
			}
			TST_ERR(check_str(code, &d), CM_EINVAL);
			snprintf(
			    want, sizeof(want),
			    known ? "entity type '%c' not valid for authority "
			            "'%c'"
			          : "registration authority '%c' unknown",
			    known ? pair[1] : pair[0], pair[0]);
			TST_EQ_STR(d.msg, want);
		}
	}
	TST_EQ_U(ok, NPAIRS);
}

/* A wrong organisation code check with a matching final check is still
 * refused, for the organisation code. */
static void
test_orgcode(void)
{
	char    code[19], want[100];
	cm_diag d;
	int     n = 0;

	for (int k = 0; k < 200; k++) {
		char good;

		gen_code(code);
		good = code[16];
		for (const char *c = "0123456789X"; *c != '\0'; c++) {
			if (*c == good)
				continue;
			code[16] = *c;
			gen_fix_final(code);
			TST_ERR(check_str(code, &d), CM_EINVAL);
			snprintf(
			    want, sizeof(want),
			    "organisation code check character at position "
			    "17 is '%c', expected '%c'",
			    *c, good);
			TST_EQ_STR(d.msg, want);
			n++;
		}
	}
	TST_EQ_U(n, 200 * 10);
	/* The 36-symbol table, not the 31-symbol one: with the latter, body
	 * MA2PBP21 would give 8. */
	TST_ERR(check_str("91340600MA2PBP218J", &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "organisation code check character at position 17 "
	                  "is '8', expected '2'");
}

/* Every byte at position 18: a symbol of the test's own 31-symbol table
 * is judged by the check digit, any other byte is refused as a character
 * (the checker's byte table against the standard's alphabet). */
static void
test_every_byte(void)
{
	char code[19] = "91350100M000100Y43";

	for (int b = 1; b < 256; b++) {
		cm_diag d;
		cm_err  rv;

		if (b >= 'a' && b <= 'z')
			continue; /* refused as lowercase first */
		code[17] = (char) b;
		cm_diag_clear(&d);
		rv = ldg_uscc_check(CM_BYTES(code, 18), &d);
		if (gen_index(gen_sym, (char) b) >= 0) {
			if (b == '3')
				TST_OK(rv);
			else
				TST_TRUE(strstr(d.msg, "check character at "
				                       "position 18") != NULL);
		} else {
			TST_ERR(rv, CM_EINVAL);
			TST_TRUE(strstr(d.msg, "position 18") != NULL &&
			         strncmp(d.msg, "invalid ", 8) == 0);
		}
	}
}

TST_MAIN(TST_CASE(test_real_codes), TST_CASE(test_vectors),
         TST_CASE(test_generated_valid), TST_CASE(test_substitutions),
         TST_CASE(test_transpositions), TST_CASE(test_lowercase),
         TST_CASE(test_length), TST_CASE(test_excluded_letters),
         TST_CASE(test_division_digits), TST_CASE(test_pairs),
         TST_CASE(test_orgcode), TST_CASE(test_every_byte))
