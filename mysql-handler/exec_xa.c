/* SPDX-License-Identifier: MIT */
/*
 * Two-phase commit in the executor: PREPARE of a context's transaction,
 * and the prepared transactions no context holds any more (their context
 * closed, the guest detached, or RocksDB recovered them at open), which
 * wait here for COMMIT_BY_XID or ROLLBACK_BY_XID and are listed by
 * RECOVER. Each VM has its own store, so a guest names only its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "executor_state.h"

int mx_take_xid(struct mx_in *in, unsigned char *buf)
{
	struct vamos_mysql_xid x;
	if (mx_take(in, &x, sizeof x))
		return -EINVAL;
	/* Trust: the lengths are read once (from this copy) and bounded
	 * before any data is taken; the data must end the request. */
	if (x.reserved || x.format_id == -1 || x.gtrid_len < 1 ||
	    x.gtrid_len > VAMOS_MYSQL_XID_GTRID_MAX || x.bqual_len > VAMOS_MYSQL_XID_BQUAL_MAX)
		return -EINVAL;
	uint32_t n = (uint32_t)x.gtrid_len + x.bqual_len;
	if (in->left != n)
		return -EINVAL;
	memcpy(buf, &x, sizeof x);
	mx_take(in, buf + sizeof x, n);
	return (int)(sizeof x + n);
}

void mx_prepared_keep(struct mx_vm *vm, struct mh_txn *t)
{
	pthread_mutex_lock(&vm->prepared_lock);
	if (vm->nprepared == vm->cap_prepared) {
		size_t cap = vm->cap_prepared ? 2 * vm->cap_prepared : 8;
		struct mh_txn **p = realloc(vm->prepared, cap * sizeof *p);
		if (!p) {
			pthread_mutex_unlock(&vm->prepared_lock);
			/* Out of memory: it stays prepared in the store, and
			 * RECOVER finds it after the next open. */
			mh_txn_forget(t);
			return;
		}
		vm->prepared = p;
		vm->cap_prepared = cap;
	}
	vm->prepared[vm->nprepared++] = t;
	pthread_mutex_unlock(&vm->prepared_lock);
}

void mx_prepared_ended(struct mx_vm *vm)
{
	pthread_mutex_lock(&vm->prepared_lock);
	vm->prepared_total--;
	pthread_mutex_unlock(&vm->prepared_lock);
}

int mx_prepared_load(struct mx_vm *vm)
{
	struct mh_txn **ts;
	size_t n;
	int rc = mh_store_recovered(vm->store, &ts, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const unsigned char *name = mh_txn_name(ts[i], &len);
		unsigned char buf[MX_XID_MAX];
		struct mx_in in = { name, (uint32_t)len };
		/* Trust: the WAL is ours, but a name that is no XID would be
		 * listed to the guest as one; it is left prepared, unlisted. */
		if (len > MX_XID_MAX || mx_take_xid(&in, buf) < 0)
			mh_txn_forget(ts[i]);
		else
			mx_prepared_keep(vm, ts[i]);
	}
	/* Recovered ones count against the bound too (it may be passed now:
	 * new PREPAREs then wait for them to end). */
	pthread_mutex_lock(&vm->prepared_lock);
	vm->prepared_total = vm->nprepared;
	pthread_mutex_unlock(&vm->prepared_lock);
	free(ts);
	return 0;
}

void mx_prepared_forget_all(struct mx_vm *vm)
{
	for (size_t i = 0; i < vm->nprepared; i++)
		mh_txn_forget(vm->prepared[i]);
	free(vm->prepared);
	vm->prepared = NULL;
	vm->nprepared = vm->cap_prepared = vm->prepared_total = 0;
}

int mx_ctx_prepare(struct mx_vm *vm, struct mx_ctx *c, struct mx_in *in, struct mx_out *out)
{
	unsigned char name[MX_XID_MAX];
	int len = mx_take_xid(in, name);
	if (len < 0)
		return mx_fail(out, -EINVAL, "PREPARE: malformed XID");
	if (c->prepared)
		return mx_fail(out, -EINVAL, "PREPARE: the transaction is prepared already");
	if (!c->txn)
		return 0; /* it only read: nothing to prepare */
	int rc;
	if (c->stmt) { /* a statement still open folds into the transaction */
		rc = mh_txn_commit(c->stmt);
		c->stmt = NULL;
		if (rc)
			return mx_store_fail(vm->store, out, rc);
	}
	pthread_mutex_lock(&vm->prepared_lock);
	bool room = vm->prepared_total < vm->opt.max_contexts;
	if (room)
		vm->prepared_total++; /* taken back below if the prepare fails */
	pthread_mutex_unlock(&vm->prepared_lock);
	if (!room)
		return mx_fail(out, -EMFILE, "PREPARE: too many prepared transactions (%u)",
			       vm->opt.max_contexts);
	rc = mh_txn_prepare(c->txn, name, (size_t)len);
	if (rc)
		mx_prepared_ended(vm);
	if (rc == -EEXIST)
		return mx_fail(out, rc, "PREPARE: a prepared transaction has this XID");
	if (rc)
		return mx_store_fail(vm->store, out, rc);
	pthread_mutex_lock(&vm->lock);
	c->prepared = true; /* read under the lock by try_first */
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/* Take the kept prepared transaction named @name out of the list. */
static struct mh_txn *claim(struct mx_vm *vm, const unsigned char *name, size_t len)
{
	struct mh_txn *t = NULL;
	pthread_mutex_lock(&vm->prepared_lock);
	for (size_t i = 0; i < vm->nprepared; i++) {
		size_t l;
		const void *n = mh_txn_name(vm->prepared[i], &l);
		if (l == len && !memcmp(n, name, len)) {
			t = vm->prepared[i];
			memmove(vm->prepared + i, vm->prepared + i + 1,
				(vm->nprepared - i - 1) * sizeof *vm->prepared);
			vm->nprepared--;
			break;
		}
	}
	pthread_mutex_unlock(&vm->prepared_lock);
	return t;
}

static int recover(struct mx_vm *vm, struct mx_in *in, struct mx_out *out)
{
	struct vamos_mysql_recover r;
	if (mx_take(in, &r, sizeof r) || in->left || r.reserved || !r.max)
		return mx_fail(out, -EINVAL, "RECOVER: malformed request");
	struct vamos_mysql_xids head = { 0 };
	if (out->cap < sizeof head)
		return -EMSGSIZE;
	out->len = sizeof head;
	pthread_mutex_lock(&vm->prepared_lock);
	for (size_t i = 0; i < vm->nprepared && head.count < r.max; i++) {
		size_t len;
		const void *name = mh_txn_name(vm->prepared[i], &len);
		size_t padded = (len + 7) & ~(size_t)7;
		if (padded > out->cap - out->len)
			break; /* the guest asks again once it has handled these */
		memcpy(out->buf + out->len, name, len);
		memset(out->buf + out->len + len, 0, padded - len);
		out->len += (uint32_t)padded;
		head.count++;
	}
	pthread_mutex_unlock(&vm->prepared_lock);
	memcpy(out->buf, &head, sizeof head);
	return 0;
}

int mx_run_xa(struct mx_vm *vm, struct mx_job *j, struct mx_out *out)
{
	struct mx_in in = { j->body, j->len };
	if (j->op == VAMOS_MYSQL_RECOVER)
		return recover(vm, &in, out);
	unsigned char name[MX_XID_MAX];
	int len = mx_take_xid(&in, name);
	if (len < 0)
		return mx_fail(out, -EINVAL, "malformed XID");
	struct mh_txn *t = claim(vm, name, (size_t)len);
	if (!t)
		return mx_fail(out, -ENOENT, "no prepared transaction has this XID");
	bool commit = j->op == VAMOS_MYSQL_COMMIT_BY_XID;
	int rc = 0;
	if (commit)
		rc = mh_txn_commit(t); /* durable on return */
	else
		mh_txn_abort(t);
	mx_prepared_ended(vm);
	pthread_mutex_lock(&vm->lock);
	if (commit && rc == 0)
		vm->stats.commits++;
	else
		vm->stats.rollbacks++;
	pthread_mutex_unlock(&vm->lock);
	return rc ? mx_store_fail(vm->store, out, rc) : 0;
}
