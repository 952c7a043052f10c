/* SPDX-License-Identifier: MIT */
/*
 * The host executor of the MySQL handler protocol
 * (vamos/mysql_protocol.h): one per VM, over that VM's RocksDB store.
 * vamosd's mysql service hands it requests; it answers the reads of a
 * context without a write transaction at once on the caller's thread (a
 * snapshot reader never waits), and runs everything that may wait for a
 * row lock — writes, locking reads, every request of a context with a
 * write transaction, DDL — on the VM's worker pool, whose answers come
 * back later through the done callback.
 *
 * A write (WRITE, UPDATE, DELETE, AUTOINC, TRUNCATE) and the statement
 * ends and rollbacks of a context are first tried at once on the caller's
 * thread with lock waits of 0; only a write that meets a row lock held by
 * another transaction is undone and goes to the pool. A COMMIT is made at
 * once too, without its fsync; with the store's sync full it is answered
 * later, through the done callback, once the WAL sync the pool makes for
 * every commit waiting then has returned (group commit). The caller's
 * thread never waits for a lock or a disk.
 *
 * Threads: every context has its own write transaction; a context takes
 * one request at a time, so its requests run in order. A request blocked
 * on a row lock holds one pool thread (the pool grows on demand up to
 * max_workers) and never the caller's: other contexts and other VMs go on.
 * It ends with -ETIMEDOUT after lock_wait_ms, or -EDEADLK when waiting
 * would close a cycle.
 */
#ifndef VAMOS_MYSQL_EXECUTOR_H
#define VAMOS_MYSQL_EXECUTOR_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <vamos/mysql_protocol.h>

struct mx_vm;
struct mh_shared;

struct mx_options {
	size_t write_buffer;   /**< the store's memtable budget; 0: 16 MiB */
	struct mh_shared *shared; /**< resources shared by the process's
				       stores (store.h); NULL: its own */
	unsigned lock_wait_ms; /**< row lock wait before -ETIMEDOUT; 0: 50 s */
	unsigned max_contexts; /**< 0: 4096 */
	unsigned max_tables;   /**< open table handles; 0: 4096 */
	unsigned max_workers;  /**< worker pool threads at most; 0: 64 */
	unsigned worker_idle_ms; /**< a pool thread idle this long exits (the
				      last one too: an idle VM keeps none);
				      0: 5000 */
	int sync;              /**< enum mh_sync (store.h); 0: full */
};

/** Answers for deferred requests: @token is what mx_call.defer returned;
 *  @data/@len the reply bytes (valid during the call). Runs on a thread of
 *  the VM's worker pool, several at once. */
typedef void (*mx_done_fn)(void *token, int status, const void *data, uint32_t len);

/** One request, as the caller hands it over. */
struct mx_call {
	uint16_t op;                /**< enum vamos_mysql_op */
	const unsigned char *data;  /**< request bytes (guest memory possibly:
				         copied before they are checked) */
	uint32_t len;
	uint32_t max_reply;         /**< largest reply payload the caller takes */
	uint32_t max_request;       /**< largest request payload it takes */
	/** Room for an answer given now (@len bytes at most will be used);
	 *  0, or -EAGAIN when there is none (the request is retried later,
	 *  and nothing was done). */
	int (*reserve)(struct mx_call *c, uint32_t len, void **buf);
	/** Optional: the most bytes reserve() would give now without waiting
	 *  (at most max_reply). A READ cuts its rows to it, so that a reply
	 *  that does not fit yet goes out smaller instead of waiting for room
	 *  for all of it; NULL: max_reply always fits once there is room. */
	uint32_t (*room)(struct mx_call *c);
	/** Optional: give back the room reserve() gave (nothing was written
	 *  to it), so that the request can still be deferred. Without it,
	 *  writes are never tried on the caller's thread first. */
	void (*unreserve)(struct mx_call *c);
	/** The answer will come later through mx_done_fn: returns its token,
	 *  or NULL when the caller cannot take more deferred requests (the
	 *  request is retried later, nothing was done). */
	void *(*defer)(struct mx_call *c);
	/** reserve() gives room in the reply ring itself (up to room()),
	 *  and the answer may use less of it: a READ then writes its rows
	 *  there, with no copy through a buffer of its own. */
	bool reserve_in_place;
	uint32_t lock_wait_ms;      /**< the guest's row lock wait for the
				         transaction this request begins
				         (VAMOS_MYSQL_LOCK_WAIT), 0: none given */
	uint32_t reply_len;         /**< out: bytes of an answer given now */
	void *caller;               /**< the caller's own */
};

/** mx_handle's answer: the reply comes later, through mx_done_fn. */
#define MX_DEFERRED 1

/** Open VM @name's executor over the store in directory @dir (created).
 *  0 or -errno with @why. */
int mx_vm_open(const char *dir, const char *name, const struct mx_options *opt,
	       mx_done_fn done, struct mx_vm **out, const char **why);

/**
 * Handle one request. Returns MX_DEFERRED, -EAGAIN (nothing done: no room
 * for the answer, retry later), or the reply's status (0 or -errno) with
 * c->reply_len bytes written into the space c->reserve gave (if it was
 * called; an error status may come with no reserved space, then no bytes).
 */
int mx_handle(struct mx_vm *vm, struct mx_call *c);

/** The VM's guest went away (its peer left): every context ends, the
 *  transactions of idle ones roll back at once, those of contexts with a
 *  request running when it ends; queued requests get -ECONNRESET, table
 *  handles are dropped. */
void mx_vm_reset(struct mx_vm *vm);

/** Counters for stats and tests. */
struct mx_stats {
	uint64_t contexts, tables;        /**< open now */
	uint64_t inline_requests, writer_requests; /**< writer: on the pool */
	uint64_t inline_writes;   /**< writes served at once, no lock held by another */
	uint64_t deferred_writes; /**< writes that met a held lock: to the pool */
	uint64_t commits, rollbacks, lock_timeouts, deadlocks;
	uint64_t wal_syncs;      /**< WAL fsyncs made for commits made at once */
	uint64_t synced_commits; /**< commits those answered (per sync: a group) */
	uint64_t snapshots;               /**< held in the store now */
	uint64_t workers;                 /**< pool threads alive now */
};
struct mx_stats mx_vm_stats(struct mx_vm *vm);

/** Stop the pool (queued requests get -ESHUTDOWN), roll back open
 *  transactions, close the store. Call after the callers stopped. */
void mx_vm_close(struct mx_vm *vm);

#endif
