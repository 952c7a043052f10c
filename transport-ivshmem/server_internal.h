/* SPDX-License-Identifier: MIT */
/* The ivshmem server's private state, shared by server.c (the server),
 * server_handover.c (taking over from a predecessor across execve) and
 * server_events.c (what both do: report events, watch peers). */
#ifndef VAMOS_IVSHMEM_SERVER_INTERNAL_H
#define VAMOS_IVSHMEM_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vamos/ivshmem.h>

#include "shm_memory.h"

#define DEFAULT_MAX_PEERS 16u
#define LISTEN_TAG UINT64_MAX

struct peer {
	int id; /* -1: free slot */
	int sock;
	int fds[VAMOS_IVSHMEM_MAX_VECTORS];
	struct vamos_link *link;
	int doomed; /* a send to it failed (the -errno): drop it soon */
	bool adopted; /* taken over from a predecessor, JOIN not yet reported */
};

struct vamos_ivshmem_server {
	char *socket_path;
	char *shm_path;
	bool keep_shm_file;
	uint64_t shm_size;      /* the memory's size as configured */
	uint32_t vectors;
	uint32_t max_peers;
	void (*on_event)(void *, const struct vamos_ivshmem_event *);
	void *arg;

	int listen_fd;
	int epoll_fd;
	struct shm_memory mem;
	struct vamos_region region;
	int host_fds[VAMOS_IVSHMEM_MAX_VECTORS];
	int next_id;

	/* Guards the peer table against vamos_ivshmem_server_channel()
	 * called from another thread than dispatch. Recursive: on_event runs
	 * under it and may open channels. */
	pthread_mutex_t lock;
	struct peer *peers;
	unsigned peer_count;
};

/* server_events.c */

/* Report an event through the params' on_event, if any. */
void server_emit(struct vamos_ivshmem_server *s, enum vamos_ivshmem_event_kind kind,
		 int id, const char *detail);
/* Watch @p's socket (it left, or it wrote what it must not). */
int server_watch_peer(struct vamos_ivshmem_server *s, struct peer *p);

/* server_handover.c */

/* Take over a predecessor's descriptors described by @text (see
 * vamos_ivshmem_server_handover()) into @s, whose vectors and max_peers are
 * set: listening socket, memory, host eventfds, peers; and the region in
 * that memory, which must be laid out exactly as @layout. Every descriptor
 * is checked for its kind before it is kept. On failure @why says why;
 * what was kept is in @s, for stop() to close. */
int server_adopt(struct vamos_ivshmem_server *s, const char *text,
		 const struct vamos_region_params *layout, const char **why);

#endif
