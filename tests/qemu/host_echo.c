/* SPDX-License-Identifier: MIT */
/*
 * The host half of the QEMU test: serves one VM's ivshmem (doorbell mode:
 * QEMU's server protocol on a socket; plain mode: a memory-backend-file),
 * echoes every request on one channel after checking it is the next
 * numbered record, intact, and prints its counters when the guest says STOP.
 *
 *   vamos-host-echo --socket PATH [--vectors K]   (ivshmem-doorbell)
 *   vamos-host-echo --plain FILE [--size BYTES]   (ivshmem-plain)
 *       [--channels C] [--channel I] [--ready FILE] [--timeout-ms MS]
 *
 * Writes FILE given by --ready once QEMU may start. Exits 0 only if the
 * guest's whole workload arrived intact and in order and was answered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "../ivshmem/echo.h"

static atomic_int joined_peer = -1;
static int stop_fd = -1;

static void on_event(void *arg, const struct vamos_ivshmem_event *ev)
{
	static const char *names[] = { "?", "join", "leave", "reject" };
	printf("host: peer %d %s: %s\n", ev->peer, names[ev->kind & 3], ev->detail);
	fflush(stdout);
	if (ev->kind == VAMOS_IVSHMEM_JOIN)
		atomic_store(&joined_peer, ev->peer);
	(void)arg;
}

static void *dispatch_loop(void *arg)
{
	vamos_ivshmem_server_run(arg, stop_fd);
	return NULL;
}

/* Echo until STOP, checking each request; NULL or what went wrong. */
static const char *serve(struct vamos_chan *ch, int timeout_ms, uint64_t *count)
{
	struct vamos_record in[64];
	for (;;) {
		int rc = vamos_chan_wait(ch, timeout_ms);
		if (rc < 0)
			return rc == -ETIMEDOUT ? "timed out waiting for requests"
						: vamos_chan_error(ch);
		int n = vamos_chan_poll(ch, in, 64);
		if (n < 0)
			return vamos_chan_error(ch);
		for (int i = 0; i < n; i++) {
			if (in[i].type != ECHO_TYPE_STOP) {
				const char *bad = echo_check(&in[i], *count);
				if (bad)
					return bad;
				(*count)++;
			}
			void *p;
			while ((rc = vamos_chan_reserve(ch, in[i].len, &p)) == -EAGAIN)
				if (vamos_chan_flush(ch) < 0)
					return vamos_chan_error(ch);
			if (rc < 0)
				return "cannot reserve a reply";
			memcpy(p, in[i].data, in[i].len);
			vamos_chan_commit(ch, in[i].type, in[i].len);
			if (in[i].type == ECHO_TYPE_STOP) {
				vamos_chan_release(ch);
				return vamos_chan_flush(ch) < 0 ? vamos_chan_error(ch) : NULL;
			}
		}
		vamos_chan_release(ch);
		if (vamos_chan_flush(ch) < 0)
			return vamos_chan_error(ch);
	}
}

static int touch(const char *path)
{
	FILE *f = fopen(path, "w");
	return f && fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *plain = NULL, *ready = NULL;
	uint32_t vectors = 1, channels = 1, channel = 0;
	uint64_t size = 0;
	int timeout_ms = 120000;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (!strcmp(o, "--socket")) sock = v;
		else if (!strcmp(o, "--plain")) plain = v;
		else if (!strcmp(o, "--size")) size = strtoull(v, NULL, 0);
		else if (!strcmp(o, "--vectors")) vectors = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(o, "--channels")) channels = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(o, "--channel")) channel = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(o, "--ready")) ready = v;
		else if (!strcmp(o, "--timeout-ms")) timeout_ms = atoi(v);
		else {
			fprintf(stderr, "host: unknown option %s\n", o);
			return 2;
		}
	}
	if (!sock == !plain) {
		fprintf(stderr, "host: give exactly one of --socket and --plain\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct vamos_region_params rp = { channels, 1u << 16, 1u << 16 };
	struct vamos_ivshmem_server *server = NULL;
	struct vamos_plain *pl = NULL;
	struct vamos_chan *ch = NULL;
	pthread_t thread;
	const char *why = NULL;
	int rc;

	if (sock) {
		struct vamos_ivshmem_server_params sp = {
			.socket_path = sock, .shm_size = size, .region = rp,
			.vectors = vectors, .on_event = on_event,
		};
		if ((rc = vamos_ivshmem_server_start(&sp, &server, &why))) {
			printf("host: cannot start the server: %s\n", why);
			return 1;
		}
		stop_fd = eventfd(0, EFD_CLOEXEC);
		pthread_create(&thread, NULL, dispatch_loop, server);
	} else {
		if (!size)
			size = 1u << 20;
		if ((rc = vamos_plain_create(plain, size, &rp, &pl, &why))) {
			printf("host: cannot create %s: %s\n", plain, why);
			return 1;
		}
	}
	if (ready && touch(ready)) {
		printf("host: cannot write %s\n", ready);
		return 1;
	}
	printf("host: ready (%s)\n", sock ? "ivshmem-doorbell" : "ivshmem-plain");

	const char *bad = NULL;
	if (server) {
		/* Wait for QEMU to join; its boot takes seconds under TCG. */
		for (int waited = 0; atomic_load(&joined_peer) < 0; waited += 10) {
			if (waited > timeout_ms) {
				bad = "no VM joined";
				break;
			}
			usleep(10000);
		}
		if (!bad && vamos_ivshmem_server_channel(server, atomic_load(&joined_peer),
							 channel, &ch))
			bad = "cannot open the host channel";
	} else if (vamos_plain_channel(pl, channel, VAMOS_SIDE_HOST, &ch)) {
		bad = "cannot open the host channel";
	}
	uint64_t count = 0;
	if (!bad)
		bad = serve(ch, timeout_ms, &count);
	if (bad) {
		printf("host: FAILED after %llu requests: %s\n", (unsigned long long)count, bad);
	} else {
		struct vamos_chan_stats s = vamos_chan_stats(ch);
		printf("host: %llu requests intact and in order, mode %s\n",
		       (unsigned long long)count, vamos_notify_mode_name(vamos_chan_mode(ch)));
		printf("host: stats requests=%llu interrupts=%llu doorbells_taken=%llu "
		       "sleeps=%llu\n",
		       (unsigned long long)count, (unsigned long long)s.notifications_sent,
		       (unsigned long long)s.notifications_received,
		       (unsigned long long)s.sleeps);
	}
	/* Give the guest time to read the last replies before tearing down. */
	if (!bad && server)
		for (int i = 0; i < 500 && vamos_ivshmem_server_peer_count(server); i++)
			usleep(10000);
	vamos_chan_close(ch);
	if (server) {
		uint64_t one = 1;
		if (write(stop_fd, &one, sizeof one) < 0)
			abort();
		pthread_join(thread, NULL);
		close(stop_fd);
		vamos_ivshmem_server_stop(server);
	}
	vamos_plain_close(pl, 1);
	return bad ? 1 : 0;
}
