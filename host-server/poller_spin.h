/* SPDX-License-Identifier: MIT */
/*
 * How long a poller keeps polling after its last piece of work before it
 * announces sleep (the client's reply_spin, host side). It starts at
 * spin_us and moves only after a sleep:
 *
 *   - work came within POLLER_SPIN_SOON spins of going to sleep: its
 *     channels are busy but bursty (a client that lost its core for a
 *     moment), and a little more polling would have saved the doorbell,
 *     so the spin doubles, up to POLLER_SPIN_MAX_FACTOR times spin_us;
 *   - the sleep was longer, or ended with no work (the timeout that
 *     keeps the heartbeat going): its channels idle, so the spin goes
 *     back to spin_us at once.
 *
 * An idle host's pollers therefore spin spin_us per sleep, as before; only
 * a poller whose channels keep coming back spins longer. Each turn of a
 * spin past a few microseconds yields the core (vamos_spin.h).
 */
#ifndef VAMOSD_POLLER_SPIN_H
#define VAMOSD_POLLER_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define POLLER_SPIN_SOON 4
#define POLLER_SPIN_MAX_FACTOR 16

struct poller_spin {
	int64_t base_ns; /* spin_us */
	int64_t ns;      /* the spin now */
};

void poller_spin_init(struct poller_spin *s, int64_t base_ns);

/* After a sleep of @slept_ns: did the loop that followed find work? */
void poller_spin_learn(struct poller_spin *s, int64_t slept_ns, bool work);

#endif
