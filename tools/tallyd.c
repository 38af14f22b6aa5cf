/* SPDX-License-Identifier: MIT */
/* tools/tallyd.c -- the server's main: opens the ledger (with the trace
 * and credit modules, as tally does), serves the protocol of
 * docs/protocol.md on each --listen URL until SIGTERM or SIGINT, then
 * drains (no new requests; those in flight answered, submissions after
 * their commit) and closes.  One log line per request on stderr.  Exit
 * codes: 0 after a clean stop, 2 usage or start-up failure. */
#include "credit/crd.h"
#include "services/svc.h"
#include "trace/trc.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: tallyd --data DIR --listen URL [--listen URL ...] [--insecure]\n"
    "              [--contexts N] [--workers N] [--checkpoint-key FILE]\n"
    "Serves the ledger in DIR over nng REQ/REP (docs/protocol.md) on each\n"
    "URL: tcp://127.0.0.1:PORT, ipc:///PATH.  A tcp listener on an address\n"
    "that is not loopback is refused unless --insecure is given (TLS is\n"
    "not supported yet).  Stops cleanly on SIGTERM or SIGINT: no new\n"
    "requests, every one in flight answered, then exit 0.  While tallyd\n"
    "runs it is the ledger's only writer: write through it.\n";

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void
log_stderr(void *arg, const char *line)
{
	struct timespec ts;
	struct tm       tm;
	char            when[32];

	(void) arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mu);
	fprintf(stderr, "tallyd: %s.%03ldZ %s\n", when, ts.tv_nsec / 1000000,
	        line);
	fflush(stderr);
	pthread_mutex_unlock(&log_mu);
}

static void __attribute__((noreturn))
fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "tallyd: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(2);
}

static unsigned
parse_count(const char *s, const char *what)
{
	char         *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || v == 0 || v > 1024)
		fail("%s must be 1..1024, not \"%s\"", what, s);
	return ((unsigned) v);
}

int
main(int argc, char **argv)
{
	static const ldg_module *mods[] = {&trc_ledger_module, &crd_module};
	svc_opts                 so = {0};
	ldg_opts                 lo = {0};
	const char              *data = NULL;
	ldg_store               *s = NULL;
	svc_server              *sv = NULL;
	sigset_t                 set;
	cm_diag                  d;
	cm_err                   rv;
	int                      sig = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return (0);
		}
		if (strcmp(a, "--insecure") == 0) {
			so.insecure = true;
			continue;
		}
		if (v == NULL)
			fail("%s needs a value (see --help)%s", a, "");
		i++;
		if (strcmp(a, "--data") == 0)
			data = v;
		else if (strcmp(a, "--listen") == 0) {
			if (so.nlisten == SVC_LISTEN_MAX)
				fail("at most %s listeners%s", "8", "");
			so.listen[so.nlisten++] = v;
		} else if (strcmp(a, "--contexts") == 0)
			so.contexts = parse_count(v, "--contexts");
		else if (strcmp(a, "--workers") == 0)
			so.workers = parse_count(v, "--workers");
		else if (strcmp(a, "--checkpoint-key") == 0)
			lo.checkpoint_key = v;
		else
			fail("unknown option %s%s (see --help)", a, "");
	}
	if (data == NULL || so.nlisten == 0) {
		fputs(usage, stderr);
		return (2);
	}
	cm_diag_clear(&d);
	for (size_t i = 0; i < so.nlisten; i++)
		if (svc_tp_url_check(so.listen[i], so.insecure, &d) != CM_OK)
			fail("%s%s", d.msg, "");
	/* SIGTERM and SIGINT are taken by sigwait below, in every thread;
	 * SIGPIPE never kills the server. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	lo.modules = mods;
	lo.nmodules = sizeof(mods) / sizeof(mods[0]);
	if ((rv = ldg_open(data, &lo, &s, &d)) != CM_OK)
		fail("%s: %s", data, d.msg[0] ? d.msg : cm_strerror(rv));
	so.log = log_stderr;
	if ((rv = svc_server_start(s, &so, &sv, &d)) != CM_OK) {
		ldg_close(s);
		fail("%s%s", d.msg[0] ? d.msg : cm_strerror(rv), "");
	}
	fprintf(stderr, "tallyd: serving %s (origin %s) on", data,
	        ldg_origin(s));
	for (size_t i = 0; i < so.nlisten; i++)
		fprintf(stderr, " %s", so.listen[i]);
	fputc('\n', stderr);
	fflush(stderr);
	sigwait(&set, &sig);
	fprintf(stderr, "tallyd: %s: stopping (draining requests in flight)\n",
	        sig == SIGTERM ? "SIGTERM" : "SIGINT");
	svc_server_stop(sv);
	ldg_close(s);
	fprintf(stderr, "tallyd: stopped\n");
	return (0);
}
