/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "echo_proto.h"
#include "measure.h"

#define MAX_SAMPLES (1u << 20)
#define WINDOW_BATCHES 4 /* batches in flight in batched mode */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Wait for a record of @type, dropping others; copy up to @len bytes of
 * it to @out. Returns 0 or the failure. */
static int await_type(struct vamos_chan *ch, uint16_t type, void *out, uint32_t len)
{
	for (;;) {
		struct vamos_record r[16];
		int n = vamos_chan_poll(ch, r, 16);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++)
			if (r[i].type == type) {
				memcpy(out, r[i].data, r[i].len < len ? r[i].len : len);
				vamos_chan_release(ch);
				return 0;
			}
		vamos_chan_release(ch);
		int rc = vamos_chan_wait(ch, 30000);
		if (rc < 0)
			return rc;
	}
}

/* Send one CTRL and wait for it: a barrier that also reads the server's
 * counters. */
static int ctrl(struct vamos_chan *ch, int64_t spin, struct bt_ctrl *out)
{
	struct bt_ctrl c = { .server_spin_ns = spin };
	int rc = vamos_chan_send(ch, BT_CTRL, &c, sizeof c);
	if (rc == 0)
		rc = vamos_chan_flush(ch);
	return rc ? rc : await_type(ch, BT_CTRL, out, sizeof *out);
}

/* Reserve and send one DATA record stamped with the time. */
static int send_stamped(struct vamos_chan *ch, uint32_t payload)
{
	void *p;
	int rc = vamos_chan_reserve(ch, payload, &p);
	if (rc)
		return rc;
	int64_t t = now_ns();
	memcpy(p, &t, sizeof t);
	memset((char *)p + sizeof t, 0x5a, payload - sizeof t);
	return vamos_chan_commit(ch, BT_DATA, payload);
}

int bt_measure(struct vamos_chan *ch, const struct bt_plan *plan, struct bt_row *row)
{
	struct bt_ctrl before, after;
	int64_t *samples = malloc(MAX_SAMPLES * sizeof *samples);
	uint64_t nsamples = 0, done = 0, inflight = 0;
	int rc;

	if (!samples)
		return -ENOMEM;
	vamos_chan_set_spin(ch, plan->spin_ns);
	if ((rc = ctrl(ch, plan->spin_ns, &before)))
		goto out;
	struct vamos_chan_stats s0 = vamos_chan_stats(ch);
	int64_t start = now_ns();
	int64_t end = start + (int64_t)(plan->seconds * 1e9);
	unsigned window = plan->batch == 1 ? 1 : plan->batch * WINDOW_BATCHES;

	for (;;) {
		int64_t now = now_ns();
		/* Top the window up, one flush per batch. */
		while (now < end && inflight + plan->batch <= window) {
			unsigned sent = 0;
			while (sent < plan->batch &&
			       (rc = send_stamped(ch, plan->payload)) == 0)
				sent++;
			/* A full ring ends the batch early: flush, then drain. */
			if (rc && rc != -EAGAIN)
				goto out;
			inflight += sent;
			if ((rc = vamos_chan_flush(ch)))
				goto out;
			if (sent < plan->batch)
				break;
		}
		if (inflight == 0)
			break;
		struct vamos_record r[64];
		int n;
		/* Poll again straight after a wait that found records: going
		 * round the loop would read the clock (tens of ns) between an
		 * echo's arrival and its time stamp. */
		while ((n = vamos_chan_poll(ch, r, 64)) == 0 &&
		       (rc = vamos_chan_wait(ch, 30000)) > 0)
			;
		if (n < 0) {
			rc = n;
			goto out;
		}
		if (n == 0) {
			if (rc < 0)
				goto out;
			continue;
		}
		int64_t t = now_ns();
		for (int i = 0; i < n; i++) {
			int64_t sent;
			memcpy(&sent, r[i].data, sizeof sent);
			if (nsamples < MAX_SAMPLES)
				samples[nsamples++] = t - sent;
		}
		vamos_chan_release(ch);
		inflight -= (uint64_t)n;
		done += (uint64_t)n;
	}
	double secs = (double)(now_ns() - start) / 1e9;
	struct vamos_chan_stats s1 = vamos_chan_stats(ch);
	if ((rc = ctrl(ch, plan->spin_ns, &after)))
		goto out;
	qsort(samples, nsamples, sizeof *samples, cmp_i64);
	row->mode = plan->mode;
	row->payload = plan->payload;
	row->batch = plan->batch;
	row->msgs_per_sec = (double)done / secs;
	row->rtt_p50_us = nsamples ? (double)samples[nsamples / 2] / 1e3 : 0;
	row->rtt_p99_us = nsamples ? (double)samples[nsamples * 99 / 100] / 1e3 : 0;
	/* The CTRL exchange itself costs at most one notification each way;
	 * subtract nothing, so the figure errs high, never low. */
	uint64_t notes = (s1.notifications_sent - s0.notifications_sent) +
			 (after.server_notifications - before.server_notifications);
	row->notifications_per_msg = done ? (double)notes / (double)done : 0;
out:
	free(samples);
	return rc;
}

int bt_stop(struct vamos_chan *ch)
{
	int rc = vamos_chan_send(ch, BT_STOP, NULL, 0);
	if (rc == 0)
		rc = vamos_chan_flush(ch);
	/* Wait for STOP's echo so the server is done before we tear down. */
	return rc ? rc : await_type(ch, BT_STOP, NULL, 0);
}

void bt_print_header(int csv)
{
	if (csv)
		printf("transport,mode,payload_bytes,batch,msgs_per_sec,rtt_p50_us,"
		       "rtt_p99_us,notifications_per_msg\n");
	else
		printf("%-20s %-8s %8s %6s %14s %11s %11s %14s\n", "transport", "mode",
		       "payload", "batch", "msgs/s", "rtt p50 us", "rtt p99 us", "notif/msg");
	fflush(stdout);
}

void bt_print_row(const struct bt_row *r, int csv)
{
	if (csv)
		printf("%s,%s,%u,%u,%.0f,%.2f,%.2f,%.6g\n", r->transport, r->mode, r->payload,
		       r->batch, r->msgs_per_sec, r->rtt_p50_us, r->rtt_p99_us,
		       r->notifications_per_msg);
	else
		printf("%-20s %-8s %8u %6u %14.0f %11.2f %11.2f %14.6f\n", r->transport,
		       r->mode, r->payload, r->batch, r->msgs_per_sec, r->rtt_p50_us,
		       r->rtt_p99_us, r->notifications_per_msg);
	fflush(stdout);
}
