/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "log.h"
#include "reply.h"
#include "service.h"
#include "session.h"

/* Taken by every post and by reply_posts_settle(): see reply_post(). */
static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------- making a reply */

int reply_reserve(struct reply *rep, uint32_t len, void **payload)
{
	if (rep->at || rep->committed)
		return -EBUSY;
	if (len > rep->max_payload)
		return -EMSGSIZE;
	uint32_t total = (uint32_t)sizeof(struct vamos_reply_header) + len;
	if (rep->to_ring) {
		void *p;
		int rc = vamos_chan_reserve(rep->ch, total, &p);
		if (rc)
			return rc;
		rep->at = p;
	} else {
		rep->buf = malloc(total);
		if (!rep->buf)
			return -ENOMEM;
		rep->at = rep->buf;
	}
	rep->reserved = len;
	*payload = rep->at + sizeof(struct vamos_reply_header);
	return 0;
}

int reply_send(struct reply *rep, int status, const void *data, uint32_t len)
{
	if (!rep->to_ring) {
		void *p;
		int rc = reply_reserve(rep, len, &p);
		if (rc)
			return rc;
		if (len)
			memcpy(p, data, len);
		reply_commit(rep, status, len);
		return 0;
	}
	/* The same steps as reserve, copy and commit into the ring, in one
	 * call: the path of every reply of a service that answers at once. */
	if (rep->at || rep->committed)
		return -EBUSY;
	if (len > rep->max_payload)
		return -EMSGSIZE;
	struct vamos_reply_header h = { .id = rep->id, .status = status };
	uint32_t total = (uint32_t)sizeof h + len;
	void *p;
	int rc = vamos_chan_reserve(rep->ch, total, &p);
	if (rc)
		return rc;
	memcpy(p, &h, sizeof h);
	if (len)
		memcpy((unsigned char *)p + sizeof h, data, len);
	vamos_chan_commit(rep->ch, VAMOS_MSG_REPLY, total);
	rep->at = p;
	rep->reserved = len;
	rep->committed = true;
	rep->status = status;
	return 0;
}

uint32_t reply_room(const struct reply *rep)
{
	if (!rep->to_ring)
		return rep->max_payload; /* a private buffer: any size fits */
	uint32_t room = vamos_chan_room(rep->ch);
	uint32_t head = (uint32_t)sizeof(struct vamos_reply_header);
	room = room > head ? room - head : 0;
	return room < rep->max_payload ? room : rep->max_payload;
}

bool reply_in_ring(const struct reply *rep)
{
	return rep->to_ring;
}

void reply_commit(struct reply *rep, int status, uint32_t len)
{
	if (!rep->at || rep->committed || len > rep->reserved)
		return;
	struct vamos_reply_header h = { .id = rep->id, .status = status };
	memcpy(rep->at, &h, sizeof h);
	uint32_t total = (uint32_t)sizeof h + len;
	if (rep->to_ring)
		vamos_chan_commit(rep->ch, VAMOS_MSG_REPLY, total);
	else
		rep->buf_len = total;
	rep->committed = true;
	rep->status = status;
}

void reply_unreserve(struct reply *rep)
{
	if (rep->committed)
		return;
	if (rep->at && rep->to_ring) {
		vamos_chan_abort(rep->ch);
		rep->at = NULL;
	} else if (rep->at) {
		free(rep->buf);
		rep->buf = NULL;
		rep->at = NULL;
	}
	rep->reserved = 0;
}

/* Finish a reply the handler left open or never started: status @rc and
 * no bytes. Returns 0 or -EAGAIN (no room for even an empty reply). */
int reply_finish(struct reply *rep, int rc)
{
	if (rep->committed)
		return 0;
	reply_unreserve(rep);
	void *p;
	int r = reply_reserve(rep, 0, &p);
	if (r)
		return r;
	reply_commit(rep, rc, 0);
	return 0;
}

/* -------------------------------------------- posting a buffered reply */

void reply_inbox_init(struct reply_inbox *in, int wake_fd)
{
	cds_wfcq_init(&in->head, &in->tail);
	atomic_init(&in->posted, 0);
	in->wake_fd = wake_fd;
}

static void wake(struct reply_inbox *in)
{
	uint64_t one = 1;
	if (write(in->wake_fd, &one, sizeof one) < 0) {
		/* A full counter already means "wake up". */
	}
}

static void enqueue(struct reply_inbox *in, struct completion *c);

void reply_post(struct session *s, struct reply *rep, uint64_t id)
{
	struct completion *c = rep->buf ? calloc(1, sizeof *c) : NULL;
	bool posted = false;
	/* Under the lock: a session is marked removed before its poller can
	 * go, and reply_posts_settle() takes this lock after that mark, so a
	 * post that saw the session still served has finished with the
	 * poller's inbox before the poller is destroyed. */
	pthread_mutex_lock(&post_lock);
	bool gone = atomic_load_explicit(&s->removed, memory_order_acquire);
	if (c && !gone) {
		c->session = s;
		c->reply = rep->buf;
		c->reply_len = rep->buf_len;
		/* s->inbox is read under the lock: a move switches it under
		 * the same lock (reply_hand_off()). */
		enqueue(s->inbox, c);
		wake(s->inbox);
		posted = true;
	}
	pthread_mutex_unlock(&post_lock);
	if (posted)
		return;
	if (!c && !gone)
		/* Out of memory: the client's request fails by timeout, and
		 * the log says why. */
		log_error("%s channel %u: no memory for a reply to request %llu", s->label,
			  s->index, (unsigned long long)id);
	free(c);
	free(rep->buf);
	atomic_fetch_sub_explicit(&s->counters.in_flight, 1, memory_order_relaxed);
	session_unref(s);
}

void reply_posts_settle(void)
{
	pthread_mutex_lock(&post_lock);
	pthread_mutex_unlock(&post_lock);
}

static void enqueue(struct reply_inbox *in, struct completion *c)
{
	cds_wfcq_node_init(&c->node);
	/* Release, before the node is visible: pairs with
	 * reply_inbox_take()'s acquire. */
	atomic_fetch_add_explicit(&in->posted, 1, memory_order_release);
	cds_wfcq_enqueue(&in->head, &in->tail, &c->node);
}

void reply_hand_off(struct reply_inbox *from, struct completion **list, struct session *s,
		    struct reply_inbox *to)
{
	struct completion **end = list;
	while (*end)
		end = &(*end)->next;
	bool moved = false;
	/* Under the lock: every post for @s before this went to @from (taken
	 * below), every one after goes to @to, behind what we move now. */
	pthread_mutex_lock(&post_lock);
	for (struct completion *c; (c = reply_inbox_take(from)); end = &c->next)
		*end = c;
	for (struct completion **at = list; *at;) {
		struct completion *c = *at;
		if (c->session != s) {
			at = &c->next;
			continue;
		}
		*at = c->next;
		c->next = NULL;
		enqueue(to, c);
		moved = true;
	}
	s->inbox = to;
	pthread_mutex_unlock(&post_lock);
	if (moved)
		wake(to);
}

struct completion *reply_inbox_take(struct reply_inbox *in)
{
	struct cds_wfcq_node *node =
		__cds_wfcq_dequeue_nonblocking(&in->head, &in->tail);
	if (!node || node == CDS_WFCQ_WOULDBLOCK)
		return NULL;
	/* Acquire: the node was counted (release) before it was enqueued, so
	 * its contents happen before what follows. (The queue orders them
	 * too, with barriers TSan cannot see.) */
	(void)atomic_load_explicit(&in->posted, memory_order_acquire);
	struct completion *c = caa_container_of(node, struct completion, node);
	c->next = NULL;
	return c;
}

int reply_deliver(struct session *s, const void *buf, uint32_t len)
{
	if (s->failure)
		return 0; /* nobody to tell: dropped */
	int rc = vamos_chan_send(s->ch, VAMOS_MSG_REPLY, buf, len);
	if (rc == -EAGAIN) {
		s->unflushed = true; /* publish any padding (see session_serve) */
		return rc;
	}
	if (rc == 0) {
		struct vamos_reply_header h;
		memcpy(&h, buf, sizeof h);
		atomic_fetch_add_explicit(&s->counters.replies, 1, memory_order_relaxed);
		if (h.status < 0)
			atomic_fetch_add_explicit(&s->counters.errors, 1, memory_order_relaxed);
		s->unflushed = true;
	}
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
	reply_post(d->session, &rep, d->id);
	free(d);
}
