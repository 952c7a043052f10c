/* SPDX-License-Identifier: MIT */
/*
 * A stream channel's private state, shared by send.c (reserve, commit,
 * flush), recv.c (poll, release, wait) and stream.c (open, close).
 * Library-internal.
 */
#ifndef VAMOS_VSOCK_STREAM_INTERNAL_H
#define VAMOS_VSOCK_STREAM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define VAMOS_STREAM_INTERNAL __attribute__((visibility("hidden")))

/* Bytes each buffer starts with; both grow on demand up to their limit. */
#define VAMOS_STREAM_INITIAL_BUFFER (64u << 10)

struct vamos_stream {
	struct vamos_chan chan; /* first: the channel handed out is this */
	int fd;
	uint32_t max_frame;     /* header included, multiple of 8 */
	uint32_t send_timeout_ms; /* 0: a flush waits for the peer for ever */

	/*
	 * Sending: the frame being built lies at tx + tx_base; its header is
	 * written at flush, records follow it up to tx_end. An open
	 * reservation's record header sits at open_at (== tx_end).
	 */
	unsigned char *tx;
	size_t tx_cap;          /* allocated, <= max_frame */
	size_t tx_base;         /* frame header offset, a multiple of 8 */
	size_t tx_end;          /* next record header offset */
	uint32_t tx_count;      /* records committed to this frame */
	uint64_t tx_payload;    /* their payload bytes */
	size_t open_at;
	uint32_t open_len;
	bool open;

	/*
	 * The receive buffer's lock: a flush that waits for the socket reads
	 * into it too (wait_writable), possibly while another thread receives.
	 * Held for buffer work only, never across a blocking poll().
	 */
	pthread_mutex_t rx_lock;

	/*
	 * Receiving: bytes [0, rx_end) were read. rx_cur is the next frame
	 * header not yet parsed; while a frame is active its records are
	 * handed out from frame.off, and rx_cur is its end. Nothing before the
	 * next byte to parse is needed once the records handed out are
	 * released, so only then may the contents move (compaction, growth).
	 */
	unsigned char *rx;
	size_t rx_cap;          /* allocated */
	size_t rx_limit;        /* most it may grow to: two max frames */
	size_t rx_cur;
	size_t rx_end;
	struct vamos_frame_cursor frame;
	bool active;            /* frame describes a complete, started frame */
	bool handed;            /* records handed out and not yet released */
	bool eof;               /* the peer closed its end (or reset it) */
};

static inline struct vamos_stream *vamos_stream_of(struct vamos_chan *ch)
{
	return (struct vamos_stream *)ch;
}

/* Payload capacity of the largest record. */
static inline uint32_t vamos_stream_max_payload(const struct vamos_stream *s)
{
	return s->max_frame - VAMOS_FRAME_HEADER_SIZE - VAMOS_RECORD_HEADER_SIZE;
}

/* Mark the channel failed (sticky) and return the failure. */
static inline int vamos_stream_fail(struct vamos_stream *s, int err, const char *why)
{
	return vamos_chan_fail_(&s->chan, err, why);
}

/* stream.c: the max frame @params ask for, or 0 if they are invalid. */
VAMOS_STREAM_INTERNAL uint32_t
vamos_stream_max_frame_of(const struct vamos_stream_params *params);

/* send.c */
VAMOS_STREAM_INTERNAL int vamos_stream_reserve(struct vamos_chan *ch, uint32_t len,
					       void **payload);
VAMOS_STREAM_INTERNAL int vamos_stream_commit(struct vamos_chan *ch, uint16_t type,
					      uint32_t len);
VAMOS_STREAM_INTERNAL void vamos_stream_abort(struct vamos_chan *ch);
VAMOS_STREAM_INTERNAL int vamos_stream_flush(struct vamos_chan *ch);

/* recv.c */
VAMOS_STREAM_INTERNAL int vamos_stream_poll(struct vamos_chan *ch,
					    struct vamos_record *out, unsigned max);
VAMOS_STREAM_INTERNAL void vamos_stream_release(struct vamos_chan *ch);
VAMOS_STREAM_INTERNAL int vamos_stream_wait(struct vamos_chan *ch, int timeout_ms);

/*
 * Read what the socket holds into free receive room without blocking
 * (flush calls this while the socket is full). Returns 2 if bytes filled
 * all the room (more may wait), 1 if fewer arrived (the socket is empty
 * now), 0 if none did (nothing there, no room, or the peer closed: see
 * eof), -EIO or -ENOMEM.
 */
VAMOS_STREAM_INTERNAL int vamos_stream_fill(struct vamos_stream *s);

/* Whether vamos_stream_fill() could take bytes now (making room if it may).
 * Both with rx_lock held. */
VAMOS_STREAM_INTERNAL bool vamos_stream_can_fill(struct vamos_stream *s);

#endif
