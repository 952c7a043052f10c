/* SPDX-License-Identifier: MIT */
/* Table maintenance ops: ANALYZE (recount) and CHECK (indexes against
 * rows), each in a read transaction of its own on a pool thread. */
#include <errno.h>

#include "exec_internal.h"

int mx_op_analyze(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out)
{
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	if ((rc = mh_table_recount(tb))) {
		mh_table_close(tb);
		return mx_store_fail(mh_txn_store(t), out, rc);
	}
	struct vamos_mysql_info info = { .data_bytes = mh_table_bytes(tb),
					 .next_autoinc = mh_table_next_autoinc(tb) };
	mh_table_rows(t, tb, &info.rows);
	mh_table_close(tb);
	return mx_answer(out, &info, sizeof info);
}

int mx_op_check(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out)
{
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	struct mh_check c;
	rc = mh_table_check(t, tb, &c);
	mh_table_close(tb);
	if (rc)
		return mx_store_fail(mh_txn_store(t), out, rc);
	struct vamos_mysql_check_report r = {
		.rows = c.rows, .entries = c.entries, .missing = c.missing,
		.orphans = c.orphans, .bad_rows = c.bad, .index = c.index,
	};
	return mx_answer(out, &r, sizeof r);
}
