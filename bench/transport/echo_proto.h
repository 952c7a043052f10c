/* SPDX-License-Identifier: MIT */
/* The transport benchmark's echo protocol: DATA records come back as they
 * went; a CTRL record sets the server's spin and comes back carrying the
 * server's counters (so the client can count both sides' notifications,
 * even across a VM boundary); STOP ends the session. */
#ifndef VAMOS_BENCH_TRANSPORT_ECHO_PROTO_H
#define VAMOS_BENCH_TRANSPORT_ECHO_PROTO_H

#include <stdint.h>

#include <vamos/channel.h>

enum { BT_DATA = 1, BT_STOP = 2, BT_CTRL = 3 };

struct bt_ctrl {
	int64_t server_spin_ns;          /* in: the server's new spin */
	uint64_t server_notifications;   /* out: notifications the server sent */
	uint64_t server_wakeups;         /* out: wakeups the server took */
};

/* Serve echo on @ch until STOP or a failure. Returns 0 or the failure. */
int bt_serve(struct vamos_chan *ch);

#endif
