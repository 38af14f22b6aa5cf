/* SPDX-License-Identifier: MIT */
/* tests/crash/crashshim.c -- test-only LD_PRELOAD library: a crash just
 * before the N-th write or sync to a regular file (SIGKILL, or a simulated
 * power loss), and a check that a program never prints "accepted" while
 * data.mdb has unsynced writes.  Never linked into a program.  How it
 * works, and how the tests use it: tests/crash/README.md.  Environment:
 *   TALLY_CRASH_AT=N          crash instead of the N-th counted call;
 *                  exit       crash as the process exits (stdio flushed)
 *   TALLY_CRASH_SKIP=M        the first M eligible calls are not counted
 *   TALLY_CRASH_COUNT_FILE=p  write the number of counted calls to p at
 *                             exit and when crashing (the crashed call
 *                             counts)
 *   TALLY_CRASH_POWER=drop    the crash is a power loss: before SIGKILL,
 *                             every file and directory is put back as of
 *                             its last completed fsync (crashshim_power.c)
 *                     torn    the same, but each page written since its
 *                             sync is kept or put back at random, and a
 *                             prefix of the unsynced name changes is kept
 *   TALLY_CRASH_SEED=S        the seed for torn (same seed, same tears)
 *   TALLY_CRASH_FAIL=N        no crash: the N-th counted call fails with
 *                             EIO instead (the error paths)
 * Counted calls: write, pwrite, pwrite64, writev, pwritev, pwritev64 to a
 * regular file other than fd 1 and 2; fsync and fdatasync of a regular file
 * or directory; sync_file_range of a regular file; every msync; rename,
 * renameat, renameat2.  The name changes (open with O_CREAT, mkdir, link,
 * symlink, unlink, rmdir, rename) and ftruncate are followed for the
 * power-loss model but not counted, so both modes crash at the same
 * points. */
#define _GNU_SOURCE
#include "tests/crash/crashshim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

shim_real real;

static unsigned long shim_seen;    /* eligible calls, skipped ones too */
static unsigned long shim_skip;    /* TALLY_CRASH_SKIP */
static unsigned long shim_at;      /* TALLY_CRASH_AT, 0 = never */
static unsigned long shim_fail;    /* TALLY_CRASH_FAIL, 0 = never */
static int           shim_at_exit; /* TALLY_CRASH_AT=exit */
static const char   *shim_count;   /* TALLY_CRASH_COUNT_FILE or NULL */
static int           shim_ready;

/* In power-loss mode every wrapped call runs under this lock, so the model
 * sees the calls in the order they happen and the restore at the crash
 * point races with no other thread's write. */
static pthread_mutex_t shim_mu = PTHREAD_MUTEX_INITIALIZER;

/* Files named data.mdb, by inode, and whether each has writes that no
 * completed fsync/fdatasync has covered yet.  Writes through an O_DSYNC fd
 * (LMDB's meta-page fd) are durable when they return, so they do not
 * count as unsynced. */
#define SHIM_NDATA 16
static struct {
	dev_t dev;
	ino_t ino;
	int   dirty;
} shim_data[SHIM_NDATA];
static int shim_ndata;

void
shim_die(const char *fmt, ...)
{
	char    msg[512];
	va_list ap;
	int     n;

	n = snprintf(msg, sizeof(msg), "crashshim: ");
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - (size_t) n - 1, fmt, ap);
	va_end(ap);
	if (n > (int) sizeof(msg) - 2)
		n = (int) sizeof(msg) - 2;
	msg[n++] = '\n';
	if (real.write != NULL &&
	    real.write(STDERR_FILENO, msg, (size_t) n) < 0)
		_exit(98);
	_exit(98);
}

/* dlsym returns void *; converting that to a function pointer is not ISO C,
 * so copy the bits. */
static void
sym_load(void *dst, size_t len, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "crashshim: dlsym(%s) failed\n", name);
		_exit(98);
	}
	memcpy(dst, &p, len);
}

static unsigned long
env_number(const char *name)
{
	const char *s = getenv(name);

	return (s != NULL ? strtoul(s, NULL, 10) : 0);
}

#define SYM(f) sym_load(&real.f, sizeof(real.f), #f)

__attribute__((constructor)) static void
shim_init(void)
{
	const char *at, *power;

	if (__atomic_load_n(&shim_ready, __ATOMIC_ACQUIRE))
		return;
	SYM(write);
	SYM(pwrite);
	SYM(writev);
	SYM(pwritev);
	SYM(fsync);
	SYM(fdatasync);
	SYM(msync);
	SYM(sync_file_range);
	SYM(sync);
	SYM(syncfs);
	SYM(ftruncate);
	SYM(openat);
	SYM(mkdirat);
	SYM(linkat);
	SYM(symlinkat);
	SYM(unlinkat);
	SYM(rename);
	SYM(renameat);
	SYM(renameat2);
	SYM(mmap);
	shim_skip = env_number("TALLY_CRASH_SKIP");
	at = getenv("TALLY_CRASH_AT");
	shim_at_exit = at != NULL && strcmp(at, "exit") == 0;
	shim_at = env_number("TALLY_CRASH_AT");
	shim_fail = env_number("TALLY_CRASH_FAIL");
	shim_count = getenv("TALLY_CRASH_COUNT_FILE");
	power = getenv("TALLY_CRASH_POWER");
	if (power != NULL && strcmp(power, "drop") == 0)
		pw_setup(PW_DROP, 0);
	else if (power != NULL && strcmp(power, "torn") == 0)
		pw_setup(PW_TORN, env_number("TALLY_CRASH_SEED"));
	else if (power != NULL && power[0] != '\0')
		shim_die("TALLY_CRASH_POWER=%s: want drop or torn", power);
	__atomic_store_n(&shim_ready, 1, __ATOMIC_RELEASE);
}

static void
shim_lock(void)
{
	shim_init();
	if (pw_mode != PW_OFF)
		pthread_mutex_lock(&shim_mu);
}

static void
shim_unlock(void)
{
	int e = errno;

	if (pw_mode != PW_OFF)
		pthread_mutex_unlock(&shim_mu);
	errno = e;
}

static unsigned long
count_now(void)
{
	unsigned long seen = __atomic_load_n(&shim_seen, __ATOMIC_SEQ_CST);

	return (seen > shim_skip ? seen - shim_skip : 0);
}

static void
count_save(void)
{
	char buf[32];
	int  fd, len;

	if (shim_count == NULL || real.write == NULL)
		return;
	len = snprintf(buf, sizeof(buf), "%lu\n", count_now());
	fd = real.openat(AT_FDCWD, shim_count,
	                 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (real.write(fd, buf, (size_t) len) != len)
		fprintf(stderr, "crashshim: cannot write %s\n", shim_count);
	close(fd);
}

/* The crash: the durable state put back (power loss), then SIGKILL.  Runs
 * with the lock held. */
static void
shim_crash(void)
{
	pw_fail();
	count_save();
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

__attribute__((destructor)) static void
shim_fini(void)
{
	if (shim_at_exit) {
		/* What the program printed was printed before the power went.
		 */
		fflush(NULL);
		shim_lock();
		shim_crash();
	}
	count_save();
}

/* Counts one eligible call; does not return if it is the one to crash.
 * Returns 1 if the call is to fail with EIO instead of being made. */
static int
call_count(void)
{
	unsigned long seen =
	    __atomic_add_fetch(&shim_seen, 1, __ATOMIC_SEQ_CST);

	if (seen <= shim_skip)
		return (0);
	if (shim_at != 0 && seen - shim_skip == shim_at)
		shim_crash();
	if (shim_fail != 0 && seen - shim_skip == shim_fail) {
		errno = EIO;
		return (1);
	}
	return (0);
}

/* 1 if fd is a regular file (or, when dirs, a directory) other than fd 1
 * and 2. */
static int
fd_counted(int fd, int dirs)
{
	struct stat st;

	if (fd == STDOUT_FILENO || fd == STDERR_FILENO || fstat(fd, &st) != 0)
		return (0);
	return (S_ISREG(st.st_mode) || (dirs && S_ISDIR(st.st_mode)));
}

/* The shim_data slot for fd if it is open on a file named data.mdb, else
 * -1. */
static int
data_slot(int fd)
{
	char        link[64], path[4096];
	ssize_t     n;
	struct stat st;
	int         i;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 9 || fstat(fd, &st) != 0)
		return (-1);
	path[n] = '\0';
	if (strcmp(path + n - 9, "/data.mdb") != 0)
		return (-1);
	for (i = 0; i < shim_ndata; i++) {
		if (shim_data[i].dev == st.st_dev &&
		    shim_data[i].ino == st.st_ino)
			return (i);
	}
	if (shim_ndata == SHIM_NDATA)
		return (-1);
	shim_data[i].dev = st.st_dev;
	shim_data[i].ino = st.st_ino;
	shim_data[i].dirty = 0;
	shim_ndata++;
	return (i);
}

static size_t
iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return (len);
}

/* Before a write of any kind to fd, of len bytes at off (-1: at the fd's
 * offset).  Takes the lock; returns the offset for write_end (-1: not
 * modelled); *fail is 1 if the write is to fail with EIO. */
static off_t
write_begin(int fd, off_t off, size_t len, int *fail)
{
	struct stat st;

	shim_lock();
	*fail = 0;
	if (!fd_counted(fd, 0) || (*fail = call_count()) != 0 ||
	    pw_mode == PW_OFF)
		return (-1);
	if (off < 0 && (fcntl(fd, F_GETFL) & O_APPEND) != 0)
		off = fstat(fd, &st) == 0 ? st.st_size : -1;
	else if (off < 0)
		off = lseek(fd, 0, SEEK_CUR);
	if (off >= 0)
		pw_write_before(fd, off, len);
	return (off);
}

/* After a write to fd (rv as the call returned); releases the lock. */
static void
write_end(int fd, off_t off, const struct iovec *iov, int n, ssize_t rv)
{
	int slot, fl;

	if (off >= 0)
		pw_write_after(fd, off, iov, n, rv);
	if (rv > 0 && fd != STDOUT_FILENO && fd != STDERR_FILENO &&
	    (slot = data_slot(fd)) >= 0) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (fl & (O_DSYNC | O_SYNC)) == 0)
			shim_data[slot].dirty = 1;
	}
	shim_unlock();
}

/* After a completed fsync/fdatasync of fd. */
static void
sync_after(int fd, int rv)
{
	int slot;

	if (rv != 0)
		return;
	if ((slot = data_slot(fd)) >= 0)
		shim_data[slot].dirty = 0;
	pw_sync_after(fd);
}

/* On a write to stdout: refuse an acceptance that is not yet durable. */
static void
stdout_check(int fd, const void *buf, size_t len)
{
	if (fd != STDOUT_FILENO || buf == NULL ||
	    memmem(buf, len, "accepted", 8) == NULL)
		return;
	for (int i = 0; i < shim_ndata; i++) {
		if (shim_data[i].dirty) {
			static const char msg[] =
			    "crashshim: acceptance printed "
			    "before data.mdb was synced\n";

			if (real.write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
				_exit(99);
			_exit(99);
		}
	}
}

static void
stdout_checkv(int fd, const struct iovec *iov, int n)
{
	for (int i = 0; fd == STDOUT_FILENO && i < n; i++)
		stdout_check(fd, iov[i].iov_base, iov[i].iov_len);
}

/* The iovec of a one-buffer write (const dropped only to fill the
 * struct; the model reads it). */
static struct iovec
iov_one(const void *buf, size_t len)
{
	struct iovec v;

	memcpy(&v.iov_base, &buf, sizeof(buf));
	v.iov_len = len;
	return (v);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	struct iovec v = iov_one(buf, len);
	off_t        off;
	ssize_t      rv;
	int          fail;

	off = write_begin(fd, -1, len, &fail);
	stdout_check(fd, buf, len);
	rv = fail ? -1 : real.write(fd, buf, len);
	write_end(fd, off, &v, 1, rv);
	return (rv);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t at)
{
	struct iovec v = iov_one(buf, len);
	off_t        off;
	ssize_t      rv;
	int          fail;

	off = write_begin(fd, at, len, &fail);
	stdout_check(fd, buf, len);
	rv = fail ? -1 : real.pwrite(fd, buf, len, at);
	write_end(fd, off, &v, 1, rv);
	return (rv);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	off_t   off;
	ssize_t rv;
	int     fail;

	off = write_begin(fd, -1, iov_len(iov, n), &fail);
	stdout_checkv(fd, iov, n);
	rv = fail ? -1 : real.writev(fd, iov, n);
	write_end(fd, off, iov, n, rv);
	return (rv);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t at)
{
	off_t   off;
	ssize_t rv;
	int     fail;

	off = write_begin(fd, at, iov_len(iov, n), &fail);
	stdout_checkv(fd, iov, n);
	rv = fail ? -1 : real.pwritev(fd, iov, n, at);
	write_end(fd, off, iov, n, rv);
	return (rv);
}

int
fsync(int fd)
{
	int rv;

	shim_lock();
	if (fd_counted(fd, 1) && call_count())
		rv = -1;
	else
		rv = real.fsync(fd);
	sync_after(fd, rv);
	shim_unlock();
	return (rv);
}

int
fdatasync(int fd)
{
	int rv;

	shim_lock();
	if (fd_counted(fd, 1) && call_count())
		rv = -1;
	else
		rv = real.fdatasync(fd);
	sync_after(fd, rv);
	shim_unlock();
	return (rv);
}

/* Not a durable sync (no disk cache flush), so it clears nothing. */
int
sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	int rv;

	shim_lock();
	if (fd_counted(fd, 0) && call_count())
		rv = -1;
	else
		rv = real.sync_file_range(fd, off, len, flags);
	shim_unlock();
	return (rv);
}

/* Durable for every file, like the model's simplest reading of sync(2). */
void
sync(void)
{
	shim_lock();
	real.sync();
	pw_sync_all();
	shim_unlock();
}

int
syncfs(int fd)
{
	int rv;

	shim_lock();
	if ((rv = real.syncfs(fd)) == 0)
		pw_sync_all();
	shim_unlock();
	return (rv);
}

int
msync(void *addr, size_t len, int flags)
{
	int rv;

	shim_lock();
	rv = call_count() ? -1 : real.msync(addr, len, flags);
	shim_unlock();
	return (rv);
}

int
ftruncate(int fd, off_t len)
{
	int rv;

	shim_lock();
	if (fd_counted(fd, 0))
		pw_truncate_before(fd, len);
	rv = real.ftruncate(fd, len);
	shim_unlock();
	return (rv);
}

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	shim_lock();
	pw_mmap_check(fd, prot, flags);
	p = real.mmap(addr, len, prot, flags, fd, off);
	shim_unlock();
	return (p);
}

/* ---- name changes: followed, not counted (rename is counted) ---- */

static int
open_common(int dirfd, const char *path, int flags, mode_t mode)
{
	pw_op *op = NULL;
	int    fd;

	shim_lock();
	if ((flags & (O_CREAT | O_TRUNC)) != 0)
		op = pw_open_before(dirfd, path, flags);
	fd = real.openat(dirfd, path, flags, mode);
	pw_open_after(op, fd);
	shim_unlock();
	return (fd);
}

static mode_t
open_mode(int flags, va_list ap)
{
	return ((flags & (O_CREAT | O_TMPFILE)) != 0 ? va_arg(ap, mode_t) : 0);
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t  mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return (open_common(AT_FDCWD, path, flags, mode));
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t  mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return (open_common(dirfd, path, flags, mode));
}

int
creat(const char *path, mode_t mode)
{
	return (
	    open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}

/* Notes a name change about to happen (takes the lock). */
static pw_op *
ns_begin(pw_kind kind, int dirfd, const char *path, int dirfd2,
         const char *path2)
{
	shim_lock();
	return (pw_ns_before(kind, dirfd, path, dirfd2, path2));
}

/* Records it if rv says it happened; releases the lock; returns rv. */
static int
ns_end(pw_op *op, int rv)
{
	int e = errno;

	pw_ns_after(op, rv == 0);
	shim_unlock();
	errno = e;
	return (rv);
}

int
mkdir(const char *path, mode_t mode)
{
	pw_op *op = ns_begin(PW_MKDIR, AT_FDCWD, path, AT_FDCWD, NULL);

	return (ns_end(op, real.mkdirat(AT_FDCWD, path, mode)));
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	pw_op *op = ns_begin(PW_MKDIR, dirfd, path, AT_FDCWD, NULL);

	return (ns_end(op, real.mkdirat(dirfd, path, mode)));
}

int
link(const char *from, const char *to)
{
	pw_op *op = ns_begin(PW_LINK, AT_FDCWD, to, AT_FDCWD, NULL);

	return (ns_end(op, real.linkat(AT_FDCWD, from, AT_FDCWD, to, 0)));
}

int
linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	pw_op *op = ns_begin(PW_LINK, tofd, to, AT_FDCWD, NULL);

	return (ns_end(op, real.linkat(fromfd, from, tofd, to, flags)));
}

int
symlink(const char *target, const char *path)
{
	pw_op *op = ns_begin(PW_CREATE, AT_FDCWD, path, AT_FDCWD, NULL);

	return (ns_end(op, real.symlinkat(target, AT_FDCWD, path)));
}

int
symlinkat(const char *target, int dirfd, const char *path)
{
	pw_op *op = ns_begin(PW_CREATE, dirfd, path, AT_FDCWD, NULL);

	return (ns_end(op, real.symlinkat(target, dirfd, path)));
}

int
unlink(const char *path)
{
	pw_op *op = ns_begin(PW_UNLINK, AT_FDCWD, path, AT_FDCWD, NULL);

	return (ns_end(op, real.unlinkat(AT_FDCWD, path, 0)));
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	pw_op *op = ns_begin((flags & AT_REMOVEDIR) ? PW_RMDIR : PW_UNLINK,
	                     dirfd, path, AT_FDCWD, NULL);

	return (ns_end(op, real.unlinkat(dirfd, path, flags)));
}

int
rmdir(const char *path)
{
	pw_op *op = ns_begin(PW_RMDIR, AT_FDCWD, path, AT_FDCWD, NULL);

	return (ns_end(op, real.unlinkat(AT_FDCWD, path, AT_REMOVEDIR)));
}

int
rename(const char *from, const char *to)
{
	pw_op *op;

	shim_lock();
	if (call_count())
		return (ns_end(NULL, -1));
	op = pw_ns_before(PW_RENAME, AT_FDCWD, from, AT_FDCWD, to);
	return (ns_end(op, real.rename(from, to)));
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	pw_op *op;

	shim_lock();
	if (call_count())
		return (ns_end(NULL, -1));
	op = pw_ns_before(PW_RENAME, fromfd, from, tofd, to);
	return (ns_end(op, real.renameat(fromfd, from, tofd, to)));
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to,
          unsigned int flags)
{
	pw_op *op;

	shim_lock();
	if (call_count())
		return (ns_end(NULL, -1));
	if ((flags & RENAME_EXCHANGE) != 0 && pw_mode != PW_OFF)
		shim_die("renameat2(RENAME_EXCHANGE) is not modelled");
	op = pw_ns_before(PW_RENAME, fromfd, from, tofd, to);
	return (ns_end(op, real.renameat2(fromfd, from, tofd, to, flags)));
}

/* The *64 calls are the same calls on LP64 (off_t is 64 bits). */
_Static_assert(sizeof(off_t) == 8, "the *64 aliases need a 64-bit off_t");
ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t at)
    __attribute__((alias("pwrite")));
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t at)
    __attribute__((alias("pwritev")));
int   ftruncate64(int fd, off64_t len) __attribute__((alias("ftruncate")));
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
    __attribute__((alias("mmap")));
int open64(const char *path, int flags, ...) __attribute__((alias("open")));
int openat64(int dirfd, const char *path, int flags, ...)
    __attribute__((alias("openat")));
int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));
