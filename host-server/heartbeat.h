/* SPDX-License-Identifier: MIT */
/*
 * One VM's heartbeat as its pollers see it: the region whose header word
 * they advance (vamos_region_beat) every LIVENESS_BEAT_MS while they serve
 * its sessions, and the liveness thread's verdict on whether they may
 * (liveness.h). Its sessions point at it (session.h), so a poller beats
 * the regions of every VM it serves.
 */
#ifndef VAMOSD_HEARTBEAT_H
#define VAMOSD_HEARTBEAT_H

#include <stdatomic.h>
#include <stdbool.h>

#include <vamos/ring.h>

#define LIVENESS_BEAT_MS 200

struct heartbeat {
	/* Set by the main thread before the first of its sessions is
	 * published (base NULL: nothing to beat). */
	struct vamos_region region;
	/* The host's pollers that serve its sessions (bit k: poller k; 0
	 * while no peer is attached). Set by the main thread when a peer
	 * attaches or leaves, read by the liveness thread; relaxed both ways:
	 * a verdict made on the pollers of a moment ago is put right on the
	 * next round. */
	atomic_uint_least64_t pollers;
	/* Set by the liveness thread: every poller serving this VM moves.
	 * Relaxed both ways: a verdict, it orders nothing. */
	atomic_bool ok;
	const char *name; /* the VM's, for the log */
};

#endif
