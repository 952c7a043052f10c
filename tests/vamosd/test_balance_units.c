/* SPDX-License-Identifier: MIT */
/*
 * The balancer's decision (host-server/balance.c) as a pure function:
 * loads and sessions in, moves out. Busy pollers spread, light ones pack,
 * loads at the marks move nothing, what one plan did the next never
 * undoes, and no poller takes part in two moves of one plan.
 */
#include <criterion/criterion.h>

#include "../../host-server/balance.h"

static const struct balance_marks *marks = &balance_default_marks;

static unsigned plan(const double *load, unsigned np, const struct balance_session *s,
		     unsigned ns, struct balance_move *out)
{
	return balance_plan(load, np, s, ns, marks, out);
}

/* The loads after @moves, each session keeping its share. */
static void apply(double *load, struct balance_session *s, unsigned ns,
		  const struct balance_move *moves, unsigned n)
{
	for (unsigned m = 0; m < n; m++)
		for (unsigned i = 0; i < ns; i++) {
			bool moved = moves[m].all ? s[i].poller == moves[m].from
						  : i == moves[m].session;
			if (!moved)
				continue;
			load[s[i].poller] -= s[i].share;
			load[moves[m].to] += s[i].share;
			s[i].poller = moves[m].to;
		}
}

Test(balance, a_busy_poller_with_two_busy_sessions_gives_the_busiest_to_an_idle_one)
{
	double load[2] = { 0.95, 0.0 };
	struct balance_session s[] = { { 0, 0.40 }, { 0, 0.55 } };
	struct balance_move out[1];
	cr_assert_eq(plan(load, 2, s, 2, out), 1);
	cr_assert_eq(out[0].from, 0);
	cr_assert_eq(out[0].to, 1);
	cr_assert_not(out[0].all);
	cr_assert_eq(out[0].session, 1);
}

Test(balance, one_busy_session_alone_on_its_poller_stays)
{
	double load[2] = { 1.0, 0.0 };
	struct balance_session s[] = { { 0, 1.0 }, { 0, 0.0 } };
	struct balance_move out[1];
	cr_assert_eq(plan(load, 2, s, 2, out), 0);
}

Test(balance, light_pollers_pack_onto_one_and_the_other_empties)
{
	double load[2] = { 0.05, 0.02 };
	struct balance_session s[] = { { 0, 0.05 }, { 1, 0.02 } };
	struct balance_move out[1];
	cr_assert_eq(plan(load, 2, s, 2, out), 1);
	cr_assert(out[0].all);
	cr_assert_eq(out[0].from, 1, "the lighter one empties");
	cr_assert_eq(out[0].to, 0);
}

Test(balance, loads_at_the_marks_move_nothing)
{
	/* Spread wants above high, into below low; pack below pack, into a
	 * sum below low: at each mark exactly, nothing. Marks and loads that
	 * binary fractions hold exactly, so that sums are exact too. */
	const struct balance_marks m = { .high = 0.75, .low = 0.5, .pack = 0.125 };
	struct balance_move out[2];
	double at_high[2] = { 0.75, 0.0 };
	struct balance_session s[] = { { 0, 0.375 }, { 0, 0.375 }, { 1, 0.0 } };
	cr_assert_eq(balance_plan(at_high, 2, s, 3, &m, out), 0);
	double into_low[2] = { 0.875, 0.5 };
	struct balance_session s2[] = { { 0, 0.25 }, { 0, 0.625 }, { 1, 0.5 } };
	cr_assert_eq(balance_plan(into_low, 2, s2, 3, &m, out), 0);
	double at_pack[2] = { 0.125, 0.125 };
	struct balance_session s3[] = { { 0, 0.125 }, { 1, 0.125 } };
	cr_assert_eq(balance_plan(at_pack, 2, s3, 2, &m, out), 0);
	double sum_at_low[2] = { 0.0625, 0.4375 };
	struct balance_session s4[] = { { 0, 0.0625 }, { 1, 0.4375 } };
	cr_assert_eq(balance_plan(sum_at_low, 2, s4, 2, &m, out), 0);
	/* Just past each mark, they move. */
	at_high[0] = 0.8125;
	s[0].share = 0.4375;
	cr_assert_eq(balance_plan(at_high, 2, s, 3, &m, out), 1);
	sum_at_low[1] = 0.375;
	cr_assert_eq(balance_plan(sum_at_low, 2, s4, 2, &m, out), 1);
}

Test(balance, a_session_that_would_push_its_taker_past_high_stays)
{
	/* Moving the 0.75 session would put poller 1 at 1.05: the lighter
	 * busy one goes instead. */
	double load[2] = { 0.9, 0.3 };
	struct balance_session s[] = { { 0, 0.75 }, { 0, 0.15 }, { 1, 0.3 } };
	struct balance_move out[1];
	cr_assert_eq(plan(load, 2, s, 3, out), 1);
	cr_assert_eq(out[0].session, 1);
}

Test(balance, what_a_plan_did_the_next_plan_does_not_undo)
{
	/* Spread, then plan again on the loads that follow: nothing. */
	double load[2] = { 0.9, 0.0 };
	struct balance_session s[] = { { 0, 0.45 }, { 0, 0.45 } };
	struct balance_move out[1];
	unsigned n = plan(load, 2, s, 2, out);
	cr_assert_eq(n, 1);
	apply(load, s, 2, out, n);
	cr_assert_eq(plan(load, 2, s, 2, out), 0, "spread, then packed back");
	/* Pack, then again: nothing. */
	double light[3] = { 0.05, 0.08, 0.0 };
	struct balance_session l[] = { { 0, 0.05 }, { 1, 0.08 } };
	n = plan(light, 3, l, 2, out);
	cr_assert_eq(n, 1);
	apply(light, l, 2, out, n);
	cr_assert_eq(plan(light, 3, l, 2, out), 0, "packed, then spread again");
}

Test(balance, no_poller_takes_part_in_two_moves_of_one_plan)
{
	/* Two saturated pollers, an idle one and two light ones: each
	 * saturated one spreads into a different poller, the least loaded
	 * first; the light one left over has nobody to pack into. */
	double load[6] = { 0.95, 0.9, 0.0, 0.05, 0.06, 0.5 };
	struct balance_session s[] = { { 0, 0.5 }, { 0, 0.45 }, { 1, 0.45 }, { 1, 0.45 },
				       { 3, 0.05 }, { 4, 0.06 }, { 5, 0.5 } };
	struct balance_move out[3];
	unsigned n = plan(load, 6, s, 7, out);
	cr_assert_eq(n, 2);
	bool used[6] = { 0 };
	for (unsigned i = 0; i < n; i++) {
		cr_assert_not(used[out[i].from], "poller %u in two moves", out[i].from);
		cr_assert_not(used[out[i].to], "poller %u in two moves", out[i].to);
		used[out[i].from] = used[out[i].to] = true;
	}
	cr_assert_eq(out[0].from, 0, "the busiest spreads first");
	cr_assert_eq(out[0].to, 2);
	cr_assert_eq(out[1].from, 1);
	cr_assert_eq(out[1].to, 3);
	/* Pack alone: the two light ones, once. */
	double light[4] = { 0.05, 0.06, 0.07, 0.08 };
	struct balance_session l[] = { { 0, 0.05 }, { 1, 0.06 }, { 2, 0.07 }, { 3, 0.08 } };
	n = plan(light, 4, l, 4, out);
	cr_assert_eq(n, 2);
	cr_assert(out[0].all && out[0].from == 0 && out[0].to == 3);
	cr_assert(out[1].all && out[1].from == 1 && out[1].to == 2);
}
