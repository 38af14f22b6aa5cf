/* SPDX-License-Identifier: MIT */
/* services/svc_server.c -- the server's threads: the transport's callback
 * queues each request for a pool of workers (queries run on read
 * transactions in parallel; a submission is prepared there, signature
 * included), and one writer gathers the submissions waiting at that moment
 * into one durable commit (group commit), each key's batches in sequence
 * order, answering each submitter only after that commit.  Shutdown drains:
 * no new requests, every one in flight answered.  docs/protocol.md. */
#include "services/svc_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Batches per group commit at most (a group takes what is waiting). */
#define GROUP_MAX 1024

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

void
svc_out_fail(svc_out *o, unsigned status, cm_err code, const char *fmt, ...)
{
	va_list   ap;
	svc_mp_wr w;

	o->status = status;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	cm_buf_reset(&o->result);
	if (code == CM_OK)
		return;
	svc_mp_init(&w, &o->result);
	svc_mp_map(&w, 1);
	svc_mp_cstr(&w, "code");
	svc_mp_cstr(&w, cm_errname(code));
	if (svc_mp_end(&w) != CM_OK)
		cm_buf_reset(&o->result);
}

void
svc_out_refuse(svc_out *o, cm_err code, const cm_diag *d)
{
	svc_mp_wr w;

	o->status = SVC_EREFUSED;
	snprintf(o->message, sizeof(o->message), "%s%s%s", cm_strerror(code),
	         d->msg[0] ? ": " : "", d->msg);
	cm_buf_reset(&o->result);
	svc_mp_init(&w, &o->result);
	svc_mp_map(&w, 2);
	svc_mp_cstr(&w, "code");
	svc_mp_cstr(&w, cm_errname(code));
	svc_mp_cstr(&w, "detail");
	svc_mp_cstr(&w, d->msg);
	if (svc_mp_end(&w) != CM_OK)
		cm_buf_reset(&o->result);
}

static void
log_line(svc_job *j, unsigned status)
{
	svc_server *sv = j->sv;
	char        line[256], op[SVC_OP_MAX + 1] = "-";
	uint64_t    us = (mono_ns() - j->t0_ns) / 1000;

	if (sv->o.log == NULL)
		return;
	if (j->decoded) {
		/* Operation names are checked text; show only safe bytes. */
		size_t n =
		    j->req.op.len < SVC_OP_MAX ? j->req.op.len : SVC_OP_MAX;

		for (size_t i = 0; i < n; i++) {
			uint8_t c = j->req.op.p[i];

			op[i] = (c > 0x20 && c < 0x7f) ? (char) c : '?';
		}
		op[n] = '\0';
	}
	snprintf(line, sizeof(line), "%s %s %s %llu us",
	         j->who_text[0] ? j->who_text : "-", op,
	         svc_status_name(status), (unsigned long long) us);
	sv->o.log(sv->o.log_arg, line);
}

static void
job_free(svc_job *j)
{
	ldg_prepared_free(j->prep);
	svc_req_fini(&j->req);
	cm_wipe(&j->keys, sizeof(j->keys));
	cm_free(j);
}

/* Frames o (MACed in a session), answers, logs, frees j. */
void
svc_job_answer(svc_job *j, svc_out *o)
{
	cm_buf resp = {0};
	bool   sess = j->sess;
	cm_err rv;

	rv = svc_resp_encode(&resp, o->status, o->message,
	                     cm_buf_bytes(&o->result), sess ? &j->keys : NULL,
	                     j->req.counter, j->req.mac);
	if (rv != CM_OK) {
		o->status = SVC_EINTERNAL;
		(void) svc_resp_encode(&resp, SVC_EINTERNAL, "out of memory",
		                       CM_BYTES(NULL, 0), NULL, 0, NULL);
	}
	if (sess && rv == CM_OK)
		svc_session_cache(j, cm_buf_bytes(&resp));
	log_line(j, o->status);
	svc_tp_reply(j->ctx, cm_buf_bytes(&resp));
	cm_buf_fini(&resp);
	job_free(j);
}

/* Runs one request on a worker thread. */
static void
job_run(svc_job *j)
{
	svc_out o = {0};
	cm_diag d;
	cm_err  rv;
	bool    cached = false;

	cm_diag_clear(&d);
	rv = svc_req_decode(j->msg, &j->req, &d);
	if (rv != CM_OK) {
		svc_out_fail(&o, SVC_EREQUEST, rv, "%s", d.msg);
		goto answer;
	}
	j->decoded = true;
	if (j->req.session && !svc_session_admit(j, &o, &cached)) {
		if (cached) {
			/* A byte-identical resend: the answer it had. */
			log_line(j, o.status);
			svc_tp_reply(j->ctx, cm_buf_bytes(&o.result));
			cm_buf_fini(&o.result);
			job_free(j);
			return;
		}
		goto answer;
	}
	if (svc_ops_run(j, &o)) {
		cm_buf_fini(&o.result);
		return; /* the writer answers */
	}
answer:
	svc_job_answer(j, &o);
	cm_buf_fini(&o.result);
}

static void *
worker_main(void *arg)
{
	svc_server *sv = arg;

	pthread_mutex_lock(&sv->mu);
	for (;;) {
		svc_job *j;

		while (sv->work_head == NULL && !sv->stopping)
			pthread_cond_wait(&sv->work_cv, &sv->mu);
		if ((j = sv->work_head) == NULL)
			break; /* stopping, nothing left */
		sv->work_head = j->next;
		if (sv->work_head == NULL)
			sv->work_tail = NULL;
		pthread_mutex_unlock(&sv->mu);
		job_run(j);
		pthread_mutex_lock(&sv->mu);
	}
	pthread_mutex_unlock(&sv->mu);
	return (NULL);
}

/* The transport's callback, on nng's thread: queue and return. */
static void
on_request(void *arg, svc_tp_ctx *c, cm_bytes msg)
{
	svc_server *sv = arg;
	svc_job    *j = cm_calloc(1, sizeof(*j));

	if (j == NULL) {
		svc_tp_reply(c, CM_BYTES(NULL, 0)); /* the REQ side resends */
		return;
	}
	j->sv = sv;
	j->ctx = c;
	j->msg = msg;
	j->t0_ns = mono_ns();
	pthread_mutex_lock(&sv->mu);
	if (sv->work_tail != NULL)
		sv->work_tail->next = j;
	else
		sv->work_head = j;
	sv->work_tail = j;
	pthread_cond_signal(&sv->work_cv);
	pthread_mutex_unlock(&sv->mu);
}

/* ---- the writer ---- */

void
svc_writer_push(svc_server *sv, svc_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&sv->mu);
	if (sv->write_tail != NULL)
		sv->write_tail->next = j;
	else
		sv->write_head = j;
	sv->write_tail = j;
	pthread_cond_signal(&sv->write_cv);
	pthread_mutex_unlock(&sv->mu);
}

/* Each key's batches in sequence order; otherwise arrival order. */
static int
job_cmp(const void *a, const void *b)
{
	const svc_job *x = *(svc_job *const *) a, *y = *(svc_job *const *) b;
	int            c = memcmp(x->kid, y->kid, CM_KEYID_LEN);

	if (c != 0)
		return (c);
	if (x->seq != y->seq)
		return (x->seq < y->seq ? -1 : 1);
	return (x->order < y->order ? -1 : x->order > y->order);
}

static void
group_commit(svc_server *sv, svc_job **g, size_t n)
{
	ldg_prepared **p = cm_calloc(n, sizeof(*p));
	ldg_receipt   *rc = cm_calloc(n, sizeof(*rc));
	cm_err        *st = cm_calloc(n, sizeof(*st));
	cm_diag       *dg = cm_calloc(n, sizeof(*dg));
	cm_err         rv = CM_ENOMEM;

	for (size_t i = 0; i < n; i++)
		g[i]->order = i;
	qsort(g, n, sizeof(*g), job_cmp);
	if (p != NULL && rc != NULL && st != NULL && dg != NULL) {
		for (size_t i = 0; i < n; i++)
			p[i] = g[i]->prep;
		rv = ldg_append_prepared(sv->s, p, n, cm_now_ms(), rc, st, dg);
	}
	for (size_t i = 0; i < n; i++) {
		svc_out   o = {0};
		svc_mp_wr w;

		if (rv != CM_OK) {
			svc_out_fail(&o, SVC_EINTERNAL, rv,
			             "the commit failed (%s): nothing was "
			             "appended; submit again",
			             cm_strerror(rv));
		} else if (st[i] != CM_OK && st[i] != CM_EDUPLICATE) {
			svc_out_refuse(&o, st[i], &dg[i]);
		} else {
			o.status = SVC_OK;
			snprintf(o.message, sizeof(o.message), "%s",
			         rc[i].already ? "already accepted"
			                       : "accepted");
			svc_mp_init(&w, &o.result);
			svc_receipt_write(&w, &rc[i]);
			if (svc_mp_end(&w) != CM_OK)
				svc_out_fail(&o, SVC_EINTERNAL, CM_ENOMEM,
				             "accepted, but out of memory for "
				             "the receipt; resend for it");
		}
		if (rc != NULL)
			ldg_receipt_fini(&rc[i]);
		svc_job_answer(g[i], &o);
		cm_buf_fini(&o.result);
	}
	cm_free(p);
	cm_free(rc);
	cm_free(st);
	cm_free(dg);
}

static void *
writer_main(void *arg)
{
	svc_server *sv = arg;
	svc_job    *g[GROUP_MAX];

	pthread_mutex_lock(&sv->mu);
	for (;;) {
		size_t n = 0;

		while (sv->write_head == NULL && !sv->stopping)
			pthread_cond_wait(&sv->write_cv, &sv->mu);
		if (sv->write_head == NULL)
			break;
		while (sv->write_head != NULL && n < GROUP_MAX) {
			g[n++] = sv->write_head;
			sv->write_head = sv->write_head->next;
		}
		if (sv->write_head == NULL)
			sv->write_tail = NULL;
		pthread_mutex_unlock(&sv->mu);
		group_commit(sv, g, n);
		pthread_mutex_lock(&sv->mu);
	}
	pthread_mutex_unlock(&sv->mu);
	return (NULL);
}

/* ---- start and stop ---- */

cm_err
svc_server_start(ldg_store *s, const svc_opts *o, svc_server **out, cm_diag *d)
{
	svc_server *sv;
	ldg_params  p;
	cm_err      rv;

	*out = NULL;
	if (o->nlisten == 0 || o->nlisten > SVC_LISTEN_MAX)
		return (cm_fail(d, CM_EINVAL, "give 1..%d listeners",
		                SVC_LISTEN_MAX));
	for (size_t i = 0; i < o->nlisten; i++)
		if ((rv = svc_tp_url_check(o->listen[i], o->insecure, d)) !=
		    CM_OK)
			return (rv);
	if (!ldg_writable(s))
		return (cm_fail(d, CM_EREADONLY,
		                "the ledger is read-only here (no checkpoint "
		                "key): tallyd needs to write it"));
	if ((sv = cm_calloc(1, sizeof(*sv))) == NULL)
		return (CM_ENOMEM);
	sv->s = s;
	sv->o = *o;
	if (sv->o.contexts == 0)
		sv->o.contexts = 64;
	if (sv->o.workers == 0)
		sv->o.workers = 4;
	if (sv->o.max_sessions == 0)
		sv->o.max_sessions = 4096;
	if (sv->o.max_handshakes == 0)
		sv->o.max_handshakes = 8;
	snprintf(sv->origin, sizeof(sv->origin), "%s", ldg_origin(s));
	pthread_mutex_init(&sv->mu, NULL);
	pthread_cond_init(&sv->work_cv, NULL);
	pthread_cond_init(&sv->write_cv, NULL);
	pthread_cond_init(&sv->idle_cv, NULL);
	if ((rv = cm_random(sv->secret, sizeof(sv->secret))) != CM_OK ||
	    (rv = svc_sessions_init(sv)) != CM_OK)
		goto fail;
	if ((sv->workers = cm_calloc(sv->o.workers, sizeof(pthread_t))) ==
	    NULL) {
		rv = CM_ENOMEM;
		goto fail;
	}
	for (; sv->nworkers < sv->o.workers; sv->nworkers++)
		if (pthread_create(&sv->workers[sv->nworkers], NULL,
		                   worker_main, sv) != 0) {
			rv = cm_fail(d, CM_ENOMEM, "cannot start a thread");
			goto fail;
		}
	if (pthread_create(&sv->writer, NULL, writer_main, sv) != 0) {
		rv = cm_fail(d, CM_ENOMEM, "cannot start a thread");
		goto fail;
	}
	sv->writer_started = true;
	ldg_get_params(s, &p);
	rv = svc_tp_open(o->listen, o->nlisten,
	                 (size_t) p.max_batch_bytes + SVC_OVERHEAD,
	                 sv->o.contexts, on_request, sv, &sv->tp, d);
	if (rv != CM_OK)
		goto fail;
	*out = sv;
	return (CM_OK);
fail:
	svc_server_stop(sv);
	return (rv);
}

void
svc_server_stop(svc_server *sv)
{
	if (sv == NULL)
		return;
	/* Stop receiving; every request held is answered (submissions by
	 * the writer, after their commit) before drain returns. */
	if (sv->tp != NULL)
		svc_tp_drain(sv->tp);
	pthread_mutex_lock(&sv->mu);
	sv->stopping = true;
	pthread_cond_broadcast(&sv->work_cv);
	pthread_cond_broadcast(&sv->write_cv);
	pthread_mutex_unlock(&sv->mu);
	for (unsigned i = 0; i < sv->nworkers; i++)
		pthread_join(sv->workers[i], NULL);
	if (sv->writer_started)
		pthread_join(sv->writer, NULL);
	/* Closing after the answers were queued: nng sends what it holds
	 * before the socket goes, as far as the peers still listen. */
	svc_tp_close(sv->tp);
	svc_sessions_fini(sv);
	pthread_mutex_destroy(&sv->mu);
	pthread_cond_destroy(&sv->work_cv);
	pthread_cond_destroy(&sv->write_cv);
	pthread_cond_destroy(&sv->idle_cv);
	cm_wipe(sv->secret, sizeof(sv->secret));
	cm_free(sv->workers);
	cm_free(sv);
}
