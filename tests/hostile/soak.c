/* SPDX-License-Identifier: MIT */
/*
 * The hostile-peer soak: vamosd serves two VMs. A hostile local peer
 * attacks the first (a file-backed region, so its file can be shrunk too):
 * random writes to the header, ring control blocks and records, eventfd
 * abuse (blocking flags, full counters, doorbell storms), joins and leaves
 * at any moment, malformed records and hostile requests. Meanwhile a
 * well-behaved client on the second VM checks every reply it gets. vamosd
 * must stay up, answer, stop on SIGTERM and report no sanitizer error.
 *
 * Runs VAMOS_SOAK_SECONDS (default 45) seconds; VAMOS_SOAK_SEED picks the
 * attacks (default: the time, printed so a failure can be replayed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "../vamosd/daemon.h"
#include "hostile_peer.h"

static struct daemon d;
static atomic_bool stop;

struct good {
	const char *sock;
	unsigned long long replies, blocking_replies;
	const char *err;       /* the client's thread only, until joined */
	atomic_bool failed;    /* polled by the attacker */
};

struct batch {
	uint64_t first;
	unsigned n, got;
	unsigned char seen[64];
	const char *err;
};

static void check_reply(void *arg, uint64_t id, int status, const void *data, uint32_t len)
{
	struct batch *b = arg;
	uint64_t got = 0;
	if (id < b->first || id >= b->first + b->n || b->seen[id - b->first]++)
		b->err = "a reply to no request of this batch, or twice";
	else if (status != 0 || len != 8 || (memcpy(&got, data, 8), got != id))
		b->err = "a reply with the wrong status or bytes";
	b->got++;
}

/* The well-behaved client: batches of echoes (and a short blocking
 * request in each), every reply checked. */
static void good_client(struct good *g)
{
	struct vamos_ivshmem_peer *p;
	const char *why;
	if (vamos_ivshmem_peer_connect(g->sock, 4, 5000, &p, &why)) {
		g->err = "the good client cannot join";
		return;
	}
	struct raw r[4];
	for (unsigned c = 0; c < 4; c++) {
		struct vamos_chan *ch;
		if (vamos_ivshmem_peer_channel(p, c, &ch) || (g->err = raw_open(&r[c], ch))) {
			g->err = g->err ? g->err : "cannot open a channel";
			return;
		}
	}
	uint64_t id = 0;
	for (unsigned c = 0; !atomic_load(&stop) && !g->err; c = (c + 1) % 4) {
		struct batch b = { .first = id, .n = 64 };
		for (unsigned i = 0; i < b.n; i++, id++)
			if (raw_request(&r[c], id, i == 0 ? VAMOS_SERVICE_SLEEP : VAMOS_SERVICE_ECHO,
					1, &id, 8)) {
				g->err = "cannot queue a request";
				break;
			}
		if (g->err || vamos_chan_flush(r[c].ch)) {
			g->err = g->err ? g->err : "flush failed";
			break;
		}
		while (b.got < b.n && !b.err)
			/* A guard against a frozen daemon, not a speed check. */
			if (raw_replies(&r[c], 60000, check_reply, &b) < 0)
				b.err = "replies stopped coming";
		g->err = b.err;
		g->replies += b.got;
		g->blocking_replies++;
	}
	for (unsigned c = 0; c < 4; c++)
		vamos_chan_close(r[c].ch);
	vamos_ivshmem_peer_close(p);
}

static void *good_thread(void *arg)
{
	struct good *g = arg;
	good_client(g);
	if (g->err)
		atomic_store(&g->failed, true);
	return NULL;
}

struct attacker {
	struct hostile_peer hp;
	bool joined;
	struct vamos_chan *ch;
	uint64_t rng;
	unsigned long long attacks, joins;
};

static void leave(struct attacker *a)
{
	if (a->ch)
		vamos_chan_close(a->ch);
	a->ch = NULL;
	if (a->joined)
		hostile_leave(&a->hp);
	a->joined = false;
}

/* A record of any type and length, or a request of any service and op. */
static void bad_record(struct attacker *a)
{
	uint64_t r = hostile_rand(&a->rng);
	unsigned char buf[256];
	for (unsigned i = 0; i < sizeof buf; i += 8) {
		uint64_t w = hostile_rand(&a->rng);
		memcpy(buf + i, &w, 8);
	}
	uint32_t len = (uint32_t)(r >> 8) % sizeof buf;
	uint16_t type = (uint16_t)(r % 5);
	if (type == VAMOS_MSG_REQUEST && len >= sizeof(struct vamos_request_header)) {
		struct vamos_request_header h = { .id = r, .service = (uint16_t)(r >> 40) % 4,
						  .op = (uint16_t)(r >> 20) };
		memcpy(buf, &h, sizeof h);
	}
	if (vamos_chan_send(a->ch, type, buf, len) == 0)
		vamos_chan_flush(a->ch);
}

static void attack(struct attacker *a, const char *sock, const char *file)
{
	uint64_t r = hostile_rand(&a->rng);
	a->attacks++;
	if (!a->joined) {
		if (!hostile_join(&a->hp, sock, 4)) {
			a->joined = true;
			a->joins++;
			if (hostile_channel(&a->hp, (uint32_t)(r >> 8) % 4, true, &a->ch))
				a->ch = NULL;
			if (a->ch && (r >> 16) % 2) {
				struct vamos_hello h = { VAMOS_PROTOCOL_VERSION, 0, r };
				if (vamos_chan_send(a->ch, VAMOS_MSG_HELLO, &h, sizeof h) == 0)
					vamos_chan_flush(a->ch);
			}
		}
		return;
	}
	unsigned v = (unsigned)(r >> 32) % a->hp.vectors;
	uint64_t ring = 1 + (r >> 40) % 1000;
	switch (r % 16) {
	case 0:
		leave(a);
		break;
	case 1: case 2: case 3: case 4: case 5:
		for (unsigned i = 0; i < 1 + (r >> 8) % 8; i++)
			hostile_scribble(&a->hp, &a->rng);
		break;
	case 6:
		hostile_clear_nonblock(a->hp.host_fds[v]);
		break;
	case 7:
		hostile_fill_eventfd(a->hp.own_fds[v]);
		hostile_clear_nonblock(a->hp.own_fds[v]);
		break;
	case 8:
		/* A doorbell storm (small values: the counter never fills). */
		for (unsigned i = 0; i < 64; i++)
			if (write(a->hp.host_fds[v], &ring, sizeof ring) < 0)
				break;
		break;
	case 9: case 10: case 11:
		if (a->ch)
			bad_record(a);
		break;
	case 12:
		if (a->ch) {
			/* Long blocking work, then maybe gone. */
			struct vamos_request_header h = { .id = r, .service = VAMOS_SERVICE_SLEEP,
							  .op = (uint16_t)((r >> 8) % 3000) };
			for (int i = 0; i < 8; i++)
				if (vamos_chan_send(a->ch, VAMOS_MSG_REQUEST, &h, sizeof h))
					break;
			vamos_chan_flush(a->ch);
		}
		break;
	case 13:
		/* Shrink the file (the host's mapping must not fault us out);
		 * our own mapping is gone with it, so leave. */
		if (truncate(file, (off_t)((r >> 8) % 4096)) == 0)
			leave(a);
		break;
	default:
		/* Let the host breathe: the soak is about surviving, not CPU. */
		usleep(1000);
		break;
	}
}

int main(void)
{
	const char *s = getenv("VAMOS_SOAK_SECONDS");
	long seconds = s ? strtol(s, NULL, 10) : 45;
	s = getenv("VAMOS_SOAK_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("soak: %ld s, VAMOS_SOAK_SEED=%llu\n", seconds, (unsigned long long)seed);

	char dir[] = "/tmp/vamos-soak-XXXXXX", sock[96], file[96], vm[256];
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof sock, "%s/bad.sock", dir);
	snprintf(file, sizeof file, "%s/bad.shm", dir);
	snprintf(vm, sizeof vm, "bad=%s,channels=4,vectors=4,ring_bytes=65536,shm_path=%s",
		 sock, file);
	const char *extra[] = { "--vm", vm, "--log-level", "error", NULL };
	const char *err = daemon_start(&d, 1, 1u << 16, extra);
	int failed = 0;
	if (err) {
		fprintf(stderr, "soak: %s\n", err);
		failed = 1;
		goto out;
	}

	struct good g = { .sock = d.vm_sock[0] };
	pthread_t t;
	pthread_create(&t, NULL, good_thread, &g);
	struct attacker a = { .rng = seed | 1 };
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end && !atomic_load(&g.failed))
		attack(&a, sock, file);
	leave(&a);
	atomic_store(&stop, true);
	pthread_join(t, NULL);

	printf("soak: %llu attacks (%llu joins); good client: %llu replies checked\n", a.attacks,
	       a.joins, g.replies);
	char *pong = daemon_ask(&d, "ping");
	if (!pong || strncmp(pong, "pong", 4)) {
		fprintf(stderr, "soak: vamosd does not answer\n");
		failed = 1;
	}
	free(pong);
	if (g.err) {
		fprintf(stderr, "soak: the good client: %s\n", g.err);
		failed = 1;
	}
	if (!g.replies) {
		fprintf(stderr, "soak: the good client got no reply at all\n");
		failed = 1;
	}
	int status = daemon_signal(&d, SIGTERM, true);
	if (status != 0) {
		fprintf(stderr, "soak: vamosd exited with %d on SIGTERM\n", status);
		failed = 1;
	}
	if (daemon_log_has(&d, "Sanitizer") || daemon_log_has(&d, "runtime error")) {
		fprintf(stderr, "soak: a sanitizer spoke:\n");
		char cmd[200];
		snprintf(cmd, sizeof cmd, "cat %s >&2", d.log);
		if (system(cmd)) {
		}
		failed = 1;
	}
out:
	daemon_cleanup(&d);
	unlink(sock);
	unlink(file);
	rmdir(dir);
	return failed;
}
