/* SPDX-License-Identifier: MIT */
/*
 * pipe, unix_socket: the kernel's byte streams, a pipe(2) and an AF_UNIX
 * SOCK_STREAM socketpair(2), framed by the fixed payload size P. Buffers
 * are raised to the rings' byte budget. The producer writes a batch of B
 * messages with one write() (blocking); the consumer's end is non-blocking
 * and busy-polls read() for up to B messages at a time, keeping a partial
 * message for the next read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct stream_state {
	int wfd; /* producer's end */
	int rfd; /* consumer's end, O_NONBLOCK */
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int finish_setup(struct bench_case *bc, int wfd, int rfd)
{
	struct stream_state *s = malloc(sizeof(*s));
	int rc;

	if (!s) {
		close(wfd);
		close(rfd);
		return -ENOMEM;
	}
	s->wfd = wfd;
	s->rfd = rfd;
	bc->state = s;
	rc = set_nonblock(rfd);
	if (rc != 0) {
		fprintf(stderr, "%s: O_NONBLOCK: %s\n", bc->impl->name,
			strerror(-rc));
		close(wfd);
		close(rfd);
		free(s);
		bc->state = NULL;
	}
	return rc;
}

static int pipe_setup(struct bench_case *bc)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) != 0) {
		fprintf(stderr, "pipe: pipe2: %s\n", strerror(errno));
		return -errno;
	}
	/* Above /proc/sys/fs/pipe-max-size only root may go; else keep the
	   largest size allowed. */
	if (fcntl(fds[1], F_SETPIPE_SZ, (int)bc->ring_bytes) < 0) {
		static int warned;

		if (!warned++)
			fprintf(stderr, "pipe: F_SETPIPE_SZ %u: %s; using %d bytes\n",
				bc->ring_bytes, strerror(errno),
				fcntl(fds[1], F_GETPIPE_SZ));
	}
	return finish_setup(bc, fds[1], fds[0]);
}

static void set_buf(int fd, int force_opt, int opt, int bytes)
{
	/* The FORCE variants pass net.core.[rw]mem_max when privileged. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static int socket_setup(struct bench_case *bc)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		fprintf(stderr, "unix_socket: socketpair: %s\n", strerror(errno));
		return -errno;
	}
	set_buf(fds[1], SO_SNDBUFFORCE, SO_SNDBUF, (int)bc->ring_bytes);
	set_buf(fds[0], SO_RCVBUFFORCE, SO_RCVBUF, (int)bc->ring_bytes);
	return finish_setup(bc, fds[1], fds[0]);
}

static void stream_producer(struct bench_case *bc)
{
	struct stream_state *s = bc->state;
	const uint32_t P = bc->payload, B = bc->batch;
	const size_t len = (size_t)P * B;
	unsigned char *msgs = malloc(len);
	uint64_t seq = 0;

	if (!msgs)
		bench_fatal("%s: out of memory", bc->impl->name);
	memcpy(msgs, bc->tmpl, len);
	while (!bench_stop_requested(bc)) {
		for (uint32_t i = 0; i < B; i++)
			bench_stamp(msgs + (size_t)i * P, seq + i);
		for (size_t done = 0; done < len;) {
			ssize_t n = write(s->wfd, msgs + done, len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				bench_fatal("%s: write: %s", bc->impl->name,
					    n < 0 ? strerror(errno) : "wrote 0");
			done += (size_t)n;
		}
		seq += B;
	}
	bench_producer_finish(bc, seq);
	free(msgs);
}

static void stream_consumer(struct bench_case *bc)
{
	struct stream_state *s = bc->state;
	const uint32_t P = bc->payload, B = bc->batch;
	const size_t cap = (size_t)P * B;
	unsigned char *priv = malloc(cap);
	size_t have = 0; /* bytes in priv; < P between reads */
	uint64_t expect = 0;

	if (!priv)
		bench_fatal("%s: out of memory", bc->impl->name);
	for (;;) {
		ssize_t n = read(s->rfd, priv + have, cap - have);

		if (n <= 0) {
			if (n == 0)
				bench_fatal("%s: unexpected end of stream",
					    bc->impl->name);
			if (errno != EAGAIN && errno != EINTR)
				bench_fatal("%s: read: %s", bc->impl->name,
					    strerror(errno));
			if (have == 0 && bench_consumer_done(bc, expect))
				break;
			bench_relax();
			continue;
		}
		have += (size_t)n;
		bench_sink(priv);

		size_t off = 0;
		for (; have - off >= P; off += P)
			bench_check(bc, priv + off, expect++);
		if (off < have)
			memmove(priv, priv + off, have - off);
		have -= off;
		bench_set_received(bc, expect);
	}
	free(priv);
}

static void stream_teardown(struct bench_case *bc)
{
	struct stream_state *s = bc->state;

	close(s->wfd);
	close(s->rfd);
	free(s);
	bc->state = NULL;
}

const struct bench_impl bench_impl_pipe = {
	.name = "pipe",
	.has_doorbells = false,
	.setup = pipe_setup,
	.producer = stream_producer,
	.consumer = stream_consumer,
	.teardown = stream_teardown,
};

const struct bench_impl bench_impl_unix_socket = {
	.name = "unix_socket",
	.has_doorbells = false,
	.setup = socket_setup,
	.producer = stream_producer,
	.consumer = stream_consumer,
	.teardown = stream_teardown,
};
