/* SPDX-License-Identifier: MIT */
/*
 * Spin ping-pongs that model what a ring's polling round trip moves between
 * the cores, varying one thing at a time against the one-word floor:
 *
 *   lines_1      the record says itself that it is there: the waiter
 *                spins on its header word (no separate position)
 *   lines_2      a ring's shape: the record in the data area, the
 *                position (the tail) in its own line; the waiter spins on
 *                the tail and reads the record only once the tail moved,
 *                so its lines arrive after the tail's
 *   lines_2_pf   lines_2, and the waiter also prefetches the two lines the
 *                next record will land in on every turn, so once the tail
 *                moves they are on their way with it
 *   lines_2_sc   lines_2 with a sequentially consistent tail store (the
 *                publish a doorbell handshake needs: xchg on x86)
 *
 * Records are 72 bytes (a header word and a 64-byte payload), as the poll
 * row's are; each direction has its own lines, 128 bytes apart, as a
 * ring's are. The payload words are written before the header, the header
 * before the tail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "vamos_spin.h"

#define MAX_SAMPLES (1u << 20)
#define LINE 128

/* A message as a ring carries a 64-byte payload: a 72-byte record (header
 * word and payload), one after the other through a 4 KiB data area, so most
 * records span two 64-byte lines and share a line with their neighbours. */
#define RECORD_WORDS 9
#define DATA_BYTES 4096
#define RECORD_BYTES (RECORD_WORDS * 8)

/* One direction: the data area and, unless one_line, a tail line. Only the
 * thread that owns @pos (sender or receiver) reads or writes it. */
struct way {
	_Alignas(LINE) _Atomic uint64_t data[DATA_BYTES / 8];
	_Alignas(LINE) _Atomic uint64_t tail;
	_Alignas(LINE) uint32_t send_pos;
	_Alignas(LINE) uint32_t receive_pos;
};

struct lines_pair {
	struct way to_echoer, to_pinger;
	bool one_line, prefetch, seq_cst;
};

static uint32_t next_pos(uint32_t pos)
{
	pos += RECORD_BYTES;
	return pos + RECORD_BYTES > DATA_BYTES ? 0 : pos;
}

static void send(const struct lines_pair *p, struct way *w, uint64_t v)
{
	_Atomic uint64_t *rec = w->data + w->send_pos / 8;
	w->send_pos = next_pos(w->send_pos);
	for (int i = 1; i < RECORD_WORDS; i++)
		atomic_store_explicit(&rec[i], v, memory_order_relaxed);
	if (p->one_line) {
		/* Release: the header word says the record is there. */
		atomic_store_explicit(&rec[0], v, memory_order_release);
		return;
	}
	atomic_store_explicit(&rec[0], v, memory_order_relaxed);
	/* Release (or seq_cst for lines_2_sc): the record before its tail. */
	atomic_store_explicit(&w->tail, v, p->seq_cst ? memory_order_seq_cst
						      : memory_order_release);
}

/* Wait for message @v on @w and return the sum of its record's words. */
static uint64_t receive(const struct lines_pair *p, struct way *w, uint64_t v)
{
	_Atomic uint64_t *rec = w->data + w->receive_pos / 8;
	w->receive_pos = next_pos(w->receive_pos);
	if (p->one_line) {
		/* Acquire: pairs with send's release of the header word. */
		while (atomic_load_explicit(&rec[0], memory_order_acquire) < v)
			vamos_cpu_relax();
	} else {
		for (;;) {
			if (p->prefetch) {
				__builtin_prefetch((const void *)rec, 0, 3);
				__builtin_prefetch((const char *)rec + 64, 0, 3);
			}
			/* Acquire: pairs with send's tail store. */
			if (atomic_load_explicit(&w->tail, memory_order_acquire) >= v)
				break;
			vamos_cpu_relax();
		}
	}
	uint64_t sum = 0;
	for (int i = 0; i < RECORD_WORDS; i++)
		sum += atomic_load_explicit(&rec[i], memory_order_relaxed);
	return sum;
}

static void *echoer(void *arg)
{
	struct lines_pair *p = arg;
	for (uint64_t v = 1;; v++) {
		uint64_t got = receive(p, &p->to_echoer, v) / RECORD_WORDS;
		if (got == UINT64_MAX / RECORD_WORDS) /* told to stop */
			return NULL;
		send(p, &p->to_pinger, got);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int bt_lines(double seconds, enum bt_lines_kind kind, struct bt_row *row)
{
	static const char *const names[] = {
		[BT_LINES_1] = "lines_1",
		[BT_LINES_2] = "lines_2",
		[BT_LINES_2_PREFETCH] = "lines_2_pf",
		[BT_LINES_2_SEQ_CST] = "lines_2_sc",
	};
	struct lines_pair *p = aligned_alloc(LINE, sizeof *p);
	int64_t *samples = malloc(MAX_SAMPLES * sizeof *samples);
	pthread_t t;
	if (!p || !samples) {
		free(p);
		free(samples);
		return -ENOMEM;
	}
	memset(p, 0, sizeof *p);
	p->one_line = kind == BT_LINES_1;
	p->prefetch = kind == BT_LINES_2_PREFETCH;
	p->seq_cst = kind == BT_LINES_2_SEQ_CST;
	if (pthread_create(&t, NULL, echoer, p)) {
		free(p);
		free(samples);
		return -EAGAIN;
	}
	uint64_t n = 0, v = 1;
	int64_t start = vamos_now_ns(), end = start + (int64_t)(seconds * 1e9), now = start;
	int rc = 0;
	while (now < end) {
		int64_t t0 = vamos_now_ns();
		send(p, &p->to_echoer, v);
		if (receive(p, &p->to_pinger, v) != v * RECORD_WORDS)
			rc = -EPROTO;
		now = vamos_now_ns();
		if (n < MAX_SAMPLES)
			samples[n++] = now - t0;
		v++;
	}
	double secs = (double)(now - start) / 1e9;
	send(p, &p->to_echoer, UINT64_MAX / RECORD_WORDS);
	pthread_join(t, NULL);
	qsort(samples, n, sizeof *samples, cmp_i64);
	*row = (struct bt_row){
		.transport = names[kind],
		.mode = "poll",
		.payload = sizeof(uint64_t),
		.batch = 1,
		.msgs_per_sec = (double)(v - 1) / secs,
		.rtt_p50_us = n ? (double)samples[n / 2] / 1e3 : 0,
		.rtt_p99_us = n ? (double)samples[n * 99 / 100] / 1e3 : 0,
	};
	free(samples);
	free(p);
	return rc;
}
