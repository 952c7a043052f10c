/* SPDX-License-Identifier: MIT */
/*
 * The reply poll of a LOCAL session (params.poll_us): whether a waiting
 * thread polls its reply ring or announces sleep and must be woken. Every
 * check is on behaviour, none on time: a host that answers only a client
 * that announced sleep (TH_SVC_AFTER_SLEEP) tells announcing from
 * polling, and the channel's counters say how often the client slept.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vamos/protocol.h>

#include "scenarios.h"


/* One call of @service echoing @seq; NULL or what went wrong. */
static const char *echo_once(struct vamos_client *c, uint16_t service, uint64_t seq,
			     int timeout_ms, int *rc_out)
{
	uint64_t back = 0;
	uint32_t len = 0;
	int rc = vamos_call(c, service, 0, &seq, sizeof seq, &back, sizeof back, &len,
			    timeout_ms);
	if (rc_out)
		*rc_out = rc;
	if (rc)
		return rc_out ? NULL : scenario_failf("call %llu: %d", (unsigned long long)seq, rc);
	if (len != sizeof seq || back != seq)
		return scenario_failf("call %llu: wrong reply (%u bytes)", (unsigned long long)seq, len);
	return NULL;
}

/* A LOCAL host and a client with @poll_us (params.poll_us). */
static const char *start(struct test_host *h, struct vamos_client **c, int poll_us)
{
	struct th_opts o = { .kind = TH_LOCAL };
	const char *err = th_start(h, &o, NULL, NULL);
	if (err)
		return err;
	struct vamos_client_params p;
	th_client_params(h, &p, 5000);
	p.poll_us = poll_us;
	p.flags = VAMOS_CLIENT_NO_ENV;
	const char *why = NULL;
	int rc = vamos_client_connect(&p, c, &why);
	return rc ? scenario_failf("connect: %d (%s)", rc, why ? why : "?") : NULL;
}

const char *scenario_poll_fast_host(unsigned calls)
{
	struct test_host h;
	struct vamos_client *c = NULL;
	/* A budget past the client's wait slice: within a slice it never
	 * announces sleep, however the threads are scheduled. */
	const char *err = start(&h, &c, 1000000);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(c);
	TRY(s, "no session");
	if ((err = echo_once(c, VAMOS_SERVICE_ECHO, 0, -1, NULL)))
		goto out;
	TRY(vamos_session_poll_ns(s) == 1000000000ll, "budget %lld ns, not the 1 s asked for",
	    (long long)vamos_session_poll_ns(s));
	struct vamos_chan_stats before = vamos_session_stats(s);
	for (unsigned i = 1; i <= calls; i++)
		if ((err = echo_once(c, VAMOS_SERVICE_ECHO, i, -1, NULL)))
			goto out;
	struct vamos_chan_stats after = vamos_session_stats(s);
	TRY(after.sleeps == before.sleeps, "polling on: slept %llu times in %u calls",
	    (unsigned long long)(after.sleeps - before.sleeps), calls);
	TRY(after.notifications_received == before.notifications_received,
	    "polling on: woken %llu times in %u calls",
	    (unsigned long long)(after.notifications_received - before.notifications_received),
	    calls);
	/* A host that answers only a sleeping client never hears from us. */
	int rc = 0;
	if ((err = echo_once(c, TH_SVC_AFTER_SLEEP, calls + 1, 200, &rc)))
		goto out;
	TRY(rc == -ETIMEDOUT, "polling on: the call that needs a sleep gave %d, not -ETIMEDOUT",
	    rc);
	TRY(vamos_session_stats(s).sleeps == after.sleeps, "polling on: announced sleep");
out:
	vamos_client_close(c);
	th_cleanup(&h);
	return err;
}

const char *scenario_poll_off(unsigned calls)
{
	struct test_host h;
	struct vamos_client *c = NULL;
	const char *err = start(&h, &c, -1);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(c);
	TRY(s, "no session");
	/* Each reply comes only once the client announced sleep: every call
	 * completing says each one slept and was woken (none lost). */
	for (unsigned i = 0; i < calls; i++)
		if ((err = echo_once(c, TH_SVC_AFTER_SLEEP, i, -1, NULL)))
			goto out;
	TRY(vamos_session_poll_ns(s) == 0, "polling off: budget %lld ns",
	    (long long)vamos_session_poll_ns(s));
	struct vamos_chan_stats st = vamos_session_stats(s);
	TRY(st.sleeps >= 1 && st.notifications_received >= 1,
	    "polling off: %llu sleeps, %llu wakeups", (unsigned long long)st.sleeps,
	    (unsigned long long)st.notifications_received);
out:
	vamos_client_close(c);
	th_cleanup(&h);
	return err;
}

const char *scenario_poll_slow_host(unsigned calls)
{
	struct test_host h;
	struct vamos_client *c = NULL;
	const char *err = start(&h, &c, 40);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(c);
	TRY(s, "no session");
	/* Replies that come only after a sleep, soon: still delivered. */
	for (unsigned i = 0; i < calls; i++)
		if ((err = echo_once(c, TH_SVC_AFTER_SLEEP, i, -1, NULL)))
			goto out;
	TRY(vamos_session_poll_ns(s) <= 40000, "budget %lld ns past its 40 us maximum",
	    (long long)vamos_session_poll_ns(s));
	/* A host that takes 5 ms (80 times the budget's maximum) each time:
	 * the budget falls to its floor and stays there. */
	for (unsigned i = 0; i < 12; i++) {
		int rc = vamos_call(c, VAMOS_SERVICE_SLEEP, 5, NULL, 0, NULL, 0, NULL, -1);
		TRY(rc == 0, "slow call %u: %d", i, rc);
	}
	TRY(vamos_session_poll_ns(s) == 2500, "after slow replies the budget is %lld ns, "
					      "not its floor (2.5 us)",
	    (long long)vamos_session_poll_ns(s));
out:
	vamos_client_close(c);
	th_cleanup(&h);
	return err;
}
