/* SPDX-License-Identifier: MIT */
/* Sending: records are built in a private batch buffer, and a flush sends
 * the whole frame with one send() when the socket takes it. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "stream_internal.h"
#include "vamos_clock.h"

/*
 * Make room for @size more bytes after tx_end. Called only with no
 * reservation open, so the frame may move: first to the buffer's start,
 * then into a larger buffer. Returns 0 or -ENOMEM.
 */
static int tx_make_room(struct vamos_stream *s, size_t size)
{
	if (s->tx_base) {
		memmove(s->tx, s->tx + s->tx_base, s->tx_end - s->tx_base);
		s->tx_end -= s->tx_base;
		s->tx_base = 0;
	}
	if (s->tx_end + size <= s->tx_cap)
		return 0;
	size_t cap = s->tx_cap;
	while (cap < s->tx_end + size)
		cap *= 2;
	if (cap > s->max_frame)
		cap = s->max_frame;
	unsigned char *tx = realloc(s->tx, cap);
	if (!tx)
		return -ENOMEM;
	s->tx = tx;
	s->tx_cap = cap;
	return 0;
}

int vamos_stream_reserve(struct vamos_chan *ch, uint32_t len, void **payload)
{
	struct vamos_stream *s = vamos_stream_of(ch);

	int failed = vamos_chan_failure_(ch);
	if (failed)
		return failed;
	if (s->open)
		return -EBUSY;
	if (len > vamos_stream_max_payload(s))
		return -EMSGSIZE;
	size_t size = (size_t)vamos_record_size(len);
	/* The largest record fits an empty frame, so this only refuses a
	 * record that would fit after a flush. */
	if (s->tx_end - s->tx_base + size > s->max_frame)
		return -EAGAIN;
	if (s->tx_end + size > s->tx_cap) {
		int rc = tx_make_room(s, size);
		if (rc)
			return rc;
	}
	s->open = true;
	s->open_at = s->tx_end;
	s->open_len = len;
	*payload = s->tx + s->tx_end + VAMOS_RECORD_HEADER_SIZE;
	return 0;
}

int vamos_stream_commit(struct vamos_chan *ch, uint16_t type, uint32_t len)
{
	struct vamos_stream *s = vamos_stream_of(ch);

	if (!s->open || len > s->open_len || type > VAMOS_RECORD_TYPE_MAX)
		return -EINVAL;
	unsigned char *at = s->tx + s->open_at;
	size_t size = (size_t)vamos_record_size(len);
	vamos_le64_store(at, vamos_record_header(len, type));
	/* Zero the padding: the peer never sees stale bytes of ours. */
	memset(at + VAMOS_RECORD_HEADER_SIZE + len, 0,
	       size - VAMOS_RECORD_HEADER_SIZE - len);
	s->tx_end = s->open_at + size;
	s->tx_count++;
	s->tx_payload += len;
	s->open = false;
	return 0;
}

void vamos_stream_abort(struct vamos_chan *ch)
{
	vamos_stream_of(ch)->open = false;
}

/*
 * Wait until the socket takes bytes again; meanwhile take in what the peer
 * sends, if there is receive room, so that a peer flushing at us at the same
 * time finishes its flush instead of waiting for ours. Returns 0 (try to send
 * again), -ETIMEDOUT once @deadline_ms (0: none) has passed, or -EIO.
 */
static int wait_writable(struct vamos_stream *s, int64_t deadline_ms)
{
	for (;;) {
		/* The receive side may be in a call on another thread: the
		 * buffer is touched under its lock only. */
		pthread_mutex_lock(&s->rx_lock);
		bool can_read = vamos_stream_can_fill(s);
		pthread_mutex_unlock(&s->rx_lock);
		struct pollfd p = {
			.fd = s->fd,
			.events = (short)(POLLOUT | (can_read ? POLLIN : 0)),
		};
		int wait = -1;
		if (deadline_ms) {
			int64_t left = deadline_ms - vamos_now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > 1000 ? 1000 : (int)left;
		}
		int n = poll(&p, 1, wait);
		if (n == 0)
			continue; /* the deadline is checked above */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		if (p.revents & POLLNVAL)
			return -EIO;
		/* Errors and hangups are reported by the next send(). */
		if (p.revents & (POLLOUT | POLLERR | POLLHUP))
			return 0;
		if ((p.revents & POLLIN) && can_read) {
			pthread_mutex_lock(&s->rx_lock);
			(void)vamos_stream_fill(s); /* errors show in poll */
			pthread_mutex_unlock(&s->rx_lock);
		}
	}
}

/* Send @len bytes at @p, all of them or fail. */
static int send_all(struct vamos_stream *s, const unsigned char *p, size_t len)
{
	size_t done = 0;
	/* The peer has this long, from now, to take the whole frame. */
	int64_t deadline = s->send_timeout_ms ? vamos_now_ms() + s->send_timeout_ms : 0;

	while (done < len) {
		ssize_t n = send(s->fd, p + done, len - done,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			vamos_chan_count_(&s->chan.stats.notifications_sent, 1);
			continue;
		}
		int err = n < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			err = -wait_writable(s, deadline);
			if (!err)
				continue;
		}
		if (err == ETIMEDOUT)
			return vamos_stream_fail(s, -ECONNRESET,
						 "the peer took no bytes within the send timeout");
		if (err == EPIPE || err == ECONNRESET || err == ENOTCONN)
			return vamos_stream_fail(s, -ECONNRESET,
						 "peer closed the connection");
		/* Nothing sent: the batch stays and the caller may retry. */
		if (done == 0)
			return -EIO;
		/* Part of a frame went out: the peer can never parse what
		 * follows, so the connection is as good as gone. */
		return vamos_stream_fail(s, -ECONNRESET,
					 "a write failed mid-frame, the connection is unusable");
	}
	return 0;
}

int vamos_stream_flush(struct vamos_chan *ch)
{
	struct vamos_stream *s = vamos_stream_of(ch);

	int failed = vamos_chan_failure_(ch);
	if (failed)
		return failed;
	if (s->tx_count == 0)
		return 0;
	size_t size = s->tx_end - s->tx_base;
	vamos_frame_put_header(s->tx + s->tx_base, s->tx_count,
			       (uint32_t)(size - VAMOS_FRAME_HEADER_SIZE));
	int rc = send_all(s, s->tx + s->tx_base, size);
	if (rc)
		return rc;

	vamos_chan_count_(&ch->stats.records_sent, s->tx_count);
	vamos_chan_count_(&ch->stats.bytes_sent, s->tx_payload);
	vamos_chan_count_(&ch->stats.batches_sent, 1);
	s->tx_count = 0;
	s->tx_payload = 0;
	/* An open reservation stays where its payload is: the next frame's
	 * header goes in the sent bytes just before it. */
	s->tx_base = s->open ? s->open_at - VAMOS_FRAME_HEADER_SIZE : 0;
	s->tx_end = s->tx_base + VAMOS_FRAME_HEADER_SIZE;
	return 0;
}
