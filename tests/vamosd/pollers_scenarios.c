/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../../host-server/blocking.h"
#include "../../host-server/pollers.h"
#include "../../host-server/service.h"
#include "pollers_scenarios.h"
#include "standin_chan.h"

enum { SESSIONS = 24, DRIVERS = 3 };

struct driver {
	unsigned first, rounds;
	struct standin_chan **chans;
	atomic_bool *done;
};

static uint32_t next_random(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Driver @first serves sessions first, first + DRIVERS, ...: one request,
 * its reply, an idle spell, the next session. */
static void *drive(void *arg)
{
	struct driver *d = arg;
	uint32_t x = 2463534242u + d->first;
	for (unsigned r = 0; r < d->rounds; r++)
		for (unsigned i = d->first; i < SESSIONS; i += DRIVERS) {
			struct standin_chan *f = d->chans[i];
			unsigned want = atomic_load(&f->replies) + 1;
			uint16_t service = next_random(&x) % 4 ? VAMOS_SERVICE_ECHO
							       : VAMOS_SERVICE_SLEEP;
			if (standin_queue(f, 1, service, 0, 8))
				abort(); /* rounds fit STANDIN_MAX_REQUESTS */
			standin_await_replies(f, want);
			/* Idle: none, a few microseconds, or past the spin. */
			unsigned spell = next_random(&x) % 3;
			if (spell)
				usleep(spell == 1 ? 5 : 100 + next_random(&x) % 300);
		}
	atomic_store(d->done, true);
	return NULL;
}

const char *scenario_pollers_park_stress(unsigned rounds)
{
	static struct pollers ps;
	const char *err = NULL;
	struct standin_chan *chans[SESSIONS] = { 0 };
	struct session *s[SESSIONS] = { 0 };
	struct blocking_limits lim = { .max_queued = 1024, .max_queued_bytes = 1u << 20 };
	if (rounds > STANDIN_MAX_REQUESTS)
		return "more rounds than a stand-in holds";
	if (services_register_builtin() || blocking_start(2))
		return "cannot start the services";
	struct blocking_queue *q = blocking_queue_new("stress", &lim);
	if (!q || pollers_start(&ps, 1, 50000, 1)) {
		blocking_stop();
		services_shutdown();
		return "cannot start a poller";
	}
	for (unsigned i = 0; i < SESSIONS && !err; i++) {
		/* The last one can only be polled: it is never parked. */
		chans[i] = standin_new((int)i, i + 1 < SESSIONS);
		s[i] = chans[i] ? session_new(&chans[i]->chan, 1 + i % 4, "stress", i) : NULL;
		if (!s[i]) {
			err = "out of memory";
			break;
		}
		session_assume_welcomed(s[i]);
		s[i]->inbox = &ps.all[0].inbox;
		s[i]->queue = q;
	}
	if (!err)
		pollers_add(&ps.all[0], s, SESSIONS);

	atomic_bool done[DRIVERS];
	struct driver dr[DRIVERS];
	pthread_t t[DRIVERS];
	unsigned started = 0;
	for (unsigned k = 0; k < DRIVERS && !err; k++) {
		atomic_init(&done[k], false);
		dr[k] = (struct driver){ k, rounds, chans, &done[k] };
		if (pthread_create(&t[k], NULL, drive, &dr[k])) {
			err = "cannot start a driver";
			break;
		}
		started++;
	}
	/* Meanwhile the set changes under the parked sessions: one more
	 * session joins and leaves, again and again. */
	for (bool all_done = false; !all_done && started == DRIVERS;) {
		struct standin_chan *extra = standin_new(SESSIONS, true);
		struct session *e = extra ? session_new(&extra->chan, 9, "extra", SESSIONS) : NULL;
		if (e) {
			e->inbox = &ps.all[0].inbox;
			pollers_add(&ps.all[0], &e, 1);
			usleep(500);
			pollers_remove(&ps.all[0], &e, 1);
			session_unref(e);
		}
		if (extra)
			standin_free(extra);
		all_done = true;
		for (unsigned k = 0; k < DRIVERS; k++)
			all_done = all_done && atomic_load(&done[k]);
	}
	for (unsigned k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	for (unsigned i = 0; i < SESSIONS && !err; i++)
		if (atomic_load(&chans[i]->replies) != rounds)
			err = "a session got more or fewer replies than requests";

	pollers_stop(&ps);
	for (unsigned i = 0; i < SESSIONS; i++)
		if (s[i])
			pollers_remove(&ps.all[0], &s[i], 1);
	blocking_forget_removed(q);
	pollers_destroy(&ps);
	blocking_stop();
	services_shutdown();
	for (unsigned i = 0; i < SESSIONS; i++) {
		if (s[i])
			session_unref(s[i]);
		if (chans[i])
			standin_free(chans[i]);
	}
	return err;
}
