/* SPDX-License-Identifier: MIT */
/* services/svc_impl.h -- the server's internals, shared by svc_server.c
 * (threads, queues, the writer), svc_session.c (handshakes, the session
 * table, replay windows) and svc_ops.c (the operations).  Not for other
 * modules. */
#ifndef SERVICES_SVC_IMPL_H
#define SERVICES_SVC_IMPL_H

#include "services/svc.h"

#include <pthread.h>

typedef struct svc_session svc_session;

/* One request, from its receipt to its answer. */
typedef struct svc_job {
	struct svc_server *sv;
	svc_tp_ctx        *ctx;
	cm_bytes           msg; /* borrowed from the transport until reply */
	uint64_t           t0_ns;
	svc_req            req;
	bool               decoded;
	/* In a session (admitted): its keys (copied) and identity. */
	bool          sess;
	svc_sess_keys keys;
	ldg_identity  who;
	bool          has_who;
	char          who_text[40]; /* for the log line */
	/* A submission on its way through the writer. */
	ldg_prepared   *prep;
	uint8_t         kid[CM_KEYID_LEN];
	uint64_t        seq;
	size_t          order;
	struct svc_job *next;
} svc_job;

/* The result of an operation, before framing. */
typedef struct svc_out {
	unsigned status;
	char     message[256];
	cm_buf   result; /* one msgpack value; empty: nil */
} svc_out;

struct svc_server {
	ldg_store *s;
	svc_opts   o;
	svc_tp    *tp;
	char       origin[LDG_ORIGIN_MAX + 1];
	uint8_t    secret[32]; /* nonces and the server's ephemeral keys */

	pthread_mutex_t mu;
	pthread_cond_t  work_cv, write_cv, idle_cv;
	svc_job        *work_head, *work_tail;   /* for the workers */
	svc_job        *write_head, *write_tail; /* for the writer */
	bool            stopping;
	pthread_t      *workers;
	unsigned        nworkers;
	pthread_t       writer;
	bool            writer_started;

	/* Sessions (svc_session.c). */
	pthread_mutex_t smu;
	svc_session   **buckets; /* SESS_BUCKETS chains, by session ID */
	unsigned        nsessions;
	unsigned        handshakes; /* signature checks running */
};

/* svc_server.c */
void svc_job_answer(svc_job *j, svc_out *o);
void svc_out_fail(svc_out *o, unsigned status, cm_err code, const char *fmt,
                  ...) CM_PRINTF(4, 5);
/* A refusal by the ledger: SVC_EREFUSED, the message "<strerror>: <why>",
 * the result {"code": name, "detail": why}. */
void svc_out_refuse(svc_out *o, cm_err code, const cm_diag *d);
/* Hands a prepared submission to the writer (which answers it). */
void svc_writer_push(svc_server *sv, svc_job *j);

/* svc_ops.c: runs j's operation; true when it was handed on (a
 * submission: the writer answers), else o holds the answer. */
bool svc_ops_run(svc_job *j, svc_out *o);
/* The receipt of an accepted batch as a result map. */
void svc_receipt_write(svc_mp_wr *w, const ldg_receipt *r);

/* svc_session.c */
cm_err svc_sessions_init(svc_server *sv);
void   svc_sessions_fini(svc_server *sv);
void   svc_op_hello(svc_job *j, svc_out *o);
void   svc_op_session(svc_job *j, svc_out *o);
/* A session request: checks the session, its MAC, counter and key.  true
 * when the job goes on (j->keys, j->who set); false when o holds the
 * answer (a refusal, or the cached answer of a byte-identical resend, then
 * *cached is true and o->result is the whole framed answer). */
bool svc_session_admit(svc_job *j, svc_out *o, bool *cached);
/* Stores the framed answer for a byte-identical resend. */
void svc_session_cache(svc_job *j, cm_bytes framed);

#endif /* SERVICES_SVC_IMPL_H */
