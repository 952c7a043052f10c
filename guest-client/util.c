/* SPDX-License-Identifier: MIT */
/* Clocks, random numbers, the reconnect backoff and the error messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"
#include "vamos_clock.h"

#define BACKOFF_FIRST_MS 5
#define BACKOFF_MAX_MS 200

int64_t client_now_ms(void)
{
	return vamos_now_ms();
}

int64_t client_now_ns(void)
{
	return vamos_now_ns();
}

int64_t client_deadline(int ms)
{
	return ms < 0 ? INT64_MAX : client_now_ms() + ms;
}

int client_left_ms(int64_t deadline)
{
	if (deadline == INT64_MAX)
		return INT_MAX;
	int64_t left = deadline - client_now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

uint64_t client_random64(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	/* No entropy yet (early boot): the clock and an address, mixed
	 * (splitmix64), still differ between sessions and processes. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	v = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
	    (uint64_t)(uintptr_t)&v;
	v += 0x9e3779b97f4a7c15ull;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
	return v ^ (v >> 31);
}

void client_backoff(int *step_ms, int64_t deadline)
{
	if (*step_ms <= 0)
		*step_ms = BACKOFF_FIRST_MS;
	int ms = *step_ms;
	int left = client_left_ms(deadline);
	if (ms > left)
		ms = left;
	if (ms > 0) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000l };
		nanosleep(&ts, NULL);
	}
	if (*step_ms < BACKOFF_MAX_MS)
		*step_ms *= 2;
}

bool client_transient(enum vamos_transport_kind kind, int err)
{
	/* In a guest only a region not laid out yet waits for the host; no
	 * device, no BAR, no IOMMU do not come back by themselves. */
	if (kind == VAMOS_TRANSPORT_IVSHMEM)
		return err == -EAGAIN;
	switch (err) {
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -ENOENT:       /* the socket is not there yet */
	case -EAGAIN:       /* the region is not laid out yet */
	case -ETIMEDOUT:
	case -EPIPE:
	case -EINTR:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -ENODEV:
		return true;
	default:
		return false;
	}
}

void client_set_error(struct vamos_client *c, const char *why)
{
	atomic_store_explicit(&c->error, why, memory_order_release);
}

void session_set_error(struct vamos_session *s, const char *fmt, ...)
{
	char buf[sizeof s->error];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	memcpy(s->error, buf, sizeof buf);
	s->failed = true;
}
