/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
