/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "heartbeat.h"
#include "log.h"
#include "pollers.h"

int pollers_start(struct pollers *ps, unsigned count, int64_t spin_ns, uint64_t boot_id)
{
	ps->all = calloc(count, sizeof *ps->all);
	ps->count = 0;
	if (!ps->all)
		return -ENOMEM;
	for (unsigned k = 0; k < count; k++) {
		char name[32];
		snprintf(name, sizeof name, "poller %u", k);
		int rc = poller_start(&ps->all[k], name, spin_ns, boot_id);
		if (rc) {
			/* Those started go; the one that failed keeps what it
			 * opened until we exit (it may have no thread to join). */
			ps->count = k;
			pollers_stop(ps);
			pollers_destroy(ps);
			return rc;
		}
	}
	ps->count = count;
	return 0;
}

/* The set @p serves now: ours to read, as only this thread replaces it. */
static struct session_set *current(struct poller *p)
{
	return __atomic_load_n(&p->set, __ATOMIC_RELAXED);
}

static bool among(const struct session *s, struct session *const *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == s)
			return true;
	return false;
}

/* @old without @drop[0..@ndrop) and with @add[0..@nadd) at the end, in
 * *@out (NULL if empty). False: out of memory. */
static bool edited(const struct session_set *old, struct session *const *drop, unsigned ndrop,
		   struct session *const *add, unsigned nadd, struct session_set **out)
{
	unsigned have = old ? old->count : 0;
	struct session **next = malloc((have + nadd + 1) * sizeof *next);
	*out = NULL;
	if (!next)
		return false;
	unsigned n = 0;
	for (unsigned i = 0; i < have; i++)
		if (!among(old->sessions[i], drop, ndrop))
			next[n++] = old->sessions[i];
	for (unsigned i = 0; i < nadd; i++)
		next[n++] = add[i];
	*out = n ? session_set_new(next, n) : NULL;
	free(next);
	return !n || *out;
}

/* A set never published: let it go. */
static void set_free(struct session_set *set)
{
	for (unsigned i = 0; set && i < set->count; i++)
		session_unref(set->sessions[i]);
	free(set);
}

/* Publish @p's set as it is now, without @drop[0..@ndrop) and with
 * @add[0..@nadd) at the end. */
static void change(struct poller *p, struct session *const *drop, unsigned ndrop,
		   struct session *const *add, unsigned nadd)
{
	struct session_set *set;
	if (!edited(current(p), drop, ndrop, add, nadd, &set)) {
		log_error("%s: out of memory for a session set", p->name);
		/* What leaves must leave (its region is laid out afresh next):
		 * the poller's other sessions go with it. */
		if (!nadd)
			poller_set_sessions(p, NULL);
		return; /* nothing added; what it serves stays */
	}
	poller_set_sessions(p, set);
}

void pollers_add(struct poller *p, struct session *const *sessions, unsigned n)
{
	if (n)
		change(p, NULL, 0, sessions, n);
}

void pollers_remove(struct poller *p, struct session *const *sessions, unsigned n)
{
	if (n)
		change(p, sessions, n, NULL, 0);
}

unsigned pollers_sessions(struct poller *p)
{
	struct session_set *set = current(p);
	return set ? set->count : 0;
}

/* The poller with the fewest sessions by @load; among those, one @used
 * (bit k: poller k) does not name yet, then the lowest number. */
static unsigned least_loaded(const unsigned *load, unsigned count, uint64_t used)
{
	unsigned best = 0;
	for (unsigned k = 1; k < count; k++) {
		bool fewer = load[k] < load[best];
		bool as_few_unused = load[k] == load[best] && !(used >> k & 1) &&
				     (used >> best & 1);
		if (fewer || as_few_unused)
			best = k;
	}
	return best;
}

uint64_t pollers_deal(struct pollers *ps, unsigned channels, unsigned *poller_of)
{
	unsigned load[CONFIG_MAX_POLLERS];
	uint64_t used = 0;
	for (unsigned k = 0; k < ps->count; k++)
		load[k] = pollers_sessions(&ps->all[k]);
	for (unsigned i = 0; i < channels; i++) {
		unsigned k = least_loaded(load, ps->count, used);
		poller_of[i] = k;
		load[k]++;
		used |= UINT64_C(1) << k;
	}
	return used;
}

/* The pollers that serve a session of heartbeat @hb's VM now. */
static uint64_t serving(struct pollers *ps, const struct heartbeat *hb)
{
	uint64_t mask = 0;
	for (unsigned k = 0; k < ps->count; k++) {
		const struct session_set *set = current(&ps->all[k]);
		for (unsigned i = 0; set && i < set->count; i++)
			if (set->sessions[i]->beat == hb)
				mask |= UINT64_C(1) << k;
	}
	return mask;
}

/* Is @p stopping or stopped (no hand-off would be answered)? */
static bool stopping(struct poller *p)
{
	/* Acquire, as the other readers of exited; stopping orders nothing. */
	return atomic_load_explicit(&p->exited, memory_order_acquire) ||
	       atomic_load_explicit(&p->stopping, memory_order_relaxed);
}

int pollers_move(struct pollers *ps, unsigned from, unsigned to, struct session *const *moving,
		 unsigned n)
{
	if (from == to || from >= ps->count || to >= ps->count || !n)
		return -EINVAL;
	struct poller *pf = &ps->all[from], *pt = &ps->all[to];
	if (stopping(pf) || stopping(pt))
		return -EINVAL;
	/* Both sets first: past this point nothing can fail half-way. */
	struct session_set *left, *joined;
	bool ok = edited(current(pf), moving, n, NULL, 0, &left);
	if (!ok || !edited(current(pt), NULL, 0, moving, n, &joined)) {
		set_free(left);
		return -ENOMEM;
	}
	/* Relaxed (heartbeat.h: only this thread writes it): the liveness
	 * thread judges @to for these VMs before @to serves them. */
	for (unsigned i = 0; i < n; i++)
		if (moving[i]->beat)
			atomic_fetch_or_explicit(&moving[i]->beat->pollers, UINT64_C(1) << to,
						 memory_order_relaxed);
	/* Not marked removed: their late replies still reach them. */
	poller_set_sessions_moving(pf, left);
	for (unsigned i = 0; i < n; i++)
		poller_hand_off(pf, moving[i], pt);
	poller_set_sessions(pt, joined);
	for (unsigned i = 0; i < n; i++) {
		if (moving[i]->placed)
			*moving[i]->placed = to;
		if (moving[i]->beat)
			atomic_store_explicit(&moving[i]->beat->pollers,
					      serving(ps, moving[i]->beat), memory_order_relaxed);
	}
	ps->moves += n;
	return 0;
}

void pollers_request_stop(struct pollers *ps)
{
	for (unsigned k = 0; k < ps->count; k++)
		poller_request_stop(&ps->all[k]);
}

void pollers_stop(struct pollers *ps)
{
	pollers_request_stop(ps);
	for (unsigned k = 0; k < ps->count; k++)
		poller_stop(&ps->all[k]);
}

void pollers_destroy(struct pollers *ps)
{
	for (unsigned k = 0; k < ps->count; k++)
		poller_destroy(&ps->all[k]);
	free(ps->all);
	ps->all = NULL;
	ps->count = 0;
}
