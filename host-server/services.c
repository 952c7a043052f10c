/* SPDX-License-Identifier: MIT */
/* The service registry (an RCU-published sorted table) and the built-in
 * services. */
#define _LGPL_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include <vamos/protocol.h>

#include "service.h"

struct service_table {
	unsigned count;
	struct service entries[]; /* sorted by id */
};

static struct service_table *table; /* RCU-protected */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

const struct service *services_lookup(uint16_t id)
{
	struct service_table *t = rcu_dereference(table);
	if (!t)
		return NULL;
	unsigned lo = 0, hi = t->count;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (t->entries[mid].id == id)
			return &t->entries[mid];
		if (t->entries[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int services_register(const struct service *svc)
{
	pthread_mutex_lock(&table_lock);
	struct service_table *old = table;
	unsigned n = old ? old->count : 0;
	for (unsigned i = 0; i < n; i++)
		if (old->entries[i].id == svc->id) {
			pthread_mutex_unlock(&table_lock);
			return -EEXIST;
		}
	struct service_table *t = malloc(sizeof *t + (n + 1) * sizeof t->entries[0]);
	if (!t) {
		pthread_mutex_unlock(&table_lock);
		return -ENOMEM;
	}
	unsigned j = 0;
	for (unsigned i = 0; i < n && old->entries[i].id < svc->id; i++)
		t->entries[j++] = old->entries[i];
	t->entries[j++] = *svc;
	for (unsigned i = j - 1; i < n; i++)
		t->entries[j++] = old->entries[i];
	t->count = n + 1;
	/* Publish the new table; readers that still see the old one are done
	 * with it after a grace period. */
	rcu_assign_pointer(table, t);
	pthread_mutex_unlock(&table_lock);
	synchronize_rcu();
	free(old);
	return 0;
}

void services_shutdown(void)
{
	pthread_mutex_lock(&table_lock);
	struct service_table *t = table;
	rcu_assign_pointer(table, NULL);
	pthread_mutex_unlock(&table_lock);
	synchronize_rcu();
	free(t);
}

static int echo(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	return reply_send(rep, 0, req->data, req->len);
}

static int noop(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx, (void)req, (void)rep;
	return 0;
}

/* Blocks for op milliseconds (at most 10 s), then echoes: a stand-in for a
 * service waiting on a lock or the disk. */
static int sleepy(void *ctx, const struct service_request *req, struct reply *rep)
{
	unsigned ms = req->op > 10000 ? 10000 : req->op;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000l };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return echo(ctx, req, rep);
}

int services_register_builtin(void)
{
	static const struct service builtin[] = {
		{ .id = VAMOS_SERVICE_ECHO, .name = "echo", .handle = echo },
		{ .id = VAMOS_SERVICE_NOOP, .name = "noop", .handle = noop },
		{ .id = VAMOS_SERVICE_SLEEP, .name = "sleep", .may_block = true,
		  .handle = sleepy },
	};
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
		int rc = services_register(&builtin[i]);
		if (rc)
			return rc;
	}
	return 0;
}
