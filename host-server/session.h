/* SPDX-License-Identifier: MIT */
/*
 * One channel as vamosd serves it: its state, its references and its
 * counters (serving it is serve.h's). Sessions belong to one poller
 * thread at a time (the balancer may move one to another poller:
 * pollers.h); replies made elsewhere reach that poller through its inbox
 * (reply.h).
 */
#ifndef VAMOSD_SESSION_H
#define VAMOSD_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vamos/channel.h>

#include "config.h"

/* A session's budget per turn of its poller: at most SESSION_BATCH
 * records, and no more once SESSION_BUDGET_BYTES of requests are handled
 * (at least one record a turn). It bounds what another session of the same
 * poller waits for between two of its turns, whatever this one queued. */
#define SESSION_BATCH 64
#define SESSION_BUDGET_BYTES (64u << 10)
/* Within a turn on shared memory, replies are published every this many
 * (serve.c), so the guest takes the first while the rest are written. */
#define SESSION_PUBLISH_EVERY 16
/* Most requests of one session on the blocking pool at once. */
#define SESSION_MAX_BLOCKING 256

struct reply_inbox;
struct heartbeat;
struct blocking_queue;

/* Counters a poller publishes and `vamosctl stats` reads (relaxed atomics:
 * each is a monotonic count, read without tearing). */
struct session_counters {
	atomic_uint_fast64_t requests, replies, batches, bytes_in, bytes_out;
	atomic_uint_fast64_t doorbells_received, interrupts_sent, sleeps;
	atomic_uint_fast64_t errors;          /* replies with a negative status */
	atomic_uint_fast64_t protocol_errors; /* malformed records: session ended */
	atomic_uint_fast64_t in_flight;       /* on the blocking pool now */
	/* Records and completions its poller handled: the balancer's
	 * measure of which session keeps a poller busy (pollers_balance.h). */
	atomic_uint_fast64_t handled;
};

/* A plain snapshot of counters, summed over sessions (stats, and a VM's
 * sessions that have ended). */
struct session_totals {
	uint64_t requests, replies, batches, bytes_in, bytes_out;
	uint64_t doorbells, interrupts, sleeps, errors, protocol_errors, in_flight;
};

struct session {
	struct vamos_chan *ch;
	vm_id vm;            /* the VM it serves; VM_NONE for a stream session */
	const char *label;   /* for logs only: the VM's name, or "stream" */
	uint32_t index;      /* channel index, or stream session number */
	uint32_t cid;        /* a vsock session's peer CID (the kernel's), else 0 */
	/* Its poller's: where buffered replies go. Read and (by a move)
	 * switched only under reply.c's post lock once it is served. */
	struct reply_inbox *inbox;
	struct blocking_queue *queue; /* its owner's blocking work */
	/* Its VM's heartbeat, which its poller advances (NULL: a stream's,
	 * none). Outlives the session's time in any set. */
	struct heartbeat *beat;

	bool welcomed;       /* HELLO answered */
	const char *failure; /* why it ended, NULL while serving */
	/* Records taken from the ring but not yet handled (reply ring was
	 * full); they stay valid because the batch is not released yet. */
	struct vamos_record held[SESSION_BATCH];
	unsigned held_count, held_next;
	bool unflushed;

	/* Parking (poller.h), its poller's thread only. */
	bool parked;          /* need_wakeup announced; not polled till it rings */
	bool watched;         /* its fd is in its poller's epoll set */
	/* Its notification fd's eventfd is another channel's too (more
	 * channels than vectors): never parked, as taking one channel's
	 * doorbell would swallow the other's. Set before it is served. */
	bool shared_doorbell;
	bool counters_stale;  /* channel stats moved since last published */
	int64_t busy_at;      /* last loop it had records, or was unparked */
	/* The poller and its drain of completions in which one of its
	 * buffered replies found the ring full: its later ones wait behind
	 * it in that drain, so replies go out in the order they were made. */
	const void *waiting_in;
	uint64_t waiting_drain;

	/* Main thread only: where its owner keeps the number of the host
	 * poller serving it (a VM's poller_of[i]; NULL: not a host poller's),
	 * which a move between pollers updates, and the handled count the
	 * balancer saw last. */
	unsigned *placed;
	uint64_t balance_seen;

	atomic_int refs;       /* the set that serves it + blocking tasks */
	atomic_bool removed;   /* no longer served: drop late completions */
	struct session_counters counters;
};

/* A session over @ch (taken over) for VM @vm (VM_NONE: a stream), named
 * @label in logs; one reference held by the caller. */
struct session *session_new(struct vamos_chan *ch, vm_id vm, const char *label,
			    uint32_t index);

/* The guest said HELLO to our predecessor (vamosd restarted in place):
 * take its requests without a new one. Before the session is served. */
void session_assume_welcomed(struct session *s);
void session_ref(struct session *s);
/* Drop a reference; the last one closes the channel and frees. */
void session_unref(struct session *s);

/* Add @s's published counters to @t. */
void session_totals_add(struct session_totals *t, const struct session *s);

/* Copy the channel's counters into s->counters (poller thread only; it
 * does so when they are stale: records taken, a flush, parking). */
void session_publish_counters(struct session *s);

#endif
