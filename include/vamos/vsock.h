/* SPDX-License-Identifier: MIT */
/*
 * libvamos-vsock: the channel interface of vamos/channel.h over a connected
 * stream socket — AF_VSOCK between a guest and its host, or AF_UNIX between
 * two local processes (and in tests).
 *
 * Records travel in *frames*, one frame per flush. A frame is a 16-byte
 * header followed by a body of records laid out exactly as in a ring:
 *
 *     frame header, four little-endian 32-bit words:
 *         magic     VAMOS_FRAME_MAGIC ("VMF1": magic and version in one)
 *         count     records in the body, at least 1
 *         body      bytes of the body, a multiple of 8
 *         reserved  zero
 *     body, @count records, back to back, exactly @body bytes:
 *         8-byte header word vamos_record_header(len, type)
 *         (bits 0-31 length, 32-47 type <= VAMOS_RECORD_TYPE_MAX, 48-63 zero)
 *         @len payload bytes, then zero padding to a multiple of 8
 *
 * A frame, header included, never exceeds the channel's max frame (both
 * ends should use the same one; a receiver refuses a larger frame as a
 * protocol error). A flush is one send() when the socket takes the whole
 * frame, which is also the peer's notification: the kernel wakes a reader.
 *
 * The receiver reads whatever the socket holds into a private buffer,
 * without ever blocking in poll, and hands out records of complete frames
 * only, in place (8-byte aligned); they stay valid until release. Every field
 * the peer wrote is checked once before use, as the ring does: records
 * checked before a bad one are handed out first, the next call returns
 * -EPROTO, and vamos_chan_error() says what was wrong. A peer that closes
 * the connection gives -ECONNRESET once everything it sent before has been
 * handed out ("peer closed the connection", or "... mid-frame" if it stopped
 * inside a frame). SIGPIPE is never raised.
 *
 * Typical guest (a listening host at vsock port 5000):
 *
 *     struct vamos_chan *ch;
 *     int rc = vamos_vsock_connect(VMADDR_CID_HOST, 5000, NULL, &ch);
 *     ... vamos_chan_reserve/commit/flush, vamos_chan_wait/poll/release ...
 *     vamos_chan_close(ch);
 *
 * Typical host:
 *
 *     int lfd = vamos_vsock_listen(5000, 16);
 *     struct vamos_chan *ch;
 *     while (vamos_stream_accept(lfd, NULL, &ch) == 0)
 *             serve(ch);          (vamos_chan_fd(ch) fits an epoll loop)
 *
 * Differences from a ring channel, all within vamos/channel.h's contract:
 *   - reserve returns -EAGAIN when the record does not fit in the current
 *     frame (flush, then reserve again); a flush never waits for the peer to
 *     consume, only for the kernel to take the bytes;
 *   - flush blocks while the socket is full; meanwhile it keeps reading what
 *     the peer sends (into free buffer room), so two peers flushing large
 *     batches at each other do not deadlock;
 *   - wait sleeps in poll() at once by default: the kernel wakes it
 *     (VAMOS_NOTIFY_STREAM); with vamos_chan_set_spin() it first keeps
 *     reading without blocking for that long;
 *   - one read may bring several frames, and records already in the
 *     channel's buffer do not make vamos_chan_fd() readable: in an epoll
 *     loop, poll the channel until it returns 0 (or call vamos_chan_wait()
 *     with timeout 0) before sleeping on the descriptor again;
 *   - a reader that holds records without releasing them stops taking bytes
 *     off the socket once its buffer has no free room (poll returns 0 and
 *     wait sleeps out its timeout until release), as a full ring would;
 *   - a failed system call returns -EIO and leaves the channel usable when
 *     nothing of a frame went out; a send that fails after part of a frame
 *     went out leaves the stream unparseable, so the channel fails with
 *     -ECONNRESET; growing a buffer can fail with -ENOMEM.
 *
 * All functions return 0 or a descriptor on success and a negative errno
 * value on failure. Channels are single-threaded like every vamos_chan.
 *
 * Errors: a negative errno, the failed object's ..._error() in words, or
 * why_out when no object exists yet (doc/errors.md, the one convention).
 */
#ifndef VAMOS_VSOCK_H
#define VAMOS_VSOCK_H

#include <stdint.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h> /* VMADDR_CID_HOST, VMADDR_CID_ANY, ... */

#include <vamos/channel.h>

#ifdef __cplusplus
extern "C" {
#endif

/** First word of every frame: "VMF1" read as a little-endian integer
 *  (frame format version 1). */
#define VAMOS_FRAME_MAGIC 0x31464d56u
/** Bytes of the frame header in front of every body. */
#define VAMOS_FRAME_HEADER_SIZE 16u

/** Max frame (header and body) a channel uses unless told otherwise. */
#define VAMOS_STREAM_DEFAULT_MAX_FRAME (1u << 20)
/** Smallest and largest max frame a channel accepts (multiples of 8). */
#define VAMOS_STREAM_MIN_MAX_FRAME (64u << 10)
#define VAMOS_STREAM_MAX_MAX_FRAME (64u << 20)

/** Options for opening a stream channel; pass NULL for the defaults. */
struct vamos_stream_params {
	/** Largest frame sent or accepted, header included, in bytes:
	 *  0 for VAMOS_STREAM_DEFAULT_MAX_FRAME, else a multiple of 8 in
	 *  [VAMOS_STREAM_MIN_MAX_FRAME, VAMOS_STREAM_MAX_MAX_FRAME]. The
	 *  largest payload is max_frame - VAMOS_FRAME_HEADER_SIZE -
	 *  VAMOS_RECORD_HEADER_SIZE. Both ends should agree. */
	uint32_t max_frame;
	/** How long a flush waits for the peer to take bytes, in ms: 0 for
	 *  ever. Past it the connection fails with -ECONNRESET ("the peer
	 *  took no bytes for N ms"): a server sets it so that a peer that
	 *  never reads its replies cannot hold the thread that flushes. */
	uint32_t send_timeout_ms;
};

/**
 * Make a channel of the connected stream socket @fd (AF_UNIX or AF_VSOCK,
 * SOCK_STREAM, blocking or not). The channel takes @fd over in every case:
 * it is closed on failure (unless negative) and by vamos_chan_close().
 * Returns 0 and *@out; -EINVAL for bad params, a NULL @out or a negative
 * @fd; -EBADF if @fd is not open; -ENOTSOCK if it is no socket;
 * -EPROTOTYPE if it is not a stream socket; -EAFNOSUPPORT for another
 * address family; -ENOTCONN if it is not connected; -ENOMEM.
 */
int vamos_stream_open_fd(int fd, const struct vamos_stream_params *params,
			 struct vamos_chan **out);

/**
 * Connect to the AF_UNIX stream socket at filesystem @path and make a
 * channel of it (transport "unix"). Returns 0 and *@out; -EINVAL for an
 * empty @path, bad params or a NULL @out (checked before connecting);
 * -ENAMETOOLONG if @path does not fit a sockaddr_un; the connect error
 * (-ENOENT, -ECONNREFUSED, ...); or an error of vamos_stream_open_fd().
 */
int vamos_stream_connect_unix(const char *path,
			      const struct vamos_stream_params *params,
			      struct vamos_chan **out);

/**
 * Bind an AF_UNIX stream socket to filesystem @path and listen with
 * @backlog. An existing file at @path is never removed: that gives
 * -EADDRINUSE (unlink a stale socket first). Returns the listening
 * descriptor (close-on-exec, blocking) or a negative errno (-EINVAL for an
 * empty @path, -ENAMETOOLONG, or the socket/bind/listen error).
 */
int vamos_stream_listen_unix(const char *path, int backlog);

/**
 * Take the next connection from the listening socket @listen_fd (from
 * vamos_stream_listen_unix() or vamos_vsock_listen()) and make a channel
 * of it. Blocks unless @listen_fd is nonblocking, which gives -EAGAIN when
 * none waits. Returns 0 and *@out; -EINVAL for a negative @listen_fd, bad
 * params or a NULL @out (checked before a connection is taken); the accept
 * error; or an error of vamos_stream_open_fd().
 */
int vamos_stream_accept(int listen_fd, const struct vamos_stream_params *params,
			struct vamos_chan **out);

/**
 * Connect to vsock port @port of context @cid (VMADDR_CID_HOST = 2 from a
 * guest) and make a channel of it (transport "vsock"). Returns 0 and *@out;
 * -EINVAL for VMADDR_CID_ANY, VMADDR_PORT_ANY, bad params or a NULL @out
 * (checked before any socket exists); the socket or connect error
 * (-EAFNOSUPPORT without vsock, -ECONNREFUSED, -ETIMEDOUT, ...); or an
 * error of vamos_stream_open_fd().
 */
int vamos_vsock_connect(uint32_t cid, uint32_t port,
			const struct vamos_stream_params *params,
			struct vamos_chan **out);

/**
 * Listen on vsock port @port of every local context (VMADDR_CID_ANY) with
 * @backlog. Returns the listening descriptor (close-on-exec, blocking) or a
 * negative errno (-EINVAL for VMADDR_PORT_ANY).
 */
int vamos_vsock_listen(uint32_t port, int backlog);

#ifdef __cplusplus
}
#endif

#endif /* VAMOS_VSOCK_H */
