/* SPDX-License-Identifier: MIT */
/* vamosd as guests meet it: sessions on every channel, services, a
 * malicious client, back-pressure, blocking services, peers coming and
 * going, SIGTERM, SIGKILL and restart, restart in place (SIGUSR2), a dead
 * worker replaced by its keeper, stream clients, vamosctl. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vamos/client.h>
#include <vamos/protocol.h>
#include <vamos/ring.h>
#include <vamos/vsock.h>

#include "checks.h"
#include "daemon.h"
#include "scenarios.h"
#include "vamos_spin.h"

static struct daemon d;
static struct tally tally;

static void start(unsigned vms, uint32_t ring_bytes)
{
	const char *err = daemon_start(&d, vms, ring_bytes, NULL);
	cr_assert_null(err, "%s", err);
	memset(&tally, 0, sizeof tally);
}

static struct vamos_ivshmem_peer *join(unsigned vm)
{
	struct vamos_ivshmem_peer *p;
	const char *why = NULL;
	int rc = vamos_ivshmem_peer_connect(d.vm_sock[vm], 4, 5000, &p, &why);
	cr_assert_eq(rc, 0, "vm%u: %s (%s)", vm, why, strerror(-rc));
	return p;
}

static void open_raw(struct vamos_ivshmem_peer *p, unsigned index, struct raw *r)
{
	struct vamos_chan *ch;
	cr_assert_eq(vamos_ivshmem_peer_channel(p, index, &ch), 0);
	const char *err = raw_open(r, ch);
	cr_assert_null(err, "%s", err);
	cr_assert_neq(r->boot_id, 0);
}

/* Send ids [first, first+n) to ECHO with their id as bytes; take replies
 * until all are in. */
static void echo_ids(struct raw *r, uint64_t first, unsigned n)
{
	unsigned before = tally.replies;
	for (uint64_t id = first; id < first + n; id++) {
		int rc;
		while ((rc = raw_request(r, id, VAMOS_SERVICE_ECHO, 0, &id, 8)) == -EAGAIN) {
			cr_assert_eq(vamos_chan_flush(r->ch), 0);
			cr_assert_geq(raw_replies(r, 5000, tally_reply, &tally), 0);
		}
		cr_assert_eq(rc, 0);
	}
	cr_assert_eq(vamos_chan_flush(r->ch), 0);
	while (tally.replies - before < n)
		cr_assert_geq(raw_replies(r, 5000, tally_reply, &tally), 0, "replies stopped");
}

struct sized {
	unsigned replies, wrong;
	uint64_t id;
	uint32_t len;
};

static void sized_reply(void *arg, uint64_t id, int status, const void *data, uint32_t len)
{
	struct sized *z = arg;
	(void)data;
	z->replies++;
	z->wrong += id != z->id || status != 0 || len != z->len;
}

/* One echo of @len bytes, sent and answered; a guard of 30 s against a
 * livelock (nothing here waits on a clock otherwise). */
static void echo_sized(struct raw *r, uint64_t id, uint32_t len)
{
	static unsigned char bytes[1u << 16];
	struct sized z = { .id = id, .len = len };
	int64_t deadline = vamos_now_ns() + 30 * 1000000000ll;
	int rc;
	while ((rc = raw_request(r, id, VAMOS_SERVICE_ECHO, 0, bytes, len)) == -EAGAIN) {
		cr_assert_eq(vamos_chan_flush(r->ch), 0);
		cr_assert_lt(vamos_now_ns(), deadline, "no room for a %u-byte request", len);
		usleep(1000);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(vamos_chan_flush(r->ch), 0);
	while (z.replies == 0) {
		rc = raw_replies(r, 100, sized_reply, &z);
		cr_assert(rc >= 0 || rc == -ETIMEDOUT, "%s", strerror(-rc));
		cr_assert_lt(vamos_now_ns(), deadline, "no reply to a %u-byte echo", len);
	}
	cr_assert_eq(z.replies, 1);
	cr_assert_eq(z.wrong, 0);
}

/* Records over half a ring that must wrap: the ring's end is padded and
 * the record fits only once the other side has read past the padding.
 * Both ways, with nothing else moving: vamosd publishes the padding of a
 * reply that did not fit yet, and gives back the room of the client's
 * padding even when no request follows it yet. */
Test(vamosd, records_over_half_a_ring_wrap_both_ways, .timeout = 120)
{
	const uint32_t ring = 4096;
	start(1, ring);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	/* Record sizes: 8 (record) + 16 (request or reply header) + bytes.
	 * After the HELLO and WELCOME, the first echo ends both rings near
	 * their middle; the second needs more than either half. */
	const uint32_t over = VAMOS_RECORD_HEADER_SIZE + sizeof(struct vamos_reply_header);
	const uint32_t welcome = (uint32_t)vamos_record_size(sizeof(struct vamos_welcome));
	for (uint64_t round = 0; round < 4; round++) {
		echo_sized(&r, 2 * round, ring / 2 - welcome - over);
		echo_sized(&r, 2 * round + 1, ring / 2 + 256 - over);
	}
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, serves_every_channel_of_every_vm, .timeout = 120)
{
	start(3, 1u << 16);
	uint64_t id = 0;
	for (unsigned vm = 0; vm < 3; vm++) {
		struct vamos_ivshmem_peer *p = join(vm);
		for (unsigned c = 0; c < 4; c++) {
			struct raw r;
			open_raw(p, c, &r);
			echo_ids(&r, id, 1000);
			id += 1000;
			vamos_chan_close(r.ch);
		}
		vamos_ivshmem_peer_close(p);
	}
	cr_assert_eq(tally.replies, 12000);
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	daemon_cleanup(&d);
}

Test(vamosd, unknown_services_get_enoent_and_noop_answers_empty)
{
	start(1, 1u << 16);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	cr_assert_eq(raw_request(&r, 1, 999, 0, NULL, 0), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (tally.replies < 1)
		cr_assert_geq(raw_replies(&r, 5000, tally_reply, &tally), 0);
	cr_assert_eq(tally.last_status, -ENOENT);
	cr_assert_eq(raw_request(&r, 2, VAMOS_SERVICE_NOOP, 0, NULL, 0), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (tally.replies < 2)
		cr_assert_geq(raw_replies(&r, 5000, tally_reply, &tally), 0);
	cr_assert_eq(tally.last_status, 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, a_malicious_client_ends_only_its_sessions, .timeout = 60)
{
	start(2, 1u << 16);
	struct vamos_ivshmem_peer *bad = join(0), *good = join(1);
	struct vamos_chan *ch;
	/* Channel 0: a request before HELLO. */
	cr_assert_eq(vamos_ivshmem_peer_channel(bad, 0, &ch), 0);
	struct vamos_request_header h = { .id = 1, .service = VAMOS_SERVICE_ECHO };
	cr_assert_eq(vamos_chan_send(ch, VAMOS_MSG_REQUEST, &h, sizeof h), 0);
	cr_assert_eq(vamos_chan_flush(ch), 0);
	vamos_chan_close(ch);
	/* Channel 1: a record of an unknown type after a proper HELLO. */
	struct raw r1, r2, r3, ok;
	open_raw(bad, 1, &r1);
	cr_assert_eq(vamos_chan_send(r1.ch, 0x77, "junk", 4), 0);
	cr_assert_eq(vamos_chan_flush(r1.ch), 0);
	/* Channel 2: a request shorter than its header. */
	open_raw(bad, 2, &r2);
	cr_assert_eq(vamos_chan_send(r2.ch, VAMOS_MSG_REQUEST, "shrt", 4), 0);
	cr_assert_eq(vamos_chan_flush(r2.ch), 0);
	/* Channel 3: a record header that claims 1 GiB. */
	open_raw(bad, 3, &r3);
	void *q;
	cr_assert_eq(vamos_chan_reserve(r3.ch, 16, &q), 0);
	cr_assert_eq(vamos_chan_commit(r3.ch, VAMOS_MSG_REQUEST, 16), 0);
	uint64_t lie = vamos_record_header(1u << 30, VAMOS_MSG_REQUEST);
	memcpy((char *)q - VAMOS_RECORD_HEADER_SIZE, &lie, sizeof lie);
	cr_assert_eq(vamos_chan_flush(r3.ch), 0);

	/* Every bad session ends, counted; nobody else notices. */
	for (int i = 0; i < 500 && daemon_stat(&d, "vm0", 8) < 4; i++)
		usleep(10000);
	cr_assert_eq(daemon_stat(&d, "vm0", 8), 4, "each bad session counted once");
	open_raw(good, 0, &ok);
	echo_ids(&ok, 0, 500);
	cr_assert_eq(tally.replies, 500);
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	vamos_chan_close(r1.ch);
	vamos_chan_close(r2.ch);
	vamos_chan_close(r3.ch);
	vamos_chan_close(ok.ch);
	vamos_ivshmem_peer_close(bad);
	vamos_ivshmem_peer_close(good);
	/* The daemon itself is fine: it still answers and stops cleanly. */
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0);
	daemon_cleanup(&d);
}

Test(vamosd, back_pressure_drops_nothing, .timeout = 120)
{
	/* Small rings, a client that stops reading replies: vamosd must hold
	 * requests until there is room for their replies, never drop one. */
	start(1, 4096);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	unsigned sent = 0;
	for (int round = 0; round < 50; round++) {
		uint64_t id = sent;
		while (raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8) == 0)
			id = ++sent;
		cr_assert_eq(vamos_chan_flush(r.ch), 0);
		usleep(2000); /* vamosd fills our reply ring meanwhile */
	}
	cr_assert_gt(sent, 200, "the request ring filled repeatedly");
	while (tally.replies < sent) {
		cr_assert_geq(raw_replies(&r, 5000, tally_reply, &tally), 0, "replies stopped at %u/%u",
			      tally.replies, sent);
		/* Keep what is left flowing. */
		cr_assert_eq(vamos_chan_flush(r.ch), 0);
	}
	cr_assert_eq(tally.replies, sent);
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, slow_service_with_full_rings_drops_nothing, .timeout = 120)
{
	/* Blocking requests whose replies find the reply ring full wait on
	 * the poller and go out as the client makes room. */
	start(1, 4096);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	unsigned sent = 0;
	for (int round = 0; round < 20; round++) {
		uint64_t id = sent;
		while (raw_request(&r, id, VAMOS_SERVICE_SLEEP, 1, &id, 8) == 0)
			id = ++sent;
		cr_assert_eq(vamos_chan_flush(r.ch), 0);
		usleep(20000); /* the pool answers; our reply ring fills */
	}
	cr_assert_gt(sent, 100);
	while (tally.replies < sent) {
		cr_assert_geq(raw_replies(&r, 10000, tally_reply, &tally), 0, "replies stopped at %u/%u",
			      tally.replies, sent);
		cr_assert_eq(vamos_chan_flush(r.ch), 0);
	}
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	cr_assert_eq(daemon_stat(&d, "vm0", 9), 0, "nothing left in flight");
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

static void note_first(void *arg, uint64_t id, int status, const void *data, uint32_t len)
{
	uint64_t *first = arg;
	if (!*first)
		*first = id;
	(void)status, (void)data, (void)len;
}

Test(vamosd, a_blocking_request_never_stalls_other_channels, .timeout = 60)
{
	start(1, 1u << 16);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw slow, fast;
	open_raw(p, 0, &slow);
	open_raw(p, 1, &fast);
	/* Channel 0 asks SLEEP to block 3 s; channel 1 asks ECHO after it. */
	cr_assert_eq(raw_request(&slow, 100, VAMOS_SERVICE_SLEEP, 3000, NULL, 0), 0);
	cr_assert_eq(vamos_chan_flush(slow.ch), 0);
	while (daemon_stat(&d, "vm0", 9) < 1) /* in flight on the pool */
		usleep(1000);
	uint64_t id = 7, first = 0;
	cr_assert_eq(raw_request(&fast, 7, VAMOS_SERVICE_ECHO, 0, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(fast.ch), 0);
	while (!first)
		cr_assert_geq(raw_replies(&fast, 10000, note_first, &first), 0);
	cr_assert_eq(first, 7);
	/* The sleeper is still out when the echo is back. */
	cr_assert_eq(daemon_stat(&d, "vm0", 9), 1, "SLEEP still in flight");
	first = 0;
	while (!first)
		cr_assert_geq(raw_replies(&slow, 10000, note_first, &first), 0);
	cr_assert_eq(first, 100);
	vamos_chan_close(slow.ch);
	vamos_chan_close(fast.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, peers_come_and_go, .timeout = 60)
{
	start(1, 1u << 16);
	struct vamos_ivshmem_peer *p = join(0);
	/* One VM, one peer: a second is turned away. */
	struct vamos_ivshmem_peer *second;
	const char *why = NULL;
	cr_assert_neq(vamos_ivshmem_peer_connect(d.vm_sock[0], 4, 2000, &second, &why), 0);
	struct raw r;
	open_raw(p, 2, &r);
	echo_ids(&r, 0, 100);
	/* Vanish mid-batch: requests queued, never flushed. */
	uint64_t id = 100;
	cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8), 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	/* The next peer gets fresh rings and is served. */
	for (int tries = 0; tries < 100; tries++) {
		if (vamos_ivshmem_peer_connect(d.vm_sock[0], 4, 2000, &p, &why) == 0)
			break;
		p = NULL;
		usleep(20000);
	}
	cr_assert_not_null(p, "%s", why);
	open_raw(p, 2, &r);
	echo_ids(&r, 200, 100);
	cr_assert_eq(tally.replies, 200);
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	char *stats = daemon_ask(&d, "stats");
	cr_assert(stats && strstr(stats, "joins 2"), "%s", stats);
	free(stats);
	daemon_cleanup(&d);
}

/* How many sessions the "poller K: ..." line of `stats` gives poller
 * @k, or -1 if there is no such line. */
static int poller_sessions(unsigned k)
{
	char *stats = daemon_ask(&d, "stats");
	cr_assert_not_null(stats);
	char head[32];
	snprintf(head, sizeof head, "\npoller %u: ", k);
	const char *line = strstr(stats, head);
	const char *end = line ? strchr(line + 1, '\n') : NULL;
	const char *count = line ? strstr(line, " sessions") : NULL;
	int n = -1;
	if (count && (!end || count < end)) {
		while (count > line && count[-1] != ' ')
			count--;
		n = atoi(count);
	}
	free(stats);
	return n;
}

/* Wait until poller @k serves @n sessions (the main thread publishes a
 * peer's sessions once it has seen it join or leave). */
static void await_poller_sessions(unsigned k, int n)
{
	int got;
	while ((got = poller_sessions(k)) != n) {
		cr_assert_geq(got, 0, "no line for poller %u in stats", k);
		usleep(10000);
	}
}

Test(vamosd, vms_share_the_hosts_poller_and_one_leaving_leaves_the_other_served,
     .timeout = 60)
{
	static const char *const one[] = { "--pollers", "1", NULL };
	const char *err = daemon_start(&d, 2, 1u << 16, one);
	cr_assert_null(err, "%s", err);
	memset(&tally, 0, sizeof tally);
	/* One poller for the host, not one per VM: both VMs' 4 channels are
	 * its sessions. */
	struct vamos_ivshmem_peer *p0 = join(0), *p1 = join(1);
	await_poller_sessions(0, 8);
	cr_assert_eq(poller_sessions(1), -1, "a second poller with --pollers 1");
	struct raw r0, r1;
	open_raw(p0, 1, &r0);
	open_raw(p1, 1, &r1);
	/* Ids are unique over the test (one tally). */
	echo_ids(&r0, 0, 100);
	echo_ids(&r1, 100, 100);

	/* vm0's peer leaves with a request queued: its sessions come off the
	 * shared poller, and vm1 is served on. */
	uint64_t id = 200;
	cr_assert_eq(raw_request(&r0, id, VAMOS_SERVICE_ECHO, 0, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r0.ch), 0);
	vamos_chan_close(r0.ch);
	vamos_ivshmem_peer_close(p0);
	await_poller_sessions(0, 4);
	echo_ids(&r1, 300, 500);

	/* It comes back and shares the poller again. */
	p0 = join(0);
	await_poller_sessions(0, 8);
	open_raw(p0, 1, &r0);
	echo_ids(&r0, 800, 100);
	echo_ids(&r1, 900, 100);
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	char *stats = daemon_ask(&d, "stats");
	cr_assert(stats && strstr(stats, "\npollers      1 for every VM"), "%s", stats);
	free(stats);
	vamos_chan_close(r0.ch);
	vamos_chan_close(r1.ch);
	vamos_ivshmem_peer_close(p0);
	vamos_ivshmem_peer_close(p1);
	daemon_cleanup(&d);
}

/* ------------------------------------------- the balancer (pollers_balance.h) */

/* Echoes on one channel, 64 in flight, ids in order, until told to stop:
 * every reply must come once, in order, whatever poller writes it. */
struct pipelined {
	struct raw r;
	atomic_bool stop;
	uint64_t sent, next;
	unsigned wrong;
	const char *err;
};

static void in_order(void *arg, uint64_t id, int status, const void *data, uint32_t len)
{
	struct pipelined *p = arg;
	uint64_t got = 0;
	if (len == 8)
		memcpy(&got, data, 8);
	p->wrong += id != p->next || status != 0 || got != id;
	/* Relaxed: the test's main thread only watches it grow. */
	__atomic_store_n(&p->next, id + 1, __ATOMIC_RELAXED);
}

static void *pipeline(void *arg)
{
	struct pipelined *p = arg;
	while (!atomic_load(&p->stop) || p->next < p->sent) {
		while (!atomic_load(&p->stop) && p->sent - p->next < 64 &&
		       raw_request(&p->r, p->sent, VAMOS_SERVICE_ECHO, 0, &p->sent, 8) == 0)
			p->sent++;
		if (vamos_chan_flush(p->r.ch) || raw_replies(&p->r, 10000, in_order, p) < 0) {
			p->err = "replies stopped coming";
			break;
		}
	}
	return NULL;
}

/* The VM's "on pollers" list in `stats` ("0,1", "none"), in @out. */
static void vm_pollers(char *out, size_t size)
{
	char *stats = daemon_ask(&d, "stats");
	cr_assert_not_null(stats);
	const char *at = strstr(stats, ", on pollers ");
	cr_assert_not_null(at, "%s", stats);
	at += strlen(", on pollers ");
	size_t n = strcspn(at, "\n");
	snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), at);
	free(stats);
}

/* Wait until the VM's channels are on the pollers @want ("0", "0,1"...):
 * the balancer's doing, on its own time (the test's timeout is the bound). */
static void await_vm_pollers(const char *const *want)
{
	for (;;) {
		char got[64];
		vm_pollers(got, sizeof got);
		for (unsigned i = 0; want[i]; i++)
			if (!strcmp(got, want[i]))
				return;
		usleep(20000);
	}
}

/* Whether two busy channels spread over two pollers depends on whether
 * the poller they share is the bottleneck, which on a shared machine the
 * scheduler decides (clients that lose their cores leave it idle): the
 * spread rule is tested on the plan (test_balance_units.c) and a move under
 * traffic in process (pollers_moving.c). Here, in the real daemon: idle
 * channels pack onto one poller, traffic while the balancer measures and
 * moves as it sees fit loses, repeats and reorders nothing, and idle again
 * they are on one poller. */
Test(vamosd, idle_channels_pack_and_traffic_under_the_balancer_loses_nothing, .timeout = 120)
{
	static const char *const two[] = { "--pollers", "2", NULL };
	static const char *const one_poller[] = { "0", "1", NULL };
	const char *err = daemon_start(&d, 1, 1u << 16, two);
	cr_assert_null(err, "%s", err);
	/* Dealt at attach: two channels on each poller. Idle, they pack
	 * onto one, and the other poller sleeps with nothing to serve. */
	struct vamos_ivshmem_peer *peer = join(0);
	await_vm_pollers(one_poller);
	/* Two channels busy for a count of replies, not a time. */
	static struct pipelined busy[2];
	pthread_t t[2];
	for (unsigned c = 0; c < 2; c++) {
		memset(&busy[c], 0, sizeof busy[c]);
		open_raw(peer, c, &busy[c].r);
		cr_assert_eq(pthread_create(&t[c], NULL, pipeline, &busy[c]), 0);
	}
	for (unsigned c = 0; c < 2; c++)
		while (__atomic_load_n(&busy[c].next, __ATOMIC_RELAXED) < 20000)
			usleep(10000);
	for (unsigned c = 0; c < 2; c++) {
		atomic_store(&busy[c].stop, true);
		pthread_join(t[c], NULL);
		cr_assert_null(busy[c].err, "%s", busy[c].err);
		cr_assert_eq(busy[c].wrong, 0, "replies lost, repeated or out of order");
		cr_assert_geq(busy[c].next, 20000);
	}
	/* Idle again: on one poller (where they stayed, or packed back). */
	await_vm_pollers(one_poller);
	char *stats = daemon_ask(&d, "stats");
	cr_assert(stats && strstr(stats, "sessions moved by load") &&
			  !strstr(stats, " 0 sessions moved by load"),
		  "%s", stats);
	free(stats);
	for (unsigned c = 0; c < 2; c++)
		vamos_chan_close(busy[c].r.ch);
	vamos_ivshmem_peer_close(peer);
	daemon_cleanup(&d);
}

Test(vamosd, sigterm_drains_in_flight_requests, .timeout = 60)
{
	start(1, 1u << 16);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	for (uint64_t id = 1; id <= 4; id++)
		cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_SLEEP, 300, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (daemon_stat(&d, "vm0", 9) < 4)
		usleep(1000);
	cr_assert_eq(daemon_signal(&d, SIGTERM, false), 0);
	int rc;
	/* All four answered before the host goes away... */
	while (tally.replies < 4)
		cr_assert_geq(raw_replies(&r, 10000, tally_reply, &tally), 0);
	cr_assert_eq(tally.errors + tally.duplicates + tally.corrupt, 0);
	/* ...then it is gone, cleanly. */
	int status;
	cr_assert_eq(waitpid(d.pid, &status, 0), d.pid);
	d.pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rc = vamos_chan_wait(r.ch, 5000);
	cr_assert_eq(rc, -ECONNRESET, "wait: %d (%s)", rc, vamos_chan_error(r.ch));
	cr_assert_lt(access(d.control, F_OK), 0, "control socket removed");
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, sigkill_then_restart_serves_again, .timeout = 60)
{
	start(1, 1u << 16);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	echo_ids(&r, 0, 100);
	uint64_t boot = r.boot_id;
	cr_assert_eq(daemon_signal(&d, SIGKILL, true), 128 + SIGKILL);
	/* The local peer learns it from its server socket. */
	int rc = 0;
	for (int i = 0; i < 100 && rc == 0; i++) {
		rc = vamos_ivshmem_peer_dispatch(p);
		usleep(10000);
	}
	cr_assert_eq(rc, -ECONNRESET);
	cr_assert_eq(vamos_chan_flush(r.ch), -ECONNRESET);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	/* Stale sockets are in the way; the new vamosd replaces them. */
	const char *err = daemon_restart(&d, 1, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	p = join(0);
	open_raw(p, 0, &r);
	cr_assert_neq(r.boot_id, boot, "a new boot id tells clients vamosd restarted");
	echo_ids(&r, 100, 100);
	cr_assert_eq(tally.replies, 200);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

/* The boot id vamosctl stats shows first. */
static unsigned long long boot_of_stats(void)
{
	char *st = daemon_ask(&d, "stats");
	unsigned long long boot = 0;
	if (st)
		sscanf(st, "vamosd boot %llx", &boot);
	free(st);
	return boot;
}

/* Wait until stats show a boot id other than @old; return it. */
static unsigned long long wait_new_boot(unsigned long long old)
{
	unsigned long long now = old;
	for (int i = 0; i < 1000 && (now == old || now == 0); i++) {
		usleep(10000);
		now = boot_of_stats();
	}
	cr_assert(now != old && now != 0, "no new boot id after %llx", old);
	return now;
}

/* One VM, a peer on its channel 0 answered 100 echoes; its boot id. */
static unsigned long long serving_peer(struct vamos_ivshmem_peer **p, struct raw *r)
{
	start(1, 1u << 16);
	*p = join(0);
	open_raw(*p, 0, r);
	echo_ids(r, 0, 100);
	unsigned long long boot = boot_of_stats();
	cr_assert_neq(boot, 0);
	return boot;
}

Test(vamosd, sigusr2_restarts_in_place_and_the_peer_carries_on, .timeout = 60)
{
	struct vamos_ivshmem_peer *p;
	struct raw r;
	unsigned long long boot = serving_peer(&p, &r);

	/* Requests in flight when the signal comes (taken, and sleeping in
	 * the blocking pool) and requests published while it restarts. */
	for (uint64_t id = 100; id < 104; id++)
		cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_SLEEP, 200, &id, 8), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	while (daemon_stat(&d, "vm0", 9) < 4)
		usleep(1000);
	cr_assert_eq(daemon_signal(&d, SIGUSR2, false), 0);
	echo_ids(&r, 200, 1000);
	while (tally.replies < 1104)
		cr_assert_geq(raw_replies(&r, 10000, tally_reply, &tally), 0, "replies stopped");
	/* Every one answered once, by one process or the other. */
	cr_assert_eq(tally.replies, 1104);
	cr_assert_eq(tally.errors + tally.duplicates + tally.corrupt, 0);

	/* The same process, a new boot id, and the peer never disconnected:
	 * a QEMU would not have noticed. */
	wait_new_boot(boot);
	cr_assert_eq(waitpid(d.pid, NULL, WNOHANG), 0, "vamosd exited");
	cr_assert_eq(vamos_ivshmem_peer_dispatch(p), 0);
	cr_assert_eq(vamos_region_current(vamos_ivshmem_peer_region(p)), 1);
	echo_ids(&r, 2000, 100);
	cr_assert_eq(tally.errors, 0);

	/* And it still stops cleanly. */
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, a_dead_worker_is_replaced_and_the_vm_keeps_its_device, .timeout = 60)
{
	struct vamos_ivshmem_peer *p;
	struct raw r;
	unsigned long long boot = serving_peer(&p, &r);
	pid_t worker = daemon_worker(&d);
	cr_assert_gt(worker, 0, "vamosd runs a worker");
	cr_assert_eq(kill(worker, SIGKILL), 0);
	unsigned long long now = wait_new_boot(boot);
	cr_assert_eq(waitpid(d.pid, NULL, WNOHANG), 0, "the keeper exited");
	cr_assert_neq(daemon_worker(&d), worker);
	/* The peer's connection, memory and eventfds were kept: no leave. The
	 * host generation moved, so a guest fails what it had in flight and
	 * attaches again, to rings that are intact. */
	cr_assert_eq(vamos_ivshmem_peer_dispatch(p), 0);
	const struct vamos_region *region = vamos_ivshmem_peer_region(p);
	cr_assert_eq(vamos_region_current(region), 0);
	cr_assert(vamos_region_same_layout(region));
	struct vamos_region again;
	cr_assert_eq(vamos_region_attach(region->base, region->size, &again), 0);
	cr_assert_eq(again.generation, region->generation + 1);
	cr_assert_eq(vamos_region_current(&again), 1);

	/* Its channels are served by the new worker: a client that leaves
	 * and comes back is too. */
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	p = join(0);
	open_raw(p, 0, &r);
	cr_assert_eq(r.boot_id, now);
	echo_ids(&r, 1000, 100);
	cr_assert_eq(tally.errors, 0);
	/* SIGTERM to the keeper stops the worker, then the keeper: status 0. */
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0);
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}

Test(vamosd, stream_clients_and_vamosctl, .timeout = 60)
{
	start(1, 1u << 16);
	struct raw r[3];
	for (int i = 0; i < 3; i++) {
		struct vamos_chan *ch;
		cr_assert_eq(vamos_stream_connect_unix(d.stream_sock, NULL, &ch), 0);
		const char *err = raw_open(&r[i], ch);
		cr_assert_null(err, "%s", err);
		echo_ids(&r[i], (uint64_t)i * 100, 100);
	}
	cr_assert_eq(tally.replies, 300);
	cr_assert_eq(tally.duplicates + tally.corrupt + tally.errors, 0);
	cr_assert_eq(daemon_stat(&d, "streams", 1), 300);

	/* vamosctl, the real binary, both formats. */
	const char *ctl = getenv("VAMOSCTL");
	cr_assert_not_null(ctl);
	char cmd[512], out[256];
	snprintf(cmd, sizeof cmd, "%s --control %s stats --prometheus", ctl, d.control);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	int found = 0;
	while (fgets(out, sizeof out, f))
		found |= !strcmp(out, "vamos_requests_total{vm=\"streams\"} 300\n");
	cr_assert_eq(pclose(f), 0);
	cr_assert(found, "prometheus text counts the 300 requests");
	snprintf(cmd, sizeof cmd, "%s --control %s stats | grep -c '^streams '", ctl, d.control);
	f = popen(cmd, "r");
	cr_assert(fgets(out, sizeof out, f));
	pclose(f);
	cr_assert_eq(atoi(out), 2, "table has the streams rows");
	snprintf(cmd, sizeof cmd, "%s --control %s/nowhere.sock stats 2>/dev/null", ctl, d.dir);
	cr_assert_neq(system(cmd), 0, "vamosctl fails clearly when vamosd is not there");
	for (int i = 0; i < 3; i++)
		vamos_chan_close(r[i].ch);
	/* Ended stream sessions are swept; their counts stay. */
	for (int i = 0; i < 100; i++) {
		char *text = daemon_ask(&d, "stats");
		bool swept = text && strstr(text, " 0 connected");
		free(text);
		if (swept)
			break;
		usleep(20000);
	}
	cr_assert_eq(daemon_stat(&d, "streams", 1), 300);
	daemon_cleanup(&d);
}

Test(vamosd, many_clients_at_once, .timeout = 300)
{
	const char *err = scenario_vamosd_many_clients(3000);
	cr_assert_null(err, "%s", err);
}

Test(vamosd, a_vm_comes_and_goes_on_the_poller_a_busy_vm_shares, .timeout = 300)
{
	const char *err = scenario_vamosd_vms_share_a_poller(2000);
	cr_assert_null(err, "%s", err);
}

Test(vamosd, busy_channels_are_served_by_many_pollers_that_sleep_when_idle, .timeout = 300)
{
	const char *err = scenario_vamosd_busy_channels_many_pollers(5000);
	cr_assert_null(err, "%s", err);
}

/* The client library against the real daemon: vamosd dies with requests
 * in flight, comes back, and the same client carries on. */
Test(vamosd, client_survives_vamosd_sigkill_and_restart, .timeout = 120)
{
	start(1, 1u << 16);
	struct vamos_client_params params = {
		.transport = VAMOS_TRANSPORT_LOCAL,
		.local_socket = d.vm_sock[0],
		.local_vectors = 4,
		.timeout_ms = 5000,
	};
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&params, &c, &why), 0, "%s", why);
	char out[16];
	uint32_t n = 0;
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_ECHO, 0, "before", 6, out, sizeof out, &n, 5000), 0);
	cr_assert(n == 6 && !memcmp(out, "before", 6));

	/* Ten requests that block a second each, then the daemon dies. */
	struct vamos_session *s = vamos_session_get(c);
	uint64_t ids[10];
	for (int i = 0; i < 10; i++)
		cr_assert_eq(vamos_session_submit(s, VAMOS_SERVICE_SLEEP, 1000, NULL, 0, &ids[i]), 0);
	cr_assert_eq(vamos_session_flush(s), 0);
	while (daemon_stat(&d, "vm0", 9) < 4)
		usleep(1000);
	cr_assert_eq(daemon_signal(&d, SIGKILL, true), 128 + SIGKILL);

	/* Every one of them fails, exactly once; none is lost. */
	int failed = 0;
	struct vamos_completion done[16];
	while (failed < 10) {
		int k = vamos_session_complete(s, done, 16, 10000);
		cr_assert_gt(k, 0, "completions stopped after %d (%d)", failed, k);
		for (int i = 0; i < k; i++) {
			cr_assert_eq(done[i].status, -ECONNRESET);
			failed++;
		}
	}
	cr_assert_eq(vamos_session_in_flight(s), 0);

	/* Back again: the next call reconnects on its own. */
	const char *err = daemon_restart(&d, 1, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_ECHO, 0, "after", 5, out, sizeof out, &n, 5000), 0,
		     "%s", vamos_client_error(c) ? vamos_client_error(c) : "");
	cr_assert(n == 5 && !memcmp(out, "after", 5));
	/* The daemon that restarted never saw the killed requests again. */
	cr_assert_eq(daemon_stat(&d, "vm0", 1), 1);
	vamos_client_close(c);
	daemon_cleanup(&d);
}

/* One echo on the calling thread's session. */
static void *echo_once(void *arg)
{
	struct vamos_client *c = arg;
	char out[8];
	uint32_t n = 0;
	int rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "idle", 4, out, sizeof out, &n, 5000);
	return (void *)(intptr_t)(rc == 0 && n == 4 ? 0 : rc ? rc : -EPROTO);
}

/* A local-peer client whose worker dies (the keeper keeps its connection)
 * carries on at the new host generation on the same connection, even
 * while a session that has been idle since still holds its old channel:
 * a new join would be refused, the VM has one peer slot. */
Test(vamosd, local_client_with_idle_sessions_survives_worker_deaths, .timeout = 120)
{
	start(1, 1u << 16);
	struct vamos_client_params params = {
		.transport = VAMOS_TRANSPORT_LOCAL,
		.local_socket = d.vm_sock[0],
		.local_vectors = 4,
		.timeout_ms = 5000,
	};
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&params, &c, &why), 0, "%s", why);
	/* Another thread's session opens its channel, then stays idle. */
	pthread_t idle;
	void *res;
	cr_assert_eq(pthread_create(&idle, NULL, echo_once, c), 0);
	cr_assert_eq(pthread_join(idle, &res), 0);
	cr_assert_eq((intptr_t)res, 0);
	unsigned long long boot = boot_of_stats();
	for (int death = 0; death < 4; death++) {
		pid_t worker = daemon_worker(&d);
		cr_assert_gt(worker, 0, "vamosd runs a worker");
		cr_assert_eq(kill(worker, SIGKILL), 0);
		boot = wait_new_boot(boot);
		char out[8];
		uint32_t n = 0;
		int rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "again", 5, out, sizeof out, &n, 5000);
		cr_assert_eq(rc, 0, "death %d: %s (%s)", death + 1, strerror(-rc),
			     vamos_client_error(c) ? vamos_client_error(c) : "");
		cr_assert(n == 5 && !memcmp(out, "again", 5));
	}
	cr_assert_eq(pthread_create(&idle, NULL, echo_once, c), 0);
	cr_assert_eq(pthread_join(idle, &res), 0);
	cr_assert_eq((intptr_t)res, 0, "the idle session carries on too");
	vamos_client_close(c);
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0);
	daemon_cleanup(&d);
}

Test(vamosd, sigterm_with_a_guest_that_never_reads_still_stops, .timeout = 120)
{
	/* The reply ring is full and the guest never makes room: vamosd
	 * gives up draining after its limit instead of hanging. */
	start(1, 4096);
	struct vamos_ivshmem_peer *p = join(0);
	struct raw r;
	open_raw(p, 0, &r);
	for (int round = 0; round < 10; round++) {
		uint64_t id = 0;
		while (raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8) == 0)
			id++;
		cr_assert_eq(vamos_chan_flush(r.ch), 0);
		usleep(5000);
	}
	cr_assert_eq(daemon_signal(&d, SIGTERM, true), 0, "stopped cleanly");
	FILE *log = fopen(d.log, "r");
	cr_assert_not_null(log);
	char line[256];
	int gave_up = 0;
	while (fgets(line, sizeof line, log))
		gave_up |= strstr(line, "gave up draining") != NULL;
	fclose(log);
	cr_assert(gave_up, "the log says why the drain was cut short");
	vamos_chan_close(r.ch);
	vamos_ivshmem_peer_close(p);
	daemon_cleanup(&d);
}
