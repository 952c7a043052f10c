/* SPDX-License-Identifier: MIT */
/*
 * The host's shared pollers (host-server/pollers.c, poller.c, serve.c) in
 * this process, on stand-in channels whose requests the test queues and
 * whose replies it counts: several VMs' sessions on one poller take turns
 * (a flooding VM waits its turn, by records and by bytes), a VM taken off
 * leaves the others served, a stuck poller stops the heartbeat of the
 * VMs it serves while a VM served elsewhere beats on, and an idle session
 * is parked (not polled) until its doorbell, whoever keeps the poller busy.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../../host-server/liveness.h"
#include "../../host-server/pollers.h"
#include "../../host-server/service.h"
#include "pollers_scenarios.h"
#include "standin_chan.h"

/* Stand-ins (standin_chan.h) with no doorbell: polled only. */
static struct standin_chan *fake_new(int who)
{
	struct standin_chan *f = standin_new(who, false);
	cr_assert_not_null(f);
	return f;
}

static void queue_echoes(struct standin_chan *f, unsigned n, uint32_t len)
{
	cr_assert_eq(standin_queue(f, n, VAMOS_SERVICE_ECHO, 0, len), 0);
}

/* ---------------------------------------------------------- the host */

static struct pollers ps;

static struct session *session_of(struct standin_chan *f, vm_id vm, unsigned poller,
				  struct heartbeat *hb)
{
	struct session *s = session_new(&f->chan, vm, "test", (uint32_t)f->who);
	cr_assert_not_null(s);
	session_assume_welcomed(s);
	s->inbox = &ps.all[poller].inbox;
	s->beat = hb;
	return s;
}

static void setup(void)
{
	standin_order_reset();
	cr_assert_eq(services_register_builtin(), 0);
}

static void teardown(void)
{
	services_shutdown();
}

/* VM 1 floods its channel with @flood requests of @len bytes, queued
 * before VM 2's single one; both on one poller, VM 1's session first.
 * Returns how many of VM 1's were answered before VM 2's. */
static unsigned flood_then_one(unsigned flood, uint32_t len)
{
	cr_assert_eq(pollers_start(&ps, 1, 50000, 1), 0);
	struct standin_chan *a = fake_new(1), *b = fake_new(2);
	queue_echoes(a, flood, len);
	queue_echoes(b, 1, 8);
	struct session *s[2] = { session_of(a, 1, 0, NULL), session_of(b, 2, 0, NULL) };
	pollers_add(&ps.all[0], s, 2);
	standin_await_replies(b, 1);
	standin_await_replies(a, flood);
	unsigned before = standin_before_first(1, 2);
	pollers_stop(&ps);
	pollers_remove(&ps.all[0], s, 2);
	pollers_destroy(&ps);
	session_unref(s[0]);
	session_unref(s[1]);
	standin_free(a);
	standin_free(b);
	return before;
}

Test(pollers_units, a_flooding_vm_lets_another_vm_on_its_poller_in_after_one_batch,
     .init = setup, .fini = teardown, .timeout = 60)
{
	unsigned before = flood_then_one(1000, 8);
	cr_assert_leq(before, SESSION_BATCH,
		      "%u of the flooder's requests were answered before the other VM's one",
		      before);
}

Test(pollers_units, a_vm_flooding_with_big_records_waits_its_turn_by_bytes,
     .init = setup, .fini = teardown, .timeout = 60)
{
	const uint32_t len = 16u << 10;
	unsigned before = flood_then_one(200, len);
	/* The turn ends once its bytes reach the budget: one record past it
	 * at most. */
	unsigned most = SESSION_BUDGET_BYTES / len + 1;
	cr_assert_leq(before, most,
		      "%u requests of %u bytes were answered before the other VM's one "
		      "(at most %u fit the byte budget)", before, len, most);
}

Test(pollers_units, a_vm_taken_off_a_shared_poller_leaves_the_other_vm_served,
     .init = setup, .fini = teardown, .timeout = 60)
{
	cr_assert_eq(pollers_start(&ps, 1, 50000, 1), 0);
	struct standin_chan *f[4];
	struct session *s[4];
	for (int i = 0; i < 4; i++) {
		f[i] = fake_new(i);
		queue_echoes(f[i], 10, 8);
		/* Channels 0 and 1 are VM 1's, 2 and 3 VM 2's. */
		s[i] = session_of(f[i], i < 2 ? 1 : 2, 0, NULL);
	}
	pollers_add(&ps.all[0], s, 2);
	pollers_add(&ps.all[0], s + 2, 2);
	for (int i = 0; i < 4; i++)
		standin_await_replies(f[i], 10);

	/* VM 1 leaves: its sessions come off, marked removed. */
	pollers_remove(&ps.all[0], s, 2);
	cr_assert(atomic_load(&s[0]->removed) && atomic_load(&s[1]->removed));
	cr_assert(!atomic_load(&s[2]->removed) && !atomic_load(&s[3]->removed));
	/* What VM 1 queues now is never taken; VM 2 is served on. Its
	 * session sat after VM 1's in the set: had VM 1's stayed, they would
	 * have had their turn before VM 2's last replies. */
	queue_echoes(f[0], 10, 8);
	queue_echoes(f[2], 100, 8);
	queue_echoes(f[3], 100, 8);
	standin_await_replies(f[2], 110);
	standin_await_replies(f[3], 110);
	cr_assert_eq(atomic_load(&f[0]->replies), 10);
	cr_assert_eq(atomic_load(&f[1]->replies), 10);

	pollers_stop(&ps);
	pollers_remove(&ps.all[0], s + 2, 2);
	pollers_destroy(&ps);
	for (int i = 0; i < 4; i++) {
		session_unref(s[i]);
		standin_free(f[i]);
	}
}

/* -------------------------------------------------------------- parking */

static struct standin_chan *rung_new(int who)
{
	struct standin_chan *f = standin_new(who, true);
	cr_assert_not_null(f);
	return f;
}

/* Wait until the poller announced sleep on @f's channel (no clock: a
 * poller that never does fails the test by its timeout). */
static void await_announced(struct standin_chan *f)
{
	while (!atomic_load(&f->need_wakeup))
		usleep(200);
}

static void stop_and_free(struct session **s, struct standin_chan **f, unsigned n)
{
	pollers_stop(&ps);
	pollers_remove(&ps.all[0], s, n);
	pollers_destroy(&ps);
	for (unsigned i = 0; i < n; i++) {
		session_unref(s[i]);
		standin_free(f[i]);
	}
}

Test(pollers_units, an_idle_session_is_parked_and_not_polled_while_another_vm_is_busy,
     .init = setup, .fini = teardown, .timeout = 60)
{
	cr_assert_eq(pollers_start(&ps, 1, 50000, 1), 0);
	struct standin_chan *f[2] = { rung_new(1), rung_new(2) };
	struct session *s[2] = { session_of(f[0], 1, 0, NULL), session_of(f[1], 2, 0, NULL) };
	pollers_add(&ps.all[0], s, 2);
	await_announced(f[1]);
	unsigned polls = atomic_load(&f[1]->polls);
	/* VM 1 busy, request after request, each answered. */
	for (unsigned i = 0; i < 300; i++) {
		queue_echoes(f[0], 1, 8);
		standin_await_replies(f[0], i + 1);
	}
	unsigned later = atomic_load(&f[1]->polls);
	bool announced = atomic_load(&f[1]->need_wakeup);
	stop_and_free(s, f, 2);
	cr_assert_eq(later, polls, "the idle session was polled %u times after it was parked",
		     later - polls);
	cr_assert(announced, "the idle session's announcement was withdrawn");
}

Test(pollers_units, a_parked_session_is_answered_after_its_doorbell_while_its_poller_spins,
     .init = setup, .fini = teardown, .timeout = 60)
{
	cr_assert_eq(pollers_start(&ps, 1, 50000, 1), 0);
	/* VM 1 always has a request: the poller never sleeps, so only its
	 * look at the parked sessions' doorbells can find VM 2's. */
	struct standin_chan *f[2] = { fake_new(1), rung_new(2) };
	atomic_store(&f[0]->endless, true);
	struct session *s[2] = { session_of(f[0], 1, 0, NULL), session_of(f[1], 2, 0, NULL) };
	pollers_add(&ps.all[0], s, 2);
	for (unsigned i = 1; i <= 3; i++) {
		await_announced(f[1]);
		queue_echoes(f[1], 1, 8);
		standin_await_replies(f[1], i);
	}
	unsigned doorbells = atomic_load(&f[1]->doorbells);
	unsigned busy = atomic_load(&f[0]->replies);
	stop_and_free(s, f, 2);
	cr_assert_eq(doorbells, 3, "%u doorbells for 3 requests, each after a parking",
		     doorbells);
	cr_assert_gt(busy, 0);
}

/* The scenario starts and stops the services itself. */
Test(pollers_units, sessions_alternating_idle_and_requests_are_all_answered, .timeout = 300)
{
	const char *err = scenario_pollers_park_stress(300);
	cr_assert_null(err, "%s", err);
}

/* -------------------------------------------------- turns and dealing */

/* The scenarios start and stop the services themselves. */
Test(pollers_units, busy_vms_with_full_rings_take_even_turns, .timeout = 120)
{
	const char *err = scenario_full_rings_take_even_turns();
	cr_assert_null(err, "%s", err);
}

Test(pollers_units, a_new_vms_channels_go_to_the_pollers_with_the_fewest_sessions,
     .timeout = 120)
{
	const char *err = scenario_new_vms_go_to_the_least_loaded_pollers();
	cr_assert_null(err, "%s", err);
}

Test(pollers_units, a_move_keeps_every_reply_once_and_in_order, .timeout = 120)
{
	const char *err = scenario_a_move_keeps_every_reply_once_and_in_order();
	cr_assert_null(err, "%s", err);
}

Test(pollers_units, a_reply_that_fits_waits_behind_one_that_does_not, .timeout = 120)
{
	const char *err = scenario_a_reply_that_fits_waits_behind_one_that_does_not();
	cr_assert_null(err, "%s", err);
}

/* ----------------------------------------------------------- heartbeats */

static uint64_t beats_of(const struct heartbeat *hb)
{
	return vamos_region_heartbeat(&hb->region);
}

/* Wait until @hb has beaten @n more times. */
static void await_beats(const struct heartbeat *hb, unsigned n)
{
	uint64_t from = beats_of(hb);
	while (beats_of(hb) < from + n)
		usleep(10000);
}

static void *region_mem(struct vamos_region *r)
{
	struct vamos_region_params params = { 1, 4096, 4096 };
	size_t size = vamos_region_size(&params);
	void *mem = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	cr_assert_not_null(mem);
	cr_assert_eq(vamos_region_init(mem, size, &params, r), 0);
	return mem;
}

Test(pollers_units, a_stuck_poller_stops_the_beat_of_the_vms_it_serves_and_no_other,
     .init = setup, .fini = teardown, .timeout = 120)
{
	cr_assert_eq(pollers_start(&ps, 2, 50000, 1), 0);
	cr_assert_eq(liveness_start(), 0);
	liveness_watch_pollers(ps.all, ps.count);
	/* VM A's two channels on pollers 0 and 1; VM B's one on poller 1,
	 * after A's there: poller 1 beats both regions. */
	struct heartbeat a = { .name = "a" }, b = { .name = "b" };
	atomic_init(&a.pollers, 3);
	atomic_init(&b.pollers, 2);
	atomic_init(&a.ok, true);
	atomic_init(&b.ok, true);
	void *mem_a = region_mem(&a.region), *mem_b = region_mem(&b.region);
	liveness_watch(&a);
	liveness_watch(&b);
	struct standin_chan *f[3] = { fake_new(0), fake_new(1), fake_new(2) };
	struct session *s[3] = { session_of(f[0], 1, 0, &a), session_of(f[1], 1, 1, &a),
				 session_of(f[2], 2, 1, &b) };
	pollers_add(&ps.all[0], s, 1);
	pollers_add(&ps.all[1], s + 1, 2);
	await_beats(&a, 2);
	await_beats(&b, 2);

	/* Poller 0 hangs in a read with work to do: after the stuck limit
	 * A's heartbeat stops (poller 1 skips it too); B's goes on. */
	atomic_store(&f[0]->hang, true);
	queue_echoes(f[0], 1, 8);
	while (atomic_load_explicit(&a.ok, memory_order_relaxed))
		usleep(10000);
	/* A beat of A that poller 1 began before the verdict is over once
	 * B (after A in its set) has beaten a few more times. */
	await_beats(&b, 3);
	uint64_t a_stopped = beats_of(&a);
	await_beats(&b, 5);
	uint64_t a_later = beats_of(&a);
	bool hung = atomic_load(&f[0]->hanging);
	/* Moving again (before asserting: a failed test still ends). */
	atomic_store(&f[0]->hang, false);
	cr_assert_eq(a_later, a_stopped, "A beat while a poller serving it was stuck");
	cr_assert(hung);

	/* A beats again. */
	standin_await_replies(f[0], 1);
	await_beats(&a, 2);

	liveness_forget(&a);
	liveness_forget(&b);
	pollers_stop(&ps);
	pollers_remove(&ps.all[0], s, 1);
	pollers_remove(&ps.all[1], s + 1, 2);
	liveness_watch_pollers(NULL, 0);
	liveness_stop();
	pollers_destroy(&ps);
	for (int i = 0; i < 3; i++) {
		session_unref(s[i]);
		standin_free(f[i]);
	}
	free(mem_a);
	free(mem_b);
}

/* One session with a whole batch of echoes queued (of a channel in @mode):
 * the most replies one flush of its poller carried. */
static unsigned most_replies_per_flush(enum vamos_notify_mode mode)
{
	cr_assert_eq(pollers_start(&ps, 1, 50000, 1), 0);
	struct standin_chan *f = fake_new(1);
	f->chan.mode = mode;
	queue_echoes(f, SESSION_BATCH, 8);
	struct session *s = session_of(f, 1, 0, NULL);
	pollers_add(&ps.all[0], &s, 1);
	standin_await_replies(f, SESSION_BATCH);
	pollers_stop(&ps);
	pollers_remove(&ps.all[0], &s, 1);
	pollers_destroy(&ps);
	unsigned most = atomic_load(&f->most_per_flush);
	session_unref(s);
	standin_free(f);
	return most;
}

Test(pollers_units, a_long_batch_on_shared_memory_is_published_in_parts,
     .init = setup, .fini = teardown, .timeout = 60)
{
	unsigned most = most_replies_per_flush(VAMOS_NOTIFY_POLL);
	cr_assert_leq(most, SESSION_PUBLISH_EVERY,
		      "one flush published %u replies of a batch of %u (parts of %u expected)",
		      most, SESSION_BATCH, SESSION_PUBLISH_EVERY);
}

Test(pollers_units, a_long_batch_on_a_stream_goes_out_in_one_write,
     .init = setup, .fini = teardown, .timeout = 60)
{
	unsigned most = most_replies_per_flush(VAMOS_NOTIFY_STREAM);
	cr_assert_eq(most, SESSION_BATCH,
		      "a stream flushed %u replies at most of a batch of %u", most, SESSION_BATCH);
}
