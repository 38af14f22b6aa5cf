/* SPDX-License-Identifier: MIT */
/* tests/tst_src.h -- bytes in memory as a cm_read_fn, read step bytes at a
 * time (to cut the input anywhere), failing with fail_at_end (when not
 * CM_OK) once they are read: for the streaming readers' tests and fuzz
 * targets. */
#ifndef TESTS_TST_SRC_H
#define TESTS_TST_SRC_H

#include "ledger/cm.h"

#include <string.h>

typedef struct tst_src {
	const uint8_t *p;
	size_t         len, off, step;
	cm_err         fail_at_end;
} tst_src;

static inline cm_err
tst_src_read(void *arg, uint8_t *buf, size_t cap, size_t *out_n)
{
	tst_src *s = arg;
	size_t   n = s->len - s->off;

	if (n == 0 && s->fail_at_end != CM_OK)
		return (s->fail_at_end);
	if (n > s->step)
		n = s->step;
	if (n > cap)
		n = cap;
	if (n > 0)
		memcpy(buf, s->p + s->off, n);
	s->off += n;
	*out_n = n;
	return (CM_OK);
}

/* Bytes made on the fly, piece by piece, as a cm_read_fn: piece writes
 * the i-th piece (from 0) into out and returns its length, 0 after the
 * last.  A long input in constant memory. */
typedef struct tst_gen {
	size_t (*piece)(void *arg, size_t i, char *out, size_t cap);
	void  *arg;
	size_t i, pos, len;
	bool   end;
	char   cur[256];
} tst_gen;

static inline cm_err
tst_gen_read(void *arg, uint8_t *buf, size_t cap, size_t *out_n)
{
	tst_gen *g = arg;
	size_t   k = 0;

	while (k < cap && !g->end) {
		if (g->pos == g->len) {
			g->len =
			    g->piece(g->arg, g->i++, g->cur, sizeof(g->cur));
			g->pos = 0;
			if (g->len == 0 || g->len >= sizeof(g->cur)) {
				g->end = true;
				break;
			}
		}
		buf[k++] = (uint8_t) g->cur[g->pos++];
	}
	*out_n = k;
	return (CM_OK);
}

#endif
