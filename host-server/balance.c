/* SPDX-License-Identifier: MIT */
/* The balancer's decision: see balance.h. */
#include <stddef.h>
#include <stdint.h>

#include "balance.h"
#include "config.h"

const struct balance_marks balance_default_marks = { .high = 0.8, .low = 0.4, .pack = 0.1 };

/* What the plan knows of one poller. */
struct pstate {
	unsigned sessions, busy; /* sessions, those with work */
	bool used;               /* already in a move of this plan */
};

/* Poller @from's busiest session whose share keeps @to_load below @high
 * once added, or -1. */
static int busiest_fitting(const struct balance_session *s, unsigned n, unsigned from,
			   double to_load, double high)
{
	int best = -1;
	for (unsigned i = 0; i < n; i++) {
		if (s[i].poller != from || s[i].share <= 0 || !(to_load + s[i].share < high))
			continue;
		if (best < 0 || s[i].share > s[best].share)
			best = (int)i;
	}
	return best;
}

/* The least loaded poller not used yet, other than @not, below @below;
 * -1 if none. */
static int least_loaded(const double *load, const struct pstate *ps, unsigned n,
			unsigned not, double below)
{
	int best = -1;
	for (unsigned k = 0; k < n; k++)
		if (k != not && !ps[k].used && load[k] < below &&
		    (best < 0 || load[k] < load[best]))
			best = (int)k;
	return best;
}

/* Spread from the most loaded poller first. */
static unsigned spread(const double *load, struct pstate *ps, unsigned n,
		       const struct balance_session *s, unsigned ns,
		       const struct balance_marks *m, struct balance_move *out)
{
	unsigned moves = 0;
	for (;;) {
		int from = -1;
		for (unsigned k = 0; k < n; k++)
			if (!ps[k].used && load[k] > m->high && ps[k].busy >= 2 &&
			    (from < 0 || load[k] > load[from]))
				from = (int)k;
		if (from < 0)
			return moves;
		ps[from].used = true; /* considered: at most once */
		int to = least_loaded(load, ps, n, (unsigned)from, m->low);
		if (to < 0)
			continue;
		int i = busiest_fitting(s, ns, (unsigned)from, load[to], m->high);
		if (i < 0)
			continue;
		ps[to].used = true;
		out[moves++] = (struct balance_move){ (unsigned)from, (unsigned)to, false,
						      (unsigned)i };
	}
}

/* Pack the least loaded poller first, into the most loaded that fits. */
static unsigned pack(const double *load, struct pstate *ps, unsigned n,
		     const struct balance_marks *m, struct balance_move *out)
{
	unsigned moves = 0;
	for (;;) {
		int from = -1;
		for (unsigned k = 0; k < n; k++)
			if (!ps[k].used && ps[k].sessions && load[k] < m->pack &&
			    (from < 0 || load[k] < load[from]))
				from = (int)k;
		if (from < 0)
			return moves;
		ps[from].used = true;
		int to = -1;
		for (unsigned k = 0; k < n; k++)
			if (k != (unsigned)from && !ps[k].used && ps[k].sessions &&
			    load[k] + load[from] < m->low && (to < 0 || load[k] > load[to]))
				to = (int)k;
		if (to < 0)
			continue;
		ps[to].used = true;
		out[moves++] = (struct balance_move){ (unsigned)from, (unsigned)to, true, 0 };
	}
}

unsigned balance_plan(const double *load, unsigned npollers,
		      const struct balance_session *sessions, unsigned nsessions,
		      const struct balance_marks *marks, struct balance_move *out)
{
	struct pstate ps[CONFIG_MAX_POLLERS] = { 0 };
	if (npollers > CONFIG_MAX_POLLERS)
		npollers = CONFIG_MAX_POLLERS;
	for (unsigned i = 0; i < nsessions; i++) {
		if (sessions[i].poller >= npollers)
			continue;
		ps[sessions[i].poller].sessions++;
		ps[sessions[i].poller].busy += sessions[i].share > 0;
	}
	unsigned moves = spread(load, ps, npollers, sessions, nsessions, marks, out);
	return moves + pack(load, ps, npollers, marks, out + moves);
}
