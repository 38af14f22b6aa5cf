/* SPDX-License-Identifier: MIT */
/* services/svc_nng.c -- the one file that includes nng: the server's REP
 * socket served by many contexts, each with its own asynchronous receive
 * and send (so a slow answer never holds up another), and the client's REQ
 * socket.  nng's error codes are mapped here and nowhere else.
 * docs/protocol.md section 2. */
#include "services/svc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static cm_err
err_from_nng(int e)
{
	switch (e) {
	case 0:
		return (CM_OK);
	case NNG_ENOMEM:
		return (CM_ENOMEM);
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
		return (CM_EINVAL);
	case NNG_ECLOSED:
		return (CM_ECLOSED);
	case NNG_EPERM:
		return (CM_EACCES);
	default:
		return (CM_EIO);
	}
}

/* ---- listening URLs ---- */

static bool
host_loopback(const char *h, size_t len)
{
	if (len == 9 && memcmp(h, "localhost", 9) == 0)
		return (true);
	if (len == 5 && memcmp(h, "[::1]", 5) == 0)
		return (true);
	/* 127.0.0.0/8, as dotted digits only. */
	if (len < 9 || memcmp(h, "127.", 4) != 0)
		return (false);
	for (size_t i = 4; i < len; i++)
		if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
			return (false);
	return (true);
}

cm_err
svc_tp_url_check(const char *url, bool insecure, cm_diag *d)
{
	const char *h, *colon;

	if (strncmp(url, "ipc://", 6) == 0 && url[6] != '\0')
		return (CM_OK);
	if (strncmp(url, "inproc://", 9) == 0 && url[9] != '\0')
		return (CM_OK);
	if (strncmp(url, "tls+tcp://", 10) == 0)
		return (
		    cm_fail(d, CM_EINVAL,
		            "%s: TLS listeners are not supported yet; use a "
		            "loopback tcp:// or an ipc:// listener",
		            url));
	if (strncmp(url, "tcp://", 6) != 0)
		return (cm_fail(d, CM_EINVAL,
		                "%s: give a tcp://HOST:PORT or ipc:///PATH URL",
		                url));
	h = url + 6;
	colon = strrchr(h, ':');
	if (colon == NULL || colon[1] == '\0')
		return (cm_fail(d, CM_EINVAL, "%s: no port", url));
	if (!insecure && !host_loopback(h, (size_t) (colon - h)))
		return (
		    cm_fail(d, CM_EINVAL,
		            "%s: not a loopback address, and requests would "
		            "cross the network unencrypted (TLS is not "
		            "supported yet); give --insecure to listen anyway",
		            url));
	return (CM_OK);
}

/* ---- the server's REP socket ---- */

enum { ST_RECV, ST_BUSY, ST_SEND, ST_IDLE };

struct svc_tp_ctx {
	svc_tp  *tp;
	nng_ctx  ctx;
	nng_aio *aio;
	nng_msg *msg; /* the request being answered */
	int      state;
};

struct svc_tp {
	nng_socket      sock;
	bool            open;
	svc_tp_ctx     *ctx;
	unsigned        n;
	svc_tp_fn       fn;
	void           *arg;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	bool            draining;
	unsigned        idle;
};

/* The context stops: counted idle, drain woken.  Called locked. */
static void
ctx_idle(svc_tp_ctx *c)
{
	c->state = ST_IDLE;
	c->tp->idle++;
	pthread_cond_broadcast(&c->tp->cv);
}

static void
ctx_cb(void *arg)
{
	svc_tp_ctx *c = arg;
	svc_tp     *t = c->tp;
	int         rv = nng_aio_result(c->aio);
	nng_msg    *m;

	pthread_mutex_lock(&t->mu);
	if (c->state == ST_SEND) {
		if (rv != 0) /* the peer left: the answer is dropped */
			nng_msg_free(nng_aio_get_msg(c->aio));
		if (t->draining) {
			ctx_idle(c);
		} else {
			c->state = ST_RECV;
			nng_ctx_recv(c->ctx, c->aio);
		}
		pthread_mutex_unlock(&t->mu);
		return;
	}
	if (rv != 0) {
		/* Cancelled by drain, the socket closed, or a receive error
		 * (which does not end the context: receive again). */
		if (t->draining || rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			ctx_idle(c);
		else
			nng_ctx_recv(c->ctx, c->aio);
		pthread_mutex_unlock(&t->mu);
		return;
	}
	m = nng_aio_get_msg(c->aio);
	c->msg = m;
	c->state = ST_BUSY;
	pthread_mutex_unlock(&t->mu);
	t->fn(t->arg, c, CM_BYTES(nng_msg_body(m), nng_msg_len(m)));
}

void
svc_tp_reply(svc_tp_ctx *c, cm_bytes resp)
{
	nng_msg *m = c->msg;

	c->msg = NULL;
	nng_msg_clear(m);
	if (nng_msg_append(m, resp.p, resp.len) != 0) {
		/* No memory for the answer: the client's REQ resends. */
		nng_msg_clear(m);
	}
	pthread_mutex_lock(&c->tp->mu);
	c->state = ST_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
	pthread_mutex_unlock(&c->tp->mu);
}

cm_err
svc_tp_open(const char *const *urls, size_t n, size_t recv_max,
            unsigned ncontexts, svc_tp_fn fn, void *arg, svc_tp **out,
            cm_diag *d)
{
	svc_tp *t;
	int     e;
	cm_err  rv = CM_OK;

	*out = NULL;
	if ((t = cm_calloc(1, sizeof(*t))) == NULL ||
	    (t->ctx = cm_calloc(ncontexts, sizeof(*t->ctx))) == NULL) {
		cm_free(t);
		return (CM_ENOMEM);
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->fn = fn;
	t->arg = arg;
	if ((e = nng_rep0_open(&t->sock)) != 0) {
		rv = cm_fail(d, err_from_nng(e), "cannot open a socket: %s",
		             nng_strerror(e));
		goto fail;
	}
	t->open = true;
	if ((e = nng_socket_set_size(t->sock, NNG_OPT_RECVMAXSZ, recv_max)) !=
	    0) {
		rv = cm_fail(d, err_from_nng(e), "recv-size-max: %s",
		             nng_strerror(e));
		goto fail;
	}
	for (unsigned i = 0; i < ncontexts; i++) {
		svc_tp_ctx *c = &t->ctx[i];

		c->tp = t;
		if ((e = nng_ctx_open(&c->ctx, t->sock)) != 0 ||
		    (e = nng_aio_alloc(&c->aio, ctx_cb, c)) != 0) {
			rv = cm_fail(d, err_from_nng(e),
			             "cannot open a context: %s",
			             nng_strerror(e));
			goto fail;
		}
		t->n++;
	}
	for (size_t i = 0; i < n; i++)
		if ((e = nng_listen(t->sock, urls[i], NULL, 0)) != 0) {
			rv = cm_fail(d,
			             err_from_nng(e) == CM_EINVAL ? CM_EINVAL
			                                          : CM_EIO,
			             "cannot listen on %s: %s", urls[i],
			             nng_strerror(e));
			goto fail;
		}
	pthread_mutex_lock(&t->mu);
	for (unsigned i = 0; i < t->n; i++) {
		t->ctx[i].state = ST_RECV;
		nng_ctx_recv(t->ctx[i].ctx, t->ctx[i].aio);
	}
	pthread_mutex_unlock(&t->mu);
	*out = t;
	return (CM_OK);
fail:
	for (unsigned i = 0; i < t->n; i++)
		t->ctx[i].state = ST_IDLE;
	svc_tp_close(t);
	return (rv);
}

void
svc_tp_drain(svc_tp *t)
{
	pthread_mutex_lock(&t->mu);
	t->draining = true;
	while (t->idle < t->n) {
		struct timespec ts;

		/* Cancel the waiting receives outside our lock (nng may run
		 * a callback that takes it), and again every 100 ms until
		 * every context has stopped. */
		for (unsigned i = 0; i < t->n; i++) {
			bool recv = t->ctx[i].state == ST_RECV;

			if (!recv)
				continue;
			pthread_mutex_unlock(&t->mu);
			nng_aio_cancel(t->ctx[i].aio);
			pthread_mutex_lock(&t->mu);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (t->idle < t->n)
			pthread_cond_timedwait(&t->cv, &t->mu, &ts);
	}
	pthread_mutex_unlock(&t->mu);
}

void
svc_tp_close(svc_tp *t)
{
	if (t == NULL)
		return;
	if (t->open)
		nng_close(t->sock);
	for (unsigned i = 0; i < t->n; i++) {
		nng_aio_free(t->ctx[i].aio);
		if (t->ctx[i].msg != NULL)
			nng_msg_free(t->ctx[i].msg);
	}
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	cm_free(t->ctx);
	cm_free(t);
}

/* ---- the client's REQ socket ---- */

struct svc_conn {
	nng_socket sock;
	char       url[256];
};

cm_err
svc_conn_open(const char *url, unsigned timeout_ms, unsigned resend_ms,
              svc_conn **out, cm_diag *d)
{
	svc_conn *c;
	int       e;

	*out = NULL;
	if ((c = cm_calloc(1, sizeof(*c))) == NULL)
		return (CM_ENOMEM);
	snprintf(c->url, sizeof(c->url), "%s", url);
	if ((e = nng_req0_open(&c->sock)) != 0) {
		cm_free(c);
		return (cm_fail(d, err_from_nng(e), "cannot open a socket: %s",
		                nng_strerror(e)));
	}
	if ((e = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
	                           (nng_duration) resend_ms)) != 0 ||
	    (e = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO,
	                           (nng_duration) timeout_ms)) != 0 ||
	    (e = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO,
	                           (nng_duration) timeout_ms)) != 0 ||
	    (e = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 0)) != 0 ||
	    (e = nng_dial(c->sock, url, NULL, 0)) != 0) {
		nng_close(c->sock);
		cm_free(c);
		return (cm_fail(
		    d, err_from_nng(e) == CM_EINVAL ? CM_EINVAL : CM_EIO,
		    "cannot connect to %s: %s", url, nng_strerror(e)));
	}
	*out = c;
	return (CM_OK);
}

cm_err
svc_conn_call(svc_conn *c, cm_bytes req, cm_buf *resp, cm_diag *d)
{
	void  *buf = NULL;
	size_t len = 0;
	int    e;
	cm_err rv;

	if ((e = nng_send(c->sock, (void *) (uintptr_t) req.p, req.len, 0)) !=
	        0 ||
	    (e = nng_recv(c->sock, &buf, &len, NNG_FLAG_ALLOC)) != 0)
		return (cm_fail(d, CM_EIO, "%s: %s", c->url,
		                e == NNG_ETIMEDOUT ? "no answer in time"
		                                   : nng_strerror(e)));
	cm_buf_reset(resp);
	rv = cm_buf_append(resp, buf, len);
	nng_free(buf, len);
	return (rv);
}

void
svc_conn_close(svc_conn *c)
{
	if (c == NULL)
		return;
	nng_close(c->sock);
	cm_free(c);
}
