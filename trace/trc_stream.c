/* SPDX-License-Identifier: MIT */
/* trace/trc_stream.c -- reads an EPCIS 2.0 JSON document of any size in
 * constant memory.  jansson has no streaming API, so this is a small
 * structural scanner: it walks only the document's skeleton (the top-level
 * object, epcisBody, queryResults, resultsBody and the event list), tracking
 * strings, escapes and depth, and finds each member's and each event's byte
 * span.  It parses nothing else itself: every span it hands out or skips is
 * parsed by jansson (cm_json), so the JSON rules are jansson's.  Every read
 * is bounded: a span by the caller's limits, a skeleton key by KEY_MAX,
 * nesting by TRC_STREAM_DEPTH_MAX, members of a skeleton object by
 * MEMBERS_MAX.  docs/trace.md section 5. */
#include "trace/trc.h"

#include <stdio.h>
#include <string.h>

#define KEY_MAX TRC_STREAM_KEY_MAX
#define MEMBERS_MAX 1024 /* members of one skeleton object */
#define KEYS_BYTES 65536 /* their names, for the duplicate check */

/* The skeleton's objects. */
enum { L_NONE, L_DOC, L_BODY, L_QR, L_RB, L_N };

struct trc_stream {
	cm_reader in;
	size_t    member_max, event_max;
	bool      skip_events;
	/* The span being captured (cap_on), bounded by cap_max. */
	cm_buf cap;
	bool   cap_on;
	size_t cap_max;
	bool   cap_big;
	/* Where we are. */
	int    level;      /* L_* of the innermost open skeleton object */
	bool   first[L_N]; /* no member read yet in that object */
	cm_buf keys[L_N];  /* member names seen there, NUL-separated */
	size_t nkeys[L_N]; /* and how many */
	bool   in_list;    /* inside the event list */
	bool   list_first; /* no element read yet */
	int    list_src;   /* TRC_LIST_* of the list found */
	size_t nevents;    /* elements read */
	bool   done;       /* the end was reached (or an error) */
	char   stack[TRC_STREAM_DEPTH_MAX]; /* open brackets in a skip */
};

static cm_err
fail_off(trc_stream *s, cm_diag *d, const char *what, uint64_t off)
{
	s->done = true;
	return (cm_fail(d, CM_EPROTO, "EPCIS document: %s at byte %llu", what,
	                (unsigned long long) off));
}

static cm_err
fail_at(trc_stream *s, cm_diag *d, const char *what)
{
	return (fail_off(s, d, what, s->in.pos));
}

static int
peekc(trc_stream *s)
{
	return (cm_reader_peek(&s->in));
}

/* Consumes the byte peekc returned (which was not -1). */
static void
takec(trc_stream *s)
{
	if (s->cap_on && !s->cap_big) {
		if (s->cap.len >= s->cap_max ||
		    cm_buf_append_byte(&s->cap, s->in.buf[s->in.off]) != CM_OK)
			s->cap_big = true;
	}
	cm_reader_take(&s->in);
}

static bool
is_ws(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static void
skip_ws(trc_stream *s)
{
	int c;

	while ((c = peekc(s)) >= 0 && is_ws(c))
		takec(s);
}

/* A failure at the end of input: the read error, or a truncation. */
static cm_err
fail_end(trc_stream *s, cm_diag *d)
{
	if (s->in.err != CM_OK) {
		s->done = true;
		return (cm_fail(d, s->in.err,
		                "EPCIS document: read failed at "
		                "byte %llu: %s",
		                (unsigned long long) s->in.pos,
		                cm_strerror(s->in.err)));
	}
	return (fail_at(s, d, "the document ends early"));
}

/* Takes the next byte into *c; the end of the input is a failure. */
static cm_err
nextc(trc_stream *s, int *c, cm_diag *d)
{
	if ((*c = peekc(s)) < 0)
		return (fail_end(s, d));
	takec(s);
	return (CM_OK);
}

/* Expects byte want, next. */
static cm_err
expect_now(trc_stream *s, int want, const char *what, cm_diag *d)
{
	int c;

	if ((c = peekc(s)) < 0)
		return (fail_end(s, d));
	if (c != want)
		return (fail_at(s, d, what));
	takec(s);
	return (CM_OK);
}

/* Expects byte want (after white space). */
static cm_err
expect(trc_stream *s, int want, const char *what, cm_diag *d)
{
	skip_ws(s);
	return (expect_now(s, want, what, d));
}

static cm_err
hex4(trc_stream *s, unsigned *out, cm_diag *d)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int c = peekc(s), h;

		if (c < 0)
			return (fail_end(s, d));
		if ((h = cm_hex_value(c)) < 0)
			return (fail_at(s, d, "a bad \\u escape in a key"));
		takec(s);
		v = v * 16 + (unsigned) h;
	}
	*out = v;
	return (CM_OK);
}

/* Appends code point u as UTF-8 to key; false if it does not fit. */
static bool
key_put(uint8_t *key, size_t *n, unsigned u)
{
	uint8_t b[4];
	size_t  k;

	if (u < 0x80) {
		b[0] = (uint8_t) u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = (uint8_t) (0xc0 | (u >> 6));
		b[1] = (uint8_t) (0x80 | (u & 0x3f));
		k = 2;
	} else if (u < 0x10000) {
		b[0] = (uint8_t) (0xe0 | (u >> 12));
		b[1] = (uint8_t) (0x80 | ((u >> 6) & 0x3f));
		b[2] = (uint8_t) (0x80 | (u & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t) (0xf0 | (u >> 18));
		b[1] = (uint8_t) (0x80 | ((u >> 12) & 0x3f));
		b[2] = (uint8_t) (0x80 | ((u >> 6) & 0x3f));
		b[3] = (uint8_t) (0x80 | (u & 0x3f));
		k = 4;
	}
	if (*n + k > KEY_MAX)
		return (false);
	memcpy(key + *n, b, k);
	*n += k;
	return (true);
}

/* A skeleton object's key, decoded (escapes resolved) into key: at most
 * KEY_MAX bytes (longer ones are refused: no EPCIS member name is near). */
static cm_err
read_key(trc_stream *s, uint8_t key[KEY_MAX], size_t *out_n, cm_diag *d)
{
	uint64_t start;
	size_t   n = 0;
	unsigned u, lo;
	int      c;
	cm_err   rv;

	skip_ws(s);
	start = s->in.pos;
	if ((rv = expect(s, '"', "a member name was expected", d)) != CM_OK)
		return (rv);
	for (;;) {
		if ((rv = nextc(s, &c, d)) != CM_OK)
			return (rv);
		if (c == '"')
			break;
		if (c < 0x20)
			return (fail_at(s, d, "a control character in a key"));
		if (c != '\\') {
			if (n == KEY_MAX)
				return (
				    fail_off(s, d,
				             "a member name longer than 256 "
				             "bytes",
				             start));
			key[n++] = (uint8_t) c;
			continue;
		}
		if ((rv = nextc(s, &c, d)) != CM_OK)
			return (rv);
		switch (c) {
		case '"':
		case '\\':
		case '/':
			u = (unsigned) c;
			break;
		case 'b':
			u = '\b';
			break;
		case 'f':
			u = '\f';
			break;
		case 'n':
			u = '\n';
			break;
		case 'r':
			u = '\r';
			break;
		case 't':
			u = '\t';
			break;
		case 'u':
			if ((rv = hex4(s, &u, d)) != CM_OK)
				return (rv);
			if (u >= 0xdc00 && u <= 0xdfff)
				return (
				    fail_at(s, d, "a lone surrogate in a key"));
			if (u >= 0xd800 && u <= 0xdbff) {
				if ((rv = expect_now(
				         s, '\\', "a lone surrogate in a key",
				         d)) != CM_OK ||
				    (rv = expect_now(
				         s, 'u', "a lone surrogate in a key",
				         d)) != CM_OK ||
				    (rv = hex4(s, &lo, d)) != CM_OK)
					return (rv);
				if (lo < 0xdc00 || lo > 0xdfff)
					return (fail_at(
					    s, d, "a lone surrogate in a key"));
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (u == 0)
				return (fail_at(s, d, "\\u0000 in a key"));
			break;
		default:
			return (fail_at(s, d, "a bad escape in a key"));
		}
		if (!key_put(key, &n, u))
			return (fail_off(s, d,
			                 "a member name longer than 256 bytes",
			                 start));
	}
	/* Raw bytes were copied as they are: check them as text. */
	if (!cm_text_valid(key, n))
		return (fail_off(s, d, "a key that is not UTF-8", start));
	*out_n = n;
	return (CM_OK);
}

/* Records key in the object at level; CM_EPROTO if it is there already. */
static cm_err
key_seen(trc_stream *s, int level, const uint8_t *key, size_t n, uint64_t start,
         cm_diag *d)
{
	cm_buf *b = &s->keys[level];
	size_t  i = 0;

	while (i < b->len) {
		size_t k = strlen((const char *) b->p + i);

		if (k == n && memcmp(b->p + i, key, n) == 0)
			return (
			    fail_off(s, d, "a member name used twice", start));
		i += k + 1;
	}
	if (s->nkeys[level] == MEMBERS_MAX || b->len + n + 1 > KEYS_BYTES)
		return (
		    fail_off(s, d, "too many members in one object", start));
	if (cm_buf_append(b, key, n) != CM_OK ||
	    cm_buf_append_byte(b, 0) != CM_OK) {
		s->done = true;
		return (CM_ENOMEM);
	}
	s->nkeys[level]++;
	return (CM_OK);
}

/* Reads one JSON value's bytes without parsing it: strings (with their
 * escapes) are passed over whole, brackets are matched on a stack, scalars
 * run to the next delimiter.  Only the span is found; its grammar is
 * jansson's to check. */
static cm_err
skip_value(trc_stream *s, cm_diag *d)
{
	size_t depth = 0;
	int    c;
	cm_err rv;

	skip_ws(s);
	for (;;) {
		if ((c = peekc(s)) < 0)
			return (fail_end(s, d));
		if (c == '"') {
			takec(s);
			for (;;) {
				if ((rv = nextc(s, &c, d)) != CM_OK)
					return (rv);
				if (c == '"')
					break;
				if (c == '\\' &&
				    (rv = nextc(s, &c, d)) != CM_OK)
					return (rv);
			}
		} else if (c == '{' || c == '[') {
			if (depth == TRC_STREAM_DEPTH_MAX)
				return (fail_at(s, d, "nesting too deep"));
			s->stack[depth++] = (char) (c == '{' ? '}' : ']');
			takec(s);
			continue;
		} else if (c == '}' || c == ']') {
			if (depth == 0 || s->stack[depth - 1] != c)
				return (fail_at(s, d,
				                "a bracket that does "
				                "not match"));
			depth--;
			takec(s);
		} else if (depth > 0 && (c == ',' || c == ':' || is_ws(c))) {
			takec(s);
			continue;
		} else {
			/* A scalar: to the next delimiter or the end. */
			if (c == ',' || c == ':')
				return (fail_at(s, d, "a value was expected"));
			while ((c = peekc(s)) >= 0 && !is_ws(c) && c != ',' &&
			       c != ':' && c != ']' && c != '}' && c != '"' &&
			       c != '[' && c != '{')
				takec(s);
			if (c < 0 && s->in.err != CM_OK)
				return (fail_end(s, d));
		}
		if (depth == 0)
			return (CM_OK);
	}
}

/* Captures the next value into s->cap (at most max bytes; what names it
 * in the refusal).  With keep false the value is only passed over. */
static cm_err
capture(trc_stream *s, size_t max, bool keep, const char *what, cm_diag *d)
{
	uint64_t start;
	cm_err   rv;

	skip_ws(s);
	start = s->in.pos;
	cm_buf_reset(&s->cap);
	s->cap_on = keep;
	s->cap_max = max;
	s->cap_big = false;
	rv = skip_value(s, d);
	s->cap_on = false;
	if (rv == CM_OK && s->cap_big) {
		s->done = true;
		rv = cm_fail(d, CM_ETOOBIG,
		             "EPCIS document: %s at byte %llu is larger than "
		             "%zu bytes",
		             what, (unsigned long long) start, max);
	}
	return (rv);
}

/* A captured skeleton value the caller does not see: jansson checks it. */
static cm_err
check_json(trc_stream *s, uint64_t start, cm_diag *d)
{
	cm_json *j = NULL;
	cm_diag  jd;

	cm_diag_clear(&jd);
	if (cm_json_parse(cm_buf_bytes(&s->cap), &j, &jd) != CM_OK) {
		s->done = true;
		return (cm_fail(d, CM_EPROTO,
		                "EPCIS document: the value at byte %llu: %s",
		                (unsigned long long) start, jd.msg));
	}
	cm_json_free(j);
	return (CM_OK);
}

cm_err
trc_stream_new(cm_read_fn rd, void *arg, size_t member_max, size_t event_max,
               trc_stream **out)
{
	trc_stream *s = cm_calloc(1, sizeof(*s));

	if (s == NULL)
		return (CM_ENOMEM);
	cm_reader_init(&s->in, rd, arg);
	s->member_max = member_max;
	s->event_max = event_max;
	*out = s;
	return (CM_OK);
}

void
trc_stream_free(trc_stream *s)
{
	if (s == NULL)
		return;
	cm_buf_fini(&s->cap);
	for (int i = 0; i < L_N; i++)
		cm_buf_fini(&s->keys[i]);
	cm_free(s);
}

void
trc_stream_skip_events(trc_stream *s, bool skip)
{
	s->skip_events = skip;
}

uint64_t
trc_stream_offset(const trc_stream *s)
{
	return (s->in.pos);
}

int
trc_stream_list(const trc_stream *s)
{
	return (s->list_src);
}

/* The next element of the event list, or its end. */
static cm_err
list_next(trc_stream *s, trc_item *out, bool *got, cm_diag *d)
{
	uint64_t start;
	char     what[40];
	int      c;
	cm_err   rv;

	*got = false;
	skip_ws(s);
	if ((c = peekc(s)) < 0)
		return (fail_end(s, d));
	if (c == ']') {
		takec(s);
		s->in_list = false;
		return (CM_OK);
	}
	if (!s->list_first) {
		if (c != ',')
			return (fail_at(s, d,
			                "',' or ']' was expected in "
			                "the event list"));
		takec(s);
		skip_ws(s);
		if ((c = peekc(s)) < 0)
			return (fail_end(s, d));
	}
	s->list_first = false;
	if (c != '{')
		return (fail_at(s, d, "an event that is not a JSON object"));
	start = s->in.pos;
	s->nevents++;
	snprintf(what, sizeof(what), "event %zu", s->nevents);
	if ((rv = capture(s, s->event_max, !s->skip_events, what, d)) != CM_OK)
		return (rv);
	if (s->skip_events)
		return (CM_OK);
	memset(out, 0, sizeof(*out));
	out->kind = TRC_ITEM_EVENT;
	out->value = cm_buf_bytes(&s->cap);
	out->offset = start;
	out->index = s->nevents;
	*got = true;
	return (CM_OK);
}

/* Enters the skeleton object member key names at this level, if it is
 * one; *entered says whether it did. */
static cm_err
enter(trc_stream *s, const uint8_t *key, size_t n, bool *entered, cm_diag *d)
{
	static const struct {
		int         from, to;
		const char *name;
	} sk[] = {{L_DOC, L_BODY, "epcisBody"},
	          {L_BODY, L_QR, "queryResults"},
	          {L_QR, L_RB, "resultsBody"}};
	char   msg[64];
	cm_err rv;

	*entered = false;
	for (size_t i = 0; i < sizeof(sk) / sizeof(sk[0]); i++) {
		if (sk[i].from != s->level ||
		    !cm_bytes_eq_str(CM_BYTES(key, n), sk[i].name))
			continue;
		snprintf(msg, sizeof(msg), "%s must be an object", sk[i].name);
		if ((rv = expect(s, '{', msg, d)) != CM_OK)
			return (rv);
		s->level = sk[i].to;
		s->first[s->level] = true;
		cm_buf_reset(&s->keys[s->level]);
		s->nkeys[s->level] = 0;
		*entered = true;
		return (CM_OK);
	}
	if ((s->level == L_BODY || s->level == L_RB) &&
	    cm_bytes_eq_str(CM_BYTES(key, n), "eventList")) {
		if (s->list_src != TRC_LIST_NONE)
			return (fail_at(s, d, "a second event list"));
		if ((rv = expect(s, '[', "eventList must be an array", d)) !=
		    CM_OK)
			return (rv);
		s->list_src =
		    s->level == L_BODY ? TRC_LIST_BODY : TRC_LIST_QUERY;
		s->in_list = true;
		s->list_first = true;
		*entered = true;
	}
	return (CM_OK);
}

cm_err
trc_stream_next(trc_stream *s, trc_item *out, cm_diag *d)
{
	uint8_t  key[KEY_MAX];
	size_t   kn = 0;
	bool     got, entered;
	uint64_t start;
	int      c;
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if (s->done) {
			out->kind = TRC_ITEM_END;
			return (CM_OK);
		}
		if (s->in_list) {
			if ((rv = list_next(s, out, &got, d)) != CM_OK || got)
				return (rv);
			continue;
		}
		if (s->level == L_NONE) {
			if ((rv = expect(s, '{',
			                 "an EPCIS document must be a JSON "
			                 "object",
			                 d)) != CM_OK)
				return (rv);
			s->level = L_DOC;
			s->first[L_DOC] = true;
			continue;
		}
		skip_ws(s);
		if ((c = peekc(s)) < 0)
			return (fail_end(s, d));
		if (c == '}') {
			takec(s);
			if (--s->level == L_NONE) {
				skip_ws(s);
				if (peekc(s) >= 0)
					return (fail_at(s, d,
					                "bytes after the "
					                "document"));
				if (s->in.err != CM_OK)
					return (fail_end(s, d));
				s->done = true;
			}
			continue;
		}
		if (!s->first[s->level]) {
			if (c != ',')
				return (fail_at(s, d,
				                "',' or '}' was "
				                "expected"));
			takec(s);
		}
		s->first[s->level] = false;
		skip_ws(s);
		start = s->in.pos;
		if ((rv = read_key(s, key, &kn, d)) != CM_OK ||
		    (rv = key_seen(s, s->level, key, kn, start, d)) != CM_OK ||
		    (rv = expect(s, ':', "':' was expected", d)) != CM_OK)
			return (rv);
		if ((rv = enter(s, key, kn, &entered, d)) != CM_OK)
			return (rv);
		if (entered)
			continue;
		skip_ws(s);
		start = s->in.pos;
		if ((rv = capture(s, s->member_max, true, "a member's value",
		                  d)) != CM_OK ||
		    (rv = check_json(s, start, d)) != CM_OK)
			return (rv);
		if (s->level != L_DOC)
			continue;
		out->kind = TRC_ITEM_MEMBER;
		memcpy(out->name, key, kn);
		out->name_len = kn;
		out->value = cm_buf_bytes(&s->cap);
		out->offset = start;
		return (CM_OK);
	}
}
