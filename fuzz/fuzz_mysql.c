/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the MySQL executor (mysql-handler/executor.h): the
 * input is a sequence of requests a hostile guest sends, run against a real
 * store in a scratch directory (opened afresh for every input): DDL,
 * contexts, cursors (READ, RECORDS_IN_RANGE), writes, transactions. Each
 * request is handed over in a buffer of exactly its size, and every answer
 * is written into space of exactly the size asked for, so ASan sees any
 * byte read or written outside them. Deferred answers (the writer thread's)
 * are waited for.
 *
 * Input: one byte of setup (the reply limit), then commands:
 *   op, flags, ctx selector, table selector, body length (2 bytes LE), body.
 * Flags: bits 0-1 the request's flags, bit 6 a bad version, bit 7 the body
 * is the whole request (header included). A selector of 0 is "none"; 1-127
 * pick among the contexts (tables) earlier answers gave; 128-255 are taken
 * as raw ids.
 *
 * With VAMOS_FUZZ_WRITE_SEEDS=DIR in the environment the target writes its
 * seed corpus into DIR and exits (fuzz/corpus/mysql holds the result).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_COMMANDS 64
#define MAX_IDS 8

static char dir[64];

/* ---- the caller's side of mx_call, as vamosd's service would be ---- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int status;
	uint32_t len;
	unsigned char *data;
	uint32_t max_reply;
};

struct caller {
	struct mx_call call;
	unsigned char *reply; /* exactly the reserved size */
	uint32_t reserved;
	struct waiter *w;
};

static int reserve(struct mx_call *c, uint32_t len, void **buf)
{
	struct caller *k = (struct caller *)c;
	if (k->reply || len > c->max_reply)
		abort(); /* at most once, within the limit it was told */
	k->reply = malloc(len ? len : 1);
	if (!k->reply)
		abort();
	k->reserved = len;
	*buf = k->reply;
	return 0;
}

static void *defer(struct mx_call *c)
{
	return ((struct caller *)c)->w;
}

static void done(void *token, int status, const void *data, uint32_t len)
{
	struct waiter *w = token;
	if (len > w->max_reply)
		abort();
	pthread_mutex_lock(&w->lock);
	w->status = status;
	w->len = len;
	w->data = malloc(len ? len : 1);
	if (!w->data)
		abort();
	if (len)
		memcpy(w->data, data, len);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* One request; its answer's bytes (malloc'd, or NULL) in @out. */
static int call(struct mx_vm *vm, uint16_t op, const unsigned char *req, uint32_t len,
		uint32_t max_reply, unsigned char **out, uint32_t *out_len)
{
	struct waiter w = { .lock = PTHREAD_MUTEX_INITIALIZER,
			    .cond = PTHREAD_COND_INITIALIZER, .max_reply = max_reply };
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, req, len);
	struct caller k = {
		.call = { .op = op, .data = copy, .len = len, .max_reply = max_reply,
			  .max_request = max_reply, .reserve = reserve, .defer = defer },
		.w = &w,
	};
	int rc = mx_handle(vm, &k.call);
	*out = NULL;
	*out_len = 0;
	if (rc == MX_DEFERRED) {
		if (k.reply)
			abort(); /* deferred after reserving */
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
		rc = w.status;
		*out = w.data;
		*out_len = w.len;
	} else {
		if (rc == -EAGAIN)
			abort(); /* we always have room */
		if (k.call.reply_len > k.reserved)
			abort();
		*out = k.reply;
		*out_len = k.call.reply_len;
	}
	free(copy);
	return rc;
}

/* ---- running one input ---- */

static void remove_store(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
}

static void remove_dir(void)
{
	remove_store();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64 * 1024)
		return 0;
	static const uint32_t limits[4] = { 64 * 1024, 4096, 600, 24 };
	uint32_t max_reply = limits[data[0] & 3];
	data++;
	size--;

	struct mx_options o = { .map_size = 8u << 20, .lock_wait_ms = 1, .max_contexts = 8,
				.max_tables = 8, .sync = MH_SYNC_OFF };
	struct mx_vm *vm;
	const char *why = NULL;
	remove_store();
	if (mx_vm_open(dir, "fuzz", &o, done, &vm, &why)) {
		fprintf(stderr, "fuzz-mysql: cannot open the store: %s\n", why);
		abort();
	}
	uint64_t ctx[MAX_IDS] = { 0 };
	uint32_t tables[MAX_IDS] = { 0 };
	unsigned nctx = 0, ntables = 0;
	size_t at = 0;
	for (unsigned n = 0; n < MAX_COMMANDS && size - at >= 6; n++) {
		const uint8_t *c = data + at;
		uint16_t op = c[0];
		uint8_t flags = c[1];
		uint32_t len = (uint32_t)c[4] | (uint32_t)c[5] << 8;
		at += 6;
		if (len > size - at)
			len = (uint32_t)(size - at);
		const uint8_t *body = data + at;
		at += len;

		unsigned char req[sizeof(struct vamos_mysql_req) + 64 * 1024];
		uint32_t req_len;
		if (flags & 0x80) {
			memcpy(req, body, len);
			req_len = len;
		} else {
			struct vamos_mysql_req h = {
				.version = (flags & 0x40) ? 7 : VAMOS_MYSQL_VERSION,
				.flags = flags & 3,
			};
			uint8_t cs = c[2], ts = c[3];
			if (cs >= 128)
				h.ctx = (uint64_t)(cs & 0x7f) << 32 | (cs & 7);
			else if (cs && nctx)
				h.ctx = ctx[(cs - 1) % nctx];
			if (ts >= 128)
				h.table = (uint32_t)(ts & 0x7f) << 16 | (ts & 7);
			else if (ts && ntables)
				h.table = tables[(ts - 1) % ntables];
			memcpy(req, &h, sizeof h);
			memcpy(req + sizeof h, body, len);
			req_len = (uint32_t)sizeof h + len;
		}
		unsigned char *out;
		uint32_t out_len;
		int rc = call(vm, op, req, req_len, max_reply, &out, &out_len);
		/* Remember what the answers give, for later requests to use. */
		if (rc == 0 && op == VAMOS_MYSQL_CTX_OPEN && out_len == sizeof(struct vamos_mysql_ctx)) {
			struct vamos_mysql_ctx x;
			memcpy(&x, out, sizeof x);
			ctx[nctx++ % MAX_IDS] = x.ctx;
			if (nctx > MAX_IDS)
				nctx = MAX_IDS;
		}
		if (rc == 0 && op == VAMOS_MYSQL_OPEN && out_len == sizeof(struct vamos_mysql_table)) {
			struct vamos_mysql_table t;
			memcpy(&t, out, sizeof t);
			tables[ntables++ % MAX_IDS] = t.table;
			if (ntables > MAX_IDS)
				ntables = MAX_IDS;
		}
		free(out);
	}
	mx_vm_close(vm);
	remove_store();
	return 0;
}

/* ---- the seed corpus ---- */

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

static void write_seeds(const char *out_dir)
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *seeds = getenv("VAMOS_FUZZ_WRITE_SEEDS");
	if (seeds)
		write_seeds(seeds);
	snprintf(dir, sizeof dir, "/tmp/vamos-fuzz-mysql-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	return 0;
}
