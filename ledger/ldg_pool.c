/* SPDX-License-Identifier: MIT */
/* ledger/ldg_pool.c -- a few worker threads for the append path.
 *
 * The append path splits two kinds of work into chunks: the checks of a
 * batch that need no ledger state (canonical form, record decoding, record
 * hashes, the header signature) and, inside the write transaction, the
 * building and hashing of record leaves.  A job runs a function over chunks
 * 0..n-1 on the workers and on the calling thread together; the caller can
 * wait for one chunk at a time (ldg_par_need), so it consumes chunks in
 * order while later ones are still being built.
 *
 * One job at a time per pool: a second caller (another thread preparing a
 * batch while the writer builds leaves) runs its job inline instead of
 * waiting.  Chunks are coarse (tens of microseconds or more), so one mutex
 * guards the job; nothing here is lock-free. */
#include "ledger/ldg_impl.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct ldg_pool {
	pthread_mutex_t mu;
	pthread_cond_t  work_cv; /* a job has chunks left, or stop */
	pthread_cond_t  done_cv; /* a chunk finished */
	pthread_mutex_t owner;   /* held by the thread that runs a job */
	pthread_t      *threads;
	unsigned        nthreads;
	bool            stop;
	/* The current job (under mu). */
	ldg_chunk_fn fn;
	void        *arg;
	size_t       n, next;
	uint8_t     *done;
};

static void *
worker_main(void *arg)
{
	ldg_pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t c;

		while (!p->stop && p->next >= p->n)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		c = p->next++;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->arg, c);
		pthread_mutex_lock(&p->mu);
		p->done[c] = 1;
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return (NULL);
}

unsigned
ldg_pool_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	return (n > 8 ? 8 : (unsigned) n);
}

cm_err
ldg_pool_new(unsigned threads, ldg_pool **out)
{
	ldg_pool *p;

	*out = NULL;
	if (threads <= 1)
		return (CM_OK); /* no pool: every job runs inline */
	if ((p = cm_calloc(1, sizeof(*p))) == NULL)
		return (CM_ENOMEM);
	if ((p->threads = cm_calloc(threads - 1, sizeof(pthread_t))) == NULL) {
		cm_free(p);
		return (CM_ENOMEM);
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->owner, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	for (unsigned i = 0; i < threads - 1; i++) {
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
			break;
		p->nthreads++;
	}
	if (p->nthreads == 0) {
		ldg_pool_free(p);
		return (CM_OK);
	}
	*out = p;
	return (CM_OK);
}

void
ldg_pool_free(ldg_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->owner);
	pthread_mutex_destroy(&p->mu);
	cm_free(p->threads);
	cm_free(p);
}

void
ldg_par_begin(ldg_par *j, ldg_pool *p, size_t n, ldg_chunk_fn fn, void *arg)
{
	memset(j, 0, sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	j->n = n;
	/* One chunk gains nothing from a hand-off; a busy pool or no memory
	 * for the flags means inline. */
	if (p == NULL || n < 2 || pthread_mutex_trylock(&p->owner) != 0)
		return;
	if ((j->done = cm_calloc(n, 1)) == NULL) {
		pthread_mutex_unlock(&p->owner);
		return;
	}
	j->pool = p;
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->next = 0;
	p->done = j->done;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
}

void
ldg_par_need(ldg_par *j, size_t c)
{
	ldg_pool *p = j->pool;

	if (c >= j->n)
		return;
	if (p == NULL) {
		for (; j->inline_next <= c; j->inline_next++)
			j->fn(j->arg, j->inline_next);
		return;
	}
	pthread_mutex_lock(&p->mu);
	while (!j->done[c]) {
		if (p->next < p->n) {
			/* Help rather than wait: run the next unclaimed one. */
			size_t k = p->next++;

			pthread_mutex_unlock(&p->mu);
			j->fn(j->arg, k);
			pthread_mutex_lock(&p->mu);
			j->done[k] = 1;
			continue;
		}
		pthread_cond_wait(&p->done_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

void
ldg_par_end(ldg_par *j)
{
	ldg_pool *p = j->pool;

	for (size_t c = 0; c < j->n; c++)
		ldg_par_need(j, c);
	if (p == NULL)
		return;
	/* Every chunk is done, so no worker is inside fn: retire the job. */
	pthread_mutex_lock(&p->mu);
	p->fn = NULL;
	p->arg = NULL;
	p->n = p->next = 0;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->owner);
	cm_free(j->done);
	j->done = NULL;
	j->pool = NULL;
}
