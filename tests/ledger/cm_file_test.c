/* SPDX-License-Identifier: MIT */
/* tests/ledger/cm_file_test.c -- cm_sync_path and cm_sync_parent: files and
 * directories sync, a missing one is CM_EIO naming it and the system's
 * reason, and the parent of each spelling of a path is the right one (an
 * error names which directory was tried).  The power-loss runs that show
 * the syncs are needed are in tests/integration/test_crash.py. */
#include "tests/tst.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void
test_sync_path(void)
{
	char    file[128], missing[128], want[320];
	cm_diag d;
	FILE   *f;

	snprintf(file, sizeof(file), "%s/f", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	TST_TRUE((f = fopen(file, "w")) != NULL);
	if (f != NULL)
		fclose(f);
	cm_diag_clear(&d);
	TST_OK(cm_sync_path(file, &d));
	TST_OK(cm_sync_path(dir, &d));
	TST_EQ_STR(d.msg, "");
	TST_ERR(cm_sync_path(missing, &d), CM_EIO);
	snprintf(want, sizeof(want),
	         "cannot sync %s: No such file or directory", missing);
	TST_EQ_STR(d.msg, want);
	TST_ERR(cm_sync_path(missing, NULL), CM_EIO);
	unlink(file);
}

/* cm_sync_parent(path) fails naming want_dir (which does not exist). */
static void
parent_is(const char *path, const char *want_dir)
{
	char    want[320];
	cm_diag d;

	cm_diag_clear(&d);
	TST_ERR(cm_sync_parent(path, &d), CM_EIO);
	snprintf(want, sizeof(want),
	         "cannot sync %s: No such file or directory", want_dir);
	TST_EQ_STR(d.msg, want);
}

static void
test_sync_parent(void)
{
	char    path[256], nodir[128];
	cm_diag d;

	snprintf(nodir, sizeof(nodir), "%s/nodir", dir);
	snprintf(path, sizeof(path), "%s/x", nodir);
	parent_is(path, nodir);
	snprintf(path, sizeof(path), "%s/x/", nodir);
	parent_is(path, nodir);
	snprintf(path, sizeof(path), "%s//x", nodir);
	parent_is(path, nodir);
	snprintf(path, sizeof(path), "%s/a/b", nodir);
	snprintf(nodir + strlen(nodir), sizeof(nodir) - strlen(nodir), "/a");
	parent_is(path, nodir);
	cm_diag_clear(&d);
	TST_OK(cm_sync_parent("bare-name", &d)); /* "." */
	TST_OK(cm_sync_parent("/tmp", &d));      /* "/" */
	TST_OK(cm_sync_parent("/", &d));         /* "/" */
	snprintf(path, sizeof(path), "%s/f", dir);
	TST_OK(cm_sync_parent(path, &d)); /* dir, whether or not f exists */
	TST_EQ_STR(d.msg, "");
}

static void
test_errno_text(void)
{
	char buf[64];

	cm_errno_text(2, buf, sizeof(buf));
	TST_EQ_STR(buf, "No such file or directory");
	cm_errno_text(2, buf, 4); /* too small: truncated or "errno 2" */
	TST_TRUE(strlen(buf) < 4);
}

int
main(int argc, char **argv)
{
	static const tst_case cases[] = {TST_CASE(test_sync_path),
	                                 TST_CASE(test_sync_parent),
	                                 TST_CASE(test_errno_text)};
	int                   rv;

	(void) argc;
	snprintf(dir, sizeof(dir), "/tmp/cm_file_test.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	rv = tst_run(argv[0], cases, sizeof(cases) / sizeof(cases[0]));
	rmdir(dir);
	return (rv);
}
