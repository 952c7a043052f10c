/* SPDX-License-Identifier: MIT */
/*
 * How long a session's next wait polls its reply ring before it announces
 * sleep and arms the interrupt (internal.h, struct reply_spin).
 *
 * Polling only costs anything when the reply is late: one that comes
 * while we poll ends the poll. So the budget starts at the configured
 * maximum and moves only after a wait that had to sleep:
 *
 *   - the reply still came soon (within REPLY_SPIN_SLOW maxima of the
 *     wait's start): a little more polling would have saved the
 *     interrupt, so the budget doubles, up to the maximum;
 *   - it came late (a lock wait, a commit's fsync, a stuck host): polling
 *     burnt the CPU for nothing, so the budget halves, down to a floor
 *     (a slice of the maximum) from which it can grow again.
 *
 * vamosd's pollers follow the same idea on the host: keep polling while
 * work keeps coming, sleep once it stops.
 */
#include "internal.h"

/* A wait that slept longer than this many maxima was a slow reply. */
#define REPLY_SPIN_SLOW 8
/* The budget never falls below max / REPLY_SPIN_FLOOR_DIV ... */
#define REPLY_SPIN_FLOOR_DIV 16
/* ... nor below this (unless the maximum itself is lower). */
#define REPLY_SPIN_FLOOR_MIN_NS 2000ll

int64_t reply_spin_floor(int64_t max_ns)
{
	int64_t f = max_ns / REPLY_SPIN_FLOOR_DIV;
	if (f < REPLY_SPIN_FLOOR_MIN_NS)
		f = REPLY_SPIN_FLOOR_MIN_NS;
	return f < max_ns ? f : max_ns;
}

void reply_spin_init(struct reply_spin *r, int64_t max_ns)
{
	r->budget_ns = max_ns > 0 ? max_ns : 0;
}

void reply_spin_learn(struct reply_spin *r, int64_t max_ns, int64_t waited_ns, bool slept)
{
	if (max_ns <= 0) {
		r->budget_ns = 0; /* polling is off: always sleep at once */
		return;
	}
	if (!slept)
		return; /* the reply came while we polled: the budget fits */
	int64_t floor = reply_spin_floor(max_ns);
	int64_t b = r->budget_ns;
	if (waited_ns <= max_ns * REPLY_SPIN_SLOW)
		b = b < floor ? floor : b > max_ns / 2 ? max_ns : b * 2;
	else
		b = b / 2 < floor ? floor : b / 2;
	r->budget_ns = b;
}
