/* SPDX-License-Identifier: MIT */
/*
 * The VAMOS engine's handlerton and plugin declaration. Plugin init
 * connects to vamosd (libvamos-client; transport from the environment)
 * and ATTACHes exclusively; without vamosd the plugin does not load and
 * the error log says why.
 *
 * SHOW STATUS LIKE 'Vamos%':
 *   Vamos_requests       requests sent to vamosd (all kinds)
 *   Vamos_doorbells      doorbells (notifications) this process rang
 *   Vamos_read_requests  READ requests (scans and index reads)
 *   Vamos_rows_fetched   rows received by READ and GET
 *   Vamos_write_batches  WRITE requests
 *   Vamos_rows_written   rows sent in WRITE requests
 *   Vamos_reattaches     re-ATTACHes after vamosd restarted
 */
#include "ha_vamos.h"

#include <mysql/plugin.h>

#include "connection.h"

namespace vamos {
engine_counters engine_stats;
}

using namespace vamos;

static handler *vamos_create_handler(handlerton *hton, TABLE_SHARE *table, MEM_ROOT *mem_root)
{
	return new (mem_root) ha_vamos(hton, table);
}

static int vamos_init(void *p)
{
	handlerton *hton = static_cast<handlerton *>(p);
	std::string why;
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
	hton->flags = HTON_NO_FLAGS;
	if (attached)
		sql_print_information("VAMOS: attached to vamosd's mysql service");
	return 0;
}

static int vamos_deinit(void *p)
{
	conn_close();
	return 0;
}

static SHOW_VAR vamos_status[] = {
	{"Vamos_requests", (char *)&conn_stats.requests, SHOW_LONGLONG},
	{"Vamos_doorbells", (char *)&conn_stats.doorbells, SHOW_LONGLONG},
	{"Vamos_read_requests", (char *)&engine_stats.read_requests, SHOW_LONGLONG},
	{"Vamos_rows_fetched", (char *)&engine_stats.rows_fetched, SHOW_LONGLONG},
	{"Vamos_write_batches", (char *)&engine_stats.write_batches, SHOW_LONGLONG},
	{"Vamos_rows_written", (char *)&engine_stats.rows_written, SHOW_LONGLONG},
	{"Vamos_reattaches", (char *)&conn_stats.reattaches, SHOW_LONGLONG},
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
	nullptr,
	"0.1",
	MariaDB_PLUGIN_MATURITY_STABLE,
} maria_declare_plugin_end;
