/* SPDX-License-Identifier: MIT */
/* tests/tst_file.h -- file helpers shared by unit tests: read a whole file,
 * write one with a mode, and paths in one private temp directory per test
 * binary (tst_tmpdir, removed by the test that made it). */
#ifndef TESTS_TST_FILE_H
#define TESTS_TST_FILE_H

#include "ledger/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tst_tmpdir[64];

/* Reads path into b (replacing its contents); false if unreadable. */
static inline bool
tst_file_read(const char *path, cm_buf *b)
{
	FILE  *f = fopen(path, "rb");
	size_t n;
	char   chunk[4096];

	cm_buf_reset(b);
	if (f == NULL)
		return (false);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (cm_buf_append(b, chunk, n) != CM_OK) {
			fclose(f);
			return (false);
		}
	}
	fclose(f);
	if (b->p == NULL)
		return (cm_buf_reserve(b, 1) == CM_OK);
	return (true);
}

/* Replaces path with len bytes of p, then sets its mode. */
static inline bool
tst_file_write(const char *path, const void *p, size_t len, mode_t mode)
{
	FILE *f;
	bool  ok;

	unlink(path);
	if ((f = fopen(path, "wb")) == NULL)
		return (false);
	ok = fwrite(p, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	return (ok && chmod(path, mode) == 0);
}

/* name inside the test's temp directory (made on first use); the result
 * stays valid for the next three calls. */
static inline const char *
tst_tmp_path(const char *name)
{
	static char path[4][128];
	static int  i;

	if (tst_tmpdir[0] == '\0') {
		snprintf(tst_tmpdir, sizeof(tst_tmpdir),
		         "/tmp/tally_test.XXXXXX");
		if (mkdtemp(tst_tmpdir) == NULL)
			abort();
	}
	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tst_tmpdir, name);
	return (path[i]);
}

#endif /* TESTS_TST_FILE_H */
