/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo.h"
#include "unix_echo.h"

struct conn {
	int fd[2];
	unsigned batch;
	uint32_t payload;
	double seconds;
	struct echo_result *out;
	uint64_t requests, writes;
	int err;
};

static atomic_uint_fast64_t server_writes;

/* One message each way: a 16-byte header, then @len bytes. The server
 * parses every request and builds every reply, as vamosd does, then sends
 * all replies of one read with one write. */
struct msg_header {
	uint64_t id;
	uint32_t len;
	int32_t status;
};

static void *server(void *arg)
{
	int fd = *(int *)arg;
	size_t cap = 1 << 20;
	char *in = malloc(cap), *out = malloc(cap);
	size_t have = 0;
	ssize_t n;
	while (in && out && (n = read(fd, in + have, cap - have)) > 0) {
		have += (size_t)n;
		size_t off = 0, olen = 0;
		while (have - off >= sizeof(struct msg_header)) {
			struct msg_header h;
			memcpy(&h, in + off, sizeof h);
			size_t size = sizeof h + h.len;
			if (h.len > cap / 2 || have - off < size)
				break;
			h.status = 0;
			memcpy(out + olen, &h, sizeof h);
			memcpy(out + olen + sizeof h, in + off + sizeof h, h.len);
			olen += size;
			off += size;
		}
		memmove(in, in + off, have - off);
		have -= off;
		for (size_t w = 0; w < olen;) {
			ssize_t k = write(fd, out + w, olen - w);
			if (k <= 0)
				goto out;
			w += (size_t)k;
			atomic_fetch_add_explicit(&server_writes, 1, memory_order_relaxed);
		}
	}
out:
	free(in);
	free(out);
	close(fd);
	return NULL;
}

static int read_all(int fd, char *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *client(void *arg)
{
	struct conn *c = arg;
	size_t one = sizeof(struct msg_header) + c->payload;
	size_t len = (size_t)c->batch * one;
	char *out = calloc(1, len), *in = malloc(len);
	uint64_t next_id = 0;
	int64_t *lat = malloc(c->batch * sizeof *lat);
	int64_t end = echo_now_ns() + (int64_t)(c->seconds * 1e9);
	if (!out || !in || !lat) {
		c->err = -ENOMEM;
		goto done;
	}
	while (echo_now_ns() < end) {
		int64_t t0 = echo_now_ns();
		for (unsigned i = 0; i < c->batch; i++) {
			struct msg_header h = { .id = next_id + i, .len = c->payload };
			memcpy(out + i * one, &h, sizeof h);
		}
		if (write(c->fd[0], out, len) != (ssize_t)len || read_all(c->fd[0], in, len)) {
			c->err = -EIO;
			break;
		}
		/* Every reply is the next id, as requests were sent. */
		for (unsigned i = 0; i < c->batch; i++) {
			struct msg_header h;
			memcpy(&h, in + i * one, sizeof h);
			if (h.id != next_id + i || h.len != c->payload || h.status) {
				c->err = -EPROTO;
				goto done;
			}
		}
		next_id += c->batch;
		int64_t t1 = echo_now_ns();
		for (unsigned i = 0; i < c->batch; i++)
			lat[i] = t1 - t0;
		echo_add_samples(c->out, lat, c->batch);
		c->requests += c->batch;
		c->writes++;
	}
done:
	free(out);
	free(in);
	free(lat);
	shutdown(c->fd[0], SHUT_RDWR);
	return NULL;
}

int unix_echo_run(unsigned channels, unsigned batch, uint32_t payload, double seconds,
		  struct echo_result *out)
{
	struct conn conns[16];
	pthread_t cl[16], sv[16];
	if (channels > 16)
		return -EINVAL;
	atomic_store(&server_writes, 0);
	for (unsigned i = 0; i < channels; i++) {
		conns[i] = (struct conn){ .batch = batch, .payload = payload, .seconds = seconds,
					  .out = out };
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conns[i].fd) < 0)
			return -errno;
		pthread_create(&sv[i], NULL, server, &conns[i].fd[1]);
	}
	int64_t t0 = echo_now_ns();
	for (unsigned i = 0; i < channels; i++)
		pthread_create(&cl[i], NULL, client, &conns[i]);
	int err = 0;
	for (unsigned i = 0; i < channels; i++) {
		pthread_join(cl[i], NULL);
		pthread_join(sv[i], NULL);
		close(conns[i].fd[0]);
		out->requests += conns[i].requests;
		out->notifications += conns[i].writes;
		if (conns[i].err)
			err = conns[i].err;
	}
	out->seconds = (double)(echo_now_ns() - t0) / 1e9;
	out->notifications += atomic_load(&server_writes);
	return err;
}
