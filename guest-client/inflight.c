/* SPDX-License-Identifier: MIT */
/*
 * The ids a session has in flight. A session numbers its requests
 * consecutively, so most of them live in a window indexed by id & mask:
 * adding and taking one is a store and a compare, no search. A request
 * still in flight when a newer id needs its place (a slow call while
 * thousands of others went by) moves to an open-addressing hash table
 * (linear probing, backward-shift deletion, load at most 1/2), which is
 * empty and costs nothing in steady traffic. Both only grow, so steady
 * traffic allocates nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WINDOW_INITIAL 256u
#define WINDOW_MAX 65536u   /* 1 MiB of slots at most */
#define HASH_INITIAL_BITS 8u
#define HASH_MAX_BITS 17u   /* 2 * CLIENT_MAX_IN_FLIGHT slots */

/* ------------------------------------------------- the older ids' table */

static inline uint32_t home(const struct inflight_hash *t, uint64_t id)
{
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> t->shift);
}

/* Place @id (known absent) in a table with room. */
static void hash_place(struct inflight_hash *t, uint64_t id, uint16_t owner)
{
	uint32_t i = home(t, id);
	while (t->slots[i].used)
		i = (i + 1) & t->mask;
	t->slots[i] = (struct inflight_slot){ .id = id, .owner = owner, .used = 1 };
	t->count++;
}

static int hash_resize(struct inflight_hash *t, uint32_t bits)
{
	struct inflight_slot *old = t->slots;
	uint32_t old_cap = t->slots ? t->mask + 1 : 0;
	struct inflight_slot *slots = calloc((size_t)1 << bits, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	t->mask = (1u << bits) - 1;
	t->shift = 64 - bits;
	t->count = 0;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].used)
			hash_place(t, old[i].id, old[i].owner);
	free(old);
	return 0;
}

static int hash_add(struct inflight_hash *t, uint64_t id, uint16_t owner)
{
	if (!t->slots || (t->count + 1) * 2 > t->mask + 1) {
		uint32_t bits = t->slots ? 64 - t->shift + 1 : HASH_INITIAL_BITS;
		if (bits > HASH_MAX_BITS)
			return -EAGAIN;
		int rc = hash_resize(t, bits);
		if (rc)
			return rc;
	}
	hash_place(t, id, owner);
	return 0;
}

static int hash_take(struct inflight_hash *t, uint64_t id, uint16_t *owner)
{
	if (!t->count)
		return 0;
	uint32_t i = home(t, id);
	while (t->slots[i].used && t->slots[i].id != id)
		i = (i + 1) & t->mask;
	if (!t->slots[i].used)
		return 0;
	if (owner)
		*owner = t->slots[i].owner;
	/* Backward shift: pull later members of the cluster into the hole
	 * when their home does not lie cyclically in (hole, j]. */
	uint32_t hole = i;
	for (uint32_t j = (i + 1) & t->mask; t->slots[j].used; j = (j + 1) & t->mask) {
		uint32_t h = home(t, t->slots[j].id);
		bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		hole = j;
	}
	t->slots[hole].used = 0;
	t->count--;
	return 1;
}

/* ------------------------------------------------------------ the window */

/* Double the window. Ids distinct modulo a power of two stay distinct
 * modulo its double, so moving the entries over never collides. */
static int window_grow(struct inflight *t)
{
	uint32_t cap = (t->win_mask + 1) * 2;
	struct inflight_slot *win = calloc(cap, sizeof *win);
	if (!win)
		return -ENOMEM;
	for (uint32_t i = 0; i <= t->win_mask; i++)
		if (t->win[i].used)
			win[t->win[i].id & (cap - 1)] = t->win[i];
	free(t->win);
	t->win = win;
	t->win_mask = cap - 1;
	return 0;
}

void inflight_free(struct inflight *t)
{
	free(t->win);
	free(t->old.slots);
	memset(t, 0, sizeof *t);
}

int inflight_add_slow(struct inflight *t, uint64_t id, uint16_t owner)
{
	if (t->count >= CLIENT_MAX_IN_FLIGHT)
		return -EAGAIN;
	if (!t->win) {
		t->win = calloc(WINDOW_INITIAL, sizeof *t->win);
		if (!t->win)
			return -ENOMEM;
		t->win_mask = WINDOW_INITIAL - 1;
	}
	struct inflight_slot *slot = &t->win[id & t->win_mask];
	if (slot->used) {
		/* A window at least half full is too small for the traffic:
		 * grow it. Otherwise the occupant is a straggler: it moves to
		 * the table of older ids, so one slow request never makes
		 * the window grow. */
		int rc;
		if ((t->count - t->old.count) * 2 > t->win_mask + 1 &&
		    t->win_mask + 1 < WINDOW_MAX) {
			if ((rc = window_grow(t)))
				return rc;
			slot = &t->win[id & t->win_mask];
		}
		if (slot->used) {
			if ((rc = hash_add(&t->old, slot->id, slot->owner)))
				return rc;
			slot->used = 0;
		}
	}
	*slot = (struct inflight_slot){ .id = id, .owner = owner, .used = 1 };
	t->count++;
	return 0;
}

int inflight_take_old(struct inflight *t, uint64_t id, uint16_t *owner)
{
	if (!hash_take(&t->old, id, owner))
		return 0;
	t->count--;
	return 1;
}

void inflight_drain(struct inflight *t, void (*fn)(void *arg, uint64_t id, uint16_t owner),
		    void *arg)
{
	struct inflight_slot *tables[2] = { t->win, t->old.slots };
	uint32_t masks[2] = { t->win_mask, t->old.mask };
	for (int k = 0; k < 2; k++) {
		if (!tables[k])
			continue;
		for (uint32_t i = 0; i <= masks[k]; i++) {
			if (!tables[k][i].used)
				continue;
			tables[k][i].used = 0;
			fn(arg, tables[k][i].id, tables[k][i].owner);
		}
	}
	t->old.count = 0;
	t->count = 0;
}

void inflight_drop_owner(struct inflight *t, uint16_t owner)
{
	if (t->win)
		for (uint32_t i = 0; i <= t->win_mask; i++)
			if (t->win[i].used && t->win[i].owner == owner) {
				t->win[i].used = 0;
				t->count--;
			}
	if (!t->old.slots)
		return;
	/* Rare (a thread left its session): take the owner's older ids one
	 * by one, restarting after each shift. */
	for (uint32_t i = 0; i <= t->old.mask;) {
		if (t->old.slots[i].used && t->old.slots[i].owner == owner) {
			hash_take(&t->old, t->old.slots[i].id, NULL);
			t->count--;
			continue; /* the shift may have moved another into i */
		}
		i++;
	}
}
