/* SPDX-License-Identifier: MIT */
/* Is the host still beating? See host_watch_stale() in internal.h. */
#define _GNU_SOURCE
#include <vamos/ring.h>

#include "internal.h"

int64_t host_watch_stale(struct host_watch *w, uint64_t beat, int64_t now_ms, int stale_ms)
{
	/* 0: the host publishes no heartbeat (an older vamosd, or none yet):
	 * nothing to judge by, the call's timeout applies. */
	if (stale_ms <= 0 || beat == 0) {
		w->started = false;
		return 0;
	}
	if (!w->started || beat != w->beat) {
		w->started = true;
		w->beat = beat;
		w->since_ms = now_ms;
		return 0;
	}
	int64_t still = now_ms - w->since_ms;
	return still >= stale_ms ? still : 0;
}

int64_t host_watch_region(struct host_watch *w, const struct vamos_region *r, int stale_ms)
{
	if (!r || !r->base)
		return 0;
	return host_watch_stale(w, vamos_region_heartbeat(r), client_now_ms(), stale_ms);
}
