/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the MySQL executor (mysql-handler/executor.h): the
 * input is a sequence of requests a hostile guest sends, run against a real
 * store in a scratch directory (opened afresh for every input): DDL,
 * contexts, cursors (READ, RECORDS_IN_RANGE), writes, transactions, CHECK
 * and ANALYZE, two-phase commit (PREPARE, RECOVER, COMMIT/ROLLBACK_BY_XID).
 * Each request is handed over in a buffer of exactly its size, and every answer
 * is written into space of exactly the size asked for, so ASan sees any
 * byte read or written outside them. Deferred answers (the writer thread's)
 * are waited for.
 *
 * Input: one byte of setup (the reply limit), then commands:
 *   op, flags, ctx selector, table selector, body length (2 bytes LE), body.
 * Flags: bits 0-1 the request's flags, bit 5 VAMOS_MYSQL_STMT_ENDED, bit 6
 * a bad version, bit 7 the body is the whole request (header included). A
 * selector of 0 is "none"; 1-127 pick among the contexts (tables) earlier
 * answers gave; 128-255 are taken as raw ids.
 *
 * With VAMOS_FUZZ_WRITE_SEEDS=DIR in the environment the target writes its
 * seed corpus into DIR and exits (fuzz/corpus/mysql holds the result).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "seeds.h"
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

/* Room given back before a hand-over to the pool: it may be reserved
 * again, or the answer deferred. */
static void unreserve(struct mx_call *c)
{
	struct caller *k = (struct caller *)c;
	if (!k->reply)
		abort(); /* nothing was reserved */
	free(k->reply);
	k->reply = NULL;
	k->reserved = 0;
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
			  .max_request = max_reply, .reserve = reserve, .unreserve = unreserve,
			  .defer = defer },
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

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	/* The store's files; the directory itself stays until remove_dir. */
	return f->level > 0 ? remove(path) : 0;
}

static void remove_store(void)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
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

	struct mx_options o = { .lock_wait_ms = 1, .max_contexts = 8,
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
				.flags = (uint16_t)((flags & 3) |
						    (flags & 0x20 ? VAMOS_MYSQL_STMT_ENDED : 0)),
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *seeds = getenv("VAMOS_FUZZ_WRITE_SEEDS");
	if (seeds)
		fuzz_mysql_write_seeds(seeds);
	snprintf(dir, sizeof dir, "/tmp/vamos-fuzz-mysql-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	return 0;
}
