/* SPDX-License-Identifier: MIT */
/* Spin ping-pongs that vary one thing at a time between the one-word floor
 * and a ring's round trip: how many lines a message moves, whether the
 * waiter prefetches the message's line, a seq_cst publish (lines.c). */
#ifndef VAMOS_BENCH_TRANSPORT_LINES_H
#define VAMOS_BENCH_TRANSPORT_LINES_H

#include "measure.h"

enum bt_lines_kind {
	BT_LINES_1,
	BT_LINES_2,
	BT_LINES_2_PREFETCH,
	BT_LINES_2_SEQ_CST,
	BT_LINES_KINDS
};

/* Fill @row with one kind's round trips over @seconds. 0 or -errno. */
int bt_lines(double seconds, enum bt_lines_kind kind, struct bt_row *row);

#endif
