/* SPDX-License-Identifier: MIT */
/* Receiving: read whatever the socket holds into a private buffer, hand
 * out the records of complete frames in place, wait on the socket. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "stream_internal.h"
#include "vamos_clock.h"

/* Offset of the next byte poll() will parse. */
static size_t rx_next(const struct vamos_stream *s)
{
	return s->active ? s->frame.off : s->rx_cur;
}

/* Bytes from rx_cur the next frame needs in all, as far as known yet. */
static size_t rx_need(const struct vamos_stream *s)
{
	if (s->rx_end - s->rx_cur < VAMOS_FRAME_HEADER_SIZE)
		return VAMOS_FRAME_HEADER_SIZE;
	/* Unchecked here (the parse checks it), so capped to what a valid
	 * frame may need: a bad header cannot make the buffer grow. */
	size_t body = vamos_frame_peek_body(s->rx + s->rx_cur);
	size_t max_body = s->max_frame - VAMOS_FRAME_HEADER_SIZE;
	return VAMOS_FRAME_HEADER_SIZE + (body < max_body ? body : max_body);
}

/* Move the bytes still to be parsed to the buffer's start. Only while no
 * record is handed out: their memory must not move. */
static void rx_compact(struct vamos_stream *s)
{
	size_t shift = rx_next(s);
	if (!shift)
		return;
	memmove(s->rx, s->rx + shift, s->rx_end - shift);
	s->rx_cur -= shift;
	s->rx_end -= shift;
	if (s->active) {
		s->frame.off -= shift;
		s->frame.end -= shift;
	}
}

/* Whether the next frame fits the buffer and a byte more can be read. */
static bool rx_fits(const struct vamos_stream *s)
{
	return s->rx_cur + rx_need(s) <= s->rx_cap && s->rx_end < s->rx_cap;
}

/*
 * Make room to read: compact, then grow (up to rx_limit, which holds the
 * rest of an active frame plus the next whole one). Records handed out pin
 * the buffer, so then only the free tail is used. Returns the free bytes
 * after rx_end (0: none until release), or -ENOMEM.
 */
static long rx_room(struct vamos_stream *s)
{
	if (rx_fits(s) || s->handed)
		return (long)(s->rx_cap - s->rx_end);
	rx_compact(s);
	if (rx_fits(s))
		return (long)(s->rx_cap - s->rx_end);
	size_t want = s->rx_cur + rx_need(s);
	size_t cap = s->rx_cap;
	while (cap < want || cap <= s->rx_end)
		cap *= 2;
	if (cap > s->rx_limit)
		cap = s->rx_limit;
	if (cap > s->rx_cap) {
		unsigned char *rx = realloc(s->rx, cap);
		if (!rx)
			return -ENOMEM;
		s->rx = rx;
		s->rx_cap = cap;
	}
	return (long)(s->rx_cap - s->rx_end);
}

bool vamos_stream_can_fill(struct vamos_stream *s)
{
	return !s->eof && rx_room(s) > 0;
}

int vamos_stream_fill(struct vamos_stream *s)
{
	if (s->eof)
		return 0;
	long room = rx_room(s);
	if (room <= 0)
		return (int)room;
	for (;;) {
		ssize_t n = recv(s->fd, s->rx + s->rx_end, (size_t)room, MSG_DONTWAIT);
		if (n > 0) {
			s->rx_end += (size_t)n;
			return n < room ? 1 : 2;
		}
		if (n == 0) {
			s->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		/* A reset is a close: what arrived before it is handed out
		 * first, then the channel reports the peer gone. */
		if (errno == ECONNRESET || errno == ENOTCONN) {
			s->eof = true;
			return 0;
		}
		return -EIO;
	}
}

/* The peer closed: fail, saying whether it stopped inside a frame. */
static int peer_closed(struct vamos_stream *s)
{
	return vamos_stream_fail(s, -ECONNRESET,
				 s->rx_end > s->rx_cur
				 ? "peer closed the connection mid-frame"
				 : "peer closed the connection");
}

/*
 * Get to the next record: finish the active frame once its records are
 * taken, start the next frame once it is completely buffered. Returns 1
 * when a record can be taken, 0 when more bytes are needed, or the failure.
 */
static int rx_ready(struct vamos_stream *s)
{
	const char *why;

	if (s->active) {
		if (s->frame.left)
			return 1;
		struct vamos_frame_record rec;
		if (vamos_frame_next(s->rx, &s->frame, &rec, &why))
			return vamos_stream_fail(s, -EPROTO, why);
		s->active = false;
	}
	if (s->rx_end - s->rx_cur < VAMOS_FRAME_HEADER_SIZE)
		return 0;
	uint32_t count, body;
	if (vamos_frame_check_header(s->rx + s->rx_cur,
				     s->max_frame - VAMOS_FRAME_HEADER_SIZE,
				     &count, &body, &why))
		return vamos_stream_fail(s, -EPROTO, why);
	size_t start = s->rx_cur + VAMOS_FRAME_HEADER_SIZE;
	/* Records are handed out only from frames completely in the buffer. */
	if (s->rx_end - start < body)
		return 0;
	s->frame.off = start;
	s->frame.end = start + body;
	s->frame.left = count;
	s->rx_cur = s->frame.end;
	s->active = true;
	return 1;
}

/*
 * Make progress towards a record without blocking: parse, else read (while
 * *@may_read: a read that did not fill the room emptied the socket, so the
 * caller's next attempt skips the system call that would find nothing).
 * Returns 1 when a record can be taken, 0 when none can yet, or an error
 * (sticky failures, -EIO, -ENOMEM).
 */
static int rx_advance(struct vamos_stream *s, bool *may_read)
{
	for (;;) {
		int rc = rx_ready(s);
		if (rc || !*may_read)
			return rc;
		rc = vamos_stream_fill(s);
		if (rc == 1)
			*may_read = false;
		if (rc > 0)
			continue;
		if (rc < 0)
			return rc;
		return s->eof ? peer_closed(s) : 0;
	}
}

int vamos_stream_poll(struct vamos_chan *ch, struct vamos_record *out,
		      unsigned max)
{
	struct vamos_stream *s = vamos_stream_of(ch);
	unsigned n = 0;
	uint64_t bytes = 0;
	bool may_read = true;
	int rc = vamos_chan_failure_(ch);

	if (rc)
		return rc;
	pthread_mutex_lock(&s->rx_lock);
	while (n < max && (rc = rx_advance(s, &may_read)) == 1) {
		struct vamos_frame_record rec;
		const char *why;
		rc = vamos_frame_next(s->rx, &s->frame, &rec, &why);
		if (rc < 0) {
			vamos_stream_fail(s, -EPROTO, why);
			break;
		}
		out[n].data = s->rx + rec.payload;
		out[n].len = rec.len;
		out[n].type = rec.type;
		out[n].elem_size = 0; /* streams carry plain records only */
		bytes += rec.len;
		n++;
		s->handed = true;
	}
	pthread_mutex_unlock(&s->rx_lock);
	vamos_chan_count_(&ch->stats.records_received, n);
	vamos_chan_count_(&ch->stats.bytes_received, bytes);
	/* Hand out what was good; a failure is reported by the next call. */
	if (n)
		return (int)n;
	return rc < 0 ? rc : 0;
}

void vamos_stream_release(struct vamos_chan *ch)
{
	struct vamos_stream *s = vamos_stream_of(ch);

	pthread_mutex_lock(&s->rx_lock);
	s->handed = false;
	/* Everything parsed: start over at the buffer's start for free. */
	if (!s->active && s->rx_cur == s->rx_end)
		s->rx_cur = s->rx_end = 0;
	pthread_mutex_unlock(&s->rx_lock);
}

int vamos_stream_wait(struct vamos_chan *ch, int timeout_ms)
{
	struct vamos_stream *s = vamos_stream_of(ch);
	int64_t deadline = timeout_ms > 0 ? vamos_now_ms() + timeout_ms : 0;
	/* Spin phase (vamos_chan_set_spin; 0 by default for streams): keep
	 * reading without blocking, so the peer's write never has to wake us. */
	int64_t spin_until = ch->spin_ns > 0 ? vamos_now_ns() + ch->spin_ns : 0;

	int failed = vamos_chan_failure_(ch);
	if (failed)
		return failed;
	for (;;) {
		bool may_read = true;
		pthread_mutex_lock(&s->rx_lock);
		int rc = rx_advance(s, &may_read);
		pthread_mutex_unlock(&s->rx_lock);
		if (rc)
			return rc;
		int left = -1;
		if (timeout_ms == 0)
			return -ETIMEDOUT;
		if (spin_until && vamos_now_ns() < spin_until &&
		    (timeout_ms < 0 || vamos_now_ms() < deadline))
			continue;
		if (timeout_ms > 0) {
			int64_t ms = deadline - vamos_now_ms();
			if (ms <= 0)
				return -ETIMEDOUT;
			left = (int)ms;
		}
		/* Records held and no room: nothing can come in before a
		 * release, as a full ring gets nothing; sleep out the time. */
		pthread_mutex_lock(&s->rx_lock);
		bool can_read = vamos_stream_can_fill(s);
		pthread_mutex_unlock(&s->rx_lock);
		struct pollfd p = {.fd = s->fd, .events = can_read ? POLLIN : 0};
		vamos_chan_count_(&ch->stats.sleeps, 1);
		int n = poll(can_read ? &p : NULL, can_read ? 1 : 0, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		if (n == 0)
			return -ETIMEDOUT;
		vamos_chan_count_(&ch->stats.notifications_received, 1);
	}
}
