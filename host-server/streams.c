/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vamos/vsock.h>

#include "log.h"
#include "streams.h"

static void publish(struct streams *st)
{
	struct session_set *set = session_set_new(st->sessions, st->count);
	if (!set && st->count)
		log_error("streams: out of memory for a session set");
	poller_set_sessions(&st->poller, set);
}

int streams_start(struct streams *st, const struct config *c, uint64_t boot_id,
		  const char **why)
{
	memset(st, 0, sizeof *st);
	st->vsock_fd = st->unix_fd = -1;
	if (!c->vsock_port && !c->unix_socket[0])
		return 0;
	int rc = poller_start(&st->poller, "streams", c->spin_ns, boot_id);
	if (rc) {
		*why = "cannot start the stream poller";
		return rc;
	}
	st->poller_running = true;
	if (c->unix_socket[0]) {
		/* A stale socket from a killed vamosd is in the way: remove it
		 * only if nobody answers there. */
		int probe = vamos_stream_listen_unix(c->unix_socket, 64);
		if (probe == -EADDRINUSE) {
			struct vamos_chan *live;
			if (vamos_stream_connect_unix(c->unix_socket, NULL, &live) == 0) {
				vamos_chan_close(live);
				*why = "another vamosd is listening on unix_socket";
				return -EADDRINUSE;
			}
			unlink(c->unix_socket);
			probe = vamos_stream_listen_unix(c->unix_socket, 64);
		}
		if (probe < 0) {
			*why = "cannot listen on unix_socket";
			return probe;
		}
		st->unix_fd = probe;
		fcntl(probe, F_SETFL, fcntl(probe, F_GETFL) | O_NONBLOCK);
		snprintf(st->unix_path, sizeof st->unix_path, "%s", c->unix_socket);
		log_info("streams: listening on %s", c->unix_socket);
	}
	if (c->vsock_port) {
		rc = vamos_vsock_listen(c->vsock_port, 64);
		if (rc < 0) {
			/* No vsock on this host (no vhost-vsock): say so, serve on. */
			log_warn("streams: no vsock listener on port %u: %s", c->vsock_port,
				 strerror(-rc));
		} else {
			st->vsock_fd = rc;
			fcntl(rc, F_SETFL, fcntl(rc, F_GETFL) | O_NONBLOCK);
			log_info("streams: listening on vsock port %u", c->vsock_port);
		}
	}
	return 0;
}

void streams_accept(struct streams *st, int fd)
{
	struct vamos_chan *ch;
	int rc = vamos_stream_accept(fd, NULL, &ch);
	if (rc < 0) {
		if (rc != -EAGAIN && rc != -EINTR)
			log_warn("streams: accept failed: %s", strerror(-rc));
		return;
	}
	streams_sweep(st);
	if (st->count == STREAMS_MAX) {
		st->refused++;
		log_warn("streams: %d sessions already; connection refused", STREAMS_MAX);
		vamos_chan_close(ch);
		return;
	}
	struct session *s = session_new(ch, VM_NONE, "stream", st->next_index++);
	if (!s)
		return;
	s->poller = &st->poller;
	st->sessions[st->count++] = s;
	st->accepted++;
	publish(st);
	log_debug("streams: session %u connected", s->index);
}

void streams_sweep(struct streams *st)
{
	unsigned kept = 0, dropped = 0;
	struct session *gone[STREAMS_MAX];
	for (unsigned i = 0; i < st->count; i++) {
		struct session *s = st->sessions[i];
		/* Written by the poller; a stale "not failed" only delays. */
		if (__atomic_load_n(&s->failure, __ATOMIC_RELAXED))
			gone[dropped++] = s;
		else
			st->sessions[kept++] = s;
	}
	if (!dropped)
		return;
	st->count = kept;
	publish(st);
	for (unsigned i = 0; i < dropped; i++) {
		session_totals_add(&st->past, gone[i]);
		session_unref(gone[i]);
	}
	st->past.in_flight = 0;
}

void streams_stop(struct streams *st)
{
	if (st->poller_running) {
		poller_stop(&st->poller);
		poller_destroy(&st->poller);
	}
	for (unsigned i = 0; i < st->count; i++)
		session_unref(st->sessions[i]);
	st->count = 0;
	if (st->unix_fd >= 0) {
		close(st->unix_fd);
		unlink(st->unix_path);
	}
	if (st->vsock_fd >= 0)
		close(st->vsock_fd);
}
