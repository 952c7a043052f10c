/* SPDX-License-Identifier: MIT */
/*
 * Threads waiting on one shared session: while one of them waits on the
 * channel, the others still submit (the host then holds all their
 * requests at once: TH_SVC_GATHER), sleep until their replies are routed
 * to them, fail with the session when it dies, and time out on their own.
 * Every check is on behaviour; the timeouts are only there so that a
 * broken client fails instead of hanging.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenarios.h"


/* Long enough never to end a call that a working client completes. */
#define GENEROUS_MS 60000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000l };
	nanosleep(&ts, NULL);
}

/* Wait (up to a minute) until @counter reaches @n. */
static bool reaches(atomic_uint *counter, unsigned n)
{
	for (int i = 0; i < 60000 && atomic_load(counter) < n; i++)
		sleep_ms(1);
	return atomic_load(counter) >= n;
}

/* A host of @kind with one channel, and a client whose threads all share
 * its one session. */
static const char *start_polling(enum th_kind kind, struct test_host *h,
				 struct vamos_client **c, int poll_us)
{
	struct th_opts o = { .kind = kind, .channels = 1, .vectors = 1 };
	struct vamos_client_params p;
	const char *why = NULL;
	th_clear_env();
	/* th_start clears @h first: th_cleanup is right from here on. */
	const char *err = th_start(h, &o, NULL, NULL);
	if (err)
		return err;
	th_client_params(h, &p, GENEROUS_MS);
	p.channels = 1;
	p.poll_us = poll_us;
	int rc = vamos_client_connect(&p, c, &why);
	if (rc)
		return scenario_failf("connect: %s (%d)", why ? why : "?", rc);
	return NULL;
}

static const char *start(enum th_kind kind, struct test_host *h, struct vamos_client **c)
{
	return start_polling(kind, h, c, 0); /* 0: the default budget */
}

struct caller {
	struct vamos_client *c;
	pthread_barrier_t *go;
	uint16_t service, op;
	unsigned index, rounds;
	int timeout_ms;
	int rc;            /* the last call's */
	bool shared;
	const char *err;
	char buf[160];
};

/* @rounds calls of @service/@op, each sending the thread's index and round
 * and, when the call succeeds, expecting them back. */
static void *call_rounds(void *arg)
{
	struct caller *w = arg;
	struct vamos_session *s = vamos_session_get(w->c);
	pthread_barrier_wait(w->go);
	for (unsigned r = 0; r < w->rounds; r++) {
		uint64_t mine = (uint64_t)w->index << 32 | r, back = 0;
		uint32_t len = 0;
		w->rc = vamos_call(w->c, w->service, w->op, &mine, sizeof mine, &back,
				   sizeof back, &len, w->timeout_ms);
		if (w->rc)
			break;
		if (len != sizeof back || back != mine) {
			snprintf(w->buf, sizeof w->buf, "thread %u round %u: wrong reply", w->index, r);
			w->err = w->buf;
			break;
		}
	}
	w->shared = s && vamos_session_shared(s);
	return NULL;
}

/* A host, a client of one session, and @threads callers of it. */
struct crowd {
	struct test_host h;
	struct vamos_client *c;
	unsigned threads, started;
	struct caller *w;
	pthread_t *t;
	pthread_barrier_t go;
	bool up;                 /* the host was started: th_cleanup it */
};

/* The host and client of @k, room for @threads callers; NULL or why not.
 * crowd_close(@k) is right whatever this returns. */
static const char *crowd_open(struct crowd *k, enum th_kind kind, unsigned threads)
{
	*k = (struct crowd){ .threads = threads };
	k->w = calloc(threads, sizeof *k->w);
	k->t = calloc(threads, sizeof *k->t);
	if (!(k->up = k->w && k->t))
		return "out of memory";
	return start(kind, &k->h, &k->c);
}

/* Start @k's callers like @like (each with its own index), all released
 * together. A failed start aborts (the others would wait forever). */
static void crowd_start(struct crowd *k, struct caller like)
{
	pthread_barrier_init(&k->go, NULL, k->threads);
	for (unsigned i = 0; i < k->threads; i++) {
		k->w[i] = like;
		k->w[i].c = k->c;
		k->w[i].go = &k->go;
		k->w[i].index = i;
		if (pthread_create(&k->t[i], NULL, call_rounds, &k->w[i]))
			abort();
	}
	k->started = k->threads;
}

/* Wait for @k's callers to end. */
static void crowd_join(struct crowd *k)
{
	for (unsigned i = 0; i < k->started; i++)
		pthread_join(k->t[i], NULL);
	if (k->started)
		pthread_barrier_destroy(&k->go);
	k->started = 0;
}

static void crowd_close(struct crowd *k)
{
	crowd_join(k);
	vamos_client_close(k->c);
	if (k->up)
		th_cleanup(&k->h);
	free(k->w);
	free(k->t);
}

const char *scenario_shared_in_flight(enum th_kind kind, unsigned threads, unsigned rounds)
{
	struct crowd k;
	struct caller *w;
	const char *err = crowd_open(&k, kind, threads);
	if (err)
		goto out;
	/* The host answers a round only once it holds every thread's
	 * request: they must all be in flight together. */
	crowd_start(&k, (struct caller){ .service = TH_SVC_GATHER, .op = (uint16_t)threads,
					 .rounds = rounds, .timeout_ms = GENEROUS_MS });
	crowd_join(&k);
	w = k.w;
	for (unsigned i = 0; i < threads; i++) {
		TRY(!w[i].err, "%s", w[i].err);
		TRY(w[i].rc == 0, "thread %u: call failed with %d (%s): its requests were not "
			"in flight together with the other threads'", i, w[i].rc, strerror(-w[i].rc));
		TRY(w[i].shared, "thread %u did not share the session", i);
	}
	TRY(atomic_load(&k.h.held) == threads * rounds, "the host held %u requests, not %u",
	    atomic_load(&k.h.held), threads * rounds);
out:
	crowd_close(&k);
	return err;
}

const char *scenario_shared_death(enum th_kind kind, unsigned threads)
{
	struct crowd k;
	const char *err = crowd_open(&k, kind, threads);
	if (err)
		goto out;
	/* Never answered: one thread waits on the channel, the others on
	 * the session, until the host goes. */
	crowd_start(&k, (struct caller){ .service = TH_SVC_HOLD, .rounds = 1,
					 .timeout_ms = GENEROUS_MS });
	bool all_held = reaches(&k.h.held, threads);
	th_stop(&k.h);
	crowd_join(&k);
	TRY(all_held, "the host held %u requests, not %u", atomic_load(&k.h.held), threads);
	struct caller *w = k.w;
	for (unsigned i = 0; i < threads; i++)
		TRY(w[i].rc == -ECONNRESET, "thread %u: %d (%s), not -ECONNRESET, when the host went",
		    i, w[i].rc, strerror(-w[i].rc));
	struct vamos_session *s = vamos_session_get(k.c);
	const char *why = vamos_session_error(s);
	TRY(why && strstr(why, "connection lost"), "the session's error: %s", why ? why : "none");
out:
	crowd_close(&k);
	return err;
}

const char *scenario_shared_follower_timeout(enum th_kind kind)
{
	struct test_host h = { 0 };
	struct vamos_client *c = NULL;
	pthread_barrier_t go_a, go_b, go_c;
	struct caller a = { 0 }, b = { 0 }, d = { 0 };
	pthread_t ta, tb, td;
	bool a_on = false, b_on = false, d_on = false;
	pthread_barrier_init(&go_a, NULL, 1);
	pthread_barrier_init(&go_b, NULL, 1);
	pthread_barrier_init(&go_c, NULL, 1);
	const char *err = start(kind, &h, &c);
	if (err)
		goto out;
	/* A waits (the receiver, being first) for a reply that comes only
	 * with a second request of its kind. */
	a = (struct caller){ .c = c, .go = &go_a, .service = TH_SVC_GATHER, .op = 2,
			     .index = 1, .rounds = 1, .timeout_ms = GENEROUS_MS };
	a_on = !pthread_create(&ta, NULL, call_rounds, &a);
	TRY(a_on && reaches(&h.held, 1), "the first request did not reach the host");
	/* B's reply never comes: it gives up at its own deadline, A waits on. */
	b = (struct caller){ .c = c, .go = &go_b, .service = TH_SVC_HOLD,
			     .index = 2, .rounds = 1, .timeout_ms = 300 };
	b_on = !pthread_create(&tb, NULL, call_rounds, &b);
	TRY(b_on, "cannot start a thread");
	pthread_join(tb, NULL);
	b_on = false;
	TRY(b.rc == -ETIMEDOUT, "the call that was never answered: %d, not -ETIMEDOUT", b.rc);
	TRY(atomic_load(&h.held) == 2, "the host held %u requests, not 2", atomic_load(&h.held));
	/* The second of A's kind: A and D both get their replies. */
	d = (struct caller){ .c = c, .go = &go_c, .service = TH_SVC_GATHER, .op = 2,
			     .index = 3, .rounds = 1, .timeout_ms = GENEROUS_MS };
	d_on = !pthread_create(&td, NULL, call_rounds, &d);
	TRY(d_on, "cannot start a thread");
	pthread_join(td, NULL);
	d_on = false;
	pthread_join(ta, NULL);
	a_on = false;
	TRY(!a.err && a.rc == 0, "the waiting call after another timed out: %d %s", a.rc,
	    a.err ? a.err : "");
	TRY(!d.err && d.rc == 0, "the call that completed the pair: %d %s", d.rc,
	    d.err ? d.err : "");
	TRY(a.shared && d.shared, "the threads did not share the session");
out:
	if (a_on || b_on || d_on)
		th_stop(&h); /* ends the calls still waiting */
	if (b_on)
		pthread_join(tb, NULL);
	if (d_on)
		pthread_join(td, NULL);
	if (a_on)
		pthread_join(ta, NULL);
	vamos_client_close(c);
	th_cleanup(&h);
	pthread_barrier_destroy(&go_a);
	pthread_barrier_destroy(&go_b);
	pthread_barrier_destroy(&go_c);
	return err;
}

const char *scenario_shared_send_while_asleep(unsigned attempts)
{
	struct test_host h = { 0 };
	struct vamos_client *c = NULL;
	pthread_barrier_t go;
	struct caller a = { 0 };
	pthread_t ta;
	bool a_on = false, seen = false;
	pthread_barrier_init(&go, NULL, 1);
	/* Polling off: a waiting thread announces sleep at once. */
	const char *err = start_polling(TH_LOCAL, &h, &c, -1);
	if (err)
		goto out;
	a = (struct caller){ .c = c, .go = &go, .service = TH_SVC_HOLD, .index = 1,
			     .rounds = 1, .timeout_ms = GENEROUS_MS };
	a_on = !pthread_create(&ta, NULL, call_rounds, &a);
	TRY(a_on && reaches(&h.held, 1), "the waiting call's request did not reach the host");
	struct vamos_session *s = vamos_session_get(c); /* shares it with A */
	TRY(s, "no session");
	for (unsigned i = 0; i < attempts && !seen; i++) {
		/* A asleep in the channel's wait, and still in that same
		 * sleep (the count of sleeps unchanged, the announcement still
		 * up) once our request went out: it was sent while A slept.
		 * Each sleep is counted before it is announced, so a sleep
		 * that ended and another that began show in the count. */
		for (int n = 0; n < 60000 && !th_client_sleeps(&h, 0); n++)
			sleep_ms(1);
		uint64_t before = vamos_session_stats(s).sleeps;
		if (!th_client_sleeps(&h, 0))
			continue;
		uint64_t id;
		TRY(vamos_session_submit(s, TH_SVC_HOLD, 0, NULL, 0, &id) == 0, "submit");
		TRY(vamos_session_flush(s) == 0, "flush");
		seen = vamos_session_stats(s).sleeps == before && th_client_sleeps(&h, 0);
	}
	TRY(seen, "in %u attempts, no request went out while another thread of the session "
		  "slept in the channel's wait", attempts);
	th_stop(&h);
	pthread_join(ta, NULL);
	a_on = false;
	TRY(a.rc == -ECONNRESET, "the waiting call when the host went: %d", a.rc);
out:
	if (a_on) {
		th_stop(&h);
		pthread_join(ta, NULL);
	}
	vamos_client_close(c);
	th_cleanup(&h);
	pthread_barrier_destroy(&go);
	return err;
}
