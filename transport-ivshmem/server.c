/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem server: QEMU's protocol on a UNIX socket (see wire.h and
 * doc/ivshmem.md). To a new peer N it sends the protocol version, N,
 * and the memory (-1 with the shm fd); then every other peer learns N's
 * eventfds; then N learns the host's and every other peer's, and last its
 * own. When N leaves, the others get N without an fd.
 *
 * Peers never send anything, so any byte from one is a protocol violation:
 * the peer is dropped and reported, and the server carries on. Every send
 * is non-blocking: a peer that does not read cannot stall the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "link.h"
#include "shm_channel.h"
#include "shm_memory.h"
#include "server_internal.h"
#include "wire.h"

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int make_eventfds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fds[i] < 0) {
			int rc = -errno;
			close_fds(fds, i);
			return rc;
		}
	}
	return 0;
}

/* Send @id with each of @fds: how a peer learns another's vectors. */
static int send_vectors(int sock, int id, const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = wire_send(sock, id, fds[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Take @p out of the table and tell the others it left. Lock held. */
static void remove_peer(struct vamos_ivshmem_server *s, struct peer *p,
			const char *why)
{
	int id = p->id;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, p->sock, NULL);
	close(p->sock);
	close_fds(p->fds, s->vectors);
	vamos_link_cut(p->link, why);
	vamos_link_put(p->link);
	p->link = NULL;
	p->id = -1;
	p->doomed = 0;
	s->peer_count--;
	for (unsigned i = 0; i < s->max_peers; i++) {
		struct peer *o = &s->peers[i];
		if (o->id >= 0 && !o->doomed)
			o->doomed = wire_send(o->sock, id, -1);
	}
}

/* Drop @p, reporting it. Lock held. */
static void drop_one(struct vamos_ivshmem_server *s, struct peer *p,
		     enum vamos_ivshmem_event_kind kind, const char *why)
{
	int id = p->id;
	remove_peer(s, p, why);
	server_emit(s, kind, id, why);
}

/* Drop every peer a send failed to: a full socket means it does not read
 * (rejected); a closed one means it left before we noticed. Lock held. */
static int drop_doomed(struct vamos_ivshmem_server *s)
{
	int events = 0;
	for (bool again = true; again;) {
		again = false;
		for (unsigned i = 0; i < s->max_peers; i++) {
			struct peer *o = &s->peers[i];
			if (o->id < 0 || !o->doomed)
				continue;
			if (o->doomed == -EAGAIN)
				drop_one(s, o, VAMOS_IVSHMEM_REJECT,
					 "peer does not read the server's messages");
			else
				drop_one(s, o, VAMOS_IVSHMEM_LEAVE, "peer disconnected");
			events++;
			again = true;
		}
	}
	return events;
}

/* Drop @p and then every peer that became doomed meanwhile. Lock held. */
static int drop_peer(struct vamos_ivshmem_server *s, struct peer *p,
		     enum vamos_ivshmem_event_kind kind, const char *why)
{
	drop_one(s, p, kind, why);
	return 1 + drop_doomed(s);
}

static bool id_in_use(const struct vamos_ivshmem_server *s, int id)
{
	for (unsigned i = 0; i < s->max_peers; i++)
		if (s->peers[i].id == id)
			return true;
	return false;
}

/* Ids grow and wrap, skipping the host's and those in use, so a departed
 * peer's id is not handed out again at once. */
static int next_free_id(struct vamos_ivshmem_server *s)
{
	for (;;) {
		int id = s->next_id;
		s->next_id = id >= VAMOS_IVSHMEM_MAX_PEER_ID ? 1 : id + 1;
		if (id != VAMOS_IVSHMEM_HOST_ID && !id_in_use(s, id))
			return id;
	}
}

/* The whole welcome of a new peer; see the file comment for the order. */
static int welcome(struct vamos_ivshmem_server *s, struct peer *p)
{
	int rc;
	if ((rc = wire_send(p->sock, VAMOS_IVSHMEM_PROTOCOL_VERSION, -1)) ||
	    (rc = wire_send(p->sock, p->id, -1)) ||
	    (rc = wire_send(p->sock, -1, s->mem.fd)))
		return rc;
	for (unsigned i = 0; i < s->max_peers; i++) {
		struct peer *o = &s->peers[i];
		if (o != p && o->id >= 0 && !o->doomed)
			o->doomed = send_vectors(o->sock, p->id, p->fds, s->vectors);
	}
	if ((rc = send_vectors(p->sock, VAMOS_IVSHMEM_HOST_ID, s->host_fds, s->vectors)))
		return rc;
	for (unsigned i = 0; i < s->max_peers; i++) {
		struct peer *o = &s->peers[i];
		if (o != p && o->id >= 0 && !o->doomed &&
		    (rc = send_vectors(p->sock, o->id, o->fds, s->vectors)))
			return rc;
	}
	return send_vectors(p->sock, p->id, p->fds, s->vectors);
}

static int accept_peer(struct vamos_ivshmem_server *s)
{
	int sock = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (sock < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -errno;

	pthread_mutex_lock(&s->lock);
	struct peer *p = NULL;
	for (unsigned i = 0; i < s->max_peers && !p; i++)
		if (s->peers[i].id < 0)
			p = &s->peers[i];
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		close(sock);
		server_emit(s, VAMOS_IVSHMEM_REJECT, -1, "too many peers");
		return 1;
	}
	p->sock = sock;
	p->link = vamos_link_new();
	if (!p->link || make_eventfds(p->fds, s->vectors) < 0) {
		vamos_link_put(p->link);
		p->link = NULL;
		close(sock);
		pthread_mutex_unlock(&s->lock);
		server_emit(s, VAMOS_IVSHMEM_REJECT, -1,
		     "out of memory or file descriptors for a new peer");
		return 1;
	}
	p->id = next_free_id(s);
	p->doomed = 0;
	s->peer_count++;
	int events;
	if (server_watch_peer(s, p) < 0 || welcome(s, p) < 0) {
		events = drop_peer(s, p, VAMOS_IVSHMEM_REJECT,
				   "could not send the welcome to a new peer");
	} else {
		int id = p->id;
		char detail[64];
		snprintf(detail, sizeof detail, "peer %d joined with %u vectors",
			 id, s->vectors);
		server_emit(s, VAMOS_IVSHMEM_JOIN, id, detail);
		/* Peers that could not take the announcement go now. */
		events = 1 + drop_doomed(s);
	}
	pthread_mutex_unlock(&s->lock);
	return events;
}

/* A peer's socket woke us: it left, or it said something it must not. */
static int peer_activity(struct vamos_ivshmem_server *s, struct peer *p)
{
	char byte;
	ssize_t n = recv(p->sock, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	pthread_mutex_lock(&s->lock);
	int events = n > 0
		? drop_peer(s, p, VAMOS_IVSHMEM_REJECT,
			    "peer sent data; the protocol is server-to-peer only")
		: drop_peer(s, p, VAMOS_IVSHMEM_LEAVE, "peer disconnected");
	pthread_mutex_unlock(&s->lock);
	return events;
}

int vamos_ivshmem_server_dispatch(struct vamos_ivshmem_server *s, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(s->epoll_fd, evs, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	int events = 0;
	for (int i = 0; i < n; i++) {
		int rc;
		if (evs[i].data.u64 == LISTEN_TAG) {
			rc = accept_peer(s);
		} else {
			struct peer *p = &s->peers[evs[i].data.u64];
			/* The slot may have been emptied by an earlier event of
			 * this batch; an fd re-used since is caught by the peek
			 * finding nothing. */
			rc = p->id >= 0 ? peer_activity(s, p) : 0;
		}
		if (rc < 0)
			return rc;
		events += rc;
	}
	return events;
}

int vamos_ivshmem_server_run(struct vamos_ivshmem_server *s, int stop_fd)
{
	struct pollfd fds[2] = { { .fd = s->epoll_fd, .events = POLLIN },
				 { .fd = stop_fd, .events = POLLIN } };
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (fds[1].revents)
			return 0;
		int rc = vamos_ivshmem_server_dispatch(s, 0);
		if (rc < 0)
			return rc;
	}
}

/* Refuse to replace anything but a stale socket at @path. */
static int clear_socket_path(const char *path, const char **why)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		*why = "socket path exists and is not a socket";
		return -EEXIST;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
	int alive = connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0;
	close(probe);
	if (alive) {
		*why = "another server is listening on the socket path";
		return -EADDRINUSE;
	}
	return unlink(path) < 0 ? -errno : 0;
}

static int listen_on(const char *path, const char **why)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		*why = "socket path is too long";
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	int rc = clear_socket_path(path, why);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		*why = "cannot bind or listen on the socket path";
		close(fd);
		return rc;
	}
	return fd;
}

static const char *check_params(const struct vamos_ivshmem_server_params *p,
				uint64_t *shm_size)
{
	if (!p->socket_path || !*p->socket_path)
		return "no socket path";
	if (p->vectors < 1 || p->vectors > VAMOS_IVSHMEM_MAX_VECTORS)
		return "vectors must be 1..64";
	if (p->max_peers > VAMOS_IVSHMEM_MAX_PEER_ID - 1)
		return "too many peers";
	size_t need = vamos_region_size(&p->region);
	if (need == 0)
		return "invalid region params (channels, capacities)";
	uint64_t size = p->shm_size ? p->shm_size : shm_pow2_at_least(need);
	if (size == 0 || (size & (size - 1)))
		return "shared memory size must be a power of two";
	if (size < need)
		return "shared memory size is smaller than the region";
	*shm_size = size;
	return NULL;
}

int vamos_ivshmem_server_start(const struct vamos_ivshmem_server_params *params,
			       struct vamos_ivshmem_server **out,
			       const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	uint64_t size;
	int rc;

	*why = check_params(params, &size);
	if (*why)
		return -EINVAL;
	struct vamos_ivshmem_server *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	s->listen_fd = s->epoll_fd = s->mem.fd = -1;
	for (unsigned i = 0; i < VAMOS_IVSHMEM_MAX_VECTORS; i++)
		s->host_fds[i] = -1;
	s->vectors = params->vectors;
	s->max_peers = params->max_peers ? params->max_peers : DEFAULT_MAX_PEERS;
	s->keep_shm_file = params->keep_shm_file;
	s->on_event = params->on_event;
	s->arg = params->arg;
	s->next_id = 1;
	s->socket_path = strdup(params->socket_path);
	s->shm_path = params->shm_path ? strdup(params->shm_path) : NULL;
	s->shm_size = size;
	s->peers = calloc(s->max_peers, sizeof *s->peers);
	rc = -ENOMEM;
	*why = "out of memory";
	if (!s->socket_path || (params->shm_path && !s->shm_path) || !s->peers)
		goto fail;
	for (unsigned i = 0; i < s->max_peers; i++)
		s->peers[i].id = -1;

	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0) {
		rc = -errno;
		*why = "epoll_create1 failed";
		goto fail;
	}
	if (params->adopt) {
		/* The predecessor's memory, eventfds, socket, peers and the
		 * region as it stands. */
		if ((rc = server_adopt(s, params->adopt, &params->region, why)))
			goto fail;
	} else {
		*why = "cannot create the shared memory";
		if ((rc = shm_memory_create(s->shm_path, size, &s->mem)))
			goto fail;
		/* A file cannot be sealed: a peer may shrink it under us. */
		*why = "cannot watch the shared memory file";
		if (s->shm_path && (rc = shm_memory_guard(&s->mem)))
			goto fail;
		*why = "cannot create the host's eventfds";
		if ((rc = make_eventfds(s->host_fds, s->vectors)))
			goto fail;
	}
	if (!params->adopt) {
		rc = vamos_region_init(s->mem.base, s->mem.size, &params->region, &s->region);
		if (rc) {
			*why = s->region.error;
			goto fail;
		}
		rc = listen_on(s->socket_path, why);
		if (rc < 0)
			goto fail;
		s->listen_fd = rc;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTEN_TAG };
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0) {
		rc = -errno;
		*why = "epoll_ctl failed";
		unlink(s->socket_path);
		goto fail;
	}
	*why = NULL;
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	free(s->socket_path);
	s->socket_path = NULL;
	vamos_ivshmem_server_stop(s);
	return rc;
}

int vamos_ivshmem_server_fd(const struct vamos_ivshmem_server *s)
{
	return s->epoll_fd;
}

const struct vamos_region *vamos_ivshmem_server_region(const struct vamos_ivshmem_server *s)
{
	return &s->region;
}

unsigned vamos_ivshmem_server_peer_count(const struct vamos_ivshmem_server *s)
{
	struct vamos_ivshmem_server *w = (struct vamos_ivshmem_server *)s;
	pthread_mutex_lock(&w->lock);
	unsigned n = s->peer_count;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int vamos_ivshmem_server_channel(struct vamos_ivshmem_server *s, int peer,
				 uint32_t index, struct vamos_chan **out)
{
	if (index >= s->region.params.channel_count)
		return -EINVAL;
	uint32_t vector = index % s->vectors;
	pthread_mutex_lock(&s->lock);
	struct peer *p = NULL;
	for (unsigned i = 0; i < s->max_peers && !p; i++)
		if (s->peers[i].id == peer && peer >= 0)
			p = &s->peers[i];
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	/* The channel keeps its own descriptors, so a peer leaving (and its
	 * fds closing, their numbers re-used) never redirects its writes. */
	struct shm_chan_params cp = {
		.region = &s->region,
		.index = index,
		.side = VAMOS_SIDE_HOST,
		.notify = SHM_NOTIFY_EVENTFD,
		.notify_fd = fcntl(p->fds[vector], F_DUPFD_CLOEXEC, 0),
		.wait_fd = fcntl(s->host_fds[vector], F_DUPFD_CLOEXEC, 0),
		/* The peer holds both (and their O_NONBLOCK): never trusted. */
		.guard_fds = true,
		.link = p->link,
	};
	int rc = cp.notify_fd < 0 || cp.wait_fd < 0 ? -EMFILE : 0;
	if (rc) {
		if (cp.notify_fd >= 0)
			close(cp.notify_fd);
		if (cp.wait_fd >= 0)
			close(cp.wait_fd);
	} else {
		rc = shm_chan_open(&cp, out);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vamos_ivshmem_server_drop_peer(struct vamos_ivshmem_server *s, int peer, const char *why)
{
	/* The lock is recursive: on_event runs with it held. */
	pthread_mutex_lock(&s->lock);
	struct peer *p = NULL;
	for (unsigned i = 0; i < s->max_peers && !p; i++)
		if (s->peers[i].id == peer && peer >= 0)
			p = &s->peers[i];
	if (p)
		drop_peer(s, p, VAMOS_IVSHMEM_REJECT, why);
	pthread_mutex_unlock(&s->lock);
	return p ? 0 : -ENOENT;
}

int vamos_ivshmem_server_check_memory(struct vamos_ivshmem_server *s)
{
	if (!shm_memory_severed(&s->mem))
		return 0;
	/* Whoever is attached saw its memory cut away: drop it, so its
	 * channels are closed (the owner stops reading the region) and the
	 * region laid out afresh, which repairs the memory first. */
	int events = 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->max_peers; i++)
		if (s->peers[i].id >= 0)
			events += drop_peer(s, &s->peers[i], VAMOS_IVSHMEM_REJECT,
					    "the shared memory file was shrunk under the host");
	pthread_mutex_unlock(&s->lock);
	/* Nobody attached (or the owner did not reset): repair it now. */
	int rc = shm_memory_repair(&s->mem);
	return rc < 0 ? rc : events;
}

int vamos_ivshmem_server_reset_region(struct vamos_ivshmem_server *s)
{
	if (shm_memory_repair(&s->mem) < 0)
		return -EIO;
	struct vamos_region_params params = s->region.params;
	return vamos_region_init(s->mem.base, s->mem.size, &params, &s->region);
}

void vamos_ivshmem_server_stop(struct vamos_ivshmem_server *s)
{
	if (!s)
		return;
	if (s->region.base)
		vamos_region_set_state(&s->region, VAMOS_SIDE_HOST, VAMOS_STATE_CLOSED);
	if (s->peers) {
		for (unsigned i = 0; i < s->max_peers; i++) {
			struct peer *p = &s->peers[i];
			if (p->id < 0)
				continue;
			close(p->sock);
			close_fds(p->fds, s->vectors);
			vamos_link_cut(p->link, "server stopped");
			vamos_link_put(p->link);
		}
		free(s->peers);
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->socket_path);
	}
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	close_fds(s->host_fds, VAMOS_IVSHMEM_MAX_VECTORS);
	shm_memory_release(&s->mem);
	if (s->shm_path && !s->keep_shm_file && s->mem.size)
		unlink(s->shm_path);
	pthread_mutex_destroy(&s->lock);
	free(s->socket_path);
	free(s->shm_path);
	free(s);
}
