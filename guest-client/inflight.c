/* SPDX-License-Identifier: MIT */
/*
 * The ids a session has in flight: an open-addressing hash table with
 * linear probing and backward-shift deletion. Ids are consecutive, so a
 * Fibonacci hash spreads them; replies may come back in any order and the
 * table never holds tombstones. It grows (doubling, load at most 1/2) and
 * never shrinks, so steady traffic allocates nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define INITIAL_BITS 8u
#define MAX_BITS 17u /* 2 * CLIENT_MAX_IN_FLIGHT slots */

static inline uint32_t home(const struct inflight *t, uint64_t id)
{
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> t->shift);
}

void inflight_free(struct inflight *t)
{
	free(t->slots);
	memset(t, 0, sizeof *t);
}

/* Place @id (known absent) in a table with room. */
static void place(struct inflight *t, uint64_t id, uint16_t owner)
{
	uint32_t i = home(t, id);
	while (t->slots[i].used)
		i = (i + 1) & t->mask;
	t->slots[i].id = id;
	t->slots[i].owner = owner;
	t->slots[i].used = 1;
	t->count++;
}

static int resize(struct inflight *t, uint32_t bits)
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
			place(t, old[i].id, old[i].owner);
	free(old);
	return 0;
}

int inflight_add(struct inflight *t, uint64_t id, uint16_t owner)
{
	if (t->count >= CLIENT_MAX_IN_FLIGHT)
		return -EAGAIN;
	if (!t->slots || (t->count + 1) * 2 > t->mask + 1) {
		uint32_t bits = t->slots ? 64 - t->shift + 1 : INITIAL_BITS;
		if (bits > MAX_BITS)
			return -EAGAIN;
		int rc = resize(t, bits);
		if (rc)
			return rc;
	}
	place(t, id, owner);
	return 0;
}

int inflight_take(struct inflight *t, uint64_t id, uint16_t *owner)
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

void inflight_drain(struct inflight *t, void (*fn)(void *arg, uint64_t id, uint16_t owner),
		    void *arg)
{
	if (!t->slots)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		if (!t->slots[i].used)
			continue;
		t->slots[i].used = 0;
		fn(arg, t->slots[i].id, t->slots[i].owner);
	}
	t->count = 0;
}

void inflight_drop_owner(struct inflight *t, uint16_t owner)
{
	if (!t->slots)
		return;
	/* Rare (a thread left its session): rebuild in place by taking the
	 * owner's ids one by one, restarting after each shift. */
	for (uint32_t i = 0; i <= t->mask;) {
		if (t->slots[i].used && t->slots[i].owner == owner) {
			inflight_take(t, t->slots[i].id, NULL);
			continue; /* the shift may have moved another into i */
		}
		i++;
	}
}
