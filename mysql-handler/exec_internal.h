/* SPDX-License-Identifier: MIT */
/* Private state of the executor (executor.h), shared by its files. */
#ifndef VAMOS_MYSQL_EXEC_INTERNAL_H
#define VAMOS_MYSQL_EXEC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "executor.h"
#include "store.h"

/* A request's bytes, read front to back; every take is bounds-checked. */
struct mx_in {
	const unsigned char *p;
	uint32_t left;
};

/* Copy @n bytes out (0) or -EINVAL when the request is shorter. */
int mx_take(struct mx_in *in, void *out, uint32_t n);
/* Point at the next @n bytes (in the caller's stable copy). */
int mx_take_bytes(struct mx_in *in, uint32_t n, struct mh_bytes *out);

/* Where an answer is written. */
struct mx_out {
	unsigned char *buf;
	uint32_t cap, len;
};

/* Put the @n bytes of @v in @out: 0, or -EMSGSIZE if they do not fit. */
int mx_answer(struct mx_out *out, const void *v, uint32_t n);

/* Put a message (no NUL) in @out and return @status. */
int mx_fail(struct mx_out *out, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A table handle as requests name it, resolved under the VM's lock. */
struct mx_table_ref {
	uint32_t id;
	char name[MH_NAME_MAX + 1];
};

/* Open the handle's table in @t: -EBADF if it was dropped or renamed. */
int mx_table_open(struct mh_txn *t, const struct mx_table_ref *ref, struct mh_table **out);

/* The ops, on a transaction the caller chose (a read snapshot or the
 * writer's); @ref is NULL for ops without a table. */
int mx_op_read(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
	       struct mx_out *out);
int mx_op_get(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
	      struct mx_out *out);
int mx_op_info(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out);
int mx_op_range(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		struct mx_out *out);
/* READ, GET, INFO or RECORDS_IN_RANGE in @t (exec_read.c). */
int mx_run_read(struct mh_txn *t, uint16_t op, const struct mx_table_ref *ref,
		struct mx_in *in, struct mx_out *out);
int mx_op_write(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		struct mx_out *out);
int mx_op_update(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		 struct mx_out *out);
int mx_op_delete(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		 struct mx_out *out);
int mx_op_truncate(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out);
int mx_op_autoinc(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_in *in,
		  struct mx_out *out);
int mx_op_create(struct mh_txn *t, struct mx_in *in, struct mx_out *out);
int mx_op_drop(struct mh_txn *t, struct mx_in *in, struct mx_out *out, uint32_t *dropped_id);
int mx_op_rename(struct mh_txn *t, struct mx_in *in, struct mx_out *out, uint32_t *renamed_id);
/* exec_maint.c: ANALYZE and CHECK (nothing after the header). */
int mx_op_analyze(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out);
int mx_op_check(struct mh_txn *t, const struct mx_table_ref *ref, struct mx_out *out);
/* Read a table name (the rest of @in, or @len bytes) into @name. */
int mx_take_name(struct mx_in *in, uint32_t len, char name[MH_NAME_MAX + 1]);

/* Map a store error to the protocol's, with the store's words. */
int mx_store_fail(struct mh_store *s, struct mx_out *out, int rc);

#endif
