/* SPDX-License-Identifier: MIT */
/* tests/crash/crashshim_test.c -- shows that tests/crash/crashshim.so works,
 * using LMDB directly (test-only).  Run as `crashshim_test SHIM.so`; it
 * re-executes itself as `crashshim_test --child DIR N MODE` under
 * LD_PRELOAD=SHIM.so, and checks kill points, the recovered prefix of
 * commits and the "accepted before sync" check.  Skips under ASan. */
#include "tests/tst.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CST_ASAN 1
#endif
#ifdef CST_ASAN
static const int cst_asan = 1;
#else
static const int cst_asan = 0;
#endif

#define NCOMMITS 5

static char  cst_shim[4096]; /* absolute path of the shim */
static char  cst_self[4096]; /* absolute path of this program */
static char  cst_root[64];   /* mkdtemp directory */
static char *cst_dirs[256];  /* every env dir made, for cleanup */
static int   cst_ndirs;

/* ---- the child: N commits, "accepted i" on stdout after each ---------- */

static int
child_main(const char *dir, int n, const char *mode)
{
	MDB_env     *env = NULL;
	MDB_txn     *txn = NULL;
	MDB_dbi      dbi;
	unsigned int flags = 0;
	int          rc;

	if (strcmp(mode, "nosync") == 0 || strcmp(mode, "nosync+sync") == 0)
		flags |= MDB_NOSYNC;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_open(env, dir, flags, 0600)) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		char    key[16], line[32];
		MDB_val k, v;
		int     len;

		snprintf(key, sizeof(key), "k%04d", i);
		k.mv_data = key;
		k.mv_size = strlen(key);
		v.mv_data = key;
		v.mv_size = strlen(key);
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
		    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
		    (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
			goto out;
		rc = mdb_txn_commit(txn);
		txn = NULL;
		if (rc != 0)
			goto out;
		if (strcmp(mode, "nosync+sync") == 0 &&
		    (rc = mdb_env_sync(env, 1)) != 0)
			goto out;
		len = snprintf(line, sizeof(line), "accepted %d\n", i);
		if (write(STDOUT_FILENO, line, (size_t) len) != len) {
			rc = EIO;
			goto out;
		}
	}
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc != 0)
		fprintf(stderr, "child: %s\n", mdb_strerror(rc));
	return (rc == 0 ? 0 : 1);
}

/* ---- the parent ------------------------------------------------------- */

/* A fresh env dir under cst_root; returned path is owned by cst_dirs. */
static const char *
dir_new(void)
{
	char buf[128];

	if (cst_ndirs == (int) (sizeof(cst_dirs) / sizeof(cst_dirs[0])))
		return (NULL);
	snprintf(buf, sizeof(buf), "%s/e%d", cst_root, cst_ndirs);
	if (mkdir(buf, 0700) != 0)
		return (NULL);
	cst_dirs[cst_ndirs] = strdup(buf);
	return (cst_dirs[cst_ndirs++]);
}

static void
dirs_remove(void)
{
	static const char *const names[] = {"data.mdb", "lock.mdb", "out.txt",
	                                    "err.txt", "count"};
	char                     path[256];

	for (int i = 0; i < cst_ndirs; i++) {
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			snprintf(path, sizeof(path), "%s/%s", cst_dirs[i],
			         names[j]);
			unlink(path);
		}
		rmdir(cst_dirs[i]);
		free(cst_dirs[i]);
	}
	cst_ndirs = 0;
	if (cst_root[0] != '\0')
		rmdir(cst_root);
}

/* Runs the child in dir; crash_at 0 = never; skip as TALLY_CRASH_SKIP.  Returns
 * the wait status, or -1.  stdout goes to dir/out.txt, stderr to dir/err.txt.
 */
static int
child_run(const char *dir, int n, const char *mode, unsigned long crash_at,
          unsigned long skip)
{
	char  path[256], num[32], at[32], sk[32];
	pid_t pid;
	int   status;

	if ((pid = fork()) < 0)
		return (-1);
	if (pid == 0) {
		int out, err;

		snprintf(path, sizeof(path), "%s/out.txt", dir);
		out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		snprintf(path, sizeof(path), "%s/err.txt", dir);
		err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(err, STDERR_FILENO) < 0)
			_exit(97);
		close(out);
		close(err);
		snprintf(path, sizeof(path), "%s/count", dir);
		snprintf(num, sizeof(num), "%d", n);
		snprintf(at, sizeof(at), "%lu", crash_at);
		if (setenv("LD_PRELOAD", cst_shim, 1) != 0 ||
		    setenv("TALLY_CRASH_COUNT_FILE", path, 1) != 0 ||
		    setenv("TALLY_CRASH_AT", at, 1) != 0)
			_exit(97);
		snprintf(sk, sizeof(sk), "%lu", skip);
		if (setenv("TALLY_CRASH_SKIP", sk, 1) != 0)
			_exit(97);
		execl(cst_self, cst_self, "--child", dir, num, mode,
		      (char *) NULL);
		_exit(96);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return (-1);
	}
	return (status);
}

/* The first line of dir/name as a number, or -1. */
static long
file_number(const char *dir, const char *name)
{
	char  path[256];
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return (v);
}

/* Counts lines of dir/name that contain needle. */
static int
file_grep(const char *dir, const char *name, const char *needle)
{
	char  path[256], line[256];
	FILE *f;
	int   n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return (n);
}

/* Reopens the env in dir (read-write, as recovery would) and returns how
 * many keys k0000.. form a prefix, or -1 if the env cannot be opened or
 * holds anything that is not such a prefix. */
static int
env_prefix(const char *dir)
{
	MDB_env    *env = NULL;
	MDB_txn    *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi     dbi;
	MDB_val     k, v;
	int         n = 0, rc;

	if (mdb_env_create(&env) != 0 || mdb_env_open(env, dir, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
	    mdb_cursor_open(txn, dbi, &cur) != 0) {
		n = -1;
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char want[16];

		snprintf(want, sizeof(want), "k%04d", n);
		if (k.mv_size != strlen(want) ||
		    memcmp(k.mv_data, want, k.mv_size) != 0 ||
		    v.mv_size != k.mv_size ||
		    memcmp(v.mv_data, want, v.mv_size) != 0) {
			n = -1;
			goto out;
		}
		n++;
	}
	if (rc != MDB_NOTFOUND)
		n = -1;
out:
	mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return (n);
}

static long cst_count = -1; /* kill points of one durable run */

/* The count is positive and the same on two identical runs. */
static void
test_count_stable(void)
{
	const char *d1 = dir_new(), *d2 = dir_new();
	int         st;

	TST_TRUE(d1 != NULL && d2 != NULL);
	if (d1 == NULL || d2 == NULL)
		return;
	st = child_run(d1, NCOMMITS, "sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = child_run(d2, NCOMMITS, "sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cst_count = file_number(d1, "count");
	TST_TRUE(cst_count > 0);
	/* At least a write, a sync and a meta write per commit. */
	TST_TRUE(cst_count >= 3 * NCOMMITS);
	TST_EQ_U(file_number(d2, "count"), cst_count);
	TST_EQ_U(file_grep(d1, "out.txt", "accepted"), NCOMMITS);
	TST_EQ_U(env_prefix(d1), NCOMMITS);
}

/* TALLY_CRASH_SKIP=3: three fewer counted calls, and kill point k is the
 * unskipped run's k + 3. */
static void
test_skip(void)
{
	const char *d1 = dir_new(), *d2 = dir_new(), *d3 = dir_new();
	int         st;

	TST_TRUE(cst_count > 4);
	TST_TRUE(d1 != NULL && d2 != NULL && d3 != NULL);
	if (cst_count <= 4 || d1 == NULL || d2 == NULL || d3 == NULL)
		return;
	st = child_run(d1, NCOMMITS, "sync", 0, 3);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TST_EQ_U(file_number(d1, "count"), cst_count - 3);
	st = child_run(d2, NCOMMITS, "sync", 1, 3);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_number(d2, "count"), 1);
	st = child_run(d3, NCOMMITS, "sync", 4, 0);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_grep(d2, "out.txt", "accepted"),
	         file_grep(d3, "out.txt", "accepted"));
	TST_EQ_U(env_prefix(d2), env_prefix(d3));
}

/* Killing at every point leaves a reopenable env holding a prefix of the
 * commits: every acknowledged one, at most one more, growing with k. */
static void
test_kill_every_point(void)
{
	int prev = 0, last = -1;

	TST_TRUE(cst_count > 0);
	for (long k = 1; k <= cst_count; k++) {
		const char *dir = dir_new();
		int         st, got, acked;

		TST_TRUE(dir != NULL);
		if (dir == NULL)
			return;
		st = child_run(dir, NCOMMITS, "sync", (unsigned long) k, 0);
		TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		TST_EQ_U(file_number(dir, "count"), k);
		got = env_prefix(dir);
		acked = file_grep(dir, "out.txt", "accepted");
		TST_TRUE(got >= 0);
		TST_TRUE(got >= acked && got <= acked + 1);
		TST_TRUE(got >= prev);
		if (tst_case_failed) {
			fprintf(stderr, "  k=%ld: %d commits, %d accepted\n", k,
			        got, acked);
			return;
		}
		prev = got;
		last = got;
	}
	/* The last kill point comes after the last commit's data. */
	TST_TRUE(last >= NCOMMITS - 1);
	/* Past the last point the run completes. */
	{
		const char *dir = dir_new();
		int         st;

		TST_TRUE(dir != NULL);
		if (dir == NULL)
			return;
		st = child_run(dir, NCOMMITS, "sync",
		               (unsigned long) cst_count + 1, 0);
		TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		TST_EQ_U(env_prefix(dir), NCOMMITS);
	}
}

/* "accepted" after an unsynced write to data.mdb ends the child with 99. */
static void
test_sync_order(void)
{
	static const char msg[] =
	    "crashshim: acceptance printed before data.mdb was synced";
	const char *dir;
	int         st;

	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_run(dir, NCOMMITS, "nosync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 99);
	TST_EQ_U(file_grep(dir, "err.txt", msg), 1);
	TST_EQ_U(file_grep(dir, "out.txt", "accepted"), 0);

	/* Durable commits: no complaint. */
	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_run(dir, NCOMMITS, "sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TST_EQ_U(file_grep(dir, "err.txt", msg), 0);

	/* MDB_NOSYNC plus an explicit sync before printing: no complaint. */
	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_run(dir, NCOMMITS, "nosync+sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TST_EQ_U(file_grep(dir, "err.txt", msg), 0);
	TST_EQ_U(file_grep(dir, "out.txt", "accepted"), NCOMMITS);
}

int
main(int argc, char **argv)
{
	static const tst_case cases[] = {
	    TST_CASE(test_count_stable), TST_CASE(test_skip),
	    TST_CASE(test_kill_every_point), TST_CASE(test_sync_order)};
	int rv;

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return (child_main(argv[2], atoi(argv[3]), argv[4]));
	/* A preloaded library and ASan do not mix; the debug run covers it. */
	if (cst_asan)
		return (tst_run(argv[0], cases, 0));
	if (argc != 2) {
		fprintf(stderr, "usage: %s SHIM.so\n", argv[0]);
		return (2);
	}
	if (realpath(argv[1], cst_shim) == NULL ||
	    realpath("/proc/self/exe", cst_self) == NULL) {
		fprintf(stderr, "%s: cannot resolve %s\n", argv[0], argv[1]);
		return (2);
	}
	snprintf(cst_root, sizeof(cst_root), "/tmp/crashshim.XXXXXX");
	if (mkdtemp(cst_root) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	rv = tst_run(argv[0], cases, sizeof(cases) / sizeof(cases[0]));
	dirs_remove();
	return (rv);
}
