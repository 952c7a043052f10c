/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void on_event(void *arg, const struct vamos_ivshmem_event *ev)
{
	struct harness *h = arg;
	pthread_mutex_lock(&h->lock);
	if (h->event_count < HARNESS_MAX_EVENTS) {
		struct harness_event *e = &h->events[h->event_count++];
		e->kind = ev->kind;
		e->peer = ev->peer;
		snprintf(e->detail, sizeof e->detail, "%s", ev->detail ? ev->detail : "");
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void *dispatch_loop(void *arg)
{
	struct harness *h = arg;
	vamos_ivshmem_server_run(h->server, h->stop_fd);
	return NULL;
}

const char *harness_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/vamos-test-XXXXXX");
	if (!mkdtemp(buf))
		buf[0] = 0;
	return buf;
}

void harness_default_params(struct harness *h,
			    struct vamos_ivshmem_server_params *p,
			    uint32_t vectors)
{
	memset(p, 0, sizeof *p);
	p->region.channel_count = 2;
	p->region.request_capacity = 1u << 16;
	p->region.reply_capacity = 1u << 16;
	p->vectors = vectors;
	(void)h;
}

const char *harness_start(struct harness *h, struct vamos_ivshmem_server_params *p)
{
	memset(h, 0, sizeof *h);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->stop_fd = -1;
	if (!harness_tmpdir(h->dir, sizeof h->dir)[0])
		return "mkdtemp failed";
	snprintf(h->socket_path, sizeof h->socket_path, "%s/ivshmem.sock", h->dir);
	p->socket_path = h->socket_path;
	p->on_event = on_event;
	p->arg = h;
	const char *why = NULL;
	int rc = vamos_ivshmem_server_start(p, &h->server, &why);
	if (rc) {
		rmdir(h->dir);
		return why ? why : "server start failed";
	}
	h->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (h->stop_fd < 0 || pthread_create(&h->thread, NULL, dispatch_loop, h)) {
		vamos_ivshmem_server_stop(h->server);
		rmdir(h->dir);
		return "cannot start the dispatch thread";
	}
	h->running = true;
	return NULL;
}

const char *harness_handover(struct harness *h, struct vamos_ivshmem_server_params *p)
{
	static char text[4096];
	uint64_t one = 1;
	if (!h->running || write(h->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
		return "the harness is not running";
	pthread_join(h->thread, NULL);
	h->running = false;
	uint64_t drained;
	if (read(h->stop_fd, &drained, sizeof drained) < 0)
		return "cannot reset the stop eventfd";
	if (vamos_ivshmem_server_handover(h->server, text, sizeof text))
		return "handover: text does not fit";
	h->server = NULL;
	p->socket_path = h->socket_path;
	p->on_event = on_event;
	p->arg = h;
	p->adopt = text;
	const char *why = NULL;
	int rc = vamos_ivshmem_server_start(p, &h->server, &why);
	p->adopt = NULL;
	if (rc)
		return why ? why : "start with adopt failed";
	vamos_ivshmem_server_announce_adopted(h->server);
	if (pthread_create(&h->thread, NULL, dispatch_loop, h))
		return "cannot restart the dispatch thread";
	h->running = true;
	return NULL;
}

void harness_stop(struct harness *h)
{
	if (h->running) {
		uint64_t one = 1;
		if (write(h->stop_fd, &one, sizeof one) < 0)
			abort();
		pthread_join(h->thread, NULL);
		h->running = false;
	}
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	h->stop_fd = -1;
	vamos_ivshmem_server_stop(h->server);
	h->server = NULL;
	if (h->dir[0])
		rmdir(h->dir);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

bool harness_wait_event(struct harness *h, int n, int ms, struct harness_event *out)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000l;
	if (until.tv_nsec >= 1000000000l) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000l;
	}
	pthread_mutex_lock(&h->lock);
	while (h->event_count < n &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
		;
	bool ok = h->event_count >= n;
	if (ok && out)
		*out = h->events[n - 1];
	pthread_mutex_unlock(&h->lock);
	return ok;
}

int harness_event_count(struct harness *h)
{
	pthread_mutex_lock(&h->lock);
	int n = h->event_count;
	pthread_mutex_unlock(&h->lock);
	return n;
}

const char *harness_join(struct harness *h, uint32_t vectors,
			 struct vamos_ivshmem_peer **out)
{
	int before = harness_event_count(h);
	const char *why = NULL;
	int rc = vamos_ivshmem_peer_connect(h->socket_path, vectors, 5000, out, &why);
	if (rc)
		return why ? why : "peer connect failed";
	struct harness_event ev;
	if (!harness_wait_event(h, before + 1, 5000, &ev))
		return "server reported no event for the new peer";
	if (ev.kind != VAMOS_IVSHMEM_JOIN || ev.peer != vamos_ivshmem_peer_id(*out))
		return "first event after connect is not our JOIN";
	return NULL;
}
