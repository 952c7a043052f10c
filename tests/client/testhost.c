/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <vamos/protocol.h>
#include <vamos/vsock.h>

#include "testhost.h"
#include "../../ring/layout.h"

/* ------------------------------------------------------------------- log */

void th_log_init(struct th_log *log)
{
	memset(log, 0, sizeof *log);
	pthread_mutex_init(&log->lock, NULL);
}

void th_log_free(struct th_log *log)
{
	free(log->ids);
	pthread_mutex_destroy(&log->lock);
}

static void th_log_add(struct th_log *log, uint64_t id)
{
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 1024;
		uint64_t *ids = realloc(log->ids, cap * sizeof *ids);
		if (!ids)
			abort();
		log->ids = ids;
		log->cap = cap;
	}
	log->ids[log->n++] = id;
	pthread_mutex_unlock(&log->lock);
}

size_t th_log_count(struct th_log *log)
{
	pthread_mutex_lock(&log->lock);
	size_t n = log->n;
	pthread_mutex_unlock(&log->lock);
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

const char *th_log_check(struct th_log *log)
{
	const char *err = NULL;
	pthread_mutex_lock(&log->lock);
	if (log->n) {
		uint64_t *copy = malloc(log->n * sizeof *copy);
		if (!copy)
			abort();
		memcpy(copy, log->ids, log->n * sizeof *copy);
		qsort(copy, log->n, sizeof *copy, cmp_u64);
		for (size_t i = 1; i < log->n && !err; i++)
			if (copy[i] == copy[i - 1])
				err = "a request id reached the host twice";
		free(copy);
	}
	pthread_mutex_unlock(&log->lock);
	return err;
}

/* ----------------------------------------------------------------- serving */

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static uint64_t rand64(void)
{
	uint64_t v = 0;
	FILE *f = fopen("/dev/urandom", "re");
	if (!f || fread(&v, sizeof v, 1, f) != 1)
		abort();
	fclose(f);
	return v;
}

/* Send one record of @type made of @a then @b, waiting for room. 0 or -1
 * (channel failed or the host stops). */
static int put(struct test_host *h, struct vamos_chan *ch, uint16_t type,
	       const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	void *p;
	int rc;
	while ((rc = vamos_chan_reserve(ch, alen + blen, &p)) == -EAGAIN) {
		if (vamos_chan_flush(ch) < 0 || atomic_load(&h->stop))
			return -1;
		nap_us(50);
	}
	if (rc)
		return -1;
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy((unsigned char *)p + alen, b, blen);
	return vamos_chan_commit(ch, type, alen + blen) ? -1 : 0;
}

static int reply(struct test_host *h, struct vamos_chan *ch, uint64_t id, int32_t status,
		 uint32_t reserved, const void *data, uint32_t len)
{
	struct vamos_reply_header r = {
		.id = htole64(id),
		.status = (int32_t)htole32((uint32_t)status),
		.reserved = htole32(reserved),
	};
	return put(h, ch, VAMOS_MSG_REPLY, &r, sizeof r, data, len);
}

static int welcome(struct th_conn *cn, const unsigned char *data, uint32_t len)
{
	struct test_host *h = cn->host;
	struct vamos_hello hello;
	if (len < sizeof hello)
		return 0;
	memcpy(&hello, data, sizeof hello);
	for (unsigned i = 0; i < h->o.stale_before_welcome; i++) {
		/* Left-overs an earlier session could have left: replies, and
		 * a WELCOME for another nonce. */
		if (i % 2 == 0) {
			if (reply(h, cn->ch, rand64(), 0, 0, "stale", 5))
				return -1;
		} else {
			struct vamos_welcome w = {
				.version = htole32(VAMOS_PROTOCOL_VERSION),
				.nonce = htole64(le64toh(hello.nonce) ^ 1),
				.boot_id = htole64(h->boot_id ^ 1),
			};
			if (put(h, cn->ch, VAMOS_MSG_WELCOME, &w, sizeof w, NULL, 0))
				return -1;
		}
	}
	struct vamos_welcome w = {
		.version = htole32(VAMOS_PROTOCOL_VERSION),
		.channel = htole32(cn->index),
		.nonce = hello.nonce,
		.boot_id = htole64(h->boot_id),
	};
	atomic_fetch_add(&h->hellos, 1);
	return put(h, cn->ch, VAMOS_MSG_WELCOME, &w, sizeof w, NULL, 0);
}

static int bad(struct test_host *h, struct vamos_chan *ch, uint64_t id, uint16_t op)
{
	struct vamos_reply_header r = { .id = htole64(id) };
	switch (op) {
	case TH_BAD_RESERVED:
		return reply(h, ch, id, 0, 7, NULL, 0);
	case TH_BAD_SHORT:
		return put(h, ch, VAMOS_MSG_REPLY, &r, 8, NULL, 0);
	case TH_BAD_TYPE:
		return put(h, ch, 0x55, &r, sizeof r, NULL, 0);
	case TH_BAD_STATUS:
		return reply(h, ch, id, 5, 0, NULL, 0);
	}
	return reply(h, ch, id, -EINVAL, 0, NULL, 0);
}

bool th_client_sleeps(struct test_host *h, uint32_t index)
{
	const struct vamos_region *r = vamos_ivshmem_server_region(h->server);
	struct vamos_ring_ctrl *reply_ring = vamos_ring_at(r->base, &r->params, index, 1);
	/* Seq-cst, as the ring's own accesses to the word: once we see the
	 * announcement, the client looks at the tail only after it. */
	return atomic_load_explicit(&reply_ring->need_wakeup, memory_order_seq_cst) != 0;
}

/* LOCAL: wait until the client announced sleep on @cn's reply ring (the
 * ring's need_wakeup word), or the host stops. 0 or -1 (stopping). */
static int await_sleeper(struct th_conn *cn)
{
	struct test_host *h = cn->host;
	while (!th_client_sleeps(h, cn->index)) {
		if (atomic_load(&h->stop))
			return -1;
		sched_yield();
	}
	return 0;
}

static int request(struct th_conn *cn, const unsigned char *data, uint32_t len)
{
	struct test_host *h = cn->host;
	struct vamos_request_header q;
	if (len < sizeof q)
		return 0;
	memcpy(&q, data, sizeof q);
	uint64_t id = le64toh(q.id);
	const unsigned char *body = data + sizeof q;
	uint32_t blen = len - (uint32_t)sizeof q;
	th_log_add(h->log, id);
	atomic_fetch_add(&h->requests, 1);
	switch (le16toh(q.service)) {
	case VAMOS_SERVICE_ECHO:
		return reply(h, cn->ch, id, 0, 0, body, blen);
	case VAMOS_SERVICE_NOOP:
		return reply(h, cn->ch, id, 0, 0, NULL, 0);
	case VAMOS_SERVICE_SLEEP:
		if (vamos_chan_flush(cn->ch) < 0)
			return -1;
		nap_us((long)le16toh(q.op) * 1000);
		return reply(h, cn->ch, id, 0, 0, NULL, 0);
	case TH_SVC_HOLD:
		atomic_fetch_add(&h->held, 1);
		return 0;
	case TH_SVC_BOOT: {
		uint64_t boot = htole64(h->boot_id);
		return reply(h, cn->ch, id, 0, 0, &boot, sizeof boot);
	}
	case TH_SVC_BAD:
		return bad(h, cn->ch, id, le16toh(q.op));
	case TH_SVC_AFTER_SLEEP:
		if (h->o.kind != TH_LOCAL)
			return reply(h, cn->ch, id, -ENOTSUP, 0, NULL, 0);
		/* Flush what is queued first: its client may wait for it. */
		if (vamos_chan_flush(cn->ch) < 0 || await_sleeper(cn))
			return -1;
		return reply(h, cn->ch, id, 0, 0, body, blen);
	case TH_SVC_GATHER: {
		unsigned want = le16toh(q.op);
		if (want == 0 || want > TH_GATHER_MAX)
			return reply(h, cn->ch, id, -EINVAL, 0, NULL, 0);
		uint64_t first = 0;
		memcpy(&first, body, blen < sizeof first ? blen : sizeof first);
		cn->gather_bodies[cn->gathered] = first;
		cn->gather_ids[cn->gathered++] = id;
		atomic_fetch_add(&h->held, 1);
		if (cn->gathered < want)
			return 0;
		int rc = 0;
		for (unsigned i = 0; i < cn->gathered && !rc; i++) {
			rc = reply(h, cn->ch, cn->gather_ids[i], 0, 0, &cn->gather_bodies[i],
				   sizeof cn->gather_bodies[i]);
		}
		cn->gathered = 0;
		return rc;
	}
	case TH_SVC_EXTRA:
		if (reply(h, cn->ch, id ^ 0x8000000000000000ull, 0, 0, "x", 1) ||
		    reply(h, cn->ch, id, 0, 0, body, blen))
			return -1;
		return reply(h, cn->ch, id, 0, 0, body, blen);
	}
	return reply(h, cn->ch, id, -ENOENT, 0, NULL, 0);
}

struct job {
	uint16_t type;
	uint32_t len;
	size_t off;
};

#define BATCH 256

static void *serve(void *arg)
{
	struct th_conn *cn = arg;
	struct test_host *h = cn->host;
	struct vamos_record recs[BATCH];
	struct job jobs[BATCH];
	size_t cap = 1 << 20;
	unsigned char *buf = malloc(cap);
	int last_peer = 0;

	if (!buf)
		abort();
	while (!atomic_load(&h->stop)) {
		if (!cn->ch) {
			/* LOCAL: serve the newest peer once it joined. */
			int p = atomic_load(&h->peer);
			if (!p || p == last_peer ||
			    vamos_ivshmem_server_channel(h->server, p, cn->index, &cn->ch)) {
				nap_us(2000);
				continue;
			}
			last_peer = p;
		}
		int n = vamos_chan_poll(cn->ch, recs, BATCH);
		if (n < 0) {
			/* The client went away: wait for the next (LOCAL), or end. */
			vamos_chan_close(cn->ch);
			cn->ch = NULL;
			cn->gathered = 0;
			atomic_fetch_add(&h->lost, 1);
			if (h->o.kind == TH_UNIX)
				break;
			continue;
		}
		if (n == 0) {
			vamos_chan_wait(cn->ch, 20);
			continue;
		}
		/* Copy the batch out, so replies can be written in any order. */
		size_t used = 0;
		for (int i = 0; i < n; i++) {
			if (used + recs[i].len > cap) {
				while (used + recs[i].len > cap)
					cap *= 2;
				unsigned char *b = realloc(buf, cap);
				if (!b)
					abort();
				buf = b;
			}
			memcpy(buf + used, recs[i].data, recs[i].len);
			jobs[i] = (struct job){ recs[i].type, recs[i].len, used };
			used += recs[i].len;
		}
		vamos_chan_release(cn->ch);
		int rc = 0;
		for (int k = 0; k < n && !rc; k++) {
			int i = h->o.reverse ? n - 1 - k : k;
			if (jobs[i].type == VAMOS_MSG_HELLO)
				rc = welcome(cn, buf + jobs[i].off, jobs[i].len);
			else if (jobs[i].type == VAMOS_MSG_REQUEST)
				rc = request(cn, buf + jobs[i].off, jobs[i].len);
		}
		vamos_chan_flush(cn->ch);
	}
	vamos_chan_close(cn->ch);
	cn->ch = NULL;
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------------- local */

static void on_event(void *arg, const struct vamos_ivshmem_event *ev)
{
	struct test_host *h = arg;
	if (ev->kind == VAMOS_IVSHMEM_JOIN)
		atomic_store(&h->peer, ev->peer);
}

static void *server_loop(void *arg)
{
	struct test_host *h = arg;
	vamos_ivshmem_server_run(h->server, h->stop_fd);
	return NULL;
}

static const char *start_local(struct test_host *h)
{
	struct vamos_ivshmem_server_params p = {
		.socket_path = h->path,
		.region = {
			.channel_count = h->o.channels,
			.request_capacity = h->o.ring_capacity,
			.reply_capacity = h->o.ring_capacity,
		},
		.vectors = h->o.vectors,
		.on_event = on_event,
		.arg = h,
	};
	const char *why = NULL;
	if (vamos_ivshmem_server_start(&p, &h->server, &why))
		return why ? why : "server start failed";
	h->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (h->stop_fd < 0 || pthread_create(&h->server_thread, NULL, server_loop, h)) {
		vamos_ivshmem_server_stop(h->server);
		h->server = NULL;
		return "cannot start the server thread";
	}
	h->conn_count = h->o.channels;
	for (unsigned i = 0; i < h->conn_count; i++) {
		h->conns[i] = (struct th_conn){ .host = h, .index = i };
		if (pthread_create(&h->conns[i].thread, NULL, serve, &h->conns[i]))
			abort();
		h->conns[i].started = true;
	}
	return NULL;
}

/* -------------------------------------------------------------------- unix */

static void *accept_loop(void *arg)
{
	struct test_host *h = arg;
	while (!atomic_load(&h->stop)) {
		struct pollfd p = { .fd = h->listen_fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		struct vamos_chan *ch;
		if (vamos_stream_accept(h->listen_fd, NULL, &ch))
			continue;
		pthread_mutex_lock(&h->conns_lock);
		if (h->conn_count == TH_MAX_CONNS) {
			pthread_mutex_unlock(&h->conns_lock);
			vamos_chan_close(ch);
			continue;
		}
		struct th_conn *cn = &h->conns[h->conn_count];
		*cn = (struct th_conn){ .host = h, .index = h->conn_count, .ch = ch };
		if (pthread_create(&cn->thread, NULL, serve, cn))
			abort();
		cn->started = true;
		h->conn_count++;
		pthread_mutex_unlock(&h->conns_lock);
	}
	return NULL;
}

static const char *start_unix(struct test_host *h)
{
	unlink(h->path);
	h->listen_fd = vamos_stream_listen_unix(h->path, 64);
	if (h->listen_fd < 0)
		return "cannot listen on the unix socket";
	if (pthread_create(&h->accept_thread, NULL, accept_loop, h))
		abort();
	return NULL;
}

/* -------------------------------------------------------------------- host */

const char *th_start(struct test_host *h, const struct th_opts *o, const char *path,
		     struct th_log *log)
{
	memset(h, 0, sizeof *h);
	h->o = *o;
	if (!h->o.channels)
		h->o.channels = 2;
	if (!h->o.vectors)
		h->o.vectors = h->o.channels; /* no two channels share a wakeup */
	if (!h->o.ring_capacity)
		h->o.ring_capacity = 256u << 10;
	h->log = log;
	h->boot_id = rand64();
	h->stop_fd = h->listen_fd = -1;
	atomic_init(&h->stop, false);
	atomic_init(&h->peer, 0);
	pthread_mutex_init(&h->conns_lock, NULL);
	if (path) {
		snprintf(h->path, sizeof h->path, "%s", path);
	} else {
		snprintf(h->dir, sizeof h->dir, "/tmp/vamos-client-XXXXXX");
		if (!mkdtemp(h->dir))
			return "mkdtemp failed";
		snprintf(h->path, sizeof h->path, "%s/host.sock", h->dir);
	}
	const char *err = o->kind == TH_LOCAL ? start_local(h) : start_unix(h);
	if (!err)
		h->running = true;
	return err;
}

void th_stop(struct test_host *h)
{
	if (!h->running)
		return;
	atomic_store(&h->stop, true);
	if (h->o.kind == TH_UNIX)
		pthread_join(h->accept_thread, NULL);
	for (unsigned i = 0; i < h->conn_count; i++)
		if (h->conns[i].started)
			pthread_join(h->conns[i].thread, NULL);
	if (h->o.kind == TH_LOCAL) {
		uint64_t one = 1;
		if (write(h->stop_fd, &one, sizeof one) != sizeof one)
			abort();
		pthread_join(h->server_thread, NULL);
		close(h->stop_fd);
		vamos_ivshmem_server_stop(h->server);
		h->server = NULL;
	} else {
		close(h->listen_fd);
		unlink(h->path);
	}
	h->running = false;
}

void th_cleanup(struct test_host *h)
{
	th_stop(h);
	pthread_mutex_destroy(&h->conns_lock);
	if (h->dir[0]) {
		unlink(h->path);
		rmdir(h->dir);
	}
}

void th_client_params(const struct test_host *h, struct vamos_client_params *p,
		      int timeout_ms)
{
	memset(p, 0, sizeof *p);
	if (h->o.kind == TH_LOCAL) {
		p->transport = VAMOS_TRANSPORT_LOCAL;
		p->local_socket = h->path;
		p->local_vectors = h->o.vectors;
	} else {
		p->transport = VAMOS_TRANSPORT_UNIX;
		p->unix_path = h->path;
		p->channels = 2;
	}
	p->timeout_ms = timeout_ms;
}

void th_clear_env(void)
{
	static const char *const vars[] = {
		"VAMOS_TRANSPORT", "VAMOS_LOCAL_SOCKET", "VAMOS_LOCAL_VECTORS",
		"VAMOS_VSOCK_CID", "VAMOS_VSOCK_PORT", "VAMOS_UNIX_SOCKET",
		"VAMOS_POLL_US",
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}
