/* SPDX-License-Identifier: MIT */
/* ledger/cm_cbor.c -- the canonical CBOR profile (docs/format.md): checker,
 * pull reader and writer.  The one file that includes <cbor.h>: libcbor
 * encodes the writer's heads and decodes heads for cm_cbor_check_libcbor,
 * the reference checker kept as an oracle; cm_cbor_check, on every append,
 * decodes heads itself.  Nothing is ever allocated from a length read from
 * the input. */
#include "ledger/cm.h"

#include <cbor.h>
#include <pthread.h>
#include <string.h>

/*
 * Error codes.  CM_EPROTO: the input is not well-formed CBOR (truncated, a
 * length beyond the input, reserved additional info 28-30, a break byte or
 * additional info 31 on a type that has no indefinite form, a two-byte
 * simple value below 32).  CM_ENONCANON: well-formed CBOR outside the
 * profile (non-minimal head, indefinite length, unsorted or duplicate keys,
 * non-text key, float, tag, simple value other than false/true/null, invalid
 * UTF-8 or U+0000 in text, nesting deeper than CM_CBOR_MAX_DEPTH, trailing
 * bytes).  Both checkers give the same code and message for every input
 * (the unit test and the fuzz target compare them).
 */

/* One decoded item head.  For strings, the payload follows the head. */
typedef struct cbor_head {
	cm_cbor_type   type;
	uint64_t       v;    /* integer value, length or count */
	const uint8_t *data; /* string payload */
	size_t         hlen; /* head bytes */
	size_t         len;  /* head plus string payload */
} cbor_head;

/* Refuses, from the initial byte alone, what the profile never allows, so
 * that both checkers' head decoders (ours and libcbor's) only ever see
 * integers, strings, arrays, maps, false, true and null with definite
 * lengths.  Shared by both checkers: these refusals come before any head
 * decoding, and the bad_* golden vectors pin their messages. */
static cm_err
initial_check(const uint8_t *p, size_t len, size_t off, cm_diag *d)
{
	uint8_t ib = p[off];
	uint8_t major = ib >> 5, ai = ib & 0x1f;

	if (ai >= 28 && ai <= 30)
		return (cm_fail(
		    d, CM_EPROTO,
		    "ill-formed: reserved additional info %u at offset %zu",
		    (unsigned) ai, off));
	if (ai == 31) {
		if (major >= 2 && major <= 5)
			return (cm_fail(
			    d, CM_ENONCANON,
			    "non-canonical: indefinite length at offset %zu",
			    off));
		if (ib == 0xff)
			return (cm_fail(
			    d, CM_EPROTO,
			    "ill-formed: unexpected break at offset %zu", off));
		return (cm_fail(
		    d, CM_EPROTO,
		    "ill-formed: additional info 31 on major type %u at "
		    "offset %zu",
		    (unsigned) major, off));
	}
	if (major == 6)
		return (cm_fail(d, CM_ENONCANON,
		                "non-canonical: tag at offset %zu", off));
	if (major != 7)
		return (CM_OK);
	if (ai >= 20 && ai <= 22)
		return (CM_OK);
	if (ai >= 25 && ai <= 27)
		return (cm_fail(d, CM_ENONCANON,
		                "non-canonical: float at offset %zu", off));
	if (ai == 24) {
		if (len - off < 2)
			return (cm_fail(d, CM_EPROTO,
			                "truncated: simple value at offset %zu",
			                off));
		if (p[off + 1] < 32)
			return (cm_fail(
			    d, CM_EPROTO,
			    "ill-formed: two-byte simple value %u at offset "
			    "%zu",
			    (unsigned) p[off + 1], off));
		return (cm_fail(d, CM_ENONCANON,
		                "non-canonical: simple value %u at offset %zu",
		                (unsigned) p[off + 1], off));
	}
	if (ai == 23)
		return (cm_fail(d, CM_ENONCANON,
		                "non-canonical: undefined at offset %zu", off));
	return (cm_fail(d, CM_ENONCANON,
	                "non-canonical: simple value %u at offset %zu",
	                (unsigned) ai, off));
}

/* Text that holds U+0000 (the byte 0x00): refused in every text string,
 * keys included, as the JSON reader refuses \u0000, so that text compared
 * or copied as a C string anywhere means what its bytes say
 * (docs/format.md rule 11).  The message is shared by both checkers. */
static cm_err
text_nul(size_t off, cm_diag *d)
{
	return (cm_fail(d, CM_ENONCANON,
	                "non-canonical: text at offset %zu holds U+0000 (NUL)",
	                off));
}

/* Reads the argument of a head with additional info ai < 28 from
 * q[0..avail), the bytes after the initial byte; *out_n gets the number of
 * bytes it took.  False if it needs more than avail.  Shared by the checker
 * and the reader, which differ in what they do with a short head. */
static inline bool
arg_read(const uint8_t *q, size_t avail, uint8_t ai, uint64_t *out_v,
         size_t *out_n)
{
	uint64_t v = 0;
	size_t   n;

	if (ai < 24) {
		*out_v = ai;
		*out_n = 0;
		return (true);
	}
	n = (size_t) 1 << (ai - 24);
	if (n > avail)
		return (false);
	for (size_t i = 0; i < n; i++)
		v = v << 8 | q[i];
	*out_v = v;
	*out_n = n;
	return (true);
}

/* ---- checker ----------------------------------------------------------- */

/* The smallest argument that additional info 24..27 may carry in a minimal
 * head (RFC 8949 4.2.1): anything smaller fits a shorter head. */
static const uint64_t arg_min[4] = {24, 0x100, 0x10000, 0x100000000ULL};

/* The heads outside major types 0-5 with ai < 28: false, true and null
 * pass; initial_check refuses every other one, so the refusals and their
 * precedence are the reference checker's by construction. */
static cm_err
head_rare(const uint8_t *p, size_t len, size_t off, cbor_head *out, cm_diag *d)
{
	static const cm_cbor_type simple[] = {CM_CBOR_FALSE, CM_CBOR_TRUE,
	                                      CM_CBOR_NULL};
	cm_err                    rv;

	if (p[off] >= 0xf4 && p[off] <= 0xf6) {
		out->type = simple[p[off] - 0xf4];
		out->v = 0;
		out->data = NULL;
		out->hlen = out->len = 1;
		return (CM_OK);
	}
	rv = initial_check(p, len, off, d);
	if (CM_NEVER(rv == CM_OK))
		rv = cm_fail(d, CM_EPROTO, "ill-formed: item at offset %zu",
		             off);
	return (rv);
}

/* A head or string payload that runs past the input; worded as the
 * reference checker words libcbor's "needs more data". */
static cm_err
head_short(size_t off, cm_diag *d)
{
	return (cm_fail(d, CM_EPROTO,
	                "truncated: item at offset %zu needs more bytes than "
	                "the input has",
	                off));
}

/* Decodes the item head at p[off] (and, for strings, locates the payload)
 * and checks it: bounds, minimal head, UTF-8 text, counts within the
 * input, in the reference checker's order.  No libcbor call: the callback
 * round trip per head was most of the append path's checking time. */
static inline cm_err
head_check(const uint8_t *p, size_t len, size_t off, cbor_head *out, cm_diag *d)
{
	uint8_t  major, ai;
	size_t   left, n;
	uint64_t v;

	if (off >= len)
		return (cm_fail(d, CM_EPROTO,
		                "truncated: item expected at offset %zu", off));
	major = p[off] >> 5;
	ai = p[off] & 0x1f;
	if (major > 5 || ai > 27)
		return (head_rare(p, len, off, out, d));
	left = len - off - 1;
	if (!arg_read(p + off + 1, left, ai, &v, &n))
		return (head_short(off, d));
	left -= n;
	out->type = (cm_cbor_type) major; /* the enum follows major types */
	out->v = v;
	out->data = NULL;
	out->hlen = out->len = 1 + n;
	if (major == 2 || major == 3) {
		if (v > left)
			return (head_short(off, d));
		out->data = p + off + 1 + n;
		out->len += (size_t) v;
	}
	if (ai >= 24 && v < arg_min[ai - 24])
		return (cm_fail(
		    d, CM_ENONCANON,
		    "non-canonical: head at offset %zu is not minimal", off));
	/* One scan on the append path; which of the two faults it was is
	 * worked out only on the way to the error. */
	if (major == 3 && !cm_text_valid(out->data, (size_t) v))
		return (cm_utf8_valid(out->data, (size_t) v)
		            ? text_nul(off, d)
		            : cm_fail(d, CM_ENONCANON,
		                      "non-canonical: invalid UTF-8 in text at "
		                      "offset %zu",
		                      off));
	/* Each element takes at least one byte, so a count beyond what is
	 * left cannot be satisfied. */
	if ((major == 4 && v > left) || (major == 5 && v > left / 2))
		return (cm_fail(
		    d, CM_EPROTO,
		    "truncated: count %llu at offset %zu exceeds the input",
		    (unsigned long long) v, off));
	return (CM_OK);
}

/* One open array or map while checking. */
typedef struct chk_frame {
	uint64_t       left; /* items still to read (2 per map entry) */
	const uint8_t *key; /* the previous key's text; NULL before the first */
	size_t         keylen;
	bool           map;
} chk_frame;

/* cm_cbor_key_cmp's order, inlined: compared once per map entry on the
 * append path, and keys are short and sorted keys of one length usually
 * differ in their first bytes, where a byte loop beats a call to memcmp. */
static inline int
key_order(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return (alen < blen ? -1 : 1);
	for (size_t i = 0; i < alen; i++)
		if (a[i] != b[i])
			return (a[i] < b[i] ? -1 : 1);
	return (0);
}

/* Checks that h, read at off where frame f expects a key, is a text key
 * after f's previous one, and makes it the previous one. */
static inline cm_err
key_check(chk_frame *f, const cbor_head *h, size_t off, cm_diag *d)
{
	int c;

	if (h->type != CM_CBOR_TEXT)
		return (cm_fail(d, CM_ENONCANON,
		                "non-canonical: map key is not a text string "
		                "at offset %zu",
		                off));
	/* Payload pointers are never NULL: p is not NULL once len > 0. */
	c = f->key == NULL
	        ? -1
	        : key_order(f->key, f->keylen, h->data, (size_t) h->v);
	if (c == 0)
		return (cm_fail(
		    d, CM_ENONCANON,
		    "non-canonical: duplicate map key at offset %zu", off));
	if (c > 0)
		return (cm_fail(
		    d, CM_ENONCANON,
		    "non-canonical: map keys out of order at offset %zu", off));
	f->key = h->data;
	f->keylen = (size_t) h->v;
	return (CM_OK);
}

/* Where cm_cbor_check_map notes the top-level map's entries: the offset
 * of every item directly inside it (key, value, key, ...). */
typedef struct top_offs {
	size_t n;
	bool   over; /* more than CM_CBOR_MAP_MAX entries */
	size_t off[2 * CM_CBOR_MAP_MAX + 1];
} top_offs;

/* Checks exactly one item at p[0], the whole profile; *out_end gets the
 * offset just past it, and top (if not NULL) the offsets of the items at
 * depth 1.  The innermost open frame lives in cur, not in the stack, so the
 * compiler keeps it in registers; the item itself sits in a pseudo-array
 * of one element at depth 0.  Always inlined, so that cm_cbor_check's copy
 * (top NULL) has no trace of the bookkeeping. */
static CM_INLINE_ALWAYS cm_err
item_walk(const uint8_t *p, size_t len, size_t *out_end, top_offs *top,
          cm_diag *d)
{
	chk_frame stack[CM_CBOR_MAX_DEPTH]; /* the frames enclosing cur */
	chk_frame cur = {1, NULL, 0, false};
	size_t    depth = 0, off = 0;
	cbor_head h = {0}; /* gcc -O2 cannot see that cm_fail never gives OK */
	cm_err    rv;

	for (;;) {
		if ((rv = head_check(p, len, off, &h, d)) != CM_OK)
			return (rv);
		if (cur.map && cur.left % 2 == 0 &&
		    (rv = key_check(&cur, &h, off, d)) != CM_OK)
			return (rv);
		if (top != NULL && depth == 1) {
			if (top->n < 2 * CM_CBOR_MAP_MAX)
				top->off[top->n++] = off;
			else
				top->over = true;
		}
		cur.left--;
		if (h.type == CM_CBOR_ARRAY || h.type == CM_CBOR_MAP) {
			if (depth == CM_CBOR_MAX_DEPTH)
				return (cm_fail(
				    d, CM_ENONCANON,
				    "non-canonical: nesting deeper than %d at "
				    "offset %zu",
				    CM_CBOR_MAX_DEPTH, off));
			stack[depth++] = cur;
			/* head_check bounded v by the input: no overflow. */
			cur.map = h.type == CM_CBOR_MAP;
			cur.left = cur.map ? h.v * 2 : h.v;
			cur.key = NULL;
			cur.keylen = 0;
		}
		off += h.len;
		while (cur.left == 0) {
			if (depth == 0) {
				*out_end = off;
				return (CM_OK);
			}
			cur = stack[--depth];
		}
	}
}

static cm_err
item_check(const uint8_t *p, size_t len, size_t *out_end, cm_diag *d)
{
	return (item_walk(p, len, out_end, NULL, d));
}

/* Walks one item at p: the new checker or the libcbor reference. */
typedef cm_err (*walk_fn)(const uint8_t *p, size_t len, size_t *out_end,
                          cm_diag *d);

/* What both checkers add around the walk: the input, and no trailing
 * bytes after the one item. */
static cm_err
input_check(cm_bytes in, cm_diag *d)
{
	if (in.p == NULL && in.len > 0)
		return (cm_fail(d, CM_EINVAL, "CBOR: NULL input"));
	return (CM_OK);
}

static cm_err
end_check(cm_bytes in, size_t end, cm_diag *d)
{
	if (end != in.len)
		return (cm_fail(d, CM_ENONCANON,
		                "non-canonical: trailing bytes at offset %zu",
		                end));
	return (CM_OK);
}

static cm_err
check_whole(cm_bytes in, walk_fn walk, cm_diag *d)
{
	size_t end = 0;
	cm_err rv;

	if ((rv = input_check(in, d)) != CM_OK ||
	    (rv = walk(in.p, in.len, &end, d)) != CM_OK)
		return (rv);
	return (end_check(in, end, d));
}

cm_err
cm_cbor_check(cm_bytes in, cm_diag *d)
{
	return (check_whole(in, item_check, d));
}

cm_err
cm_cbor_check_map(cm_bytes in, cm_cbor_map *m, cm_diag *d)
{
	static const uint8_t hlen[] = {1, 2, 3, 5, 9}; /* by ai 23..27 */
	top_offs             t;
	size_t               end = 0;
	cm_err               rv;

	m->item = in;
	m->n = 0;
	m->complete = false;
	t.n = 0;
	t.over = false;
	if ((rv = input_check(in, d)) != CM_OK ||
	    (rv = item_walk(in.p, in.len, &end, &t, d)) != CM_OK ||
	    (rv = end_check(in, end, d)) != CM_OK)
		return (rv);
	if ((in.p[0] >> 5) != CM_CBOR_MAP || t.over)
		return (CM_OK);
	t.off[t.n] = in.len;
	for (size_t i = 0; i < t.n / 2; i++) {
		size_t  k = t.off[2 * i], v = t.off[2 * i + 1];
		uint8_t ai = in.p[k] & 0x1f;
		size_t  hl = ai < 24 ? 1 : hlen[ai - 23];

		/* Keys are text strings: the walk checked it. */
		m->key[i] = CM_BYTES(in.p + k + hl, v - k - hl);
		m->val[i] = CM_BYTES(in.p + v, t.off[2 * i + 2] - v);
	}
	m->n = t.n / 2;
	m->complete = true;
	return (CM_OK);
}

int
cm_cbor_key_cmp(cm_bytes a, cm_bytes b)
{
	if (a.len != b.len)
		return (a.len < b.len ? -1 : 1);
	return (cm_bytes_cmp(a, b));
}

/* ---- reference checker (libcbor) --------------------------------------- */

/* The checker as it was before cm_cbor_check decoded heads itself: libcbor's
 * streaming decoder reads every head and a walker of its own applies the
 * rules.  Kept, slow as it is, as an independent oracle for cm_cbor_check;
 * only initial_check is shared. */

/* The callback context for cbor_stream_decode. */
typedef struct head_ctx {
	cm_cbor_type   type;
	uint64_t       v;
	const uint8_t *data;
	bool           seen;
} head_ctx;

static void
head_set(void *ctx, cm_cbor_type type, uint64_t v)
{
	head_ctx *h = ctx;

	h->type = type;
	h->v = v;
	h->seen = true;
}

static void
cb_uint8(void *ctx, uint8_t v)
{
	head_set(ctx, CM_CBOR_UINT, v);
}

static void
cb_uint16(void *ctx, uint16_t v)
{
	head_set(ctx, CM_CBOR_UINT, v);
}

static void
cb_uint32(void *ctx, uint32_t v)
{
	head_set(ctx, CM_CBOR_UINT, v);
}

static void
cb_uint64(void *ctx, uint64_t v)
{
	head_set(ctx, CM_CBOR_UINT, v);
}

static void
cb_negint8(void *ctx, uint8_t v)
{
	head_set(ctx, CM_CBOR_NEGINT, v);
}

static void
cb_negint16(void *ctx, uint16_t v)
{
	head_set(ctx, CM_CBOR_NEGINT, v);
}

static void
cb_negint32(void *ctx, uint32_t v)
{
	head_set(ctx, CM_CBOR_NEGINT, v);
}

static void
cb_negint64(void *ctx, uint64_t v)
{
	head_set(ctx, CM_CBOR_NEGINT, v);
}

static void
cb_bytes(void *ctx, cbor_data p, size_t len)
{
	head_set(ctx, CM_CBOR_BYTES, len);
	((head_ctx *) ctx)->data = p;
}

static void
cb_text(void *ctx, cbor_data p, size_t len)
{
	head_set(ctx, CM_CBOR_TEXT, len);
	((head_ctx *) ctx)->data = p;
}

static void
cb_array(void *ctx, size_t n)
{
	head_set(ctx, CM_CBOR_ARRAY, n);
}

static void
cb_map(void *ctx, size_t n)
{
	head_set(ctx, CM_CBOR_MAP, n);
}

static void
cb_bool(void *ctx, bool v)
{
	head_set(ctx, v ? CM_CBOR_TRUE : CM_CBOR_FALSE, 0);
}

static void
cb_null(void *ctx)
{
	head_set(ctx, CM_CBOR_NULL, 0);
}

/* Only the callbacks for heads that ref_head_decode lets through are ours; the
 * rest stay libcbor's no-ops (never reached).  Built once: copying the
 * struct for every head was a fifth of the append path's time. */
static struct cbor_callbacks head_callbacks;
static pthread_once_t        head_callbacks_once = PTHREAD_ONCE_INIT;

static void
callbacks_init(void)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;

	cb.uint8 = cb_uint8;
	cb.uint16 = cb_uint16;
	cb.uint32 = cb_uint32;
	cb.uint64 = cb_uint64;
	cb.negint8 = cb_negint8;
	cb.negint16 = cb_negint16;
	cb.negint32 = cb_negint32;
	cb.negint64 = cb_negint64;
	cb.byte_string = cb_bytes;
	cb.string = cb_text;
	cb.array_start = cb_array;
	cb.map_start = cb_map;
	cb.boolean = cb_bool;
	cb.null = cb_null;
	head_callbacks = cb;
}
/* The length of the shortest head for argument v (RFC 8949 4.2.1). */
static size_t
head_minlen(uint64_t v)
{
	if (v < 24)
		return (1);
	if (v <= UINT8_MAX)
		return (2);
	if (v <= UINT16_MAX)
		return (3);
	if (v <= UINT32_MAX)
		return (5);
	return (9);
}

/* Decodes the item head at p[off] (and, for strings, locates the payload):
 * bounds-checked, minimal heads only, text checked for UTF-8. */
static cm_err
ref_head_decode(const uint8_t *p, size_t len, size_t off, cbor_head *out,
                cm_diag *d)
{
	struct cbor_decoder_result res;
	head_ctx                   ctx = {CM_CBOR_INVALID, 0, NULL, false};
	cm_err                     rv;

	if (off >= len)
		return (cm_fail(d, CM_EPROTO,
		                "truncated: item expected at offset %zu", off));
	if ((rv = initial_check(p, len, off, d)) != CM_OK)
		return (rv);
	pthread_once(&head_callbacks_once, callbacks_init);
	res = cbor_stream_decode(p + off, len - off, &head_callbacks, &ctx);
	if (res.status == CBOR_DECODER_NEDATA)
		return (cm_fail(
		    d, CM_EPROTO,
		    "truncated: item at offset %zu needs more bytes than the "
		    "input has",
		    off));
	if (res.status != CBOR_DECODER_FINISHED || !ctx.seen || res.read == 0 ||
	    res.read > len - off)
		return (cm_fail(d, CM_EPROTO, "ill-formed: item at offset %zu",
		                off));
	out->type = ctx.type;
	out->v = ctx.v;
	out->data = ctx.data;
	out->len = res.read;
	out->hlen = res.read;
	if (ctx.type == CM_CBOR_BYTES || ctx.type == CM_CBOR_TEXT) {
		if (ctx.v > res.read)
			return (cm_fail(d, CM_EPROTO,
			                "ill-formed: string at offset %zu",
			                off));
		out->hlen = res.read - (size_t) ctx.v;
	}
	if (ctx.type <= CM_CBOR_MAP && out->hlen != head_minlen(ctx.v))
		return (cm_fail(
		    d, CM_ENONCANON,
		    "non-canonical: head at offset %zu is not minimal", off));
	if (ctx.type == CM_CBOR_TEXT && !cm_utf8_valid(ctx.data, ctx.v))
		return (cm_fail(
		    d, CM_ENONCANON,
		    "non-canonical: invalid UTF-8 in text at offset %zu", off));
	if (ctx.type == CM_CBOR_TEXT && ctx.v > 0 &&
	    memchr(ctx.data, 0, ctx.v) != NULL)
		return (text_nul(off, d));
	/* Each element takes at least one byte, so a count beyond what is
	 * left cannot be satisfied. */
	if ((ctx.type == CM_CBOR_ARRAY && ctx.v > len - off - res.read) ||
	    (ctx.type == CM_CBOR_MAP && ctx.v > (len - off - res.read) / 2))
		return (cm_fail(
		    d, CM_EPROTO,
		    "truncated: count %llu at offset %zu exceeds the input",
		    (unsigned long long) ctx.v, off));
	return (CM_OK);
}

/* One open array or map while walking. */
typedef struct walk_frame {
	uint64_t       left; /* items still to read (2 per map entry) */
	bool           map;
	const uint8_t *key; /* the previous key's text, if any */
	size_t         keylen;
	bool           has_key;
} walk_frame;

/* Walks exactly one item at p[off], checking the whole profile; *out_end
 * gets the offset just past it. */
static cm_err
ref_walk(const uint8_t *p, size_t len, size_t off, size_t *out_end, cm_diag *d)
{
	walk_frame stack[CM_CBOR_MAX_DEPTH];
	size_t     sp = 0;
	cbor_head  h = {0}; /* as in item_check, for gcc -O2 */
	cm_err     rv;

	do {
		walk_frame *top = sp > 0 ? &stack[sp - 1] : NULL;

		if ((rv = ref_head_decode(p, len, off, &h, d)) != CM_OK)
			return (rv);
		if (top != NULL && top->map && top->left % 2 == 0) {
			cm_bytes key = CM_BYTES(h.data, (size_t) h.v);
			int      c;

			if (h.type != CM_CBOR_TEXT)
				return (cm_fail(
				    d, CM_ENONCANON,
				    "non-canonical: map key is not a text "
				    "string at offset %zu",
				    off));
			c = top->has_key
			        ? cm_cbor_key_cmp(
			              CM_BYTES(top->key, top->keylen), key)
			        : -1;
			if (c == 0)
				return (cm_fail(
				    d, CM_ENONCANON,
				    "non-canonical: duplicate map key at "
				    "offset %zu",
				    off));
			if (c > 0)
				return (cm_fail(
				    d, CM_ENONCANON,
				    "non-canonical: map keys out of order at "
				    "offset %zu",
				    off));
			top->key = key.p;
			top->keylen = key.len;
			top->has_key = true;
		}
		if (top != NULL)
			top->left--;
		if (h.type == CM_CBOR_ARRAY || h.type == CM_CBOR_MAP) {
			if (sp == CM_CBOR_MAX_DEPTH)
				return (cm_fail(
				    d, CM_ENONCANON,
				    "non-canonical: nesting deeper than %d at "
				    "offset %zu",
				    CM_CBOR_MAX_DEPTH, off));
			/* The decoder bounded v by the input: no overflow. */
			stack[sp].left = h.type == CM_CBOR_MAP ? h.v * 2 : h.v;
			stack[sp].map = h.type == CM_CBOR_MAP;
			stack[sp].has_key = false;
			stack[sp].key = NULL;
			stack[sp].keylen = 0;
			sp++;
		}
		off += h.len;
		while (sp > 0 && stack[sp - 1].left == 0)
			sp--;
	} while (sp > 0);
	*out_end = off;
	return (CM_OK);
}

static cm_err
ref_walk_item(const uint8_t *p, size_t len, size_t *out_end, cm_diag *d)
{
	return (ref_walk(p, len, 0, out_end, d));
}

cm_err
cm_cbor_check_libcbor(cm_bytes in, cm_diag *d)
{
	return (check_whole(in, ref_walk_item, d));
}

static cm_err fast_head(const uint8_t *p, size_t len, size_t off,
                        cbor_head *out, cm_diag *d);

/* ---- reader ------------------------------------------------------------ */

void
cm_cbor_rd_init(cm_cbor_rd *r, cm_bytes in, cm_diag *d)
{
	r->p = in.p;
	r->len = in.p == NULL ? 0 : in.len;
	r->off = 0;
	r->d = d;
}

cm_cbor_type
cm_cbor_rd_peek(const cm_cbor_rd *r)
{
	cbor_head h;

	if (r->off >= r->len ||
	    fast_head(r->p, r->len, r->off, &h, NULL) != CM_OK)
		return (CM_CBOR_INVALID);
	return (h.type);
}

bool
cm_cbor_rd_done(const cm_cbor_rd *r)
{
	return (r->off == r->len);
}

static const char *
type_name(cm_cbor_type t)
{
	static const char *const names[] = {"unsigned integer",
	                                    "negative integer",
	                                    "byte string",
	                                    "text string",
	                                    "array",
	                                    "map",
	                                    "false",
	                                    "true",
	                                    "null",
	                                    "invalid item"};

	return (names[t <= CM_CBOR_INVALID ? t : CM_CBOR_INVALID]);
}

/* The reader's head decoder: bounds-checked, but it checks neither the
 * profile (minimal heads, UTF-8, key order) nor calls libcbor, because the
 * reader runs over input that cm_cbor_check has already accepted, many
 * times per record on the append path (measured: head decoding through
 * libcbor's callbacks with UTF-8 checks was a third of append time). */
static cm_err
fast_head(const uint8_t *p, size_t len, size_t off, cbor_head *out, cm_diag *d)
{
	uint8_t  ib, major, ai;
	size_t   n, left;
	uint64_t v;

	if (off >= len)
		return (cm_fail(d, CM_EPROTO,
		                "truncated: item expected at offset %zu", off));
	ib = p[off];
	major = ib >> 5;
	ai = ib & 0x1f;
	left = len - off - 1;
	if (major == 7) {
		static const cm_cbor_type simple[] = {
		    CM_CBOR_FALSE, CM_CBOR_TRUE, CM_CBOR_NULL};

		if (ai < 20 || ai > 22)
			return (cm_fail(d, CM_EPROTO,
			                "CBOR: unsupported simple or float at "
			                "offset %zu",
			                off));
		out->type = simple[ai - 20];
		out->v = 0;
		out->data = NULL;
		out->hlen = out->len = 1;
		return (CM_OK);
	}
	if (major == 6 || ai > 27)
		return (cm_fail(d, CM_EPROTO,
		                "CBOR: tag or indefinite item at offset %zu",
		                off));
	if (!arg_read(p + off + 1, left, ai, &v, &n))
		return (cm_fail(d, CM_EPROTO, "truncated: head at offset %zu",
		                off));
	out->type = (cm_cbor_type) major; /* the enum follows major types */
	out->v = v;
	out->hlen = 1 + n;
	out->len = out->hlen;
	out->data = NULL;
	left -= n;
	if (major == 2 || major == 3) {
		if (v > left)
			return (cm_fail(d, CM_EPROTO,
			                "truncated: string at offset %zu",
			                off));
		out->data = p + off + out->hlen;
		out->len += (size_t) v;
	} else if ((major == 4 && v > left) || (major == 5 && v > left / 2)) {
		return (cm_fail(
		    d, CM_EPROTO,
		    "truncated: count at offset %zu exceeds the input", off));
	}
	return (CM_OK);
}

/* Skips one item from off with the fast decoder; depth-limited. */
static cm_err
fast_skip(const uint8_t *p, size_t len, size_t off, size_t *out_end, cm_diag *d)
{
	uint64_t  left[CM_CBOR_MAX_DEPTH];
	size_t    sp = 0;
	cbor_head h;
	cm_err    rv;

	do {
		if ((rv = fast_head(p, len, off, &h, d)) != CM_OK)
			return (rv);
		if (sp > 0)
			left[sp - 1]--;
		off += h.len;
		if (h.type == CM_CBOR_ARRAY || h.type == CM_CBOR_MAP) {
			if (sp == CM_CBOR_MAX_DEPTH)
				return (
				    cm_fail(d, CM_EPROTO,
				            "CBOR: nesting deeper than %d at "
				            "offset %zu",
				            CM_CBOR_MAX_DEPTH, off));
			left[sp++] = h.type == CM_CBOR_MAP ? h.v * 2 : h.v;
		}
		while (sp > 0 && left[sp - 1] == 0)
			sp--;
	} while (sp > 0);
	*out_end = off;
	return (CM_OK);
}

/* Reads one head of type want (or of either boolean when want is
 * CM_CBOR_FALSE and any integer when want is CM_CBOR_NEGINT) and advances
 * past it (and its payload, for strings). */
static cm_err
rd_head(cm_cbor_rd *r, cm_cbor_type want, cbor_head *h)
{
	cm_err rv;
	bool   ok;

	if ((rv = fast_head(r->p, r->len, r->off, h, r->d)) != CM_OK)
		return (rv);
	if (want == CM_CBOR_NEGINT)
		ok = h->type == CM_CBOR_UINT || h->type == CM_CBOR_NEGINT;
	else if (want == CM_CBOR_FALSE)
		ok = h->type == CM_CBOR_FALSE || h->type == CM_CBOR_TRUE;
	else
		ok = h->type == want;
	if (!ok)
		return (cm_fail(r->d, CM_EPROTO,
		                "CBOR: expected %s, found %s at offset %zu",
		                want == CM_CBOR_NEGINT  ? "integer"
		                : want == CM_CBOR_FALSE ? "boolean"
		                                        : type_name(want),
		                type_name(h->type), r->off));
	r->off += h->len;
	return (CM_OK);
}

cm_err
cm_cbor_rd_uint(cm_cbor_rd *r, uint64_t *out)
{
	cbor_head h;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_UINT, &h)) == CM_OK)
		*out = h.v;
	return (rv);
}

cm_err
cm_cbor_rd_int(cm_cbor_rd *r, int64_t *out)
{
	cbor_head h;
	size_t    off = r->off;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_NEGINT, &h)) != CM_OK)
		return (rv);
	if (h.v > (uint64_t) INT64_MAX) {
		r->off = off;
		return (cm_fail(
		    r->d, CM_EPROTO,
		    "CBOR: integer at offset %zu does not fit int64", off));
	}
	/* A negint encodes -1 - v; v <= INT64_MAX keeps it in range. */
	*out = h.type == CM_CBOR_UINT ? (int64_t) h.v : -1 - (int64_t) h.v;
	return (CM_OK);
}

cm_err
cm_cbor_rd_bytes(cm_cbor_rd *r, cm_bytes *out)
{
	cbor_head h;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_BYTES, &h)) == CM_OK)
		*out = CM_BYTES(h.data, (size_t) h.v);
	return (rv);
}

cm_err
cm_cbor_rd_text(cm_cbor_rd *r, cm_bytes *out)
{
	cbor_head h;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_TEXT, &h)) == CM_OK)
		*out = CM_BYTES(h.data, (size_t) h.v);
	return (rv);
}

cm_err
cm_cbor_rd_bool(cm_cbor_rd *r, bool *out)
{
	cbor_head h;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_FALSE, &h)) == CM_OK)
		*out = h.type == CM_CBOR_TRUE;
	return (rv);
}

cm_err
cm_cbor_rd_null(cm_cbor_rd *r)
{
	cbor_head h;

	return (rd_head(r, CM_CBOR_NULL, &h));
}

cm_err
cm_cbor_rd_array(cm_cbor_rd *r, uint64_t *out_n)
{
	cbor_head h;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_ARRAY, &h)) == CM_OK)
		*out_n = h.v;
	return (rv);
}

cm_err
cm_cbor_rd_map(cm_cbor_rd *r, uint64_t *out_n)
{
	cbor_head h;
	cm_err    rv;

	if ((rv = rd_head(r, CM_CBOR_MAP, &h)) == CM_OK)
		*out_n = h.v;
	return (rv);
}

cm_err
cm_cbor_rd_skip(cm_cbor_rd *r, cm_bytes *out)
{
	size_t end = 0; /* set on success; gcc -O2 cannot tell */
	cm_err rv;

	if ((rv = fast_skip(r->p, r->len, r->off, &end, r->d)) != CM_OK)
		return (rv);
	if (out != NULL)
		*out = CM_BYTES(r->p + r->off, end - r->off);
	r->off = end;
	return (CM_OK);
}

/* ---- writer ------------------------------------------------------------ */

void
cm_cbor_wr_init(cm_cbor_wr *w, cm_buf *out)
{
	w->out = out;
	w->start = out->len;
	w->err = CM_OK;
}

/* The shortest head for (major, v), as RFC 8949 section 4.2.1 requires.
 * Ours rather than libcbor's cbor_encode_*: the writer runs once per field
 * on the append path, and a call into the shared library per head cost more
 * than the rest of encoding a record leaf (measured in docs/benchmarks.md).
 * The codec tests pin every length boundary, and the fuzz targets re-encode
 * what the libcbor-checked decoders accept. */
static size_t
head_encode(uint8_t out[9], unsigned major, uint64_t v)
{
	uint8_t mt = (uint8_t) (major << 5);
	size_t  n;

	if (v < 24) {
		out[0] = (uint8_t) (mt | v);
		return (1);
	}
	if (v <= 0xff) {
		out[0] = mt | 24;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = mt | 25;
		n = 2;
	} else if (v <= 0xffffffff) {
		out[0] = mt | 26;
		n = 4;
	} else {
		out[0] = mt | 27;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[n - i] = (uint8_t) (v >> (8 * i));
	return (1 + n);
}

/* Appends a head and then len payload bytes with one reservation. */
static void
wr_item(cm_cbor_wr *w, unsigned major, uint64_t v, const void *payload,
        size_t len)
{
	cm_buf *b = w->out;
	uint8_t head[9];
	size_t  n;

	if (w->err != CM_OK)
		return;
	n = head_encode(head, major, v);
	/* cm_buf_reserve refuses sizes that would overflow. */
	if ((len > b->cap || b->len + n + len + 1 > b->cap) &&
	    (w->err = cm_buf_reserve(b, len > SIZE_MAX - n ? SIZE_MAX
	                                                   : n + len)) != CM_OK)
		return;
	memcpy(b->p + b->len, head, n);
	if (len > 0)
		memcpy(b->p + b->len + n, payload, len);
	b->len += n + len;
	b->p[b->len] = 0;
}

void
cm_cbor_wr_uint(cm_cbor_wr *w, uint64_t v)
{
	wr_item(w, 0, v, NULL, 0);
}

void
cm_cbor_wr_int(cm_cbor_wr *w, int64_t v)
{
	if (v >= 0) {
		cm_cbor_wr_uint(w, (uint64_t) v);
		return;
	}
	/* -1 - v is in [0, INT64_MAX] for every negative v. */
	wr_item(w, 1, (uint64_t) (-1 - v), NULL, 0);
}

static void
wr_string(cm_cbor_wr *w, bool text, cm_bytes s)
{
	if (w->err != CM_OK)
		return;
	if (s.p == NULL && s.len > 0) {
		w->err = CM_EINVAL;
		return;
	}
	wr_item(w, text ? 3 : 2, s.len, s.p, s.len);
}

void
cm_cbor_wr_bytes(cm_cbor_wr *w, cm_bytes b)
{
	wr_string(w, false, b);
}

void
cm_cbor_wr_text(cm_cbor_wr *w, cm_bytes s)
{
	wr_string(w, true, s);
}

void
cm_cbor_wr_cstr(cm_cbor_wr *w, const char *s)
{
	if (s == NULL) {
		if (w->err == CM_OK)
			w->err = CM_EINVAL;
		return;
	}
	wr_string(w, true, CM_BYTES(s, strlen(s)));
}

void
cm_cbor_wr_bool(cm_cbor_wr *w, bool v)
{
	wr_item(w, 7, v ? 21 : 20, NULL, 0);
}

void
cm_cbor_wr_null(cm_cbor_wr *w)
{
	wr_item(w, 7, 22, NULL, 0);
}

static void
wr_collection(cm_cbor_wr *w, bool map, uint64_t n)
{
	if (w->err != CM_OK)
		return;
	if (n > SIZE_MAX) {
		w->err = CM_ETOOBIG;
		return;
	}
	wr_item(w, map ? 5 : 4, n, NULL, 0);
}

void
cm_cbor_wr_array(cm_cbor_wr *w, uint64_t n)
{
	wr_collection(w, false, n);
}

void
cm_cbor_wr_map(cm_cbor_wr *w, uint64_t n)
{
	wr_collection(w, true, n);
}

void
cm_cbor_wr_raw(cm_cbor_wr *w, cm_bytes item)
{
	if (w->err != CM_OK)
		return;
	if (item.p == NULL && item.len > 0) {
		w->err = CM_EINVAL;
		return;
	}
	w->err = cm_buf_append(w->out, item.p, item.len);
}

cm_err
cm_cbor_wr_end(cm_cbor_wr *w)
{
	return (w->err);
}

cm_err
cm_cbor_wr_finish(cm_cbor_wr *w, cm_diag *d)
{
	cm_err rv;

	if (w->err != CM_OK)
		return (
		    cm_fail(d, w->err, "CBOR writer: %s", cm_strerror(w->err)));
	if (w->out->len < w->start)
		return (cm_fail(d, CM_EINVAL, "CBOR writer: buffer shrank"));
	/* Whatever the check finds (even an item left short, which reads as
	 * truncated) is the caller's mistake: report it as not canonical. */
	if (w->out->len == w->start)
		rv = cm_cbor_check(CM_BYTES(NULL, 0), d);
	else
		rv = cm_cbor_check(
		    CM_BYTES(w->out->p + w->start, w->out->len - w->start), d);
	return (rv == CM_OK ? CM_OK : CM_ENONCANON);
}
