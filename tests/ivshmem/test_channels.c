/* SPDX-License-Identifier: MIT */
/* Channels over the ivshmem server: echo with batching and wakeups, plain
 * mode, a peer vanishing mid-batch, garbage written into the region by a
 * peer, the host going away. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "../../ring/layout.h"
#include "echo.h"
#include "harness.h"
#include "scenarios.h"

Test(ivshmem_channels, echo_batched, .timeout = 300)
{
	const char *err = scenario_ivshmem_echo(200000, 32);
	cr_assert_null(err, "%s", err);
}

Test(ivshmem_channels, echo_one_at_a_time, .timeout = 300)
{
	const char *err = scenario_ivshmem_echo(20000, 1);
	cr_assert_null(err, "%s", err);
}

Test(ivshmem_channels, pingpong_never_loses_a_wakeup, .timeout = 300)
{
	const char *err = scenario_ivshmem_pingpong(3000);
	cr_assert_null(err, "%s", err);
}

Test(ivshmem_channels, plain_mode_polls, .timeout = 300)
{
	const char *err = scenario_plain_echo(100000, 16);
	cr_assert_null(err, "%s", err);
}

static struct harness h;

static struct vamos_ivshmem_peer *start_and_join(uint32_t vectors)
{
	struct vamos_ivshmem_server_params params;
	struct vamos_ivshmem_peer *p;
	harness_default_params(&h, &params, vectors);
	const char *err = harness_start(&h, &params);
	cr_assert_null(err, "%s", err);
	err = harness_join(&h, vectors, &p);
	cr_assert_null(err, "%s", err);
	return p;
}

Test(ivshmem_channels, peer_vanishing_mid_batch)
{
	struct vamos_ivshmem_peer *p = start_and_join(1);
	struct vamos_chan *host, *guest;
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, 1, 0, &host), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(p, 0, &guest), 0);
	for (uint64_t i = 0; i < 15; i++) {
		void *q;
		cr_assert_eq(vamos_chan_reserve(guest, echo_len(i), &q), 0);
		echo_fill(q, i, echo_len(i));
		cr_assert_eq(vamos_chan_commit(guest, ECHO_TYPE_DATA, echo_len(i)), 0);
		if (i == 9)
			cr_assert_eq(vamos_chan_flush(guest), 0);
	}
	/* Five records committed, never published: the peer dies now. */
	vamos_chan_close(guest);
	vamos_ivshmem_peer_close(p);
	cr_assert(harness_wait_event(&h, 2, 5000, NULL));

	struct vamos_record rec[32];
	int n = vamos_chan_poll(host, rec, 32);
	cr_assert_eq(n, 10, "the published records are still handed out");
	for (int i = 0; i < n; i++)
		cr_assert_null(echo_check(&rec[i], (uint64_t)i));
	vamos_chan_release(host);
	cr_assert_eq(vamos_chan_poll(host, rec, 32), -ECONNRESET);
	cr_assert_str_eq(vamos_chan_error(host), "peer disconnected");
	cr_assert_eq(vamos_chan_wait(host, 1000), -ECONNRESET);
	cr_assert_eq(vamos_chan_flush(host), -ECONNRESET);
	vamos_chan_close(host);

	/* The server lays out fresh rings for the next guest. */
	cr_assert_eq(vamos_ivshmem_server_reset_region(h.server), 0);
	struct vamos_ivshmem_peer *next;
	cr_assert_null(harness_join(&h, 1, &next));
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, 2, 0, &host), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(next, 0, &guest), 0);
	cr_assert_eq(vamos_chan_poll(host, rec, 32), 0, "fresh rings are empty");
	cr_assert_eq(vamos_chan_send(guest, 1, "x", 1), 0);
	cr_assert_eq(vamos_chan_flush(guest), 0);
	cr_assert_eq(vamos_chan_wait(host, 5000), 1);
	vamos_chan_close(guest);
	vamos_chan_close(host);
	vamos_ivshmem_peer_close(next);
	harness_stop(&h);
}

/* Shared control block of channel @index's request or reply ring, as a
 * peer could write it. */
static struct vamos_ring_ctrl *ring_ctrl(const struct vamos_region *r, uint32_t index,
					 int reply)
{
	return vamos_ring_at(r->base, &r->params, index, reply);
}

Test(ivshmem_channels, garbage_in_the_region_breaks_only_that_channel)
{
	struct vamos_ivshmem_peer *bad = start_and_join(2);
	struct vamos_ivshmem_peer *good;
	cr_assert_null(harness_join(&h, 2, &good));
	struct vamos_chan *host_bad, *host_good, *guest_good;
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, 1, 0, &host_bad), 0);
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, 2, 1, &host_good), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(good, 1, &guest_good), 0);

	/* The bad peer moves the request tail far beyond the ring. */
	struct vamos_ring_ctrl *req = ring_ctrl(vamos_ivshmem_peer_region(bad), 0, 0);
	atomic_store(&req->tail, (uint64_t)1 << 40);
	struct vamos_record rec[4];
	cr_assert_eq(vamos_chan_poll(host_bad, rec, 4), -EPROTO);
	cr_assert(strstr(vamos_chan_error(host_bad), "producer position"), "%s",
		  vamos_chan_error(host_bad));
	cr_assert_eq(vamos_chan_wait(host_bad, 0), -EPROTO, "stays broken");

	/* Everyone else is served as before. */
	cr_assert_eq(vamos_chan_send(guest_good, 1, "ok", 2), 0);
	cr_assert_eq(vamos_chan_flush(guest_good), 0);
	cr_assert_eq(vamos_chan_wait(host_good, 5000), 1);
	cr_assert_eq(vamos_chan_poll(host_good, rec, 4), 1);
	vamos_chan_release(host_good);
	cr_assert_eq(vamos_ivshmem_server_peer_count(h.server), 2);

	vamos_chan_close(host_bad);
	vamos_chan_close(host_good);
	vamos_chan_close(guest_good);
	vamos_ivshmem_peer_close(good);
	vamos_ivshmem_peer_close(bad);
	harness_stop(&h);
}

Test(ivshmem_channels, garbage_record_header_from_a_peer)
{
	struct vamos_ivshmem_peer *p = start_and_join(1);
	struct vamos_chan *host, *guest;
	cr_assert_eq(vamos_ivshmem_server_channel(h.server, 1, 0, &host), 0);
	cr_assert_eq(vamos_ivshmem_peer_channel(p, 0, &guest), 0);
	/* Two good records, then one whose header claims 1 GiB. */
	cr_assert_eq(vamos_chan_send(guest, 1, "a", 1), 0);
	cr_assert_eq(vamos_chan_send(guest, 1, "b", 1), 0);
	void *q;
	cr_assert_eq(vamos_chan_reserve(guest, 8, &q), 0);
	cr_assert_eq(vamos_chan_commit(guest, 1, 8), 0);
	uint64_t lie = vamos_record_header(1u << 30, 1);
	memcpy((unsigned char *)q - VAMOS_RECORD_HEADER_SIZE, &lie, sizeof lie);
	cr_assert_eq(vamos_chan_flush(guest), 0);

	struct vamos_record rec[8];
	cr_assert_eq(vamos_chan_poll(host, rec, 8), 2, "good records first");
	cr_assert_eq(vamos_chan_poll(host, rec, 8), -EPROTO);
	cr_assert(strstr(vamos_chan_error(host), "record"), "%s", vamos_chan_error(host));
	vamos_chan_close(host);
	vamos_chan_close(guest);
	vamos_ivshmem_peer_close(p);
	harness_stop(&h);
}

Test(ivshmem_channels, host_going_away_wakes_the_guest)
{
	struct vamos_ivshmem_peer *p = start_and_join(1);
	struct vamos_chan *guest;
	cr_assert_eq(vamos_ivshmem_peer_channel(p, 0, &guest), 0);
	cr_assert_eq(vamos_chan_wait(guest, 100), -ETIMEDOUT);
	harness_stop(&h);
	/* The region says CLOSED; the socket says EOF. Either is enough. */
	cr_assert_eq(vamos_chan_wait(guest, 5000), -ECONNRESET);
	cr_assert_eq(vamos_ivshmem_peer_dispatch(p), -ECONNRESET);
	cr_assert_eq(vamos_chan_flush(guest), -ECONNRESET);
	vamos_chan_close(guest);
	vamos_ivshmem_peer_close(p);
}
