/* SPDX-License-Identifier: MIT */
/* Transport settings: command line, else environment, else defaults. */
#include "settings.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

namespace vamos {

static const struct {
	const char *name;
	vamos_transport_kind kind;
} kinds[] = {
	{"auto", VAMOS_TRANSPORT_AUTO},   {"ivshmem", VAMOS_TRANSPORT_IVSHMEM},
	{"local", VAMOS_TRANSPORT_LOCAL}, {"vsock", VAMOS_TRANSPORT_VSOCK},
	{"unix", VAMOS_TRANSPORT_UNIX},
};

/* @var's environment value if the setting is unset. */
static void string_from_env(char **field, const char *var)
{
	const char *v = getenv(var);
	if ((!*field || !**field) && v && *v)
		*field = const_cast<char *>(v);
}

/* An unset number from @var (decimal, in [@min, @max]), else @def. */
static int number_from_env(unsigned *field, const char *var, unsigned long min,
			   unsigned long max, unsigned def, std::string *why)
{
	if (*field)
		return 0;
	const char *v = getenv(var);
	if (!v || !*v) {
		*field = def;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end || *v == '-' || n < min || n > max) {
		*why = std::string(var) + " must be a number from " + std::to_string(min) + " to " +
		       std::to_string(max);
		return -EINVAL;
	}
	*field = (unsigned)n;
	return 0;
}

int settings_resolve(transport_settings *s, vamos_client_params *p, std::string *why)
{
	static char auto_name[] = "auto";
	string_from_env(&s->transport, "VAMOS_TRANSPORT");
	if (!s->transport || !*s->transport)
		s->transport = auto_name;
	string_from_env(&s->local_socket, "VAMOS_LOCAL_SOCKET");
	string_from_env(&s->unix_socket, "VAMOS_UNIX_SOCKET");
	int rc = number_from_env(&s->local_vectors, "VAMOS_LOCAL_VECTORS", 0, 64, 0, why);
	if (!rc)
		rc = number_from_env(&s->vsock_cid, "VAMOS_VSOCK_CID", 1, UINT32_MAX - 1, 2, why);
	if (!rc)
		rc = number_from_env(&s->vsock_port, "VAMOS_VSOCK_PORT", 1, UINT32_MAX - 1,
				     VAMOS_DEFAULT_VSOCK_PORT, why);
	if (!rc)
		rc = number_from_env(&s->stale_ms, "VAMOS_STALE_MS", 1, INT32_MAX, 5000, why);
	if (!rc && s->poll_us < 0) {
		unsigned us = 0;
		/* Unset in the environment too: the client's default (0). */
		rc = number_from_env(&us, "VAMOS_POLL_US", 0, 1000000, 0, why);
		const char *v = getenv("VAMOS_POLL_US");
		s->poll_us = v && *v ? (int)us : -1;
	}
	if (rc)
		return rc;
	size_t i = 0, n = sizeof kinds / sizeof kinds[0];
	while (i < n && strcmp(s->transport, kinds[i].name))
		i++;
	if (i == n) {
		*why = "vamos_transport must be auto, ivshmem, local, vsock or unix, not \"" +
		       std::string(s->transport) + "\"";
		return -EINVAL;
	}
	*p = vamos_client_params();
	p->transport = kinds[i].kind;
	p->local_socket = s->local_socket;
	p->local_vectors = s->local_vectors;
	p->unix_path = s->unix_socket;
	p->vsock_cid = s->vsock_cid;
	p->vsock_port = s->vsock_port;
	p->stale_ms = (int)s->stale_ms;
	/* The client's encoding: 0 is its default, < 0 is off. */
	p->poll_us = s->poll_us < 0 ? 0 : s->poll_us == 0 ? -1 : s->poll_us;
	p->flags = VAMOS_CLIENT_NO_ENV;
	return 0;
}

} // namespace vamos
