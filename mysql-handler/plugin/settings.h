/* SPDX-License-Identifier: MIT */
/*
 * ha_vamos's transport settings: the read-only system variables
 * vamos_transport, vamos_local_socket, vamos_local_vectors,
 * vamos_unix_socket, vamos_vsock_cid, vamos_vsock_port, vamos_stale_ms and
 * vamos_poll_us (plugin.cc).
 * One left unset on the command line (NULL, 0, or -1 for vamos_poll_us,
 * where 0 turns polling off) takes the matching
 * environment variable (VAMOS_TRANSPORT, VAMOS_LOCAL_SOCKET, ...) when it
 * is set, else libvamos-client's default; the variable then shows the
 * value in use. No server headers: unit-testable.
 */
#ifndef HA_VAMOS_SETTINGS_H
#define HA_VAMOS_SETTINGS_H

#include <string>

#include <vamos/client.h>

namespace vamos {

/** The variables' storage (as MariaDB's sysvar macros want it). */
struct transport_settings {
	char *transport;       /**< auto|ivshmem|local|vsock|unix */
	char *local_socket;
	unsigned local_vectors;
	char *unix_socket;
	unsigned vsock_cid;
	unsigned vsock_port;
	unsigned stale_ms;     /**< local/ivshmem: a stuck vamosd fails calls
				    after this long (VAMOS_STALE_MS, else 5000) */
	int poll_us;           /**< local/ivshmem: a statement waiting for its
				    reply polls at most this many us before it
				    sleeps (-1, unset: VAMOS_POLL_US, else the
				    client's default; 0: off) */
};

/**
 * Fill the unset fields of @s from the environment and the defaults, and
 * @p from @s (with VAMOS_CLIENT_NO_ENV: the settings alone decide).
 * Strings point into the environment or static storage. Returns 0, or
 * -EINVAL with @why naming the bad setting.
 */
int settings_resolve(transport_settings *s, vamos_client_params *p, std::string *why);

} // namespace vamos

#endif
