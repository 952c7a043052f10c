/* SPDX-License-Identifier: MIT */
/* READ (rows in index order, as many as fit one reply),
 * RECORDS_IN_RANGE (the optimizer's estimate), and which read op runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "exec_internal.h"

/* Exact counts up to this many entries; past it, an estimate (range_beyond).
 * Each entry counted is a RocksDB step of about 1,500 instructions (bench/run
 * costs), so a wide range is not walked; a short one (sysbench's 100 rows)
 * is counted, since RocksDB's sizes of memtables, where young rows are, are
 * sampled too coarsely for it. */
#define RANGE_COUNT_LIMIT 128u
/* A READ's budget when the guest gives none. */
#define READ_DEFAULT_BYTES (64u * 1024)

/* Compare @key's first @stop.len bytes (or all of it, if shorter) to
 * @stop: the order of the index's leading key parts. */
static int prefix_cmp(struct mh_bytes key, struct mh_bytes stop)
{
	uint32_t n = key.len < stop.len ? key.len : stop.len;
	int c = n ? memcmp(key.data, stop.data, n) : 0;
	if (c || key.len >= stop.len)
		return c;
	return -1; /* a shorter key sorts first */
}

/* May a scan go on at @key, given @stop? */
static bool within(uint8_t stop, struct mh_bytes key, struct mh_bytes stop_key)
{
	if (stop == VAMOS_MYSQL_STOP_NONE)
		return true;
	int c = prefix_cmp(key, stop_key);
	switch (stop) {
	case VAMOS_MYSQL_STOP_PREFIX: return c == 0;
	case VAMOS_MYSQL_STOP_LE: return c <= 0;
	case VAMOS_MYSQL_STOP_LT: return c < 0;
	case VAMOS_MYSQL_STOP_GE: return c >= 0;
	case VAMOS_MYSQL_STOP_GT: return c > 0;
	default: return false;
	}
}

static uint32_t pad8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

/* Position at the first entry a READ asks for. */
static int start(struct mh_cursor *c, const struct vamos_mysql_read *r, struct mh_bytes key,
		 struct mh_entry *e)
{
	switch (r->start) {
	case VAMOS_MYSQL_START_FIRST: return mh_cursor_first(c, e);
	case VAMOS_MYSQL_START_LAST: return mh_cursor_last(c, e);
	case VAMOS_MYSQL_START_FIND: return mh_cursor_find(c, key, (enum mh_find)r->find, e);
	case VAMOS_MYSQL_START_AFTER: return mh_cursor_seek(c, key, true, e);
	case VAMOS_MYSQL_START_BEFORE: return mh_cursor_seek(c, key, false, e);
	default: return -EINVAL;
	}
}

/* Open the handle's table and a cursor on its index @index (checked). */
static int open_index(struct mh_txn *t, const struct mx_table_ref *ref, uint32_t index,
		      const char *op, struct mx_out *out, struct mh_table **tb,
		      struct mh_cursor **c)
{
	*c = NULL;
	int rc = mx_table_open(t, ref, tb);
	if (rc)
		return rc;
	if (index > mh_table_indexes(*tb))
		rc = mx_fail(out, -EINVAL, "%s: no index %u", op, index);
	else
		rc = mh_cursor_open(t, *tb, index, c);
	if (rc) {
		mh_table_close(*tb);
		*tb = NULL;
	}
	return rc;
}

int mx_op_read(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
	       struct mx_out *out)
{
	struct vamos_mysql_read r;
	struct mh_bytes key, stop_key;
	if (mx_take(in, &r, sizeof r) || (r.flags & ~(uint32_t)VAMOS_MYSQL_READ_KEYS_ONLY) ||
	    r.start > VAMOS_MYSQL_START_BEFORE ||
	    r.find > VAMOS_MYSQL_PREFIX_LAST_OR_PREV || r.backward > 1 ||
	    r.stop > VAMOS_MYSQL_STOP_GT || r.max_rows == 0 ||
	    mx_take_bytes(in, r.key_len, &key) || mx_take_bytes(in, r.stop_len, &stop_key) ||
	    in->left)
		return mx_fail(out, -EINVAL, "READ: malformed request");
	struct mh_table *tb;
	struct mh_cursor *c;
	int rc = open_index(t, ref, r.index, "READ", out, &tb, &c);
	if (rc)
		return rc;
	bool keys_only = r.flags & VAMOS_MYSQL_READ_KEYS_ONLY;
	if (keys_only && (r.index == 0 || mh_cursor_locks(c))) {
		/* A locking read must read and lock every row; the primary
		 * index's entries are the rows. */
		rc = mx_fail(out, -EINVAL, "READ: KEYS_ONLY %s",
			     r.index ? "in a locking read" : "on the primary index");
		goto out;
	}
	if (keys_only)
		mh_cursor_keys_only(c); /* covering: the index entry is the answer */

	/* The rows go front to back from the header; the resume key (the
	 * last row's stored key) is kept at the very end of the space, where
	 * the next row may overwrite it only once that row is the last. */
	uint32_t head = sizeof(struct vamos_mysql_rows);
	if (out->cap < head) {
		rc = mx_fail(out, -EMSGSIZE, "READ: reply space too small");
		goto out;
	}
	uint32_t want = r.max_bytes ? r.max_bytes : READ_DEFAULT_BYTES;
	struct vamos_mysql_rows rows = { 0 };
	uint32_t used = head;
	uint32_t resume_at = 0; /* where in out->buf the resume key is */
	struct mh_entry e;
	rc = start(c, &r, key, &e);
	while (rc == 0) {
		if (!within(r.stop, e.key, stop_key)) {
			rc = -ENOENT;
			break;
		}
		/* A covering read answers with the entry's key for the row. */
		struct mh_bytes body = keys_only ? e.key : e.row;
		uint64_t need = pad8((uint32_t)sizeof(struct vamos_mysql_row_entry) + e.pk.len +
				     body.len);
		if (used + need + e.stored.len > out->cap) {
			rc = rows.count ? 0 : mx_fail(out, -EMSGSIZE,
						      "row of %u bytes is larger than a reply (%u)",
						      body.len, out->cap - head);
			break;
		}
		if (rows.count && used - head + need > want)
			break; /* full: the guest continues from the resume key */
		struct vamos_mysql_row_entry re = { .row_len = body.len, .pk_len = (uint16_t)e.pk.len };
		unsigned char *p = out->buf + used;
		memcpy(p, &re, sizeof re);
		memcpy(p + sizeof re, e.pk.data, e.pk.len);
		if (body.len)
			memcpy(p + sizeof re + e.pk.len, body.data, body.len);
		memset(p + sizeof re + e.pk.len + body.len, 0,
		       need - sizeof re - e.pk.len - body.len);
		used += (uint32_t)need;
		rows.count++;
		/* The resume key: on the primary index the row's primary key,
		 * already in the reply; else copied now to the end of the
		 * space (the next move invalidates it). */
		rows.resume_len = e.stored.len;
		if (e.stored.data == e.pk.data && e.stored.len == e.pk.len) {
			resume_at = used - (uint32_t)need + (uint32_t)sizeof re;
		} else {
			resume_at = out->cap - e.stored.len;
			memcpy(out->buf + resume_at, e.stored.data, e.stored.len);
		}
		if (rows.count == r.max_rows)
			break;
		rc = r.backward ? mh_cursor_prev(c, &e) : mh_cursor_next(c, &e);
	}
	if (rc == -ENOENT) {
		rows.flags |= VAMOS_MYSQL_ROWS_END;
		rc = rows.count ? 0 : -ENOENT;
	} else if (rc && rc != -EMSGSIZE) {
		rc = mx_store_fail(mh_txn_store(t), out, rc);
	}
	if (rc == 0) {
		memmove(out->buf + used, out->buf + resume_at, rows.resume_len);
		memcpy(out->buf, &rows, sizeof rows);
		out->len = used + rows.resume_len;
	}
out:
	mh_cursor_close(c);
	mh_table_close(tb);
	return rc;
}

/* Where a range starts: @flag is MariaDB's for the lower bound. */
static int range_start(struct mh_cursor *c, struct mh_bytes min, uint8_t flag,
		       struct mh_entry *e)
{
	if (!min.len)
		return mh_cursor_first(c, e);
	enum mh_find f = flag == VAMOS_MYSQL_AFTER_KEY ? MH_READ_AFTER_KEY : MH_READ_KEY_OR_NEXT;
	return mh_cursor_find(c, min, f, e);
}

/* A range too long to count: @counted entries up to stored key @from,
 * and the rest up to @max: the table's rows times the share of the
 * index's bytes (RocksDB's sizes) that part holds. */
static uint64_t range_beyond(struct mh_txn *t, struct mh_table *tb, uint32_t index,
			     struct mh_bytes from, struct mh_bytes max, uint64_t counted)
{
	uint64_t total = 0;
	mh_table_rows(t, tb, &total);
	if (total <= counted)
		return counted;
	static const struct mh_bytes open_end = { 0 };
	uint64_t whole = mh_index_bytes(tb, index, open_end, open_end);
	if (!whole) /* nothing in SST files yet: assume half of the rest */
		return counted + (total - counted) / 2;
	uint64_t part = mh_index_bytes(tb, index, from, max);
	double rest = (double)total * (double)part / (double)whole;
	if (rest > (double)(total - counted))
		rest = (double)(total - counted);
	return counted + (uint64_t)rest;
}

int mx_op_range(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		struct mx_out *out)
{
	struct vamos_mysql_range r;
	struct mh_bytes min, max;
	if (mx_take(in, &r, sizeof r) || mx_take_bytes(in, r.min_len, &min) ||
	    mx_take_bytes(in, r.max_len, &max) || in->left ||
	    r.min_flag > VAMOS_MYSQL_PREFIX_LAST_OR_PREV ||
	    r.max_flag > VAMOS_MYSQL_PREFIX_LAST_OR_PREV)
		return mx_fail(out, -EINVAL, "RECORDS_IN_RANGE: malformed request");
	struct mh_table *tb;
	struct mh_cursor *c;
	int rc = open_index(t, ref, r.index, "RECORDS_IN_RANGE", out, &tb, &c);
	if (rc)
		return rc;
	/* The upper bound: BEFORE_KEY excludes keys starting with max. */
	uint8_t stop = !max.len ? VAMOS_MYSQL_STOP_NONE
		       : r.max_flag == VAMOS_MYSQL_BEFORE_KEY ? VAMOS_MYSQL_STOP_LT
							      : VAMOS_MYSQL_STOP_LE;
	struct vamos_mysql_estimate est = { 0 };
	struct mh_entry e;
	mh_cursor_keys_only(c); /* counted, not read: no row fetched or locked */
	rc = range_start(c, min, r.min_flag, &e);
	while (rc == 0 && within(stop, e.key, max) && est.rows < RANGE_COUNT_LIMIT) {
		est.rows++;
		rc = mh_cursor_next(c, &e);
	}
	if (rc && rc != -ENOENT) {
		rc = mx_store_fail(mh_txn_store(t), out, rc);
		goto out;
	}
	if (rc == 0 && est.rows == RANGE_COUNT_LIMIT)
		est.rows = range_beyond(t, tb, r.index, e.stored, max, est.rows);
	rc = mx_answer(out, &est, sizeof est);
out:
	mh_cursor_close(c);
	mh_table_close(tb);
	return rc;
}

int mx_run_read(struct mh_txn *t, uint16_t op, const struct mx_table_ref *ref,
		struct mx_in *in, struct mx_out *out)
{
	switch (op) {
	case VAMOS_MYSQL_INFO: return in->left ? -EINVAL : mx_op_info(t, ref, out);
	case VAMOS_MYSQL_RECORDS_IN_RANGE: return mx_op_range(t, ref, in, out);
	case VAMOS_MYSQL_GET: return mx_op_get(t, ref, in, out);
	case VAMOS_MYSQL_READ: return mx_op_read(t, ref, in, out);
	}
	return -ENOSYS;
}
