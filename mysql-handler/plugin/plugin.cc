/* SPDX-License-Identifier: MIT */
/*
 * The VAMOS engine's handlerton, system variables and plugin declaration.
 * Plugin init connects to vamosd (libvamos-client; transport from the
 * vamos_* variables, settings.h) and ATTACHes exclusively; without vamosd
 * the engine still loads and connects on first use.
 *
 * System variables (doc/ha_vamos.md has the table):
 *   vamos_transport, vamos_local_socket, vamos_local_vectors,
 *   vamos_unix_socket, vamos_vsock_cid, vamos_vsock_port
 *                           read-only, global: how to reach vamosd; unset,
 *                           each takes its VAMOS_* environment variable
 *   vamos_lock_wait_timeout session: seconds a transaction may wait for
 *                           the writer, sent with its first write
 *
 * SHOW STATUS LIKE 'Vamos%':
 *   Vamos_requests       requests sent to vamosd (all kinds)
 *   Vamos_doorbells      doorbells (notifications) this process rang
 *   Vamos_read_requests  READ requests (scans and index reads)
 *   Vamos_reads_ahead    of those, sent ahead while a scan used its last batch
 *   Vamos_reads_ahead_discarded  replies of those thrown away unread (a
 *                        scan ended early, or the reply had to be asked again)
 *   Vamos_rows_fetched   rows received by READ and GET
 *   Vamos_covering_reads READ requests answered with index entries alone
 *                        (covering reads: no row read on the host)
 *   Vamos_write_batches  WRITE requests
 *   Vamos_rows_written   rows sent in WRITE requests
 *   Vamos_reattaches     re-ATTACHes after vamosd restarted
 *   Vamos_idle_ends      snapshot ends sent for connections left idle
 *                        (a read-only transaction's end is owed, not sent)
 */
#include "ha_vamos.h"

#include <mysql/plugin.h>

#include "connection.h"
#include "idle_snapshots.h"
#include "settings.h"
#include "sysvars.h"
#include "xa.h"

using namespace vamos;

static handler *vamos_create_handler(handlerton *hton, TABLE_SHARE *table, MEM_ROOT *mem_root)
{
	return new (mem_root) ha_vamos(hton, table);
}


static int vamos_init(void *p)
{
	handlerton *hton = static_cast<handlerton *>(p);
	std::string why;
	vamos_client_params params;
	if (settings_resolve(sysvar_transport(), &params, &why)) {
		sql_print_error("VAMOS: %s", why.c_str());
		return 1;
	}
	conn_set_params(params);
	/* Without vamosd the engine still loads: the first statement on a
	 * VAMOS table connects (and fails, saying why, until vamosd is up). */
	bool attached = conn_open(&why) == 0;
	if (!attached)
		sql_print_warning("VAMOS: %s; will connect on first use", why.c_str());
	hton->create = vamos_create_handler;
	hton->commit = trx_commit;
	hton->rollback = trx_rollback;
	hton->close_connection = trx_close_connection;
	hton->savepoint_offset = sizeof(uint64_t); /* the host's id of it */
	hton->savepoint_set = trx_savepoint_set;
	hton->savepoint_rollback = trx_savepoint_rollback;
	hton->savepoint_release = trx_savepoint_release;
	hton->start_consistent_snapshot = trx_start_snapshot;
	/* Two-phase commit (XA, and the binary log's with log_bin). */
	hton->prepare = xa_prepare;
	hton->commit_by_xid = xa_commit_by_xid;
	hton->rollback_by_xid = xa_rollback_by_xid;
	hton->recover = xa_recover;
	hton->flags = HTON_NO_FLAGS;
	if (idle_start()) {
		sql_print_error("VAMOS: cannot start the thread that ends idle connections' snapshots");
		conn_close();
		return 1;
	}
	if (attached)
		sql_print_information("VAMOS: attached to vamosd's mysql service");
	return 0;
}

static int vamos_deinit(void *p)
{
	idle_stop(); /* it sends through the connection */
	conn_close();
	return 0;
}

static SHOW_VAR vamos_status[] = {
	{"Vamos_requests", (char *)&conn_stats.requests, SHOW_LONGLONG},
	{"Vamos_doorbells", (char *)&conn_stats.doorbells, SHOW_LONGLONG},
	{"Vamos_read_requests", (char *)&engine_stats.read_requests, SHOW_LONGLONG},
	{"Vamos_reads_ahead", (char *)&engine_stats.reads_ahead, SHOW_LONGLONG},
	{"Vamos_reads_ahead_discarded", (char *)&engine_stats.reads_ahead_discarded,
	 SHOW_LONGLONG},
	{"Vamos_rows_fetched", (char *)&engine_stats.rows_fetched, SHOW_LONGLONG},
	{"Vamos_covering_reads", (char *)&engine_stats.covering_reads, SHOW_LONGLONG},
	{"Vamos_write_batches", (char *)&engine_stats.write_batches, SHOW_LONGLONG},
	{"Vamos_rows_written", (char *)&engine_stats.rows_written, SHOW_LONGLONG},
	{"Vamos_reattaches", (char *)&conn_stats.reattaches, SHOW_LONGLONG},
	{"Vamos_idle_ends", (char *)&conn_stats.idle_ends, SHOW_LONGLONG},
	{NullS, NullS, SHOW_LONG},
};

static struct st_mysql_storage_engine vamos_storage_engine = {
	MYSQL_HANDLERTON_INTERFACE_VERSION};

maria_declare_plugin(vamos){
	MYSQL_STORAGE_ENGINE_PLUGIN,
	&vamos_storage_engine,
	"VAMOS",
	"libvamos",
	"Storage engine on the host: handler calls go to vamosd over shared memory",
	PLUGIN_LICENSE_BSD,
	vamos_init,
	vamos_deinit,
	0x0001,
	vamos_status,
	vamos_sysvars,
	"0.1",
	/* Beta until a release: a server loads it with plugin_maturity=beta. */
	MariaDB_PLUGIN_MATURITY_BETA,
} maria_declare_plugin_end;
