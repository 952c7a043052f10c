/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "eventfd_io.h"

/* How long a guarded system call may block before it is cut short. */
#define GUARD_NS 20000000l

static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static pthread_key_t guard_key;
static int guard_signal;
static bool guard_usable;

struct guard {
	timer_t timer;
	bool armed_ok;
};
static _Thread_local struct guard guard;
static _Thread_local bool guard_made;

/* Does nothing: being handled (without SA_RESTART) is what makes a
 * blocked system call return EINTR. */
static void on_guard_signal(int sig)
{
	(void)sig;
}

static void guard_thread_exit(void *arg)
{
	timer_t *t = arg;
	timer_delete(*t);
}

static void guard_init(void)
{
	guard_signal = SIGRTMIN + 4;
	struct sigaction sa = { .sa_handler = on_guard_signal };
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the blocked call returns EINTR */
	guard_usable = sigaction(guard_signal, &sa, NULL) == 0 &&
		       pthread_key_create(&guard_key, guard_thread_exit) == 0;
}

/* This thread's timer, made on first use; false if there is none. */
static bool guard_ready(void)
{
	pthread_once(&guard_once, guard_init);
	if (!guard_usable)
		return false;
	if (!guard_made) {
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
					.sigev_signo = guard_signal };
		sev._sigev_un._tid = gettid();
		guard.armed_ok = timer_create(CLOCK_MONOTONIC, &sev, &guard.timer) == 0;
		if (guard.armed_ok)
			pthread_setspecific(guard_key, &guard.timer);
		guard_made = true;
	}
	return guard.armed_ok;
}

static void guard_arm(long ns)
{
	struct itimerspec its = { .it_value = { 0, ns } };
	timer_settime(guard.timer, 0, &its, NULL);
}

/* read() or write() of 8 bytes, cut short after GUARD_NS. Without a
 * timer nothing bounds it, so the caller must not get here then. */
static ssize_t guarded_rw(int fd, uint64_t *v, bool writing)
{
	guard_arm(GUARD_NS);
	ssize_t n = writing ? write(fd, v, sizeof *v) : read(fd, v, sizeof *v);
	int err = errno;
	guard_arm(0);
	errno = err;
	return n;
}

uint64_t efd_take(int fd, bool guarded)
{
	uint64_t v = 0;
	struct iovec iov = { &v, sizeof v };
	ssize_t n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
	if (n == (ssize_t)sizeof v)
		return v;
	if (n >= 0 || (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOSYS))
		return 0; /* EAGAIN: nothing there */
	/* A kernel without RWF_NOWAIT for eventfds. Ours alone (or shared
	 * with a trusted side): its O_NONBLOCK holds. */
	if (!guarded)
		return read(fd, &v, sizeof v) == (ssize_t)sizeof v ? v : 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN) || !guard_ready())
		return 0;
	return guarded_rw(fd, &v, false) == (ssize_t)sizeof v ? v : 0;
}

bool efd_ring(int fd, bool guarded)
{
	uint64_t one = 1;
	if (!guarded)
		return write(fd, &one, sizeof one) == (ssize_t)sizeof one;
	/* Full (POLLOUT clear): a wakeup is pending anyway. */
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT) || !guard_ready())
		return false;
	return guarded_rw(fd, &one, true) == (ssize_t)sizeof one;
}
