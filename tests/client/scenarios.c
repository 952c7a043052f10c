/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenarios.h"


static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000l };
	nanosleep(&ts, NULL);
}

/* Wait up to 5 s for @counter to reach @n. */
static bool reaches(atomic_uint *counter, unsigned n)
{
	for (int i = 0; i < 5000 && atomic_load(counter) < n; i++)
		sleep_ms(1);
	return atomic_load(counter) >= n;
}

/* Payload @seq of @len bytes (len >= 8 holds seq itself). */
static void fill(unsigned char *p, uint64_t seq, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 131 + i * 7 + 3);
	if (len >= 8)
		memcpy(p, &seq, 8);
}

static bool same(const void *data, uint32_t len, uint64_t seq, uint32_t want_len)
{
	unsigned char buf[4096];
	if (len != want_len || len > sizeof buf)
		return false;
	fill(buf, seq, len);
	return len == 0 || (data && memcmp(buf, data, len) == 0);
}

static uint32_t seq_len(uint64_t seq)
{
	return 8 + (uint32_t)(seq % 57);
}

struct setup {
	struct test_host h;
	struct vamos_client *c;
	struct th_log log;
	bool started;
};

static const char *setup(struct setup *st, const struct th_opts *o, int timeout_ms,
			 uint32_t channels)
{
	struct vamos_client_params p;
	const char *why = NULL;
	memset(st, 0, sizeof *st);
	th_clear_env();
	th_log_init(&st->log);
	const char *err = th_start(&st->h, o, NULL, &st->log);
	st->started = true;
	if (err)
		return err;
	th_client_params(&st->h, &p, timeout_ms);
	if (channels)
		p.channels = channels;
	int rc = vamos_client_connect(&p, &st->c, &why);
	if (rc)
		return scenario_failf("connect: %s (%d)", why ? why : "?", rc);
	return NULL;
}

static void teardown(struct setup *st)
{
	vamos_client_close(st->c);
	st->c = NULL;
	if (st->started)
		th_cleanup(&st->h);
	th_log_free(&st->log);
}

static struct th_opts opts_of(enum th_kind kind)
{
	return (struct th_opts){ .kind = kind };
}

/* ------------------------------------------------------------------ call */

const char *scenario_call(enum th_kind kind)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	char out[256];
	uint32_t n;
	int rc;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	struct vamos_client *c = st.c;
	const char *d = vamos_client_describe(c);
	if (kind == TH_LOCAL) {
		TRY(vamos_client_transport(c) == VAMOS_TRANSPORT_LOCAL, "transport is not LOCAL");
		TRY(!strncmp(d, "local (", 7) && strstr(d, st.h.path) && strstr(d, "peer id ") &&
		    strstr(d, "chosen by the application"), "describe: %s", d);
	} else {
		TRY(vamos_client_transport(c) == VAMOS_TRANSPORT_UNIX, "transport is not UNIX");
		TRY(!strncmp(d, "unix (", 6) && strstr(d, st.h.path), "describe: %s", d);
	}
	TRY(vamos_client_error(c) == NULL, "client error before any failure");

	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "hello", 5, out, sizeof out, &n, 5000);
	TRY(rc == 0 && n == 5 && !memcmp(out, "hello", 5), "echo: rc %d len %u", rc, n);
	rc = vamos_call(c, VAMOS_SERVICE_NOOP, 0, NULL, 0, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 0, "noop: rc %d len %u", rc, n);
	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, NULL, 0, NULL, 0, &n, -1);
	TRY(rc == 0 && n == 0, "empty echo: rc %d len %u", rc, n);
	rc = vamos_call(c, 999, 0, "x", 1, out, sizeof out, &n, -1);
	TRY(rc == -ENOENT, "unknown service: %d", rc);

	unsigned char big[200];
	fill(big, 42, sizeof big);
	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, big, sizeof big, out, 10, &n, -1);
	TRY(rc == -EMSGSIZE && n == sizeof big, "small reply buffer: rc %d len %u", rc, n);
	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, big, sizeof big, out, sizeof out, &n, -1);
	TRY(rc == 0 && same(out, n, 42, sizeof big), "echo after -EMSGSIZE: rc %d", rc);

	/* Large requests up to what the channel takes; beyond: -EMSGSIZE. */
	size_t huge = 3u << 20;
	unsigned char *a = calloc(1, huge), *b = malloc(huge);
	TRY(a && b, "out of memory");
	uint32_t ok_len = 60000;
	a[0] = 1;
	a[ok_len - 1] = 2;
	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, a, ok_len, b, (uint32_t)huge, &n, -1);
	bool good = rc == 0 && n == ok_len && !memcmp(a, b, ok_len);
	int rc2 = vamos_call(c, VAMOS_SERVICE_ECHO, 0, a, (uint32_t)huge, b, (uint32_t)huge, &n, -1);
	free(a);
	free(b);
	TRY(good, "60000-byte echo: rc %d len %u", rc, n);
	TRY(rc2 == -EMSGSIZE, "3 MiB request: %d", rc2);

	struct vamos_session *s = vamos_session_get(c);
	TRY(s && s == vamos_session_get(c), "the thread's session changes");
	TRY(!vamos_session_shared(s), "a lone thread's session is shared");
	TRY(vamos_session_in_flight(s) == 0, "in flight after calls");
	TRY(vamos_session_error(s) == NULL, "session error: %s", vamos_session_error(s));
	struct vamos_completion done[4];
	TRY(vamos_session_complete(s, done, 4, 100) == 0, "complete with nothing in flight");
	struct vamos_chan_stats stats = vamos_session_stats(s);
	TRY(stats.records_sent >= 8 && stats.records_received >= 8, "stats count nothing");
out:
	teardown(&st);
	return err;
}

/* ----------------------------------------------------------------- batch */

/* Submit @count numbered echos (seq = @base + i); ids in @ids. */
static const char *submit_many(struct vamos_session *s, uint64_t base, unsigned count,
			       uint64_t *ids)
{
	unsigned char buf[64];
	for (unsigned i = 0; i < count; i++) {
		uint64_t seq = base + i;
		fill(buf, seq, seq_len(seq));
		int rc = vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, buf, seq_len(seq), &ids[i]);
		if (rc)
			return scenario_failf("submit %u: %d (%s)", i, rc,
				     vamos_session_error(s) ? vamos_session_error(s) : "");
	}
	return NULL;
}

/* Complete @count echos submitted by submit_many (ids @ids, seq @base +
 * index); each must come exactly once. @order gets the indexes in order
 * of completion if not NULL. */
static const char *complete_many(struct vamos_session *s, uint64_t base, unsigned count,
				 const uint64_t *ids, unsigned *order)
{
	struct vamos_completion done[64];
	bool *seen = calloc(count, sizeof *seen);
	unsigned got = 0;
	const char *err = NULL;
	if (!seen)
		return "out of memory";
	while (got < count && !err) {
		int n = vamos_session_complete(s, done, 64, 5000);
		if (n <= 0) {
			err = scenario_failf("complete after %u of %u: %d", got, count, n);
			break;
		}
		for (int k = 0; k < n && !err; k++) {
			uint64_t idx = done[k].id - ids[0];
			if (idx >= count || ids[idx] != done[k].id || seen[idx])
				err = scenario_failf("completion for an id not submitted, or twice");
			else if (done[k].status != 0 ||
				 !same(done[k].data, done[k].len, base + idx, seq_len(base + idx)))
				err = scenario_failf("reply %llu: status %d, wrong bytes",
					    (unsigned long long)idx, done[k].status);
			else {
				seen[idx] = true;
				if (order)
					order[got] = (unsigned)idx;
				got++;
			}
		}
	}
	free(seen);
	return err;
}

const char *scenario_batch(enum th_kind kind, unsigned count)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	uint64_t *ids = calloc(count, sizeof *ids);
	const char *err = ids ? setup(&st, &o, 5000, 0) : "out of memory";
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	TRY(vamos_call(st.c, VAMOS_SERVICE_NOOP, 0, NULL, 0, NULL, 0, NULL, -1) == 0,
	    "first call failed");
	struct vamos_chan_stats before = vamos_session_stats(s);
	if ((err = submit_many(s, 1000, count, ids)))
		goto out;
	for (unsigned i = 1; i < count; i++)
		TRY(ids[i] == ids[0] + i, "ids are not consecutive");
	TRY(vamos_session_in_flight(s) == count, "in flight %u, not %u",
	    vamos_session_in_flight(s), count);
	TRY(vamos_session_flush(s) == 0, "flush failed");
	struct vamos_chan_stats after = vamos_session_stats(s);
	TRY(after.batches_sent - before.batches_sent == 1, "%llu batches for one flush",
	    (unsigned long long)(after.batches_sent - before.batches_sent));
	TRY(after.notifications_sent - before.notifications_sent <= 1,
	    "%llu doorbells for one flush",
	    (unsigned long long)(after.notifications_sent - before.notifications_sent));
	if ((err = complete_many(s, 1000, count, ids, NULL)))
		goto out;
	TRY(vamos_session_in_flight(s) == 0, "in flight after all completed");
	struct vamos_completion done[4];
	TRY(vamos_session_complete(s, done, 4, 0) == 0, "complete with none in flight");

	/* A call amid a batch: the batch's replies wait for complete. */
	uint64_t few[5];
	char out[8];
	uint32_t n;
	if ((err = submit_many(s, 50000, 5, few)))
		goto out;
	TRY(vamos_session_flush(s) == 0, "flush");
	int rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "mid", 3, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 3 && !memcmp(out, "mid", 3), "call amid a batch: %d", rc);
	TRY(vamos_session_in_flight(s) == 5, "in flight: %u", vamos_session_in_flight(s));
	err = complete_many(s, 50000, 5, few, NULL);
out:
	free(ids);
	teardown(&st);
	return err;
}

/* @count numbered echos (seq = @base + i) with vamos_session_submit_many,
 * each of its own length; ids in @ids. */
static const char *submit_as_batch(struct vamos_session *s, uint64_t base, unsigned count,
				   uint64_t *ids)
{
	unsigned char (*bufs)[64] = calloc(count, sizeof *bufs);
	struct vamos_request *reqs = calloc(count, sizeof *reqs);
	const char *err = NULL;
	if (!bufs || !reqs) {
		err = "out of memory";
		goto out;
	}
	for (unsigned i = 0; i < count; i++) {
		uint64_t seq = base + i;
		fill(bufs[i], seq, seq_len(seq));
		reqs[i] = (struct vamos_request){ .service = VAMOS_SERVICE_ECHO, .len = seq_len(seq),
						  .data = bufs[i] };
	}
	uint64_t first = 0;
	int rc = vamos_session_submit_many(s, reqs, count, &first);
	TRY(rc == (int)count, "submit_many of %u: %d", count, rc);
	for (unsigned i = 0; i < count; i++)
		ids[i] = first + i;
out:
	free(bufs);
	free(reqs);
	return err;
}

const char *scenario_submit_many(enum th_kind kind, unsigned count)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	uint64_t *ids = calloc(count + 1, sizeof *ids);
	const char *err = ids ? setup(&st, &o, 5000, 0) : "out of memory";
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	struct vamos_request none = { .service = VAMOS_SERVICE_ECHO, .len = 4 };
	uint64_t first = 7;
	TRY(vamos_session_submit_many(s, &none, 0, &first) == -EINVAL, "n 0");
	TRY(vamos_session_submit_many(s, &none, 1, &first) == -EINVAL && first == 7,
	    "a length without data");
	TRY(vamos_session_in_flight(s) == 0, "in flight after refusals");

	/* The first batch opens the session; the ids follow on, each reply
	 * comes back once with its own bytes. */
	struct vamos_chan_stats before = vamos_session_stats(s);
	if ((err = submit_as_batch(s, 100, count, ids)))
		goto out;
	TRY(vamos_session_in_flight(s) == count, "in flight %u, not %u",
	    vamos_session_in_flight(s), count);
	TRY(vamos_session_flush(s) == 0, "flush failed");
	struct vamos_chan_stats after = vamos_session_stats(s);
	TRY(after.records_sent - before.records_sent >= count, "%llu records for %u requests",
	    (unsigned long long)(after.records_sent - before.records_sent), count);
	if ((err = complete_many(s, 100, count, ids, NULL)))
		goto out;
	TRY(vamos_session_in_flight(s) == 0, "in flight after all completed");

	/* Mixed with single submits: one id sequence. */
	uint64_t one;
	TRY(vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, "abcdefgh", 8, &one) == 0, "submit");
	if ((err = submit_as_batch(s, 5000, 3, ids)))
		goto out;
	TRY(ids[0] == one + 1, "the batch's ids do not follow the submit's");
	TRY(vamos_session_flush(s) == 0, "flush");
	struct vamos_completion done[8];
	unsigned got = 0;
	while (got < 4) {
		int n = vamos_session_complete(s, done, 8, 5000);
		TRY(n > 0, "complete: %d", n);
		got += (unsigned)n;
	}

	/* A bad request stops the batch in front of it; the next call, with
	 * the rest, says why. */
	unsigned char big_data[8] = { 0 };
	struct vamos_request mixed[4] = {
		{ .service = VAMOS_SERVICE_ECHO, .len = 8, .data = "12345678" },
		{ .service = VAMOS_SERVICE_ECHO, .len = 8, .data = "abcdefgh" },
		{ .service = VAMOS_SERVICE_ECHO, .len = 8 },                 /* no data */
		{ .service = VAMOS_SERVICE_ECHO, .len = 8, .data = big_data },
	};
	int rc = vamos_session_submit_many(s, mixed, 4, &first);
	TRY(rc == 2, "a batch with a bad third request queued %d", rc);
	TRY(vamos_session_submit_many(s, mixed + 2, 2, NULL) == -EINVAL, "the bad one");
	struct vamos_request huge = { .service = VAMOS_SERVICE_ECHO, .len = 8u << 20,
				      .data = big_data };
	struct vamos_request after_huge[2] = { mixed[0], huge };
	TRY(vamos_session_submit_many(s, after_huge, 2, NULL) == 1, "stops before a huge one");
	TRY(vamos_session_submit_many(s, &huge, 1, NULL) == -EMSGSIZE, "a huge one");
	TRY(vamos_session_in_flight(s) == 3, "in flight %u, not 3", vamos_session_in_flight(s));
	TRY(vamos_session_flush(s) == 0, "flush");
	for (got = 0; got < 3;) {
		int n = vamos_session_complete(s, done, 8, 5000);
		TRY(n > 0, "complete: %d", n);
		for (int k = 0; k < n; k++)
			TRY(done[k].status == 0 && done[k].len == 8, "reply %d: %d", k,
			    done[k].status);
		got += (unsigned)n;
	}
	TRY(vamos_session_error(s) == NULL, "session error: %s", vamos_session_error(s));
out:
	free(ids);
	teardown(&st);
	return err;
}

const char *scenario_full_channel(void)
{
	struct setup st;
	struct th_opts o = opts_of(TH_LOCAL);
	o.ring_capacity = 64u << 10;
	enum { MAX = 1000 };
	uint64_t ids[MAX], sleeper;
	unsigned char big[1000];
	char out[8];
	uint32_t n;
	unsigned k = 0;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	TRY(vamos_session_submit(s, VAMOS_SERVICE_SLEEP, 300, NULL, 0, &sleeper) == 0, "submit");
	TRY(vamos_session_flush(s) == 0, "flush");
	/* The host sleeps: fill the request ring until it says so. */
	int rc = 0;
	while (k < MAX) {
		fill(big, 9000 + k, sizeof big);
		rc = vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, big, sizeof big, &ids[k]);
		if (rc)
			break;
		k++;
	}
	TRY(rc == -EAGAIN && k >= 30, "full channel: rc %d after %u", rc, k);
	/* A batch on the full channel: nothing queued, -EAGAIN. */
	struct vamos_request more = { .service = VAMOS_SERVICE_ECHO, .len = sizeof big,
				      .data = big };
	rc = vamos_session_submit_many(s, &more, 1, NULL);
	TRY(rc == -EAGAIN, "submit_many on a full channel: %d", rc);
	TRY(vamos_session_flush(s) == 0, "flush");
	/* A call waits for room, keeping the replies it meets for later. */
	rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "room", 4, out, sizeof out, &n, 5000);
	TRY(rc == 0 && n == 4 && !memcmp(out, "room", 4), "call on a full channel: %d", rc);
	TRY(vamos_session_in_flight(s) == k + 1, "in flight %u, not %u",
	    vamos_session_in_flight(s), k + 1);
	unsigned got = 0;
	bool slept = false;
	while (got < k + 1) {
		struct vamos_completion done[64];
		int m = vamos_session_complete(s, done, 64, 5000);
		TRY(m > 0, "complete: %d", m);
		for (int j = 0; j < m; j++, got++) {
			if (done[j].id == sleeper) {
				TRY(!slept && done[j].status == 0, "sleep reply");
				slept = true;
				continue;
			}
			uint64_t i = done[j].id - ids[0];
			TRY(i < k && done[j].status == 0 && same(done[j].data, done[j].len, 9000 + i,
								   sizeof big), "reply %llu",
			    (unsigned long long)i);
		}
	}
	TRY(slept && vamos_session_in_flight(s) == 0, "lost a reply");
out:
	teardown(&st);
	return err;
}

const char *scenario_out_of_order(enum th_kind kind, unsigned count)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	o.reverse = true;
	uint64_t *ids = calloc(count, sizeof *ids);
	unsigned *order = calloc(count, sizeof *order);
	const char *err = ids && order ? setup(&st, &o, 5000, 0) : "out of memory";
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	if ((err = submit_many(s, 7, count, ids)))
		goto out;
	TRY(vamos_session_flush(s) == 0, "flush failed");
	if ((err = complete_many(s, 7, count, ids, order)))
		goto out;
	unsigned backwards = 0;
	for (unsigned i = 1; i < count; i++)
		backwards += order[i] < order[i - 1];
	TRY(backwards > 0, "the host did not answer out of order");
out:
	free(ids);
	free(order);
	teardown(&st);
	return err;
}

const char *scenario_unknown_ids(enum th_kind kind)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	char out[64];
	uint32_t n;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	int rc = vamos_call(st.c, TH_SVC_EXTRA, 0, "abc", 3, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 3 && !memcmp(out, "abc", 3), "extra: rc %d", rc);
	rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "defg", 4, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 4 && !memcmp(out, "defg", 4), "echo after extra: rc %d len %u", rc, n);

	struct vamos_session *s = vamos_session_get(st.c);
	uint64_t ids[10];
	for (unsigned i = 0; i < 10; i++) {
		unsigned char buf[16];
		fill(buf, i, 16);
		TRY(vamos_session_submit(s, TH_SVC_EXTRA, 0, buf, 16, &ids[i]) == 0, "submit");
	}
	TRY(vamos_session_flush(s) == 0, "flush");
	unsigned got = 0, seen = 0;
	while (got < 10) {
		struct vamos_completion done[16];
		int k = vamos_session_complete(s, done, 16, 5000);
		TRY(k > 0, "complete: %d", k);
		for (int j = 0; j < k; j++) {
			uint64_t idx = done[j].id - ids[0];
			TRY(idx < 10 && !(seen & (1u << idx)), "unknown or repeated completion");
			TRY(done[j].status == 0 && same(done[j].data, done[j].len, idx, 16),
			    "wrong reply");
			seen |= 1u << idx;
			got++;
		}
	}
	struct vamos_completion more[4];
	TRY(vamos_session_complete(s, more, 4, 100) == 0, "a dropped reply came out");
	TRY(vamos_session_error(s) == NULL, "unknown ids broke the session: %s",
	    vamos_session_error(s));
out:
	teardown(&st);
	return err;
}

const char *scenario_malformed(enum th_kind kind)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	char out[64];
	uint32_t n;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	for (uint16_t op = TH_BAD_RESERVED; op <= TH_BAD_STATUS; op++) {
		uint64_t held[3];
		for (int i = 0; i < 3; i++)
			TRY(vamos_session_submit(s, TH_SVC_HOLD, 0, NULL, 0, &held[i]) == 0,
			    "submit hold");
		int rc = vamos_call(st.c, TH_SVC_BAD, op, NULL, 0, out, sizeof out, &n, 5000);
		TRY(rc == -EPROTO, "malformed reply %u: %d, not -EPROTO", op, rc);
		const char *e = vamos_session_error(s);
		TRY(e && strstr(e, "channel broken"), "error: %s", e ? e : "(none)");
		struct vamos_completion done[8];
		int k = vamos_session_complete(s, done, 8, 1000);
		TRY(k == 3, "%d completions for the 3 in flight", k);
		for (int i = 0; i < k; i++)
			TRY(done[i].status == -ECONNRESET &&
			    (done[i].id == held[0] || done[i].id == held[1] || done[i].id == held[2]),
			    "in-flight request after -EPROTO: status %d", done[i].status);
		TRY(vamos_session_in_flight(s) == 0, "still in flight");
		rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "ok", 2, out, sizeof out, &n, 5000);
		TRY(rc == 0 && n == 2 && !memcmp(out, "ok", 2), "call after -EPROTO: %d", rc);
	}
out:
	teardown(&st);
	return err;
}

/* -------------------------------------------------------------- failures */

/* Take every completion of @count held requests @ids: each exactly once,
 * each -ECONNRESET; plus @extra echo "again" replies with status 0. */
static const char *collect_resets(struct vamos_session *s, const uint64_t *ids,
				  unsigned count, unsigned extra)
{
	struct vamos_completion done[64];
	unsigned got = 0, ok = 0;
	bool *seen = calloc(count, sizeof *seen);
	const char *err = NULL;
	if (!seen)
		return "out of memory";
	while (got + ok < count + extra && !err) {
		int n = vamos_session_complete(s, done, 64, 5000);
		if (n <= 0) {
			err = scenario_failf("complete after %u resets, %u replies: %d", got, ok, n);
			break;
		}
		for (int k = 0; k < n && !err; k++) {
			if (done[k].status == 0 && done[k].len == 5 &&
			    !memcmp(done[k].data, "again", 5)) {
				ok++;
				continue;
			}
			unsigned i = 0;
			while (i < count && ids[i] != done[k].id)
				i++;
			if (i == count || seen[i])
				err = "a completion for no request, or twice";
			else if (done[k].status != -ECONNRESET)
				err = scenario_failf("status %d, not -ECONNRESET", done[k].status);
			else
				seen[i] = true, got++;
		}
	}
	if (!err && (ok != extra || got != count))
		err = scenario_failf("%u resets and %u replies", got, ok);
	if (!err && vamos_session_complete(s, done, 64, 0) != 0)
		err = "more completions than requests";
	free(seen);
	return err;
}

const char *scenario_host_stops(enum th_kind kind, unsigned count)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	uint64_t *ids = calloc(count, sizeof *ids);
	const char *err = ids ? setup(&st, &o, 300, 0) : "out of memory";
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	for (unsigned i = 0; i < count; i++)
		TRY(vamos_session_submit(s, TH_SVC_HOLD, 0, &i, sizeof i, &ids[i]) == 0, "submit");
	TRY(vamos_session_flush(s) == 0, "flush");
	TRY(reaches(&st.h.held, count), "the host did not take every request");
	th_stop(&st.h);
	if ((err = collect_resets(s, ids, count, 0)))
		goto out;
	const char *e = vamos_session_error(s);
	TRY(e && strstr(e, "connection lost"), "session error: %s", e ? e : "(none)");
	TRY(vamos_session_in_flight(s) == 0, "in flight after the resets");
	uint64_t id;
	int64_t t0 = now_ms();
	int rc = vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, "x", 1, &id);
	int64_t took = now_ms() - t0;
	TRY(rc == -ECONNREFUSED, "submit with the host gone: %d", rc);
	TRY(took >= 250, "gave up after %lld ms, before its timeout of 300",
	    (long long)took);
	e = vamos_client_error(st.c);
	TRY(e && strstr(e, "host gone"), "client error: %s", e ? e : "(none)");
	e = vamos_session_error(s);
	TRY(e && strstr(e, "host gone"), "session error: %s", e ? e : "(none)");
	char out[8];
	rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "x", 1, out, sizeof out, NULL, -1);
	TRY(rc == -ECONNREFUSED, "call with the host gone: %d", rc);
	struct vamos_request one = { .service = VAMOS_SERVICE_ECHO, .len = 1, .data = "x" };
	rc = vamos_session_submit_many(s, &one, 1, &id);
	TRY(rc == -ECONNREFUSED, "submit_many with the host gone: %d", rc);
out:
	free(ids);
	teardown(&st);
	return err;
}

struct late_start {
	struct test_host *h;
	struct th_opts o;
	const char *path;
	struct th_log *log;
	int delay_ms;
	const char *err;
};

static void *start_later(void *arg)
{
	struct late_start *ls = arg;
	sleep_ms(ls->delay_ms);
	ls->err = th_start(ls->h, &ls->o, ls->path, ls->log);
	return NULL;
}

static const char *boot_of(struct vamos_client *c, uint64_t *boot)
{
	uint32_t n;
	int rc = vamos_call(c, TH_SVC_BOOT, 0, NULL, 0, boot, sizeof *boot, &n, -1);
	return rc == 0 && n == sizeof *boot ? NULL : scenario_failf("boot id call: %d", rc);
}

const char *scenario_restart(enum th_kind kind, int delay_ms)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	struct test_host second;
	bool second_up = false;
	uint64_t ids[20], boot_a, boot_b;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	if ((err = boot_of(st.c, &boot_a)))
		goto out;
	for (unsigned i = 0; i < 20; i++)
		TRY(vamos_session_submit(s, TH_SVC_HOLD, 0, NULL, 0, &ids[i]) == 0, "submit");
	TRY(vamos_session_flush(s) == 0, "flush");
	TRY(reaches(&st.h.held, 20), "the host did not take every request");
	th_stop(&st.h);

	struct late_start ls = { &second, o, st.h.path, &st.log, delay_ms, NULL };
	pthread_t starter;
	if (delay_ms) {
		TRY(pthread_create(&starter, NULL, start_later, &ls) == 0, "pthread_create");
	} else {
		start_later(&ls);
	}
	uint64_t id;
	int rc = vamos_session_submit(s, VAMOS_SERVICE_ECHO, 0, "again", 5, &id);
	if (delay_ms)
		pthread_join(starter, NULL);
	second_up = !ls.err;
	TRY(!ls.err, "second host: %s", ls.err);
	TRY(rc == 0, "submit after the restart: %d (%s)", rc,
	    vamos_session_error(s) ? vamos_session_error(s) : "");
	TRY(vamos_session_flush(s) == 0, "flush after the restart");
	if ((err = collect_resets(s, ids, 20, 1)))
		goto out;
	if ((err = boot_of(st.c, &boot_b)))
		goto out;
	TRY(boot_a != boot_b && boot_b == second.boot_id, "boot id did not change");
	const char *e = vamos_session_error(s);
	TRY(e && strstr(e, "new boot id"), "session error: %s", e ? e : "(none)");
	TRY(vamos_client_error(st.c) == NULL, "client error after recovery: %s",
	    vamos_client_error(st.c));
	TRY(atomic_load(&second.hellos) >= 1, "no HELLO reached the new host");
	err = th_log_check(&st.log);
	if (err)
		goto out;
	/* boot, 20 held, echo, boot: each reached a host exactly once. */
	TRY(th_log_count(&st.log) == 23, "%zu requests reached the hosts, not 23",
	    th_log_count(&st.log));
out:
	if (second_up)
		th_cleanup(&second);
	teardown(&st);
	return err;
}

const char *scenario_timeouts(enum th_kind kind)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	char out[16];
	uint32_t n;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	struct vamos_session *s = vamos_session_get(st.c);
	int64_t t0 = now_ms();
	int rc = vamos_call(st.c, TH_SVC_HOLD, 0, NULL, 0, NULL, 0, NULL, 100);
	int64_t took = now_ms() - t0;
	TRY(rc == -ETIMEDOUT, "call to a service that never answers: %d", rc);
	TRY(took >= 90, "timed out after %lld ms, before the 100 asked", (long long)took);
	TRY(vamos_session_in_flight(s) == 0, "a timed-out call stays in flight");

	uint64_t id;
	TRY(vamos_session_submit(s, TH_SVC_HOLD, 0, NULL, 0, &id) == 0, "submit");
	TRY(vamos_session_flush(s) == 0, "flush");
	struct vamos_completion done[4];
	t0 = now_ms();
	rc = vamos_session_complete(s, done, 4, 50);
	took = now_ms() - t0;
	TRY(rc == -ETIMEDOUT, "complete: %d", rc);
	TRY(took >= 40, "complete gave up after %lld ms, before the 50 asked", (long long)took);
	TRY(vamos_session_in_flight(s) == 1, "in flight: %u", vamos_session_in_flight(s));
	TRY(vamos_session_complete(s, done, 4, 0) == -ETIMEDOUT, "complete(0) with one held");

	rc = vamos_call(st.c, VAMOS_SERVICE_SLEEP, 300, NULL, 0, NULL, 0, NULL, 50);
	TRY(rc == -ETIMEDOUT, "call to a slow service: %d", rc);
	/* The slow reply comes first and is dropped; this one is ours. */
	rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "after", 5, out, sizeof out, &n, 5000);
	TRY(rc == 0 && n == 5 && !memcmp(out, "after", 5), "call after a timeout: %d", rc);
	TRY(vamos_session_in_flight(s) == 1, "in flight: %u", vamos_session_in_flight(s));
	TRY(vamos_session_error(s) == NULL, "a late reply broke the session: %s",
	    vamos_session_error(s));
out:
	teardown(&st);
	return err;
}

/* --------------------------------------------------------------- threads */

struct worker {
	struct vamos_client *c;
	pthread_barrier_t *all_attached;
	unsigned index;
	unsigned calls;
	struct vamos_session *s;
	bool shared;
	const char *err;
	char buf[256];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned char req[64], out[64];
	uint32_t n;
	w->s = vamos_session_get(w->c);
	/* Nobody works (and leaves) before everyone has its session, so the
	 * sharing seen below does not depend on how threads were scheduled. */
	pthread_barrier_wait(w->all_attached);
	if (!w->s) {
		w->err = "no session";
		return NULL;
	}
	for (unsigned i = 0; i < w->calls && !w->err; i++) {
		uint64_t seq = ((uint64_t)w->index << 32) | i;
		if (i % 10 != 9) {
			fill(req, seq, seq_len(seq));
			int rc = vamos_call(w->c, VAMOS_SERVICE_ECHO, 0, req, seq_len(seq), out,
					    sizeof out, &n, 10000);
			if (rc || !same(out, n, seq, seq_len(seq))) {
				snprintf(w->buf, sizeof w->buf, "thread %u call %u: rc %d%s",
					 w->index, i, rc, rc ? "" : ", wrong reply");
				w->err = w->buf;
			}
			continue;
		}
		/* A batch of its own on the shared session: every other one
		 * queued with one vamos_session_submit_many. */
		uint64_t ids[8];
		if (i % 20 == 19) {
			unsigned char bufs[8][16];
			struct vamos_request reqs[8];
			uint64_t first = 0;
			for (unsigned k = 0; k < 8; k++) {
				fill(bufs[k], seq + ((uint64_t)k << 20), 16);
				reqs[k] = (struct vamos_request){ .service = VAMOS_SERVICE_ECHO,
								  .op = (uint16_t)k, .len = 16,
								  .data = bufs[k] };
			}
			if (vamos_session_submit_many(w->s, reqs, 8, &first) != 8)
				w->err = "submit_many failed";
			for (unsigned k = 0; k < 8; k++)
				ids[k] = first + k;
		}
		for (unsigned k = 0; k < 8 && !w->err && i % 20 != 19; k++) {
			fill(req, seq + ((uint64_t)k << 20), 16);
			if (vamos_session_submit(w->s, VAMOS_SERVICE_ECHO, (uint16_t)k, req, 16,
						 &ids[k]))
				w->err = "submit failed";
		}
		if (!w->err && vamos_session_flush(w->s))
			w->err = "flush failed";
		unsigned got = 0, seen = 0;
		while (!w->err && got < 8) {
			struct vamos_completion done[8];
			int k = vamos_session_complete(w->s, done, 8, 10000);
			if (k <= 0) {
				snprintf(w->buf, sizeof w->buf, "thread %u: complete %d", w->index, k);
				w->err = w->buf;
				break;
			}
			for (int j = 0; j < k && !w->err; j++) {
				unsigned at = 0;
				while (at < 8 && ids[at] != done[j].id)
					at++;
				if (at == 8 || (seen & (1u << at)))
					w->err = "a completion of another thread's request";
				else if (!same(done[j].data, done[j].len, seq + ((uint64_t)at << 20), 16))
					w->err = "batch reply with the wrong bytes";
				seen |= 1u << at;
				got++;
			}
		}
	}
	w->shared = vamos_session_shared(w->s);
	if (!w->err && w->index % 2) {
		/* Leave with requests in flight: their replies find no one
		 * and are dropped, the others' sessions go on. */
		for (unsigned k = 0; k < 3; k++)
			if (vamos_session_submit(w->s, VAMOS_SERVICE_ECHO, 0, "bye", 3, NULL))
				w->err = "submit before leaving failed";
		vamos_session_flush(w->s);
	}
	return NULL;
}

/* Calls of thread @i: odd threads do half and leave early. */
static unsigned calls_of(unsigned i, unsigned calls)
{
	return i % 2 ? calls / 2 : calls;
}

const char *scenario_threads(enum th_kind kind, unsigned threads, uint32_t channels,
			     unsigned calls)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	o.channels = channels;
	o.vectors = channels;
	struct worker *w = calloc(threads, sizeof *w);
	pthread_t *t = calloc(threads, sizeof *t);
	const char *err = w && t ? setup(&st, &o, 10000, channels) : "out of memory";
	if (err)
		goto out;
	pthread_barrier_t all_attached;
	pthread_barrier_init(&all_attached, NULL, threads);
	for (unsigned i = 0; i < threads; i++) {
		w[i] = (struct worker){ .c = st.c, .all_attached = &all_attached, .index = i,
					.calls = calls_of(i, calls) };
		if (pthread_create(&t[i], NULL, work, &w[i]))
			abort(); /* the others would wait at the barrier forever */
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&all_attached);
	for (unsigned i = 0; i < threads; i++)
		TRY(!w[i].err, "%s", w[i].err);
	for (unsigned i = 0; i < threads; i++)
		TRY(w[i].shared == (threads > channels), "thread %u: shared is %d", i,
		    w[i].shared);
	/* Every call, batch member and parting request reached the host
	 * once. */
	size_t want = 0;
	for (unsigned i = 0; i < threads; i++) {
		unsigned n = calls_of(i, calls);
		want += n - n / 10 + 8 * (n / 10) + (i % 2 ? 3 : 0);
	}
	for (int i = 0; i < 5000 && th_log_count(&st.log) < want; i++)
		sleep_ms(1);
	TRY(th_log_count(&st.log) == want, "%zu requests reached the host, not %zu",
	    th_log_count(&st.log), want);
	/* The sessions still serve whoever comes next. */
	char out[8];
	uint32_t n;
	int rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "last", 4, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 4 && !memcmp(out, "last", 4), "call after the threads: %d", rc);
	err = th_log_check(&st.log);
out:
	free(w);
	free(t);
	teardown(&st);
	return err;
}

/* ------------------------------------------------------------------ stale */

const char *scenario_stale(enum th_kind kind)
{
	struct setup st;
	struct th_opts o = opts_of(kind);
	o.stale_before_welcome = 6;
	char out[16];
	uint32_t n;
	struct vamos_client *second = NULL;
	const char *err = setup(&st, &o, 5000, 0);
	if (err)
		goto out;
	int rc = vamos_call(st.c, VAMOS_SERVICE_ECHO, 0, "fresh", 5, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 5 && !memcmp(out, "fresh", 5), "call after junk: %d", rc);
	struct vamos_session *s = vamos_session_get(st.c);
	TRY(vamos_session_error(s) == NULL, "junk before WELCOME broke the session: %s",
	    vamos_session_error(s));
	if (kind != TH_LOCAL)
		goto out;

	/* A client leaves replies unread in the ring; the next one, on the
	 * same channel, must not take them for its own. */
	unsigned before = atomic_load(&st.h.requests);
	uint64_t ids[20];
	if ((err = submit_many(s, 0, 20, ids)))
		goto out;
	TRY(vamos_session_flush(s) == 0, "flush");
	TRY(reaches(&st.h.requests, before + 20), "the host did not take the requests");
	sleep_ms(50);
	unsigned lost = atomic_load(&st.h.lost);
	vamos_client_close(st.c);
	st.c = NULL;
	/* The host serves a channel for one peer at a time: let it see this
	 * one leave before the next one joins. */
	TRY(reaches(&st.h.lost, lost + st.h.o.channels), "the host did not see the client go");
	struct vamos_client_params p;
	const char *why;
	th_client_params(&st.h, &p, 5000);
	TRY(vamos_client_connect(&p, &second, &why) == 0, "second client: %s", why);
	rc = vamos_call(second, VAMOS_SERVICE_ECHO, 0, "again", 5, out, sizeof out, &n, -1);
	TRY(rc == 0 && n == 5 && !memcmp(out, "again", 5), "second client's call: %d", rc);
	struct vamos_completion done[4];
	TRY(vamos_session_complete(vamos_session_get(second), done, 4, 50) == 0,
	    "a stale reply came out");
out:
	vamos_client_close(second);
	teardown(&st);
	return err;
}

const char *scenario_two_clients(enum th_kind kind)
{
	struct setup a, b;
	struct th_opts o = opts_of(kind);
	const char *err = setup(&a, &o, 5000, 0);
	bool b_up = false;
	if (err)
		goto out;
	err = setup(&b, &o, 5000, 0);
	b_up = true;
	if (err)
		goto out;
	TRY(vamos_session_get(a.c) != vamos_session_get(b.c), "two clients, one session");
	for (int i = 0; i < 50; i++) {
		uint64_t boot;
		if ((err = boot_of(i % 2 ? b.c : a.c, &boot)))
			goto out;
		TRY(boot == (i % 2 ? b.h.boot_id : a.h.boot_id), "a call reached the other host");
	}
out:
	if (b_up)
		teardown(&b);
	teardown(&a);
	return err;
}
