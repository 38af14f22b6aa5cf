/* SPDX-License-Identifier: MIT */
/* services/svc.h -- the service: tallyd's protocol (msgpack requests and
 * responses over nng REQ/REP, docs/protocol.md), its sessions, the server
 * (many REP contexts, worker threads for queries, one writer doing group
 * commit) and the client the `tally --connect` commands use.  Services
 * reach the ledger through ledger/ldg.h only.  nng is included by
 * services/svc_nng.c alone, msgpack-c by services/svc_msgpack.c alone.
 * Locking: a svc_server is driven by its own threads; a svc_client is used
 * by one thread at a time. */
#ifndef SERVICES_SVC_H
#define SERVICES_SVC_H

#include "ledger/ldg.h"

/* ==== msgpack values (services/svc_msgpack.c) ===========================
 * A decoded message is a tree of svc_val; strings and binaries are borrowed
 * from the input, which must outlive the svc_doc.  Decoding is bounded
 * before msgpack-c sees the bytes: nesting depth <= SVC_MP_DEPTH, at most
 * SVC_MP_NODES values in all, every length and count within the input;
 * floats and extension types are refused, strings must be Tally text
 * (UTF-8 without U+0000), map keys strings and unique. */
#define SVC_MP_DEPTH 8
#define SVC_MP_NODES 4096

typedef enum svc_type {
	SVC_NIL,
	SVC_BOOL,
	SVC_UINT, /* a non-negative integer */
	SVC_INT,  /* a negative integer */
	SVC_STR,
	SVC_BIN,
	SVC_ARRAY,
	SVC_MAP
} svc_type;

typedef struct svc_val svc_val;
struct svc_val {
	svc_type       type;
	bool           b;
	uint64_t       u;
	int64_t        i;
	cm_bytes       s; /* SVC_STR, SVC_BIN */
	size_t         n; /* SVC_ARRAY: items; SVC_MAP: pairs */
	const svc_val *v; /* SVC_ARRAY: n items; SVC_MAP: 2n, key then value */
};

typedef struct svc_doc {
	svc_val       *nodes; /* owned */
	size_t         nnodes;
	const svc_val *root;
	/* The end offset of each top-level array element (a request's MAC
	 * covers a prefix of them); n_ends elements. */
	size_t ends[8];
	size_t n_ends;
	void  *mp; /* msgpack-c's result, owned */
} svc_doc;

/* Decodes exactly one value filling in (no trailing bytes).  CM_EPROTO
 * (the diag says what and where), CM_ETOOBIG past the bounds above,
 * CM_ENOMEM.  On success *out is owned by the caller: svc_doc_fini. */
CM_MUST_CHECK cm_err svc_mp_decode(cm_bytes in, svc_doc *out, cm_diag *d);
void                 svc_doc_fini(svc_doc *doc); /* zeroed: no-op */
/* The value of key in map (compared byte for byte), or NULL. */
const svc_val *svc_map_get(const svc_val *map, const char *key);

/* A writer appending msgpack to a cm_buf.  Errors (CM_ENOMEM) are sticky
 * and returned by svc_mp_end.  Integers use the shortest form. */
typedef struct svc_mp_wr {
	cm_buf *out;
	cm_err  err;
} svc_mp_wr;
void svc_mp_init(svc_mp_wr *w, cm_buf *out);
void svc_mp_nil(svc_mp_wr *w);
void svc_mp_bool(svc_mp_wr *w, bool v);
void svc_mp_uint(svc_mp_wr *w, uint64_t v);
void svc_mp_int(svc_mp_wr *w, int64_t v);
void svc_mp_str(svc_mp_wr *w, cm_bytes s);
void svc_mp_cstr(svc_mp_wr *w, const char *s);
void svc_mp_bin(svc_mp_wr *w, cm_bytes b);
void svc_mp_array(svc_mp_wr *w, size_t n);
void svc_mp_map(svc_mp_wr *w, size_t n);
/* Appends bytes that already are one msgpack value. */
void                 svc_mp_raw(svc_mp_wr *w, cm_bytes item);
CM_MUST_CHECK cm_err svc_mp_end(svc_mp_wr *w);

/* ==== The protocol (services/svc_proto.c; docs/protocol.md) ==============
 * Request:  [version, op, args]                          (plain)
 *           [version, sid, counter, op, args, mac]       (in a session)
 * Response: [status, message, result]                    (plain)
 *           [status, message, result, counter, mac]      (in a session)
 * The top-level value is a fixarray (one byte 0x93, 0x96 or 0x95). */
#define SVC_VERSION 1
#define SVC_SID_LEN 16
#define SVC_MAC_LEN 32
#define SVC_OP_MAX 32 /* bytes of an operation name */

/* Status codes (docs/protocol.md section 4); the message says why, the
 * result of a failure is {"code": the CM_E* name} when there is one. */
#define SVC_STATUS(X)                                                          \
	X(SVC_OK, 0, "ok")                                                     \
	X(SVC_EREQUEST, 1, "bad request")                                      \
	X(SVC_EAUTH, 2, "not authenticated")                                   \
	X(SVC_EDENIED, 3, "not permitted")                                     \
	X(SVC_EREFUSED, 4, "refused")                                          \
	X(SVC_ENOTFOUND, 5, "not found")                                       \
	X(SVC_EBUSY, 6, "busy")                                                \
	X(SVC_ECLOSING, 7, "shutting down")                                    \
	X(SVC_EINTERNAL, 8, "internal error")
typedef enum svc_status {
#define SVC_ENUM(name, num, msg) name = num,
	SVC_STATUS(SVC_ENUM)
#undef SVC_ENUM
} svc_status;
const char *svc_status_name(unsigned s); /* "SVC_EAUTH"; "?" if unknown */

typedef struct svc_req {
	svc_doc        doc;
	uint64_t       version;
	cm_bytes       op;
	const svc_val *args; /* a map */
	bool           session;
	uint8_t        sid[SVC_SID_LEN];
	uint64_t       counter;
	uint8_t        mac[SVC_MAC_LEN];
	cm_bytes       maced; /* elements 0..4: what the MAC covers */
} svc_req;
/* Decodes a request (borrowing msg).  CM_EPROTO / CM_ETOOBIG with the
 * reason; an unknown version is CM_EPROTO ("version N not supported").
 * Owned by the caller: svc_req_fini. */
CM_MUST_CHECK cm_err svc_req_decode(cm_bytes msg, svc_req *out, cm_diag *d);
void                 svc_req_fini(svc_req *r);

typedef struct svc_resp {
	svc_doc        doc;
	uint64_t       status;
	cm_bytes       message;
	const svc_val *result;
	bool           session;
	uint64_t       counter;
	uint8_t        mac[SVC_MAC_LEN];
	cm_bytes       maced; /* elements 0..2 */
} svc_resp;
CM_MUST_CHECK cm_err svc_resp_decode(cm_bytes msg, svc_resp *out, cm_diag *d);
void                 svc_resp_fini(svc_resp *r);

/* The MACs (HMAC-SHA-256).  Request: key c2s over "tally/v1/request" 0x00
 * || maced.  Response: key s2c over "tally/v1/response" 0x00 || sid ||
 * counter (8 bytes big-endian) || the request's MAC || maced. */
void svc_req_mac(const uint8_t key[CM_HASH_LEN], cm_bytes maced,
                 uint8_t out[SVC_MAC_LEN]);
void svc_resp_mac(const uint8_t key[CM_HASH_LEN],
                  const uint8_t sid[SVC_SID_LEN], uint64_t counter,
                  const uint8_t req_mac[SVC_MAC_LEN], cm_bytes maced,
                  uint8_t out[SVC_MAC_LEN]);

/* Session keys, as both ends hold them. */
typedef struct svc_sess_keys {
	uint8_t  sid[SVC_SID_LEN];
	uint8_t  c2s[CM_HASH_LEN];
	uint8_t  s2c[CM_HASH_LEN];
	uint64_t counter; /* the client's last counter */
} svc_sess_keys;
/* Writes a request into out (reset first): args is one encoded msgpack
 * map.  sess NULL: plain; else with counter and its MAC (*out_mac, may be
 * NULL). */
cm_err svc_req_encode(cm_buf *out, const svc_sess_keys *sess, uint64_t counter,
                      const char *op, cm_bytes args, uint8_t *out_mac);
/* Writes a response into out (reset first): result is one encoded
 * msgpack value (empty: nil).  sess NULL: plain; else MACed for the
 * request with counter and req_mac. */
cm_err svc_resp_encode(cm_buf *out, unsigned status, const char *message,
                       cm_bytes result, const svc_sess_keys *sess,
                       uint64_t counter, const uint8_t *req_mac);

/* ==== The session handshake (services/svc_session.c) =====================
 * hello:   client -> {kid, epk}          server -> {nonce, epk, expires}
 * session: client -> {kid, epk, nonce, sepk, lifetime, sig}
 *          server -> {sid, expires}
 * The client signs, purpose "session", the transcript: the msgpack array
 * [origin, kid, nonce, client epk, server epk, lifetime]. */
#define SVC_NONCE_LEN 40          /* time 8 || random 16 || tag 16 */
#define SVC_NONCE_TTL_MS 30000    /* a nonce is good for 30 s */
#define SVC_LIFETIME_MAX 86400    /* seconds */
#define SVC_LIFETIME_DEFAULT 3600 /* seconds */
#define SVC_WINDOW 64             /* counters in the replay window */

cm_err svc_transcript(const char *origin, const uint8_t kid[CM_KEYID_LEN],
                      const uint8_t nonce[SVC_NONCE_LEN],
                      const uint8_t cepk[CM_X25519_LEN],
                      const uint8_t sepk[CM_X25519_LEN], uint64_t lifetime,
                      cm_buf *out);
/* The session keys both sides derive: shared = X25519(own, peer); sid =
 * SHA-256("tally/v1/session-id" 0x00 || transcript || sig)[:16]; c2s and
 * s2c = HKDF-SHA-256(salt nonce, ikm shared, info "tally/v1/c2s" or
 * "tally/v1/s2c" 0x00 || SHA-256(transcript)). */
cm_err svc_sess_derive(const uint8_t own[CM_X25519_LEN],
                       const uint8_t peer[CM_X25519_LEN],
                       const uint8_t nonce[SVC_NONCE_LEN], cm_bytes transcript,
                       const uint8_t sig[CM_SIG_LEN], svc_sess_keys *out);

/* ==== The server (services/svc_server.c) ================================= */
#define SVC_LISTEN_MAX 8
typedef struct svc_opts {
	const char *listen[SVC_LISTEN_MAX]; /* tcp://, ipc://, inproc:// */
	size_t      nlisten;
	bool        insecure;       /* allow a non-loopback tcp listener */
	unsigned    contexts;       /* REP contexts; 0: 64 */
	unsigned    workers;        /* query threads; 0: 4 */
	unsigned    max_sessions;   /* 0: 4096 */
	unsigned    max_handshakes; /* signature checks at once; 0: 8 */
	/* One line per request (identity, operation, status, duration);
	 * NULL: none. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
} svc_opts;

typedef struct svc_server svc_server;
/* The largest request the transport takes: the ledger's largest batch
 * plus SVC_OVERHEAD.  A bigger message makes nng drop the connection
 * (docs/protocol.md section 2). */
#define SVC_OVERHEAD 65536
/* Checks each listen URL (a tcp listener on a non-loopback address is
 * refused without insecure; tls+tcp:// is not supported yet), starts the
 * writer and the workers, then listens.  s must be writable and outlive
 * the server.  CM_EINVAL (a bad URL, with the reason), CM_EIO (cannot
 * listen), CM_ENOMEM.  Owned: svc_server_stop. */
cm_err svc_server_start(ldg_store *s, const svc_opts *o, svc_server **out,
                        cm_diag *d);
/* Stops accepting requests, finishes those in flight (the writer commits
 * what it holds and answers), then closes every listener and frees the
 * server.  NULL-safe. */
void svc_server_stop(svc_server *sv);

/* ==== The transport (services/svc_nng.c, the one file using nng) ========
 * A REP socket served by many contexts, each with its own asynchronous
 * receive and send; and the client's REQ socket. */
typedef struct svc_tp     svc_tp;
typedef struct svc_tp_ctx svc_tp_ctx;
/* Called on nng's thread when context c received msg (borrowed until
 * svc_tp_reply on c).  It must return quickly: hand the work on. */
typedef void (*svc_tp_fn)(void *arg, svc_tp_ctx *c, cm_bytes msg);
/* Checks a URL for listening: the scheme, and loopback for tcp unless
 * insecure.  CM_EINVAL with the reason. */
CM_MUST_CHECK cm_err svc_tp_url_check(const char *url, bool insecure,
                                      cm_diag *d);
cm_err svc_tp_open(const char *const *urls, size_t n, size_t recv_max,
                   unsigned ncontexts, svc_tp_fn fn, void *arg, svc_tp **out,
                   cm_diag *d);
/* Sends a copy of resp as c's answer and frees the request; c receives
 * again unless the transport is draining.  Any thread. */
void svc_tp_reply(svc_tp_ctx *c, cm_bytes resp);
/* Stops receiving: waiting receives are cancelled; returns once every
 * context has answered what it held. */
void svc_tp_drain(svc_tp *t);
void svc_tp_close(svc_tp *t); /* NULL-safe */

typedef struct svc_conn svc_conn;
/* A REQ socket dialled to url (retries resend a request after resend_ms;
 * a call gives up after timeout_ms).  CM_EIO with nng's reason. */
cm_err svc_conn_open(const char *url, unsigned timeout_ms, unsigned resend_ms,
                     svc_conn **out, cm_diag *d);
/* Sends req and replaces resp's contents with the answer. */
cm_err svc_conn_call(svc_conn *c, cm_bytes req, cm_buf *resp, cm_diag *d);
void   svc_conn_close(svc_conn *c); /* NULL-safe */

/* ==== The client (services/svc_client.c) ================================
 * What `tally --connect` uses: a connection, optionally a session opened
 * with an Ed25519 key, and calls whose responses are checked (the MAC of a
 * session's answer, its counter). */
typedef struct svc_client svc_client;
cm_err svc_client_open(const char *url, svc_client **out, cm_diag *d);
/* Opens a session with k (handshake above).  CM_EAUTH-like refusals come
 * back as CM_EDENIED with the server's message. */
cm_err svc_client_login(svc_client *c, const cm_key *k, uint64_t lifetime,
                        cm_diag *d);
void   svc_client_close(svc_client *c); /* NULL-safe */

/* A call: args is the encoded args map (one msgpack value).  On CM_OK
 * *out holds the checked response (svc_resp_fini); its status may be any.
 * CM_EVERIFY for an answer whose MAC or counter does not match, CM_EPROTO
 * for one that does not decode, CM_EIO for the transport. */
cm_err svc_client_call(svc_client *c, const char *op, cm_bytes args,
                       cm_buf *raw, svc_resp *out, cm_diag *d);
/* The origin the server's checkpoint names (read at open). */
const char *svc_client_origin(const svc_client *c);

#endif /* SERVICES_SVC_H */
