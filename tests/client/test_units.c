/* SPDX-License-Identifier: MIT */
/* The client's in-flight table and completion stash, compiled in from
 * guest-client/ (the library keeps them hidden). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-client/internal.h"

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
