/* SPDX-License-Identifier: MIT */
/* In-process poller scenarios as plain functions (NULL on success, else
 * what went wrong), shared by Criterion and the TSan runner. */
#ifndef VAMOS_TEST_POLLERS_SCENARIOS_H
#define VAMOS_TEST_POLLERS_SCENARIOS_H

/*
 * Many sessions on the host's one poller, most with a doorbell, one that
 * can only be polled, each alternating idle spells (long enough to be
 * parked) with single requests (echo on the poller, or sleep 0 on the
 * blocking pool), driven by a few threads, while another session keeps
 * joining and leaving the poller's set: @rounds requests per session, every
 * one answered. A lost wakeup leaves a request unanswered, and the test
 * fails by its timeout.
 */
const char *scenario_pollers_park_stress(unsigned rounds);

/*
 * Four sessions on one poller, each with its ring full (1000 echo
 * requests queued before the poller sees any): in the order the replies
 * were made, no session that still has requests is ever more than one
 * turn (SESSION_BATCH) ahead of another (pollers_sharing.c).
 */
const char *scenario_full_rings_take_even_turns(void);

/*
 * Two pollers, VMs attaching and leaving as vm.c does (pollers_deal, then
 * pollers_add): each new VM's channels go to the poller with the fewest
 * sessions at the time, a VM's channels to different pollers on a tie, so
 * the VMs that stay do not pile up on one poller (pollers_sharing.c).
 */
const char *scenario_new_vms_go_to_the_least_loaded_pollers(void);

/*
 * One session with every request held on the blocking pool and its reply
 * ring full, moved between two pollers three times (pollers_move) while
 * the pool posts its replies before, between and during the moves: once
 * the ring has room every reply arrives once and in order, all written by
 * the poller that owns the session last, which then serves new requests
 * (pollers_moving.c).
 */
const char *scenario_a_move_keeps_every_reply_once_and_in_order(void);

/*
 * A session's buffered replies, made by the blocking pool in turn: a big
 * one that does not fit the reply ring, then small ones that would. The
 * small ones wait behind the big one, and once the ring has room all
 * leave in the order they were made (pollers_reply_order.c).
 */
const char *scenario_a_reply_that_fits_waits_behind_one_that_does_not(void);

#endif
