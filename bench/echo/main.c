/* SPDX-License-Identifier: MIT */
/*
 * bench-echo: requests/s and round-trip percentiles of the echo service by
 * channels (client threads, each with its own session) and batch size.
 *
 *   bench-echo --vamosd PATH [--csv] [--seconds S] [--only PATH_NAME] [--row CHANNELS/BATCH]
 *              [--submit many|one] [--pollers N] [--balance-ms N]
 *
 * Starts vamosd itself (in a temporary directory; --pollers and --balance-ms
 * are passed on to it, else its defaults hold) and compares:
 *   ivshmem_local  libvamos-client as a local peer of vamosd's ivshmem server
 *   vsock_framing  libvamos-client over vamosd's stream socket (the vsock
 *                  framing, on AF_UNIX: this machine has no vsock loopback)
 *   unix_socket    the same echo over a bare AF_UNIX socketpair, no libvamos
 * A libvamos client queues each batch with vamos_session_submit_many, or
 * with --submit one with a vamos_session_submit per request (what a caller
 * that does not know its batch ahead, like ha_vamos, does).
 * doorbells_per_req counts what wakes the other side, both ways: doorbells
 * rung by the client and notifications sent by vamosd (ivshmem), or write
 * calls (streams, socketpair).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vamos/client.h>

#include "echo.h"
#include "unix_echo.h"

#define PAYLOAD 64u

static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;

void echo_add_samples(struct echo_result *r, const int64_t *s, unsigned n)
{
	pthread_mutex_lock(&sample_lock);
	for (unsigned i = 0; i < n && r->nsamples < ECHO_MAX_SAMPLES; i++)
		r->samples[r->nsamples++] = s[i];
	pthread_mutex_unlock(&sample_lock);
}

static char dir[64], vm_sock[128], stream_sock[128], control[128];
static const char *pollers, *balance_ms; /* for vamosd, or NULL: its default */
static pid_t vamosd_pid;

static char *ask(const char *cmd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, control, strlen(control) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char line[64];
	snprintf(line, sizeof line, "%s\n", cmd);
	static char buf[1 << 16];
	size_t len = 0;
	ssize_t n;
	if (write(fd, line, strlen(line)) > 0)
		while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
			len += (size_t)n;
	close(fd);
	buf[len] = 0;
	return len ? buf : NULL;
}

/* vamosd's notifications to clients so far, for @row ("bench"/"streams"). */
static uint64_t vamosd_notifications(const char *row)
{
	char *text = ask("stats");
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char name[32], chan[16];
		unsigned long long v[5];
		if (sscanf(line, "%31s %15s %llu %llu %llu %llu", name, chan, &v[0], &v[1], &v[2],
			   &v[3]) == 6 && !strcmp(name, row) && !strcmp(chan, "all"))
			return v[3]; /* the interrupts column */
		line = next;
	}
	return 0;
}

static int start_vamosd(const char *bin)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-bench-echo-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(vm_sock, sizeof vm_sock, "%s/vm.sock", dir);
	snprintf(stream_sock, sizeof stream_sock, "%s/stream.sock", dir);
	snprintf(control, sizeof control, "%s/control.sock", dir);
	char vm[200], data[100];
	snprintf(vm, sizeof vm, "bench=%s,channels=4,vectors=4,ring_bytes=256K", vm_sock);
	snprintf(data, sizeof data, "%s/data", dir);
	vamosd_pid = fork();
	if (vamosd_pid == 0) {
		const char *args[20] = { bin, "--vm", vm, "--unix-socket", stream_sock,
					 "--control", control, "--data-dir", data,
					 "--log-level", "warn" };
		unsigned n = 11;
		if (pollers) {
			args[n++] = "--pollers";
			args[n++] = pollers;
		}
		if (balance_ms) {
			args[n++] = "--balance-ms";
			args[n++] = balance_ms;
		}
		execv(bin, (char *const *)args);
		_exit(127);
	}
	/* Up to 30 s: under valgrind (callgrind) it starts slowly. */
	for (int i = 0; i < 3000; i++) {
		if (ask("ping"))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void stop_vamosd(void)
{
	if (vamosd_pid > 0) {
		kill(vamosd_pid, SIGTERM);
		waitpid(vamosd_pid, NULL, 0);
	}
	/* vamosd's data directory holds the VM's store (its mysql service
	 * opens one even for an echo run): remove it whole. */
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench-echo: could not remove %s\n", dir);
}

struct worker {
	struct vamos_client *client;
	unsigned batch;
	double seconds;
	struct echo_result *out;
	bool one_by_one;         /* --submit one: vamos_session_submit per request */
	uint64_t requests, doorbells;
	int err;
};

/* The same work per batch as unix_echo.c's client: one clock read before
 * the batch and one after its last reply (every request of the batch gets
 * that round trip), the batch queued with one call and sent with one
 * flush, every reply's id and status checked. */
static void *worker(void *arg)
{
	struct worker *w = arg;
	struct vamos_session *s = vamos_session_get(w->client);
	int64_t *lat = calloc(w->batch, sizeof *lat);
	struct vamos_request *reqs = calloc(w->batch, sizeof *reqs);
	struct vamos_completion *done = calloc(w->batch, sizeof *done);
	unsigned char payload[PAYLOAD] = { 0 };
	int64_t end = echo_now_ns() + (int64_t)(w->seconds * 1e9);
	if (!s || !lat || !reqs || !done) {
		w->err = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < w->batch; i++)
		reqs[i] = (struct vamos_request){ .service = VAMOS_SERVICE_ECHO, .len = PAYLOAD,
						  .data = payload };
	struct vamos_chan_stats before = vamos_session_stats(s);
	while (echo_now_ns() < end) {
		int64_t t0 = echo_now_ns();
		uint64_t first, id;
		int rc = w->one_by_one ? 0 : vamos_session_submit_many(s, reqs, w->batch, &first);
		for (unsigned i = 0; w->one_by_one && i < w->batch && rc == 0; i++) {
			rc = vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, payload, PAYLOAD, &id);
			first = i ? first : id;
		}
		if (rc != (w->one_by_one ? 0 : (int)w->batch)) {
			w->err = rc < 0 ? rc : -EAGAIN;
			goto out;
		}
		if ((w->err = vamos_session_flush(s)))
			goto out;
		unsigned got = 0;
		while (got < w->batch) {
			int n = vamos_session_complete(s, done, w->batch, 10000);
			if (n <= 0) {
				w->err = n ? n : -EIO;
				goto out;
			}
			for (int k = 0; k < n; k++)
				if (done[k].id - first >= w->batch || done[k].status ||
				    done[k].len != PAYLOAD) {
					w->err = done[k].status ? done[k].status : -EPROTO;
					goto out;
				}
			got += (unsigned)n;
		}
		int64_t t1 = echo_now_ns();
		for (unsigned i = 0; i < w->batch; i++)
			lat[i] = t1 - t0;
		echo_add_samples(w->out, lat, w->batch);
		w->requests += w->batch;
	}
	w->doorbells = vamos_session_stats(s).notifications_sent - before.notifications_sent;
out:
	free(lat);
	free(reqs);
	free(done);
	return NULL;
}

static bool submit_one_by_one;

static int run_client(enum vamos_transport_kind kind, unsigned channels, unsigned batch,
		      double seconds, struct echo_result *out)
{
	struct vamos_client_params p = {
		.transport = kind,
		.local_socket = vm_sock,
		.local_vectors = 4,
		.unix_path = stream_sock,
		.channels = channels,
	};
	struct vamos_client *c = NULL;
	const char *why = NULL;
	int rc = -EAGAIN;
	/* The previous row's peer may still be leaving: vamosd serves one peer
	 * per VM. */
	for (int i = 0; i < 100 && rc; i++) {
		rc = vamos_client_connect(&p, &c, &why);
		if (rc)
			usleep(20000);
	}
	if (rc) {
		fprintf(stderr, "bench-echo: connect: %s\n", why ? why : strerror(-rc));
		return rc;
	}
	const char *row = kind == VAMOS_TRANSPORT_LOCAL ? "bench" : "streams";
	uint64_t host_before = vamosd_notifications(row);
	struct worker w[4];
	pthread_t t[4];
	int64_t t0 = echo_now_ns();
	for (unsigned i = 0; i < channels; i++) {
		w[i] = (struct worker){ .client = c, .batch = batch, .seconds = seconds, .out = out,
					.one_by_one = submit_one_by_one };
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (unsigned i = 0; i < channels; i++) {
		pthread_join(t[i], NULL);
		out->requests += w[i].requests;
		out->notifications += w[i].doorbells;
		if (w[i].err && !rc)
			rc = w[i].err;
	}
	out->seconds = (double)(echo_now_ns() - t0) / 1e9;
	vamos_client_close(c);
	out->notifications += vamosd_notifications(row) - host_before;
	return rc;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void print(int csv, const char *path, unsigned ch, unsigned batch, struct echo_result *r)
{
	qsort(r->samples, r->nsamples, sizeof *r->samples, cmp);
	double p50 = r->nsamples ? (double)r->samples[r->nsamples / 2] / 1e3 : 0;
	double p99 = r->nsamples ? (double)r->samples[r->nsamples * 99 / 100] / 1e3 : 0;
	double rps = (double)r->requests / r->seconds;
	double dpr = r->requests ? (double)r->notifications / (double)r->requests : 0;
	if (csv)
		printf("%s,%u,%u,%.0f,%.2f,%.2f,%.6g\n", path, ch, batch, rps, p50, p99, dpr);
	else
		printf("%-14s %8u %6u %14.0f %11.2f %11.2f %16.6f\n", path, ch, batch, rps, p50,
		       p99, dpr);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *bin = NULL, *only = NULL;
	unsigned only_ch = 0, only_batch = 0;
	int csv = 0;
	double seconds = 1.0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--csv"))
			csv = 1;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--vamosd") && i + 1 < argc)
			bin = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--submit") && i + 1 < argc &&
			 (!strcmp(argv[i + 1], "one") || !strcmp(argv[i + 1], "many")))
			submit_one_by_one = !strcmp(argv[++i], "one");
		else if (!strcmp(argv[i], "--row") && i + 1 < argc &&
			 sscanf(argv[i + 1], "%u/%u", &only_ch, &only_batch) == 2)
			i++;
		else if (!strcmp(argv[i], "--pollers") && i + 1 < argc)
			pollers = argv[++i];
		else if (!strcmp(argv[i], "--balance-ms") && i + 1 < argc)
			balance_ms = argv[++i];
		else {
			fprintf(stderr, "usage: bench-echo --vamosd PATH [--csv] [--seconds S] "
					"[--only ivshmem_local|vsock_framing|unix_socket] [--row CHANNELS/BATCH] "
					"[--submit many|one] [--pollers N] [--balance-ms N]\n");
			return 2;
		}
	}
	if (!bin) {
		fprintf(stderr, "bench-echo: --vamosd PATH is required\n");
		return 2;
	}
	unsetenv("VAMOS_TRANSPORT"); /* the rows pick their transports */
	if (start_vamosd(bin)) {
		fprintf(stderr, "bench-echo: vamosd did not start\n");
		stop_vamosd();
		return 1;
	}
	if (csv)
		printf("path,channels,batch,reqs_per_sec,rtt_p50_us,rtt_p99_us,doorbells_per_req\n");
	else
		printf("%-14s %8s %6s %14s %11s %11s %16s\n", "path", "channels", "batch", "reqs/s",
		       "rtt p50 us", "rtt p99 us", "doorbells/req");
	static const char *paths[] = { "ivshmem_local", "vsock_framing", "unix_socket" };
	static const unsigned chans[] = { 1, 2, 4 }, batches[] = { 1, 8, 64 };
	struct echo_result r = { 0 };
	r.samples = malloc(ECHO_MAX_SAMPLES * sizeof *r.samples);
	int rc = r.samples ? 0 : -ENOMEM;
	for (unsigned p = 0; p < 3 && !rc; p++)
		for (unsigned c = 0; c < 3 && !rc; c++)
			for (unsigned b = 0; b < 3 && !rc; b++) {
				if ((only && strcmp(only, paths[p])) ||
				    (only_ch && (only_ch != chans[c] || only_batch != batches[b])))
					continue;
				int64_t *keep = r.samples;
				memset(&r, 0, sizeof r);
				r.samples = keep;
				if (p == 2)
					rc = unix_echo_run(chans[c], batches[b], PAYLOAD, seconds, &r);
				else
					rc = run_client(p == 0 ? VAMOS_TRANSPORT_LOCAL : VAMOS_TRANSPORT_UNIX,
							chans[c], batches[b], seconds, &r);
				if (rc)
					fprintf(stderr, "bench-echo: %s %u/%u failed: %s\n", paths[p],
						chans[c], batches[b], strerror(-rc));
				else
					print(csv, paths[p], chans[c], batches[b], &r);
			}
	free(r.samples);
	stop_vamosd();
	return rc ? 1 : 0;
}
