/* SPDX-License-Identifier: MIT */
/*
 * Threads and sessions. A thread's first vamos_session_get() takes the next
 * session round robin and remembers it under the client's pthread key (its
 * destructor lets the thread go when it exits). A session with one thread
 * never locks: each call raises @busy, then looks at @shared (both
 * sequentially consistent, Dekker style). A second thread, holding the
 * session's mutex, sets @shared and waits until @busy is down; from then on
 * every call locks. A lone thread in a long wait looks at @shared between
 * slices and takes the lock when it sees it. On a shared session one
 * waiting thread at a time receives (waits on the channel without the
 * lock) and the others sleep until it routed their replies: see
 * session_step() in io.c and followers.c. Each thread has a token in
 * the session: the requests it submits carry it, so its replies reach it
 * and no other thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static struct session_user *grow_users(struct vamos_session *s, uint32_t cap)
{
	struct session_user *u = realloc(s->users, cap * sizeof *u);
	if (!u)
		return NULL;
	for (uint32_t i = s->user_cap; i < cap; i++) {
		memset(&u[i], 0, sizeof u[i]);
		u[i].call_entry = STASH_NONE;
		u[i].ready.head = u[i].ready.tail = STASH_NONE;
		u[i].handed.head = u[i].handed.tail = STASH_NONE;
	}
	s->users = u;
	s->user_cap = cap;
	return u;
}

int session_init(struct vamos_session *s, struct vamos_client *c, uint32_t index)
{
	memset(s, 0, sizeof *s);
	s->client = c;
	s->index = index;
	atomic_init(&s->shared, false);
	atomic_init(&s->busy, 0);
	s->stash.free_head = STASH_NONE;
	reply_spin_init(&s->spin, c->cfg.poll_max_ns);
	/* Token 0 always exists: a thread that never joined uses it. */
	if (!grow_users(s, 1))
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* The follower's slices are on the clock deadlines are counted on. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&s->turn, &ca);
	pthread_condattr_destroy(&ca);
	if (rc) {
		pthread_mutex_destroy(&s->lock);
		free(s->users);
		s->users = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void user_clear(struct vamos_session *s, struct session_user *u)
{
	stash_release_list(&s->stash, &u->ready);
	stash_release_list(&s->stash, &u->handed);
	if (u->call_entry != STASH_NONE)
		stash_release(&s->stash, u->call_entry);
	free(u->arena);
	memset(u, 0, sizeof *u);
	u->call_entry = STASH_NONE;
	u->ready.head = u->ready.tail = STASH_NONE;
	u->handed.head = u->handed.tail = STASH_NONE;
}

void session_destroy(struct vamos_session *s)
{
	vamos_chan_close(s->ch);
	s->ch = NULL;
	backend_put(s->be);
	s->be = NULL;
	for (uint32_t i = 0; i < s->user_cap; i++)
		free(s->users[i].arena);
	free(s->users);
	inflight_free(&s->inflight);
	stash_free_all(&s->stash);
	pthread_cond_destroy(&s->turn);
	pthread_mutex_destroy(&s->lock);
}

bool session_enter(struct vamos_session *s)
{
	if (!atomic_load_explicit(&s->shared, memory_order_relaxed)) {
		atomic_store_explicit(&s->busy, 1, memory_order_seq_cst);
		if (!atomic_load_explicit(&s->shared, memory_order_seq_cst))
			return false;
		atomic_store_explicit(&s->busy, 0, memory_order_release);
	}
	pthread_mutex_lock(&s->lock);
	return true;
}

void session_leave(struct vamos_session *s, bool locked)
{
	if (locked) {
		/* If this thread received, the role is free: a follower still
		 * waiting takes it. */
		followers_pass_role(s);
		pthread_mutex_unlock(&s->lock);
	} else {
		atomic_store_explicit(&s->busy, 0, memory_order_release);
	}
}

bool session_upgrade(struct vamos_session *s, bool locked)
{
	if (locked || !atomic_load_explicit(&s->shared, memory_order_seq_cst))
		return locked;
	/* Down first: the newcomer holds the mutex until it sees that. */
	atomic_store_explicit(&s->busy, 0, memory_order_release);
	pthread_mutex_lock(&s->lock);
	return true;
}

uint16_t session_token(const struct vamos_session *s)
{
	const struct thread_ctx *t = pthread_getspecific(s->client->key);
	return t && t->session == s ? t->token : 0;
}

/* Join @s as one more thread; its token in @token. */
static int attach(struct vamos_session *s, uint16_t *token)
{
	pthread_mutex_lock(&s->lock);
	if (s->active_users && !atomic_load_explicit(&s->shared, memory_order_relaxed)) {
		atomic_store_explicit(&s->shared, true, memory_order_seq_cst);
		/* Wait out the lone thread's current call; it never needs this
		 * mutex to finish one (session_upgrade drops busy first). */
		for (unsigned spins = 0;
		     atomic_load_explicit(&s->busy, memory_order_seq_cst); spins++) {
			if (spins < 64) {
				sched_yield();
			} else {
				struct timespec ts = { 0, 100000 };
				nanosleep(&ts, NULL);
			}
		}
	}
	uint32_t i = 0;
	while (i < s->user_cap && s->users[i].active)
		i++;
	if (i == s->user_cap) {
		uint32_t cap = s->user_cap ? s->user_cap * 2 : 1;
		if (cap > CLIENT_MAX_USERS)
			cap = CLIENT_MAX_USERS;
		if (i >= cap || !grow_users(s, cap)) {
			pthread_mutex_unlock(&s->lock);
			return -ENOMEM;
		}
	}
	s->users[i].active = true;
	s->active_users++;
	*token = (uint16_t)i;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* The thread of @token leaves @s: what it had in flight is forgotten (its
 * replies will be dropped), what waited for it is freed. */
static void detach(struct vamos_session *s, uint16_t token)
{
	pthread_mutex_lock(&s->lock);
	if (token < s->user_cap && s->users[token].active) {
		user_clear(s, &s->users[token]);
		inflight_drop_owner(&s->inflight, token);
		if (--s->active_users == 0)
			atomic_store_explicit(&s->shared, false, memory_order_seq_cst);
	}
	pthread_mutex_unlock(&s->lock);
}

void session_thread_exit(void *arg)
{
	struct thread_ctx *t = arg;
	struct vamos_client *c = t->client;
	detach(t->session, t->token);
	pthread_mutex_lock(&c->threads_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		c->threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&c->threads_lock);
	free(t);
}

struct vamos_session *vamos_session_get(struct vamos_client *c)
{
	struct thread_ctx *t = pthread_getspecific(c->key);
	if (t)
		return t->session;
	t = calloc(1, sizeof *t);
	if (!t) {
		client_set_error(c, "out of memory for a thread's session");
		return NULL;
	}
	unsigned n = atomic_fetch_add_explicit(&c->next_session, 1, memory_order_relaxed);
	struct vamos_session *s = &c->sessions[n % c->pool_size];
	if (attach(s, &t->token)) {
		free(t);
		client_set_error(c, "out of memory for a thread's session");
		return NULL;
	}
	t->client = c;
	t->session = s;
	if (pthread_setspecific(c->key, t)) {
		detach(s, t->token);
		free(t);
		client_set_error(c, "cannot remember the thread's session");
		return NULL;
	}
	pthread_mutex_lock(&c->threads_lock);
	t->next = c->threads;
	if (t->next)
		t->next->prev = t;
	c->threads = t;
	pthread_mutex_unlock(&c->threads_lock);
	return s;
}

bool vamos_session_shared(const struct vamos_session *s)
{
	return atomic_load_explicit(&s->shared, memory_order_acquire);
}

unsigned vamos_session_in_flight(const struct vamos_session *cs)
{
	struct vamos_session *s = (struct vamos_session *)cs;
	bool locked = session_enter(s);
	uint16_t me = session_token(s);
	unsigned n = me < s->user_cap ? s->users[me].pending : 0;
	session_leave(s, locked);
	return n;
}

const char *vamos_session_error(const struct vamos_session *cs)
{
	struct vamos_session *s = (struct vamos_session *)cs;
	struct thread_ctx *t = pthread_getspecific(s->client->key);
	bool locked = session_enter(s);
	const char *e = NULL;
	if (s->failed) {
		_Static_assert(sizeof t->error == sizeof s->error, "the copy holds the whole reason");
		if (t && t->session == s) {
			/* Copied under the session's lock: the caller's copy
			 * stays as it is whatever other threads do. */
			memcpy(t->error, s->error, sizeof t->error);
			e = t->error;
		} else if (!atomic_load_explicit(&s->shared, memory_order_acquire)) {
			e = s->error;
		} else {
			e = "the session failed (its reason is kept for the threads that use it)";
		}
	}
	session_leave(s, locked);
	return e;
}

static void add_stats(struct vamos_chan_stats *a, const struct vamos_chan_stats *b)
{
	a->records_sent += b->records_sent;
	a->records_received += b->records_received;
	a->bytes_sent += b->bytes_sent;
	a->bytes_received += b->bytes_received;
	a->batches_sent += b->batches_sent;
	a->notifications_sent += b->notifications_sent;
	a->notifications_received += b->notifications_received;
	a->sleeps += b->sleeps;
}

struct vamos_chan_stats vamos_session_stats(const struct vamos_session *cs)
{
	struct vamos_session *s = (struct vamos_session *)cs;
	bool locked = session_enter(s);
	struct vamos_chan_stats st = s->closed_stats;
	if (s->ch) {
		struct vamos_chan_stats now = vamos_chan_stats(s->ch);
		add_stats(&st, &now);
	}
	session_leave(s, locked);
	return st;
}

int64_t vamos_session_poll_ns(const struct vamos_session *cs)
{
	struct vamos_session *s = (struct vamos_session *)cs;
	bool locked = session_enter(s);
	/* Streams never poll (their wait is the kernel's). */
	int64_t ns = s->client->cfg.kind == VAMOS_TRANSPORT_LOCAL ||
				     s->client->cfg.kind == VAMOS_TRANSPORT_IVSHMEM
			     ? s->spin.budget_ns
			     : 0;
	session_leave(s, locked);
	return ns;
}

void session_close_channel(struct vamos_session *s)
{
	if (s->ch) {
		struct vamos_chan_stats now = vamos_chan_stats(s->ch);
		add_stats(&s->closed_stats, &now);
		vamos_chan_close(s->ch);
		s->ch = NULL;
	}
}
