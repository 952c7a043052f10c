/* SPDX-License-Identifier: MIT */
/* A poller's spin before sleeping: see poller_spin.h. */
#include "poller_spin.h"

void poller_spin_init(struct poller_spin *s, int64_t base_ns)
{
	s->base_ns = base_ns > 0 ? base_ns : 0;
	s->ns = s->base_ns;
}

void poller_spin_learn(struct poller_spin *s, int64_t slept_ns, bool work)
{
	int64_t max = s->base_ns * POLLER_SPIN_MAX_FACTOR;
	if (work && slept_ns < s->ns * POLLER_SPIN_SOON)
		s->ns = s->ns * 2 < max ? s->ns * 2 : max;
	else
		s->ns = s->base_ns;
}
