/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "log.h"
#include "poller.h"
#include "reply.h"

struct task {
	struct task *next;
	struct session *session;   /* referenced */
	struct service svc;        /* a copy: the registry may change */
	struct service_request req;
	uint32_t max_payload;
	unsigned char data[];      /* the request's bytes, copied */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static struct task *head, **tail = &head;
static bool stopping;
static pthread_t *threads;
static unsigned thread_count;

/* Hand @rep (a buffered reply, or none if it could not be made) to the
 * poller that owns @s; either way the request no longer holds @s. */
static void post_reply(struct session *s, struct reply *rep, uint64_t id)
{
	struct completion *c = rep->buf ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		/* Out of memory: the client's request fails by timeout, and
		 * the log says why. */
		log_error("%s channel %u: no memory for a reply to request %llu", s->label,
			  s->index, (unsigned long long)id);
		free(rep->buf);
		atomic_fetch_sub_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
		poller_task_done(s->poller);
		session_unref(s);
		return;
	}
	cds_wfcq_node_init(&c->node);
	c->session = s;
	c->reply = rep->buf;
	c->reply_len = rep->buf_len;
	poller_post_completion(s->poller, c);
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
	post_reply(t->session, &rep, t->req.id);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (!head && !stopping)
			pthread_cond_wait(&more, &lock);
		struct task *t = head;
		if (t) {
			head = t->next;
			if (!head)
				tail = &head;
		}
		pthread_mutex_unlock(&lock);
		if (!t)
			return NULL; /* stopping and nothing left */
		run(t);
		free(t);
	}
}

int blocking_start(unsigned n)
{
	threads = calloc(n, sizeof *threads);
	if (!threads)
		return -ENOMEM;
	for (thread_count = 0; thread_count < n; thread_count++)
		if (pthread_create(&threads[thread_count], NULL, worker, NULL))
			return -EAGAIN;
	return 0;
}

void blocking_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_broadcast(&more);
	pthread_mutex_unlock(&lock);
	for (unsigned i = 0; i < thread_count; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	thread_count = 0;
}

int blocking_submit(struct session *s, const struct service *svc,
		    const struct service_request *req)
{
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
	session_ref(s);
	atomic_fetch_add_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
	poller_task_started(s->poller);
	pthread_mutex_lock(&lock);
	*tail = t;
	tail = &t->next;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
	return 0;
}

void completion_free(struct completion *c)
{
	free(c->reply);
	free(c);
}

/* ------------------------------------------------------ deferred replies */

struct deferred_reply {
	struct session *session; /* referenced */
	uint64_t id;
	uint32_t max_payload;
};

struct deferred_reply *reply_defer(struct reply *rep)
{
	struct session *s = rep->session;
	if (!s || !rep->to_ring || rep->at || rep->committed ||
	    atomic_load_explicit(&s->counters.in_flight, memory_order_relaxed) >=
		    SESSION_MAX_BLOCKING)
		return NULL;
	struct deferred_reply *d = malloc(sizeof *d);
	if (!d)
		return NULL;
	d->session = s;
	d->id = rep->id;
	d->max_payload = rep->max_payload;
	session_ref(s);
	atomic_fetch_add_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
	poller_task_started(s->poller);
	rep->deferred = true;
	return d;
}

void deferred_reply_send(struct deferred_reply *d, int status, const void *data, uint32_t len)
{
	struct reply rep = { .to_ring = false, .id = d->id, .max_payload = d->max_payload };
	void *p;
	if (len > d->max_payload) {
		status = -EMSGSIZE;
		len = 0;
	}
	if (reply_reserve(&rep, len, &p) == 0) {
		if (len)
			memcpy(p, data, len);
		reply_commit(&rep, status, len);
	}
	post_reply(d->session, &rep, d->id);
	free(d);
}
