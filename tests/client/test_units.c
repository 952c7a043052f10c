/* SPDX-License-Identifier: MIT */
/* The client's in-flight table and completion stash, compiled in from
 * guest-client/ (the library keeps them hidden). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-client/internal.h"
#include "../../ring/layout.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

Test(client_units, inflight_matches_a_reference_in_any_order)
{
	enum { WINDOW = 5000, OPS = 400000 };
	struct inflight t = { 0 };
	static bool in[WINDOW];
	static uint16_t owner_of[WINDOW];
	uint64_t base = 0xfffffffffffff000ull; /* ids wrap around zero */
	uint64_t next = 0;
	unsigned count = 0;
	for (int op = 0; op < OPS; op++) {
		uint64_t r = next_rand();
		if ((r & 1) && next < WINDOW) {
			uint16_t own = (uint16_t)(r >> 8);
			cr_assert_eq(inflight_add(&t, base + next, own), 0);
			in[next] = true;
			owner_of[next] = own;
			next++;
			count++;
		} else if (next) {
			uint64_t k = (r >> 1) % next;
			uint16_t own = 0;
			int got = inflight_take(&t, base + k, &own);
			cr_assert_eq(got, in[k], "take %llu", (unsigned long long)k);
			if (got) {
				cr_assert_eq(own, owner_of[k]);
				in[k] = false;
				count--;
			}
		}
		cr_assert_eq(t.count, count);
		if (next == WINDOW && !count)
			next = 0, base += WINDOW;
	}
	for (uint64_t k = 0; k < next; k++)
		cr_assert_eq(inflight_take(&t, base + k, NULL), in[k]);
	cr_assert_eq(inflight_take(&t, 12345, NULL), 0, "unknown id");
	inflight_free(&t);
}

Test(client_units, inflight_has_a_limit)
{
	struct inflight t = { 0 };
	for (uint32_t i = 0; i < CLIENT_MAX_IN_FLIGHT; i++)
		cr_assert_eq(inflight_add(&t, 1000 + i, 0), 0);
	cr_assert_eq(inflight_add(&t, 7, 0), -EAGAIN);
	cr_assert_eq(inflight_take(&t, 1000, NULL), 1);
	cr_assert_eq(inflight_add(&t, 7, 0), 0);
	inflight_free(&t);
}

Test(client_units, inflight_keeps_a_straggler_out_of_the_window)
{
	/* One request stays in flight while a million others come and go,
	 * 64 at a time: it moves to the table of older ids (and is still
	 * found there, with its owner) instead of growing the window. */
	struct inflight t = { 0 };
	const uint64_t straggler = 0xfffffffffff00000ull;
	cr_assert_eq(inflight_add(&t, straggler, 9), 0);
	uint32_t first_mask = t.win_mask;
	uint64_t id = straggler + 1;
	for (int round = 0; round < 1000000 / 64; round++) {
		for (int k = 0; k < 64; k++)
			cr_assert_eq(inflight_add(&t, id + (uint64_t)k, 1), 0);
		for (int k = 63; k >= 0; k--)
			cr_assert_eq(inflight_take(&t, id + (uint64_t)k, NULL), 1);
		id += 64;
	}
	cr_assert_eq(t.win_mask, first_mask, "the window grew for one straggler");
	cr_assert_eq(t.old.count, 1);
	cr_assert_eq(t.count, 1);
	uint16_t owner = 0;
	cr_assert_eq(inflight_take(&t, straggler, &owner), 1);
	cr_assert_eq(owner, 9);
	cr_assert_eq(t.count, 0);
	inflight_free(&t);
}

Test(client_units, inflight_window_grows_with_what_is_in_flight)
{
	/* 3000 consecutive ids in flight: the window grows to hold them all,
	 * so none goes to the table of older ids. */
	struct inflight t = { 0 };
	for (uint64_t i = 0; i < 3000; i++)
		cr_assert_eq(inflight_add(&t, 500 + i, (uint16_t)i), 0);
	cr_assert_eq(t.old.count, 0);
	cr_assert(t.win_mask + 1 >= 3000);
	for (uint64_t i = 0; i < 3000; i++) {
		uint16_t owner;
		cr_assert_eq(inflight_take(&t, 500 + i, &owner), 1);
		cr_assert_eq(owner, (uint16_t)i);
	}
	cr_assert_eq(t.count, 0);
	inflight_free(&t);
}

static unsigned drained;

static void count_one(void *arg, uint64_t id, uint16_t owner)
{
	(void)arg;
	(void)id;
	cr_assert(owner != 1, "owner 1 was dropped before");
	drained++;
}

Test(client_units, inflight_drop_owner_and_drain)
{
	struct inflight t = { 0 };
	for (uint64_t i = 0; i < 3000; i++)
		cr_assert_eq(inflight_add(&t, i * 977, (uint16_t)(i % 3)), 0);
	inflight_drop_owner(&t, 1);
	cr_assert_eq(t.count, 2000);
	for (uint64_t i = 0; i < 3000; i += 3)
		cr_assert_eq(inflight_take(&t, i * 977, NULL), 1);
	inflight_drain(&t, count_one, NULL);
	cr_assert_eq(drained, 1000);
	cr_assert_eq(t.count, 0);
	cr_assert_eq(inflight_take(&t, 2 * 977, NULL), 0);
	inflight_free(&t);
}

Test(client_units, stash_lists_keep_order_and_reuse_entries)
{
	struct stash st = { .free_head = STASH_NONE };
	struct stash_list a = { STASH_NONE, STASH_NONE }, b = { STASH_NONE, STASH_NONE };
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++) {
			int32_t e = stash_alloc(&st, (uint32_t)i * 10);
			cr_assert(e >= 0);
			st.e[e].id = (uint64_t)i;
			if (i)
				memset(st.e[e].buf, i, (size_t)i * 10);
			stash_push(&st, i % 2 ? &a : &b, e);
		}
		cr_assert_leq(st.count, 100, "entries are reused");
		for (int i = 1; i < 100; i += 2) {
			int32_t e = stash_pop(&st, &a);
			cr_assert_eq(st.e[e].id, (uint64_t)i);
			stash_release(&st, e);
		}
		cr_assert_eq(stash_pop(&st, &a), STASH_NONE);
		int32_t e = stash_pop(&st, &b);
		cr_assert_eq(st.e[e].id, 0);
		stash_release(&st, e);
		stash_release_list(&st, &b);
		cr_assert_eq(b.head, STASH_NONE);
	}
	int32_t big = stash_alloc(&st, 1u << 20);
	cr_assert(big >= 0 && st.e[big].cap >= 1u << 20);
	stash_release(&st, big);
	stash_free_all(&st);
}

/* The guest's view of the host's heartbeat, on a region laid out in
 * private memory (a fake host) and a clock the test moves. */
Test(client_units, host_watch_goes_stale_only_when_the_heartbeat_stands_still)
{
	struct vamos_region_params params = { 1, 4096, 4096 };
	size_t size = vamos_region_size(&params);
	void *mem = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	cr_assert_not_null(mem);
	memset(mem, 0, size);
	struct vamos_region host, guest;
	cr_assert_eq(vamos_region_init(mem, size, &params, &host), 0);
	cr_assert_eq(vamos_region_attach(mem, size, &guest), 0);

	/* No heartbeat published (0): never stale, however long. */
	struct host_watch w = { 0 };
	cr_assert_eq(vamos_region_heartbeat(&guest), 0);
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 0, 1000), 0);
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 99999, 1000), 0);

	/* Beating: the watch restarts at every change. */
	vamos_region_beat(&host);
	uint64_t b = vamos_region_heartbeat(&guest);
	cr_assert_neq(b, 0);
	cr_assert_eq(host_watch_stale(&w, b, 100000, 1000), 0);
	cr_assert_eq(host_watch_stale(&w, b, 100999, 1000), 0, "not yet stale_ms");
	vamos_region_beat(&host);
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 100999, 1000), 0);
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 101998, 1000), 0);
	/* Still for stale_ms: stale, by how long. */
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 101999, 1000), 1000);
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 105000, 1000), 4001);
	/* It moves again: alive. */
	vamos_region_beat(&host);
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 105001, 1000), 0);
	/* stale_ms 0 (VAMOS_STALE_MS=0): never. */
	cr_assert_eq(host_watch_stale(&w, vamos_region_heartbeat(&guest), 999999, 0), 0);

	/* A new layout says "no heartbeat" until the host beats again. */
	cr_assert_eq(vamos_region_init(mem, size, &params, &host), 0);
	cr_assert_eq(vamos_region_heartbeat(&guest), 0);
	for (int i = 0; i < 3; i++)
		vamos_region_beat(&host);
	cr_assert_eq(vamos_region_heartbeat(&guest), 3);
	/* The beat skips 0 when it wraps: a host never looks absent. */
	struct vamos_region_header *h = mem;
	atomic_store(&h->side[VAMOS_SIDE_HOST].heartbeat, UINT64_MAX);
	vamos_region_beat(&host);
	cr_assert_eq(vamos_region_heartbeat(&guest), 1);
	free(mem);
}

/* The reply poll's budget: it starts at the maximum, a reply that came
 * soon after a sleep grows it (up to the maximum), a late one shrinks it
 * (down to the floor), one taken while polling leaves it. */
Test(client_units, reply_spin_budget_adapts_between_floor_and_maximum)
{
	const int64_t max = 50000, slow = 8 * max + 1, soon = 60000;
	struct reply_spin r;
	reply_spin_init(&r, max);
	cr_assert_eq(r.budget_ns, max);
	cr_assert_eq(reply_spin_floor(max), 3125, "max / 16");

	/* Taken while polling: nothing to learn, however long it took. */
	reply_spin_learn(&r, max, 40000, false);
	reply_spin_learn(&r, max, 10 * slow, false);
	cr_assert_eq(r.budget_ns, max);

	/* Late replies (a lock wait, an fsync): halve, down to the floor. */
	int64_t expect[] = { 25000, 12500, 6250, 3125, 3125, 3125 };
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
		reply_spin_learn(&r, max, slow, true);
		cr_assert_eq(r.budget_ns, expect[i], "step %zu: %lld", i, (long long)r.budget_ns);
	}
	/* Replies that came soon after the sleep: double, up to the maximum. */
	int64_t grow[] = { 6250, 12500, 25000, 50000, 50000 };
	for (size_t i = 0; i < sizeof grow / sizeof grow[0]; i++) {
		reply_spin_learn(&r, max, soon, true);
		cr_assert_eq(r.budget_ns, grow[i], "step %zu: %lld", i, (long long)r.budget_ns);
	}
	/* Exactly 8 maxima is still soon. */
	reply_spin_learn(&r, max, 8 * max, true);
	cr_assert_eq(r.budget_ns, max);

	/* A maximum that is not a power of two is reached, never passed. */
	reply_spin_init(&r, 30000);
	reply_spin_learn(&r, 30000, 10000000, true);
	cr_assert_eq(r.budget_ns, 15000);
	reply_spin_learn(&r, 30000, 10000, true);
	reply_spin_learn(&r, 30000, 10000, true);
	cr_assert_eq(r.budget_ns, 30000);

	/* The floor is at least 2 us, and never above the maximum. */
	cr_assert_eq(reply_spin_floor(10000), 2000);
	cr_assert_eq(reply_spin_floor(1000), 1000);
	reply_spin_init(&r, 1000);
	reply_spin_learn(&r, 1000, 1000000, true);
	cr_assert_eq(r.budget_ns, 1000);

	/* Off (maximum 0): never polls, whatever happens. */
	reply_spin_init(&r, 0);
	cr_assert_eq(r.budget_ns, 0);
	reply_spin_learn(&r, 0, 100, true);
	reply_spin_learn(&r, 0, 100, false);
	cr_assert_eq(r.budget_ns, 0);
}
