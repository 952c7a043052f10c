/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "floors.h"
#include "vamos_spin.h"

#define MAX_SAMPLES (1u << 20)

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Percentiles of @n samples (sorted here) and the rate into @row. */
static void fill_row(struct bt_row *row, const char *transport, const char *mode,
		     int64_t *samples, uint64_t n, uint64_t done, double secs,
		     double notifications_per_msg)
{
	qsort(samples, n, sizeof *samples, cmp_i64);
	row->transport = transport;
	row->mode = mode;
	row->payload = sizeof(uint64_t);
	row->batch = 1;
	row->msgs_per_sec = (double)done / secs;
	row->rtt_p50_us = n ? (double)samples[n / 2] / 1e3 : 0;
	row->rtt_p99_us = n ? (double)samples[n * 99 / 100] / 1e3 : 0;
	row->notifications_per_msg = notifications_per_msg;
}

/* ------------------------------------------------------------ spin */

struct spin_pair {
	/* The pinger writes odd values, the echoer answers with the next even
	 * one; each side only ever waits for the other's value. UINT64_MAX
	 * (odd) tells the echoer to stop. */
	_Alignas(128) _Atomic uint64_t word;
};

static void *spin_echoer(void *arg)
{
	struct spin_pair *p = arg;
	uint64_t seen = 0;
	for (;;) {
		uint64_t v;
		/* Acquire: pairs with the pinger's release store. */
		while ((v = atomic_load_explicit(&p->word, memory_order_acquire)) == seen ||
		       !(v & 1))
			vamos_cpu_relax();
		if (v == UINT64_MAX)
			return NULL;
		seen = v + 1;
		atomic_store_explicit(&p->word, seen, memory_order_release);
	}
}

int bt_floor_spin(double seconds, struct bt_row *row)
{
	struct spin_pair *p = aligned_alloc(128, sizeof *p);
	int64_t *samples = malloc(MAX_SAMPLES * sizeof *samples);
	pthread_t t;
	if (!p || !samples) {
		free(p);
		free(samples);
		return -ENOMEM;
	}
	atomic_init(&p->word, 0);
	if (pthread_create(&t, NULL, spin_echoer, p)) {
		free(p);
		free(samples);
		return -EAGAIN;
	}
	uint64_t n = 0, done = 0, v = 1;
	int64_t start = vamos_now_ns(), end = start + (int64_t)(seconds * 1e9), now = start;
	while (now < end) {
		int64_t t0 = vamos_now_ns();
		atomic_store_explicit(&p->word, v, memory_order_release);
		while (atomic_load_explicit(&p->word, memory_order_acquire) != v + 1)
			vamos_cpu_relax();
		now = vamos_now_ns();
		if (n < MAX_SAMPLES)
			samples[n++] = now - t0;
		done++;
		v += 2;
	}
	double secs = (double)(now - start) / 1e9;
	atomic_store_explicit(&p->word, UINT64_MAX, memory_order_release);
	pthread_join(t, NULL);
	fill_row(row, "floor_spin", "poll", samples, n, done, secs, 0);
	free(samples);
	free(p);
	return 0;
}

/* ------------------------------------------------------------ eventfd */

struct efd_pair {
	int ping, pong;
};

static void *efd_echoer(void *arg)
{
	struct efd_pair *p = arg;
	for (;;) {
		eventfd_t v;
		if (eventfd_read(p->ping, &v) || v == 0 || v >= 2)
			return NULL; /* 2: told to stop */
		if (eventfd_write(p->pong, 1))
			return NULL;
	}
}

int bt_floor_eventfd(double seconds, struct bt_row *row)
{
	struct efd_pair p = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	int64_t *samples = malloc(MAX_SAMPLES * sizeof *samples);
	pthread_t t;
	int rc = 0;
	if (p.ping < 0 || p.pong < 0 || !samples) {
		rc = samples ? -errno : -ENOMEM;
		goto out;
	}
	if (pthread_create(&t, NULL, efd_echoer, &p)) {
		rc = -EAGAIN;
		goto out;
	}
	uint64_t n = 0, done = 0;
	int64_t start = vamos_now_ns(), end = start + (int64_t)(seconds * 1e9), now = start;
	while (now < end) {
		int64_t t0 = vamos_now_ns();
		eventfd_t v;
		if (eventfd_write(p.ping, 1) || eventfd_read(p.pong, &v)) {
			rc = -errno;
			break;
		}
		now = vamos_now_ns();
		if (n < MAX_SAMPLES)
			samples[n++] = now - t0;
		done++;
	}
	double secs = (double)(now - start) / 1e9;
	if (eventfd_write(p.ping, 2))
		abort(); /* the echoer would never be joined */
	pthread_join(t, NULL);
	if (rc == 0)
		fill_row(row, "floor_eventfd", "sleep", samples, n, done, secs, 2);
out:
	free(samples);
	if (p.ping >= 0)
		close(p.ping);
	if (p.pong >= 0)
		close(p.pong);
	return rc;
}
