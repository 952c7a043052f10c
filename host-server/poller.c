/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#define _LGPL_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "heartbeat.h"
#include "log.h"
#include "poller.h"
#include "poller_spin.h"
#include "reply.h"
#include "serve.h"
#include "vamos_spin.h"

/* Sleep bounds: with channels that can only be polled, or replies waiting
 * for room, nap this long; otherwise wake at least this often anyway. */
#define NAP_MS 1
#define MAX_SLEEP_MS 1000
/* How long a stopping poller waits for its guests to make room for the
 * replies it owes. */
#define DRAIN_LIMIT_NS 10000000000ll
/* While it spins over its active sessions, a poller looks for the
 * doorbells of its parked ones (epoll_wait without blocking) at most this
 * often: about what the doorbell itself costs (an eventfd wakeup, ~20 us),
 * so a parked VM's first request waits at most about that much more, while
 * the system call (~1 us) takes at most a few percent of a busy poller. */
#define PEEK_NS 20000
#define MAX_EVENTS 64

struct session_set *session_set_new(struct session *const *sessions, unsigned n)
{
	struct session_set *set = malloc(sizeof *set + n * sizeof set->sessions[0]);
	if (!set)
		return NULL;
	set->count = n;
	for (unsigned i = 0; i < n; i++) {
		set->sessions[i] = sessions[i];
		session_ref(sessions[i]);
	}
	return set;
}

/* ------------------------------------------------------------- parking */

/* Can @s be parked: its doorbell in our epoll set and its own, and no
 * records held (a full reply ring frees up without a doorbell)? */
static bool parkable(const struct session *s)
{
	return s->watched && !s->shared_doorbell && s->held_next == s->held_count;
}

/* Announce need_wakeup on @s's channel alone and stop polling it. False if
 * records arrived meanwhile (it stays active) or the channel failed. */
static bool park(struct poller *p, struct session *s)
{
	/* No lost wakeup: the announcement is published before the channel's
	 * last look (seq-cst, in the ring), so a guest publish after that
	 * look sees it and rings, and its fd stays readable (level-triggered)
	 * in our epoll set until we take it. */
	int rc = vamos_chan_prepare_sleep(s->ch);
	s->counters_stale = true;
	s->parked = rc == 1;
	p->active_stale |= s->parked;
	return s->parked;
}

/* Its doorbell rang (or a reply is due): take the doorbell, withdraw the
 * announcement and poll it again from now. */
static void unpark(struct poller *p, struct session *s, int64_t now)
{
	p->active_stale = true;
	vamos_chan_awake(s->ch);
	s->parked = false;
	s->busy_at = now;
	s->counters_stale = true;
}

/* Withdraw every announcement of @set (its sessions that are still ours). */
static void unpark_all(struct poller *p, struct session_set *set, int64_t now)
{
	for (unsigned i = 0; set && i < set->count; i++) {
		struct session *s = set->sessions[i];
		/* Acquire: pairs with the release that marked it removed. */
		if (s->parked && !s->failure &&
		    !atomic_load_explicit(&s->removed, memory_order_acquire))
			unpark(p, s, now);
	}
}

static void wake(struct poller *p)
{
	uint64_t one = 1;
	if (write(p->wake_fd, &one, sizeof one) < 0) {
		/* A full counter already means "wake up". */
	}
}

/* Keep epoll's fds in step with the set being served, each event naming
 * its session. The fds are our own copy: the previous set may already be
 * freed. A parked session kept by the new set stays parked: a doorbell
 * rung between its fd's removal and its return is reported when it is
 * added back (its eventfd is still readable). */
static void register_fds(struct poller *p, struct session_set *set, unsigned gen, int64_t now)
{
	if (gen == p->seen_gen)
		return;
	for (unsigned i = 0; i < p->fd_count; i++)
		epoll_ctl(p->epoll_fd, EPOLL_CTL_DEL, p->fds[i], NULL);
	p->fd_count = 0;
	unsigned n = set ? set->count : 0;
	if (n > p->fd_cap) {
		int *fds = realloc(p->fds, n * sizeof *fds);
		if (!fds) {
			/* No doorbell can reach us: poll everything. */
			unpark_all(p, set, now);
			for (unsigned i = 0; i < n; i++)
				set->sessions[i]->watched = false;
			return; /* retried next loop: seen_gen unchanged */
		}
		p->fds = fds;
		p->fd_cap = n;
	}
	for (unsigned i = 0; i < n; i++) {
		struct session *s = set->sessions[i];
		int fd = vamos_chan_fd(s->ch);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
		s->watched = fd >= 0 && !s->failure &&
			     epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0;
		if (s->watched)
			p->fds[p->fd_count++] = fd;
		else if (s->parked && !s->failure)
			unpark(p, s, now);
	}
	p->seen_gen = gen;
	/* Release: the old set's fds are out of epoll before the main thread,
	 * seeing this, lets them be closed (see poller_set_sessions()). */
	atomic_store_explicit(&p->fds_gen, gen, memory_order_release);
}

/* A failed session's fd (a closed socket) would wake us forever. */
static void forget_fd(struct poller *p, struct session *s)
{
	int fd = vamos_chan_fd(s->ch);
	s->watched = false;
	for (unsigned i = 0; fd >= 0 && i < p->fd_count; i++)
		if (p->fds[i] == fd) {
			epoll_ctl(p->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
			p->fds[i] = p->fds[--p->fd_count];
			break;
		}
}

/* Write the replies the blocking pool finished, oldest first; those that
 * find the ring full wait for the next round, and so do their sessions'
 * later ones, so each session's replies leave in the order they were
 * made. Returns how many went out. */
static int drain_completions(struct poller *p, int64_t now)
{
	struct completion *list = p->retry, **end = &list;
	while (*end)
		end = &(*end)->next;
	for (struct completion *c; (c = reply_inbox_take(&p->inbox)); end = &c->next)
		*end = c;
	/* Acquire: pairs with poller_hand_off()'s release; the session left
	 * our set (a grace period ago), and hand_to is set. */
	struct session *moving = atomic_load_explicit(&p->hand_over, memory_order_acquire);
	if (moving) {
		reply_hand_off(&p->inbox, &list, moving, p->hand_to);
		/* Release: what we did to the session happens before its new
		 * poller takes it (the main thread acquires this). */
		atomic_store_explicit(&p->hand_over, NULL, memory_order_release);
	}
	int work = 0;
	struct completion **keep = &p->retry;
	p->retry = NULL;
	uint64_t drain = ++p->drains;
	while (list) {
		struct completion *c = list;
		list = c->next;
		struct session *s = c->session;
		/* Acquire: pairs with the main thread's removal before its
		 * grace period; a removed session's ring is not ours. */
		bool gone = atomic_load_explicit(&s->removed, memory_order_acquire);
		/* A parked session is polled again to flush it (its doorbell is
		 * its own: taking it swallows nobody else's). */
		if (!gone && s->parked && !s->failure)
			unpark(p, s, now);
		/* Behind a reply of its own that did not fit (a smaller one may,
		 * or the peer may make room meanwhile): it waits too. */
		bool behind = s->waiting_in == p && s->waiting_drain == drain;
		if (!gone && (behind || reply_deliver(s, c->reply, c->reply_len) == -EAGAIN)) {
			s->waiting_in = p;
			s->waiting_drain = drain;
			c->next = NULL;
			*keep = c;
			keep = &c->next;
			continue;
		}
		atomic_fetch_sub_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
		if (!gone) {
			s->counters_stale = true;
			atomic_fetch_add_explicit(&s->counters.handled, 1, memory_order_relaxed);
		}
		completion_free(c);
		session_unref(s);
		work++;
	}
	return work;
}

/* Do sessions of @set still wait for replies from the blocking pool? */
static bool owes_replies(const struct session_set *set)
{
	for (unsigned i = 0; set && i < set->count; i++) {
		const struct session *s = set->sessions[i];
		if (!s->failure &&
		    atomic_load_explicit(&s->counters.in_flight, memory_order_relaxed))
			return true;
	}
	return false;
}

/* List the sessions of @set (generation @gen) that are neither parked nor
 * failed, in the set's order, so that a pass costs nothing for parked ones;
 * relisted only when the set changes or a session parks, unparks or fails.
 * The list outlives quiescent states, but is never used before it is
 * checked against the set and generation of the loop (a set freed after a
 * grace period and another allocated at its address come with a newer
 * generation, which this loop sees). False: no memory, serve the set. */
static bool list_active(struct poller *p, struct session_set *set, unsigned gen)
{
	if (set == p->active_of && gen == p->active_gen && !p->active_stale)
		return true;
	unsigned n = set ? set->count : 0;
	if (n > p->active_cap) {
		struct session **a = realloc(p->active, n * sizeof *a);
		if (!a) {
			p->active_stale = true; /* retried next pass */
			return false;
		}
		p->active = a;
		p->active_cap = n;
	}
	p->active_count = p->active_parked = 0;
	for (unsigned i = 0; i < n; i++) {
		struct session *s = set->sessions[i];
		if (s->parked)
			p->active_parked++;
		else if (!s->failure)
			p->active[p->active_count++] = s;
	}
	p->active_of = set;
	p->active_gen = gen;
	p->active_stale = false;
	return true;
}

/* One pass over the active sessions, in order, parking those idle for
 * longer than the spin. Fairness: session_serve() handles at most
 * SESSION_BATCH records of a session per pass, so a session waits at most
 * that many records of each other session of the poller between two of its
 * turns, however many a flooding VM has queued. */
static int serve_all(struct poller *p, struct session_set *set, unsigned gen, int64_t now,
		     bool *held)
{
	int work = drain_completions(p, now);
	*held = p->retry != NULL;
	/* Draining: finish what was taken, take nothing new, park nothing. */
	bool take_new = !atomic_load(&p->stopping);
	bool listed = list_active(p, set, gen);
	struct session *const *list = listed ? p->active : set ? set->sessions : NULL;
	unsigned count = listed ? p->active_count : set ? set->count : 0;
	unsigned parked = listed ? p->active_parked : 0;
	for (unsigned i = 0; i < count; i++) {
		struct session *s = list[i];
		if (s->failure)
			continue;
		if (s->parked) {
			parked++; /* its doorbell unparks it: take_doorbells() */
			continue;
		}
		int n = session_serve(s, p->boot_id, take_new);
		if (n < 0) {
			forget_fd(p, s);
			p->active_stale = true;
		} else if (n > 0) {
			s->busy_at = now;
			work += n;
			atomic_fetch_add_explicit(&s->counters.handled, (uint64_t)n,
						  memory_order_relaxed);
		}
		/* Replies queued by completions go out with this flush too. */
		if (s->held_next < s->held_count)
			*held = true;
		else if (!n && take_new && now - s->busy_at >= p->spin.ns && parkable(s) &&
			 park(p, s))
			parked++;
		if (n || s->counters_stale)
			session_publish_counters(s);
	}
	if (parked != p->parked) {
		p->parked = parked;
		atomic_store_explicit(&p->counters.parked, parked, memory_order_relaxed);
	}
	return work;
}

/* Epoll says these fds are readable: a parked session's doorbell rang (or
 * its socket has bytes), so it is polled from this loop on; a stale
 * doorbell of an active one is taken, so that its fd goes quiet. Every
 * session named is alive: its fd is still in our epoll set, and the main
 * thread lets go of a set's sessions only once we took their fds out. */
static void take_doorbells(struct poller *p, const struct epoll_event *evs, int got,
			   int64_t now)
{
	for (int i = 0; i < got; i++) {
		if (evs[i].data.ptr == p) {
			uint64_t v;
			if (read(p->wake_fd, &v, sizeof v) < 0) {
				/* Already drained: nothing to do. */
			}
			continue;
		}
		struct session *s = evs[i].data.ptr;
		/* Acquire: pairs with the release that marked it removed; a
		 * removed session's ring is no longer ours. */
		if (atomic_load_explicit(&s->removed, memory_order_acquire))
			continue;
		if (s->failure) {
			forget_fd(p, s); /* a closed socket would fire forever */
			p->active_stale = true;
		} else if (s->parked) {
			unpark(p, s, now);
		} else if (!s->shared_doorbell) {
			vamos_chan_awake(s->ch);
		}
	}
}

/* While spinning: the doorbells of parked sessions, without blocking. */
static void peek(struct poller *p, int64_t now)
{
	struct epoll_event evs[MAX_EVENTS];
	p->peeked_at = now;
	int got = epoll_wait(p->epoll_fd, evs, MAX_EVENTS, 0);
	take_doorbells(p, evs, got, now);
}

/* Park every session still active (those that cannot be parked announce
 * sleep for this sleep only), then sleep unless one had records; the
 * doorbells that end the sleep unpark their sessions, the others stay
 * parked. Returns how long it slept (0: it did not).
 * Asleep we are offline for RCU, so a grace period never waits for our
 * wakeup; the sessions announced for this sleep only are held by our own
 * references meanwhile, as the set itself may be freed while we sleep
 * (parked ones are reached through their fds: take_doorbells()). */
static int64_t sleep_on(struct poller *p, struct session_set *set, bool held)
{
	int64_t slept = 0;
	int timeout = MAX_SLEEP_MS;
	unsigned n = set ? set->count : 0, prepared = 0;
	bool may_sleep = true;
	if (held || p->retry)
		timeout = NAP_MS;
	if (n > p->asleep_cap) {
		struct session **a = realloc(p->asleep, n * sizeof *a);
		if (!a)
			return 0; /* spin on instead; retried next time */
		p->asleep = a;
		p->asleep_cap = n;
	}
	bool take_new = !atomic_load(&p->stopping);
	for (unsigned i = 0; i < n && may_sleep; i++) {
		struct session *s = set->sessions[i];
		if (s->failure || s->parked)
			continue;
		if (take_new && parkable(s)) {
			if (park(p, s))
				p->parked++;
			else
				may_sleep = false; /* records arrived, or it failed */
			continue;
		}
		if (vamos_chan_fd(s->ch) < 0)
			timeout = NAP_MS; /* a channel we can only poll */
		int rc = vamos_chan_prepare_sleep(s->ch);
		session_ref(s);
		p->asleep[prepared++] = s;
		if (rc != 1)
			may_sleep = false; /* records arrived, or it failed */
	}
	atomic_store_explicit(&p->counters.parked, p->parked, memory_order_relaxed);
	if (may_sleep) {
		struct epoll_event evs[MAX_EVENTS];
		int64_t t0 = vamos_now_ns();
		atomic_fetch_add_explicit(&p->counters.sleeps, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->quiescent_seq, 1, memory_order_release);
		/* Relaxed: liveness only asks whether we are idle. */
		atomic_store_explicit(&p->in_sleep, true, memory_order_relaxed);
		rcu_thread_offline();
		int got = epoll_wait(p->epoll_fd, evs, MAX_EVENTS, timeout);
		rcu_thread_online();
		atomic_store_explicit(&p->in_sleep, false, memory_order_relaxed);
		int64_t now = vamos_now_ns();
		take_doorbells(p, evs, got, now);
		p->peeked_at = now;
		slept = now - t0;
		atomic_fetch_add_explicit(&p->counters.sleeping_ns, (uint64_t)slept,
					  memory_order_relaxed);
	}
	for (unsigned i = 0; i < prepared; i++) {
		struct session *s = p->asleep[i];
		/* Online again: a session removed while we slept (offline, so
		 * the grace period did not wait for us) may have its region
		 * laid out afresh by now; its ring is no longer ours to touch.
		 * Acquire: pairs with the release that marked it. */
		if (!s->failure && !atomic_load_explicit(&s->removed, memory_order_acquire))
			vamos_chan_awake(s->ch);
		session_unref(s);
	}
	return slept;
}

/* The heartbeats (heartbeat.h) of the VMs whose sessions we serve,
 * advanced by the threads that serve their regions: only while a peer's
 * sessions are ours (a set published after the region was last laid out
 * or repaired, so that remap happens before this write), and while the
 * liveness thread finds every poller serving that VM moving (relaxed: a
 * verdict, it orders nothing). A VM's sessions sit together in the set
 * (those a move brought come at its end, and may beat a region twice in
 * one pass: harmless, a beat only says alive). */
static void beat(struct poller *p, const struct session_set *set, int64_t now)
{
	if (!set || !set->count || now - p->last_beat_ns < (int64_t)LIVENESS_BEAT_MS * 1000000)
		return;
	const struct heartbeat *last = NULL;
	for (unsigned i = 0; i < set->count; i++) {
		const struct heartbeat *hb = set->sessions[i]->beat;
		if (!hb || hb == last)
			continue;
		last = hb;
		if (hb->region.base && atomic_load_explicit(&hb->ok, memory_order_relaxed))
			vamos_region_beat(&hb->region);
	}
	p->last_beat_ns = now;
}

/* When a loop starts: the clock costs about a busy-wait turn, so a loop
 * that follows one which neither slept nor yielded starts where that one
 * ended (@carried; its pause, if any, counts as polling), and the clock
 * is read once per loop rather than twice. */
static int64_t pass_start(int64_t carried)
{
	return carried ? carried : vamos_now_ns();
}

static void *loop(void *arg)
{
	struct poller *p = arg;
	rcu_register_thread();
	int64_t idle_since = vamos_now_ns(), drain_until = 0;
	int64_t slept = -1; /* the last sleep, until the loop after it */
	int64_t carried = 0; /* where the last loop ended, if it did not wait */
	for (;;) {
		/* Relaxed: a progress counter for liveness, orders nothing. */
		atomic_fetch_add_explicit(&p->loops, 1, memory_order_relaxed);
		int64_t t0 = pass_start(carried);
		/* Acquire: the set's contents are complete when we see its
		 * generation (bumped after it was published). */
		unsigned gen = atomic_load_explicit(&p->set_gen, memory_order_acquire);
		/* Acquire, pairing with poller_set_sessions' exchange: the set's
		 * contents are complete when we see its pointer, whether or not
		 * its generation moved yet (a compiler builtin, which TSan sees;
		 * urcu's consume load and assembly exchange it does not). */
		struct session_set *set = __atomic_load_n(&p->set, __ATOMIC_ACQUIRE);
		register_fds(p, set, gen, t0);
		beat(p, set, t0);
		if (p->parked && t0 - p->peeked_at >= PEEK_NS)
			peek(p, t0); /* those that rang are served in this pass */
		bool held;
		int work = serve_all(p, set, gen, t0, &held);
		int64_t t1 = vamos_now_ns();
		atomic_fetch_add_explicit(&p->counters.polling_ns, (uint64_t)(t1 - t0),
					  memory_order_relaxed);
		if (work) {
			atomic_fetch_add_explicit(&p->counters.handled, (uint64_t)work,
						  memory_order_relaxed);
			atomic_fetch_add_explicit(&p->counters.busy_ns, (uint64_t)(t1 - t0),
						  memory_order_relaxed);
		}
		if (slept >= 0) {
			poller_spin_learn(&p->spin, slept, work > 0);
			slept = -1;
		}
		if (atomic_load(&p->stopping)) {
			if (!work && !held && !owes_replies(set))
				break; /* drained: nothing read, nothing owed */
			if (!drain_until)
				drain_until = t1 + DRAIN_LIMIT_NS;
			if (t1 > drain_until) {
				/* A guest that never reads its replies cannot hold
				 * the shutdown hostage. */
				log_warn("%s: gave up draining after %d s (replies not taken)",
					 p->name, (int)(DRAIN_LIMIT_NS / 1000000000ll));
				break;
			}
		}
		carried = 0;
		if (work) {
			idle_since = t1;
			carried = t1;
		} else if (t1 - idle_since >= p->spin.ns) {
			slept = sleep_on(p, set, held);
			idle_since = vamos_now_ns();
		} else {
			vamos_spin_turn(t1 - idle_since);
			if (t1 - idle_since < VAMOS_SPIN_BUSY_NS)
				carried = t1; /* a pause, not a yield */
		}
		/* QSBR: between loops we hold no pointer from the set. */
		atomic_fetch_add_explicit(&p->quiescent_seq, 1, memory_order_release);
		rcu_quiescent_state();
	}
	/* Leaving (the set is still ours until the quiescent state we skip):
	 * the channels are left as a sleep's end leaves them, unannounced. */
	unpark_all(p, __atomic_load_n(&p->set, __ATOMIC_ACQUIRE), vamos_now_ns());
	register_fds(p, NULL, p->seen_gen + 1, 0);
	/* Release: our last epoll_ctl happens before anything closed after. */
	atomic_store_explicit(&p->exited, true, memory_order_release);
	rcu_unregister_thread();
	return NULL;
}

int poller_start(struct poller *p, const char *name, int64_t spin_ns, uint64_t boot_id)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	poller_spin_init(&p->spin, spin_ns);
	p->boot_id = boot_id;
	p->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->epoll_fd < 0 || p->wake_fd < 0)
		return -errno;
	reply_inbox_init(&p->inbox, p->wake_fd);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
	if (epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, p->wake_fd, &ev) < 0)
		return -errno;
	int rc = pthread_create(&p->thread, NULL, loop, p);
	if (rc)
		atomic_store(&p->exited, true); /* nobody to wait for */
	return -rc;
}

static void drop_set(struct poller *p, struct session_set *old, struct session_set *set,
		     bool moving)
{
	if (moving)
		return; /* they go on, on another poller */
	for (unsigned i = 0; old && i < old->count; i++) {
		struct session *s = old->sessions[i];
		bool kept = false;
		for (unsigned j = 0; set && j < set->count && !kept; j++)
			kept = set->sessions[j] == s;
		if (!kept)
			atomic_store_explicit(&s->removed, true, memory_order_release);
	}
	(void)p;
}

static void replace_set(struct poller *p, struct session_set *set, bool moving)
{
	/* Release (and acquire of @old's contents for drop_set): pairs with
	 * the poller's acquire load of the pointer. */
	struct session_set *old = __atomic_exchange_n(&p->set, set, __ATOMIC_ACQ_REL);
	unsigned gen = atomic_fetch_add_explicit(&p->set_gen, 1, memory_order_release) + 1;
	/* Mark what leaves before the grace period, so a completion the
	 * poller handles after it never touches a ring it no longer owns. */
	drop_set(p, old, set, moving);
	wake(p);
	synchronize_rcu();
	/* Pairs with the poller's release before its quiescent state: every
	 * read it made of @old happens before what follows. */
	(void)atomic_load_explicit(&p->quiescent_seq, memory_order_acquire);
	/* The poller keeps the fds of the sessions it serves in its epoll set
	 * (by number): closing one before it took them out would let a number
	 * re-used meanwhile be taken out instead, and a shared eventfd stay
	 * registered. A poller asleep through the grace period is woken
	 * above, and never blocks for long. Acquire: pairs with its release. */
	while (!atomic_load_explicit(&p->exited, memory_order_acquire) &&
	       (int)(atomic_load_explicit(&p->fds_gen, memory_order_acquire) - gen) < 0) {
		wake(p);
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
	for (unsigned i = 0; old && i < old->count; i++)
		session_unref(old->sessions[i]);
	free(old);
}

void poller_set_sessions(struct poller *p, struct session_set *set)
{
	replace_set(p, set, false);
}

void poller_set_sessions_moving(struct poller *p, struct session_set *set)
{
	replace_set(p, set, true);
}

void poller_hand_off(struct poller *p, struct session *s, struct poller *to)
{
	p->hand_to = &to->inbox;
	/* Release: hand_to is set before the poller sees the request. */
	atomic_store_explicit(&p->hand_over, s, memory_order_release);
	/* Acquire: pairs with the poller's release once it handed off. */
	while (atomic_load_explicit(&p->hand_over, memory_order_acquire)) {
		wake(p);
		nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
}

void poller_request_stop(struct poller *p)
{
	atomic_store(&p->stopping, true);
	wake(p);
}

void poller_stop(struct poller *p)
{
	poller_request_stop(p);
	pthread_join(p->thread, NULL);
}

/* Completions nobody will write (a drain that gave up): let them go. */
static void free_completions(struct poller *p)
{
	struct completion *list = p->retry;
	p->retry = NULL;
	for (struct completion *c; (c = reply_inbox_take(&p->inbox)); list = c)
		c->next = list;
	while (list) {
		struct completion *c = list;
		list = c->next;
		atomic_fetch_sub_explicit(&c->session->counters.in_flight, 1,
					  memory_order_relaxed);
		session_unref(c->session);
		completion_free(c);
	}
}

void poller_destroy(struct poller *p)
{
	poller_set_sessions(p, NULL);
	/* Every session it served is marked removed: after this fence
	 * nothing more is posted to us. */
	reply_posts_settle();
	free_completions(p);
	close(p->epoll_fd);
	close(p->wake_fd);
	free(p->fds);
	free(p->asleep);
	free(p->active);
}
