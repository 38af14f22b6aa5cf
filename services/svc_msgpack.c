/* SPDX-License-Identifier: MIT */
/* services/svc_msgpack.c -- the one file that includes msgpack-c.  Input is
 * bounded by our own scan before msgpack-c sees it (depth, node count,
 * every length and count within the bytes left, no floats or extension
 * types, strings are Tally text), so msgpack-c never allocates more than
 * a small multiple of the input; its objects are then copied into svc_val
 * nodes so no msgpack type leaves this file.  docs/protocol.md section 3. */
#include "services/svc.h"

#include <msgpack.h>
#include <string.h>

/* ---- the bounding scan ---- */

typedef struct scan {
	const uint8_t *p;
	size_t         len, off, nodes;
	cm_diag       *d;
} scan;

static cm_err
scan_need(scan *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (s->len - s->off < n)
		return (cm_fail(s->d, CM_EPROTO,
		                "msgpack: truncated at byte %zu", s->off));
	for (size_t i = 0; i < n; i++)
		v = v << 8 | s->p[s->off + i];
	s->off += n;
	*out = v;
	return (CM_OK);
}

static cm_err scan_item(scan *s, unsigned depth);

static cm_err
scan_str(scan *s, uint64_t n, bool text)
{
	if (n > s->len - s->off)
		return (
		    cm_fail(s->d, CM_EPROTO,
		            "msgpack: a length of %llu at byte %zu runs past "
		            "the end",
		            (unsigned long long) n, s->off));
	if (text && !cm_text_valid(s->p + s->off, (size_t) n))
		return (cm_fail(s->d, CM_EPROTO,
		                "msgpack: a string at byte %zu is not UTF-8 "
		                "text without U+0000",
		                s->off));
	s->off += (size_t) n;
	return (CM_OK);
}

static cm_err
scan_items(scan *s, uint64_t n, unsigned depth)
{
	cm_err rv;

	/* Each item takes at least one byte: a count past the bytes left is
	 * a lie, refused before anything is allocated for it. */
	if (n > s->len - s->off)
		return (
		    cm_fail(s->d, CM_EPROTO,
		            "msgpack: a count of %llu at byte %zu exceeds the "
		            "bytes left",
		            (unsigned long long) n, s->off));
	if (depth + 1 > SVC_MP_DEPTH)
		return (cm_fail(s->d, CM_ETOOBIG,
		                "msgpack: nested deeper than %d at byte %zu",
		                SVC_MP_DEPTH, s->off));
	for (uint64_t i = 0; i < n; i++)
		if ((rv = scan_item(s, depth + 1)) != CM_OK)
			return (rv);
	return (CM_OK);
}

static cm_err
scan_item(scan *s, unsigned depth)
{
	uint64_t v;
	uint8_t  c;
	size_t   at = s->off;
	cm_err   rv;

	if (++s->nodes > SVC_MP_NODES)
		return (cm_fail(s->d, CM_ETOOBIG,
		                "msgpack: more than %d values", SVC_MP_NODES));
	if ((rv = scan_need(s, 1, &v)) != CM_OK)
		return (rv);
	c = (uint8_t) v;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return (CM_OK);
	if (c >= 0x80 && c <= 0x8f)
		return (scan_items(s, 2 * (uint64_t) (c & 0x0f), depth));
	if (c >= 0x90 && c <= 0x9f)
		return (scan_items(s, c & 0x0f, depth));
	if (c >= 0xa0 && c <= 0xbf)
		return (scan_str(s, c & 0x1f, true));
	switch (c) {
	case 0xc4:
	case 0xc5:
	case 0xc6:
		if ((rv = scan_need(s, (size_t) 1 << (c - 0xc4), &v)) != CM_OK)
			return (rv);
		return (scan_str(s, v, false));
	case 0xd9:
	case 0xda:
	case 0xdb:
		if ((rv = scan_need(s, (size_t) 1 << (c - 0xd9), &v)) != CM_OK)
			return (rv);
		return (scan_str(s, v, true));
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		return (scan_need(s, (size_t) 1 << (c - 0xcc), &v));
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return (scan_need(s, (size_t) 1 << (c - 0xd0), &v));
	case 0xdc:
	case 0xdd:
		if ((rv = scan_need(s, c == 0xdc ? 2 : 4, &v)) != CM_OK)
			return (rv);
		return (scan_items(s, v, depth));
	case 0xde:
	case 0xdf:
		if ((rv = scan_need(s, c == 0xde ? 2 : 4, &v)) != CM_OK)
			return (rv);
		return (scan_items(s, 2 * v, depth));
	case 0xca:
	case 0xcb:
		return (cm_fail(s->d, CM_EPROTO,
		                "msgpack: a float at byte %zu (none are used)",
		                at));
	default: /* 0xc1, the ext and fixext types */
		return (
		    cm_fail(s->d, CM_EPROTO,
		            "msgpack: type byte 0x%02x at byte %zu is not used",
		            c, at));
	}
}

/* ---- msgpack-c objects into svc_val nodes ---- */

typedef struct conv {
	svc_val *nodes;
	size_t   n, cap;
	cm_diag *d;
} conv;

static cm_err
conv_obj(conv *c, const msgpack_object *o, svc_val *out)
{
	svc_val *kids;
	size_t   k;
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		out->type = SVC_NIL;
		return (CM_OK);
	case MSGPACK_OBJECT_BOOLEAN:
		out->type = SVC_BOOL;
		out->b = o->via.boolean;
		return (CM_OK);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		out->type = SVC_UINT;
		out->u = o->via.u64;
		return (CM_OK);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		out->type = SVC_INT;
		out->i = o->via.i64;
		return (CM_OK);
	case MSGPACK_OBJECT_STR:
		out->type = SVC_STR;
		out->s = CM_BYTES(o->via.str.ptr, o->via.str.size);
		return (CM_OK);
	case MSGPACK_OBJECT_BIN:
		out->type = SVC_BIN;
		out->s = CM_BYTES(o->via.bin.ptr, o->via.bin.size);
		return (CM_OK);
	case MSGPACK_OBJECT_ARRAY:
		out->type = SVC_ARRAY;
		out->n = o->via.array.size;
		k = out->n;
		break;
	case MSGPACK_OBJECT_MAP:
		out->type = SVC_MAP;
		out->n = o->via.map.size;
		k = 2 * out->n;
		break;
	default: /* the scan refused every other type */
		return (cm_fail(c->d, CM_EPROTO, "msgpack: unexpected type"));
	}
	if (CM_NEVER(k > c->cap - c->n))
		return (cm_fail(c->d, CM_ETOOBIG, "msgpack: too many values"));
	kids = c->nodes + c->n;
	c->n += k;
	out->v = kids;
	for (size_t i = 0; i < out->n; i++) {
		if (out->type == SVC_ARRAY) {
			rv = conv_obj(c, &o->via.array.ptr[i], &kids[i]);
			if (rv != CM_OK)
				return (rv);
			continue;
		}
		if ((rv = conv_obj(c, &o->via.map.ptr[i].key, &kids[2 * i])) !=
		        CM_OK ||
		    (rv = conv_obj(c, &o->via.map.ptr[i].val,
		                   &kids[2 * i + 1])) != CM_OK)
			return (rv);
		if (kids[2 * i].type != SVC_STR)
			return (cm_fail(c->d, CM_EPROTO,
			                "msgpack: a map key is not a string"));
		for (size_t j = 0; j < i; j++)
			if (cm_bytes_eq(kids[2 * j].s, kids[2 * i].s))
				return (
				    cm_fail(c->d, CM_EPROTO,
				            "msgpack: a map repeats a key"));
	}
	return (CM_OK);
}

cm_err
svc_mp_decode(cm_bytes in, svc_doc *out, cm_diag *d)
{
	scan                  s = {in.p, in.len, 0, 0, d};
	msgpack_unpacked     *u = NULL;
	conv                  c = {0};
	size_t                off = 0;
	msgpack_unpack_return r;
	cm_err                rv;

	memset(out, 0, sizeof(*out));
	if (in.len == 0)
		return (cm_fail(d, CM_EPROTO, "msgpack: empty message"));
	if ((rv = scan_item(&s, 0)) != CM_OK)
		return (rv);
	if (s.off != in.len)
		return (cm_fail(d, CM_EPROTO,
		                "msgpack: %zu bytes after the value",
		                in.len - s.off));
	/* Top-level array elements' ends (a request's MAC covers some). */
	if (in.p[0] >= 0x90 && in.p[0] <= 0x98) {
		scan e = {in.p, in.len, 1, 0, NULL};

		for (unsigned i = 0; i < (in.p[0] & 0x0f); i++) {
			if (scan_item(&e, 1) != CM_OK)
				return (cm_fail(d, CM_EPROTO, "msgpack: bad"));
			out->ends[out->n_ends++] = e.off;
		}
	}
	if ((u = cm_calloc(1, sizeof(*u))) == NULL ||
	    (c.nodes = cm_calloc(s.nodes, sizeof(*c.nodes))) == NULL) {
		cm_free(u);
		return (CM_ENOMEM);
	}
	c.cap = s.nodes;
	c.n = 1;
	c.d = d;
	msgpack_unpacked_init(u);
	r = msgpack_unpack_next(u, (const char *) in.p, in.len, &off);
	if (r == MSGPACK_UNPACK_NOMEM_ERROR)
		rv = CM_ENOMEM;
	else if (r != MSGPACK_UNPACK_SUCCESS || off != in.len)
		rv = cm_fail(d, CM_EPROTO, "msgpack: does not decode");
	else
		rv = conv_obj(&c, &u->data, &c.nodes[0]);
	out->nodes = c.nodes;
	out->nnodes = c.n;
	out->root = &c.nodes[0];
	out->mp = u;
	if (rv != CM_OK)
		svc_doc_fini(out);
	return (rv);
}

void
svc_doc_fini(svc_doc *doc)
{
	if (doc->mp != NULL) {
		msgpack_unpacked_destroy(doc->mp);
		cm_free(doc->mp);
	}
	cm_free(doc->nodes);
	memset(doc, 0, sizeof(*doc));
}

const svc_val *
svc_map_get(const svc_val *map, const char *key)
{
	if (map == NULL || map->type != SVC_MAP)
		return (NULL);
	for (size_t i = 0; i < map->n; i++)
		if (cm_bytes_eq_str(map->v[2 * i].s, key))
			return (&map->v[2 * i + 1]);
	return (NULL);
}

/* ---- the writer ---- */

static int
wr_cb(void *data, const char *buf, size_t len)
{
	svc_mp_wr *w = data;

	if (len == 0)
		return (0);
	if (w->err == CM_OK)
		w->err = cm_buf_append(w->out, buf, len);
	return (w->err == CM_OK ? 0 : -1);
}

#define PK(w, call)                                                            \
	do {                                                                   \
		msgpack_packer pk_;                                            \
		msgpack_packer_init(&pk_, (w), wr_cb);                         \
		(void) call;                                                   \
	} while (0)

void
svc_mp_init(svc_mp_wr *w, cm_buf *out)
{
	w->out = out;
	w->err = CM_OK;
}

void
svc_mp_nil(svc_mp_wr *w)
{
	PK(w, msgpack_pack_nil(&pk_));
}

void
svc_mp_bool(svc_mp_wr *w, bool v)
{
	if (v)
		PK(w, msgpack_pack_true(&pk_));
	else
		PK(w, msgpack_pack_false(&pk_));
}

void
svc_mp_uint(svc_mp_wr *w, uint64_t v)
{
	PK(w, msgpack_pack_uint64(&pk_, v));
}

void
svc_mp_int(svc_mp_wr *w, int64_t v)
{
	PK(w, msgpack_pack_int64(&pk_, v));
}

void
svc_mp_str(svc_mp_wr *w, cm_bytes s)
{
	PK(w, msgpack_pack_str_with_body(&pk_, s.p, s.len));
}

void
svc_mp_cstr(svc_mp_wr *w, const char *s)
{
	svc_mp_str(w, CM_BYTES(s, strlen(s)));
}

void
svc_mp_bin(svc_mp_wr *w, cm_bytes b)
{
	PK(w, msgpack_pack_bin_with_body(&pk_, b.p, b.len));
}

void
svc_mp_array(svc_mp_wr *w, size_t n)
{
	PK(w, msgpack_pack_array(&pk_, n));
}

void
svc_mp_map(svc_mp_wr *w, size_t n)
{
	PK(w, msgpack_pack_map(&pk_, n));
}

void
svc_mp_raw(svc_mp_wr *w, cm_bytes item)
{
	if (w->err == CM_OK)
		w->err = cm_buf_append(w->out, item.p, item.len);
}

cm_err
svc_mp_end(svc_mp_wr *w)
{
	return (w->err);
}
