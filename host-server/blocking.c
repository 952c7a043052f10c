/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "config.h"
#include "log.h"
#include "reply.h"

struct task {
	struct task *next;
	struct session *session;   /* referenced */
	struct service svc;        /* a copy: the registry may change */
	struct service_request req;
	uint32_t max_payload;
	unsigned char data[];      /* the request's bytes, copied */
};

struct blocking_queue {
	char name[64];
	struct blocking_limits lim;
	struct task *head, **tail;
	/* Under the pool's lock. */
	uint64_t queued, queued_bytes, running, dropped;
};

/* Every VM's queue, the streams' and the default one. */
#define MAX_QUEUES (CONFIG_MAX_VMS + 2)

/* One lock for the queues. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static struct blocking_queue *queues[MAX_QUEUES];
static unsigned queue_count, cursor;
static struct blocking_queue *default_queue; /* sessions given none */
static unsigned max_running;                 /* per queue at once */
static bool stopping;
static pthread_t *threads;
static unsigned thread_count;

static void drop(struct task *t)
{
	struct session *s = t->session;
	atomic_fetch_sub_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
	session_unref(s);
	free(t);
}

static void drop_all(struct task *list)
{
	while (list) {
		struct task *t = list;
		list = t->next;
		drop(t);
	}
}

/* Unlink from @q (lock held) the tasks @pick chooses; they are returned
 * as a list and counted as dropped. */
static struct task *unlink_tasks(struct blocking_queue *q, bool (*pick)(const struct task *))
{
	struct task *out = NULL, **at = &q->head;
	while (*at) {
		struct task *t = *at;
		if (pick(t)) {
			*at = t->next;
			t->next = out;
			out = t;
			q->queued--;
			q->queued_bytes -= t->req.len;
			q->dropped++;
		} else {
			at = &t->next;
		}
	}
	q->tail = at;
	return out;
}

static bool session_removed(const struct task *t)
{
	/* Acquire: pairs with the release that marked it when it left its
	 * poller's set. */
	return atomic_load_explicit(&t->session->removed, memory_order_acquire);
}

static bool any(const struct task *t)
{
	(void)t;
	return true;
}

static void run(struct task *t)
{
	struct reply rep = { .to_ring = false, .id = t->req.id,
			     .max_payload = t->max_payload };
	int rc = t->svc.handle(t->svc.ctx, &t->req, &rep);
	if (reply_finish(&rep, rc == -EAGAIN ? -EIO : rc) < 0) {
		free(rep.buf);
		rep.buf = NULL;
	}
	reply_post(t->session, &rep, t->req.id);
}

/* The next task, queues in turn, each under its running limit (lock
 * held). Tasks of sessions that ended on the way go to *@dropped. */
static struct task *take(struct blocking_queue **from, struct task **dropped)
{
	for (unsigned k = 0; k < queue_count; k++) {
		struct blocking_queue *q = queues[(cursor + k) % queue_count];
		while (q->head && q->running < max_running) {
			struct task *t = q->head;
			q->head = t->next;
			if (!q->head)
				q->tail = &q->head;
			q->queued--;
			q->queued_bytes -= t->req.len;
			if (session_removed(t)) {
				q->dropped++;
				t->next = *dropped;
				*dropped = t;
				continue;
			}
			q->running++;
			cursor = (cursor + k + 1) % queue_count;
			*from = q;
			return t;
		}
	}
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct blocking_queue *q = NULL;
		struct task *dropped = NULL;
		struct task *t = take(&q, &dropped);
		if (!t && !dropped) {
			if (stopping)
				break;
			pthread_cond_wait(&more, &lock);
			continue;
		}
		pthread_mutex_unlock(&lock);
		drop_all(dropped);
		if (t) {
			run(t);
			free(t);
		}
		pthread_mutex_lock(&lock);
		if (q) {
			q->running--;
			/* Its queue may have waited on its running limit. */
			pthread_cond_signal(&more);
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

struct blocking_queue *blocking_queue_new(const char *name, const struct blocking_limits *lim)
{
	struct blocking_queue *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	snprintf(q->name, sizeof q->name, "%s", name);
	q->lim = *lim;
	q->tail = &q->head;
	pthread_mutex_lock(&lock);
	if (queue_count == MAX_QUEUES) {
		pthread_mutex_unlock(&lock);
		free(q);
		return NULL;
	}
	queues[queue_count++] = q;
	pthread_mutex_unlock(&lock);
	return q;
}

struct blocking_queue_stats blocking_queue_stats(const struct blocking_queue *q)
{
	pthread_mutex_lock(&lock);
	struct blocking_queue_stats st = {
		.queued = q->queued,
		.queued_bytes = q->queued_bytes,
		.running = q->running,
		.dropped = q->dropped,
		.max_queued_bytes = q->lim.max_queued_bytes,
	};
	pthread_mutex_unlock(&lock);
	return st;
}

int blocking_start(unsigned n)
{
	static const struct blocking_limits dflt = { 1024, 64u << 20 };
	/* A pool stopped before may start again (tests run many in one
	 * process): its new threads must not see the old stop. */
	pthread_mutex_lock(&lock);
	stopping = false;
	pthread_mutex_unlock(&lock);
	default_queue = blocking_queue_new("default", &dflt);
	threads = calloc(n, sizeof *threads);
	if (!threads || !default_queue)
		return -ENOMEM;
	/* Half the threads, rounded up: one owner's long requests always
	 * leave the others some (a single thread is everybody's). */
	max_running = (n + 1) / 2;
	for (thread_count = 0; thread_count < n; thread_count++)
		if (pthread_create(&threads[thread_count], NULL, worker, NULL))
			return -EAGAIN;
	return 0;
}

void blocking_stop(void)
{
	struct task *dropped = NULL;
	pthread_mutex_lock(&lock);
	stopping = true;
	/* What waits is dropped: stopping is bounded by the requests that
	 * run now, not by the queue behind them. */
	for (unsigned k = 0; k < queue_count; k++) {
		struct task *list = unlink_tasks(queues[k], any);
		while (list) {
			struct task *t = list;
			list = t->next;
			t->next = dropped;
			dropped = t;
		}
	}
	pthread_cond_broadcast(&more);
	pthread_mutex_unlock(&lock);
	drop_all(dropped);
	for (unsigned i = 0; i < thread_count; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	thread_count = 0;
	for (unsigned k = 0; k < queue_count; k++)
		free(queues[k]);
	queue_count = 0;
	default_queue = NULL;
}

int blocking_submit(struct session *s, const struct service *svc,
		    const struct service_request *req)
{
	struct blocking_queue *q = s->queue ? s->queue : default_queue;
	struct task *t = malloc(sizeof *t + req->len);
	if (!t)
		return -ENOMEM;
	t->next = NULL;
	t->session = s;
	t->svc = *svc;
	t->req = *req;
	/* The request's bytes leave the ring (which is released right after)
	 * and the guest's reach: the service sees a stable copy. */
	memcpy(t->data, req->data, req->len);
	t->req.data = t->data;
	t->max_payload = vamos_chan_max_payload(s->ch) -
			 (uint32_t)sizeof(struct vamos_reply_header);
	pthread_mutex_lock(&lock);
	/* The owner's limits, whichever of its sessions asks; an empty queue
	 * takes any one request, so every request the ring carries can go. */
	if (q->queued && (q->queued >= q->lim.max_queued ||
			  q->queued_bytes + req->len > q->lim.max_queued_bytes)) {
		pthread_mutex_unlock(&lock);
		free(t);
		return -EAGAIN;
	}
	session_ref(s);
	atomic_fetch_add_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
	*q->tail = t;
	q->tail = &t->next;
	q->queued++;
	q->queued_bytes += req->len;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
	return 0;
}

void blocking_forget_removed(struct blocking_queue *q)
{
	pthread_mutex_lock(&lock);
	struct task *dropped = q ? unlink_tasks(q, session_removed) : NULL;
	pthread_mutex_unlock(&lock);
	drop_all(dropped);
}
