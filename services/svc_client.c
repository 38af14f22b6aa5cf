/* SPDX-License-Identifier: MIT */
/* services/svc_client.c -- the client side of the protocol, for `tally
 * --connect`: a REQ connection, the session handshake with the caller's
 * Ed25519 key and a fresh X25519 key, and calls whose answers are checked
 * (in a session: the counter and the MAC; an answer without a MAC is only
 * taken as a failure).  docs/protocol.md sections 5 and 6. */
#include "services/svc.h"

#include <stdio.h>
#include <string.h>

#define CALL_TIMEOUT_MS 120000
#define RESEND_MS 5000

struct svc_client {
	svc_conn     *conn;
	char          origin[LDG_ORIGIN_MAX + 1];
	bool          session;
	svc_sess_keys keys;
	cm_buf        req;
};

static cm_err
call_raw(svc_client *c, const char *op, cm_bytes args, bool sess, cm_buf *raw,
         svc_resp *out, cm_diag *d)
{
	uint8_t mac[SVC_MAC_LEN], want[SVC_MAC_LEN];
	cm_err  rv;

	memset(out, 0, sizeof(*out));
	if (sess)
		c->keys.counter++;
	rv = svc_req_encode(&c->req, sess ? &c->keys : NULL, c->keys.counter,
	                    op, args, mac);
	if (rv != CM_OK)
		return (rv);
	if ((rv = svc_conn_call(c->conn, cm_buf_bytes(&c->req), raw, d)) !=
	    CM_OK)
		return (rv);
	if ((rv = svc_resp_decode(cm_buf_bytes(raw), out, d)) != CM_OK)
		return (cm_fail(d, CM_EPROTO, "the server's answer: %s",
		                d ? d->msg : "malformed"));
	if (!sess)
		return (CM_OK);
	if (!out->session) {
		/* Unauthenticated: believable only as a refusal. */
		if (out->status != SVC_OK)
			return (CM_OK);
		svc_resp_fini(out);
		return (cm_fail(d, CM_EVERIFY,
		                "the server's answer carries no MAC: not "
		                "trusted"));
	}
	svc_resp_mac(c->keys.s2c, c->keys.sid, c->keys.counter, mac, out->maced,
	             want);
	if (out->counter != c->keys.counter ||
	    !cm_ct_eq(want, out->mac, SVC_MAC_LEN)) {
		svc_resp_fini(out);
		return (cm_fail(d, CM_EVERIFY,
		                "the server's answer does not match its MAC "
		                "(tampered with, or not from this session)"));
	}
	return (CM_OK);
}

cm_err
svc_client_call(svc_client *c, const char *op, cm_bytes args, cm_buf *raw,
                svc_resp *out, cm_diag *d)
{
	return (call_raw(c, op, args, c->session, raw, out, d));
}

const char *
svc_client_origin(const svc_client *c)
{
	return (c->origin);
}

static const uint8_t empty_map[] = {0x80};

cm_err
svc_client_open(const char *url, svc_client **out, cm_diag *d)
{
	svc_client    *c;
	cm_buf         raw = {0};
	svc_resp       r;
	const svc_val *note;
	ldg_checkpoint cp;
	cm_err         rv;

	*out = NULL;
	if ((c = cm_calloc(1, sizeof(*c))) == NULL)
		return (CM_ENOMEM);
	rv = svc_conn_open(url, CALL_TIMEOUT_MS, RESEND_MS, &c->conn, d);
	if (rv != CM_OK)
		goto fail;
	/* The log's origin, which a session's transcript names. */
	rv = call_raw(c, "checkpoint", CM_BYTES(empty_map, 1), false, &raw, &r,
	              d);
	if (rv != CM_OK)
		goto fail;
	note = svc_map_get(r.result, "note");
	if (r.status != SVC_OK || note == NULL || note->type != SVC_STR ||
	    ldg_checkpoint_parse(note->s, &cp, NULL) != CM_OK) {
		rv = cm_fail(d, CM_EPROTO,
		             "%s: the server gave no checkpoint (%.*s)", url,
		             (int) r.message.len, (const char *) r.message.p);
		svc_resp_fini(&r);
		goto fail;
	}
	snprintf(c->origin, sizeof(c->origin), "%s", cp.origin);
	svc_resp_fini(&r);
	cm_buf_fini(&raw);
	*out = c;
	return (CM_OK);
fail:
	cm_buf_fini(&raw);
	svc_client_close(c);
	return (rv);
}

static cm_err
get_bin(const svc_resp *r, const char *name, size_t len, uint8_t *out,
        cm_diag *d)
{
	const svc_val *v = svc_map_get(r->result, name);

	if (v == NULL || v->type != SVC_BIN || v->s.len != len)
		return (cm_fail(d, CM_EPROTO, "the server's answer has no %s",
		                name));
	memcpy(out, v->s.p, len);
	return (CM_OK);
}

cm_err
svc_client_login(svc_client *c, const cm_key *k, uint64_t lifetime, cm_diag *d)
{
	uint8_t       priv[32], cepk[32], sepk[32], pub[CM_PUBKEY_LEN];
	uint8_t       kid[CM_KEYID_LEN], nonce[SVC_NONCE_LEN], sig[CM_SIG_LEN];
	uint8_t       sid[SVC_SID_LEN];
	svc_sess_keys keys;
	cm_buf        args = {0}, raw = {0}, tr = {0};
	svc_mp_wr     w;
	svc_resp      r = {0};
	cm_err        rv;

	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	if ((rv = cm_random(priv, sizeof(priv))) != CM_OK ||
	    (rv = cm_x25519_public(priv, cepk)) != CM_OK)
		goto out;
	svc_mp_init(&w, &args);
	svc_mp_map(&w, 2);
	svc_mp_cstr(&w, "kid");
	svc_mp_bin(&w, CM_BYTES(kid, CM_KEYID_LEN));
	svc_mp_cstr(&w, "epk");
	svc_mp_bin(&w, CM_BYTES(cepk, 32));
	if ((rv = svc_mp_end(&w)) != CM_OK ||
	    (rv = call_raw(c, "hello", cm_buf_bytes(&args), false, &raw, &r,
	                   d)) != CM_OK)
		goto out;
	if (r.status != SVC_OK) {
		rv = cm_fail(d, CM_EDENIED, "%.*s", (int) r.message.len,
		             (const char *) r.message.p);
		goto out;
	}
	if ((rv = get_bin(&r, "nonce", SVC_NONCE_LEN, nonce, d)) != CM_OK ||
	    (rv = get_bin(&r, "epk", 32, sepk, d)) != CM_OK)
		goto out;
	svc_resp_fini(&r);
	if ((rv = svc_transcript(c->origin, kid, nonce, cepk, sepk, lifetime,
	                         &tr)) != CM_OK ||
	    (rv = cm_sign(k, "session", cm_buf_bytes(&tr), sig)) != CM_OK)
		goto out;
	cm_buf_reset(&args);
	svc_mp_init(&w, &args);
	svc_mp_map(&w, 6);
	svc_mp_cstr(&w, "kid");
	svc_mp_bin(&w, CM_BYTES(kid, CM_KEYID_LEN));
	svc_mp_cstr(&w, "epk");
	svc_mp_bin(&w, CM_BYTES(cepk, 32));
	svc_mp_cstr(&w, "nonce");
	svc_mp_bin(&w, CM_BYTES(nonce, SVC_NONCE_LEN));
	svc_mp_cstr(&w, "sepk");
	svc_mp_bin(&w, CM_BYTES(sepk, 32));
	svc_mp_cstr(&w, "lifetime");
	svc_mp_uint(&w, lifetime);
	svc_mp_cstr(&w, "sig");
	svc_mp_bin(&w, CM_BYTES(sig, CM_SIG_LEN));
	if ((rv = svc_mp_end(&w)) != CM_OK ||
	    (rv = call_raw(c, "session", cm_buf_bytes(&args), false, &raw, &r,
	                   d)) != CM_OK)
		goto out;
	if (r.status != SVC_OK) {
		rv = cm_fail(d, CM_EDENIED, "%.*s", (int) r.message.len,
		             (const char *) r.message.p);
		goto out;
	}
	if ((rv = get_bin(&r, "sid", SVC_SID_LEN, sid, d)) != CM_OK ||
	    (rv = svc_sess_derive(priv, sepk, nonce, cm_buf_bytes(&tr), sig,
	                          &keys)) != CM_OK)
		goto out;
	if (memcmp(sid, keys.sid, SVC_SID_LEN) != 0) {
		rv = cm_fail(d, CM_EVERIFY,
		             "the server's session ID is not the one the "
		             "transcript gives");
		goto out;
	}
	c->keys = keys;
	c->keys.counter = 0;
	c->session = true;
out:
	svc_resp_fini(&r);
	cm_wipe(priv, sizeof(priv));
	cm_wipe(&keys, sizeof(keys));
	cm_buf_fini(&args);
	cm_buf_fini(&raw);
	cm_buf_fini(&tr);
	return (rv);
}

void
svc_client_close(svc_client *c)
{
	if (c == NULL)
		return;
	svc_conn_close(c->conn);
	cm_buf_fini(&c->req);
	cm_wipe(&c->keys, sizeof(c->keys));
	cm_free(c);
}
