/* SPDX-License-Identifier: MIT */
/* One thread, two channels on an AF_UNIX socketpair: round trips, record
 * sizes, reservation rules, one write per flush, buffers that stay put
 * until release, wait(), a peer that closes, a reader fed byte by byte.
 * Frames are at most 64 KiB here, so a flush never waits for the reader. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <time.h>

#include "helpers.h"

#define SMALL VAMOS_STREAM_MIN_MAX_FRAME
#define SMALL_MAX_PAYLOAD (SMALL - 24u)

static struct vamos_chan *a, *b;

static void setup(void)
{
	cr_assert_eq(vt_chan_pair(SMALL, &a, &b), 0);
}

static void teardown(void)
{
	vamos_chan_close(a);
	vamos_chan_close(b);
}

TestSuite(vsock_stream, .init = setup, .fini = teardown, .timeout = 60);

/* Receive exactly the records @first .. @first + @count - 1 as
 * send_and_check sent them (type seq % 0xfff0, length len_of(seq)),
 * checking every byte. */
static uint32_t len_of(uint64_t seq);

static void expect_records(struct vamos_chan *ch, uint64_t first, uint64_t count)
{
	struct vamos_record r[256];
	uint64_t got = 0;
	for (int spins = 0; got < count; spins++) {
		cr_assert_lt(spins, 100000, "only %lu of %lu records arrived",
			     (unsigned long)got, (unsigned long)count);
		int n = vamos_chan_poll(ch, r, 256);
		cr_assert_geq(n, 0, "poll: %d %s", n, vamos_chan_error(ch));
		for (int i = 0; i < n; i++, got++) {
			uint64_t seq = first + got;
			cr_assert_lt(got, count, "more records than sent");
			cr_assert_eq(r[i].type, seq % 0xfff0, "record %lu type", (unsigned long)seq);
			cr_assert_eq(r[i].len, len_of(seq), "record %lu length", (unsigned long)seq);
			cr_assert_eq((uintptr_t)r[i].data % 8, 0, "payload 8-byte aligned");
			cr_assert(vt_check(r[i].data, seq, r[i].len), "record %lu bytes",
				  (unsigned long)seq);
		}
		vamos_chan_release(ch);
	}
	struct vamos_record extra;
	cr_assert_eq(vamos_chan_poll(ch, &extra, 1), 0, "nothing beyond");
}

/* Sizes cycling through every size class: 0..72, powers of two and their
 * neighbours, and the largest payload. */
static const uint32_t size_classes[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 23, 24, 25,
	31, 32, 33, 40, 47, 48, 56, 63, 64, 65, 72, 127, 128, 129, 255, 256, 257,
	1000, 1023, 1024, 1025, 4095, 4096, 4097, 16384, 32767, 32768, 32769,
	65000, SMALL_MAX_PAYLOAD - 1, SMALL_MAX_PAYLOAD,
};
#define NCLASSES (sizeof size_classes / sizeof size_classes[0])

static uint32_t len_of(uint64_t seq)
{
	return size_classes[seq % NCLASSES];
}

/* Send records @first.. on a as expect_records wants them, flushing
 * whenever the frame is full and draining b after each flush. */
static void send_and_check(uint64_t first, uint64_t count)
{
	uint64_t sent_upto = first;
	for (uint64_t seq = first; seq < first + count; seq++) {
		int rc = vt_send(a, (uint16_t)(seq % 0xfff0), seq, len_of(seq));
		if (rc == -EAGAIN) {
			cr_assert_eq(vamos_chan_flush(a), 0);
			expect_records(b, sent_upto, seq - sent_upto);
			sent_upto = seq;
			rc = vt_send(a, (uint16_t)(seq % 0xfff0), seq, len_of(seq));
		}
		cr_assert_eq(rc, 0, "record %lu: %d", (unsigned long)seq, rc);
	}
	cr_assert_eq(vamos_chan_flush(a), 0);
	expect_records(b, sent_upto, first + count - sent_upto);
}

Test(vsock_stream, describes_itself)
{
	cr_assert_str_eq(vamos_chan_transport(a), "unix");
	cr_assert_eq(vamos_chan_mode(a), VAMOS_NOTIFY_STREAM);
	cr_assert_geq(vamos_chan_fd(a), 0);
	cr_assert_eq(vamos_chan_max_payload(a), SMALL_MAX_PAYLOAD);
	cr_assert_null(vamos_chan_error(a));
	struct vamos_chan_stats st = vamos_chan_stats(a);
	cr_assert_eq(st.records_sent + st.notifications_sent + st.sleeps, 0);
}

Test(vsock_stream, single_record_round_trip)
{
	const char msg[] = "hello, host";
	void *p;
	struct vamos_record r[2];
	cr_assert_eq(vamos_chan_reserve(a, sizeof msg, &p), 0);
	cr_assert_eq((uintptr_t)p % 8, 0);
	memcpy(p, msg, sizeof msg);
	cr_assert_eq(vamos_chan_commit(a, 42, sizeof msg), 0);
	cr_assert_eq(vamos_chan_poll(b, r, 2), 0, "nothing before flush");
	cr_assert_eq(vamos_chan_flush(a), 0);
	cr_assert_eq(vamos_chan_poll(b, r, 2), 1);
	cr_assert_eq(r[0].type, 42);
	cr_assert_eq(r[0].len, sizeof msg);
	cr_assert_str_eq(r[0].data, msg);
	vamos_chan_release(b);
	cr_assert_eq(vamos_chan_poll(b, r, 2), 0);

	/* And back the other way. */
	cr_assert_eq(vt_send(b, 7, 99, 3), 0);
	cr_assert_eq(vamos_chan_flush(b), 0);
	cr_assert_eq(vamos_chan_poll(a, r, 2), 1);
	cr_assert_eq(r[0].type, 7);
	cr_assert(vt_check(r[0].data, 99, 3));
	vamos_chan_release(a);

	struct vamos_chan_stats sa = vamos_chan_stats(a), sb = vamos_chan_stats(b);
	cr_assert_eq(sa.records_sent, 1);
	cr_assert_eq(sa.bytes_sent, sizeof msg);
	cr_assert_eq(sa.batches_sent, 1);
	cr_assert_eq(sa.notifications_sent, 1);
	cr_assert_eq(sb.records_received, 1);
	cr_assert_eq(sb.bytes_received, sizeof msg);
	cr_assert_eq(sa.records_received, 1);
	cr_assert_eq(sa.bytes_received, 3);
}

Test(vsock_stream, every_size_class_in_order)
{
	send_and_check(0, 20 * NCLASSES);
}

Test(vsock_stream, each_size_class_alone)
{
	for (uint64_t seq = 0; seq < NCLASSES; seq++) {
		cr_assert_eq(vt_send(a, (uint16_t)(seq % 0xfff0), seq, len_of(seq)), 0);
		cr_assert_eq(vamos_chan_flush(a), 0);
		expect_records(b, seq, 1);
	}
}

Test(vsock_stream, thousands_of_records_in_one_frame)
{
	/* Zero-byte records take 8 bytes: (64 KiB - 16) / 8 fill a frame. */
	const unsigned fit = (SMALL - 16) / 8;
	void *p;
	for (unsigned i = 0; i < fit; i++)
		cr_assert_eq(vt_send(a, (uint16_t)(i % 0xfff0), i, 0), 0, "record %u", i);
	cr_assert_eq(vamos_chan_reserve(a, 0, &p), -EAGAIN, "frame exactly full");
	cr_assert_eq(vamos_chan_flush(a), 0);
	struct vamos_chan_stats st = vamos_chan_stats(a);
	cr_assert_eq(st.notifications_sent, 1, "one write for %u records", fit);
	cr_assert_eq(st.batches_sent, 1);
	cr_assert_eq(st.records_sent, fit);

	struct vamos_record r[1000];
	unsigned got = 0;
	while (got < fit) {
		int n = vamos_chan_poll(b, r, 1000);
		cr_assert_gt(n, 0, "poll %d after %u", n, got);
		for (int i = 0; i < n; i++, got++) {
			cr_assert_eq(r[i].type, got % 0xfff0);
			cr_assert_eq(r[i].len, 0);
		}
		vamos_chan_release(b);
	}
	cr_assert_eq(vamos_chan_stats(b).records_received, fit);
}

Test(vsock_stream, reservation_rules)
{
	void *p, *q;
	cr_assert_eq(vamos_chan_reserve(a, SMALL_MAX_PAYLOAD + 1, &p), -EMSGSIZE);
	cr_assert_eq(vamos_chan_reserve(a, UINT32_MAX, &p), -EMSGSIZE);
	cr_assert_eq(vamos_chan_commit(a, 1, 0), -EINVAL, "nothing reserved");

	cr_assert_eq(vamos_chan_reserve(a, 16, &p), 0);
	cr_assert_eq(vamos_chan_reserve(a, 16, &q), -EBUSY);
	cr_assert_eq(vamos_chan_commit(a, 1, 17), -EINVAL, "longer than reserved");
	cr_assert_eq(vamos_chan_commit(a, 0xffff, 16), -EINVAL, "padding type");
	vamos_chan_abort(a);
	cr_assert_eq(vamos_chan_commit(a, 1, 0), -EINVAL, "aborted");
	vamos_chan_abort(a); /* no reservation: harmless */

	/* Shorter than reserved is fine. */
	cr_assert_eq(vamos_chan_reserve(a, 100, &p), 0);
	vt_fill(p, 5, 10);
	cr_assert_eq(vamos_chan_commit(a, 5, 10), 0);

	/* Largest payload: does not fit after that record, fits alone. */
	cr_assert_eq(vamos_chan_reserve(a, SMALL_MAX_PAYLOAD, &p), -EAGAIN);
	cr_assert_eq(vamos_chan_flush(a), 0);
	cr_assert_eq(vamos_chan_reserve(a, SMALL_MAX_PAYLOAD, &p), 0);
	vt_fill(p, 6, SMALL_MAX_PAYLOAD);
	cr_assert_eq(vamos_chan_commit(a, 6, SMALL_MAX_PAYLOAD), 0);
	cr_assert_eq(vamos_chan_reserve(a, 0, &p), -EAGAIN, "even 0 bytes");
	cr_assert_eq(vamos_chan_flush(a), 0);

	struct vamos_record r[2];
	/* The reader's first buffer holds the small frame and only part of
	 * the large one: it hands out what it can, the rest after release. */
	static const uint32_t lens[] = {10, SMALL_MAX_PAYLOAD};
	int got = 0;
	for (int spins = 0; got < 2; spins++) {
		cr_assert_lt(spins, 100);
		int n = vamos_chan_poll(b, r, 2);
		cr_assert_geq(n, 0);
		for (int i = 0; i < n; i++, got++) {
			cr_assert_eq(r[i].len, lens[got]);
			cr_assert(vt_check(r[i].data, 5 + (uint64_t)got, lens[got]));
		}
		vamos_chan_release(b);
	}
	vamos_chan_release(b);
}

Test(vsock_stream, padding_goes_out_zeroed)
{
	int sv[2];
	struct vamos_chan *ch;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(vamos_stream_open_fd(sv[0], NULL, &ch), 0);
	void *p;
	cr_assert_eq(vamos_chan_reserve(ch, 64, &p), 0);
	memset(p, 0xee, 64);
	cr_assert_eq(vamos_chan_commit(ch, 3, 5), 0);
	cr_assert_eq(vamos_chan_flush(ch), 0);
	unsigned char buf[64];
	cr_assert_eq(recv(sv[1], buf, sizeof buf, 0), 32);
	static const unsigned char want[32] = {
		'V', 'M', 'F', '1', 1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0,
		5, 0, 0, 0, 3, 0, 0, 0, 0xee, 0xee, 0xee, 0xee, 0xee, 0, 0, 0,
	};
	cr_assert_arr_eq(buf, want, 32, "frame bytes as documented");
	vamos_chan_close(ch);
	close(sv[1]);
}

Test(vsock_stream, one_write_per_flush)
{
	for (unsigned f = 0; f < 10; f++) {
		for (unsigned i = 0; i < 100; i++)
			cr_assert_eq(vt_send(a, 1, f * 100 + i, 40), 0);
		cr_assert_eq(vamos_chan_flush(a), 0);
		cr_assert_eq(vamos_chan_stats(a).notifications_sent, f + 1);
	}
	cr_assert_eq(vamos_chan_flush(a), 0, "nothing to flush");
	struct vamos_chan_stats st = vamos_chan_stats(a);
	cr_assert_eq(st.notifications_sent, 10, "an empty flush writes nothing");
	cr_assert_eq(st.batches_sent, 10);
	cr_assert_eq(st.records_sent, 1000);
	cr_assert_eq(st.bytes_sent, 40000);

	struct vamos_record r[64];
	unsigned got = 0;
	int n;
	while ((n = vamos_chan_poll(b, r, 64)) > 0) {
		for (int i = 0; i < n; i++, got++)
			cr_assert(vt_check(r[i].data, got, 40));
		vamos_chan_release(b);
	}
	cr_assert_eq(n, 0);
	cr_assert_eq(got, 1000);
}

Test(vsock_stream, flush_leaves_an_open_reservation_in_place)
{
	void *p;
	cr_assert_eq(vt_send(a, 1, 1, 24), 0);
	cr_assert_eq(vamos_chan_reserve(a, 48, &p), 0);
	vt_fill(p, 2, 20);
	cr_assert_eq(vamos_chan_flush(a), 0, "sends record 1 only");
	vt_fill(p, 2, 48);
	cr_assert_eq(vamos_chan_commit(a, 2, 48), 0);
	cr_assert_eq(vt_send(a, 3, 3, 8), 0);
	cr_assert_eq(vamos_chan_flush(a), 0);
	/* A large record now forces the frame to move to the buffer start. */
	cr_assert_eq(vt_send(a, 4, 4, 60000), 0);
	cr_assert_eq(vamos_chan_flush(a), 0);

	struct vamos_record r[8];
	int got = 0, n;
	static const uint32_t lens[] = {24, 48, 8, 60000};
	while (got < 4 && (n = vamos_chan_poll(b, r + got, 8 - (unsigned)got)) >= 0)
		got += n;
	cr_assert_eq(got, 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(r[i].type, i + 1);
		cr_assert_eq(r[i].len, lens[i]);
		cr_assert(vt_check(r[i].data, (uint64_t)i + 1, lens[i]), "record %d", i + 1);
	}
	cr_assert_eq(vamos_chan_stats(a).batches_sent, 3);
}

Test(vsock_stream, records_stay_put_until_release)
{
	/* Frames of ~20 KiB: the reader's first 64 KiB buffer cannot hold
	 * them all, but records it handed out must not move or change. */
	struct vamos_record held[16];
	int nheld = 0;
	for (uint64_t seq = 0; seq < 6; seq++) {
		cr_assert_eq(vt_send(a, 1, seq, 20000), 0);
		cr_assert_eq(vamos_chan_flush(a), 0);
	}
	for (int spins = 0; spins < 1000 && nheld < 16; spins++) {
		int n = vamos_chan_poll(b, held + nheld, 1);
		cr_assert_geq(n, 0);
		if (n == 0)
			break;
		nheld += n;
	}
	cr_assert_lt(nheld, 6, "a reader holding every record stalls");
	cr_assert_geq(nheld, 2);
	for (int i = 0; i < nheld; i++)
		cr_assert(vt_check(held[i].data, (uint64_t)i, 20000), "held record %d", i);
	cr_assert_eq(vamos_chan_wait(b, 20), -ETIMEDOUT,
		     "nothing can arrive before a release");
	vamos_chan_release(b);

	int got = nheld;
	struct vamos_record r[4];
	while (got < 6) {
		int n = vamos_chan_poll(b, r, 4);
		cr_assert_gt(n, 0, "after release the rest arrives");
		for (int i = 0; i < n; i++, got++)
			cr_assert(vt_check(r[i].data, (uint64_t)got, 20000));
		vamos_chan_release(b);
	}
}

Test(vsock_stream, reader_fed_one_byte_at_a_time)
{
	/* Encode frames with the library into a raw socket... */
	struct vamos_chan *w;
	int raw;
	cr_assert_eq(vt_raw_pair(SMALL, &w, &raw), 0);
	uint64_t total = 0;
	for (uint64_t seq = 0; seq < 3 * NCLASSES; seq++) {
		if (len_of(seq) > 5000)
			continue;
		cr_assert_eq(vt_send(w, (uint16_t)seq, seq, len_of(seq)), 0);
		total++;
		if (seq % 17 == 0)
			cr_assert_eq(vamos_chan_flush(w), 0);
	}
	cr_assert_eq(vamos_chan_flush(w), 0);
	static unsigned char bytes[1 << 17];
	size_t nbytes = 0;
	ssize_t k;
	while ((k = recv(raw, bytes + nbytes, sizeof bytes - nbytes, MSG_DONTWAIT)) > 0)
		nbytes += (size_t)k;
	vamos_chan_close(w);
	close(raw);

	/* ... then feed them to a reader one byte per write. */
	struct vamos_chan *rd;
	cr_assert_eq(vt_raw_pair(SMALL, &rd, &raw), 0);
	uint64_t got = 0, seq = 0;
	struct vamos_record r[8];
	for (size_t i = 0; i <= nbytes; i++) {
		/* One byte, then poll; at the end, poll until drained. */
		if (i < nbytes)
			cr_assert_eq(vt_write_all(raw, bytes + i, 1), 0);
		int n = vamos_chan_poll(rd, r, 8);
		if (i == nbytes && n > 0)
			i--;
		cr_assert_geq(n, 0, "%s", vamos_chan_error(rd));
		for (int j = 0; j < n; j++, got++) {
			while (len_of(seq) > 5000)
				seq++;
			cr_assert_eq(r[j].type, (uint16_t)seq);
			cr_assert_eq(r[j].len, len_of(seq));
			cr_assert(vt_check(r[j].data, seq, r[j].len));
			seq++;
		}
		vamos_chan_release(rd);
	}
	cr_assert_eq(got, total, "%lu of %lu records, %zu bytes", (unsigned long)got,
		     (unsigned long)total, nbytes);
	close(raw);
	cr_assert_eq(vamos_chan_poll(rd, r, 8), -ECONNRESET);
	cr_assert_str_eq(vamos_chan_error(rd), "peer closed the connection");
	vamos_chan_close(rd);
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

Test(vsock_stream, wait_times_out_and_sees_what_is_there)
{
	struct timespec t0;
	cr_assert_eq(vamos_chan_wait(b, 0), -ETIMEDOUT, "just look");
	cr_assert_eq(vamos_chan_stats(b).sleeps, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(vamos_chan_wait(b, 50), -ETIMEDOUT);
	cr_assert_geq(elapsed_ms(&t0), 45.0);
	cr_assert_eq(vamos_chan_stats(b).sleeps, 1);
	cr_assert_eq(vamos_chan_stats(b).notifications_received, 0);

	cr_assert_eq(vt_send(a, 1, 1, 1), 0);
	cr_assert_eq(vamos_chan_flush(a), 0);
	cr_assert_eq(vamos_chan_wait(b, 0), 1);
	cr_assert_eq(vamos_chan_wait(b, -1), 1, "records are there: no sleep");
	cr_assert_eq(vamos_chan_stats(b).sleeps, 1);
	struct vamos_record r;
	cr_assert_eq(vamos_chan_poll(b, &r, 1), 1);
	vamos_chan_release(b);

	/* Half a frame is not a record. */
	int raw;
	struct vamos_chan *ch;
	struct vt_raw f = {.n = 0};
	static const uint32_t lens[] = {100};
	cr_assert_eq(vt_raw_pair(SMALL, &ch, &raw), 0);
	vt_frame(&f, 1, lens, 0);
	cr_assert_eq(vt_write_all(raw, f.b, 60), 0);
	cr_assert_eq(vamos_chan_wait(ch, 30), -ETIMEDOUT);
	cr_assert_eq(vt_write_all(raw, f.b + 60, f.n - 60), 0);
	cr_assert_eq(vamos_chan_wait(ch, 30), 1);
	cr_assert_eq(vamos_chan_poll(ch, &r, 1), 1);
	cr_assert(vt_check(r.data, 0, 100));
	close(raw);
	vamos_chan_release(ch);
	cr_assert_eq(vamos_chan_wait(ch, -1), -ECONNRESET, "peer gone while waiting");
	vamos_chan_close(ch);
}

Test(vsock_stream, peer_closing_at_a_frame_boundary)
{
	for (uint64_t i = 0; i < 3; i++)
		cr_assert_eq(vt_send(a, 1, i, 10), 0);
	cr_assert_eq(vamos_chan_flush(a), 0);
	cr_assert_eq(vt_send(a, 1, 3, 10), 0); /* never flushed */
	vamos_chan_close(a);
	a = NULL;

	struct vamos_record r[8];
	cr_assert_eq(vamos_chan_poll(b, r, 8), 3, "what was sent comes first");
	cr_assert(vt_check(r[2].data, 2, 10));
	vamos_chan_release(b);
	cr_assert_eq(vamos_chan_poll(b, r, 8), -ECONNRESET);
	cr_assert_str_eq(vamos_chan_error(b), "peer closed the connection");
	cr_assert_eq(vamos_chan_wait(b, -1), -ECONNRESET, "sticky");
	void *p;
	cr_assert_eq(vamos_chan_reserve(b, 1, &p), -ECONNRESET);
	cr_assert_eq(vamos_chan_flush(b), -ECONNRESET);
}

Test(vsock_stream, peer_closing_mid_batch)
{
	int raw;
	struct vamos_chan *ch;
	struct vt_raw f = {.n = 0};
	static const uint32_t lens[] = {8, 16, 300, 5};
	cr_assert_eq(vt_raw_pair(SMALL, &ch, &raw), 0);
	vt_frame(&f, 2, lens, 0);          /* a whole frame */
	vt_frame(&f, 4, lens, 10);         /* and most of another */
	cr_assert_eq(vt_write_all(raw, f.b, f.n - 3), 0);
	close(raw);

	struct vamos_record r[8];
	cr_assert_eq(vamos_chan_poll(ch, r, 8), 2);
	cr_assert(vt_check(r[1].data, 1, 16));
	vamos_chan_release(ch);
	cr_assert_eq(vamos_chan_poll(ch, r, 8), -ECONNRESET);
	cr_assert_str_eq(vamos_chan_error(ch), "peer closed the connection mid-frame");
	vamos_chan_close(ch);

	/* A header cut short counts as mid-frame too. */
	cr_assert_eq(vt_raw_pair(SMALL, &ch, &raw), 0);
	cr_assert_eq(vt_write_all(raw, f.b, 5), 0);
	close(raw);
	cr_assert_eq(vamos_chan_wait(ch, 1000), -ECONNRESET);
	cr_assert_str_eq(vamos_chan_error(ch), "peer closed the connection mid-frame");
	vamos_chan_close(ch);
}

Test(vsock_stream, flush_to_a_closed_peer_never_raises_sigpipe)
{
	vamos_chan_close(b);
	b = NULL;
	cr_assert_eq(vt_send(a, 1, 1, 100), 0);
	cr_assert_eq(vamos_chan_flush(a), -ECONNRESET);
	cr_assert_str_eq(vamos_chan_error(a), "peer closed the connection");
	cr_assert_eq(vamos_chan_flush(a), -ECONNRESET, "sticky");
	struct vamos_record r;
	cr_assert_eq(vamos_chan_poll(a, &r, 1), -ECONNRESET);
}

/* ------------------------------------------------------------ opening */

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

Test(vsock_open, bad_params_and_sockets_are_refused_and_closed)
{
	struct vamos_chan *ch = NULL;
	int sv[2], fds[2];
	static const uint32_t bad_frames[] = {
		1000, SMALL - 8, SMALL + 4, VAMOS_STREAM_MAX_MAX_FRAME + 8, UINT32_MAX,
	};
	for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
		struct vamos_stream_params p = {.max_frame = bad_frames[i]};
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		cr_assert_eq(vamos_stream_open_fd(sv[0], &p, &ch), -EINVAL,
			     "max_frame %u", bad_frames[i]);
		cr_assert(!fd_open(sv[0]), "the channel took the fd over");
		close(sv[1]);
	}
	cr_assert_eq(vamos_stream_open_fd(-1, NULL, &ch), -EINVAL);

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(vamos_stream_open_fd(fds[0], NULL, &ch), -ENOTSOCK);
	cr_assert(!fd_open(fds[0]));
	close(fds[1]);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	cr_assert_eq(vamos_stream_open_fd(sv[0], NULL, &ch), -EPROTOTYPE);
	close(sv[1]);

	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(vamos_stream_open_fd(s, NULL, &ch), -ENOTCONN);

	s = socket(AF_INET, SOCK_STREAM, 0); /* never connected anywhere */
	cr_assert_eq(vamos_stream_open_fd(s, NULL, &ch), -EAFNOSUPPORT);
	cr_assert_null(ch);
}

Test(vsock_open, max_frame_bounds_are_accepted)
{
	static const uint32_t good[] = {
		0, VAMOS_STREAM_MIN_MAX_FRAME, 100000, VAMOS_STREAM_MAX_MAX_FRAME,
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct vamos_chan *x, *y;
		cr_assert_eq(vt_chan_pair(good[i], &x, &y), 0, "max_frame %u", good[i]);
		uint32_t frame = good[i] ? good[i] : VAMOS_STREAM_DEFAULT_MAX_FRAME;
		cr_assert_eq(vamos_chan_max_payload(x), frame - 24);
		vamos_chan_close(x);
		vamos_chan_close(y);
	}
	vamos_chan_close(NULL);
}

/* A peer that never reads: with a send timeout the flush gives up and the
 * connection fails, instead of waiting for ever (a server's poller, or its
 * shutdown, must not be held by a guest that stops reading). */
Test(vsock_stream_alone, a_peer_that_never_reads_fails_the_connection_after_the_send_timeout,
     .timeout = 60)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct vamos_stream_params p = { .max_frame = SMALL, .send_timeout_ms = 200 };
	struct vamos_chan *ch;
	cr_assert_eq(vamos_stream_open_fd(sv[0], &p, &ch), 0);
	/* sv[1] is never read: the socket buffers fill, then a flush waits. */
	int rc = 0;
	for (int i = 0; i < 100000 && rc == 0; i++) {
		void *data;
		rc = vamos_chan_reserve(ch, SMALL_MAX_PAYLOAD, &data);
		if (rc == 0) {
			memset(data, 0xab, SMALL_MAX_PAYLOAD);
			rc = vamos_chan_commit(ch, 1, SMALL_MAX_PAYLOAD);
		}
		if (rc == 0 || rc == -EAGAIN)
			rc = vamos_chan_flush(ch);
	}
	cr_assert_eq(rc, -ECONNRESET, "%d %s", rc, vamos_chan_error(ch) ? vamos_chan_error(ch) : "");
	cr_assert_str_eq(vamos_chan_error(ch), "the peer took no bytes within the send timeout");
	vamos_chan_close(ch);
	close(sv[1]);
}
