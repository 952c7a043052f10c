/* SPDX-License-Identifier: MIT */
/* The balancer: see pollers_balance.h. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "balance.h"
#include "log.h"
#include "pollers_balance.h"
#include "vamos_clock.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* The set @p serves: ours to read, as only this thread replaces it. */
static const struct session_set *set_of(const struct poller *p)
{
	return __atomic_load_n(&p->set, __ATOMIC_RELAXED);
}

/* Each poller's load since the last measure, into ps->load. */
static void measure_pollers(struct pollers *ps, int64_t wall_ns)
{
	for (unsigned k = 0; k < ps->count; k++) {
		/* Relaxed: a counter the poller adds to, read as a number. */
		uint64_t busy = LOAD(ps->all[k].counters.busy_ns);
		double load = wall_ns > 0 ? (double)(busy - ps->busy_seen[k]) / (double)wall_ns : 0;
		ps->busy_seen[k] = busy;
		ps->load[k] = load > 1 ? 1 : load;
	}
}

/* Every session of every poller with its share of that poller's load,
 * into @out[] and @who[] (as many as there are sessions). */
static unsigned measure_sessions(struct pollers *ps, struct balance_session *out,
				 struct session **who)
{
	unsigned n = 0;
	for (unsigned k = 0; k < ps->count; k++) {
		const struct session_set *set = set_of(&ps->all[k]);
		unsigned first = n;
		uint64_t total = 0;
		for (unsigned i = 0; set && i < set->count; i++) {
			struct session *s = set->sessions[i];
			/* Relaxed: a counter its poller adds to. */
			uint64_t handled = LOAD(s->counters.handled);
			uint64_t d = handled - s->balance_seen;
			s->balance_seen = handled;
			total += d;
			who[n] = s;
			out[n++] = (struct balance_session){ k, (double)d };
		}
		for (unsigned i = first; i < n; i++)
			out[i].share = total ? ps->load[k] * out[i].share / (double)total : 0;
	}
	return n;
}

/* Make move @m (sessions indexed as @who). Returns the sessions moved. */
static unsigned apply(struct pollers *ps, const struct balance_move *m, struct session **who)
{
	struct session *const *moving = &who[m->session];
	unsigned n = 1;
	if (m->all) {
		const struct session_set *set = set_of(&ps->all[m->from]);
		moving = set ? set->sessions : NULL;
		n = set ? set->count : 0;
	}
	/* pollers_move() replaces the set @moving may point into: copy. */
	struct session **copy = n ? malloc(n * sizeof *copy) : NULL;
	if (!copy)
		return 0;
	for (unsigned i = 0; i < n; i++)
		copy[i] = moving[i];
	int rc = pollers_move(ps, m->from, m->to, copy, n);
	free(copy);
	if (rc)
		return 0;
	log_debug("balance: %u session%s from poller %u (load %.2f) to poller %u (load %.2f)",
		  n, n == 1 ? "" : "s", m->from, ps->load[m->from], m->to, ps->load[m->to]);
	return n;
}

unsigned pollers_balance(struct pollers *ps, int64_t now_ns)
{
	int64_t wall = now_ns - ps->measured_at;
	bool first = !ps->measured_at;
	ps->measured_at = now_ns;
	measure_pollers(ps, wall);
	unsigned total = 0;
	for (unsigned k = 0; k < ps->count; k++)
		total += pollers_sessions(&ps->all[k]);
	struct balance_session *sess = malloc((total + 1) * sizeof *sess);
	struct session **who = malloc((total + 1) * sizeof *who);
	unsigned moved = 0;
	if (sess && who) {
		unsigned n = measure_sessions(ps, sess, who);
		struct balance_move moves[CONFIG_MAX_POLLERS / 2];
		unsigned planned = first ? 0
					 : balance_plan(ps->load, ps->count, sess, n,
							&balance_default_marks, moves);
		for (unsigned i = 0; i < planned; i++)
			moved += apply(ps, &moves[i], who);
	}
	free(sess);
	free(who);
	/* The moves took time: the next interval starts now. */
	if (moved) {
		for (unsigned k = 0; k < ps->count; k++)
			ps->busy_seen[k] = LOAD(ps->all[k].counters.busy_ns);
		ps->measured_at = vamos_now_ns();
	}
	return moved;
}
