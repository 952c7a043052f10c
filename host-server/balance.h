/* SPDX-License-Identifier: MIT */
/*
 * The balancer's decision, a pure function: the pollers' loads and their
 * sessions' shares of the last interval in, the sessions to move out
 * (pollers_balance.h measures and moves). Two rules, with a gap between
 * their marks so that what one rule did the other never undoes:
 *
 *  - spread: a poller loaded above @high that served at least two
 *    sessions with work gives its busiest session that fits to the least
 *    loaded poller, if that one is below @low and stays below @high with
 *    the session's share added;
 *  - pack: a poller with sessions, loaded below @pack, gives them all to
 *    the most loaded other poller with sessions whose load plus its own
 *    stays below @low, so that the emptied poller sleeps.
 *
 * A poller takes part in at most one move per plan, as giver or taker.
 * Loads exactly at a mark move nothing.
 */
#ifndef VAMOSD_BALANCE_H
#define VAMOSD_BALANCE_H

#include <stdbool.h>

struct balance_marks {
	double high, low, pack;
};

/* The marks vamosd uses: spread above 0.8 into a poller below 0.4, pack
 * below 0.1. */
extern const struct balance_marks balance_default_marks;

/* One session in the last interval: its poller, and its share of that
 * poller's wall time (its poller's load times its part of the records
 * and completions the poller handled; 0: no work). */
struct balance_session {
	unsigned poller;
	double share;
};

/* One move: session @session (an index into the sessions given) from
 * poller @from to poller @to, or (@all) every session of @from. */
struct balance_move {
	unsigned from, to;
	bool all;
	unsigned session; /* !all */
};

/* Plan the moves for @npollers pollers whose loads (busy share of the
 * interval's wall time, 0 to 1) are @load, serving the @nsessions
 * sessions @sessions. Writes at most @npollers / 2 moves to @out, returns
 * how many. */
unsigned balance_plan(const double *load, unsigned npollers,
		      const struct balance_session *sessions, unsigned nsessions,
		      const struct balance_marks *marks, struct balance_move *out);

#endif
