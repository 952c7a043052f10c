/* SPDX-License-Identifier: MIT */
/* The seed corpus of fuzz-mysql (fuzz/corpus/mysql): request sequences in
 * its input format (see fuzz_mysql.c) that reach every op, the cursors'
 * find flags and stops, clashes, hidden keys, the writer's queue and the
 * DDL, and the inputs of bugs found. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/mysql_protocol.h>

#include "seeds.h"

struct seed {
	unsigned char b[8192];
	size_t len;
};

static void cmd(struct seed *s, uint8_t op, uint8_t flags, uint8_t cs, uint8_t ts,
		const void *body, uint16_t len)
{
	unsigned char h[6] = { op, flags, cs, ts, (uint8_t)len, (uint8_t)(len >> 8) };
	memcpy(s->b + s->len, h, sizeof h);
	if (len)
		memcpy(s->b + s->len + sizeof h, body, len);
	s->len += sizeof h + len;
}

/* A body built piece by piece. */
struct body {
	unsigned char b[1024];
	uint16_t len;
};

static void put(struct body *b, const void *p, size_t n)
{
	memcpy(b->b + b->len, p, n);
	b->len += (uint16_t)n;
}

static void pad8(struct body *b)
{
	while (b->len % 8)
		b->b[b->len++] = 0;
}

static void create(struct seed *s, const char *name, uint32_t flags, uint32_t nsec)
{
	struct body b = { .len = 0 };
	struct vamos_mysql_create c = { .flags = flags, .nsec = nsec };
	put(&b, &c, sizeof c);
	for (uint32_t i = 0; i < nsec; i++)
		put(&b, &(uint8_t){ i == 0 }, 1);
	put(&b, name, strlen(name));
	cmd(s, VAMOS_MYSQL_CREATE, 0, 0, 0, b.b, b.len);
}

/* One row with @nsec one-byte keys (k0, k1...) into table selector 1. */
static void write_row(struct seed *s, const char *pk, const char *row, uint16_t nsec,
		      uint64_t autoinc)
{
	struct body b = { .len = 0 };
	struct vamos_mysql_write w = { .count = 1 };
	struct vamos_mysql_write_row r = { .row_len = (uint32_t)strlen(row),
					   .pk_len = (uint16_t)strlen(pk), .nsec = nsec,
					   .autoinc = autoinc };
	put(&b, &w, sizeof w);
	size_t start = b.len;
	put(&b, &r, sizeof r);
	for (uint16_t i = 0; i < nsec; i++)
		put(&b, &(uint16_t){ 2 }, 2);
	put(&b, pk, r.pk_len);
	for (uint16_t i = 0; i < nsec; i++) {
		char k[2] = { 'k', pk[0] };
		put(&b, k, 2);
	}
	put(&b, row, r.row_len);
	(void)start;
	pad8(&b);
	cmd(s, VAMOS_MYSQL_WRITE, 0, 1, 1, b.b, b.len);
}

static void read_req(struct seed *s, uint32_t index, uint8_t start, uint8_t find,
		     uint8_t backward, uint8_t stop, const char *key, const char *stop_key,
		     uint8_t flags)
{
	struct body b = { .len = 0 };
	struct vamos_mysql_read r = { .index = index, .start = start, .find = find,
				      .backward = backward, .stop = stop, .max_rows = 3,
				      .key_len = key ? (uint16_t)strlen(key) : 0,
				      .stop_len = stop_key ? (uint16_t)strlen(stop_key) : 0 };
	put(&b, &r, sizeof r);
	if (key)
		put(&b, key, strlen(key));
	if (stop_key)
		put(&b, stop_key, strlen(stop_key));
	cmd(s, VAMOS_MYSQL_READ, flags, 1, 1, b.b, b.len);
}

static void simple(struct seed *s, uint8_t op, uint8_t cs, uint8_t ts)
{
	cmd(s, op, 0, cs, ts, NULL, 0);
}

/* A table "db/t" with @nsec secondary keys, opened, and a context. */
static void setup(struct seed *s, uint32_t flags, uint32_t nsec)
{
	create(s, "db/t", flags, nsec);
	cmd(s, VAMOS_MYSQL_OPEN, 0, 0, 0, "db/t", 4);
	simple(s, VAMOS_MYSQL_CTX_OPEN, 0, 0);
}

/* An XID request of context selector @cs (its lengths as given). */
static void xid_req(struct seed *s, uint8_t op, uint8_t cs, int64_t format, uint16_t glen,
		    uint16_t blen, const char *data, uint16_t data_len)
{
	struct body b = { .len = 0 };
	struct vamos_mysql_xid x = { .format_id = format, .gtrid_len = glen, .bqual_len = blen };
	put(&b, &x, sizeof x);
	put(&b, data, data_len);
	cmd(s, op, 0, cs, 0, b.b, b.len);
}

static void recover_req(struct seed *s, uint32_t max)
{
	struct vamos_mysql_recover r = { .max = max };
	cmd(s, VAMOS_MYSQL_RECOVER, 0, 0, 0, &r, sizeof r);
}

/* 128 bytes: the longest XID's data. */
static const char long_xid[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int write_seed(const char *out_dir, const char *name, const struct seed *s,
		      uint8_t limit)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", out_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputc(limit, f);
	fwrite(s->b, 1, s->len, f);
	return fclose(f);
}

void fuzz_mysql_write_seeds(const char *out_dir)
{
	static struct seed s;
	int bad = 0;
	struct body b;

	/* Rows in and out through every kind of read. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 1);
	write_row(&s, "a", "1", 1, 0);
	write_row(&s, "b", "22", 1, 5);
	write_row(&s, "c", "333", 1, 0);
	simple(&s, VAMOS_MYSQL_COMMIT, 1, 0);
	bad |= write_seed(out_dir, "rows-committed", &s, 0);
	read_req(&s, 0, VAMOS_MYSQL_START_FIRST, 0, 0, 0, NULL, NULL, 0);
	read_req(&s, 1, VAMOS_MYSQL_START_LAST, 0, 1, 0, NULL, NULL, 0);
	read_req(&s, 0, VAMOS_MYSQL_START_FIND, VAMOS_MYSQL_KEY_OR_NEXT, 0,
		 VAMOS_MYSQL_STOP_LE, "b", "c", 0);
	read_req(&s, 1, VAMOS_MYSQL_START_FIND, VAMOS_MYSQL_PREFIX_LAST, 0,
		 VAMOS_MYSQL_STOP_PREFIX, "k", "k", 0);
	read_req(&s, 0, VAMOS_MYSQL_START_AFTER, 0, 0, 0, "a", NULL, 0);
	read_req(&s, 0, VAMOS_MYSQL_START_BEFORE, 0, 1, VAMOS_MYSQL_STOP_GT, "c", "a", 0);
	bad |= write_seed(out_dir, "reads", &s, 0);
	bad |= write_seed(out_dir, "reads-small-replies", &s, 2);
	read_req(&s, 0, VAMOS_MYSQL_START_FIRST, 0, 0, 0, NULL, NULL,
		 VAMOS_MYSQL_FOR_UPDATE);
	read_req(&s, 0, VAMOS_MYSQL_START_FIRST, 0, 0, 0, NULL, NULL,
		 VAMOS_MYSQL_FRESH_SNAPSHOT);
	bad |= write_seed(out_dir, "reads-for-update", &s, 0);

	memset(&s, 0, sizeof s);
	setup(&s, 0, 1);
	write_row(&s, "a", "1", 1, 0);
	write_row(&s, "b", "2", 1, 0);
	struct vamos_mysql_range rg = { .index = 1, .min_len = 1, .max_len = 2,
					.min_flag = VAMOS_MYSQL_KEY_OR_NEXT,
					.max_flag = VAMOS_MYSQL_AFTER_KEY };
	b.len = 0;
	put(&b, &rg, sizeof rg);
	put(&b, "kkb", 3);
	cmd(&s, VAMOS_MYSQL_RECORDS_IN_RANGE, 0, 1, 1, b.b, b.len);
	simple(&s, VAMOS_MYSQL_INFO, 1, 1);
	struct vamos_mysql_get g = { .pk_len = 1 };
	b.len = 0;
	put(&b, &g, sizeof g);
	put(&b, "a", 1);
	cmd(&s, VAMOS_MYSQL_GET, 0, 1, 1, b.b, b.len);
	cmd(&s, VAMOS_MYSQL_GET, 0, 0, 1, b.b, b.len);
	bad |= write_seed(out_dir, "range-info-get", &s, 0);

	/* Updates, deletes, clashes, statement and transaction ends. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 1);
	write_row(&s, "a", "1", 1, 0);
	write_row(&s, "a", "1", 1, 0); /* clash */
	simple(&s, VAMOS_MYSQL_STMT_COMMIT, 1, 0);
	struct vamos_mysql_update u = { .row_len = 2, .old_pk_len = 1, .new_pk_len = 1,
					.nsec = 1, .autoinc = 9 };
	b.len = 0;
	put(&b, &u, sizeof u);
	put(&b, &(uint16_t){ 2 }, 2);
	put(&b, "az" "kz" "xx", 6);
	cmd(&s, VAMOS_MYSQL_UPDATE, 0, 1, 1, b.b, b.len);
	simple(&s, VAMOS_MYSQL_STMT_ROLLBACK, 1, 0);
	struct vamos_mysql_delete del = { .pk_len = 1 };
	b.len = 0;
	put(&b, &del, sizeof del);
	put(&b, "a", 1);
	cmd(&s, VAMOS_MYSQL_DELETE, 0, 1, 1, b.b, b.len);
	bad |= write_seed(out_dir, "update-delete", &s, 0);
	simple(&s, VAMOS_MYSQL_ROLLBACK, 1, 0);
	simple(&s, VAMOS_MYSQL_CTX_CLOSE, 1, 0);
	simple(&s, VAMOS_MYSQL_CLOSE, 0, 1);
	bad |= write_seed(out_dir, "update-delete-rollback", &s, 0);

	/* An UPDATE whose key count is not the table's. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 0);
	struct vamos_mysql_update u1 = { .row_len = 1, .old_pk_len = 4, .new_pk_len = 4,
					 .nsec = 1 };
	b.len = 0;
	put(&b, &u1, sizeof u1);
	put(&b, &(uint16_t){ 1 }, 2);
	put(&b, "AAAA" "BBBB" "k" "r", 10);
	cmd(&s, VAMOS_MYSQL_UPDATE, 0, 1, 1, b.b, b.len);
	bad |= write_seed(out_dir, "update-key-count", &s, 0);

	/* Hidden primary keys, AUTO_INCREMENT, truncate. */
	memset(&s, 0, sizeof s);
	setup(&s, VAMOS_MYSQL_HIDDEN_PK, 2);
	write_row(&s, "", "r", 0, 0);
	b.len = 0;
	struct vamos_mysql_write w2 = { .count = 2 };
	struct vamos_mysql_write_row r2 = { .row_len = 1, .nsec = 2 };
	put(&b, &w2, sizeof w2);
	for (int i = 0; i < 2; i++) {
		put(&b, &r2, sizeof r2);
		put(&b, &(uint16_t){ 1 }, 2);
		put(&b, &(uint16_t){ 1 }, 2);
		put(&b, i ? "xyz" : "uvw", 3);
		pad8(&b);
	}
	cmd(&s, VAMOS_MYSQL_WRITE, 0, 1, 1, b.b, b.len);
	struct vamos_mysql_autoinc ai = { .count = 1, .increment = 3, .offset = 2 };
	cmd(&s, VAMOS_MYSQL_AUTOINC, 0, 1, 1, &ai, sizeof ai);
	simple(&s, VAMOS_MYSQL_TRUNCATE, 1, 1);
	simple(&s, VAMOS_MYSQL_COMMIT, 1, 0);
	bad |= write_seed(out_dir, "hidden-autoinc-truncate", &s, 0);

	/* Two contexts for the one writer; ATTACH ends them. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 1);
	simple(&s, VAMOS_MYSQL_CTX_OPEN, 0, 0);
	write_row(&s, "a", "1", 1, 0);
	b.len = 0;
	struct vamos_mysql_write w1 = { .count = 1 };
	struct vamos_mysql_write_row r1 = { .row_len = 1, .pk_len = 1, .nsec = 1 };
	put(&b, &w1, sizeof w1);
	put(&b, &r1, sizeof r1);
	put(&b, &(uint16_t){ 1 }, 2);
	put(&b, "bkr", 3);
	pad8(&b);
	cmd(&s, VAMOS_MYSQL_WRITE, 0, 2, 1, b.b, b.len); /* waits, times out */
	bad |= write_seed(out_dir, "two-writers", &s, 0);
	struct vamos_mysql_attach at = { .flags = VAMOS_MYSQL_ATTACH_EXCLUSIVE };
	cmd(&s, VAMOS_MYSQL_ATTACH, 0, 0, 0, &at, sizeof at);
	simple(&s, VAMOS_MYSQL_COMMIT, 1, 0);
	bad |= write_seed(out_dir, "attach-exclusive", &s, 0);
	bad |= write_seed(out_dir, "attach-tiny-replies", &s, 3);

	/* DDL: rename, drop, and handles that outlive them. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 3);
	struct vamos_mysql_rename rn = { .from_len = 4, .to_len = 4 };
	b.len = 0;
	put(&b, &rn, sizeof rn);
	put(&b, "db/t" "db/u", 8);
	cmd(&s, VAMOS_MYSQL_RENAME, 0, 0, 0, b.b, b.len);
	simple(&s, VAMOS_MYSQL_INFO, 0, 1);
	cmd(&s, VAMOS_MYSQL_OPEN, 0, 0, 0, "db/u", 4);
	cmd(&s, VAMOS_MYSQL_DROP, 0, 0, 0, "db/u", 4);
	create(&s, "db/u", 0, 0);
	simple(&s, VAMOS_MYSQL_INFO, 0, 2);
	bad |= write_seed(out_dir, "rename-drop", &s, 0);

	/* Table maintenance: CHECK and ANALYZE, then with a context, without
	 * a table, with bytes after the header, after a DROP. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 2);
	write_row(&s, "a", "1", 2, 0);
	write_row(&s, "b", "2", 2, 0);
	simple(&s, VAMOS_MYSQL_COMMIT, 1, 0);
	simple(&s, VAMOS_MYSQL_CHECK, 0, 1);
	simple(&s, VAMOS_MYSQL_ANALYZE, 0, 1);
	simple(&s, VAMOS_MYSQL_CHECK, 1, 1);
	simple(&s, VAMOS_MYSQL_ANALYZE, 0, 0);
	cmd(&s, VAMOS_MYSQL_CHECK, 0, 0, 1, "x", 1);
	cmd(&s, VAMOS_MYSQL_DROP, 0, 0, 0, "db/t", 4);
	simple(&s, VAMOS_MYSQL_CHECK, 0, 1);
	bad |= write_seed(out_dir, "check-analyze", &s, 0);

	/* Two-phase commit: PREPARE, what a prepared context refuses, its
	 * close (the transaction kept), RECOVER, COMMIT/ROLLBACK_BY_XID, the
	 * same XID twice, and XIDs whose lengths lie. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 1);
	simple(&s, VAMOS_MYSQL_CTX_OPEN, 0, 0);
	write_row(&s, "a", "1", 1, 0);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 1, 1, 3, 1, "gtrb", 4);
	write_row(&s, "b", "2", 1, 0);
	simple(&s, VAMOS_MYSQL_STMT_COMMIT, 1, 0);
	simple(&s, VAMOS_MYSQL_CTX_CLOSE, 1, 0);
	recover_req(&s, 4);
	xid_req(&s, VAMOS_MYSQL_COMMIT_BY_XID, 0, 1, 3, 1, "gtrb", 4);
	cmd(&s, VAMOS_MYSQL_WRITE, 0, 2, 1, NULL, 0);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 2, 1, 3, 1, "gtrb", 4);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 2, 1, 3, 1, "gtrb", 4);
	simple(&s, VAMOS_MYSQL_ROLLBACK, 2, 0);
	xid_req(&s, VAMOS_MYSQL_ROLLBACK_BY_XID, 0, 1, 3, 1, "gtrb", 4);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 2, -1, 3, 1, "gtrb", 4);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 2, 1, 0, 1, "b", 1);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 2, 1, 65, 0, "g", 1);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 2, 1, 3, 1, "gtrbextra", 9);
	xid_req(&s, VAMOS_MYSQL_COMMIT_BY_XID, 1, 1, 3, 1, "gtrb", 4);
	recover_req(&s, 0);
	bad |= write_seed(out_dir, "xa", &s, 0);
	/* RECOVER with room for no XID. */
	memset(&s, 0, sizeof s);
	setup(&s, 0, 0);
	write_row(&s, "a", "1", 0, 0);
	xid_req(&s, VAMOS_MYSQL_PREPARE, 1, 1, 64, 64, long_xid, 128);
	simple(&s, VAMOS_MYSQL_CTX_CLOSE, 1, 0);
	recover_req(&s, 100);
	bad |= write_seed(out_dir, "xa-recover-tiny-replies", &s, 3);

	/* Whole requests given raw, and a bad version. */
	memset(&s, 0, sizeof s);
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION };
	cmd(&s, VAMOS_MYSQL_CTX_OPEN, 0x80, 0, 0, &h, sizeof h);
	cmd(&s, VAMOS_MYSQL_CTX_OPEN, 0x40, 0, 0, NULL, 0);
	cmd(&s, 99, 0, 0, 0, NULL, 0);
	bad |= write_seed(out_dir, "raw-and-bad", &s, 1);

	if (bad) {
		fprintf(stderr, "fuzz-mysql: cannot write the seeds into %s\n", out_dir);
		exit(1);
	}
	exit(0);
}

