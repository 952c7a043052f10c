/* SPDX-License-Identifier: MIT */
/* The client side of the transport benchmark: one row per call. */
#ifndef VAMOS_BENCH_TRANSPORT_MEASURE_H
#define VAMOS_BENCH_TRANSPORT_MEASURE_H

#include <stdint.h>

#include <vamos/channel.h>

struct bt_row {
	const char *transport;
	const char *mode;     /* sleep, poll, batched */
	uint32_t payload;
	unsigned batch;
	double msgs_per_sec;  /* round trips (echoed records) per second */
	double rtt_p50_us, rtt_p99_us;
	double notifications_per_msg; /* both sides, per echoed record */
};

struct bt_plan {
	double seconds;   /* per row */
	int64_t spin_ns;  /* both sides' spin for this row */
	const char *mode;
	uint32_t payload; /* >= 16 */
	unsigned batch;   /* 1: one round trip at a time */
};

/* Run one row on @ch against a bt_serve() peer. Returns 0 or the failure. */
int bt_measure(struct vamos_chan *ch, const struct bt_plan *plan, struct bt_row *row);

/* Tell the server to stop. */
int bt_stop(struct vamos_chan *ch);

void bt_print_header(int csv);
void bt_print_row(const struct bt_row *row, int csv);

#endif
