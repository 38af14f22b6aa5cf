/* SPDX-License-Identifier: MIT */
/* tests/crash/crashshim.h -- internal to crashshim.so (test-only): the real
 * libc calls the shim wraps, and the power-loss model of crashshim_power.c
 * that crashshim.c's wrappers feed.  tests/crash/README.md has the whole
 * picture.  Every pw_ call is made with the shim's lock held. */
#ifndef TESTS_CRASH_CRASHSHIM_H
#define TESTS_CRASH_CRASHSHIM_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define SHIM_HIDDEN __attribute__((visibility("hidden")))

/* The wrapped calls, loaded with dlsym(RTLD_NEXT).  The shim's own file
 * operations go through these, never through its wrappers. */
typedef struct shim_real {
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	int (*fsync)(int);
	int (*fdatasync)(int);
	int (*msync)(void *, size_t, int);
	int (*sync_file_range)(int, off_t, off_t, unsigned int);
	void (*sync)(void);
	int (*syncfs)(int);
	int (*ftruncate)(int, off_t);
	int (*openat)(int, const char *, int, ...);
	int (*mkdirat)(int, const char *, mode_t);
	int (*linkat)(int, const char *, int, const char *, int);
	int (*symlinkat)(const char *, int, const char *);
	int (*unlinkat)(int, const char *, int);
	int (*rename)(const char *, const char *);
	int (*renameat)(int, const char *, int, const char *);
	int (*renameat2)(int, const char *, int, const char *, unsigned int);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
} shim_real;

extern shim_real real SHIM_HIDDEN;

/* Ends the process with status 98 after printing "crashshim: msg" (a call
 * the model cannot follow; the test must not pass on a guess). */
SHIM_HIDDEN void shim_die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* ---- the power-loss model (crashshim_power.c) ---- */

#define PW_OFF 0  /* TALLY_CRASH_POWER unset: SIGKILL only */
#define PW_DROP 1 /* every write and name change since its sync is lost */
#define PW_TORN 2 /* some of them survive, page by page (seeded) */

extern int pw_mode SHIM_HIDDEN;

SHIM_HIDDEN void pw_setup(int mode, unsigned long long seed);
/* Before a write of len bytes at off (-1: the fd's offset) to fd. */
SHIM_HIDDEN void pw_write_before(int fd, off_t off, size_t len);
/* After it: rv bytes of iov went to off (as given to pw_write_before). */
SHIM_HIDDEN void pw_write_after(int fd, off_t off, const struct iovec *iov,
                                int n, ssize_t rv);
/* After a completed fsync/fdatasync of fd (a file or a directory). */
SHIM_HIDDEN void pw_sync_after(int fd);
/* After sync(): everything is durable. */
SHIM_HIDDEN void pw_sync_all(void);
/* Before ftruncate(fd, len). */
SHIM_HIDDEN void pw_truncate_before(int fd, off_t len);

/* Name changes: pw_ns_before notes what is about to change (and what a
 * name held, for unlink, rmdir and a rename over a target); pw_ns_after
 * records it if the call succeeded, else forgets it.  dirfd2/path2 only
 * for link and rename (the new name). */
typedef enum pw_kind {
	PW_CREATE, /* a file created by open(O_CREAT) */
	PW_MKDIR,
	PW_LINK,
	PW_UNLINK,
	PW_RMDIR,
	PW_RENAME
} pw_kind;
typedef struct pw_op pw_op;
SHIM_HIDDEN pw_op   *pw_ns_before(pw_kind kind, int dirfd, const char *path,
                                  int dirfd2, const char *path2);
SHIM_HIDDEN void     pw_ns_after(pw_op *op, int ok);
/* open(path, flags) with O_CREAT or O_TRUNC: before and after the call. */
SHIM_HIDDEN pw_op *pw_open_before(int dirfd, const char *path, int flags);
SHIM_HIDDEN void   pw_open_after(pw_op *op, int fd);
/* A shared writable mapping of a modelled file cannot be followed. */
SHIM_HIDDEN void pw_mmap_check(int fd, int prot, int flags);

/* Puts back the durable state of everything the process wrote (the caller
 * then kills the process). */
SHIM_HIDDEN void pw_fail(void);

#endif
