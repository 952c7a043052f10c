/* SPDX-License-Identifier: MIT */
/*
 * bench-transport: echo round trips and batched throughput over each
 * transport, through the one channel interface.
 *
 *   bench-transport [--csv] [--seconds S]            local rows:
 *       floor_spin     a spin ping-pong between two threads (polling floor)
 *       floor_eventfd  an eventfd ping-pong between two threads (sleeping floor)
 *       lines_*        spin ping-pongs between the floor and a ring's shape
 *                      (lines.h: one line or two, prefetch, seq_cst publish)
 *       ivshmem_local  a server and a local peer in this process (eventfds)
 *       vsock_unix     the vsock framing over an AF_UNIX socketpair
 *   bench-transport --serve-vm SOCKET [--vectors K]   host half for a VM
 *   bench-transport --guest [--csv] [--seconds S]     inside the VM
 *       ivshmem_guest_tcg  (TCG figures: an emulated CPU, not a real one)
 *
 * Modes: sleep (batch 1, no spin: every message is a wakeup each way), poll
 * (batch 1, both sides spin and never sleep), batched (32 per flush, 4
 * batches in flight, the default 50 us spin). msgs_per_sec counts echoed
 * records; rtt is per record, from its send to its echo; notifications are
 * both sides' doorbells/eventfd writes (ivshmem) or write calls (stream).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vamos/ivshmem.h>
#include <vamos/vsock.h>

#include "echo_proto.h"
#include "floors.h"
#include "lines.h"
#include "measure.h"

#define RING_BYTES (1u << 20)
#define NEVER_SLEEP_NS 3600000000000ll

static const struct bt_plan plans[] = {
	{ .mode = "sleep", .spin_ns = 0, .payload = 64, .batch = 1 },
	{ .mode = "poll", .spin_ns = NEVER_SLEEP_NS, .payload = 64, .batch = 1 },
	{ .mode = "batched", .spin_ns = 50000, .payload = 64, .batch = 32 },
	{ .mode = "batched", .spin_ns = 50000, .payload = 1024, .batch = 32 },
};
#define NPLANS (sizeof plans / sizeof plans[0])

static int csv;
static double seconds = 1.0;

static int run_plans(struct vamos_chan *ch, const char *transport)
{
	for (size_t i = 0; i < NPLANS; i++) {
		struct bt_plan p = plans[i];
		struct bt_row row = { .transport = transport };
		p.seconds = seconds;
		int rc = bt_measure(ch, &p, &row);
		if (rc) {
			fprintf(stderr, "bench-transport: %s %s failed: %s (%s)\n", transport,
				p.mode, strerror(-rc), vamos_chan_error(ch) ? vamos_chan_error(ch) : "");
			return rc;
		}
		bt_print_row(&row, csv);
	}
	return bt_stop(ch);
}

struct server_thread {
	struct vamos_chan *ch;
	int rc;
};

static void *serve_thread(void *arg)
{
	struct server_thread *t = arg;
	t->rc = bt_serve(t->ch);
	return NULL;
}

/* ------------------------------------------------------------- floors */

static int bench_floors(void)
{
	struct bt_row row;
	int rc = bt_floor_spin(seconds, &row);
	if (rc == 0) {
		bt_print_row(&row, csv);
		rc = bt_floor_eventfd(seconds, &row);
	}
	if (rc == 0)
		bt_print_row(&row, csv);
	for (int k = 0; rc == 0 && k < BT_LINES_KINDS; k++)
		if ((rc = bt_lines(seconds, (enum bt_lines_kind)k, &row)) == 0)
			bt_print_row(&row, csv);
	return rc;
}

/* ------------------------------------------------------------- ivshmem */

static atomic_int joined = -1;
static int stop_fd = -1;

static void on_event(void *arg, const struct vamos_ivshmem_event *ev)
{
	(void)arg;
	if (ev->kind == VAMOS_IVSHMEM_JOIN)
		atomic_store(&joined, ev->peer);
	else
		fprintf(stderr, "bench-transport: peer %d: %s\n", ev->peer, ev->detail);
}

static void *dispatch_thread(void *arg)
{
	vamos_ivshmem_server_run(arg, stop_fd);
	return NULL;
}

static int start_server(const char *path, uint32_t vectors,
			struct vamos_ivshmem_server **s, pthread_t *thread)
{
	struct vamos_ivshmem_server_params sp = {
		.socket_path = path,
		.region = { 1, RING_BYTES, RING_BYTES },
		.vectors = vectors,
		.on_event = on_event,
	};
	const char *why = NULL;
	int rc = vamos_ivshmem_server_start(&sp, s, &why);
	if (rc) {
		fprintf(stderr, "bench-transport: server: %s\n", why);
		return rc;
	}
	stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_create(thread, NULL, dispatch_thread, *s);
	return 0;
}

static void stop_server(struct vamos_ivshmem_server *s, pthread_t thread)
{
	uint64_t one = 1;
	if (write(stop_fd, &one, sizeof one) < 0)
		abort();
	pthread_join(thread, NULL);
	close(stop_fd);
	vamos_ivshmem_server_stop(s);
}

static int bench_ivshmem_local(void)
{
	char dir[] = "/tmp/vamos-bench-XXXXXX", path[64];
	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof path, "%s/ivshmem.sock", dir);
	struct vamos_ivshmem_server *s;
	struct vamos_ivshmem_peer *peer = NULL;
	struct vamos_chan *guest = NULL;
	struct server_thread host = { 0 };
	pthread_t dt, st;
	int rc = start_server(path, 1, &s, &dt);
	if (rc)
		goto out_dir;
	const char *why = NULL;
	if ((rc = vamos_ivshmem_peer_connect(path, 1, 5000, &peer, &why))) {
		fprintf(stderr, "bench-transport: peer: %s\n", why);
		goto out;
	}
	while (atomic_load(&joined) < 0)
		usleep(1000);
	if ((rc = vamos_ivshmem_server_channel(s, atomic_load(&joined), 0, &host.ch)) ||
	    (rc = vamos_ivshmem_peer_channel(peer, 0, &guest)))
		goto out;
	pthread_create(&st, NULL, serve_thread, &host);
	rc = run_plans(guest, "ivshmem_local");
	pthread_join(st, NULL);
	if (!rc)
		rc = host.rc;
out:
	vamos_chan_close(guest);
	vamos_chan_close(host.ch);
	vamos_ivshmem_peer_close(peer);
	stop_server(s, dt);
out_dir:
	rmdir(dir);
	return rc;
}

/* ------------------------------------------------------------- stream */

static int bench_vsock_unix(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	struct vamos_chan *client = NULL;
	struct server_thread server = { 0 };
	pthread_t st;
	int rc = vamos_stream_open_fd(sv[0], NULL, &client);
	if (rc == 0)
		rc = vamos_stream_open_fd(sv[1], NULL, &server.ch);
	if (rc)
		return rc;
	pthread_create(&st, NULL, serve_thread, &server);
	rc = run_plans(client, "vsock_unix");
	pthread_join(st, NULL);
	if (!rc)
		rc = server.rc;
	vamos_chan_close(client);
	vamos_chan_close(server.ch);
	return rc;
}

/* ------------------------------------------------------------- VM halves */

static int serve_vm(const char *path, uint32_t vectors)
{
	struct vamos_ivshmem_server *s;
	struct vamos_chan *ch = NULL;
	pthread_t dt;
	int rc = start_server(path, vectors, &s, &dt);
	if (rc)
		return rc;
	fprintf(stderr, "bench-transport: serving %s, waiting for a VM\n", path);
	while (atomic_load(&joined) < 0)
		usleep(10000);
	rc = vamos_ivshmem_server_channel(s, atomic_load(&joined), 0, &ch);
	if (rc == 0)
		rc = bt_serve(ch);
	vamos_chan_close(ch);
	stop_server(s, dt);
	return rc;
}

static int guest_side(void)
{
	struct vamos_guest_params gp = { .bind_vfio = 1 };
	struct vamos_guest *g;
	struct vamos_chan *ch;
	const char *why = NULL, *reason;
	int rc = vamos_guest_open(&gp, &g, &why);
	if (rc) {
		fprintf(stderr, "bench-transport: guest: %s\n", why);
		return rc;
	}
	enum vamos_notify_mode m = vamos_guest_mode(g, &reason);
	fprintf(stderr, "bench-transport: guest mode %s (%s)\n", vamos_notify_mode_name(m),
		reason);
	if ((rc = vamos_guest_channel(g, 0, &ch)) == 0) {
		rc = run_plans(ch, m == VAMOS_NOTIFY_INTERRUPT ? "ivshmem_guest_tcg"
							       : "ivshmem_guest_tcg_poll");
		vamos_chan_close(ch);
	}
	vamos_guest_close(g);
	return rc;
}

int main(int argc, char **argv)
{
	const char *serve = NULL;
	int guest = 0;
	uint32_t vectors = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--csv"))
			csv = 1;
		else if (!strcmp(argv[i], "--guest"))
			guest = 1;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--serve-vm") && i + 1 < argc)
			serve = argv[++i];
		else if (!strcmp(argv[i], "--vectors") && i + 1 < argc)
			vectors = (uint32_t)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench-transport [--csv] [--seconds S] "
					"[--guest | --serve-vm SOCKET [--vectors K]]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rc;
	if (serve) {
		rc = serve_vm(serve, vectors);
	} else if (guest) {
		bt_print_header(csv);
		rc = guest_side();
	} else {
		bt_print_header(csv);
		rc = bench_floors();
		if (rc == 0)
			rc = bench_ivshmem_local();
		if (rc == 0)
			rc = bench_vsock_unix();
	}
	if (rc)
		fprintf(stderr, "bench-transport: failed: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
