/* SPDX-License-Identifier: MIT */
/*
 * The host's pollers: one set of poller threads (config key `pollers`)
 * shared by every VM's channels, instead of threads per VM. A peer's
 * channels are dealt when it attaches, each to the poller with the fewest
 * sessions then (pollers_deal), so VMs that come and go leave no poller
 * with more than its share; busy VMs share the pollers and each poller
 * serves its sessions round-robin (poller.h). An idle host still costs no
 * CPU: every poller sleeps. Afterwards the balancer (pollers_balance.h)
 * moves sessions between pollers by their measured load (pollers_move).
 * Main thread only, except the pollers themselves.
 */
#ifndef VAMOSD_POLLERS_H
#define VAMOSD_POLLERS_H

#include <stdint.h>

#include "config.h"
#include "poller.h"

struct pollers {
	struct poller *all;
	unsigned count;
	/* The balancer's, main thread only (pollers_balance.h). */
	uint64_t moves;           /* sessions moved between pollers, ever */
	int64_t measured_at;      /* when the loads below were measured (0: never) */
	uint64_t busy_seen[CONFIG_MAX_POLLERS]; /* each one's busy_ns then */
	double load[CONFIG_MAX_POLLERS];        /* busy share of the last interval */
};

_Static_assert(CONFIG_MAX_POLLERS <= 64, "a VM's pollers fit a 64-bit mask");

/* Start @count pollers. 0, or -errno with none left running. */
int pollers_start(struct pollers *ps, unsigned count, int64_t spin_ns, uint64_t boot_id);

/* Deal a newly attached peer's @channels channels: channel i to poller
 * @poller_of[i], each in turn to the one with the fewest sessions now plus
 * those of this peer already dealt (on a tie, one this peer has none on
 * yet, then the lowest number). Returns the pollers dealt to (bit k:
 * poller k). Main thread, before the sessions are added. */
uint64_t pollers_deal(struct pollers *ps, unsigned channels, unsigned *poller_of);

/* How many sessions poller @p serves now. Main thread. */
unsigned pollers_sessions(struct poller *p);

/* Add @n sessions to poller @p's set, after those it has (so a VM's
 * sessions sit together). */
void pollers_add(struct poller *p, struct session *const *sessions, unsigned n);

/* Take @n sessions off poller @p's set: once this returns the poller no
 * longer touches them (poller_set_sessions). */
void pollers_remove(struct poller *p, struct session *const *sessions, unsigned n);

/* Move sessions @moving[0..@n), all served by poller @from, to poller
 * @to, without losing, repeating or reordering any of their replies: @from
 * stops touching them (a grace period), hands their buffered replies to
 * @to (poller_hand_off()), then @to serves them. Their heartbeats name
 * @to before it serves them and @from no longer once none of their VM's
 * sessions stay there; each session's s->placed says @to. 0, -EINVAL
 * (nothing to move, or a poller stopped), -ENOMEM (nothing moved). Main
 * thread, while the pollers run. */
int pollers_move(struct pollers *ps, unsigned from, unsigned to, struct session *const *moving,
		 unsigned n);

/* Tell every poller to drain, without waiting. */
void pollers_request_stop(struct pollers *ps);

/* Drain every poller (requests taken are answered) and join them. Their
 * sessions stay set until taken off. */
void pollers_stop(struct pollers *ps);

/* After pollers_stop and once every session is taken off: free them. */
void pollers_destroy(struct pollers *ps);

#endif
