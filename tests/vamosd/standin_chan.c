/* SPDX-License-Identifier: MIT */
/* A stand-in channel for in-process poller tests: see standin_chan.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "standin_chan.h"

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static int order[4 * STANDIN_MAX_REQUESTS];
static unsigned order_len;

static struct standin_chan *standin(struct vamos_chan *ch)
{
	return (struct standin_chan *)ch;
}

static int f_reserve(struct vamos_chan *ch, uint32_t len, void **payload)
{
	if (len > STANDIN_MAX_PAYLOAD)
		return -EMSGSIZE;
	unsigned room = atomic_load(&standin(ch)->room);
	if (atomic_load(&standin(ch)->full) || (room && len >= room)) {
		atomic_fetch_add(&standin(ch)->refused, 1);
		return -EAGAIN;
	}
	*payload = standin(ch)->out;
	return 0;
}

static int f_commit(struct vamos_chan *ch, uint16_t type, uint32_t len)
{
	(void)type, (void)len;
	struct standin_chan *f = standin(ch);
	struct vamos_reply_header h;
	memcpy(&h, f->out, sizeof h);
	unsigned i = atomic_load_explicit(&f->replies, memory_order_relaxed);
	if (i < STANDIN_MAX_REQUESTS) {
		f->reply_id[i] = h.id;
		f->reply_by[i] = pthread_self();
	}
	pthread_mutex_lock(&order_lock);
	if (order_len < sizeof order / sizeof order[0])
		order[order_len++] = standin(ch)->who;
	pthread_mutex_unlock(&order_lock);
	atomic_fetch_add_explicit(&standin(ch)->unflushed, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&standin(ch)->replies, 1, memory_order_release);
	return 0;
}

static void f_abort(struct vamos_chan *ch)
{
	(void)ch;
}

static int f_flush(struct vamos_chan *ch)
{
	struct standin_chan *f = standin(ch);
	unsigned n = atomic_exchange_explicit(&f->unflushed, 0, memory_order_relaxed);
	if (n > atomic_load_explicit(&f->most_per_flush, memory_order_relaxed))
		atomic_store_explicit(&f->most_per_flush, n, memory_order_relaxed);
	return 0;
}

static int f_poll(struct vamos_chan *ch, struct vamos_record *out, unsigned max)
{
	struct standin_chan *f = standin(ch);
	atomic_fetch_add_explicit(&f->polls, 1, memory_order_relaxed);
	while (atomic_load(&f->hang)) {
		atomic_store(&f->hanging, true);
		usleep(1000);
	}
	atomic_store(&f->hanging, false);
	if (atomic_load(&f->endless) && max) {
		out[0] = (struct vamos_record){ .data = f->endless_request,
						.len = sizeof f->endless_request,
						.type = VAMOS_MSG_REQUEST };
		return 1;
	}
	/* Acquire: the requests below are written before the count. */
	unsigned have = atomic_load_explicit(&f->in_count, memory_order_acquire);
	unsigned n = 0;
	while (n < max && f->next < have)
		out[n++] = f->in[f->next++];
	return (int)n;
}

static void f_release(struct vamos_chan *ch)
{
	(void)ch;
}

static int f_wait(struct vamos_chan *ch, int timeout_ms)
{
	(void)ch, (void)timeout_ms;
	return -ETIMEDOUT;
}

/* As a ring's consumer: announce, then look once more (seq-cst both, as
 * standin_queue's count store and flag load: one of them sees the other). */
static int f_prepare_sleep(struct vamos_chan *ch)
{
	struct standin_chan *f = standin(ch);
	if (f->doorbell >= 0)
		atomic_store(&f->need_wakeup, true);
	if (f->next != atomic_load(&f->in_count)) {
		atomic_store(&f->need_wakeup, false);
		return 0;
	}
	return 1;
}

static void f_awake(struct vamos_chan *ch)
{
	struct standin_chan *f = standin(ch);
	if (f->doorbell < 0)
		return;
	uint64_t v = 0;
	ssize_t got = read(f->doorbell, &v, sizeof v);
	if (got == (ssize_t)sizeof v)
		f->chan.stats.notifications_received += v;
	atomic_store(&f->need_wakeup, false);
}

static int f_fd(const struct vamos_chan *ch)
{
	return ((const struct standin_chan *)ch)->doorbell;
}

static uint32_t f_max_payload(const struct vamos_chan *ch)
{
	(void)ch;
	return STANDIN_MAX_PAYLOAD;
}

static void f_close(struct vamos_chan *ch)
{
	(void)ch; /* the test frees it */
}

static const struct vamos_chan_ops standin_ops = {
	.transport = "standin",
	.reserve = f_reserve,
	.commit = f_commit,
	.abort = f_abort,
	.flush = f_flush,
	.poll = f_poll,
	.release = f_release,
	.wait = f_wait,
	.prepare_sleep = f_prepare_sleep,
	.awake = f_awake,
	.fd = f_fd,
	.max_payload = f_max_payload,
	.close = f_close,
};

struct standin_chan *standin_new(int who, bool doorbell)
{
	struct standin_chan *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->chan.ops = &standin_ops;
	f->chan.mode = doorbell ? VAMOS_NOTIFY_INTERRUPT : VAMOS_NOTIFY_POLL;
	f->who = who;
	struct vamos_request_header h = { .service = VAMOS_SERVICE_ECHO };
	memcpy(f->endless_request, &h, sizeof h);
	f->doorbell = doorbell ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
	f->out = malloc(STANDIN_MAX_PAYLOAD);
	if (!f->out || (doorbell && f->doorbell < 0)) {
		standin_free(f);
		return NULL;
	}
	return f;
}

void standin_free(struct standin_chan *f)
{
	for (unsigned i = 0; i < atomic_load(&f->in_count); i++)
		free(f->in[i].data);
	if (f->doorbell >= 0)
		close(f->doorbell);
	free(f->out);
	free(f);
}

int standin_queue(struct standin_chan *f, unsigned n, uint16_t service, uint16_t op,
		  uint32_t len)
{
	unsigned have = atomic_load(&f->in_count);
	if (have + n > STANDIN_MAX_REQUESTS)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct vamos_request_header h = { .id = have + i, .service = service, .op = op };
		unsigned char *p = calloc(1, sizeof h + len);
		if (!p)
			return -1;
		memcpy(p, &h, sizeof h);
		f->in[have + i] = (struct vamos_record){
			.data = p, .len = (uint32_t)sizeof h + len, .type = VAMOS_MSG_REQUEST };
	}
	/* Seq-cst (a release too: the records are complete before the
	 * poller sees them), then the flag: as a ring's producer publishes
	 * its tail and then takes the announcement, ringing once for it. */
	atomic_store(&f->in_count, have + n);
	if (f->doorbell >= 0 && atomic_exchange(&f->need_wakeup, false)) {
		uint64_t one = 1;
		if (write(f->doorbell, &one, sizeof one) == sizeof one)
			atomic_fetch_add(&f->doorbells, 1);
	}
	return 0;
}

void standin_await_replies(struct standin_chan *f, unsigned n)
{
	while (atomic_load_explicit(&f->replies, memory_order_acquire) < n)
		usleep(200);
}

void standin_order_reset(void)
{
	pthread_mutex_lock(&order_lock);
	memset(order, 0, sizeof order);
	order_len = 0;
	pthread_mutex_unlock(&order_lock);
}

unsigned standin_order_copy(int *out, unsigned max)
{
	pthread_mutex_lock(&order_lock);
	unsigned n = order_len < max ? order_len : max;
	memcpy(out, order, n * sizeof *out);
	pthread_mutex_unlock(&order_lock);
	return n;
}

unsigned standin_before_first(int who, int other)
{
	unsigned n = 0;
	pthread_mutex_lock(&order_lock);
	for (unsigned i = 0; i < order_len && order[i] != other; i++)
		n += order[i] == who;
	pthread_mutex_unlock(&order_lock);
	return n;
}
