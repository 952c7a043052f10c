/* SPDX-License-Identifier: MIT */
/* The executor's ops other than reads: each checks its request, then runs
 * on the transaction it is given. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec_internal.h"

int mx_take(struct mx_in *in, void *out, uint32_t n)
{
	if (in->left < n)
		return -EINVAL;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return 0;
}

int mx_take_bytes(struct mx_in *in, uint32_t n, struct mh_bytes *out)
{
	if (in->left < n)
		return -EINVAL;
	out->data = in->p;
	out->len = n;
	in->p += n;
	in->left -= n;
	return 0;
}

int mx_fail(struct mx_out *out, int status, const char *fmt, ...)
{
	va_list ap;
	char msg[256];
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	out->len = (uint32_t)n < out->cap ? (uint32_t)n : out->cap;
	memcpy(out->buf, msg, out->len);
	return status;
}

int mx_store_fail(struct mh_store *s, struct mx_out *out, int rc)
{
	switch (rc) {
	case -EIO:
	case -ENOSPC:
		return mx_fail(out, rc, "store: %s", mh_store_error(s));
	case -EINVAL:
		return mx_fail(out, rc, "a key or name the store refuses (too long, empty or malformed)");
	default:
		out->len = 0;
		return rc;
	}
}

int mx_table_open(struct mh_txn *t, const struct mx_table_ref *ref, struct mh_table **out)
{
	int rc = mh_table_open_id(t, ref->name, ref->id, out);
	/* Gone, or dropped and created again under the same name: the
	 * handle's table is no more. */
	if (rc == -ENOENT || rc == -ESTALE)
		return -EBADF;
	return rc;
}

int mx_take_name(struct mx_in *in, uint32_t len, char name[MH_NAME_MAX + 1])
{
	struct mh_bytes b;
	if (len == 0 || len > MH_NAME_MAX || mx_take_bytes(in, len, &b))
		return -EINVAL;
	if (memchr(b.data, 0, len))
		return -EINVAL;
	memcpy(name, b.data, len);
	name[len] = 0;
	return 0;
}

int mx_answer(struct mx_out *out, const void *v, uint32_t n)
{
	if (out->cap < n)
		return -EMSGSIZE;
	memcpy(out->buf, v, n);
	out->len = n;
	return 0;
}

/* A clash: -EEXIST with its index. */
static int clash(struct mx_out *out, int index, uint32_t written)
{
	struct vamos_mysql_dup d = { .index = index, .written = written };
	mx_answer(out, &d, sizeof d);
	return -EEXIST;
}

/* Close @tb (saving counters) and merge the errors. */
static int finish(struct mh_table *tb, int rc)
{
	int crc = mh_table_close(tb);
	return rc ? rc : crc;
}

int mx_op_info(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out)
{
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	struct vamos_mysql_info info = { .data_bytes = mh_table_bytes(tb),
					 .next_autoinc = mh_table_next_autoinc(tb) };
	mh_table_rows(t, tb, &info.rows);
	mh_table_close(tb);
	return mx_answer(out, &info, sizeof info);
}

int mx_op_get(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
	      struct mx_out *out)
{
	struct vamos_mysql_get g;
	struct mh_bytes pk, row;
	if (mx_take(in, &g, sizeof g) || g.reserved || mx_take_bytes(in, g.pk_len, &pk) || in->left)
		return mx_fail(out, -EINVAL, "GET: malformed request");
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	rc = mh_row_get(t, tb, pk, &row);
	if (rc == 0 && row.len > out->cap)
		rc = mx_fail(out, -EMSGSIZE, "row of %u bytes is larger than a reply (%u)",
			     row.len, out->cap);
	else if (rc == 0)
		rc = mx_answer(out, row.data, row.len);
	mh_table_close(tb);
	return rc == -EINVAL ? mx_fail(out, rc, "GET: bad key") : rc;
}

/* The secondary keys of one row: uint16_t lengths, then (after the pk)
 * the keys; @lens_at is where the lengths are. */
static int take_keys(struct mx_in *in, const unsigned char *lens_at, unsigned nsec,
		     struct mh_bytes *sec)
{
	for (unsigned i = 0; i < nsec; i++) {
		uint16_t n;
		memcpy(&n, lens_at + 2 * i, sizeof n);
		if (mx_take_bytes(in, n, &sec[i]))
			return -EINVAL;
	}
	return 0;
}

/* Skip the padding that brings a row entry to a multiple of 8 bytes. */
static int skip_pad(struct mx_in *in, uint32_t used)
{
	uint32_t pad = (8 - used % 8) % 8;
	struct mh_bytes b;
	return pad > in->left ? (in->left ? -EINVAL : 0) : mx_take_bytes(in, pad, &b);
}

int mx_op_write(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		struct mx_out *out)
{
	struct vamos_mysql_write w;
	if (mx_take(in, &w, sizeof w) || w.reserved || w.count == 0)
		return mx_fail(out, -EINVAL, "WRITE: malformed request");
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	unsigned nsec = mh_table_indexes(tb);
	bool hidden = mh_table_hidden_pk(tb);
	struct vamos_mysql_written done = { 0 };
	for (; done.written < w.count; done.written++) {
		/* Each row checked whole before it is written. */
		struct vamos_mysql_write_row r;
		struct mh_bytes lens, pk, row, sec[MH_MAX_INDEXES];
		uint32_t before = in->left;
		if (mx_take(in, &r, sizeof r) || r.nsec != nsec || (r.pk_len == 0) != hidden ||
		    mx_take_bytes(in, 2u * nsec, &lens) || mx_take_bytes(in, r.pk_len, &pk) ||
		    take_keys(in, lens.data, nsec, sec) || mx_take_bytes(in, r.row_len, &row) ||
		    skip_pad(in, before - in->left)) {
			rc = mx_fail(out, -EINVAL, "WRITE: row %u is malformed", done.written);
			break;
		}
		int dup = 0;
		rc = mh_row_write(t, tb, pk, row, sec, &done.last_hidden_id, &dup);
		if (rc == -EEXIST) {
			rc = clash(out, dup, done.written);
			break;
		}
		if (rc) {
			rc = mx_store_fail(mh_txn_store(t), out, rc);
			break;
		}
		mh_table_autoinc_seen(tb, r.autoinc);
	}
	if (!rc && in->left)
		rc = mx_fail(out, -EINVAL, "WRITE: bytes after the last row");
	rc = finish(tb, rc);
	return rc ? rc : mx_answer(out, &done, sizeof done);
}

int mx_op_update(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		 struct mx_out *out)
{
	struct vamos_mysql_update u;
	struct mh_bytes lens, old_pk, new_pk, row, sec[MH_MAX_INDEXES];
	if (mx_take(in, &u, sizeof u) || u.reserved[0] || u.reserved[1] || u.reserved[2] ||
	    u.nsec > MH_MAX_INDEXES || mx_take_bytes(in, 2u * u.nsec, &lens) ||
	    mx_take_bytes(in, u.old_pk_len, &old_pk) || mx_take_bytes(in, u.new_pk_len, &new_pk) ||
	    take_keys(in, lens.data, u.nsec, sec) || mx_take_bytes(in, u.row_len, &row) || in->left)
		return mx_fail(out, -EINVAL, "UPDATE: malformed request");
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	/* Read before the handle is closed: nothing of @tb is used after. */
	unsigned nsec = mh_table_indexes(tb);
	if (u.nsec != nsec) {
		mh_table_close(tb);
		return mx_fail(out, -EINVAL, "UPDATE: %u keys for a table with %u indexes", u.nsec,
			      nsec);
	}
	int dup = 0;
	rc = mh_row_update(t, tb, old_pk, new_pk, row, sec, &dup);
	if (rc == -EEXIST)
		rc = clash(out, dup, 0);
	else if (rc)
		rc = mx_store_fail(mh_txn_store(t), out, rc);
	else
		mh_table_autoinc_seen(tb, u.autoinc);
	return finish(tb, rc);
}

int mx_op_delete(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		 struct mx_out *out)
{
	struct vamos_mysql_delete d;
	struct mh_bytes pk;
	if (mx_take(in, &d, sizeof d) || d.reserved || mx_take_bytes(in, d.pk_len, &pk) || in->left)
		return mx_fail(out, -EINVAL, "DELETE: malformed request");
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	rc = mh_row_delete(t, tb, pk);
	if (rc && rc != -ENOENT)
		rc = mx_store_fail(mh_txn_store(t), out, rc);
	return finish(tb, rc);
}

int mx_op_truncate(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out)
{
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	rc = mh_table_truncate(t, tb);
	if (rc)
		rc = mx_store_fail(mh_txn_store(t), out, rc);
	return finish(tb, rc);
}

int mx_op_autoinc(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		  struct mx_out *out)
{
	struct vamos_mysql_autoinc a;
	/* Trust: copied once; every field is a number the store bounds (no
	 * reservation past max or 2^64), so a guest can at most use up its
	 * own table's counter. */
	if (mx_take(in, &a, sizeof a) || in->left || a.count == 0)
		return mx_fail(out, -EINVAL, "AUTOINC: malformed request");
	struct mh_table *tb;
	int rc = mx_table_open(t, ref, &tb);
	if (rc)
		return rc;
	/* Values of this transaction alone from now on: the counter moved
	 * past them (and past the guest's unsent explicit values first). */
	struct vamos_mysql_autoinc_range r;
	mh_table_autoinc_give_back(tb, a.cached_next, a.cached_end);
	mh_table_autoinc_seen(tb, a.seen);
	rc = mh_table_autoinc_reserve(tb, a.increment, a.offset, a.count,
				      a.max ? a.max : UINT64_MAX, &r.first, &r.count);
	if (rc == -ERANGE)
		rc = mx_fail(out, -ERANGE, "AUTO_INCREMENT would pass 2^64");
	rc = finish(tb, rc);
	return rc ? rc : mx_answer(out, &r, sizeof r);
}

int mx_op_create(struct mh_txn *t, struct mx_in *in, struct mx_out *out)
{
	struct vamos_mysql_create c;
	struct mh_index_def defs[MH_MAX_INDEXES];
	char name[MH_NAME_MAX + 1];
	if (mx_take(in, &c, sizeof c) || (c.flags & ~(uint32_t)VAMOS_MYSQL_HIDDEN_PK) ||
	    c.nsec > MH_MAX_INDEXES)
		return mx_fail(out, -EINVAL, "CREATE: malformed request");
	for (unsigned i = 0; i < c.nsec; i++) {
		uint8_t u;
		if (mx_take(in, &u, 1) || u > 1)
			return mx_fail(out, -EINVAL, "CREATE: bad unique flag");
		defs[i].unique = u;
	}
	if (mx_take_name(in, in->left, name))
		return mx_fail(out, -EINVAL, "CREATE: bad table name");
	int rc = mh_table_create_ex(t, name, c.flags & VAMOS_MYSQL_HIDDEN_PK, c.nsec, defs,
				    c.auto_increment);
	if (rc == -EEXIST)
		return mx_fail(out, rc, "table %s exists", name);
	return rc ? mx_store_fail(mh_txn_store(t), out, rc) : 0;
}

int mx_op_drop(struct mh_txn *t, struct mx_in *in, struct mx_out *out, uint32_t *dropped_id)
{
	char name[MH_NAME_MAX + 1];
	if (mx_take_name(in, in->left, name))
		return mx_fail(out, -EINVAL, "DROP: bad table name");
	struct mh_table *tb;
	int rc = mh_table_open(t, name, &tb);
	if (rc)
		return rc == -ENOENT ? rc : mx_store_fail(mh_txn_store(t), out, rc);
	*dropped_id = mh_table_id(tb);
	mh_table_close(tb);
	rc = mh_table_drop(t, name);
	return rc ? mx_store_fail(mh_txn_store(t), out, rc) : 0;
}

int mx_op_rename(struct mh_txn *t, struct mx_in *in, struct mx_out *out, uint32_t *renamed_id)
{
	struct vamos_mysql_rename r;
	char from[MH_NAME_MAX + 1], to[MH_NAME_MAX + 1];
	if (mx_take(in, &r, sizeof r) || mx_take_name(in, r.from_len, from) ||
	    mx_take_name(in, r.to_len, to) || in->left)
		return mx_fail(out, -EINVAL, "RENAME: malformed request");
	struct mh_table *tb;
	int rc = mh_table_open(t, from, &tb);
	if (rc)
		return rc == -ENOENT ? rc : mx_store_fail(mh_txn_store(t), out, rc);
	*renamed_id = mh_table_id(tb);
	mh_table_close(tb);
	rc = mh_table_rename(t, from, to);
	if (rc == -EEXIST)
		return mx_fail(out, rc, "table %s exists", to);
	return rc ? mx_store_fail(mh_txn_store(t), out, rc) : 0;
}
