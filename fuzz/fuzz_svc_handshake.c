/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_svc_handshake.c -- the whole server path for one message: a
 * real server (a fresh ledger in a temp directory, an inproc:// listener,
 * made at the first input) is sent the input as a request; whatever it is
 * (hello, session with any nonce, key and signature, a session request
 * with any ID, counter and MAC, any operation), the answer must be a
 * response that decodes, and the server must go on answering. */
#include "services/svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static svc_conn *conn;
static char      tmpl[] = "/tmp/fuzz-svc-XXXXXX";

static void
cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
}

static void
setup(void)
{
	static char dir[64];
	ldg_store  *s = NULL;
	svc_server *sv = NULL;
	svc_opts    o = {0};
	cm_key     *op = NULL;
	char       *base = mkdtemp(tmpl);

	if (base == NULL || cm_key_generate(&op) != CM_OK)
		abort();
	atexit(cleanup);
	snprintf(dir, sizeof(dir), "%s/dl", base);
	if (ldg_init(dir, op, "fuzz.test/log", NULL, NULL, 1700000000000ULL,
	             NULL) != CM_OK ||
	    ldg_open(dir, &(ldg_opts){.threads = 1}, &s, NULL) != CM_OK)
		abort();
	o.listen[0] = "inproc://fuzz-svc";
	o.nlisten = 1;
	o.contexts = 2;
	o.workers = 1;
	if (svc_server_start(s, &o, &sv, NULL) != CM_OK ||
	    svc_conn_open("inproc://fuzz-svc", 10000, 60000, &conn, NULL) !=
	        CM_OK)
		abort();
	cm_key_free(op);
	/* The server lives as long as the process. */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cm_buf   resp = {0};
	svc_resp r;

	if (conn == NULL)
		setup();
	if (svc_conn_call(conn, CM_BYTES(data, size), &resp, NULL) != CM_OK)
		abort(); /* the server must answer */
	if (svc_resp_decode(cm_buf_bytes(&resp), &r, NULL) != CM_OK)
		abort();
	svc_resp_fini(&r);
	cm_buf_fini(&resp);
	return (0);
}
