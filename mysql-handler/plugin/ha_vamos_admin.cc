/* SPDX-License-Identifier: MIT */
/* ha_vamos: ANALYZE TABLE and CHECK TABLE, both done by vamosd on the
 * committed table (VAMOS_MYSQL_ANALYZE, VAMOS_MYSQL_CHECK). */
#include "ha_vamos.h"

#include <errno.h>

#include <vamos/mysql_protocol.h>

#include "bytes.h"

using namespace vamos;

/* A failed request: its words as the statement's error, which the admin
 * statement shows as a row of its result. */
int ha_vamos::admin_failed(int st)
{
	print_error(fail(st), MYF(0));
	return HA_ADMIN_FAILED;
}

/* ANALYZE: vamosd counts the table's rows and bytes again; the counts are
 * its statistics from now on, here too. */
int ha_vamos::analyze(THD *thd, HA_CHECK_OPT *check_opt)
{
	int rc = flush_batch();
	if (rc) {
		print_error(rc, MYF(0));
		return HA_ADMIN_FAILED;
	}
	begin_request(VAMOS_MYSQL_ANALYZE);
	int st = call(VAMOS_MYSQL_ANALYZE, false, false, &m_reply);
	size_t off = 0;
	vamos_mysql_info in;
	if (st == 0 && !take(m_reply.data(), m_reply.size(), &off, &in))
		st = -EPROTO;
	if (st)
		return admin_failed(st);
	set_info(in);
	return HA_ADMIN_OK;
}

/* The name of host index @host for a message. */
const char *ha_vamos::host_index_name(int host) const
{
	if (host == 0)
		return m_hidden_pk ? "(the rows)" : "PRIMARY";
	uint k = host > 0 ? keynr_of_host((uint)host) : MAX_KEY;
	return k < table->s->keys ? table->key_info[k].name.str : "(unknown)";
}

/* CHECK: vamosd matches every secondary index with the rows, at a
 * snapshot of what is committed. Damage is reported as InnoDB does: a
 * warning saying what, and the status Corrupt. */
int ha_vamos::check(THD *thd, HA_CHECK_OPT *check_opt)
{
	int rc = flush_batch();
	if (rc) {
		print_error(rc, MYF(0));
		return HA_ADMIN_FAILED;
	}
	begin_request(VAMOS_MYSQL_CHECK);
	int st = call(VAMOS_MYSQL_CHECK, false, false, &m_reply);
	size_t off = 0;
	vamos_mysql_check_report r;
	if (st == 0 && !take(m_reply.data(), m_reply.size(), &off, &r))
		st = -EPROTO;
	if (st)
		return admin_failed(st);
	if (!r.missing && !r.orphans && !r.bad_rows)
		return HA_ADMIN_OK;
	push_warning_printf(thd, Sql_condition::WARN_LEVEL_WARN, ER_NOT_KEYFILE,
			    "VAMOS: index '%s' does not match the rows: %llu rows without their "
			    "index entry, %llu entries without their row, %llu damaged records "
			    "(of %llu rows, %llu entries)",
			    host_index_name(r.index), (unsigned long long)r.missing,
			    (unsigned long long)r.orphans, (unsigned long long)r.bad_rows,
			    (unsigned long long)r.rows, (unsigned long long)r.entries);
	return HA_ADMIN_CORRUPT;
}
