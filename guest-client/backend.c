/* SPDX-License-Identifier: MIT */
/*
 * What a session's channel comes from. LOCAL and IVSHMEM: one backend (a
 * local peer of vamosd's ivshmem server, or the guest's device) for every
 * session, replaced as a whole when the host goes away; sessions of the
 * old one reopen their channel on the new one. Streams: one connection per
 * session. Both retry with backoff until the deadline, then say "host
 * gone" (-ECONNREFUSED).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/vsock.h>

#include "internal.h"

/* Reasons that carry details live here until the thread's next failure. */
static __thread char why_buf[320];

__attribute__((format(printf, 1, 2)))
static const char *say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof why_buf, fmt, ap);
	va_end(ap);
	return why_buf;
}

struct shm_backend *backend_get(struct shm_backend *be)
{
	atomic_fetch_add_explicit(&be->refs, 1, memory_order_relaxed);
	return be;
}

void backend_put(struct shm_backend *be)
{
	/* Acq-rel: the last owner sees every channel closed before it
	 * unmaps the region they lived in. */
	if (!be || atomic_fetch_sub_explicit(&be->refs, 1, memory_order_acq_rel) != 1)
		return;
	vamos_ivshmem_peer_close(be->peer);
	if (be->guest)
		vamos_guest_close(be->guest);
	pthread_mutex_destroy(&be->lock);
	free(be);
}

static struct shm_backend *backend_new(const char **why)
{
	struct shm_backend *be = calloc(1, sizeof *be);
	if (!be) {
		*why = "out of memory";
		return NULL;
	}
	atomic_init(&be->refs, 1);
	atomic_init(&be->dead, false);
	pthread_mutex_init(&be->lock, NULL);
	return be;
}

int backend_connect_once(const struct client_config *cfg, struct shm_backend **out,
			 const char **why)
{
	const char *w = NULL;
	int rc;
	struct shm_backend *be = backend_new(why);
	if (!be)
		return -ENOMEM;
	if (cfg->kind == VAMOS_TRANSPORT_LOCAL) {
		rc = vamos_ivshmem_peer_connect(cfg->local_socket, cfg->local_vectors,
						cfg->timeout_ms, &be->peer, &w);
		if (rc == 0) {
			be->channel_count = vamos_ivshmem_peer_region(be->peer)->params.channel_count;
		} else {
			*why = say("cannot join vamosd's ivshmem server at %s: %s (%s)",
				   cfg->local_socket, w ? w : "peer connect failed",
				   strerror(-rc));
		}
	} else {
		struct vamos_guest_params gp = { .irq = cfg->irq, .bind_vfio = 1 };
		rc = vamos_guest_open(&gp, &be->guest, &w);
		if (rc == 0)
			be->channel_count = vamos_guest_region(be->guest)->params.channel_count;
		else
			*why = say("cannot open the ivshmem device: %s (%s)",
				   w ? w : "guest open failed", strerror(-rc));
	}
	if (rc) {
		pthread_mutex_destroy(&be->lock);
		free(be);
		return rc;
	}
	*out = be;
	return 0;
}

/*
 * LOCAL: carry on from @old, whose host went away while our connection to
 * the server stayed (vamosd's worker died and its keeper kept it): the
 * same connection, the region attached again, as a guest's device is. A
 * new join would be refused while @old's connection holds the VM's only
 * peer slot, and idle sessions keep @old open. Returns as
 * vamos_ivshmem_peer_reattach (-ECONNRESET: the server is gone).
 */
static int backend_reattach(struct shm_backend *old, struct shm_backend **out, const char **why)
{
	const char *w = NULL;
	struct shm_backend *be = backend_new(why);
	if (!be)
		return -ENOMEM;
	pthread_mutex_lock(&old->lock);
	int rc = vamos_ivshmem_peer_reattach(old->peer, &be->peer, &w);
	pthread_mutex_unlock(&old->lock);
	if (rc) {
		*why = say("cannot attach again to vamosd's region: %s (%s)",
			   w ? w : "reattach failed", strerror(-rc));
		pthread_mutex_destroy(&be->lock);
		free(be);
		return rc;
	}
	be->channel_count = vamos_ivshmem_peer_region(be->peer)->params.channel_count;
	*out = be;
	return 0;
}

int backend_acquire(struct vamos_client *c, int64_t deadline, struct shm_backend **out,
		    const char **why)
{
	uint64_t seen = atomic_load_explicit(&c->attempts, memory_order_acquire);
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	struct shm_backend *be = c->backend, *old = NULL;
	if (be && !atomic_load_explicit(&be->dead, memory_order_acquire)) {
		*out = backend_get(be);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (be) {
		/* Sessions still on it keep it mapped until they move on; our
		 * reference is kept while we may carry on from it. */
		c->backend = NULL;
		old = be;
	}
	if (atomic_load_explicit(&c->attempts, memory_order_relaxed) != seen) {
		/* Another thread tried while we waited for the lock, and failed:
		 * do not make every session wait out its own timeout. */
		c->backend = old;
		pthread_mutex_unlock(&c->lock);
		*why = "host gone (a reconnect failed a moment ago)";
		return -ECONNREFUSED;
	}
	int step = 0;
	for (;;) {
		struct client_config cfg = c->cfg;
		int left = client_left_ms(deadline);
		cfg.timeout_ms = left < cfg.timeout_ms ? (left ? left : 1) : cfg.timeout_ms;
		if (old && old->peer) {
			rc = backend_reattach(old, &be, why);
			if (rc == -ECONNRESET) {
				/* The server went away: join its successor. */
				backend_put(old);
				old = NULL;
				continue;
			}
		} else {
			rc = backend_connect_once(&cfg, &be, why);
		}
		if (rc == 0 || !client_transient(cfg.kind, rc) || client_left_ms(deadline) == 0)
			break;
		client_backoff(&step, deadline);
	}
	/* Kept on failure: the next attempt may still carry on from it. */
	if (rc == 0)
		backend_put(old);
	else
		c->backend = old;
	if (rc == 0) {
		be->generation = atomic_load_explicit(&c->generation, memory_order_relaxed) + 1;
		atomic_store_explicit(&c->generation, be->generation, memory_order_release);
		c->backend = be;
		*out = backend_get(be);
		client_set_error(c, NULL);
	} else if (client_transient(c->cfg.kind, rc)) {
		char detail[256];
		snprintf(detail, sizeof detail, "%s", *why);
		snprintf(why_buf, sizeof why_buf, "host gone: %s", detail);
		*why = why_buf;
		rc = -ECONNREFUSED;
		client_set_error(c, "host gone: vamosd did not come back in time");
	}
	atomic_fetch_add_explicit(&c->attempts, 1, memory_order_release);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int backend_channel(struct shm_backend *be, uint32_t index, struct vamos_chan **out)
{
	if (index >= be->channel_count)
		return -EINVAL;
	pthread_mutex_lock(&be->lock);
	int rc = be->peer ? vamos_ivshmem_peer_channel(be->peer, index, out)
			  : vamos_guest_channel(be->guest, index, out);
	pthread_mutex_unlock(&be->lock);
	return rc;
}

void backend_check(struct shm_backend *be)
{
	if (!be || !be->peer || atomic_load_explicit(&be->dead, memory_order_relaxed))
		return;
	/* One poll(2) with no wait: the server socket only has news when a
	 * peer joins or leaves, or the server is gone. */
	struct pollfd p = { .fd = vamos_ivshmem_peer_fd(be->peer), .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return;
	if (pthread_mutex_trylock(&be->lock))
		return; /* another thread is at it */
	int rc = vamos_ivshmem_peer_dispatch(be->peer);
	pthread_mutex_unlock(&be->lock);
	if (rc < 0)
		atomic_store_explicit(&be->dead, true, memory_order_release);
}

int stream_connect(const struct client_config *cfg, int64_t deadline,
		   struct vamos_chan **out, const char **why)
{
	char addr[64];
	const char *where = cfg->unix_path;
	if (cfg->kind == VAMOS_TRANSPORT_VSOCK) {
		snprintf(addr, sizeof addr, "vsock CID %u port %u", cfg->vsock_cid,
			 cfg->vsock_port);
		where = addr;
	}
	int step = 0, rc;
	for (;;) {
		rc = cfg->kind == VAMOS_TRANSPORT_VSOCK
			? vamos_vsock_connect(cfg->vsock_cid, cfg->vsock_port, NULL, out)
			: vamos_stream_connect_unix(cfg->unix_path, NULL, out);
		if (rc == 0 || !client_transient(cfg->kind, rc) || client_left_ms(deadline) == 0)
			break;
		client_backoff(&step, deadline);
	}
	if (rc == 0)
		return 0;
	if (client_transient(cfg->kind, rc)) {
		*why = say("host gone: cannot connect to vamosd at %s (%s)", where,
			   strerror(-rc));
		return -ECONNREFUSED;
	}
	*why = say("cannot connect to vamosd at %s (%s)", where, strerror(-rc));
	return rc;
}
