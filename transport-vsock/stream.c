/* SPDX-License-Identifier: MIT */
/* A stream channel's life: check the socket, allocate, close. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream_internal.h"

static int stream_fd(const struct vamos_chan *ch)
{
	return ((const struct vamos_stream *)ch)->fd;
}

static uint32_t stream_max_payload(const struct vamos_chan *ch)
{
	return vamos_stream_max_payload((const struct vamos_stream *)ch);
}

static void stream_close(struct vamos_chan *ch)
{
	struct vamos_stream *s = vamos_stream_of(ch);
	close(s->fd);
	pthread_mutex_destroy(&s->rx_lock);
	free(s->tx);
	free(s->rx);
	free(s);
}

/* Sleeping on many streams: the kernel wakes the reader, so there is
 * nothing to announce; only records already buffered forbid sleeping. */
static int stream_prepare_sleep(struct vamos_chan *ch)
{
	int rc = vamos_stream_wait(ch, 0);
	if (rc == -ETIMEDOUT)
		return 1;
	return rc == 1 ? 0 : rc;
}

static void stream_awake(struct vamos_chan *ch)
{
	(void)ch;
}

#define STREAM_OPS(name) {                  \
	.transport = name,                  \
	.reserve = vamos_stream_reserve,    \
	.commit = vamos_stream_commit,      \
	.abort = vamos_stream_abort,        \
	.flush = vamos_stream_flush,        \
	.poll = vamos_stream_poll,          \
	.release = vamos_stream_release,    \
	.wait = vamos_stream_wait,          \
	.prepare_sleep = stream_prepare_sleep, \
	.awake = stream_awake,              \
	.fd = stream_fd,                    \
	.max_payload = stream_max_payload,  \
	.close = stream_close,              \
}

static const struct vamos_chan_ops unix_ops = STREAM_OPS("unix");
static const struct vamos_chan_ops vsock_ops = STREAM_OPS("vsock");

uint32_t vamos_stream_max_frame_of(const struct vamos_stream_params *params)
{
	uint32_t m = params && params->max_frame ? params->max_frame
						 : VAMOS_STREAM_DEFAULT_MAX_FRAME;
	if (m < VAMOS_STREAM_MIN_MAX_FRAME || m > VAMOS_STREAM_MAX_MAX_FRAME ||
	    m % VAMOS_RECORD_ALIGN)
		return 0;
	return m;
}

/* Which ops fit @fd: a connected stream socket of a family we serve.
 * Returns 0 with *@ops set, or a negative errno. */
static int check_socket(int fd, const struct vamos_chan_ops **ops)
{
	int val;
	socklen_t len = sizeof val;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &len))
		return -errno;
	if (val != SOCK_STREAM)
		return -EPROTOTYPE;
	len = sizeof val;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len))
		return -errno;
	if (val == AF_UNIX)
		*ops = &unix_ops;
	else if (val == AF_VSOCK)
		*ops = &vsock_ops;
	else
		return -EAFNOSUPPORT;
	struct sockaddr_storage peer;
	len = sizeof peer;
	if (getpeername(fd, (struct sockaddr *)&peer, &len))
		return -errno;
	return 0;
}

int vamos_stream_open_fd(int fd, const struct vamos_stream_params *params,
			 struct vamos_chan **out)
{
	const struct vamos_chan_ops *ops = NULL;
	uint32_t max_frame = vamos_stream_max_frame_of(params);
	int rc;

	if (fd < 0)
		return -EINVAL;
	if (!out || !max_frame)
		rc = -EINVAL;
	else
		rc = check_socket(fd, &ops);
	if (rc) {
		close(fd);
		return rc;
	}

	struct vamos_stream *s = calloc(1, sizeof *s);
	if (s) {
		s->tx = malloc(VAMOS_STREAM_INITIAL_BUFFER);
		s->rx = malloc(VAMOS_STREAM_INITIAL_BUFFER);
	}
	if (!s || !s->tx || !s->rx) {
		if (s) {
			free(s->tx);
			free(s->rx);
		}
		free(s);
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->rx_lock, NULL);
	s->chan.ops = ops;
	s->chan.mode = VAMOS_NOTIFY_STREAM;
	s->fd = fd;
	s->max_frame = max_frame;
	s->send_timeout_ms = params ? params->send_timeout_ms : 0;
	s->tx_cap = VAMOS_STREAM_INITIAL_BUFFER;
	s->tx_end = VAMOS_FRAME_HEADER_SIZE;
	s->rx_cap = VAMOS_STREAM_INITIAL_BUFFER;
	s->rx_limit = 2 * (size_t)max_frame;
	*out = &s->chan;
	return 0;
}
