/* SPDX-License-Identifier: MIT */
/* services/svc_session.c -- sessions: the handshake (ephemeral X25519 keys
 * both ways, the client's Ed25519 signature over the transcript, HKDF into
 * one key per direction), stateless expiring server nonces (the server's
 * ephemeral key is derived from the nonce, so nothing is kept between
 * hello and session), the session table, and each request's admission:
 * MAC, sliding replay window with cached answers, the key's status.
 * Cheap checks come before the one signature check, and only
 * max_handshakes of those run at once.  docs/protocol.md section 6. */
#include "services/svc_impl.h"

#include <stdio.h>
#include <string.h>

#define SESS_BUCKETS 1024
/* Answers larger than this are not kept for resends (a resend of such a
 * request runs again; every operation may be repeated). */
#define CACHE_MAX (1u << 20)

typedef struct slot {
	uint64_t counter; /* 0: empty */
	uint8_t  req_hash[CM_HASH_LEN];
	cm_buf   resp; /* empty while the first answer is being made */
} slot;

struct svc_session {
	svc_sess_keys keys;
	uint8_t       kid[CM_KEYID_LEN];
	uint64_t      expires_ms;
	uint64_t      top; /* the highest counter admitted */
	slot          win[SVC_WINDOW];
	svc_session  *next;
};

static unsigned
bucket_of(const uint8_t sid[SVC_SID_LEN])
{
	return ((unsigned) (sid[0] | sid[1] << 8) % SESS_BUCKETS);
}

static void
sess_free(svc_session *s)
{
	for (size_t i = 0; i < SVC_WINDOW; i++)
		cm_buf_fini(&s->win[i].resp);
	cm_wipe(s, sizeof(*s));
	cm_free(s);
}

cm_err
svc_sessions_init(svc_server *sv)
{
	pthread_mutex_init(&sv->smu, NULL);
	sv->buckets = cm_calloc(SESS_BUCKETS, sizeof(*sv->buckets));
	return (sv->buckets ? CM_OK : CM_ENOMEM);
}

void
svc_sessions_fini(svc_server *sv)
{
	if (sv->buckets != NULL)
		for (size_t i = 0; i < SESS_BUCKETS; i++)
			while (sv->buckets[i] != NULL) {
				svc_session *s = sv->buckets[i];

				sv->buckets[i] = s->next;
				sess_free(s);
			}
	cm_free(sv->buckets);
	sv->buckets = NULL;
	pthread_mutex_destroy(&sv->smu);
}

/* Locked.  The session, or NULL; *link its link for removal. */
static svc_session *
sess_find(svc_server *sv, const uint8_t sid[SVC_SID_LEN], svc_session ***link)
{
	svc_session **l = &sv->buckets[bucket_of(sid)];

	for (; *l != NULL; l = &(*l)->next)
		if (memcmp((*l)->keys.sid, sid, SVC_SID_LEN) == 0) {
			if (link != NULL)
				*link = l;
			return (*l);
		}
	return (NULL);
}

static void
sess_unlink(svc_server *sv, svc_session **link)
{
	svc_session *s = *link;

	*link = s->next;
	sv->nsessions--;
	sess_free(s);
}

/* Locked: drops every expired session. */
static void
sess_sweep(svc_server *sv, uint64_t now)
{
	for (size_t i = 0; i < SESS_BUCKETS; i++) {
		svc_session **l = &sv->buckets[i];

		while (*l != NULL)
			if ((*l)->expires_ms <= now)
				sess_unlink(sv, l);
			else
				l = &(*l)->next;
	}
}

/* ---- the transcript and the keys ---- */

cm_err
svc_transcript(const char *origin, const uint8_t kid[CM_KEYID_LEN],
               const uint8_t nonce[SVC_NONCE_LEN],
               const uint8_t cepk[CM_X25519_LEN],
               const uint8_t sepk[CM_X25519_LEN], uint64_t lifetime,
               cm_buf *out)
{
	svc_mp_wr w;

	cm_buf_reset(out);
	svc_mp_init(&w, out);
	svc_mp_array(&w, 6);
	svc_mp_cstr(&w, origin);
	svc_mp_bin(&w, CM_BYTES(kid, CM_KEYID_LEN));
	svc_mp_bin(&w, CM_BYTES(nonce, SVC_NONCE_LEN));
	svc_mp_bin(&w, CM_BYTES(cepk, CM_X25519_LEN));
	svc_mp_bin(&w, CM_BYTES(sepk, CM_X25519_LEN));
	svc_mp_uint(&w, lifetime);
	return (svc_mp_end(&w));
}

static cm_err
hkdf_dir(const char *label, const uint8_t th[CM_HASH_LEN],
         const uint8_t nonce[SVC_NONCE_LEN], const uint8_t shared[32],
         uint8_t out[CM_HASH_LEN])
{
	uint8_t info[32 + CM_HASH_LEN];
	size_t  n = strlen(label) + 1;

	memcpy(info, label, n);
	memcpy(info + n, th, CM_HASH_LEN);
	return (cm_hkdf_sha256(CM_BYTES(nonce, SVC_NONCE_LEN),
	                       CM_BYTES(shared, 32), CM_BYTES(info, n + 32),
	                       out, CM_HASH_LEN));
}

cm_err
svc_sess_derive(const uint8_t own[CM_X25519_LEN],
                const uint8_t peer[CM_X25519_LEN],
                const uint8_t nonce[SVC_NONCE_LEN], cm_bytes transcript,
                const uint8_t sig[CM_SIG_LEN], svc_sess_keys *out)
{
	static const char idl[] = "tally/v1/session-id";
	uint8_t  shared[CM_X25519_LEN], th[CM_HASH_LEN], id[CM_HASH_LEN];
	cm_bytes parts[3];
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	if ((rv = cm_x25519_shared(own, peer, shared)) != CM_OK)
		return (rv);
	cm_sha256(transcript.p, transcript.len, th);
	parts[0] = CM_BYTES(idl, sizeof(idl)); /* with its 0x00 */
	parts[1] = transcript;
	parts[2] = CM_BYTES(sig, CM_SIG_LEN);
	cm_sha256_parts(parts, 3, id);
	memcpy(out->sid, id, SVC_SID_LEN);
	if ((rv = hkdf_dir("tally/v1/c2s", th, nonce, shared, out->c2s)) ==
	    CM_OK)
		rv = hkdf_dir("tally/v1/s2c", th, nonce, shared, out->s2c);
	cm_wipe(shared, sizeof(shared));
	return (rv);
}

/* ---- nonces ---- */

/* The tag of nonce bytes [0, 24) for kid and the client's key. */
static void
nonce_tag(const svc_server *sv, const uint8_t *n24,
          const uint8_t kid[CM_KEYID_LEN], const uint8_t cepk[CM_X25519_LEN],
          uint8_t out[16])
{
	static const char l[] = "tally/v1/nonce";
	uint8_t           m[sizeof(l) + 24 + CM_KEYID_LEN + CM_X25519_LEN];
	uint8_t           h[CM_HASH_LEN];
	size_t            o = 0;

	memcpy(m, l, sizeof(l));
	o += sizeof(l);
	memcpy(m + o, n24, 24);
	o += 24;
	memcpy(m + o, kid, CM_KEYID_LEN);
	o += CM_KEYID_LEN;
	memcpy(m + o, cepk, CM_X25519_LEN);
	o += CM_X25519_LEN;
	cm_hmac_sha256(CM_BYTES(sv->secret, sizeof(sv->secret)), CM_BYTES(m, o),
	               h);
	memcpy(out, h, 16);
}

/* The server's ephemeral private key for a nonce. */
static void
nonce_priv(const svc_server *sv, const uint8_t nonce[SVC_NONCE_LEN],
           uint8_t out[CM_X25519_LEN])
{
	static const char l[] = "tally/v1/ephemeral";
	uint8_t           m[sizeof(l) + SVC_NONCE_LEN];

	memcpy(m, l, sizeof(l));
	memcpy(m + sizeof(l), nonce, SVC_NONCE_LEN);
	cm_hmac_sha256(CM_BYTES(sv->secret, sizeof(sv->secret)),
	               CM_BYTES(m, sizeof(m)), out);
}

static bool
get_fixed(svc_job *j, const char *name, size_t len, uint8_t *out, svc_out *o)
{
	const svc_val *v = svc_map_get(j->req.args, name);

	if (v == NULL || v->type != SVC_BIN || v->s.len != len) {
		svc_out_fail(o, SVC_EREQUEST, CM_EPROTO,
		             "argument \"%s\" must be %zu bytes (bin)", name,
		             len);
		return (false);
	}
	memcpy(out, v->s.p, len);
	return (true);
}

/* The key's identity, which must be active.  false: o says why. */
static bool
key_active(svc_server *sv, const uint8_t kid[CM_KEYID_LEN], ldg_identity *id,
           svc_out *o)
{
	ldg_txn *t = NULL;
	cm_err   rv;

	if ((rv = ldg_read_begin(sv->s, &t)) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, rv, "cannot read the ledger");
		return (false);
	}
	rv = ldg_identity_get(t, kid, id);
	ldg_txn_end(t);
	if (rv == CM_ENOTFOUND) {
		svc_out_fail(o, SVC_EAUTH, CM_EUNKNOWNKEY,
		             "unknown key: no identity has this key ID");
		return (false);
	}
	if (rv != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, rv, "%s", cm_strerror(rv));
		return (false);
	}
	if (id->end_index != 0) {
		svc_out_fail(o, SVC_EAUTH, CM_EKEYREVOKED,
		             "key not active: %s at leaf %llu",
		             id->end_reason[0] ? id->end_reason : "ended",
		             (unsigned long long) id->end_index);
		return (false);
	}
	return (true);
}

static void
who_set(svc_job *j, const ldg_identity *id)
{
	j->who = *id;
	j->has_who = true;
	snprintf(j->who_text, sizeof(j->who_text), "%s/%02x%02x%02x%02x",
	         id->role == LDG_ROLE_OPERATOR ? "operator" : id->uscc,
	         id->key_id[0], id->key_id[1], id->key_id[2], id->key_id[3]);
}

void
svc_op_hello(svc_job *j, svc_out *o)
{
	svc_server  *sv = j->sv;
	uint8_t      kid[CM_KEYID_LEN], cepk[CM_X25519_LEN];
	uint8_t      nonce[SVC_NONCE_LEN], priv[CM_X25519_LEN], sepk[32];
	uint64_t     now = cm_now_ms();
	ldg_identity id;
	svc_mp_wr    w;

	if (!get_fixed(j, "kid", CM_KEYID_LEN, kid, o) ||
	    !get_fixed(j, "epk", CM_X25519_LEN, cepk, o) ||
	    !key_active(sv, kid, &id, o))
		return;
	who_set(j, &id);
	cm_put_u64be(nonce, now);
	if (cm_random(nonce + 8, 16) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, CM_ECRYPTO, "no randomness");
		return;
	}
	nonce_tag(sv, nonce, kid, cepk, nonce + 24);
	nonce_priv(sv, nonce, priv);
	if (cm_x25519_public(priv, sepk) != CM_OK) {
		cm_wipe(priv, sizeof(priv));
		svc_out_fail(o, SVC_EINTERNAL, CM_ECRYPTO, "X25519 failed");
		return;
	}
	cm_wipe(priv, sizeof(priv));
	svc_mp_init(&w, &o->result);
	svc_mp_map(&w, 3);
	svc_mp_cstr(&w, "nonce");
	svc_mp_bin(&w, CM_BYTES(nonce, SVC_NONCE_LEN));
	svc_mp_cstr(&w, "epk");
	svc_mp_bin(&w, CM_BYTES(sepk, CM_X25519_LEN));
	svc_mp_cstr(&w, "expires");
	svc_mp_uint(&w, now + SVC_NONCE_TTL_MS);
	if (svc_mp_end(&w) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, CM_ENOMEM, "out of memory");
		return;
	}
	o->status = SVC_OK;
	snprintf(o->message, sizeof(o->message), "sign the transcript");
}

void
svc_op_session(svc_job *j, svc_out *o)
{
	svc_server    *sv = j->sv;
	uint8_t        kid[CM_KEYID_LEN], cepk[32], sepk[32], want[32];
	uint8_t        nonce[SVC_NONCE_LEN], tag[16], priv[32], sig[CM_SIG_LEN];
	uint64_t       now = cm_now_ms(), ts, life;
	ldg_identity   id;
	svc_sess_keys  keys;
	svc_session   *s;
	cm_buf         tr = {0};
	svc_mp_wr      w;
	const svc_val *lv = svc_map_get(j->req.args, "lifetime");
	cm_err         rv;

	if (!get_fixed(j, "kid", CM_KEYID_LEN, kid, o) ||
	    !get_fixed(j, "epk", 32, cepk, o) ||
	    !get_fixed(j, "nonce", SVC_NONCE_LEN, nonce, o) ||
	    !get_fixed(j, "sepk", 32, sepk, o) ||
	    !get_fixed(j, "sig", CM_SIG_LEN, sig, o))
		return;
	if (lv == NULL || lv->type != SVC_UINT || lv->u == 0 ||
	    lv->u > SVC_LIFETIME_MAX) {
		svc_out_fail(o, SVC_EREQUEST, CM_EPROTO,
		             "argument \"lifetime\" must be 1..%d seconds",
		             SVC_LIFETIME_MAX);
		return;
	}
	life = lv->u;
	/* Cheap checks first: the nonce is ours, for this key and client
	 * key, and fresh; the server key is the nonce's. */
	nonce_tag(sv, nonce, kid, cepk, tag);
	if (!cm_ct_eq(tag, nonce + 24, 16)) {
		svc_out_fail(o, SVC_EAUTH, CM_EVERIFY,
		             "the nonce is not one this server gave for this "
		             "key and client key");
		return;
	}
	ts = cm_get_u64be(nonce);
	if (ts > now + 1000 || now - ts > SVC_NONCE_TTL_MS) {
		svc_out_fail(o, SVC_EAUTH, CM_ETIME,
		             "the nonce has expired (it is good for %d s): "
		             "say hello again",
		             SVC_NONCE_TTL_MS / 1000);
		return;
	}
	nonce_priv(sv, nonce, priv);
	if (cm_x25519_public(priv, want) != CM_OK ||
	    !cm_ct_eq(want, sepk, 32)) {
		cm_wipe(priv, sizeof(priv));
		svc_out_fail(o, SVC_EAUTH, CM_EVERIFY,
		             "sepk is not the key this server gave with the "
		             "nonce");
		return;
	}
	if (!key_active(sv, kid, &id, o)) {
		cm_wipe(priv, sizeof(priv));
		return;
	}
	who_set(j, &id);
	pthread_mutex_lock(&sv->smu);
	if (sv->nsessions >= sv->o.max_sessions)
		sess_sweep(sv, now);
	if (sv->nsessions >= sv->o.max_sessions ||
	    sv->handshakes >= sv->o.max_handshakes) {
		bool full = sv->nsessions >= sv->o.max_sessions;

		pthread_mutex_unlock(&sv->smu);
		cm_wipe(priv, sizeof(priv));
		svc_out_fail(o, SVC_EBUSY, CM_EBUSY,
		             full ? "too many sessions (%u): try later"
		                  : "too many handshakes at once (%u): try "
		                    "later",
		             full ? sv->o.max_sessions : sv->o.max_handshakes);
		return;
	}
	sv->handshakes++;
	pthread_mutex_unlock(&sv->smu);
	/* The one expensive check. */
	rv = svc_transcript(sv->origin, kid, nonce, cepk, sepk, life, &tr);
	if (rv == CM_OK)
		rv = cm_verify(id.pub, "session", cm_buf_bytes(&tr), sig);
	if (rv == CM_OK)
		rv = svc_sess_derive(priv, cepk, nonce, cm_buf_bytes(&tr), sig,
		                     &keys);
	cm_wipe(priv, sizeof(priv));
	cm_buf_fini(&tr);
	pthread_mutex_lock(&sv->smu);
	sv->handshakes--;
	if (rv != CM_OK) {
		pthread_mutex_unlock(&sv->smu);
		svc_out_fail(o, SVC_EAUTH, rv,
		             rv == CM_EBADSIG
		                 ? "the transcript's signature does not verify "
		                   "with this key"
		                 : "cannot derive the session keys (%s)",
		             cm_strerror(rv));
		return;
	}
	/* The same transcript again (a resend) finds its session. */
	if ((s = sess_find(sv, keys.sid, NULL)) == NULL) {
		if ((s = cm_calloc(1, sizeof(*s))) == NULL) {
			pthread_mutex_unlock(&sv->smu);
			svc_out_fail(o, SVC_EINTERNAL, CM_ENOMEM,
			             "out of memory");
			return;
		}
		s->keys = keys;
		memcpy(s->kid, kid, CM_KEYID_LEN);
		s->expires_ms = now + life * 1000;
		s->next = sv->buckets[bucket_of(keys.sid)];
		sv->buckets[bucket_of(keys.sid)] = s;
		sv->nsessions++;
	}
	now = s->expires_ms;
	pthread_mutex_unlock(&sv->smu);
	svc_mp_init(&w, &o->result);
	svc_mp_map(&w, 2);
	svc_mp_cstr(&w, "sid");
	svc_mp_bin(&w, CM_BYTES(keys.sid, SVC_SID_LEN));
	cm_wipe(&keys, sizeof(keys));
	svc_mp_cstr(&w, "expires");
	svc_mp_uint(&w, now);
	if (svc_mp_end(&w) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, CM_ENOMEM, "out of memory");
		return;
	}
	o->status = SVC_OK;
	snprintf(o->message, sizeof(o->message), "session open");
}

/* ---- admitting a session's request ---- */

bool
svc_session_admit(svc_job *j, svc_out *o, bool *cached)
{
	svc_server  *sv = j->sv;
	svc_session *s, **link;
	uint8_t      mac[SVC_MAC_LEN], h[CM_HASH_LEN];
	uint64_t     c = j->req.counter, now = cm_now_ms();
	ldg_identity id;
	slot        *sl;

	*cached = false;
	cm_sha256(j->msg.p, j->msg.len, h);
	pthread_mutex_lock(&sv->smu);
	if ((s = sess_find(sv, j->req.sid, &link)) == NULL) {
		pthread_mutex_unlock(&sv->smu);
		svc_out_fail(o, SVC_EAUTH, CM_ENOTFOUND,
		             "unknown session (expired, ended, or from before "
		             "a restart): open a new one");
		return (false);
	}
	if (s->expires_ms <= now) {
		sess_unlink(sv, link);
		pthread_mutex_unlock(&sv->smu);
		svc_out_fail(o, SVC_EAUTH, CM_ETIME,
		             "the session has expired: open a new one");
		return (false);
	}
	svc_req_mac(s->keys.c2s, j->req.maced, mac);
	if (!cm_ct_eq(mac, j->req.mac, SVC_MAC_LEN)) {
		pthread_mutex_unlock(&sv->smu);
		svc_out_fail(o, SVC_EAUTH, CM_EVERIFY,
		             "the request's MAC does not match the session");
		return (false);
	}
	if (c + SVC_WINDOW <= s->top) {
		uint64_t top = s->top;

		pthread_mutex_unlock(&sv->smu);
		svc_out_fail(o, SVC_EAUTH, CM_ESEQCONFLICT,
		             "counter %llu is older than the replay window "
		             "(the last is %llu, the window %d)",
		             (unsigned long long) c, (unsigned long long) top,
		             SVC_WINDOW);
		return (false);
	}
	sl = &s->win[c % SVC_WINDOW];
	if (sl->counter == c) {
		if (memcmp(sl->req_hash, h, CM_HASH_LEN) != 0) {
			pthread_mutex_unlock(&sv->smu);
			svc_out_fail(o, SVC_EAUTH, CM_ESEQCONFLICT,
			             "counter %llu was used by another request",
			             (unsigned long long) c);
			return (false);
		}
		if (sl->resp.len > 0) {
			/* A byte-identical resend: its answer again. */
			cm_buf_reset(&o->result);
			o->status = SVC_OK;
			if (cm_buf_append(&o->result, sl->resp.p,
			                  sl->resp.len) == CM_OK) {
				*cached = true;
				pthread_mutex_unlock(&sv->smu);
				return (false);
			}
		}
		/* Its first answer is still being made (or was not kept):
		 * run it again; every operation may be repeated. */
	} else {
		sl->counter = c;
		memcpy(sl->req_hash, h, CM_HASH_LEN);
		cm_buf_reset(&sl->resp);
		if (c > s->top)
			s->top = c;
	}
	j->keys = s->keys;
	memcpy(j->kid, s->kid, CM_KEYID_LEN);
	pthread_mutex_unlock(&sv->smu);
	/* The key's status now: a rotation or revocation ends the session
	 * from its commit on. */
	if (!key_active(sv, j->kid, &id, o)) {
		pthread_mutex_lock(&sv->smu);
		if ((s = sess_find(sv, j->req.sid, &link)) != NULL)
			sess_unlink(sv, link);
		pthread_mutex_unlock(&sv->smu);
		snprintf(o->message + strlen(o->message),
		         sizeof(o->message) - strlen(o->message),
		         "; the session has ended");
		cm_wipe(&j->keys, sizeof(j->keys));
		return (false);
	}
	who_set(j, &id);
	j->sess = true; /* its answers are MACed */
	return (true);
}

void
svc_session_cache(svc_job *j, cm_bytes framed)
{
	svc_server  *sv = j->sv;
	svc_session *s;
	uint8_t      h[CM_HASH_LEN];
	slot        *sl;

	if (framed.len > CACHE_MAX)
		return;
	cm_sha256(j->msg.p, j->msg.len, h);
	pthread_mutex_lock(&sv->smu);
	/* Looked up again: the session may have ended meanwhile. */
	if ((s = sess_find(sv, j->req.sid, NULL)) != NULL) {
		sl = &s->win[j->req.counter % SVC_WINDOW];
		if (sl->counter == j->req.counter &&
		    memcmp(sl->req_hash, h, CM_HASH_LEN) == 0 &&
		    sl->resp.len == 0)
			(void) cm_buf_append(&sl->resp, framed.p, framed.len);
	}
	pthread_mutex_unlock(&sv->smu);
}
