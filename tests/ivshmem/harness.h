/* SPDX-License-Identifier: MIT */
/* Test harness for transport-ivshmem: a server whose dispatch loop runs in
 * its own thread, a log of its events, temporary socket paths. Plain C (no
 * Criterion), so the TSan runner can use it too: failures come back as
 * strings. */
#ifndef VAMOS_TEST_IVSHMEM_HARNESS_H
#define VAMOS_TEST_IVSHMEM_HARNESS_H

#include <pthread.h>
#include <stdbool.h>

#include <vamos/ivshmem.h>

#define HARNESS_MAX_EVENTS 256

struct harness_event {
	enum vamos_ivshmem_event_kind kind;
	int peer;
	char detail[96];
};

struct harness {
	char dir[64];          /* private temp dir */
	char socket_path[128]; /* dir/ivshmem.sock */
	struct vamos_ivshmem_server *server;
	pthread_t thread;
	int stop_fd;           /* eventfd that ends the dispatch thread */
	bool running;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct harness_event events[HARNESS_MAX_EVENTS];
	int event_count;
};

/* Fill default server params: 2 channels, 64 KiB rings, @vectors. */
void harness_default_params(struct harness *h,
			    struct vamos_ivshmem_server_params *p,
			    uint32_t vectors);

/* Make the temp dir and start the server with @p (socket_path and on_event
 * are filled in) and its dispatch thread. Returns NULL or an error. */
const char *harness_start(struct harness *h, struct vamos_ivshmem_server_params *p);

/* Hand the running server over to a new one started with @p (as vamosd
 * does across exec, here within one process): stop the dispatch thread,
 * vamos_ivshmem_server_handover(), start a server with @p->adopt set to
 * its text on the same socket, announce the adopted peers, and dispatch
 * again. Events keep their numbering. Returns NULL or an error. */
const char *harness_handover(struct harness *h, struct vamos_ivshmem_server_params *p);

/* Stop the thread and the server, remove the temp dir. */
void harness_stop(struct harness *h);

/* Wait up to @ms for the @n-th event (1-based); copy it to @out. */
bool harness_wait_event(struct harness *h, int n, int ms, struct harness_event *out);

/* Number of events so far. */
int harness_event_count(struct harness *h);

/* Connect a local peer, and wait for the server's JOIN of it. */
const char *harness_join(struct harness *h, uint32_t vectors,
			 struct vamos_ivshmem_peer **out);

/* A fresh temp dir path for other sockets; "" on failure. */
const char *harness_tmpdir(char *buf, size_t len);

#endif
