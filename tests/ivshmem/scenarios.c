/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "echo.h"
#include "harness.h"
#include "scenarios.h"

static char err_buf[256];

/* Start a server with @vectors, join one local peer, and open channel
 * @index from both sides. NULL or what failed; the caller cleans up. */
static const char *open_pair(struct harness *h, uint32_t vectors, uint32_t index,
			     struct vamos_ivshmem_peer **peer, struct vamos_chan **host,
			     struct vamos_chan **guest)
{
	struct vamos_ivshmem_server_params params;
	const char *err;
	harness_default_params(h, &params, vectors);
	if ((err = harness_start(h, &params)))
		return err;
	if ((err = harness_join(h, vectors, peer)))
		return err;
	if (vamos_ivshmem_server_channel(h->server, vamos_ivshmem_peer_id(*peer), index, host) ||
	    vamos_ivshmem_peer_channel(*peer, index, guest))
		return "cannot open the channels";
	return NULL;
}

struct server_side {
	struct vamos_chan *ch;
	const char *err;
};

static void *serve_thread(void *arg)
{
	struct server_side *s = arg;
	s->err = echo_serve(s->ch);
	return NULL;
}

const char *scenario_ivshmem_echo(uint64_t records, unsigned batch)
{
	struct harness h;
	struct vamos_ivshmem_peer *peer = NULL;
	struct vamos_chan *guest = NULL;
	struct server_side host = { 0 };
	pthread_t thread;
	const char *err;

	if ((err = open_pair(&h, 2, 1, &peer, &host.ch, &guest)))
		goto out;
	err = "mode is not interrupt";
	if (vamos_chan_mode(guest) != VAMOS_NOTIFY_INTERRUPT ||
	    vamos_chan_mode(host.ch) != VAMOS_NOTIFY_INTERRUPT)
		goto out;
	pthread_create(&thread, NULL, serve_thread, &host);
	err = echo_drive(guest, records, batch, 10000, err_buf, sizeof err_buf);
	pthread_join(thread, NULL);
	if (!err && host.err)
		err = host.err;
	if (!err) {
		struct vamos_chan_stats g = vamos_chan_stats(guest);
		struct vamos_chan_stats hs = vamos_chan_stats(host.ch);
		uint64_t notes = g.notifications_sent + hs.notifications_sent;
		if (g.records_received != records + 1 || hs.records_received != records + 1)
			err = "record counters do not match what was sent";
		else if (batch > 1 && notes * 4 > records)
			err = "doorbells + interrupts not far below the record count";
		else if (notes > 2 * (records + 1))
			err = "more than one notification per record each way";
	}
out:
	vamos_chan_close(guest);
	vamos_chan_close(host.ch);
	vamos_ivshmem_peer_close(peer);
	harness_stop(&h);
	return err;
}

struct pong {
	struct vamos_chan *ch;
	int rounds;
	const char *err;
};

/* Host side of ping-pong: sleep until each ping, answer it. */
static void *pong_thread(void *arg)
{
	struct pong *p = arg;
	struct vamos_record rec;
	for (int i = 0; i < p->rounds; i++) {
		int rc;
		while ((rc = vamos_chan_poll(p->ch, &rec, 1)) == 0)
			if (vamos_chan_wait(p->ch, 10000) < 0) {
				p->err = "host: a ping never woke it (lost wakeup?)";
				return NULL;
			}
		if (rc < 0) {
			p->err = vamos_chan_error(p->ch);
			return NULL;
		}
		vamos_chan_release(p->ch);
		if (vamos_chan_send(p->ch, 1, &i, sizeof i) || vamos_chan_flush(p->ch)) {
			p->err = "host: cannot answer";
			return NULL;
		}
	}
	return NULL;
}

const char *scenario_ivshmem_pingpong(int rounds)
{
	struct harness h;
	struct vamos_ivshmem_peer *peer = NULL;
	struct vamos_chan *guest = NULL;
	struct pong host = { .rounds = rounds };
	pthread_t thread;
	const char *err;

	if ((err = open_pair(&h, 1, 0, &peer, &host.ch, &guest)))
		goto out;
	pthread_create(&thread, NULL, pong_thread, &host);
	err = NULL;
	for (int i = 0; i < rounds && !err; i++) {
		struct vamos_record rec;
		int rc;
		/* Now and then pause past the host's spin, so it sleeps and only
		 * the doorbell can wake it. */
		if (i % 4 == 0)
			usleep(200);
		if (vamos_chan_send(guest, 1, &i, sizeof i) || vamos_chan_flush(guest)) {
			err = "guest: cannot send";
			break;
		}
		while ((rc = vamos_chan_poll(guest, &rec, 1)) == 0)
			if (vamos_chan_wait(guest, 10000) < 0) {
				err = "guest: the answer never woke it (lost wakeup?)";
				break;
			}
		if (!err && rc < 0)
			err = vamos_chan_error(guest);
		int got;
		if (!err && (rec.len != sizeof got ||
			     (__builtin_memcpy(&got, rec.data, sizeof got), got != i)))
			err = "guest: wrong answer";
		vamos_chan_release(guest);
	}
	pthread_join(thread, NULL);
	if (!err)
		err = host.err;
	if (!err) {
		struct vamos_chan_stats hs = vamos_chan_stats(host.ch);
		struct vamos_chan_stats gs = vamos_chan_stats(guest);
		/* The pauses made the host sleep, and then only a doorbell can
		 * have woken it. */
		if (hs.sleeps == 0 || hs.notifications_received == 0)
			err = "host never slept on a doorbell: wakeups untested";
		else if (gs.notifications_sent < hs.notifications_received)
			err = "host took more doorbells than the guest rang";
	}
out:
	vamos_chan_close(guest);
	vamos_chan_close(host.ch);
	vamos_ivshmem_peer_close(peer);
	harness_stop(&h);
	return err;
}

const char *scenario_plain_echo(uint64_t records, unsigned batch)
{
	char dir[64], path[96];
	struct vamos_plain *host_mem = NULL, *guest_mem = NULL;
	struct server_side host = { 0 };
	struct vamos_chan *guest = NULL;
	pthread_t thread;
	const char *err = "cannot set up the plain region";
	struct vamos_region_params rp = { 1, 1u << 16, 1u << 16 };

	if (!harness_tmpdir(dir, sizeof dir)[0])
		return "mkdtemp failed";
	snprintf(path, sizeof path, "%s/plain.shm", dir);
	if (vamos_plain_create(path, 1u << 18, &rp, &host_mem, NULL) ||
	    vamos_plain_attach(path, &guest_mem, NULL) ||
	    vamos_plain_channel(host_mem, 0, VAMOS_SIDE_HOST, &host.ch) ||
	    vamos_plain_channel(guest_mem, 0, VAMOS_SIDE_GUEST, &guest))
		goto out;
	err = "plain channels must poll";
	if (vamos_chan_mode(guest) != VAMOS_NOTIFY_POLL || vamos_chan_fd(guest) != -1)
		goto out;
	pthread_create(&thread, NULL, serve_thread, &host);
	err = echo_drive(guest, records, batch, 10000, err_buf, sizeof err_buf);
	pthread_join(thread, NULL);
	if (!err && host.err)
		err = host.err;
	if (!err && (vamos_chan_stats(guest).notifications_sent ||
		     vamos_chan_stats(host.ch).notifications_sent))
		err = "plain mode sent a notification";
out:
	vamos_chan_close(guest);
	vamos_chan_close(host.ch);
	vamos_plain_close(guest_mem, 0);
	vamos_plain_close(host_mem, 1);
	rmdir(dir);
	return err;
}
