/* SPDX-License-Identifier: MIT */
/*
 * bench-vms: one vamosd serving many VMs. For each VM count N it starts a
 * vamosd with N VMs (one channel each), attaches one local peer per VM
 * (libvamos-client, as a guest's engine would), and measures:
 *   - idle: every peer attached, nobody calling, for --idle-seconds (10):
 *     vamosd's CPU (keeper and worker, from /proc), threads and RSS;
 *   - calls: 1 VM, then 4 VMs (as many as there are) calling echo in a
 *     loop, one call at a time each (calls.c), for --seconds;
 *   - pipelined: 1, 2, 4 and 8 VMs (as many as there are) each keeping
 *     its ring full (pipeline.c), so that vamosd's turns, not the callers'
 *     threads, decide each VM's share.
 * Each busy row: requests/s of the busy VMs together, the round trip's
 * p50/p99 (pipelined: submit to reply, queueing in the full ring
 * included), and each busy VM's share of the requests against an even
 * split (1.00 is even) with the slowest one's.
 *
 *   bench-vms --vamosd PATH [--csv] [--seconds S] [--idle-seconds S]
 *             [--vms "1 8 32 64"] [--mode calls|pipelined|both]
 *
 * Columns: vms,busy_vms,reqs_per_sec,rtt_p50_us,rtt_p99_us,vamosd_threads,
 * vamosd_rss_mb,idle_cpu_pct,mode,turn_records,ran_dry,min_share,shares
 * (idle_cpu_pct: of one core, over the idle period; the same on each row
 * of a VM count. turn_records: the fewest records a busy VM had per reply
 * batch vamosd published, on average, from vamosd's own counters: a turn
 * publishes its replies every SESSION_PUBLISH_EVERY (16) records, so 16
 * when every busy VM had at least that many waiting at each turn (a turn
 * itself takes up to 64). ran_dry, pipelined: how often a busy VM found
 * every request answered, i.e. its ring had run dry before it refilled
 * it, summed over the busy VMs. shares: per
 * busy VM, '/'-separated, in VM order).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vamos/client.h>

#include "busy.h"
#include "host_stats.h"
#include "pin.h"

#define MAX_VMS 256u
#define BUSY_MAX 8u
#define MAX_SAMPLES (1u << 20)

static char dir[64], control[100];
static pid_t keeper;

static bool ping(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", control);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	char buf[64];
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, "ping\n", 5) == 5 &&
		  read(fd, buf, sizeof buf) > 0;
	close(fd);
	return ok;
}

static int start_vamosd(const char *bin, unsigned vms)
{
	snprintf(dir, sizeof dir, "/tmp/vamos-bench-vms-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(control, sizeof control, "%s/control.sock", dir);
	char data[100];
	snprintf(data, sizeof data, "%s/data", dir);
	char **argv = calloc(2 * vms + 10, sizeof *argv);
	if (!argv)
		return -ENOMEM;
	unsigned n = 0;
	argv[n++] = (char *)bin;
	for (unsigned i = 0; i < vms; i++) {
		argv[n++] = "--vm";
		if (asprintf(&argv[n++], "vm%u=%s/vm%u.sock,channels=1,vectors=1,ring_bytes=64K", i,
			     dir, i) < 0)
			return -ENOMEM;
	}
	char *rest[] = { "--control", control, "--data-dir", data, "--log-level", "warn" };
	for (unsigned i = 0; i < 6; i++)
		argv[n++] = rest[i];
	keeper = fork();
	if (keeper == 0) {
		execv(bin, argv);
		_exit(127);
	}
	for (unsigned i = 1; i < n; i++)
		if (!strncmp(argv[i], "vm", 2))
			free(argv[i]);
	free(argv);
	for (int i = 0; i < 1000; i++) {
		if (ping())
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void stop_vamosd(void)
{
	if (keeper > 0) {
		kill(keeper, SIGTERM);
		waitpid(keeper, NULL, 0);
		keeper = 0;
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench-vms: could not remove %s\n", dir);
}

/* vamosd's processes: the keeper and its children (the worker). */
static unsigned vamosd_pids(pid_t *out, unsigned max)
{
	unsigned n = 0;
	out[n++] = keeper;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", keeper, keeper);
	FILE *f = fopen(path, "re");
	int pid;
	while (f && n < max && fscanf(f, "%d", &pid) == 1)
		out[n++] = pid;
	if (f)
		fclose(f);
	return n;
}

struct usage {
	double cpu_s;
	unsigned threads;
	double rss_mb;
};

static struct usage vamosd_usage(void)
{
	struct usage u = { 0 };
	pid_t pids[8];
	unsigned n = vamosd_pids(pids, 8);
	long tick = sysconf(_SC_CLK_TCK);
	for (unsigned i = 0; i < n; i++) {
		char path[64], line[256];
		snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
		FILE *f = fopen(path, "re");
		if (f) {
			char buf[1024];
			if (fgets(buf, sizeof buf, f)) {
				/* Fields after the command's closing parenthesis:
				 * utime is the 12th, stime the 13th. */
				char *p = strrchr(buf, ')');
				unsigned long ut = 0, st = 0;
				if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
						&ut, &st) == 2)
					u.cpu_s += (double)(ut + st) / (double)tick;
			}
			fclose(f);
		}
		snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof line, f)) {
			unsigned long v;
			if (sscanf(line, "Threads: %lu", &v) == 1)
				u.threads += (unsigned)v;
			else if (sscanf(line, "VmRSS: %lu kB", &v) == 1)
				u.rss_mb += (double)v / 1024.0;
		}
		if (f)
			fclose(f);
	}
	return u;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

struct busy_result {
	double rps, p50_us, p99_us;
	double shares[BUSY_MAX]; /* each busy VM's requests against an even split */
	double min_share;
	/* The fewest records a busy VM had per turn of vamosd's poller, on
	 * average (vamosd's requests against its reply batches): SESSION_BATCH
	 * (64) when each VM's ring was full at every one of its turns. */
	double min_turn;
	uint64_t ran_dry; /* pipelined: times a busy VM's ring ran dry, all VMs */
};

static int run_busy(struct vamos_client **clients, unsigned busy, void *(*loop)(void *),
		    double seconds, struct busy_result *out)
{
	struct caller c[BUSY_MAX];
	pthread_t t[BUSY_MAX];
	int64_t t0 = now_ns(), end = t0 + (int64_t)(seconds * 1e9);
	uint64_t per = MAX_SAMPLES / busy;
	int64_t *all = malloc(MAX_SAMPLES * sizeof *all);
	uint64_t req0[BUSY_MAX], bat0[BUSY_MAX], req1[BUSY_MAX], bat1[BUSY_MAX];
	if (!all)
		return -ENOMEM;
	int stats_rc = host_stats(control, busy, req0, bat0);
	for (unsigned i = 0; i < busy; i++) {
		c[i] = (struct caller){ .client = clients[i], .end = end, .samples = all + i * per,
					.cap = per };
		pthread_create(&t[i], NULL, loop, &c[i]);
	}
	uint64_t total = 0, n = 0;
	int rc = 0;
	for (unsigned i = 0; i < busy; i++) {
		pthread_join(t[i], NULL);
		total += c[i].requests;
		out->ran_dry += c[i].ran_dry;
		if (c[i].err && !rc)
			rc = c[i].err;
	}
	if (!stats_rc)
		stats_rc = host_stats(control, busy, req1, bat1);
	out->min_turn = stats_rc ? 0 : 1e9;
	for (unsigned i = 0; i < busy && !stats_rc; i++) {
		uint64_t batches = bat1[i] - bat0[i];
		double turn = batches ? (double)(req1[i] - req0[i]) / (double)batches : 0;
		if (turn < out->min_turn)
			out->min_turn = turn;
	}
	out->min_share = total ? 1e9 : 0;
	for (unsigned i = 0; i < busy; i++) {
		out->shares[i] = total ? (double)c[i].requests * busy / (double)total : 0;
		if (out->shares[i] < out->min_share)
			out->min_share = out->shares[i];
	}
	double elapsed = (double)(now_ns() - t0) / 1e9;
	/* Gather the samples contiguously, then sort them. */
	for (unsigned i = 0; i < busy; i++) {
		memmove(all + n, c[i].samples, c[i].nsamples * sizeof *all);
		n += c[i].nsamples;
	}
	qsort(all, n, sizeof *all, cmp);
	out->rps = (double)total / elapsed;
	out->p50_us = n ? (double)all[n / 2] / 1e3 : 0;
	out->p99_us = n ? (double)all[n * 99 / 100] / 1e3 : 0;
	free(all);
	return rc;
}

enum { MODE_CALLS = 1, MODE_PIPELINED = 2 };

/* The busy rows of a VM count, in order; busy_or_all: that many, or every
 * VM when there are fewer (and more than the row before asked). */
static const struct {
	int mode;
	const char *name;
	void *(*loop)(void *);
	unsigned busy;
	bool busy_or_all;
} runs[] = {
	{ MODE_CALLS, "calls", call_loop, 1, false },
	{ MODE_CALLS, "calls", call_loop, 4, true },
	{ MODE_PIPELINED, "pipelined", pipeline_loop, 1, false },
	{ MODE_PIPELINED, "pipelined", pipeline_loop, 2, false },
	{ MODE_PIPELINED, "pipelined", pipeline_loop, 4, false },
	{ MODE_PIPELINED, "pipelined", pipeline_loop, 8, false },
};

static void print_row(unsigned vms, unsigned busy, const char *mode, const struct busy_result *r,
		      struct usage u, double idle_pct, int csv)
{
	char shares[BUSY_MAX * 8] = "";
	for (unsigned i = 0, off = 0; i < busy; i++)
		off += (unsigned)snprintf(shares + off, sizeof shares - off, "%s%.2f", i ? "/" : "",
					  r->shares[i]);
	if (csv)
		printf("%u,%u,%.0f,%.2f,%.2f,%u,%.1f,%.2f,%s,%.1f,%" PRIu64 ",%.2f,%s\n", vms, busy,
		       r->rps, r->p50_us, r->p99_us, u.threads, u.rss_mb, idle_pct, mode,
		       r->min_turn, r->ran_dry, r->min_share, shares);
	else
		printf("%5u %9u %14.0f %11.2f %11.2f %15u %15.1f %13.2f  %-9s %10.1f %8" PRIu64
		       " %9.2f  %s\n",
		       vms, busy, r->rps, r->p50_us, r->p99_us, u.threads, u.rss_mb, idle_pct, mode,
		       r->min_turn, r->ran_dry, r->min_share, shares);
	fflush(stdout);
}

static int run_count(const char *bin, unsigned vms, double seconds, double idle_seconds, int csv,
		     int modes)
{
	int rc = start_vamosd(bin, vms);
	struct vamos_client **clients = calloc(vms, sizeof *clients);
	if (rc || !clients) {
		fprintf(stderr, "bench-vms: vamosd with %u VMs did not start\n", vms);
		free(clients);
		stop_vamosd();
		return rc ? rc : -ENOMEM;
	}
	for (unsigned i = 0; i < vms && !rc; i++) {
		char sock[128];
		snprintf(sock, sizeof sock, "%s/vm%u.sock", dir, i);
		struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
						 .local_socket = sock, .local_vectors = 1,
						 .channels = 1 };
		const char *why = NULL;
		rc = vamos_client_connect(&p, &clients[i], &why);
		if (rc)
			fprintf(stderr, "bench-vms: VM %u: %s\n", i, why ? why : strerror(-rc));
	}
	struct usage before = { 0 }, after = { 0 };
	if (!rc) {
		/* Let the attach work settle, then measure the idle period. */
		usleep(500000);
		before = vamosd_usage();
		usleep((useconds_t)(idle_seconds * 1e6));
		after = vamosd_usage();
	}
	double idle_pct = 100.0 * (after.cpu_s - before.cpu_s) / idle_seconds;
	for (unsigned k = 0; k < sizeof runs / sizeof runs[0] && !rc; k++) {
		if (!(modes & runs[k].mode) ||
		    (runs[k].busy_or_all ? vms <= runs[k - 1].busy : runs[k].busy > vms))
			continue;
		unsigned busy = runs[k].busy_or_all && vms < runs[k].busy ? vms : runs[k].busy;
		struct busy_result r = { 0 };
		pid_t pids[8];
		unsigned npids = vamosd_pids(pids, 8);
		bool apart = runs[k].loop == pipeline_loop;
		pin_vamosd(pids, npids, apart);
		rc = run_busy(clients, busy, runs[k].loop, seconds, &r);
		if (apart)
			pin_vamosd(pids, npids, false);
		if (rc)
			break;
		print_row(vms, busy, runs[k].name, &r, vamosd_usage(), idle_pct, csv);
	}
	for (unsigned i = 0; i < vms; i++)
		vamos_client_close(clients[i]);
	free(clients);
	stop_vamosd();
	return rc;
}

int main(int argc, char **argv)
{
	const char *bin = NULL;
	int csv = 0, modes = MODE_CALLS | MODE_PIPELINED;
	double seconds = 2.0, idle_seconds = 10.0;
	unsigned counts[16] = { 1, 8, 32, 64 }, ncounts = 4;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--csv")) {
			csv = 1;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--idle-seconds") && i + 1 < argc) {
			idle_seconds = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			const char *m = argv[++i];
			modes = !strcmp(m, "calls")	? MODE_CALLS
				: !strcmp(m, "pipelined") ? MODE_PIPELINED
				: !strcmp(m, "both")	  ? MODE_CALLS | MODE_PIPELINED
							  : 0;
			if (!modes) {
				fprintf(stderr, "bench-vms: --mode is calls, pipelined or both\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--vamosd") && i + 1 < argc) {
			bin = argv[++i];
		} else if (!strcmp(argv[i], "--vms") && i + 1 < argc) {
			ncounts = 0;
			for (char *s = argv[++i], *e; *s && ncounts < 16; s = e) {
				unsigned long v = strtoul(s, &e, 10);
				if (e == s || v < 1 || v > MAX_VMS) {
					fprintf(stderr, "bench-vms: --vms wants counts 1..%u\n", MAX_VMS);
					return 2;
				}
				counts[ncounts++] = (unsigned)v;
				while (*e == ' ' || *e == ',')
					e++;
			}
		} else {
			fprintf(stderr, "usage: bench-vms --vamosd PATH [--csv] [--seconds S] "
					"[--idle-seconds S] [--vms \"1 8 32 64\"] "
					"[--mode calls|pipelined|both]\n");
			return 2;
		}
	}
	if (!bin || seconds <= 0 || idle_seconds <= 0) {
		fprintf(stderr, "bench-vms: --vamosd PATH is required, periods must be positive\n");
		return 2;
	}
	unsetenv("VAMOS_TRANSPORT");
	if (csv)
		printf("vms,busy_vms,reqs_per_sec,rtt_p50_us,rtt_p99_us,vamosd_threads,"
		       "vamosd_rss_mb,idle_cpu_pct,mode,turn_records,ran_dry,min_share,shares\n");
	else
		printf("%5s %9s %14s %11s %11s %15s %15s %13s  %-9s %10s %8s %9s  %s\n", "vms",
		       "busy_vms", "reqs/s", "rtt p50 us", "rtt p99 us", "vamosd threads",
		       "vamosd rss MB", "idle cpu %", "mode", "turn recs", "ran dry", "min share",
		       "shares");
	int rc = 0;
	for (unsigned i = 0; i < ncounts && !rc; i++)
		rc = run_count(bin, counts[i], seconds, idle_seconds, csv, modes);
	if (rc)
		fprintf(stderr, "bench-vms: failed: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
