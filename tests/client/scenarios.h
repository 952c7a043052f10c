/* SPDX-License-Identifier: MIT */
/* libvamos-client scenarios against the test host, as plain functions
 * (NULL on success, else what went wrong), shared by the Criterion tests
 * and the ThreadSanitizer runner. @kind picks LOCAL or UNIX. */
#ifndef VAMOS_TEST_CLIENT_SCENARIOS_H
#define VAMOS_TEST_CLIENT_SCENARIOS_H

#include "testhost.h"

/* A scenario's failure, formatted into a buffer of the calling thread
 * (valid until its next call). */
__attribute__((format(printf, 1, 2)))
const char *scenario_failf(const char *fmt, ...);

/* In a scenario with `const char *err` and an `out:` label: on a false
 * @cond, the formatted reason goes to err and control to out. */
#define TRY(cond, ...)                                     \
	do {                                               \
		if (!(cond)) {                             \
			err = scenario_failf(__VA_ARGS__); \
			goto out;                          \
		}                                          \
	} while (0)

/* vamos_call: echo, noop, unknown service, reply too large, describe. */
const char *scenario_call(enum th_kind kind);

/* @count submits, one flush (one batch, at most one doorbell), then every
 * reply matched to its id. */
const char *scenario_batch(enum th_kind kind, unsigned count);

/* vamos_session_submit_many: @count requests queued in one call with
 * consecutive ids, each reply matched; a bad request stops a batch in
 * front of it and the next call says why. */
const char *scenario_submit_many(enum th_kind kind, unsigned count);

/* LOCAL: submit (and submit_many) says -EAGAIN when the request ring is
 * full (the host is busy); vamos_call waits for room; every reply still
 * arrives. */
const char *scenario_full_channel(void);

/* The host answers each batch backwards: replies still match their ids. */
const char *scenario_out_of_order(enum th_kind kind, unsigned count);

/* Replies to ids never sent, and repeated replies, are dropped. */
const char *scenario_unknown_ids(enum th_kind kind);

/* Each kind of malformed reply fails the session with -EPROTO ("channel
 * broken"), the other requests in flight with -ECONNRESET; the next call
 * reconnects and works. */
const char *scenario_malformed(enum th_kind kind);

/* The host stops with @count requests in flight: each completes once,
 * with -ECONNRESET; then submit says -ECONNREFUSED ("host gone"). */
const char *scenario_host_stops(enum th_kind kind, unsigned count);

/* The host restarts on the same socket: the next submit reconnects, the
 * boot id is new, requests in flight before fail once, and no request
 * reaches a host twice. With @delay_ms the new host comes up only that
 * long after the old one went (the submit waits for it). */
const char *scenario_restart(enum th_kind kind, int delay_ms);

/* vamos_call and vamos_session_complete time out; a late reply to a call
 * that timed out is dropped and the next call gets its own. */
const char *scenario_timeouts(enum th_kind kind);

/* @threads threads on @channels sessions (so they share), each doing
 * @calls vamos_calls and batches of its own: every reply reaches the
 * thread that sent the request. */
const char *scenario_threads(enum th_kind kind, unsigned threads, uint32_t channels,
			     unsigned calls);

/* Records before the WELCOME (stale replies, another session's WELCOME)
 * are ignored; with LOCAL also replies a closed client left in the ring. */
const char *scenario_stale(enum th_kind kind);

/* One thread, two clients on two hosts: each keeps its own session. */
const char *scenario_two_clients(enum th_kind kind);

/* LOCAL, polling for up to 1 s (past the client's wait slice): @calls
 * echo calls never sleep nor take a wakeup, and a host that answers only
 * a client that announced sleep never gets an answer out (-ETIMEDOUT). */
const char *scenario_poll_fast_host(unsigned calls);

/* LOCAL, polling off: @calls calls to a host that answers only a client
 * that announced sleep all complete (each slept and was woken). */
const char *scenario_poll_off(unsigned calls);

/* LOCAL, polling for up to 40 us: @calls replies that come only once the
 * client sleeps all arrive, the budget stays within its maximum, and
 * replies that take 5 ms bring it down to its floor. */
const char *scenario_poll_slow_host(unsigned calls);

/* shared_scenarios.c: @threads threads on one session (one channel). */

/* Each of @rounds calls the host answers only once it holds a request of
 * every thread (TH_SVC_GATHER): all @threads are in flight at once. */
const char *scenario_shared_in_flight(enum th_kind kind, unsigned threads, unsigned rounds);

/* The host stops while @threads calls wait (one on the channel, the others
 * on the session): each fails with -ECONNRESET, none hangs. */
const char *scenario_shared_death(enum th_kind kind, unsigned threads);

/* A call whose reply never comes times out on its own while another
 * thread's call waits on, and gets its reply later. */
const char *scenario_shared_follower_timeout(enum th_kind kind);

/* LOCAL, polling off: while one thread sleeps in the channel's wait for a
 * reply, another thread of the session sends a request (seen from the
 * reply ring's sleep announcement and the session's count of sleeps; up
 * to @attempts tries, as a sleep may end at its slice meanwhile). */
const char *scenario_shared_send_while_asleep(unsigned attempts);

/* follower_scenarios.c: the followers of a bare session (no host). A
 * reply wakes the follower it is for and no other; routed replies wake the
 * ones waiting for room; a free receiver role wakes exactly one still
 * waiting, a taken one nobody; a death wakes all; an unwoken sleep ends
 * at its time. */
const char *scenario_followers_wake_whom_they_should(void);

#endif
