/* SPDX-License-Identifier: MIT */
/* ledger/cm_file.c -- making files and names durable: the one place that
 * fsyncs by path.  A file's fsync makes its bytes durable, not its name: a
 * name created, linked, renamed or removed survives a power loss only once
 * the directory that holds it is fsynced too.  tests/crash/README.md shows
 * the power-loss runs that check the callers. */
#include "ledger/cm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
cm_errno_text(int e, char *buf, size_t len)
{
	if (strerror_r(e, buf, len) != 0)
		snprintf(buf, len, "errno %d", e);
}

cm_err
cm_sync_path(const char *path, cm_diag *d)
{
	char etext[128];
	int  fd, e = 0;

	/* O_RDONLY opens a directory as well as a file, and fsync needs no
	 * write access. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0)
		e = errno;
	if (fd >= 0 && close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0)
		return (CM_OK);
	cm_errno_text(e, etext, sizeof(etext));
	return (cm_fail(d, CM_EIO, "cannot sync %s: %s", path, etext));
}

cm_err
cm_sync_parent(const char *path, cm_diag *d)
{
	size_t n = strlen(path);
	char  *dir;
	cm_err rv;

	/* "a/b/" names b, as "a/b" does. */
	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n == 0)
		return (cm_sync_path(".", d));
	while (n > 1 && path[n - 1] == '/')
		n--;
	if ((dir = cm_malloc(n + 1)) == NULL)
		return (CM_ENOMEM);
	memcpy(dir, path, n);
	dir[n] = '\0';
	rv = cm_sync_path(dir, d);
	cm_free(dir);
	return (rv);
}
