/* SPDX-License-Identifier: MIT */
/*
 * A stand-in channel for in-process poller tests (host-server/poller.c
 * on no real transport): the test queues requests, the poller takes them
 * and its replies are counted. With a doorbell it behaves like a ring's
 * consumer side on an eventfd: the poller's prepare_sleep announces
 * need_wakeup, and a request queued while it is announced takes the
 * announcement and rings the eventfd; without one it can only be polled.
 */
#ifndef VAMOS_TEST_STANDIN_CHAN_H
#define VAMOS_TEST_STANDIN_CHAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vamos/channel.h>

#define STANDIN_MAX_REQUESTS 2048
#define STANDIN_MAX_PAYLOAD (1u << 20)

struct standin_chan {
	struct vamos_chan chan; /* first: the channel the session holds */
	int who;
	struct vamos_record in[STANDIN_MAX_REQUESTS];
	/* Requests the poller may take: raised (seq-cst) by the test after
	 * it wrote them. */
	atomic_uint in_count;
	unsigned next;          /* poller thread only */
	unsigned char *out;     /* reply scratch */
	atomic_uint replies;
	atomic_bool hang;       /* poll() waits while set: a hung read */
	atomic_bool hanging;
	int doorbell;           /* eventfd, or -1: polled only */
	atomic_bool need_wakeup; /* announced by the poller */
	atomic_uint polls;      /* poll() calls */
	atomic_uint doorbells;  /* eventfd writes */
	/* While set, every poll() hands out one more echo request: a VM
	 * that is never idle, so its poller never sleeps. */
	atomic_bool endless;
	uint64_t endless_request[4];
	/* Replies committed since the last flush, and the most one flush
	 * carried (poller thread writes; read once it stopped). */
	atomic_uint unflushed, most_per_flush;
	/* While set, the reply ring is full: every reserve says -EAGAIN. */
	atomic_bool full;
	/* While nonzero, the ring has room for less than this many payload
	 * bytes: a larger reserve says -EAGAIN, a smaller one succeeds. */
	atomic_uint room;
	atomic_uint refused; /* reserves that said -EAGAIN */
	/* Reply i's request id and the thread that committed it (written
	 * before replies counts it: read those below the count, acquire). */
	uint64_t reply_id[STANDIN_MAX_REQUESTS];
	pthread_t reply_by[STANDIN_MAX_REQUESTS];
};

/* A stand-in named @who, with an eventfd doorbell or polled only; NULL
 * if out of memory or fds. */
struct standin_chan *standin_new(int who, bool doorbell);
void standin_free(struct standin_chan *f);

/* Queue @n requests of @service with @len payload bytes each (op
 * @op), visible to the poller at once, ringing the doorbell if the
 * poller announced sleep. Returns 0, or -1 past STANDIN_MAX_REQUESTS. */
int standin_queue(struct standin_chan *f, unsigned n, uint16_t service, uint16_t op,
		  uint32_t len);

/* Wait until @f has @n replies (no clock: a test that never gets them
 * fails by its own timeout). */
void standin_await_replies(struct standin_chan *f, unsigned n);

/* Every reply committed, in the order the poller made them: who made
 * it. Reset with standin_order_reset(). */
void standin_order_reset(void);
/* Copy up to @max of that order into @out; returns how many. */
unsigned standin_order_copy(int *out, unsigned max);
/* How many replies of @who were made before the first of @other's. */
unsigned standin_before_first(int who, int other);

#endif
