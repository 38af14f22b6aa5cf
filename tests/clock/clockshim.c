/* SPDX-License-Identifier: MIT */
/* tests/clock/clockshim.c -- test-only LD_PRELOAD library: the real-time
 * clock of a process frozen at CLOCKSHIM_MS milliseconds since the epoch.
 * tally reads the system clock only (nothing a caller passes may set the
 * writer's clock, which decides the log time), so the tests that need
 * exact clock readings (golden outputs, determinism, the time window, a
 * clock stepped forward and back) set it from outside the binary with
 * this shim; tests/fakeclock.py builds the environment.  Never linked into
 * a program.
 *
 * Why not libfaketime, which gives the same millisecond values: its lazy
 * set-up calls dlsym (and so malloc) from inside the first clock call,
 * which deadlocks the ASan build of tally (its allocator reads the clock
 * while holding its own lock), and the determinism test runs that build
 * too.  This shim makes no allocation, keeps no state and calls no
 * library: the value is parsed from the environment at each call, and
 * other clocks go to the kernel. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* CLOCKSHIM_MS as a number; a missing or bad value ends the process (a
 * test that meant to set the clock must not run on the real one). */
static uint64_t
frozen_ms(void)
{
	static const char msg[] =
	    "clockshim: CLOCKSHIM_MS must be decimal ms\n";
	const char *s = getenv("CLOCKSHIM_MS");
	uint64_t    v = 0;

	if (s == NULL || *s == '\0')
		goto bad;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			goto bad;
		v = v * 10 + (uint64_t) (*s - '0');
	}
	return (v);
bad:
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nowhere else to say it */
	}
	_exit(97);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	uint64_t ms;

	if (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE)
		return ((int) syscall(SYS_clock_gettime, id, ts));
	ms = frozen_ms();
	ts->tv_sec = (time_t) (ms / 1000);
	ts->tv_nsec = (long) (ms % 1000) * 1000000L;
	return (0);
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	uint64_t ms = frozen_ms();

	(void) tz;
	tv->tv_sec = (time_t) (ms / 1000); /* glibc declares tv nonnull */
	tv->tv_usec = (suseconds_t) (ms % 1000) * 1000;
	return (0);
}

time_t
time(time_t *t)
{
	time_t now = (time_t) (frozen_ms() / 1000);

	if (t != NULL)
		*t = now;
	return (now);
}
