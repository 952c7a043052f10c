/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helpers.h"
#include "scenarios.h"

#define FRAME VAMOS_STREAM_DEFAULT_MAX_FRAME
#define MAX_PAYLOAD (FRAME - 24u)

static const uint32_t classes[] = {
	0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257,
	1000, 4095, 4096, 4097, 65535, 65536, 65537, 300000, MAX_PAYLOAD - 1,
	MAX_PAYLOAD,
};
#define NCLASSES (sizeof classes / sizeof classes[0])

static uint32_t len_of(uint64_t seq)
{
	/* The large classes come rarely, so frames also carry many records. */
	uint32_t len = classes[seq % NCLASSES];
	if (len > 4097 && seq % (7 * NCLASSES) >= NCLASSES)
		len = (uint32_t)(seq % 200);
	return len;
}

static uint16_t type_of(uint64_t seq)
{
	return (uint16_t)(seq % (VAMOS_RECORD_TYPE_MAX + 1u));
}

static void sleep_us(long us)
{
	struct timespec t = {.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};
	nanosleep(&t, NULL);
}

/* Check the records in @r against the sequence starting at *@seq. */
static const char *check(const struct vamos_record *r, int n, uint64_t *seq)
{
	for (int i = 0; i < n; i++, (*seq)++) {
		if (r[i].type != type_of(*seq))
			return "record type differs from what was sent";
		if (r[i].len != len_of(*seq))
			return "record length differs from what was sent";
		if ((uintptr_t)r[i].data % 8)
			return "payload is not 8-byte aligned";
		if (!vt_check(r[i].data, *seq, r[i].len))
			return "record bytes differ from what was sent";
	}
	return NULL;
}

/* One side of a scenario: sends records [next, end), receives up to
 * rx_end (crossfire). */
struct sender {
	struct vamos_chan *ch;
	uint64_t next, end;
	const char *err;
	/* receiving side, used by crossfire */
	uint64_t rx_seq, rx_end;
};

static const char *drain_now(struct sender *s)
{
	struct vamos_record r[64];
	int n;
	while ((n = vamos_chan_poll(s->ch, r, 64)) > 0) {
		const char *err = check(r, n, &s->rx_seq);
		vamos_chan_release(s->ch);
		if (err)
			return err;
	}
	return n < 0 ? vamos_chan_error(s->ch) ? vamos_chan_error(s->ch) : "poll failed" : NULL;
}

/* Send records [next, end) on @ch, flushing when the frame is full; with
 * @drain, after each flush take whatever arrived from the peer. */
static const char *send_range(struct sender *s, bool drain)
{
	for (uint64_t seq = s->next; seq < s->end; seq++) {
		int rc = vt_send(s->ch, type_of(seq), seq, len_of(seq));
		if (rc == -EAGAIN) {
			if (vamos_chan_flush(s->ch))
				return "flush failed";
			if (drain) {
				const char *err = drain_now(s);
				if (err)
					return err;
			}
			rc = vt_send(s->ch, type_of(seq), seq, len_of(seq));
		}
		if (rc)
			return "reserve failed";
	}
	if (vamos_chan_flush(s->ch))
		return "flush failed";
	return NULL;
}

/* Receive records until *@seq reaches @end, sleeping in wait(). */
static const char *receive_until(struct vamos_chan *ch, uint64_t *seq, uint64_t end)
{
	struct vamos_record r[64];
	while (*seq < end) {
		int w = vamos_chan_wait(ch, 20000);
		if (w != 1)
			return w == -ETIMEDOUT ? "wait timed out" : "wait failed";
		int n = vamos_chan_poll(ch, r, 64);
		if (n < 0)
			return vamos_chan_error(ch) ? vamos_chan_error(ch) : "poll failed";
		const char *err = check(r, n, seq);
		vamos_chan_release(ch);
		if (err)
			return err;
	}
	return NULL;
}

static void *sender_thread(void *arg)
{
	struct sender *s = arg;
	s->err = send_range(s, false);
	return NULL;
}

const char *scenario_vsock_large_batches(uint64_t records)
{
	struct vamos_chan *a, *b;
	if (vt_chan_pair(0, &a, &b))
		return "socketpair failed";
	struct sender s = {.ch = a, .next = 0, .end = records};
	pthread_t t;
	const char *err = NULL;
	if (pthread_create(&t, NULL, sender_thread, &s)) {
		err = "pthread_create failed";
	} else {
		uint64_t seq = 0;
		err = receive_until(b, &seq, records);
		pthread_join(t, NULL);
		if (!err)
			err = s.err;
		struct vamos_chan_stats st = vamos_chan_stats(a);
		if (!err && st.records_sent != records)
			err = "records_sent differs from what was sent";
		if (!err && vamos_chan_stats(b).records_received != records)
			err = "records_received differs from what was sent";
	}
	vamos_chan_close(a);
	vamos_chan_close(b);
	return err;
}

/* ------------------------------------------------------- byte by byte */

struct byte_writer {
	int fd;
	const struct vt_raw *raw;
};

static void *byte_writer_thread(void *arg)
{
	struct byte_writer *w = arg;
	for (size_t i = 0; i < w->raw->n; i++) {
		if (vt_write_all(w->fd, w->raw->b + i, 1))
			break;
		if (i % 64 == 0)
			sched_yield();
		if (i % 1024 == 0)
			sleep_us(200);
	}
	close(w->fd);
	return NULL;
}

const char *scenario_vsock_byte_writer(void)
{
	static struct vt_raw raw;
	uint32_t lens[40];
	uint64_t total = 0;
	raw.n = 0;
	/* Frames of 1, 2, ... 12 records, sizes from the classes up to 300. */
	for (unsigned f = 1; f <= 12; f++) {
		for (unsigned i = 0; i < f; i++)
			lens[i] = (uint32_t)((total + i) * 37 % 301);
		vt_frame(&raw, f, lens, total);
		total += f;
	}

	struct vamos_chan *ch;
	struct byte_writer w = {.raw = &raw};
	if (vt_raw_pair(0, &ch, &w.fd))
		return "socketpair failed";
	pthread_t t;
	if (pthread_create(&t, NULL, byte_writer_thread, &w)) {
		vamos_chan_close(ch);
		close(w.fd);
		return "pthread_create failed";
	}
	const char *err = NULL;
	uint64_t got = 0;
	unsigned frame = 1, in_frame = 0;
	struct vamos_record r[16];
	while (!err && got < total) {
		int rc = vamos_chan_wait(ch, 20000);
		if (rc != 1) {
			err = "wait did not see the records";
			break;
		}
		int n = vamos_chan_poll(ch, r, 16);
		if (n < 0)
			err = vamos_chan_error(ch);
		for (int i = 0; !err && i < n; i++, got++) {
			/* vt_frame: type is the index in the frame + 1. */
			if (r[i].type != in_frame + 1 ||
			    r[i].len != (uint32_t)(got * 37 % 301) ||
			    !vt_check(r[i].data, got, r[i].len))
				err = "reassembled record differs from what was sent";
			if (++in_frame == frame) {
				frame++;
				in_frame = 0;
			}
		}
		vamos_chan_release(ch);
	}
	pthread_join(t, NULL);
	if (!err && vamos_chan_wait(ch, 20000) != -ECONNRESET)
		err = "the writer's close was not seen";
	vamos_chan_close(ch);
	return err;
}

/* ------------------------------------------------------------ ping-pong */

struct pinger {
	struct vamos_chan *ch;
	int rounds;
	bool first; /* sends first */
	const char *err;
};

static const char *ping_pong(struct pinger *p)
{
	uint64_t seq = p->first ? 1 : 0; /* next record we expect */
	uint64_t out = p->first ? 0 : 1; /* next record we send */
	for (int i = 0; i < p->rounds; i++) {
		if (p->first || i > 0) {
			if (i % 3 == 0)
				sleep_us(300); /* let the peer fall asleep */
			if (vt_send(p->ch, type_of(out), out, len_of(out) % 512) ||
			    vamos_chan_flush(p->ch))
				return "send failed";
			out += 2;
		}
		struct vamos_record r;
		/* Long enough to sleep for real; finite so that a failed peer
		 * thread ends the test instead of hanging it. */
		int w = vamos_chan_wait(p->ch, 20000);
		if (w != 1)
			return "wait failed";
		if (vamos_chan_poll(p->ch, &r, 1) != 1)
			return "wait said yes, poll said no";
		if (r.type != type_of(seq) || r.len != len_of(seq) % 512 ||
		    !vt_check(r.data, seq, r.len))
			return "ping-pong record differs";
		vamos_chan_release(p->ch);
		seq += 2;
	}
	if (!p->first) { /* answer the last ping */
		if (vt_send(p->ch, type_of(out), out, len_of(out) % 512) ||
		    vamos_chan_flush(p->ch))
			return "send failed";
	}
	return NULL;
}

static void *pinger_thread(void *arg)
{
	struct pinger *p = arg;
	p->err = ping_pong(p);
	return NULL;
}

const char *scenario_vsock_wait_wakes(int rounds)
{
	struct vamos_chan *a, *b;
	if (vt_chan_pair(0, &a, &b))
		return "socketpair failed";
	struct pinger pa = {.ch = a, .rounds = rounds, .first = true};
	struct pinger pb = {.ch = b, .rounds = rounds, .first = false};
	pthread_t t;
	const char *err = NULL;
	if (pthread_create(&t, NULL, pinger_thread, &pb)) {
		err = "pthread_create failed";
	} else {
		err = ping_pong(&pa);
		pthread_join(t, NULL);
		if (!err)
			err = pb.err;
		struct vamos_chan_stats sa = vamos_chan_stats(a), sb = vamos_chan_stats(b);
		if (!err && (sa.sleeps == 0 || sb.sleeps == 0))
			err = "nobody ever slept in wait()";
		if (!err && (sa.notifications_received == 0 || sb.notifications_received == 0))
			err = "no wakeup was counted";
		if (!err && (sa.notifications_received > sa.sleeps ||
			     sb.notifications_received > sb.sleeps))
			err = "more wakeups than sleeps";
	}
	vamos_chan_close(a);
	vamos_chan_close(b);
	return err;
}

/* ------------------------------------------------------------ crossfire */

static const char *fight(struct sender *s)
{
	const char *err = send_range(s, true);
	if (!err)
		err = receive_until(s->ch, &s->rx_seq, s->rx_end);
	return err;
}

static void *fighter_thread(void *arg)
{
	struct sender *s = arg;
	s->err = fight(s);
	return NULL;
}

const char *scenario_vsock_crossfire(int frames)
{
	struct vamos_chan *a, *b;
	if (vt_chan_pair(0, &a, &b))
		return "socketpair failed";
	/* Records of the mixed sizes until about @frames full frames. */
	uint64_t records = 0, bytes = 0;
	while (bytes < (uint64_t)frames * FRAME)
		bytes += vt_rsize(len_of(records++));
	struct sender sa = {.ch = a, .end = records, .rx_end = records};
	struct sender sb = {.ch = b, .end = records, .rx_end = records};
	pthread_t t;
	const char *err = NULL;
	if (pthread_create(&t, NULL, fighter_thread, &sb)) {
		err = "pthread_create failed";
	} else {
		err = fight(&sa);
		pthread_join(t, NULL);
		if (!err)
			err = sb.err;
	}
	vamos_chan_close(a);
	vamos_chan_close(b);
	return err;
}
