/* SPDX-License-Identifier: MIT */
/* struct vamos_client_params and the VAMOS_* environment variables, which
 * win over the params, resolved into one checked configuration. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/vsock.h>

#include "internal.h"

static const struct {
	const char *name;
	enum vamos_transport_kind kind;
} transports[] = {
	{ "auto", VAMOS_TRANSPORT_AUTO },
	{ "ivshmem", VAMOS_TRANSPORT_IVSHMEM },
	{ "local", VAMOS_TRANSPORT_LOCAL },
	{ "vsock", VAMOS_TRANSPORT_VSOCK },
	{ "unix", VAMOS_TRANSPORT_UNIX },
};

const char *config_transport_name(enum vamos_transport_kind kind)
{
	for (size_t i = 0; i < sizeof transports / sizeof transports[0]; i++)
		if (transports[i].kind == kind)
			return transports[i].name;
	return "unknown";
}

/* A decimal (or 0x hex) number in [@min, @max], the whole string. */
static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* The environment's value of @name if set, not empty and wanted, else NULL. */
static const char *env(const struct vamos_client_params *p, const char *name)
{
	if (p->flags & VAMOS_CLIENT_NO_ENV)
		return NULL;
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

void config_free(struct client_config *cfg)
{
	free(cfg->local_socket);
	free(cfg->unix_path);
	cfg->local_socket = cfg->unix_path = NULL;
}

int config_resolve(const struct vamos_client_params *params,
		   struct client_config *cfg, const char **why)
{
	static const struct vamos_client_params defaults;
	const struct vamos_client_params *p = params ? params : &defaults;
	const char *v;

	memset(cfg, 0, sizeof *cfg);
	if (p->flags & ~(unsigned)VAMOS_CLIENT_NO_ENV) {
		*why = "params.flags has unknown bits";
		return -EINVAL;
	}
	cfg->kind = p->transport;
	cfg->chosen_by = "the application";
	if ((v = env(p, "VAMOS_TRANSPORT"))) {
		size_t i, n = sizeof transports / sizeof transports[0];
		for (i = 0; i < n && strcmp(v, transports[i].name); i++)
			;
		if (i == n) {
			*why = "VAMOS_TRANSPORT must be auto, ivshmem, local, vsock or unix";
			return -EINVAL;
		}
		cfg->kind = transports[i].kind;
		cfg->chosen_by = "VAMOS_TRANSPORT";
	} else if (p->transport > VAMOS_TRANSPORT_UNIX) {
		*why = "params.transport is not an enum vamos_transport_kind";
		return -EINVAL;
	}
	if (cfg->kind == VAMOS_TRANSPORT_AUTO)
		cfg->chosen_by = "auto";

	/* 0: as many as the server has (the local peer learns them). */
	cfg->local_vectors = p->local_vectors;
	if ((v = env(p, "VAMOS_LOCAL_VECTORS")) &&
	    !parse_u32(v, 0, VAMOS_IVSHMEM_MAX_VECTORS, &cfg->local_vectors)) {
		*why = "VAMOS_LOCAL_VECTORS must be a number from 0 (the server's) to 64";
		return -EINVAL;
	}
	if (cfg->local_vectors > VAMOS_IVSHMEM_MAX_VECTORS) {
		*why = "params.local_vectors must be 0 to 64";
		return -EINVAL;
	}
	cfg->vsock_cid = p->vsock_cid ? p->vsock_cid : VMADDR_CID_HOST;
	if ((v = env(p, "VAMOS_VSOCK_CID")) &&
	    !parse_u32(v, 1, UINT32_MAX - 1, &cfg->vsock_cid)) {
		*why = "VAMOS_VSOCK_CID must be a context id (a number, not -1)";
		return -EINVAL;
	}
	cfg->vsock_port = p->vsock_port ? p->vsock_port : VAMOS_DEFAULT_VSOCK_PORT;
	if ((v = env(p, "VAMOS_VSOCK_PORT")) &&
	    !parse_u32(v, 1, UINT32_MAX - 1, &cfg->vsock_port)) {
		*why = "VAMOS_VSOCK_PORT must be a port number (not 0 or -1)";
		return -EINVAL;
	}
	cfg->channels = p->channels ? p->channels : CLIENT_DEFAULT_CHANNELS;
	if (cfg->channels > CLIENT_MAX_CHANNELS) {
		*why = "params.channels is above 4096";
		return -EINVAL;
	}
	cfg->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : CLIENT_DEFAULT_TIMEOUT_MS;
	cfg->stale_ms = p->stale_ms < 0 ? 0 : p->stale_ms ? p->stale_ms : CLIENT_DEFAULT_STALE_MS;
	uint32_t stale;
	if ((v = env(p, "VAMOS_STALE_MS"))) {
		if (!parse_u32(v, 0, INT32_MAX, &stale)) {
			*why = "VAMOS_STALE_MS must be a number of milliseconds (0: never)";
			return -EINVAL;
		}
		cfg->stale_ms = (int)stale;
	}
	if (p->poll_us > CLIENT_MAX_POLL_US) {
		*why = "params.poll_us must be at most 1000000 (1 s)";
		return -EINVAL;
	}
	uint32_t poll_us = p->poll_us < 0 ? 0 : p->poll_us ? (uint32_t)p->poll_us
							  : CLIENT_DEFAULT_POLL_US;
	if ((v = env(p, "VAMOS_POLL_US")) && !parse_u32(v, 0, CLIENT_MAX_POLL_US, &poll_us)) {
		*why = "VAMOS_POLL_US must be a number of microseconds from 0 (off) to 1000000";
		return -EINVAL;
	}
	cfg->poll_max_ns = (int64_t)poll_us * 1000;
	cfg->irq = (enum vamos_guest_irq)p->irq;
	if (p->irq < VAMOS_GUEST_IRQ_AUTO || p->irq > VAMOS_GUEST_IRQ_POLL) {
		*why = "params.irq is not an enum vamos_guest_irq";
		return -EINVAL;
	}

	const char *local = env(p, "VAMOS_LOCAL_SOCKET");
	if (!local)
		local = p->local_socket;
	const char *unix_path = env(p, "VAMOS_UNIX_SOCKET");
	if (!unix_path)
		unix_path = p->unix_path;
	if (cfg->kind == VAMOS_TRANSPORT_LOCAL && (!local || !*local)) {
		*why = "local: no socket (set VAMOS_LOCAL_SOCKET or params.local_socket)";
		return -EINVAL;
	}
	if (cfg->kind == VAMOS_TRANSPORT_UNIX && (!unix_path || !*unix_path)) {
		*why = "unix: no socket (set VAMOS_UNIX_SOCKET or params.unix_path)";
		return -EINVAL;
	}
	if ((local && !(cfg->local_socket = strdup(local))) ||
	    (unix_path && !(cfg->unix_path = strdup(unix_path)))) {
		config_free(cfg);
		*why = "out of memory";
		return -ENOMEM;
	}
	return 0;
}
