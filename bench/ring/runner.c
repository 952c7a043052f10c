/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pin.h"

/* Seconds a case may overrun its planned time before it counts as hung. */
#define BENCH_HANG_SECONDS 30
/* More preemptions than this in the window mean something else wanted the
   benchmark's CPUs: the numbers are suspect, say so. */
#define BENCH_MAX_PREEMPTIONS 10

static char current_case[128];
static int producer_tid, consumer_tid;

/* How often thread @tid of this process was preempted so far; -1 if
   unknown. */
static long preemptions(int tid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void check_preemptions(long p0, long p1, long c0, long c1)
{
	long p = p0 >= 0 && p1 >= 0 ? p1 - p0 : 0;
	long c = c0 >= 0 && c1 >= 0 ? c1 - c0 : 0;

	if (p > BENCH_MAX_PREEMPTIONS || c > BENCH_MAX_PREEMPTIONS)
		fprintf(stderr, "bench-ring: warning: %s: producer preempted "
			"%ld times, consumer %ld times while measured; other "
			"load on their CPUs makes this row suspect\n",
			current_case, p, c);
}

void bench_fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench-ring: FATAL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

static void on_alarm(int sig)
{
	static const char msg[] = "bench-ring: FATAL: case hung: ";
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	r = write(STDERR_FILENO, current_case, strlen(current_case));
	r = write(STDERR_FILENO, "\n", 1);
	(void)r;
	_exit(124);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sleep until CLOCK_MONOTONIC reads @deadline seconds. */
static void sleep_until(double deadline)
{
	struct timespec ts;
	double whole = floor(deadline);

	ts.tv_sec = (time_t)whole;
	ts.tv_nsec = (long)((deadline - whole) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint32_t next_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p > UINT32_MAX ? (uint32_t)1 << 31 : (uint32_t)p;
}

static void *producer_main(void *arg)
{
	struct bench_case *bc = arg;

	__atomic_store_n(&producer_tid, (int)gettid(), __ATOMIC_RELEASE);
	bc->impl->producer(bc);
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct bench_case *bc = arg;

	__atomic_store_n(&consumer_tid, (int)gettid(), __ATOMIC_RELEASE);
	bc->impl->consumer(bc);
	return NULL;
}

static unsigned char *make_template(uint32_t payload, uint32_t batch)
{
	size_t n = (size_t)payload * batch;
	unsigned char *t = aligned_alloc(BENCH_CACHE_LINE,
					 (n + BENCH_CACHE_LINE - 1) &
					 ~(size_t)(BENCH_CACHE_LINE - 1));

	if (!t)
		bench_fatal("out of memory for a %zu-byte template", n);
	/* Filled once; every message is a copy with its number stamped in. */
	for (size_t i = 0; i < n; i++)
		t[i] = (unsigned char)(i * 131u + 7u);
	return t;
}

/* A case as both modes set it up; NULL (already reported) if setup failed. */
static struct bench_case *new_case(const struct bench_impl *impl,
				   uint32_t payload, uint32_t batch,
				   uint32_t ring_bytes)
{
	struct bench_case *bc = aligned_alloc(BENCH_CACHE_LINE, sizeof(*bc));

	if (!bc)
		bench_fatal("out of memory");
	memset(bc, 0, sizeof(*bc));
	bc->impl = impl;
	bc->payload = payload;
	bc->batch = batch;
	bc->ring_bytes = ring_bytes;
	bc->slots = next_pow2(ring_bytes / payload > 4ull * batch ?
			      ring_bytes / payload : 4ull * batch);
	bc->tmpl = make_template(payload, batch);
	if (impl->setup(bc) != 0) {
		free((void *)bc->tmpl);
		free(bc);
		return NULL;
	}
	return bc;
}

static void free_case(struct bench_case *bc)
{
	bc->impl->teardown(bc);
	free((void *)bc->tmpl);
	free(bc);
}

__attribute__((noinline))
void bench_lockstep_measured(struct bench_case *bc, uint64_t rounds)
{
	bc->impl->lockstep(bc, rounds);
	/* Keeps the call a call: callgrind counts this function inclusively. */
	__asm__ __volatile__("" ::: "memory");
}

int bench_lockstep_case(const struct bench_impl *impl, uint32_t payload,
			uint32_t batch, uint32_t ring_bytes, uint64_t rounds)
{
	if (!impl->lockstep)
		return 1;
	struct bench_case *bc = new_case(impl, payload, batch, ring_bytes);
	if (!bc)
		return -1;
	bench_lockstep_measured(bc, rounds);
	if (bc->received != rounds * batch)
		bench_fatal("%s payload=%u batch=%u: lockstep received %llu of "
			    "%llu messages", impl->name, payload, batch,
			    (unsigned long long)bc->received,
			    (unsigned long long)(rounds * batch));
	free_case(bc);
	return 0;
}

int bench_run_case(const struct bench_impl *impl, uint32_t payload,
		   uint32_t batch, const struct bench_options *opt,
		   struct bench_result *out)
{
	struct bench_case *bc;
	pthread_t producer, consumer;
	uint64_t c0, c1, d0, d1;
	double t0, t1, start;
	long pre0, pre1, cre0, cre1;
	int rc;

	producer_tid = consumer_tid = 0;
	snprintf(current_case, sizeof(current_case), "%s payload=%u batch=%u",
		 impl->name, payload, batch);
	signal(SIGALRM, on_alarm);

	bc = new_case(impl, payload, batch, opt->ring_bytes);
	if (!bc)
		return -1;

	alarm((unsigned)ceil(opt->warmup + opt->seconds) + BENCH_HANG_SECONDS);

	rc = bench_thread_start(&consumer, opt->consumer_cpu, consumer_main, bc);
	if (rc != 0)
		bench_fatal("cannot start the consumer thread: %s", strerror(rc));
	rc = bench_thread_start(&producer, opt->producer_cpu, producer_main, bc);
	if (rc != 0)
		bench_fatal("cannot start the producer thread: %s", strerror(rc));

	/* The window: counts are sampled at its edges by this thread, which
	   sleeps in between and so takes no CPU from the two under test. */
	start = now_seconds();
	sleep_until(start + opt->warmup);
	c0 = __atomic_load_n(&bc->received, __ATOMIC_RELAXED);
	d0 = __atomic_load_n(&bc->doorbells, __ATOMIC_RELAXED);
	t0 = now_seconds();
	pre0 = preemptions(__atomic_load_n(&producer_tid, __ATOMIC_ACQUIRE));
	cre0 = preemptions(__atomic_load_n(&consumer_tid, __ATOMIC_ACQUIRE));
	sleep_until(t0 + opt->seconds);
	c1 = __atomic_load_n(&bc->received, __ATOMIC_RELAXED);
	d1 = __atomic_load_n(&bc->doorbells, __ATOMIC_RELAXED);
	t1 = now_seconds();
	pre1 = preemptions(producer_tid);
	cre1 = preemptions(consumer_tid);
	__atomic_store_n(&bc->stop, 1, __ATOMIC_RELAXED);

	pthread_join(producer, NULL);
	pthread_join(consumer, NULL);
	alarm(0);

	if (bc->received != bc->sent)
		bench_fatal("%s: consumer stopped after %llu of %llu messages",
			    current_case, (unsigned long long)bc->received,
			    (unsigned long long)bc->sent);

	check_preemptions(pre0, pre1, cre0, cre1);

	out->msgs = c1 - c0;
	out->secs = t1 - t0;
	out->msgs_per_sec = (double)out->msgs / out->secs;
	out->gbytes_per_sec = out->msgs_per_sec * payload / 1e9;
	out->doorbells_per_msg = impl->has_doorbells && out->msgs > 0 ?
		(double)(d1 - d0) / (double)out->msgs : NAN;
	if (out->msgs == 0)
		fprintf(stderr, "bench-ring: warning: %s: no message arrived "
			"while measured\n", current_case);

	free_case(bc);
	return 0;
}
