/* SPDX-License-Identifier: MIT */
/* Test harness for the MySQL executor: builds protocol requests, hands them
 * to mx_handle() as vamosd's service does, and waits for deferred answers
 * (the writer thread's) so that every call looks synchronous — or not, for
 * tests that need two requests in flight. */
#ifndef VAMOS_TEST_MX_HARNESS_H
#define VAMOS_TEST_MX_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vamos/mysql_protocol.h>

#include "executor.h"

#define MXH_MAX_REPLY (256u * 1024)

/* A request under construction. */
struct mxh_req {
	unsigned char buf[MXH_MAX_REPLY];
	uint32_t len;
};

/* An answer. */
struct mxh_reply {
	int status;
	unsigned char data[MXH_MAX_REPLY];
	uint32_t len;
	bool deferred; /* came from the writer thread */
};

/* A request in flight (deferred): wait for it with mxh_wait(). */
struct mxh_pending {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct mxh_reply *reply;
};

void mxh_begin(struct mxh_req *r, uint64_t ctx, uint32_t table, uint16_t flags);
void mxh_put(struct mxh_req *r, const void *p, uint32_t n);
/* Pad to a multiple of 8 bytes. */
void mxh_pad(struct mxh_req *r);

/* The reply limit the next calls announce (MXH_MAX_REPLY unless a test
 * lowers it). */
extern uint32_t mxh_max_reply;
/* The room the next calls' reply space has now, as a ring that is partly
 * full (UINT32_MAX: no room callback, the space is always there). */
extern uint32_t mxh_room;
/* The largest record of that ring: a larger reply goes in pieces, which
 * needs room for a whole record (UINT32_MAX: no pieces). */
extern uint32_t mxh_record;

/* The done callback to give mx_vm_open(). */
void mxh_done(void *token, int status, const void *data, uint32_t len);

/* Send @r as @op; wait for the answer. Returns the status. */
int mxh_call(struct mx_vm *vm, uint16_t op, const struct mxh_req *r, struct mxh_reply *out);
/* Send without waiting: 1 if deferred (then @p must be waited for), else
 * the status (answered at once into @out; mxh_wait(@p) gives it too). */
int mxh_send(struct mx_vm *vm, uint16_t op, const struct mxh_req *r, struct mxh_reply *out,
	     struct mxh_pending *p);
/* Wait up to @ms for @p; returns the status, or -ETIME if it did not come. */
int mxh_wait(struct mxh_pending *p, int ms);

/* Shorthands on a fresh request. */
int mxh_simple(struct mx_vm *vm, uint16_t op, uint64_t ctx, uint32_t table, uint16_t flags,
	       const void *body, uint32_t len, struct mxh_reply *out);
uint64_t mxh_ctx_open(struct mx_vm *vm);
int mxh_create(struct mx_vm *vm, const char *name, bool hidden, unsigned nsec,
	       const uint8_t *unique, uint64_t autoinc);
/* Open: returns the handle (> 0) or a negative status; the whole answer
 * is kept in mxh_last_table. */
extern __thread struct vamos_mysql_table mxh_last_table;
int64_t mxh_open(struct mx_vm *vm, const char *name);
/* Write one row with secondary keys @keys[nsec] (NUL-terminated strings). */
int mxh_write1(struct mx_vm *vm, uint64_t ctx, uint32_t table, const char *pk,
	       const char *row, unsigned nsec, const char *const *keys, uint64_t autoinc,
	       struct mxh_reply *out);

/* A READ. */
struct mxh_read {
	uint32_t index;
	uint8_t start, find, backward, stop;
	uint32_t max_rows, max_bytes;
	const char *key, *stop_key; /* NUL-terminated or NULL */
	uint16_t flags;
	uint32_t read_flags; /* enum vamos_mysql_read_flags */
};
int mxh_read(struct mx_vm *vm, uint64_t ctx, uint32_t table, const struct mxh_read *rd,
	     struct mxh_reply *out);
/* The rows of a READ's answer as "pk=row;pk=row;" into @text; returns the
 * count, and the resume key and flags. */
int mxh_rows_text(const struct mxh_reply *r, char *text, size_t cap, char *resume,
		  size_t resume_cap, uint32_t *flags);

#endif
