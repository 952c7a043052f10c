/* SPDX-License-Identifier: MIT */
/*
 * A poller thread serves a set of sessions, of any VMs: it spins over them
 * while there is work and for a short while after (poller_spin.h), taking
 * at most one batch (SESSION_BATCH records) of a session before it moves on
 * to the next, round-robin, then announces on every channel
 * that it sleeps (need_wakeup) and sleeps in epoll on their notification
 * fds, its completion eventfd and its wake eventfd — never spinning on an
 * idle VM.
 *
 * Parking: a session without records for longer than that spin is parked
 * on its own, while the poller spins on for the others: need_wakeup is
 * announced on its channel alone and it is no longer polled, so a busy
 * VM's round trip does not pay for the idle VMs beside it. While it spins,
 * the poller looks at epoll without blocking every PEEK_NS (poller.c) and
 * polls again the sessions whose doorbell rang; once all are parked it
 * sleeps as above. A parked VM's next request costs it one doorbell.
 * Channels that can only be polled, or that share their eventfd with
 * another channel, are never parked.
 *
 * The set is published with RCU (liburcu QSBR): the poller is a QSBR
 * reader, quiescent once per loop and offline while it sleeps (holding
 * its own references on the sessions it sleeps on); the main thread swaps
 * a set, wakes the poller, and waits a grace period before it lets go of
 * the sessions it removed.
 *
 * A session may move to another poller (pollers_move): it leaves this set
 * without being marked removed, this poller hands its buffered replies to
 * the other's inbox (poller_hand_off), and only then does the other take
 * it, so its ring has one producer at a time.
 *
 * While it serves sessions it advances the heartbeat of every VM they
 * belong to (heartbeat.h), as the liveness thread allows.
 */
#ifndef VAMOSD_POLLER_H
#define VAMOSD_POLLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu/wfcqueue.h>

#include <vamos/ring.h>

#include "poller_spin.h"
#include "reply.h"
#include "session.h"

struct session_set {
	unsigned count;
	struct session *sessions[]; /* each referenced by the set */
};

/* Relaxed atomics, read by stats: each a monotonic count. */
struct poller_counters {
	atomic_uint_fast64_t polling_ns, sleeping_ns, sleeps;
	atomic_uint_fast64_t handled; /* records and completions it handled */
	/* Wall time of the loops that handled at least one record or
	 * completion (the balancer's load: pollers_balance.h). */
	atomic_uint_fast64_t busy_ns;
	atomic_uint_fast64_t parked;  /* sessions parked now (not a count) */
};

struct poller {
	char name[64];
	pthread_t thread;
	struct session_set *set;  /* RCU-protected */
	int epoll_fd;
	int wake_fd;              /* eventfd: completions, a new set, stop */
	struct reply_inbox inbox; /* buffered replies for its sessions */
	atomic_bool stopping;
	struct poller_spin spin;  /* poller-thread only after start */
	uint64_t boot_id;
	struct poller_counters counters;

	atomic_uint set_gen;      /* bumped with every new set */
	atomic_uint fds_gen;      /* the set_gen whose fds are in epoll */
	atomic_bool exited;       /* its loop has ended (no more epoll_ctl) */
	/* Bumped (release) by the poller before each quiescent state; read
	 * (acquire) after a grace period, so tools that cannot see liburcu's
	 * grace periods (ThreadSanitizer) see the ordering they give. */
	atomic_ulong quiescent_seq;
	/* For the liveness thread (liveness.h): loops ever begun, and whether
	 * the poller sleeps in epoll now (asleep is idle, not stuck). Relaxed
	 * both ways: they only say "still moving". */
	atomic_ulong loops;
	atomic_bool in_sleep;
	int64_t last_beat_ns;     /* poller-thread only */
	/* A move's hand-off (poller_hand_off()): the session whose buffered
	 * replies go to @hand_to, set (release) by the main thread and
	 * cleared (release) by the poller once done. */
	_Atomic(struct session *) hand_over;
	struct reply_inbox *hand_to;

	/* Poller-thread only. */
	unsigned seen_gen;        /* set_gen whose fds are in epoll */
	int *fds;                 /* those fds */
	unsigned fd_count, fd_cap;
	struct completion *retry; /* completions whose ring was full */
	struct session **asleep;  /* sessions held across a sleep */
	unsigned asleep_cap;
	unsigned parked;          /* of the set, at the last pass */
	uint64_t drains;          /* drain_completions() calls so far */
	int64_t peeked_at;        /* the last look at epoll */
	/* The set's sessions that are neither parked nor failed (poller.c
	 * list_active()), and how many of the set were parked then. */
	struct session **active;
	unsigned active_count, active_cap, active_parked, active_gen;
	const struct session_set *active_of;
	bool active_stale;
};

int poller_start(struct poller *p, const char *name, int64_t spin_ns, uint64_t boot_id);

/* Replace the set (main thread): publish, wake, wait a grace period, then
 * mark the sessions not in @set removed and drop the old set's
 * references. @set may be NULL (serve nothing). */
void poller_set_sessions(struct poller *p, struct session_set *set);

/* As poller_set_sessions(), but the sessions that leave are moving to
 * another poller: they are not marked removed, so their late completions
 * still reach them (poller_hand_off() next). Main thread. */
void poller_set_sessions_moving(struct poller *p, struct session_set *set);

/* After @s left @p's set by poller_set_sessions_moving(): @p's thread
 * passes its buffered replies for @s (inbox and ring-full retries, oldest
 * first) to @to's inbox and points s->inbox there (reply_hand_off()); on
 * return @p no longer touches @s, and @to may take it. Main thread; @p
 * running (not exited). */
void poller_hand_off(struct poller *p, struct session *s, struct poller *to);

/* Finish what is in flight (every record read, every blocking request
 * answered, for at most a drain limit), then stop and join the thread. Its
 * sessions stay set. */
void poller_stop(struct poller *p);
/* Start that drain without waiting (so many pollers drain at once). */
void poller_request_stop(struct poller *p);

/* After poller_stop: let go of the sessions, of the replies it never
 * wrote and of the fds. */
void poller_destroy(struct poller *p);

/* A set of @n sessions (references taken), or NULL. */
struct session_set *session_set_new(struct session *const *sessions, unsigned n);

#endif
