/* SPDX-License-Identifier: MIT */
/* tests/tst.h -- the unit-test harness.  A test file defines static void
 * functions and lists them in TST_MAIN(TST_CASE(a), TST_CASE(b)).  Each check
 * that fails prints file:line, the expression, what it got and what it
 * wanted, and marks the case failed; the binary ends with one line
 * "<name>: N passed, N failed" (tools/testsum adds them up). */
#ifndef TESTS_TST_H
#define TESTS_TST_H

#include "ledger/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tst_case_failed;

#define TST_FAIL_(fmt, ...)                                                    \
	do {                                                                   \
		fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__,        \
		        __VA_ARGS__);                                          \
		tst_case_failed = 1;                                           \
	} while (0)

#define TST_TRUE(expr)                                                         \
	do {                                                                   \
		if (!(expr))                                                   \
			TST_FAIL_("%s -> false, want true", #expr);            \
	} while (0)

#define TST_ERR(expr, want)                                                    \
	do {                                                                   \
		cm_err tst_got_ = (expr);                                      \
		if (tst_got_ != (want))                                        \
			TST_FAIL_("%s -> %s, want %s", #expr,                  \
			          cm_errname(tst_got_), cm_errname(want));     \
	} while (0)

#define TST_OK(expr) TST_ERR(expr, CM_OK)

#define TST_EQ_U(a, b)                                                         \
	do {                                                                   \
		unsigned long long tst_a_ = (a), tst_b_ = (b);                 \
		if (tst_a_ != tst_b_)                                          \
			TST_FAIL_("%s -> %llu, want %llu", #a, tst_a_,         \
			          tst_b_);                                     \
	} while (0)

#define TST_EQ_STR(a, b)                                                       \
	do {                                                                   \
		const char *tst_a_ = (a), *tst_b_ = (b);                       \
		if (tst_a_ == NULL || strcmp(tst_a_, tst_b_) != 0)             \
			TST_FAIL_("%s -> \"%s\", want \"%s\"", #a,             \
			          tst_a_ ? tst_a_ : "(null)", tst_b_);         \
	} while (0)

#define TST_EQ_MEM(a, b, len)                                                  \
	do {                                                                   \
		if (memcmp((a), (b), (len)) != 0)                              \
			TST_FAIL_("%s differs from %s", #a, #b);               \
	} while (0)

typedef struct tst_case {
	const char *name;
	void (*fn)(void);
} tst_case;
#define TST_CASE(fn)                                                           \
	{                                                                      \
#fn, fn                                                        \
	}

static inline int
tst_run(const char *prog, const tst_case *cases, size_t n)
{
	const char *base = strrchr(prog, '/');
	int         passed = 0, failed = 0;

	base = base ? base + 1 : prog;
	for (size_t i = 0; i < n; i++) {
		tst_case_failed = 0;
		cases[i].fn();
		if (tst_case_failed) {
			fprintf(stderr, "FAIL %s\n", cases[i].name);
			failed++;
		} else {
			passed++;
		}
	}
	printf("%s: %d passed, %d failed\n", base, passed, failed);
	return (failed == 0 ? 0 : 1);
}

#define TST_MAIN(...)                                                          \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		static const tst_case tst_cases_[] = {__VA_ARGS__};            \
		(void) argc;                                                   \
		return (tst_run(argv[0], tst_cases_,                           \
		                sizeof(tst_cases_) / sizeof(tst_cases_[0])));  \
	}

#endif /* TESTS_TST_H */
