/* SPDX-License-Identifier: MIT */
/* services/svc_proto.c -- tallyd's framing: requests and responses as
 * msgpack arrays, plain or in a session (with a counter and an HMAC over
 * the exact bytes of the elements before it), their status codes.  The
 * decoders check shapes only; what an operation's arguments mean is the
 * server's.  docs/protocol.md sections 3-5. */
#include "services/svc.h"

#include <string.h>

const char *
svc_status_name(unsigned s)
{
	switch (s) {
#define SVC_NAME(name, num, msg)                                               \
	case num:                                                              \
		return (#name);
		SVC_STATUS(SVC_NAME)
#undef SVC_NAME
	}
	return ("?");
}

static cm_err
fixed(const svc_val *v, size_t len, uint8_t *out, const char *what, cm_diag *d)
{
	if (v->type != SVC_BIN || v->s.len != len)
		return (cm_fail(d, CM_EPROTO, "%s must be %zu bytes (bin)",
		                what, len));
	memcpy(out, v->s.p, len);
	return (CM_OK);
}

cm_err
svc_req_decode(cm_bytes msg, svc_req *out, cm_diag *d)
{
	const svc_val *a, *op;
	size_t         iop;
	cm_err         rv;

	memset(out, 0, sizeof(*out));
	if (msg.len == 0 || (msg.p[0] != 0x93 && msg.p[0] != 0x96))
		return (
		    cm_fail(d, CM_EPROTO,
		            "a request is a msgpack array of 3 or 6 elements "
		            "(first byte 0x93 or 0x96)"));
	if ((rv = svc_mp_decode(msg, &out->doc, d)) != CM_OK)
		return (rv);
	a = out->doc.root;
	if (a->v[0].type != SVC_UINT) {
		rv = cm_fail(d, CM_EPROTO, "the version is not an integer");
		goto fail;
	}
	out->version = a->v[0].u;
	if (out->version != SVC_VERSION) {
		rv = cm_fail(d, CM_EPROTO,
		             "protocol version %llu not supported "
		             "(this server speaks 1)",
		             (unsigned long long) out->version);
		goto fail;
	}
	out->session = a->n == 6;
	iop = out->session ? 3 : 1;
	op = &a->v[iop];
	if (op->type != SVC_STR || op->s.len == 0 || op->s.len > SVC_OP_MAX) {
		rv = cm_fail(d, CM_EPROTO,
		             "the operation is not a name of 1..%d "
		             "bytes",
		             SVC_OP_MAX);
		goto fail;
	}
	out->op = op->s;
	out->args = &a->v[iop + 1];
	if (out->args->type != SVC_MAP) {
		rv = cm_fail(d, CM_EPROTO, "the arguments are not a map");
		goto fail;
	}
	if (!out->session)
		return (CM_OK);
	if ((rv = fixed(&a->v[1], SVC_SID_LEN, out->sid, "the session ID",
	                d)) != CM_OK ||
	    (rv = fixed(&a->v[5], SVC_MAC_LEN, out->mac, "the MAC", d)) !=
	        CM_OK)
		goto fail;
	if (a->v[2].type != SVC_UINT || a->v[2].u == 0) {
		rv =
		    cm_fail(d, CM_EPROTO, "the counter is not an integer >= 1");
		goto fail;
	}
	out->counter = a->v[2].u;
	out->maced = CM_BYTES(msg.p + 1, out->doc.ends[4] - 1);
	return (CM_OK);
fail:
	svc_req_fini(out);
	return (rv);
}

void
svc_req_fini(svc_req *r)
{
	svc_doc_fini(&r->doc);
	memset(r, 0, sizeof(*r));
}

cm_err
svc_resp_decode(cm_bytes msg, svc_resp *out, cm_diag *d)
{
	const svc_val *a;
	cm_err         rv;

	memset(out, 0, sizeof(*out));
	if (msg.len == 0 || (msg.p[0] != 0x93 && msg.p[0] != 0x95))
		return (cm_fail(d, CM_EPROTO,
		                "a response is a msgpack array of 3 or 5 "
		                "elements"));
	if ((rv = svc_mp_decode(msg, &out->doc, d)) != CM_OK)
		return (rv);
	a = out->doc.root;
	if (a->v[0].type != SVC_UINT || a->v[1].type != SVC_STR) {
		rv = cm_fail(d, CM_EPROTO,
		             "a response starts with a status and "
		             "a message");
		goto fail;
	}
	out->status = a->v[0].u;
	out->message = a->v[1].s;
	out->result = &a->v[2];
	out->session = a->n == 5;
	if (!out->session)
		return (CM_OK);
	if (a->v[3].type != SVC_UINT) {
		rv = cm_fail(d, CM_EPROTO, "the counter is not an integer");
		goto fail;
	}
	out->counter = a->v[3].u;
	if ((rv = fixed(&a->v[4], SVC_MAC_LEN, out->mac, "the MAC", d)) !=
	    CM_OK)
		goto fail;
	out->maced = CM_BYTES(msg.p + 1, out->doc.ends[2] - 1);
	return (CM_OK);
fail:
	svc_resp_fini(out);
	return (rv);
}

void
svc_resp_fini(svc_resp *r)
{
	svc_doc_fini(&r->doc);
	memset(r, 0, sizeof(*r));
}

/* HMAC-SHA-256 over label 0x00 || the parts. */
static void
mac_parts(const uint8_t key[CM_HASH_LEN], const char *label,
          const cm_bytes *parts, size_t n, uint8_t out[SVC_MAC_LEN])
{
	cm_buf m = {0};
	bool   ok = cm_buf_append(&m, label, strlen(label) + 1) == CM_OK;

	for (size_t i = 0; ok && i < n; i++)
		ok = cm_buf_append(&m, parts[i].p, parts[i].len) == CM_OK;
	if (ok)
		cm_hmac_sha256(CM_BYTES(key, CM_HASH_LEN), cm_buf_bytes(&m),
		               out);
	else /* out of memory: a MAC that matches nothing */
		memset(out, 0, SVC_MAC_LEN);
	cm_buf_fini(&m);
}

void
svc_req_mac(const uint8_t key[CM_HASH_LEN], cm_bytes maced,
            uint8_t out[SVC_MAC_LEN])
{
	mac_parts(key, "tally/v1/request", &maced, 1, out);
}

void
svc_resp_mac(const uint8_t key[CM_HASH_LEN], const uint8_t sid[SVC_SID_LEN],
             uint64_t counter, const uint8_t req_mac[SVC_MAC_LEN],
             cm_bytes maced, uint8_t out[SVC_MAC_LEN])
{
	uint8_t  ctr[8];
	cm_bytes parts[4];

	cm_put_u64be(ctr, counter);
	parts[0] = CM_BYTES(sid, SVC_SID_LEN);
	parts[1] = CM_BYTES(ctr, 8);
	parts[2] = CM_BYTES(req_mac, SVC_MAC_LEN);
	parts[3] = maced;
	mac_parts(key, "tally/v1/response", parts, 4, out);
}

cm_err
svc_req_encode(cm_buf *out, const svc_sess_keys *sess, uint64_t counter,
               const char *op, cm_bytes args, uint8_t *out_mac)
{
	svc_mp_wr w;
	uint8_t   mac[SVC_MAC_LEN];
	cm_err    rv;

	cm_buf_reset(out);
	svc_mp_init(&w, out);
	svc_mp_array(&w, sess ? 6 : 3);
	svc_mp_uint(&w, SVC_VERSION);
	if (sess != NULL) {
		svc_mp_bin(&w, CM_BYTES(sess->sid, SVC_SID_LEN));
		svc_mp_uint(&w, counter);
	}
	svc_mp_cstr(&w, op);
	svc_mp_raw(&w, args);
	if ((rv = svc_mp_end(&w)) != CM_OK || sess == NULL)
		return (rv);
	svc_req_mac(sess->c2s, CM_BYTES(out->p + 1, out->len - 1), mac);
	svc_mp_bin(&w, CM_BYTES(mac, SVC_MAC_LEN));
	if (out_mac != NULL)
		memcpy(out_mac, mac, SVC_MAC_LEN);
	return (svc_mp_end(&w));
}

cm_err
svc_resp_encode(cm_buf *out, unsigned status, const char *message,
                cm_bytes result, const svc_sess_keys *sess, uint64_t counter,
                const uint8_t *req_mac)
{
	svc_mp_wr w;
	uint8_t   mac[SVC_MAC_LEN];
	cm_err    rv;

	cm_buf_reset(out);
	svc_mp_init(&w, out);
	svc_mp_array(&w, sess ? 5 : 3);
	svc_mp_uint(&w, status);
	svc_mp_cstr(&w, message);
	if (result.len == 0)
		svc_mp_nil(&w);
	else
		svc_mp_raw(&w, result);
	if ((rv = svc_mp_end(&w)) != CM_OK || sess == NULL)
		return (rv);
	svc_resp_mac(sess->s2c, sess->sid, counter, req_mac,
	             CM_BYTES(out->p + 1, out->len - 1), mac);
	svc_mp_uint(&w, counter);
	svc_mp_bin(&w, CM_BYTES(mac, SVC_MAC_LEN));
	return (svc_mp_end(&w));
}
