/* SPDX-License-Identifier: MIT */
/* Requests and replies larger than a channel record through the real
 * vamosd (vamos/mysql_protocol.h, FRAGMENT and VAMOS_MYSQL_MORE), on the
 * smallest rings vamosd accepts: a 1 MiB row written in pieces, read back
 * in pieces by GET and READ (in the snapshot and as the writer), and
 * hostile piece sequences refused without harm to the context. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vamos/client.h>
#include <vamos/mysql_protocol.h>
#include <vamos/protocol.h>

#include "daemon.h"

#define RING 4096u
#define ROW (1u << 20)

static struct daemon d;
static struct vamos_client *c;
static struct vamos_mysql_welcome welcome;
static unsigned char out[64 * 1024];
static uint32_t out_len;

/* One request of one record: header (@flags, @table, @ctx) + @body. */
static int raw(uint16_t op, uint16_t flags, uint32_t table, uint64_t ctx, const void *body,
	       uint32_t len)
{
	static unsigned char buf[64 * 1024];
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .flags = flags,
				     .table = table, .ctx = ctx };
	memcpy(buf, &h, sizeof h);
	if (len)
		memcpy(buf + sizeof h, body, len);
	return vamos_call(c, VAMOS_SERVICE_MYSQL, op, buf, (uint32_t)sizeof h + len, out,
			  sizeof out, &out_len, 10000);
}

static int piece(uint64_t ctx, uint16_t op, uint32_t seq, uint64_t total, uint64_t off,
		 const unsigned char *bytes, uint32_t n)
{
	unsigned char b[RING];
	struct vamos_mysql_fragment f = { .op = op, .seq = seq, .total = total, .offset = off };
	memcpy(b, &f, sizeof f);
	memcpy(b + sizeof f, bytes, n);
	return raw(VAMOS_MYSQL_FRAGMENT, 0, 0, ctx, b, (uint32_t)sizeof f + n);
}

/* Whole request @req (header first) of ctx @ctx in pieces; the last one's status. */
static int send_pieces(uint64_t ctx, uint16_t op, const unsigned char *req, uint32_t len)
{
	uint32_t room = welcome.max_request - (uint32_t)sizeof(struct vamos_mysql_req) -
			(uint32_t)sizeof(struct vamos_mysql_fragment);
	uint32_t seq = 0;
	for (uint32_t off = 0; off < len; seq++) {
		uint32_t n = len - off < room ? len - off : room;
		int st = piece(ctx, op, seq, len, off, req + off, n);
		off += n;
		if (off == len || st)
			return st;
	}
	return -EINVAL;
}

/* After a status of VAMOS_MYSQL_MORE: the whole reply (malloc'd) and its status. */
static unsigned char *fetch(uint64_t ctx, uint64_t *total, int *status)
{
	struct vamos_mysql_more m;
	cr_assert_geq(out_len, sizeof m);
	memcpy(&m, out, sizeof m);
	cr_assert_leq(m.total, welcome.max_message);
	unsigned char *whole = malloc(m.total);
	uint64_t got = out_len - sizeof m;
	memcpy(whole, out + sizeof m, got);
	while (got < m.total) {
		struct vamos_mysql_next n = { .offset = got };
		cr_assert_eq(raw(VAMOS_MYSQL_REPLY_NEXT, 0, 0, ctx, &n, sizeof n), 0);
		cr_assert_gt(out_len, 0);
		cr_assert_leq(out_len, m.total - got);
		memcpy(whole + got, out, out_len);
		got += out_len;
	}
	*total = m.total;
	*status = m.status;
	return whole;
}

static uint64_t ctx;
static uint32_t table;

static void start(const char *max_mb)
{
	const char *const extra[] = { "--mysql-max-request-mb", max_mb, NULL };
	cr_assert_null(daemon_start(&d, 1, RING, extra));
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
					 .local_socket = d.vm_sock[0], .local_vectors = 4,
					 .timeout_ms = 5000 };
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	struct vamos_mysql_attach a = { .flags = VAMOS_MYSQL_ATTACH_EXCLUSIVE };
	cr_assert_eq(raw(VAMOS_MYSQL_ATTACH, 0, 0, 0, &a, sizeof a), 0);
	memcpy(&welcome, out, sizeof welcome);
	cr_assert_eq(welcome.max_message, (uint32_t)atoi(max_mb) << 20);
	cr_assert_lt(welcome.max_request, RING);
	unsigned char body[64] = { 0 };
	struct vamos_mysql_create cr = { 0 };
	memcpy(body, &cr, sizeof cr);
	memcpy(body + sizeof cr, "db/big", 6);
	cr_assert_eq(raw(VAMOS_MYSQL_CREATE, 0, 0, 0, body, sizeof cr + 6), 0);
	cr_assert_eq(raw(VAMOS_MYSQL_OPEN, 0, 0, 0, "db/big", 6), 0);
	struct vamos_mysql_table t;
	memcpy(&t, out, sizeof t);
	table = t.table;
	cr_assert_eq(raw(VAMOS_MYSQL_CTX_OPEN, 0, 0, 0, NULL, 0), 0);
	memcpy(&ctx, out, sizeof ctx);
}

static void stop(void)
{
	vamos_client_close(c);
	daemon_cleanup(&d);
}

/* A WRITE of one row of @row_len bytes (byte i is i * 7) with pk "k". */
static unsigned char *write_request(uint32_t row_len, uint32_t *len)
{
	uint32_t n = (uint32_t)(sizeof(struct vamos_mysql_req) + sizeof(struct vamos_mysql_write) +
				sizeof(struct vamos_mysql_write_row) + 1 + row_len + 7) & ~7u;
	unsigned char *b = calloc(1, n), *p = b;
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .table = table, .ctx = ctx };
	struct vamos_mysql_write w = { .count = 1 };
	struct vamos_mysql_write_row r = { .row_len = row_len, .pk_len = 1 };
	memcpy(p, &h, sizeof h), p += sizeof h;
	memcpy(p, &w, sizeof w), p += sizeof w;
	memcpy(p, &r, sizeof r), p += sizeof r;
	*p++ = 'k';
	for (uint32_t i = 0; i < row_len; i++)
		p[i] = (unsigned char)(i * 7);
	*len = n;
	return b;
}

static void check_row(const unsigned char *row, uint32_t len)
{
	cr_assert_eq(len, ROW);
	for (uint32_t i = 0; i < len; i++)
		if (row[i] != (unsigned char)(i * 7))
			cr_assert_fail("row byte %u differs", i);
}

/* GET "k" (flags: e.g. FOR_UPDATE, which runs on the writer thread). */
static void get_and_check(uint16_t flags)
{
	unsigned char body[16];
	struct vamos_mysql_get g = { .pk_len = 1 };
	memcpy(body, &g, sizeof g);
	body[sizeof g] = 'k';
	cr_assert_eq(raw(VAMOS_MYSQL_GET, flags, table, ctx, body, sizeof g + 1),
		     VAMOS_MYSQL_MORE);
	uint64_t total;
	int st;
	unsigned char *row = fetch(ctx, &total, &st);
	cr_assert_eq(st, 0);
	check_row(row, (uint32_t)total);
	free(row);
}

Test(mysql_pieces, a_row_larger_than_the_ring_goes_both_ways, .timeout = 300)
{
	start("4");
	uint32_t len;
	unsigned char *req = write_request(ROW, &len);
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_WRITE, req, len, out,
				sizeof out, &out_len, 10000),
		     -EMSGSIZE, "one record cannot hold it");
	cr_assert_eq(send_pieces(ctx, VAMOS_MYSQL_WRITE, req, len), 0);
	free(req);
	cr_assert_eq(raw(VAMOS_MYSQL_COMMIT, 0, 0, ctx, NULL, 0), 0);
	get_and_check(0);
	get_and_check(VAMOS_MYSQL_FOR_UPDATE);
	cr_assert_eq(raw(VAMOS_MYSQL_COMMIT, 0, 0, ctx, NULL, 0), 0);

	/* READ: the row is the first of its batch, sent whatever the budget */
	struct vamos_mysql_read r = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 10,
				      .max_bytes = 1024 };
	cr_assert_eq(raw(VAMOS_MYSQL_READ, 0, table, ctx, &r, sizeof r), VAMOS_MYSQL_MORE);
	uint64_t total;
	int st;
	unsigned char *rows = fetch(ctx, &total, &st);
	cr_assert_eq(st, 0);
	struct vamos_mysql_rows h;
	struct vamos_mysql_row_entry e;
	memcpy(&h, rows, sizeof h);
	memcpy(&e, rows + sizeof h, sizeof e);
	cr_assert_eq(h.count, 1);
	cr_assert_eq(e.pk_len, 1);
	check_row(rows + sizeof h + sizeof e + 1, e.row_len);
	free(rows);

	/* A reply abandoned half way is dropped by the next request. */
	r.max_bytes = 0;
	cr_assert_eq(raw(VAMOS_MYSQL_READ, 0, table, ctx, &r, sizeof r), VAMOS_MYSQL_MORE);
	cr_assert_eq(raw(VAMOS_MYSQL_COMMIT, 0, 0, ctx, NULL, 0), 0);
	struct vamos_mysql_next n = { .offset = out_len };
	cr_assert_eq(raw(VAMOS_MYSQL_REPLY_NEXT, 0, 0, ctx, &n, sizeof n), -EINVAL);
	char *stats = daemon_ask(&d, "stats");
	cr_assert_not_null(stats);
	free(stats);
	stop();
}

Test(mysql_pieces, hostile_sequences_fail_the_call_only, .timeout = 120)
{
	start("1");
	uint32_t len;
	unsigned char *req = write_request(200000, &len);
	uint32_t room = welcome.max_request - 16 - 24;
	/* a gap */
	cr_assert_eq(piece(ctx, VAMOS_MYSQL_WRITE, 0, len, 0, req, room), 0);
	cr_assert_eq(piece(ctx, VAMOS_MYSQL_WRITE, 1, len, room + 8, req + room + 8, room),
		     -EINVAL);
	cr_assert_not_null(memmem(out, out_len, "gap", 3), "%.*s", (int)out_len, out);
	/* the rest of the dropped request is refused too */
	cr_assert_eq(piece(ctx, VAMOS_MYSQL_WRITE, 2, len, 2 * room, req + 2 * room, room),
		     -EINVAL);
	/* interleaving: another request of the context while pieces are under way */
	cr_assert_eq(piece(ctx, VAMOS_MYSQL_WRITE, 0, len, 0, req, room), 0);
	cr_assert_eq(raw(VAMOS_MYSQL_COMMIT, 0, 0, ctx, NULL, 0), -EINVAL);
	/* more than mysql_max_request_mb announced */
	cr_assert_eq(piece(ctx, VAMOS_MYSQL_WRITE, 0, (1u << 20) + 1, 0, req, room), -EMSGSIZE);
	/* pieces need a context */
	cr_assert_eq(piece(0, VAMOS_MYSQL_WRITE, 0, len, 0, req, room), -EINVAL);
	/* a whole request for another context */
	cr_assert_eq(piece(ctx + 1, VAMOS_MYSQL_WRITE, 0, len, 0, req, room), 0);
	cr_assert_eq(send_pieces(ctx + 1, VAMOS_MYSQL_WRITE, req, len), -EINVAL,
		     "seq 0 again: an interleaving");
	cr_assert_eq(send_pieces(ctx + 1, VAMOS_MYSQL_WRITE, req, len), -EINVAL,
		     "the whole request names another context");
	cr_assert_not_null(memmem(out, out_len, "another context", 15));
	/* an abandoned request is freed at CTX_CLOSE */
	cr_assert_eq(piece(ctx, VAMOS_MYSQL_WRITE, 0, len, 0, req, room), 0);
	cr_assert_eq(raw(VAMOS_MYSQL_CTX_CLOSE, 0, 0, ctx, NULL, 0), 0);
	cr_assert_eq(raw(VAMOS_MYSQL_CTX_OPEN, 0, 0, 0, NULL, 0), 0);
	memcpy(&ctx, out, sizeof ctx);
	/* the context still works, in pieces and not */
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .table = table, .ctx = ctx };
	memcpy(req, &h, sizeof h);
	cr_assert_eq(send_pieces(ctx, VAMOS_MYSQL_WRITE, req, len), 0);
	cr_assert_eq(raw(VAMOS_MYSQL_COMMIT, 0, 0, ctx, NULL, 0), 0);
	free(req);
	stop();
}
