/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vamos/protocol.h>
#include <vamos/vsock.h>

#include "checks.h"
#include "daemon.h"
#include "scenarios.h"

struct driver {
	struct vamos_chan *ch;
	unsigned requests;
	const char *err;
	struct tally tally;
};

static void *drive(void *arg)
{
	struct driver *dr = arg;
	struct raw r;
	if ((dr->err = raw_open(&r, dr->ch)))
		return NULL;
	unsigned sent = 0;
	while (dr->tally.replies < dr->requests) {
		while (sent < dr->requests && sent - dr->tally.replies < 256) {
			uint64_t id = sent;
			if (raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8))
				break;
			sent++;
		}
		if (vamos_chan_flush(dr->ch)) {
			dr->err = "flush failed";
			return NULL;
		}
		if (raw_replies(&r, 10000, tally_reply, &dr->tally) < 0) {
			dr->err = "replies stopped coming";
			return NULL;
		}
	}
	if (dr->tally.duplicates || dr->tally.corrupt || dr->tally.errors)
		dr->err = "a reply was duplicated, corrupted or failed";
	return NULL;
}

const char *scenario_vamosd_many_clients(unsigned per_channel)
{
	static struct daemon d;
	enum { VMS = 3, CH = 4, STREAMS = 4, N = VMS * CH + STREAMS };
	struct vamos_ivshmem_peer *peers[VMS] = { 0 };
	struct driver *dr = calloc(N, sizeof *dr);
	pthread_t t[N];
	const char *err = daemon_start(&d, VMS, 1u << 16, NULL);
	unsigned started = 0;
	if (err || !dr)
		goto out;
	for (unsigned v = 0; v < VMS && !err; v++) {
		const char *why;
		if (vamos_ivshmem_peer_connect(d.vm_sock[v], 4, 5000, &peers[v], &why)) {
			err = why;
			break;
		}
		for (unsigned c = 0; c < CH && !err; c++)
			if (vamos_ivshmem_peer_channel(peers[v], c, &dr[v * CH + c].ch))
				err = "cannot open a channel";
	}
	for (unsigned s = 0; s < STREAMS && !err; s++)
		if (vamos_stream_connect_unix(d.stream_sock, NULL, &dr[VMS * CH + s].ch))
			err = "cannot connect a stream client";
	for (unsigned i = 0; i < N && !err; i++) {
		dr[i].requests = per_channel;
		pthread_create(&t[i], NULL, drive, &dr[i]);
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		if (!err && dr[i].err)
			err = dr[i].err;
	}
	if (!err && daemon_stat(&d, "vm0", 1) < (long long)(CH * per_channel))
		err = "stats do not count every request";
out:
	for (unsigned i = 0; dr && i < N; i++)
		vamos_chan_close(dr[i].ch);
	for (unsigned v = 0; v < VMS; v++)
		vamos_ivshmem_peer_close(peers[v]);
	daemon_cleanup(&d);
	free(dr);
	return err;
}

/* ------------------------------------------- busy channels, many pollers */

struct poller_seen {
	unsigned long long handled, sleeps;
	bool asleep;
};

/* The "poller K: ..." lines of `stats`: how many pollers the host has (at
 * most @max described in @out), or -1 if vamosd did not answer. */
static int poller_lines(struct daemon *d, struct poller_seen *out, unsigned max)
{
	char *text = daemon_ask(d, "stats");
	if (!text)
		return -1;
	int count = 0;
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		unsigned k;
		struct poller_seen p;
		char state[8];
		if (sscanf(line, "poller %u: load %*f, handled %llu, sleeps %llu, %7[a-z],", &k,
			   &p.handled, &p.sleeps, state) == 4 && k < max) {
			p.asleep = !strcmp(state, "asleep");
			out[k] = p;
			count = (int)k + 1 > count ? (int)k + 1 : count;
		}
		line = next;
	}
	free(text);
	return count;
}

/* Replies to one channel come in the order its requests went. */
struct ordered {
	struct tally tally;
	uint64_t next;
	unsigned out_of_order;
};

static void ordered_reply(void *arg, uint64_t id, int status, const void *data, uint32_t len)
{
	struct ordered *o = arg;
	if (id != o->next)
		o->out_of_order++;
	o->next = id + 1;
	tally_reply(&o->tally, id, status, data, len);
}

struct busy {
	struct vamos_chan *ch;
	unsigned requests;
	const char *err;
	struct ordered got;
};

static void *drive_busy(void *arg)
{
	struct busy *b = arg;
	struct raw r;
	if ((b->err = raw_open(&r, b->ch)))
		return NULL;
	unsigned sent = 0;
	while (b->got.tally.replies < b->requests) {
		while (sent < b->requests && sent - b->got.tally.replies < 64) {
			uint64_t id = sent;
			if (raw_request(&r, id, VAMOS_SERVICE_ECHO, 0, &id, 8))
				break;
			sent++;
		}
		if (vamos_chan_flush(b->ch)) {
			b->err = "flush failed";
			return NULL;
		}
		if (raw_replies(&r, 10000, ordered_reply, &b->got) < 0) {
			b->err = "replies stopped coming";
			return NULL;
		}
	}
	if (b->got.tally.duplicates || b->got.tally.corrupt || b->got.tally.errors)
		b->err = "a reply was duplicated, corrupted or failed";
	else if (b->got.out_of_order)
		b->err = "replies of one channel came out of order";
	return NULL;
}

const char *scenario_vamosd_busy_channels_many_pollers(unsigned per_channel)
{
	static struct daemon d;
	enum { CH = 4 };
	/* At most 4 pollers (the default depends on the CPUs): one per channel,
	 * as dealt at attach (no balancer: it would pack them while idle). */
	static const char *const four[] = { "--pollers", "4", "--balance-ms", "0", NULL };
	const unsigned want = CH;
	struct vamos_ivshmem_peer *peer = NULL;
	struct busy b[CH];
	pthread_t t[CH];
	unsigned started = 0;
	memset(b, 0, sizeof b);
	const char *err = daemon_start(&d, 1, 1u << 16, four);
	if (!err && vamos_ivshmem_peer_connect(d.vm_sock[0], 4, 5000, &peer, &err))
		err = err ? err : "cannot attach a local peer";
	for (unsigned c = 0; c < CH && !err; c++)
		if (vamos_ivshmem_peer_channel(peer, c, &b[c].ch))
			err = "cannot open a channel";
	for (unsigned c = 0; c < CH && !err; c++) {
		b[c].requests = per_channel;
		pthread_create(&t[c], NULL, drive_busy, &b[c]);
		started++;
	}
	for (unsigned c = 0; c < started; c++) {
		pthread_join(t[c], NULL);
		if (!err && b[c].err)
			err = b[c].err;
	}
	struct poller_seen seen[CH];
	int pollers = err ? 0 : poller_lines(&d, seen, CH);
	if (!err && pollers != (int)want)
		err = "the host does not have 4 pollers (--pollers 4)";
	/* Channel c is poller c's: each served its own channel's requests
	 * (its HELLO counts too, so at least). A poller adds what it handled
	 * once its loop is over, after the flush that let the replies go:
	 * the count may lag the last replies by that loop. */
	bool all_served = false;
	for (int tries = 0; tries < 3000 && !err && !all_served; tries++) {
		if (tries && poller_lines(&d, seen, CH) != pollers) {
			err = "vamosd stopped answering stats";
			break;
		}
		all_served = true;
		for (int k = 0; k < pollers; k++)
			all_served = all_served && seen[k].handled >= per_channel;
		if (!all_served)
			usleep(10000);
	}
	if (!err && !all_served)
		err = "a poller did not serve its busy channel";
	/* Idle now: every poller goes to sleep (a busy loop never would). */
	bool all_asleep = false;
	for (int tries = 0; tries < 3000 && !err && !all_asleep; tries++) {
		if (poller_lines(&d, seen, CH) != pollers) {
			err = "vamosd stopped answering stats";
			break;
		}
		all_asleep = true;
		for (int k = 0; k < pollers; k++)
			all_asleep = all_asleep && seen[k].asleep && seen[k].sleeps > 0;
		if (!all_asleep)
			usleep(10000);
	}
	if (!err && !all_asleep)
		err = "the pollers of an idle VM never all went to sleep";
	for (unsigned c = 0; c < CH; c++)
		vamos_chan_close(b[c].ch);
	vamos_ivshmem_peer_close(peer);
	daemon_cleanup(&d);
	return err;
}

/* ------------------------------------- VMs sharing a poller, one leaving */

/* Attach a local peer to @sock, retrying while the server still holds the
 * previous one (it sees a peer leave on its own time). */
static const char *attach_peer(const char *sock, struct vamos_ivshmem_peer **peer)
{
	const char *why = "cannot attach a local peer";
	for (int tries = 0; tries < 1000; tries++) {
		if (vamos_ivshmem_peer_connect(sock, 4, 5000, peer, &why) == 0)
			return NULL;
		usleep(10000);
	}
	return why;
}

/* One round of vm0: attach, @requests echoes on channel 1, leave. */
static const char *vm0_round(struct daemon *d, unsigned requests)
{
	struct vamos_ivshmem_peer *peer = NULL;
	struct driver dr = { .requests = requests };
	const char *err = attach_peer(d->vm_sock[0], &peer);
	if (!err && vamos_ivshmem_peer_channel(peer, 1, &dr.ch))
		err = "cannot open a channel of vm0";
	if (!err) {
		drive(&dr);
		err = dr.err;
	}
	if (dr.ch)
		vamos_chan_close(dr.ch);
	if (peer)
		vamos_ivshmem_peer_close(peer);
	return err;
}

const char *scenario_vamosd_vms_share_a_poller(unsigned per_channel)
{
	static struct daemon d;
	enum { CH = 4, ROUNDS = 3 };
	static const char *const one[] = { "--pollers", "1", NULL };
	struct vamos_ivshmem_peer *peer = NULL;
	struct driver dr[CH];
	pthread_t t[CH];
	unsigned started = 0;
	memset(dr, 0, sizeof dr);
	const char *err = daemon_start(&d, 2, 1u << 16, one);
	if (!err)
		err = attach_peer(d.vm_sock[1], &peer);
	for (unsigned c = 0; c < CH && !err; c++)
		if (vamos_ivshmem_peer_channel(peer, c, &dr[c].ch))
			err = "cannot open a channel of vm1";
	/* vm1 keeps the one poller busy on every channel while vm0 comes
	 * and goes on the same poller. */
	for (unsigned c = 0; c < CH && !err; c++) {
		dr[c].requests = per_channel;
		pthread_create(&t[c], NULL, drive, &dr[c]);
		started++;
	}
	for (unsigned r = 0; r < ROUNDS && !err; r++)
		err = vm0_round(&d, per_channel / 4);
	for (unsigned c = 0; c < started; c++) {
		pthread_join(t[c], NULL);
		if (!err && dr[c].err)
			err = dr[c].err;
	}
	struct poller_seen seen[2];
	if (!err && poller_lines(&d, seen, 2) != 1)
		err = "the two VMs are not served by the host's one poller (--pollers 1)";
	for (unsigned c = 0; c < CH; c++)
		if (dr[c].ch)
			vamos_chan_close(dr[c].ch);
	if (peer)
		vamos_ivshmem_peer_close(peer);
	daemon_cleanup(&d);
	return err;
}
