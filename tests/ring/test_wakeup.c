/* SPDX-License-Identifier: MIT */
/* A consumer that sleeps on a real eventfd whenever the ring is empty, woken
 * thousands of times. A lost wakeup would leave it asleep forever (the test
 * would hang and hit Criterion's timeout); every record must arrive in order;
 * and whenever the consumer is known to be asleep, publish must ask for the
 * doorbell. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "fixture.h"
#include "stress.h"

#define ROUNDS 6000
#define TYPE_DATA 1
#define TYPE_STOP 2

struct shared {
	struct fixture f;
	int bell;
	_Atomic uint64_t sleep_gen; /* consumer: odd while committed to sleep */
	_Atomic uint64_t received;  /* consumer: records so far */
	uint64_t wakeups;
	const char *err;
};

static void *consumer(void *a)
{
	struct shared *s = a;
	struct vamos_consumer *c = &s->f.host.rx;
	struct vamos_record rec[16];
	uint64_t expect = 0;
	for (;;) {
		int n = vamos_consumer_peek(c, rec, 16);
		if (n < 0) {
			s->err = vamos_consumer_error(c);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (rec[i].type == TYPE_STOP) {
				atomic_store(&s->received, expect);
				return NULL;
			}
			if (*(uint64_t *)rec[i].data != expect++) {
				s->err = "record out of order";
				return NULL;
			}
		}
		vamos_consumer_release(c);
		atomic_store(&s->received, expect);
		if (n)
			continue;
		int rc = vamos_consumer_prepare_sleep(c);
		if (rc < 0) {
			s->err = vamos_consumer_error(c);
			return NULL;
		}
		if (rc == 0)
			continue;
		/* Committed to sleep: nothing published after this point can be
		 * missed, because the producer will see the announcement. */
		atomic_fetch_add(&s->sleep_gen, 1);
		eventfd_t v;
		if (eventfd_read(s->bell, &v)) {
			s->err = "eventfd_read failed";
			return NULL;
		}
		s->wakeups++;
		/* Even again before the announcement is withdrawn, so a producer
		 * that sees publish return 0 also sees the generation move. */
		atomic_fetch_add(&s->sleep_gen, 1);
		vamos_consumer_awake(c);
	}
}

Test(ring_wakeup, sleeping_consumer_never_misses_a_doorbell, .timeout = 300)
{
	struct shared *s = calloc(1, sizeof *s);
	fixture_init(&s->f, 1024, 64, 1);
	s->bell = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(s->bell, 0);
	struct vamos_producer *p = &s->f.guest.tx;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, consumer, s), 0);

	uint64_t seq = 0, doorbells = 0, forced = 0, rng = 88172645463325252ull;
	for (int round = 0; round < ROUNDS; round++) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		bool wait_for_sleep = rng & 1;
		uint64_t gen = 0;
		if (wait_for_sleep) {
			/* Wait until the consumer drained everything and is
			 * committed to sleep (odd generation). */
			while (atomic_load(&s->received) != seq ||
			       !((gen = atomic_load(&s->sleep_gen)) & 1))
				sched_yield();
		}
		for (uint64_t k = 1 + (rng >> 8) % 8; k > 0; k--) {
			while (vamos_producer_send(p, TYPE_DATA, &seq, sizeof seq) == -EAGAIN) {
				if (vamos_producer_publish(p) == 1) {
					doorbells++;
					eventfd_write(s->bell, 1);
				}
				sched_yield();
			}
			seq++;
		}
		int rc = vamos_producer_publish(p);
		cr_assert_geq(rc, 0);
		if (wait_for_sleep) {
			/* 0 is only right if the consumer woke (from an earlier,
			 * stale doorbell) and withdrew its announcement. */
			cr_assert(rc == 1 || atomic_load(&s->sleep_gen) != gen,
				  "round %d: consumer asleep, publish must ask to ring", round);
			forced += rc == 1;
		}
		if (rc == 1) {
			doorbells++;
			eventfd_write(s->bell, 1);
		}
	}
	while (vamos_producer_send(p, TYPE_STOP, NULL, 0) == -EAGAIN)
		sched_yield();
	if (vamos_producer_publish(p) == 1)
		eventfd_write(s->bell, 1);
	pthread_join(t, NULL);

	cr_assert_null(s->err, "consumer: %s", s->err);
	cr_assert_eq(atomic_load(&s->received), seq, "every record arrived");
	cr_assert_geq(forced, ROUNDS / 4, "thousands of real sleeps were exercised");
	cr_assert_geq(s->wakeups, forced);
	cr_assert_leq(doorbells, atomic_load(&s->sleep_gen) / 2 + 1,
		      "at most one doorbell per sleep");
	close(s->bell);
	fixture_fini(&s->f);
	free(s);
}
