/* SPDX-License-Identifier: MIT */
/*
 * The host's shared pollers (host-server/pollers.c, poller.c, serve.c) in
 * this process, on stand-in channels whose requests the test queues and
 * whose replies it counts: several VMs' sessions on one poller take turns
 * (a flooding VM waits its turn, by records and by bytes), a VM taken off
 * leaves the others served, and a stuck poller stops the heartbeat of the
 * VMs it serves while a VM served elsewhere beats on.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../../host-server/liveness.h"
#include "../../host-server/pollers.h"
#include "../../host-server/service.h"

#define MAX_REQUESTS 2048
#define MAX_PAYLOAD (1u << 20)

/* --------------------------------------------------- a stand-in channel */

/* Every reply committed, in the order the poller made them: who made it. */
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static int order[4 * MAX_REQUESTS];
static unsigned order_len;

struct fake_chan {
	struct vamos_chan chan; /* first: the channel the session holds */
	int who;
	struct vamos_record in[MAX_REQUESTS];
	/* Requests the poller may take: raised (release) by the test after
	 * it wrote them. */
	atomic_uint in_count;
	unsigned next;          /* poller thread only */
	unsigned char *out;     /* reply scratch */
	atomic_uint replies;
	atomic_bool hang;       /* poll() waits while set: a hung read */
	atomic_bool hanging;
};

static struct fake_chan *fake(struct vamos_chan *ch)
{
	return (struct fake_chan *)ch;
}

static int f_reserve(struct vamos_chan *ch, uint32_t len, void **payload)
{
	if (len > MAX_PAYLOAD)
		return -EMSGSIZE;
	*payload = fake(ch)->out;
	return 0;
}

static int f_commit(struct vamos_chan *ch, uint16_t type, uint32_t len)
{
	(void)type, (void)len;
	pthread_mutex_lock(&order_lock);
	if (order_len < sizeof order / sizeof order[0])
		order[order_len++] = fake(ch)->who;
	pthread_mutex_unlock(&order_lock);
	atomic_fetch_add_explicit(&fake(ch)->replies, 1, memory_order_release);
	return 0;
}

static void f_abort(struct vamos_chan *ch)
{
	(void)ch;
}

static int f_flush(struct vamos_chan *ch)
{
	(void)ch;
	return 0;
}

static int f_poll(struct vamos_chan *ch, struct vamos_record *out, unsigned max)
{
	struct fake_chan *f = fake(ch);
	while (atomic_load(&f->hang)) {
		atomic_store(&f->hanging, true);
		usleep(1000);
	}
	atomic_store(&f->hanging, false);
	/* Acquire: the requests below are written before the count. */
	unsigned have = atomic_load_explicit(&f->in_count, memory_order_acquire);
	unsigned n = 0;
	while (n < max && f->next < have)
		out[n++] = f->in[f->next++];
	return (int)n;
}

static void f_release(struct vamos_chan *ch)
{
	(void)ch;
}

static int f_wait(struct vamos_chan *ch, int timeout_ms)
{
	(void)ch, (void)timeout_ms;
	return -ETIMEDOUT;
}

static int f_prepare_sleep(struct vamos_chan *ch)
{
	struct fake_chan *f = fake(ch);
	return f->next == atomic_load_explicit(&f->in_count, memory_order_acquire) ? 1 : 0;
}

static void f_awake(struct vamos_chan *ch)
{
	(void)ch;
}

static int f_fd(const struct vamos_chan *ch)
{
	(void)ch;
	return -1; /* polled only: the poller naps, never sleeps long */
}

static uint32_t f_max_payload(const struct vamos_chan *ch)
{
	(void)ch;
	return MAX_PAYLOAD;
}

static void f_close(struct vamos_chan *ch)
{
	(void)ch; /* the test frees it */
}

static const struct vamos_chan_ops fake_ops = {
	.transport = "fake",
	.reserve = f_reserve,
	.commit = f_commit,
	.abort = f_abort,
	.flush = f_flush,
	.poll = f_poll,
	.release = f_release,
	.wait = f_wait,
	.prepare_sleep = f_prepare_sleep,
	.awake = f_awake,
	.fd = f_fd,
	.max_payload = f_max_payload,
	.close = f_close,
};

static struct fake_chan *fake_new(int who)
{
	struct fake_chan *f = calloc(1, sizeof *f);
	cr_assert_not_null(f);
	f->chan.ops = &fake_ops;
	f->chan.mode = VAMOS_NOTIFY_POLL;
	f->who = who;
	f->out = malloc(MAX_PAYLOAD);
	cr_assert_not_null(f->out);
	return f;
}

/* Queue @n echo requests of @len bytes each (visible to the poller at once). */
static void queue_echoes(struct fake_chan *f, unsigned n, uint32_t len)
{
	unsigned have = atomic_load(&f->in_count);
	cr_assert_leq(have + n, MAX_REQUESTS);
	for (unsigned i = 0; i < n; i++) {
		struct vamos_request_header h = { .id = have + i, .service = VAMOS_SERVICE_ECHO };
		unsigned char *p = calloc(1, sizeof h + len);
		cr_assert_not_null(p);
		memcpy(p, &h, sizeof h);
		f->in[have + i] = (struct vamos_record){ .data = p,
							 .len = (uint32_t)sizeof h + len,
							 .type = VAMOS_MSG_REQUEST };
	}
	/* Release: the records are complete before the poller sees them. */
	atomic_store_explicit(&f->in_count, have + n, memory_order_release);
}

static void fake_free(struct fake_chan *f)
{
	for (unsigned i = 0; i < atomic_load(&f->in_count); i++)
		free(f->in[i].data);
	free(f->out);
	free(f);
}

/* Wait until @f has @n replies (a poller that stops serving fails the
 * test by its timeout, never by a clock here). */
static void await_replies(struct fake_chan *f, unsigned n)
{
	while (atomic_load_explicit(&f->replies, memory_order_acquire) < n)
		usleep(1000);
}

/* ---------------------------------------------------------- the host */

static struct pollers ps;

static struct session *session_of(struct fake_chan *f, vm_id vm, unsigned poller,
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
	memset(order, 0, sizeof order);
	order_len = 0;
	cr_assert_eq(services_register_builtin(), 0);
}

static void teardown(void)
{
	services_shutdown();
}

/* How many replies of @who were made before the first of @other's. */
static unsigned before_first(int who, int other)
{
	unsigned n = 0;
	pthread_mutex_lock(&order_lock);
	for (unsigned i = 0; i < order_len && order[i] != other; i++)
		n += order[i] == who;
	pthread_mutex_unlock(&order_lock);
	return n;
}

/* VM 1 floods its channel with @flood requests of @len bytes, queued
 * before VM 2's single one; both on one poller, VM 1's session first.
 * Returns how many of VM 1's were answered before VM 2's. */
static unsigned flood_then_one(unsigned flood, uint32_t len)
{
	cr_assert_eq(pollers_start(&ps, 1, 50000, 1), 0);
	struct fake_chan *a = fake_new(1), *b = fake_new(2);
	queue_echoes(a, flood, len);
	queue_echoes(b, 1, 8);
	struct session *s[2] = { session_of(a, 1, 0, NULL), session_of(b, 2, 0, NULL) };
	pollers_add(&ps.all[0], s, 2);
	await_replies(b, 1);
	await_replies(a, flood);
	unsigned before = before_first(1, 2);
	pollers_stop(&ps);
	pollers_remove(&ps.all[0], s, 2);
	pollers_destroy(&ps);
	session_unref(s[0]);
	session_unref(s[1]);
	fake_free(a);
	fake_free(b);
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
	struct fake_chan *f[4];
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
		await_replies(f[i], 10);

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
	await_replies(f[2], 110);
	await_replies(f[3], 110);
	cr_assert_eq(atomic_load(&f[0]->replies), 10);
	cr_assert_eq(atomic_load(&f[1]->replies), 10);

	pollers_stop(&ps);
	pollers_remove(&ps.all[0], s + 2, 2);
	pollers_destroy(&ps);
	for (int i = 0; i < 4; i++) {
		session_unref(s[i]);
		fake_free(f[i]);
	}
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
	/* VM A's two channels on pollers 1 and 0 (dealt from poller 1,
	 * wrapping); VM B's one on poller 1, after A's there: poller 1 beats
	 * both regions. */
	struct heartbeat a = { .first_poller = 1, .poller_span = 2, .name = "a" };
	struct heartbeat b = { .first_poller = 1, .poller_span = 1, .name = "b" };
	atomic_init(&a.ok, true);
	atomic_init(&b.ok, true);
	void *mem_a = region_mem(&a.region), *mem_b = region_mem(&b.region);
	liveness_watch(&a);
	liveness_watch(&b);
	struct fake_chan *f[3] = { fake_new(0), fake_new(1), fake_new(2) };
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
	await_replies(f[0], 1);
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
		fake_free(f[i]);
	}
	free(mem_a);
	free(mem_b);
}
