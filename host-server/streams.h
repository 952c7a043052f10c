/* SPDX-License-Identifier: MIT */
/*
 * Stream clients: the vsock listener (guests without an ivshmem device)
 * and an optional UNIX socket (local processes). Every connection is one
 * session; one poller serves them all. Runs on the main thread except the
 * poller.
 */
#ifndef VAMOSD_STREAMS_H
#define VAMOSD_STREAMS_H

#include "config.h"
#include "poller.h"

#define STREAMS_MAX 1024

struct streams {
	int vsock_fd, unix_fd;       /* listeners, -1 if none */
	char unix_path[CONFIG_PATH_MAX];
	struct poller poller;
	bool poller_running;
	struct session *sessions[STREAMS_MAX];
	unsigned count;
	uint32_t next_index;
	uint64_t accepted, refused;
	struct session_totals past; /* sessions that ended */
};

/* Listen as configured (nothing if neither is). 0 or -errno with @why. */
int streams_start(struct streams *st, const struct config *c, uint64_t boot_id,
		  const char **why);

/* Accept on @fd (one of the listeners). */
void streams_accept(struct streams *st, int fd);

/* Let go of sessions that ended (called now and then by the main loop). */
void streams_sweep(struct streams *st);

/* Drain, close every session and the listeners. */
void streams_stop(struct streams *st);

#endif
