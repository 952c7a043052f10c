/* SPDX-License-Identifier: MIT */
/*
 * A local peer: joins an ivshmem server the way QEMU's device does and
 * plays the guest side of the region's channels from a host process.
 * Everything the server sends is checked; a server that breaks the
 * protocol is refused with a reason, never trusted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "link.h"
#include "shm_channel.h"
#include "shm_memory.h"
#include "wire.h"
#include "vamos_clock.h"

struct vamos_ivshmem_peer {
	int sock;
	int id;
	uint32_t vectors;        /* 0 until learned (connect with 0) */
	struct shm_memory mem;
	struct vamos_region region;
	int own_fds[VAMOS_IVSHMEM_MAX_VECTORS];  /* we sleep on these */
	int host_fds[VAMOS_IVSHMEM_MAX_VECTORS]; /* we ring the host on these */
	unsigned own_count, host_count;
	struct vamos_link *host; /* the server and its host peer */
	/* A successor (vamos_ivshmem_peer_reattach) carries on with our
	 * connection: closing, we neither leave nor mark the region closed. */
	bool superseded;
};

static int left_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - vamos_now_ms();
	return left < 0 ? 0 : (int)left;
}

/*
 * Take one message about peer @id (a join with one eventfd, or a leave
 * without one). Returns 0, -ECONNRESET if the host left, -EPROTO.
 */
static int take_peer_message(struct vamos_ivshmem_peer *p, int64_t id, int fd,
			     const char **why)
{
	/* Trust check: only ids the doorbell can address; -1 (memory) is
	 * sent once, at the start. */
	if (id < 0 || id > VAMOS_IVSHMEM_MAX_PEER_ID) {
		*why = id == -1 ? "server sent the shared memory twice"
				: "server sent a peer id out of range";
		goto proto;
	}
	if (id == p->id) {
		if (fd < 0) {
			*why = "server announced our own departure";
			goto proto;
		}
		if (!p->own_count) {
			/* Asked to learn the count: the host's eventfds all
			 * came before our first, one per vector of the server. */
			if (!p->vectors) {
				if (!p->host_count) {
					*why = "server did not announce the host peer (not a vamos server?)";
					goto proto;
				}
				p->vectors = p->host_count;
			} else if (p->host_count && p->host_count < p->vectors) {
				/* Our own eventfds come after the host's: fewer of
				 * the host's is a VM set up with fewer vectors. */
				*why = "server sent fewer host eventfds than vectors: the VM has fewer "
				       "vectors than this peer was given (give the peer the VM's "
				       "vectors=, or 0 to learn them)";
				goto proto;
			}
		}
		/* Trust check: exactly `vectors` eventfds of our own. */
		if (p->own_count == p->vectors) {
			*why = "server sent more eventfds than vectors";
			goto proto;
		}
		p->own_fds[p->own_count++] = fd;
		return 0;
	}
	if (id == VAMOS_IVSHMEM_HOST_ID) {
		if (fd < 0) {
			vamos_link_cut(p->host, "host left the server");
			return -ECONNRESET;
		}
		/* Trust check: at most `vectors` (when learning, at most the
		 * most we handle). */
		if (p->host_count == (p->vectors ? p->vectors : VAMOS_IVSHMEM_MAX_VECTORS)) {
			*why = "server sent more host eventfds than vectors: the VM has more "
			       "vectors than this peer was given (give the peer the VM's "
			       "vectors=, or 0 to learn them)";
			goto proto;
		}
		p->host_fds[p->host_count++] = fd;
		return 0;
	}
	/* Another guest joining or leaving: none of our business. */
	if (fd >= 0)
		close(fd);
	return 0;
proto:
	if (fd >= 0)
		close(fd);
	return -EPROTO;
}

/* Read one message, bounded by @deadline (ms, -1 none). */
static int recv_one(struct vamos_ivshmem_peer *p, int64_t deadline,
		    int64_t *value, int *fd, const char **why)
{
	int rc = wire_recv(p->sock, left_ms(deadline), value, fd, why);
	if (rc == 0) {
		*why = "server closed the connection during the welcome";
		return -ECONNRESET;
	}
	if (rc == -EAGAIN)
		*why = "server did not complete the welcome in time";
	return rc < 0 ? rc : 0;
}

static int expect_plain(struct vamos_ivshmem_peer *p, int64_t deadline,
			int64_t *value, const char *what, const char **why)
{
	int fd;
	int rc = recv_one(p, deadline, value, &fd, why);
	if (rc)
		return rc;
	if (fd >= 0) {
		close(fd);
		*why = what;
		return -EPROTO;
	}
	return 0;
}

static int welcome(struct vamos_ivshmem_peer *p, int timeout_ms, const char **why)
{
	int64_t deadline = timeout_ms < 0 ? -1 : vamos_now_ms() + timeout_ms;
	int64_t v;
	int fd, rc;

	if ((rc = expect_plain(p, deadline, &v, "protocol version came with a descriptor", why)))
		return rc;
	if (v != VAMOS_IVSHMEM_PROTOCOL_VERSION) {
		*why = "server speaks another protocol version";
		return -EPROTO;
	}
	if ((rc = expect_plain(p, deadline, &v, "peer id came with a descriptor", why)))
		return rc;
	/* Trust check: an id the doorbell can address, and not the host's. */
	if (v <= VAMOS_IVSHMEM_HOST_ID || v > VAMOS_IVSHMEM_MAX_PEER_ID) {
		*why = "server gave us an id out of range (or the host's)";
		return -EPROTO;
	}
	p->id = (int)v;
	if ((rc = recv_one(p, deadline, &v, &fd, why)))
		return rc;
	if (v != -1 || fd < 0) {
		if (fd >= 0)
			close(fd);
		*why = "server did not send the shared memory";
		return -EPROTO;
	}
	if ((rc = shm_memory_map_fd(fd, &p->mem))) {
		*why = rc == -EPROTO ? "shared memory size is not a power of two"
				     : "cannot map the shared memory";
		return rc;
	}
	while (!p->vectors || p->own_count < p->vectors) {
		if ((rc = recv_one(p, deadline, &v, &fd, why)))
			return rc;
		rc = take_peer_message(p, v, fd, why);
		if (rc == -ECONNRESET)
			*why = "host left during the welcome";
		if (rc)
			return rc;
	}
	/* Our own eventfds come last, so the host's must all be here. */
	if (p->host_count != p->vectors) {
		*why = "server did not announce the host peer (not a vamos server?)";
		return -EPROTO;
	}
	rc = vamos_region_attach(p->mem.base, p->mem.size, &p->region);
	if (rc)
		*why = p->region.error;
	return rc;
}

int vamos_ivshmem_peer_connect(const char *socket_path, uint32_t vectors,
			       int timeout_ms, struct vamos_ivshmem_peer **out,
			       const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int rc;

	*why = NULL;
	if (vectors > VAMOS_IVSHMEM_MAX_VECTORS) {
		*why = "vectors must be 0..64";
		return -EINVAL;
	}
	if (strlen(socket_path) >= sizeof addr.sun_path) {
		*why = "socket path is too long";
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, socket_path);
	struct vamos_ivshmem_peer *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->vectors = vectors;
	p->mem.fd = -1;
	p->host = vamos_link_new();
	p->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!p->host || p->sock < 0) {
		rc = p->host ? -errno : -ENOMEM;
		*why = "cannot create a socket";
		goto fail;
	}
	if (connect(p->sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
		rc = -errno;
		*why = "cannot connect to the server socket";
		goto fail;
	}
	if ((rc = welcome(p, timeout_ms, why)))
		goto fail;
	vamos_region_set_state(&p->region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	*out = p;
	return 0;
fail:
	vamos_ivshmem_peer_close(p);
	return rc;
}

/* A copy of @fd of our own, close-on-exec; -1 if none could be made. */
static int dup_fd(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

int vamos_ivshmem_peer_reattach(struct vamos_ivshmem_peer *old, struct vamos_ivshmem_peer **out,
				const char **why_out)
{
	const char *why_dummy;
	const char **why = why_out ? why_out : &why_dummy;
	*why = NULL;
	/* Take the server's news first: a server that went away (vamosd
	 * stopped, or died with its keeper) shows here, and then only a new
	 * join can find its successor. */
	int rc = vamos_ivshmem_peer_dispatch(old);
	if (rc == 0 && vamos_link_gone(old->host))
		rc = -ECONNRESET;
	if (rc) {
		*why = rc == -EPROTO ? "server broke the protocol" : "server connection is gone";
		return rc;
	}
	struct vamos_ivshmem_peer *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->id = old->id;
	p->vectors = old->vectors;
	p->mem.fd = -1;
	p->sock = dup_fd(old->sock);
	p->host = vamos_link_new();
	for (unsigned i = 0; i < old->own_count; i++)
		if ((p->own_fds[p->own_count] = dup_fd(old->own_fds[i])) >= 0)
			p->own_count++;
	for (unsigned i = 0; i < old->host_count; i++)
		if ((p->host_fds[p->host_count] = dup_fd(old->host_fds[i])) >= 0)
			p->host_count++;
	int mem_fd = dup_fd(old->mem.fd);
	if (!p->host || p->sock < 0 || mem_fd < 0 || p->own_count != old->own_count ||
	    p->host_count != old->host_count) {
		if (mem_fd >= 0)
			close(mem_fd);
		rc = p->host ? -EMFILE : -ENOMEM;
		*why = "cannot duplicate the connection's descriptors";
		goto fail;
	}
	/* The same memory, mapped once more: this view's region is attached
	 * at the host's current generation, the old one's stays stale (its
	 * channels keep failing until they are closed). */
	if ((rc = shm_memory_map_fd(mem_fd, &p->mem))) {
		*why = "cannot map the shared memory again";
		goto fail;
	}
	rc = vamos_region_attach(p->mem.base, p->mem.size, &p->region);
	if (rc) {
		*why = p->region.error; /* -EAGAIN: the host has not laid it out again yet */
		goto fail;
	}
	vamos_region_set_state(&p->region, VAMOS_SIDE_GUEST, VAMOS_STATE_READY);
	old->superseded = true;
	*out = p;
	return 0;
fail:
	p->superseded = true; /* ours were copies: the connection stays old's */
	vamos_ivshmem_peer_close(p);
	return rc;
}

int vamos_ivshmem_peer_id(const struct vamos_ivshmem_peer *p)
{
	return p->id;
}

uint32_t vamos_ivshmem_peer_vectors(const struct vamos_ivshmem_peer *p)
{
	return p->vectors;
}

const struct vamos_region *vamos_ivshmem_peer_region(const struct vamos_ivshmem_peer *p)
{
	return &p->region;
}

int vamos_ivshmem_peer_fd(const struct vamos_ivshmem_peer *p)
{
	return p->sock;
}

int vamos_ivshmem_peer_dispatch(struct vamos_ivshmem_peer *p)
{
	const char *why = NULL;
	if (vamos_link_gone(p->host))
		return -ECONNRESET;
	for (;;) {
		int64_t v;
		int fd;
		int rc = wire_recv(p->sock, 0, &v, &fd, &why);
		if (rc == -EAGAIN)
			return 0;
		if (rc == 0) {
			vamos_link_cut(p->host, "server closed the connection");
			return -ECONNRESET;
		}
		if (rc > 0)
			rc = take_peer_message(p, v, fd, &why);
		if (rc == -EPROTO) {
			vamos_link_cut(p->host, why);
			return rc;
		}
		if (rc < 0) {
			vamos_link_cut(p->host, "lost the server connection");
			return rc;
		}
	}
}

int vamos_ivshmem_peer_channel(struct vamos_ivshmem_peer *p, uint32_t index,
			       struct vamos_chan **out)
{
	if (index >= p->region.params.channel_count)
		return -EINVAL;
	uint32_t vector = index % p->vectors;
	struct shm_chan_params cp = {
		.region = &p->region,
		.index = index,
		.side = VAMOS_SIDE_GUEST,
		.notify = SHM_NOTIFY_EVENTFD,
		.notify_fd = fcntl(p->host_fds[vector], F_DUPFD_CLOEXEC, 0),
		.wait_fd = fcntl(p->own_fds[vector], F_DUPFD_CLOEXEC, 0),
		.link = p->host,
		.watch_region = true,
	};
	if (cp.notify_fd < 0 || cp.wait_fd < 0) {
		if (cp.notify_fd >= 0)
			close(cp.notify_fd);
		if (cp.wait_fd >= 0)
			close(cp.wait_fd);
		return -EMFILE;
	}
	return shm_chan_open(&cp, out);
}

void vamos_ivshmem_peer_close(struct vamos_ivshmem_peer *p)
{
	if (!p)
		return;
	if (p->region.base && !p->superseded)
		vamos_region_set_state(&p->region, VAMOS_SIDE_GUEST, VAMOS_STATE_CLOSED);
	for (unsigned i = 0; i < p->own_count; i++)
		close(p->own_fds[i]);
	for (unsigned i = 0; i < p->host_count; i++)
		close(p->host_fds[i]);
	if (p->sock >= 0)
		close(p->sock);
	shm_memory_release(&p->mem);
	if (p->host) {
		vamos_link_cut(p->host, "peer closed");
		vamos_link_put(p->host);
	}
	free(p);
}
