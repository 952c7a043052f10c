/* SPDX-License-Identifier: MIT */
/* The machine's floors for a round trip between two threads, measured in
 * the same run as the transports so that ratios are read from one run:
 * a spin ping-pong over one shared word (the best any polling transport
 * can do) and an eventfd ping-pong (the best any sleeping one can do). */
#ifndef VAMOS_BENCH_TRANSPORT_FLOORS_H
#define VAMOS_BENCH_TRANSPORT_FLOORS_H

#include "measure.h"

/* Fill @row with the spin ping-pong floor over @seconds. 0 or -errno. */
int bt_floor_spin(double seconds, struct bt_row *row);

/* Fill @row with the eventfd ping-pong floor over @seconds. 0 or -errno. */
int bt_floor_eventfd(double seconds, struct bt_row *row);

#endif
