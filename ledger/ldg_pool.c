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
 * Several jobs may run at once (the writer building leaves while another
 * thread prepares the next batch); workers take chunks from the job of the
 * highest priority that has some left, so the writer's job, which holds
 * the write transaction, goes first.  The caller of a job only runs chunks
 * of its own job.  Chunks are coarse (tens of microseconds or more), so one
 * mutex guards every job; nothing here is lock-free. */
#include "ledger/ldg_impl.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX_JOBS 8

struct ldg_pool {
	pthread_mutex_t mu;
	pthread_cond_t  work_cv; /* a job has chunks left, or stop */
	pthread_cond_t  done_cv; /* a chunk finished */
	pthread_t      *threads;
	unsigned        nthreads;
	bool            stop;
	ldg_par        *jobs[POOL_MAX_JOBS]; /* registered, under mu */
};

/* The registered job with chunks left and the highest priority, or NULL.
 * Called with mu held. */
static ldg_par *
job_pick(const ldg_pool *p)
{
	ldg_par *best = NULL;

	for (int i = 0; i < POOL_MAX_JOBS; i++) {
		ldg_par *j = p->jobs[i];

		if (j != NULL && j->next < j->n &&
		    (best == NULL || j->prio > best->prio))
			best = j;
	}
	return (best);
}

/* Runs chunk c of j, with mu held on entry and on return. */
static void
chunk_run(ldg_pool *p, ldg_par *j, size_t c)
{
	pthread_mutex_unlock(&p->mu);
	j->fn(j->arg, c);
	pthread_mutex_lock(&p->mu);
	j->done[c] = 1;
	pthread_cond_broadcast(&p->done_cv);
}

static void *
worker_main(void *arg)
{
	ldg_pool *p = arg;
	ldg_par  *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && (j = job_pick(p)) == NULL)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->stop)
			break;
		chunk_run(p, j, j->next++);
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
	pthread_mutex_destroy(&p->mu);
	cm_free(p->threads);
	cm_free(p);
}

void
ldg_par_begin(ldg_par *j, ldg_pool *p, int prio, size_t n, ldg_chunk_fn fn,
              void *arg)
{
	memset(j, 0, sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	j->n = n;
	j->prio = prio;
	/* One chunk gains nothing from a hand-off; no pool, no free slot or
	 * no memory for the flags means inline. */
	if (p == NULL || n < 2 || (j->done = cm_calloc(n, 1)) == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < POOL_MAX_JOBS; i++)
		if (p->jobs[i] == NULL) {
			p->jobs[i] = j;
			j->pool = p;
			break;
		}
	if (j->pool != NULL)
		pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	if (j->pool == NULL) {
		cm_free(j->done);
		j->done = NULL;
	}
}

void
ldg_par_need(ldg_par *j, size_t c)
{
	ldg_pool *p = j->pool;

	if (c >= j->n)
		return;
	if (p == NULL) {
		for (; j->next <= c; j->next++)
			j->fn(j->arg, j->next);
		return;
	}
	pthread_mutex_lock(&p->mu);
	while (!j->done[c]) {
		if (j->next < j->n) {
			/* Help rather than wait: run our next unclaimed one. */
			chunk_run(p, j, j->next++);
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
	/* Every chunk is done, so no worker is inside fn: unregister. */
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < POOL_MAX_JOBS; i++)
		if (p->jobs[i] == j)
			p->jobs[i] = NULL;
	pthread_mutex_unlock(&p->mu);
	cm_free(j->done);
	j->done = NULL;
	j->pool = NULL;
}
