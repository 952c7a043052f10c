/* SPDX-License-Identifier: MIT */
/*
 * vamos-echo-client: the echo workload through libvamos-client against a
 * running vamosd, as a guest application would run it.
 *
 *   vamos-echo-client [--requests N] [--batch B] [--threads T] [--payload BYTES]
 *
 * The transport comes from the environment (VAMOS_TRANSPORT=local with
 * VAMOS_LOCAL_SOCKET=..., or unix/vsock/ivshmem; see vamos/client.h). Each
 * thread sends its share in batches of B (one flush each) and checks every
 * reply; at the end it prints requests/s, round-trip percentiles and
 * doorbells rung per request. Exits non-zero if any reply is missing,
 * wrong, or failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vamos/client.h>

static struct vamos_client *client;
static unsigned batch = 32, payload = 64;
static uint64_t per_thread = 100000;

struct result {
	int64_t *rtt;
	uint64_t n, doorbells, bad;
	const char *err;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *run(void *arg)
{
	struct result *r = arg;
	struct vamos_session *s = vamos_session_get(client);
	unsigned char *buf = malloc(payload);
	uint64_t *ids = malloc(batch * sizeof *ids);
	int64_t *sent = malloc(batch * sizeof *sent);
	struct vamos_completion *done = malloc(batch * sizeof *done);
	r->rtt = malloc(per_thread * sizeof *r->rtt);
	if (!s || !buf || !ids || !sent || !done || !r->rtt) {
		r->err = s ? "out of memory" : vamos_client_error(client);
		goto out;
	}
	struct vamos_chan_stats st0 = vamos_session_stats(s);
	for (uint64_t seq = 0; seq < per_thread && !r->err;) {
		unsigned n = per_thread - seq < batch ? (unsigned)(per_thread - seq) : batch;
		for (unsigned i = 0; i < n; i++) {
			uint64_t v = seq + i;
			memset(buf, (int)(v & 0xff), payload);
			memcpy(buf, &v, sizeof v < payload ? sizeof v : payload);
			sent[i] = now_ns();
			if (vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, buf, payload, &ids[i])) {
				r->err = vamos_session_error(s);
				break;
			}
		}
		if (r->err || vamos_session_flush(s)) {
			r->err = r->err ? r->err : vamos_session_error(s);
			break;
		}
		for (unsigned got = 0; got < n;) {
			int k = vamos_session_complete(s, done, batch, 10000);
			if (k <= 0) {
				r->err = k == -ETIMEDOUT ? "timed out" : vamos_session_error(s);
				break;
			}
			int64_t t = now_ns();
			for (int j = 0; j < k; j++) {
				uint64_t i = done[j].id - ids[0], v = 0;
				if (done[j].status || done[j].len != payload || i >= n)
					r->bad++;
				else if (memcpy(&v, done[j].data, sizeof v), v != seq + i)
					r->bad++;
				else
					r->rtt[r->n++] = t - sent[i];
			}
			got += (unsigned)k;
		}
		seq += n;
	}
	r->doorbells = vamos_session_stats(s).notifications_sent - st0.notifications_sent;
out:
	free(buf);
	free(ids);
	free(sent);
	free(done);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned threads = 1;
	uint64_t total = 1000000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--requests"))
			total = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--batch"))
			batch = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--payload"))
			payload = (unsigned)atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: vamos-echo-client [--requests N] [--batch B] "
					"[--threads T] [--payload BYTES]\n");
			return 2;
		}
	}
	if (!batch || !threads || threads > 64 || payload < 8) {
		fprintf(stderr, "vamos-echo-client: batch, threads 1..64, payload >= 8\n");
		return 2;
	}
	per_thread = total / threads;
	const char *why = NULL;
	if (vamos_client_connect(NULL, &client, &why)) {
		fprintf(stderr, "vamos-echo-client: cannot connect: %s\n", why);
		return 1;
	}
	printf("transport: %s\n", vamos_client_describe(client));
	struct result res[64] = { { 0 } };
	pthread_t t[64];
	int64_t t0 = now_ns();
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, &res[i]);
	uint64_t n = 0, doorbells = 0, bad = 0;
	const char *err = NULL;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		n += res[i].n;
		doorbells += res[i].doorbells;
		bad += res[i].bad;
		err = err ? err : res[i].err;
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	int64_t *all = malloc((n ? n : 1) * sizeof *all);
	uint64_t k = 0;
	for (unsigned i = 0; i < threads; i++) {
		if (all && res[i].rtt)
			memcpy(all + k, res[i].rtt, res[i].n * sizeof *all);
		k += res[i].n;
		free(res[i].rtt);
	}
	if (all && n)
		qsort(all, n, sizeof *all, cmp);
	printf("%llu requests of %u bytes, %u threads, batches of %u: %.2f s\n",
	       (unsigned long long)n, payload, threads, batch, secs);
	if (all && n)
		printf("  %.0f requests/s; round trip p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
		       (double)n / secs, (double)all[n / 2] / 1e3, (double)all[n * 99 / 100] / 1e3,
		       (double)all[n * 999 / 1000] / 1e3);
	printf("  doorbells rung: %llu (%.5f per request)\n", (unsigned long long)doorbells,
	       n ? (double)doorbells / (double)n : 0.0);
	free(all);
	vamos_client_close(client);
	if (err || bad || n != per_thread * threads) {
		fprintf(stderr, "vamos-echo-client: FAILED: %s, %llu bad replies\n",
			err ? err : "replies missing", (unsigned long long)bad);
		return 1;
	}
	return 0;
}
