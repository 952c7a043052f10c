/* SPDX-License-Identifier: MIT */
/* ha_vamos's system variables (SHOW VARIABLES LIKE 'vamos%'): the transport
 * settings, read once at plugin init, and the session's lock wait timeout. */
#include "sysvars.h"

#include <climits>

#include <mysql/plugin.h>

using namespace vamos;

static transport_settings opt;

transport_settings *vamos::sysvar_transport()
{
	return &opt;
}


static MYSQL_SYSVAR_STR(transport, opt.transport, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			"How ha_vamos reaches vamosd: auto, ivshmem, local, vsock or unix "
			"(default: $VAMOS_TRANSPORT, else auto)",
			nullptr, nullptr, nullptr);
static MYSQL_SYSVAR_STR(local_socket, opt.local_socket, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			"local: vamosd's VM socket to join as a local peer "
			"(default: $VAMOS_LOCAL_SOCKET)",
			nullptr, nullptr, nullptr);
static MYSQL_SYSVAR_UINT(local_vectors, opt.local_vectors, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			 "local: the VM's interrupt vectors in vamosd "
			 "(default: $VAMOS_LOCAL_VECTORS, else 0: learned from vamosd)",
			 nullptr, nullptr, 0, 0, 64, 0);
static MYSQL_SYSVAR_STR(unix_socket, opt.unix_socket, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			"unix: vamosd's stream socket (default: $VAMOS_UNIX_SOCKET)",
			nullptr, nullptr, nullptr);
static MYSQL_SYSVAR_UINT(vsock_cid, opt.vsock_cid, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			 "vsock: the host's context id (default: $VAMOS_VSOCK_CID, else 2)",
			 nullptr, nullptr, 0, 0, UINT_MAX - 1, 0);
static MYSQL_SYSVAR_UINT(vsock_port, opt.vsock_port, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			 "vsock: vamosd's port (default: $VAMOS_VSOCK_PORT, else 7800)",
			 nullptr, nullptr, 0, 0, UINT_MAX - 1, 0);
static MYSQL_SYSVAR_UINT(stale_ms, opt.stale_ms, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			 "local/ivshmem: a statement waiting on a vamosd whose heartbeat "
			 "stood still this many ms fails (default: $VAMOS_STALE_MS, else 5000)",
			 nullptr, nullptr, 0, 0, INT_MAX, 0);
static MYSQL_SYSVAR_INT(poll_us, opt.poll_us, PLUGIN_VAR_READONLY | PLUGIN_VAR_RQCMDARG,
			"local/ivshmem: a statement waiting for vamosd's reply polls for it at "
			"most this many us (adapting to how long replies take) before it "
			"sleeps and vamosd must interrupt it; 0: never poll (default: "
			"$VAMOS_POLL_US, else -1: libvamos-client's default, 400)",
			nullptr, nullptr, -1, -1, 1000000, 0);
static MYSQL_THDVAR_ULONG(lock_wait_timeout, PLUGIN_VAR_RQCMDARG,
			  "Seconds a transaction waits for a row lock before "
			  "ER_LOCK_WAIT_TIMEOUT (sent with its first write)",
			  nullptr, nullptr, 50, 1, 1073741824, 0);

struct st_mysql_sys_var *vamos::vamos_sysvars[] = {
	MYSQL_SYSVAR(transport),  MYSQL_SYSVAR(local_socket), MYSQL_SYSVAR(local_vectors),
	MYSQL_SYSVAR(unix_socket), MYSQL_SYSVAR(vsock_cid),   MYSQL_SYSVAR(vsock_port),
	MYSQL_SYSVAR(stale_ms),   MYSQL_SYSVAR(poll_us),
	MYSQL_SYSVAR(lock_wait_timeout), nullptr,
};

unsigned long vamos::lock_wait_timeout(THD *thd)
{
	return THDVAR(thd, lock_wait_timeout);
}
