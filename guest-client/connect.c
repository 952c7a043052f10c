/* SPDX-License-Identifier: MIT */
/*
 * Connecting: which transport (params, environment, or auto: the ivshmem
 * device if there is one, else vsock), the pool of sessions, the words of
 * vamos_client_describe(), and closing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vamos/vsock.h>

#include "internal.h"

/* Why a connect failed, until the thread's next connect. */
static __thread char why_buf[640];

/* Join the shm backend, retrying what a restarting host may cure until
 * the client's timeout. */
static int connect_shm(struct vamos_client *c, struct shm_backend **be, const char **why)
{
	int64_t deadline = client_deadline(c->cfg.timeout_ms);
	int step = 0, rc;
	for (;;) {
		rc = backend_connect_once(&c->cfg, be, why);
		if (rc == 0 || !client_transient(c->cfg.kind, rc) ||
		    client_left_ms(deadline) == 0)
			return rc;
		client_backoff(&step, deadline);
	}
}

/* Whether this kernel has AF_VSOCK at all (no connection is made). */
static int vsock_available(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static const char *chosen(const struct client_config *cfg)
{
	return strcmp(cfg->chosen_by, "VAMOS_TRANSPORT") == 0
		? "chosen by VAMOS_TRANSPORT" : "chosen by the application";
}

static void describe_shm(struct vamos_client *c, struct shm_backend *be, const char *auto_why)
{
	if (c->cfg.kind == VAMOS_TRANSPORT_LOCAL) {
		uint32_t vectors = vamos_ivshmem_peer_vectors(be->peer);
		snprintf(c->describe, sizeof c->describe,
			 "local (ivshmem server %s, peer id %d, %u channels, %u vector%s%s; %s)",
			 c->cfg.local_socket, vamos_ivshmem_peer_id(be->peer), be->channel_count,
			 vectors, vectors == 1 ? "" : "s", c->cfg.local_vectors ? "" : ", learned",
			 chosen(&c->cfg));
		return;
	}
	const char *reason = NULL;
	enum vamos_notify_mode mode = vamos_guest_mode(be->guest, &reason);
	snprintf(c->describe, sizeof c->describe, "ivshmem (%s, %s: %s; %u channels; %s)",
		 vamos_guest_pci_address(be->guest), vamos_notify_mode_name(mode),
		 reason ? reason : "", be->channel_count, auto_why ? auto_why : chosen(&c->cfg));
}

static void describe_stream(struct vamos_client *c, const char *auto_why)
{
	if (c->cfg.kind == VAMOS_TRANSPORT_VSOCK)
		snprintf(c->describe, sizeof c->describe,
			 "vsock (CID %u port %u, %u connections; %s)", c->cfg.vsock_cid,
			 c->cfg.vsock_port, c->cfg.channels, auto_why ? auto_why : chosen(&c->cfg));
	else
		snprintf(c->describe, sizeof c->describe, "unix (%s, %u connections; %s)",
			 c->cfg.unix_path, c->cfg.channels, chosen(&c->cfg));
}

/* Pick and open the transport. Fills c->describe, and @be for shm. */
static int open_transport(struct vamos_client *c, struct shm_backend **be, const char **why)
{
	char auto_why[320];
	int rc;

	switch (c->cfg.kind) {
	case VAMOS_TRANSPORT_AUTO: {
		const char *gwhy = NULL;
		c->cfg.kind = VAMOS_TRANSPORT_IVSHMEM;
		rc = backend_connect_once(&c->cfg, be, &gwhy);
		if (rc == 0) {
			describe_shm(c, *be, "auto: this machine has an ivshmem device");
			return 0;
		}
		snprintf(auto_why, sizeof auto_why, "%s", gwhy ? gwhy : "no ivshmem device");
		int vrc = vsock_available();
		if (vrc) {
			snprintf(why_buf, sizeof why_buf,
				 "no ivshmem device and no vsock: %s; AF_VSOCK: %s (QEMU needs "
				 "-device vhost-vsock-pci, and the host /dev/vhost-vsock)",
				 auto_why, strerror(-vrc));
			*why = why_buf;
			return -ENODEV;
		}
		c->cfg.kind = VAMOS_TRANSPORT_VSOCK;
		char because[sizeof auto_why + 8];
		snprintf(because, sizeof because, "auto: %s", auto_why);
		describe_stream(c, because);
		return 0;
	}
	case VAMOS_TRANSPORT_IVSHMEM:
	case VAMOS_TRANSPORT_LOCAL:
		rc = connect_shm(c, be, why);
		if (rc == 0)
			describe_shm(c, *be, NULL);
		return rc;
	case VAMOS_TRANSPORT_VSOCK:
		/* Connections open when sessions are first used; only make
		 * sure the kernel can make them at all. */
		if ((rc = vsock_available())) {
			snprintf(why_buf, sizeof why_buf, "vsock: no AF_VSOCK here (%s)",
				 strerror(-rc));
			*why = why_buf;
			return rc;
		}
		describe_stream(c, NULL);
		return 0;
	case VAMOS_TRANSPORT_UNIX: {
		struct sockaddr_un sun;
		if (strlen(c->cfg.unix_path) >= sizeof sun.sun_path) {
			*why = "unix: the socket path is too long";
			return -ENAMETOOLONG;
		}
		describe_stream(c, NULL);
		return 0;
	}
	}
	*why = "unknown transport";
	return -EINVAL;
}

int vamos_client_connect(const struct vamos_client_params *params,
			 struct vamos_client **out, const char **why_out)
{
	const char *dummy;
	const char **why = why_out ? why_out : &dummy;
	struct shm_backend *be = NULL;
	int rc;

	*why = NULL;
	if (!out) {
		*why = "no place for the client (out is NULL)";
		return -EINVAL;
	}
	struct vamos_client *c = calloc(1, sizeof *c);
	if (!c) {
		*why = "out of memory";
		return -ENOMEM;
	}
	atomic_init(&c->error, NULL);
	atomic_init(&c->next_session, 0);
	atomic_init(&c->attempts, 0);
	atomic_init(&c->generation, 0);
	if ((rc = config_resolve(params, &c->cfg, why))) {
		free(c);
		return rc;
	}
	if ((rc = open_transport(c, &be, why))) {
		if (*why && *why != why_buf) {
			char detail[384];
			snprintf(detail, sizeof detail, "%s", *why);
			snprintf(why_buf, sizeof why_buf, "%s: %s",
				 config_transport_name(c->cfg.kind), detail);
			*why = why_buf;
		}
		config_free(&c->cfg);
		free(c);
		return rc;
	}
	c->pool_size = be ? be->channel_count : c->cfg.channels;
	c->sessions = calloc(c->pool_size, sizeof *c->sessions);
	uint32_t ready = 0;
	rc = c->sessions ? 0 : -ENOMEM;
	while (rc == 0 && ready < c->pool_size && (rc = session_init(&c->sessions[ready], c, ready)) == 0)
		ready++;
	if (rc == 0 && pthread_key_create(&c->key, session_thread_exit))
		rc = -EAGAIN;
	if (rc) {
		for (uint32_t i = 0; i < ready; i++)
			session_destroy(&c->sessions[i]);
		free(c->sessions);
		backend_put(be);
		config_free(&c->cfg);
		free(c);
		*why = rc == -EAGAIN ? "no pthread key left" : "out of memory";
		return rc;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->threads_lock, NULL);
	if (be) {
		be->generation = 1;
		atomic_store_explicit(&c->generation, 1, memory_order_relaxed);
		c->backend = be;
	}
	*out = c;
	return 0;
}

const char *vamos_client_describe(const struct vamos_client *c)
{
	return c->describe;
}

enum vamos_transport_kind vamos_client_transport(const struct vamos_client *c)
{
	return c->cfg.kind;
}

const char *vamos_client_error(const struct vamos_client *c)
{
	return atomic_load_explicit(&c->error, memory_order_acquire);
}

void vamos_client_close(struct vamos_client *c)
{
	if (!c)
		return;
	/* Threads that still run never see their context again: the key
	 * goes first, then what it pointed to. */
	pthread_key_delete(c->key);
	struct thread_ctx *t = c->threads;
	while (t) {
		struct thread_ctx *next = t->next;
		free(t);
		t = next;
	}
	for (uint32_t i = 0; i < c->pool_size; i++)
		session_destroy(&c->sessions[i]);
	free(c->sessions);
	backend_put(c->backend);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->threads_lock);
	config_free(&c->cfg);
	free(c);
}
