/* SPDX-License-Identifier: MIT */
/* The executor's VM, contexts and jobs (executor.c and writer.c). */
#ifndef VAMOS_MYSQL_EXECUTOR_STATE_H
#define VAMOS_MYSQL_EXECUTOR_STATE_H

#include <pthread.h>
#include <stdbool.h>

#include "exec_internal.h"

/* One guest connection. busy, dead: under the VM's lock. snap: used only
 * by whoever runs its current request (it is busy). txn, stmt: only by
 * the writer thread, while the context is the writer. */
struct mx_ctx {
	uint64_t id;
	bool busy;        /* a request of it is running or queued */
	bool dead;        /* closed or reset: freed when no longer busy */
	bool snap_live;   /* snap holds a snapshot (not reset) */
	struct mh_txn *snap;
	struct mh_txn *txn, *stmt;
};

struct mx_table_slot {
	uint32_t refs, generation;
	struct mx_table_ref ref;
};

enum mx_job_kind { MX_JOB_CTX, MX_JOB_DDL };

/* A request for the writer thread, with a private copy of its body. */
struct mx_job {
	struct mx_job *next;
	enum mx_job_kind kind;
	uint16_t op;
	struct vamos_mysql_req h;
	struct mx_ctx *ctx;      /* MX_JOB_CTX (busy while queued) */
	struct mx_table_ref ref;
	void *token;
	uint32_t max_reply;
	uint64_t deadline_ns;    /* waiting for the writer: give up then */
	int status;              /* why it was taken off the waiting list */
	uint32_t len;
	unsigned char body[];
};

struct mx_vm {
	char name[64];
	struct mx_options opt;
	struct mh_store *store;
	mx_done_fn done;

	pthread_mutex_t lock; /* everything below */
	struct mx_ctx **ctx;  /* by slot */
	uint32_t ctx_count, ctx_next;
	uint64_t ctx_generation;
	struct mx_table_slot *tables;
	uint32_t table_count;

	/* The writer: at most one context (or one DDL) holds it. */
	struct mx_ctx *owner;
	bool ddl_running;
	bool reset_pending;
	bool stopping;
	struct mx_job *ready, **ready_tail;   /* run now, in order */
	struct mx_job *waiting, **waiting_tail; /* need the writer, FIFO */
	pthread_cond_t wake;
	pthread_t thread;
	unsigned char *scratch; /* writer thread's reply buffer */
	uint32_t scratch_cap;

	struct mx_stats stats;
};

struct mx_ctx *mx_ctx_find(struct mx_vm *vm, uint64_t id);
void mx_ctx_unlink(struct mx_vm *vm, struct mx_ctx *c); /* lock held */
void mx_ctx_free(struct mx_ctx *c);
void mx_ctx_release(struct mx_vm *vm, struct mx_ctx *c);  /* lock not held */
void mx_tables_clear(struct mx_vm *vm);                  /* lock held */
/* READ, GET, INFO or RECORDS_IN_RANGE in @t. */
int mx_run_read(struct mh_txn *t, uint16_t op, const struct mx_table_ref *ref,
		struct mx_in *in, struct mx_out *out);

int mx_writer_start(struct mx_vm *vm);
/* Queue a request for the writer (lock held). Always takes it: on failure
 * it is answered through vm->done. */
int mx_writer_submit(struct mx_vm *vm, const struct mx_call *call,
		     const struct vamos_mysql_req *h, enum mx_job_kind kind, struct mx_ctx *c,
		     const struct mx_table_ref *ref, const struct mx_in *body, void *token,
		     uint64_t now);
/* Roll the writer's dead context back and fail queued requests of dead
 * contexts, on the writer thread (lock held). */
void mx_writer_reset_locked(struct mx_vm *vm);
void mx_writer_stop(struct mx_vm *vm);

#endif
