/* SPDX-License-Identifier: MIT */
/*
 * The host's pollers: one set of poller threads (config key `pollers`)
 * shared by every VM's channels, instead of threads per VM. Channels are
 * dealt round-robin over the whole host (a VM's channels spread over the
 * pollers, the next VM's carry on where the last one stopped), so busy VMs
 * share the pollers and each poller serves its sessions round-robin
 * (poller.h). An idle host still costs no CPU: every poller sleeps.
 * Main thread only, except the pollers themselves.
 */
#ifndef VAMOSD_POLLERS_H
#define VAMOSD_POLLERS_H

#include <stdint.h>

#include "poller.h"

struct pollers {
	struct poller *all;
	unsigned count;
	unsigned next; /* the poller the next VM's channel 0 goes to */
};

/* Start @count pollers. 0, or -errno with none left running. */
int pollers_start(struct pollers *ps, unsigned count, int64_t spin_ns, uint64_t boot_id);

/* A VM of @channels channels: the poller its channel 0 goes to (channel
 * i goes to (that + i) % count), and how many pollers serve it in @span. */
unsigned pollers_assign(struct pollers *ps, unsigned channels, unsigned *span);

/* The poller channel @i of a VM whose channel 0 went to @first serves. */
struct poller *pollers_of_channel(struct pollers *ps, unsigned first, unsigned i);

/* Add @n sessions to poller @p's set, after those it has (so a VM's
 * sessions sit together). */
void pollers_add(struct poller *p, struct session *const *sessions, unsigned n);

/* Take @n sessions off poller @p's set: once this returns the poller no
 * longer touches them (poller_set_sessions). */
void pollers_remove(struct poller *p, struct session *const *sessions, unsigned n);

/* Tell every poller to drain, without waiting. */
void pollers_request_stop(struct pollers *ps);

/* Drain every poller (requests taken are answered) and join them. Their
 * sessions stay set until taken off. */
void pollers_stop(struct pollers *ps);

/* After pollers_stop and once every session is taken off: free them. */
void pollers_destroy(struct pollers *ps);

#endif
