/* SPDX-License-Identifier: MIT */
/* One session on in-process pollers and a held one-thread pool: see
 * pool_rig.h. */
#include <pthread.h>

#include "pool_rig.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint64_t permits;
static int64_t entered = -1; /* the last request that started */

void pool_rig_gate(uint64_t id)
{
	pthread_mutex_lock(&lock);
	entered = (int64_t)id;
	pthread_cond_broadcast(&cond);
	while (permits <= id)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

void pool_rig_permit(uint64_t n)
{
	pthread_mutex_lock(&lock);
	permits = n;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

void pool_rig_await_entered(int64_t id)
{
	pthread_mutex_lock(&lock);
	while (entered < id)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

const char *pool_rig_open(struct pool_rig *r, const char *name, const struct service *svc,
			  unsigned npollers, unsigned max_queued)
{
	struct blocking_limits lim = { .max_queued = max_queued, .max_queued_bytes = 1u << 20 };
	pthread_mutex_lock(&lock);
	permits = 0;
	entered = -1;
	pthread_mutex_unlock(&lock);
	if (services_register_builtin() || services_register(svc) || blocking_start(1))
		return "cannot start the services";
	r->q = blocking_queue_new(name, &lim);
	r->f = standin_new(0, true);
	r->s = r->f ? session_new(&r->f->chan, 1, name, 0) : NULL;
	if (!r->q || !r->s || pollers_start(&r->ps, npollers, 50000, 1)) {
		blocking_stop();
		services_shutdown();
		return "cannot start";
	}
	session_assume_welcomed(r->s);
	r->s->inbox = &r->ps.all[0].inbox;
	r->s->queue = r->q;
	return NULL;
}

void pool_rig_close(struct pool_rig *r, unsigned serving)
{
	pollers_stop(&r->ps);
	pollers_remove(&r->ps.all[serving], &r->s, 1);
	blocking_forget_removed(r->q);
	pollers_destroy(&r->ps);
	blocking_stop();
	services_shutdown();
	session_unref(r->s);
	standin_free(r->f);
}
