/* SPDX-License-Identifier: MIT */
/* ledger/cm_base.c -- errors, diagnostics, memory, buffers, big-endian
 * integers, hex/base64/UTF-8 and dates.  No third-party library here.
 * Strict decoders: anything with two spellings is refused (docs/format.md). */
#include "ledger/cm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const err_msgs[] = {
#define CM_MSG(name, msg) msg,
    CM_ERRORS(CM_MSG)
#undef CM_MSG
};
static const char *const err_names[] = {
#define CM_NAME(name, msg) #name,
    CM_ERRORS(CM_NAME)
#undef CM_NAME
};

cm_err
cm_err_from_errno(int e)
{
	switch (e) {
	case 0:
		return (CM_OK);
	case ENOMEM:
		return (CM_ENOMEM);
	case EACCES:
	case EPERM:
		return (CM_EACCES);
	case EROFS:
		return (CM_EROFS);
	case ENOSPC:
	case EDQUOT:
		return (CM_ENOSPC);
	case ENOENT:
		return (CM_ENOTFOUND);
	default:
		return (CM_EIO);
	}
}

const char *
cm_strerror(cm_err e)
{
	if ((unsigned) e >= CM_NERR)
		return ("unknown error");
	return (err_msgs[e]);
}

const char *
cm_errname(cm_err e)
{
	if ((unsigned) e >= CM_NERR)
		return ("CM_EUNKNOWN");
	return (err_names[e]);
}

void
cm_diag_clear(cm_diag *d)
{
	if (d != NULL)
		d->msg[0] = '\0';
}

static void
diag_vset(cm_diag *d, const char *fmt, va_list ap)
{
	if (d == NULL || d->msg[0] != '\0')
		return;
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

void
cm_diag_set(cm_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vset(d, fmt, ap);
	va_end(ap);
}

cm_err
cm_fail(cm_diag *d, cm_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vset(d, fmt, ap);
	va_end(ap);
	return (e);
}

void *
cm_malloc(size_t n)
{
	return (malloc(n == 0 ? 1 : n));
}

void *
cm_calloc(size_t n, size_t size)
{
	return (calloc(n == 0 ? 1 : n, size == 0 ? 1 : size));
}

void *
cm_realloc(void *p, size_t n)
{
	return (realloc(p, n == 0 ? 1 : n));
}

void
cm_free(void *p)
{
	free(p);
}

char *
cm_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char  *p = cm_malloc(len);

	if (p != NULL)
		memcpy(p, s, len);
	return (p);
}

bool
cm_bytes_eq(cm_bytes a, cm_bytes b)
{
	return (a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
}

bool
cm_bytes_eq_str(cm_bytes a, const char *s)
{
	return (cm_bytes_eq(a, CM_BYTES(s, strlen(s))));
}

int
cm_bytes_cmp(cm_bytes a, cm_bytes b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int    c = n == 0 ? 0 : memcmp(a.p, b.p, n);

	if (c != 0)
		return (c);
	return (a.len < b.len ? -1 : a.len > b.len ? 1 : 0);
}

void
cm_wipe(void *p, size_t len)
{
	volatile uint8_t *v = p;

	while (len-- > 0)
		*v++ = 0;
}

cm_err
cm_buf_reserve(cm_buf *b, size_t extra)
{
	size_t   cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return (CM_ENOMEM);
	if (b->len + extra + 1 <= b->cap) /* +1 keeps room for a NUL */
		return (CM_OK);
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < b->len + extra + 1)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if ((p = cm_realloc(b->p, cap)) == NULL)
		return (CM_ENOMEM);
	b->p = p;
	b->cap = cap;
	return (CM_OK);
}

cm_err
cm_buf_append(cm_buf *b, const void *p, size_t len)
{
	cm_err rv;

	if ((rv = cm_buf_reserve(b, len)) != CM_OK)
		return (rv);
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = 0;
	return (CM_OK);
}

cm_err
cm_buf_append_byte(cm_buf *b, uint8_t c)
{
	return (cm_buf_append(b, &c, 1));
}

cm_err
cm_buf_printf(cm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;
	cm_err  rv;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return (CM_EINVAL);
	if ((rv = cm_buf_reserve(b, (size_t) n)) != CM_OK)
		return (rv);
	va_start(ap, fmt);
	vsnprintf((char *) b->p + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
	return (CM_OK);
}

void
cm_buf_reset(cm_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = 0;
}

void
cm_buf_fini(cm_buf *b)
{
	cm_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
cm_buf_fini_secret(cm_buf *b)
{
	if (b->p != NULL)
		cm_wipe(b->p, b->cap);
	cm_buf_fini(b);
}

cm_bytes
cm_buf_bytes(const cm_buf *b)
{
	return (CM_BYTES(b->p, b->len));
}

void
cm_put_u64be(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t) v;
}

uint64_t
cm_get_u64be(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return (v);
}

void
cm_put_u32be(uint8_t out[4], uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t) v;
}

uint32_t
cm_get_u32be(const uint8_t in[4])
{
	return ((uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 |
	        (uint32_t) in[2] << 8 | in[3]);
}

cm_err
cm_hex_encode(cm_buf *out, cm_bytes in)
{
	static const char digits[] = "0123456789abcdef";
	cm_err            rv;

	if (in.len > SIZE_MAX / 2)
		return (CM_ENOMEM);
	if ((rv = cm_buf_reserve(out, in.len * 2)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < in.len; i++) {
		out->p[out->len++] = (uint8_t) digits[in.p[i] >> 4];
		out->p[out->len++] = (uint8_t) digits[in.p[i] & 15];
	}
	out->p[out->len] = 0;
	return (CM_OK);
}

void
cm_reader_init(cm_reader *r, cm_read_fn rd, void *arg)
{
	r->rd = rd;
	r->arg = arg;
	r->off = r->len = 0;
	r->pos = 0;
	r->eof = false;
	r->err = CM_OK;
}

int
cm_reader_peek(cm_reader *r)
{
	if (r->off == r->len) {
		size_t n = 0;

		if (r->eof || r->err != CM_OK)
			return (-1);
		if ((r->err = r->rd(r->arg, r->buf, sizeof(r->buf), &n)) !=
		    CM_OK)
			return (-1);
		/* A read function that claims more than it was given. */
		if (n > sizeof(r->buf)) {
			r->err = CM_EIO;
			return (-1);
		}
		r->off = 0;
		r->len = n;
		if (n == 0) {
			r->eof = true;
			return (-1);
		}
	}
	return (r->buf[r->off]);
}

int
cm_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

cm_err
cm_hex_decode(cm_buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	cm_err rv;

	if (len % 2 != 0)
		return (CM_EPROTO);
	if ((rv = cm_buf_reserve(out, len / 2)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < len; i += 2) {
		int hi = cm_hex_value((unsigned char) s[i]),
		    lo = cm_hex_value((unsigned char) s[i + 1]);

		if (hi < 0 || lo < 0) {
			out->len = start;
			out->p[start] = 0;
			return (CM_EPROTO);
		}
		out->p[out->len++] = (uint8_t) (hi << 4 | lo);
	}
	out->p[out->len] = 0;
	return (CM_OK);
}

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

cm_err
cm_b64_encode(cm_buf *out, cm_bytes in)
{
	size_t n = (in.len + 2) / 3 * 4;
	cm_err rv;

	if ((rv = cm_buf_reserve(out, n)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < in.len; i += 3) {
		uint32_t v = (uint32_t) in.p[i] << 16;
		size_t   rem = in.len - i;

		if (rem > 1)
			v |= (uint32_t) in.p[i + 1] << 8;
		if (rem > 2)
			v |= in.p[i + 2];
		out->p[out->len++] = (uint8_t) b64_alpha[v >> 18 & 63];
		out->p[out->len++] = (uint8_t) b64_alpha[v >> 12 & 63];
		out->p[out->len++] =
		    rem > 1 ? (uint8_t) b64_alpha[v >> 6 & 63] : '=';
		out->p[out->len++] =
		    rem > 2 ? (uint8_t) b64_alpha[v & 63] : '=';
	}
	out->p[out->len] = 0;
	return (CM_OK);
}

static int
b64_val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64_alpha, c)) == NULL)
		return (-1);
	return ((int) (p - b64_alpha));
}

cm_err
cm_b64_decode(cm_buf *out, const char *s, size_t len)
{
	size_t start = out->len;
	cm_err rv;

	if (len % 4 != 0)
		return (CM_EPROTO);
	if ((rv = cm_buf_reserve(out, len / 4 * 3)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < len; i += 4) {
		int  v[4];
		int  pad = 0;
		bool last = i + 4 == len;

		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && last && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[j] = b64_val(s[i + j])) < 0)
				goto bad;
		}
		/* Unused bits must be zero: one spelling per byte string. */
		if ((pad == 1 && (v[2] & 3) != 0) ||
		    (pad == 2 && (v[1] & 15) != 0))
			goto bad;
		uint32_t w = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 |
		             (uint32_t) v[2] << 6 | (uint32_t) v[3];
		out->p[out->len++] = (uint8_t) (w >> 16);
		if (pad < 2)
			out->p[out->len++] = (uint8_t) (w >> 8);
		if (pad < 1)
			out->p[out->len++] = (uint8_t) w;
	}
	out->p[out->len] = 0;
	return (CM_OK);
bad:
	out->len = start;
	out->p[start] = 0;
	return (CM_EPROTO);
}

#define ASCII_HIGH8 0x8080808080808080ULL
#define ASCII_HIGH4 0x80808080U
#define ASCII_LOW8 0x0101010101010101ULL
#define ASCII_LOW4 0x01010101U

/* Non-zero if the word holds a byte >= 0x80, or (with nul) a zero byte.
 * The zero test is the classic (w - 0x01..) & ~w & 0x80..: exact as a
 * yes/no answer for the whole word, which is all the fast path needs. */
static CM_INLINE_ALWAYS uint64_t
word_stop8(uint64_t w, bool nul)
{
	return ((w & ASCII_HIGH8) |
	        (nul ? (w - ASCII_LOW8) & ~w & ASCII_HIGH8 : 0));
}

static CM_INLINE_ALWAYS uint32_t
word_stop4(uint32_t w, bool nul)
{
	return ((w & ASCII_HIGH4) |
	        (nul ? (w - ASCII_LOW4) & ~w & ASCII_HIGH4 : 0));
}

/* True if s[0..len) is all ASCII (and, with nul, holds no 0x00): the fast
 * path, since text on the append path (keys, ids, dates) mostly is.  Words
 * are loaded with memcpy (legal unaligned); the last word overlaps the
 * previous one instead of ending in a byte loop, and short strings take two
 * overlapping 4-byte words or three bytes, so short keys of varying length
 * cost no mispredicted loop exit. */
static CM_INLINE_ALWAYS bool
ascii_only(const uint8_t *s, size_t len, bool nul)
{
	uint64_t w;
	uint32_t h, h2;

	if (len >= 8) {
		for (size_t i = 0; i < len - 8; i += 8) {
			memcpy(&w, s + i, sizeof(w));
			if (word_stop8(w, nul) != 0)
				return (false);
		}
		memcpy(&w, s + len - 8, sizeof(w));
		return (word_stop8(w, nul) == 0);
	}
	if (len >= 4) {
		memcpy(&h, s, sizeof(h));
		memcpy(&h2, s + len - 4, sizeof(h2));
		return ((word_stop4(h, nul) | word_stop4(h2, nul)) == 0);
	}
	if (len > 0) {
		uint8_t a = s[0], b = s[len / 2], c = s[len - 1];

		return (((a | b | c) & 0x80) == 0 &&
		        !(nul && (a == 0 || b == 0 || c == 0)));
	}
	return (true);
}

/* The index of the first byte at or after i that is not ASCII (or, with
 * nul, is 0x00), or len: the runs of ASCII between multi-byte sequences in
 * mixed text. */
static CM_INLINE_ALWAYS size_t
ascii_run(const uint8_t *s, size_t len, size_t i, bool nul)
{
	uint64_t w;

	while (len - i >= 8) {
		memcpy(&w, s + i, sizeof(w));
		if (word_stop8(w, nul) != 0)
			break;
		i += 8;
	}
	while (i < len && s[i] < 0x80 && !(nul && s[i] == 0))
		i++;
	return (i);
}

/* The length of the UTF-8 sequence at s[i] (a byte >= 0x80), or 0 if it is
 * not a valid one.  Byte ranges as in RFC 3629 section 4: the lead byte
 * fixes the length, and the second byte's range after E0, ED, F0 and F4 is
 * what excludes overlongs, surrogates and code points above U+10FFFF.  C0
 * and C1 could only start overlongs, F5-F7 only code points above
 * U+10FFFF, and F8-FF start nothing. */
static size_t
utf8_seq(const uint8_t *s, size_t len, size_t i)
{
	uint8_t c = s[i], lo = 0x80, hi = 0xBF;
	size_t  n;

	if (c < 0xC2 || c > 0xF4)
		return (0);
	n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (len - i < n)
		return (0);
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[i + 1] < lo || s[i + 1] > hi)
		return (0);
	for (size_t j = 2; j < n; j++)
		if ((s[i + j] & 0xC0) != 0x80)
			return (0);
	return (n);
}

/* Valid UTF-8, and with nul no U+0000 (whose only encoding is the byte
 * 0x00: overlong forms such as C0 80 are invalid anyway).  Specialised by
 * the constant nul at each of its two callers. */
static CM_INLINE_ALWAYS bool
utf8_scan(const uint8_t *s, size_t len, bool nul)
{
	size_t i = 0, n;

	if (ascii_only(s, len, nul))
		return (true);
	while (i < len) {
		if (s[i] < 0x80) {
			if (nul && s[i] == 0)
				return (false);
			i = ascii_run(s, len, i + 1, nul);
			continue;
		}
		if ((n = utf8_seq(s, len, i)) == 0)
			return (false);
		i += n;
	}
	return (true);
}

bool
cm_utf8_valid(const uint8_t *s, size_t len)
{
	return (utf8_scan(s, len, false));
}

bool
cm_text_valid(const uint8_t *s, size_t len)
{
	return (utf8_scan(s, len, true));
}

uint64_t
cm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000);
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (Howard Hinnant's
 * days_from_civil algorithm, written from its published description). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t  era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned) (y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (era * 146097 + (int64_t) doe - 719468);
}

static bool
digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (false);
		v = v * 10 + (unsigned) (s[i] - '0');
	}
	*out = v;
	return (true);
}

cm_err
cm_date_parse(const char *s, uint64_t *out_ms)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
	                                 31, 31, 30, 31, 30, 31};
	size_t                len = strlen(s);
	unsigned              y, m, d, hh = 0, mm = 0, ss = 0;

	if (len != 10 && len != 19)
		return (CM_EPROTO);
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return (CM_EPROTO);
	if (len == 19 && (s[10] != 'T' || !digits(s + 11, 2, &hh) ||
	                  s[13] != ':' || !digits(s + 14, 2, &mm) ||
	                  s[16] != ':' || !digits(s + 17, 2, &ss)))
		return (CM_EPROTO);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    hh > 23 || mm > 59 || ss > 59)
		return (CM_EPROTO);
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return (CM_EPROTO);
	int64_t secs = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 +
	               ss - (int64_t) (CM_TZ_OFFSET_MS / 1000);
	if (secs < 0)
		return (CM_EPROTO);
	*out_ms = (uint64_t) secs * 1000;
	return (CM_OK);
}
