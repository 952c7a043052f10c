/* SPDX-License-Identifier: MIT */
/* Transport choice: params, the environment (which wins), auto, and what
 * vamos_client_describe() and the failures say. Never connects to vsock:
 * these machines' vsock leads to the real host. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testhost.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(client_transport, auto_picks_ivshmem_or_vsock_and_says_why)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	setenv("VAMOS_TRANSPORT", "auto", 1);
	/* No connection is made before a session is used: safe with vsock. */
	int rc = vamos_client_connect(NULL, &c, &why);
	if (rc) {
		cr_assert_eq(rc, -ENODEV, "rc %d: %s", rc, why);
		cr_assert(why && strstr(why, "no ivshmem device and no vsock: "), "%s", why);
		return;
	}
	const char *d = vamos_client_describe(c);
	if (vamos_client_transport(c) == VAMOS_TRANSPORT_VSOCK) {
		cr_assert(!strncmp(d, "vsock (CID 2 port 7800, 4 connections; auto: ", 45), "%s", d);
		cr_assert(strstr(d, "ivshmem"), "does not say why not ivshmem: %s", d);
	} else {
		cr_assert_eq(vamos_client_transport(c), VAMOS_TRANSPORT_IVSHMEM);
		cr_assert(!strncmp(d, "ivshmem (", 9) && strstr(d, "auto: "), "%s", d);
	}
	cr_assert_null(vamos_client_error(c));
	vamos_client_close(c);
}

Test(client_transport, environment_names_a_transport)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	setenv("VAMOS_TRANSPORT", "carrier-pigeon", 1);
	cr_assert_eq(vamos_client_connect(NULL, &c, &why), -EINVAL);
	cr_assert(why && strstr(why, "VAMOS_TRANSPORT"), "%s", why);

	static const char *const bad[][2] = {
		{ "VAMOS_VSOCK_PORT", "80x" },
		{ "VAMOS_VSOCK_PORT", "0" },
		{ "VAMOS_VSOCK_CID", "-1" },
		{ "VAMOS_LOCAL_VECTORS", "65" },
		{ "VAMOS_POLL_US", "fast" },
		{ "VAMOS_POLL_US", "-5" },
		{ "VAMOS_POLL_US", "1000001" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		th_clear_env();
		setenv("VAMOS_TRANSPORT", "vsock", 1);
		setenv(bad[i][0], bad[i][1], 1);
		why = NULL;
		cr_assert_eq(vamos_client_connect(NULL, &c, &why), -EINVAL, "%s=%s", bad[i][0],
			     bad[i][1]);
		cr_assert(why && strstr(why, bad[i][0]), "%s", why);
	}
}

Test(client_transport, poll_budget_above_a_second_is_refused)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_VSOCK, .poll_us = 1000001 };
	cr_assert_eq(vamos_client_connect(&p, &c, &why), -EINVAL);
	cr_assert(why && strstr(why, "poll_us"), "%s", why);
}

Test(client_transport, explicit_vsock_is_described_and_lazy)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	setenv("VAMOS_TRANSPORT", "vsock", 1);
	setenv("VAMOS_VSOCK_CID", "3", 1);
	setenv("VAMOS_VSOCK_PORT", "9999", 1);
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX, .unix_path = "/x",
					 .channels = 3 };
	int rc = vamos_client_connect(&p, &c, &why);
	if (rc == -EAFNOSUPPORT) {
		cr_assert(why && strstr(why, "AF_VSOCK"), "%s", why);
		return;
	}
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(vamos_client_transport(c), VAMOS_TRANSPORT_VSOCK);
	cr_assert_str_eq(vamos_client_describe(c),
			 "vsock (CID 3 port 9999, 3 connections; chosen by VAMOS_TRANSPORT)");
	vamos_client_close(c);
}

Test(client_transport, missing_settings)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL };
	cr_assert_eq(vamos_client_connect(&p, &c, &why), -EINVAL);
	cr_assert(why && strstr(why, "local: no socket"), "%s", why);
	p.transport = VAMOS_TRANSPORT_UNIX;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), -EINVAL);
	cr_assert(why && strstr(why, "unix: no socket"), "%s", why);
	p.transport = (enum vamos_transport_kind)9;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), -EINVAL);
	cr_assert_eq(vamos_client_connect(NULL, NULL, &why), -EINVAL);
}

/* With a ten-minute connect timeout, a client that retried a missing
 * device would outlive the test's own limit. */
Test(client_transport, ivshmem_without_a_device_fails_at_once, .timeout = 60)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	setenv("VAMOS_TRANSPORT", "ivshmem", 1);
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_IVSHMEM,
					 .timeout_ms = 600000 };
	int rc = vamos_client_connect(&p, &c, &why);
	if (rc == 0) {
		/* This machine has a device after all. */
		cr_assert(!strncmp(vamos_client_describe(c), "ivshmem (", 9));
		vamos_client_close(c);
		return;
	}
	cr_assert(why && strstr(why, "ivshmem: cannot open the ivshmem device: "), "%s", why);
}

Test(client_transport, local_without_a_server_fails_after_the_timeout)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
					 .local_socket = "/tmp/vamos-no-such-dir/ivshmem.sock",
					 .timeout_ms = 200 };
	int64_t t0 = now_ms();
	int rc = vamos_client_connect(&p, &c, &why);
	int64_t took = now_ms() - t0;
	cr_assert_eq(rc, -ENOENT, "%d", rc);
	cr_assert(took >= 150, "gave up after %lld ms, before its timeout", (long long)took);
	cr_assert(why && strstr(why, "local: cannot join vamosd's ivshmem server at "), "%s", why);
}

Test(client_transport, unix_without_a_server_says_host_gone)
{
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX,
					 .unix_path = "/tmp/vamos-no-such-dir/vamosd.sock",
					 .timeout_ms = 200 };
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	cr_assert_str_eq(vamos_client_describe(c),
			 "unix (/tmp/vamos-no-such-dir/vamosd.sock, 4 connections; "
			 "chosen by the application)");
	int64_t t0 = now_ms();
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_NOOP, 0, NULL, 0, NULL, 0, NULL, -1),
		     -ECONNREFUSED);
	cr_assert(now_ms() - t0 >= 150);
	const char *e = vamos_client_error(c);
	cr_assert(e && strstr(e, "host gone"), "%s", e ? e : "(none)");
	e = vamos_session_error(vamos_session_get(c));
	cr_assert(e && strstr(e, "host gone: cannot connect to vamosd at "), "%s", e ? e : "");
	vamos_client_close(c);
}

Test(client_transport, environment_wins_over_params)
{
	struct test_host h;
	struct th_opts o = { .kind = TH_LOCAL };
	th_clear_env();
	const char *err = th_start(&h, &o, NULL, NULL);
	cr_assert_null(err, "%s", err);
	setenv("VAMOS_TRANSPORT", "local", 1);
	setenv("VAMOS_LOCAL_SOCKET", h.path, 1);
	setenv("VAMOS_LOCAL_VECTORS", "2", 1);
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX,
					 .unix_path = "/tmp/vamos-no-such-dir/x.sock" };
	struct vamos_client *c = NULL;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	const char *d = vamos_client_describe(c);
	cr_assert(!strncmp(d, "local (ivshmem server ", 22) && strstr(d, h.path) &&
		  strstr(d, "2 channels, 2 vectors; chosen by VAMOS_TRANSPORT)"), "%s", d);
	char out[8];
	uint32_t n;
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_ECHO, 0, "env", 3, out, sizeof out, &n, -1), 0);
	cr_assert(n == 3 && !memcmp(out, "env", 3));
	vamos_client_close(c);
	th_cleanup(&h);
}

struct sixteen {
	struct vamos_client *c;
	unsigned index;
	int rc;
	uint32_t channel_seen; /* of the session the thread got */
};

static void *echo_on_own_session(void *arg)
{
	struct sixteen *w = arg;
	char in[16], out[16];
	uint32_t n = 0;
	int len = snprintf(in, sizeof in, "thread %u", w->index);
	w->rc = vamos_call(w->c, VAMOS_SERVICE_ECHO, 0, in, (uint32_t)len, out, sizeof out, &n, -1);
	if (!w->rc && (n != (uint32_t)len || memcmp(in, out, n)))
		w->rc = -EBADMSG;
	return NULL;
}

/* A VM of 16 channels and 16 vectors (a normal configuration): a local
 * peer given no vector count learns the server's, and every channel
 * works. Before, it took 1 and the server's welcome was refused. */
Test(client_transport, local_peer_learns_the_vms_vectors)
{
	struct test_host h;
	struct th_opts o = { .kind = TH_LOCAL, .channels = 16, .vectors = 16 };
	th_clear_env();
	const char *err = th_start(&h, &o, NULL, NULL);
	cr_assert_null(err, "%s", err);
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
					 .local_socket = h.path, .timeout_ms = 10000 };
	struct vamos_client *c = NULL;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	const char *d = vamos_client_describe(c);
	cr_assert(strstr(d, "16 channels, 16 vectors, learned; chosen by the application)"),
		  "%s", d);
	struct sixteen w[16];
	pthread_t t[16];
	for (unsigned i = 0; i < 16; i++) {
		w[i] = (struct sixteen){ .c = c, .index = i };
		cr_assert_eq(pthread_create(&t[i], NULL, echo_on_own_session, &w[i]), 0);
	}
	for (unsigned i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < 16; i++)
		cr_expect_eq(w[i].rc, 0, "thread %u: %d", i, w[i].rc);
	vamos_client_close(c);

	/* Told a count that is not the VM's: refused, saying what to do. */
	p.local_vectors = 4;
	int rc = vamos_client_connect(&p, &c, &why);
	cr_assert_lt(rc, 0);
	cr_assert(why && strstr(why, "vectors="), "%d %s", rc, why ? why : "(none)");
	th_cleanup(&h);
}

Test(client_transport, no_env_flag_ignores_the_environment)
{
	struct test_host h;
	struct th_opts o = { .kind = TH_LOCAL };
	th_clear_env();
	const char *err = th_start(&h, &o, NULL, NULL);
	cr_assert_null(err, "%s", err);
	setenv("VAMOS_TRANSPORT", "unix", 1);
	setenv("VAMOS_UNIX_SOCKET", "/tmp/vamos-no-such-dir/x.sock", 1);
	setenv("VAMOS_LOCAL_VECTORS", "1", 1);
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
					 .local_socket = h.path, .local_vectors = 2,
					 .flags = VAMOS_CLIENT_NO_ENV };
	struct vamos_client *c = NULL;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	const char *d = vamos_client_describe(c);
	cr_assert(strstr(d, "2 vectors; chosen by the application)"), "%s", d);
	vamos_client_close(c);
	th_clear_env();
	p.flags = 2;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), -EINVAL);
	cr_assert(strstr(why, "flags"), "%s", why);
	th_cleanup(&h);
}

/* vamos_call_room: the reply goes once, straight into the room asked for
 * with its length; a reply of no bytes asks for none; no room is -ENOMEM;
 * a reply larger than the cap asks for none and is -EMSGSIZE. */
struct room {
	char buf[16];
	unsigned calls;
	uint32_t len;
	bool none;
};

static void *give_room(void *arg, uint32_t len)
{
	struct room *r = arg;
	r->calls++;
	r->len = len;
	return r->none ? NULL : r->buf;
}

Test(client_transport, call_room_copies_the_reply_into_the_room)
{
	struct test_host h;
	struct th_opts o = { .kind = TH_LOCAL };
	struct vamos_client_params p;
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	cr_assert_null(th_start(&h, &o, NULL, NULL));
	th_client_params(&h, &p, 2000);
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	struct room r = { 0 };
	uint32_t n = 99;
	cr_assert_eq(vamos_call_room(c, VAMOS_SERVICE_ECHO, 0, "hello", 5, give_room, &r,
				     sizeof r.buf, &n, -1), 0);
	cr_assert(n == 5 && r.calls == 1 && r.len == 5 && !memcmp(r.buf, "hello", 5));
	r = (struct room){ 0 };
	cr_assert_eq(vamos_call_room(c, VAMOS_SERVICE_ECHO, 0, NULL, 0, give_room, &r,
				     sizeof r.buf, &n, -1), 0);
	cr_assert(n == 0 && r.calls == 0, "no bytes, no room asked for");
	r = (struct room){ .none = true };
	cr_assert_eq(vamos_call_room(c, VAMOS_SERVICE_ECHO, 0, "abc", 3, give_room, &r,
				     sizeof r.buf, &n, -1), -ENOMEM);
	cr_assert_eq(r.calls, 1);
	r = (struct room){ 0 };
	cr_assert_eq(vamos_call_room(c, VAMOS_SERVICE_ECHO, 0, "0123456789abcdefX", 17,
				     give_room, &r, sizeof r.buf, &n, -1), -EMSGSIZE);
	cr_assert(n == 17 && r.calls == 0);
	cr_assert_eq(vamos_call_room(c, VAMOS_SERVICE_ECHO, 0, "x", 1, NULL, NULL, 4, NULL, -1),
		     -EINVAL);
	/* The session still works afterwards. */
	r = (struct room){ 0 };
	cr_assert_eq(vamos_call_room(c, VAMOS_SERVICE_ECHO, 0, "ok", 2, give_room, &r,
				     sizeof r.buf, &n, -1), 0);
	cr_assert(n == 2 && !memcmp(r.buf, "ok", 2));
	vamos_client_close(c);
	th_cleanup(&h);
}

Test(client_transport, bad_arguments)
{
	struct test_host h;
	struct th_opts o = { .kind = TH_UNIX };
	struct vamos_client_params p;
	struct vamos_client *c = NULL;
	const char *why = NULL;
	th_clear_env();
	cr_assert_null(th_start(&h, &o, NULL, NULL));
	th_client_params(&h, &p, 2000);
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	struct vamos_session *s = vamos_session_get(c);
	struct vamos_completion done[1];
	uint64_t id;
	cr_assert_eq(vamos_session_complete(s, done, 0, 0), -EINVAL);
	cr_assert_eq(vamos_session_complete(s, NULL, 1, 0), -EINVAL);
	cr_assert_eq(vamos_session_submit(s, 1, 0, NULL, 4, &id), -EINVAL);
	cr_assert_eq(vamos_call(c, 1, 0, NULL, 4, NULL, 0, NULL, -1), -EINVAL);
	cr_assert_eq(vamos_call(c, 1, 0, "x", 1, NULL, 4, NULL, -1), -EINVAL);
	cr_assert_eq(vamos_session_flush(s), 0, "flush before anything was sent");
	vamos_client_close(c);
	vamos_client_close(NULL);
	th_cleanup(&h);
}

/* Two threads share one session (a pool of one). Each thread's
 * vamos_session_error() is its own copy: the other thread's later failure,
 * for another reason, does not rewrite the string the first one holds. */
struct error_thread {
	struct vamos_client *c;
	pthread_barrier_t *failed, *other_failed; /* NULL: do not wait */
	char copy[256];
	bool unchanged;
};

static void *fail_once(void *arg)
{
	struct error_thread *t = arg;
	vamos_call(t->c, VAMOS_SERVICE_NOOP, 0, NULL, 0, NULL, 0, NULL, -1);
	const char *held = vamos_session_error(vamos_session_get(t->c));
	snprintf(t->copy, sizeof t->copy, "%s", held ? held : "");
	if (t->failed) {
		/* Held across the other thread's failure (the string lives
		 * as long as this thread does). */
		pthread_barrier_wait(t->failed);
		pthread_barrier_wait(t->other_failed);
		t->unchanged = held && !strcmp(held, t->copy);
	}
	return NULL;
}

Test(client_transport, a_shared_sessions_error_is_each_threads_own_copy)
{
	char dir[] = "/tmp/vamos-err-XXXXXX", path[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/vamosd.sock", dir);
	th_clear_env();
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX, .unix_path = path,
					 .channels = 1, .timeout_ms = 100 };
	struct vamos_client *c = NULL;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	pthread_barrier_t failed, other_failed;
	pthread_barrier_init(&failed, NULL, 2);
	pthread_barrier_init(&other_failed, NULL, 2);
	struct error_thread a = { .c = c, .failed = &failed, .other_failed = &other_failed };
	struct error_thread b = { .c = c };
	pthread_t ta, tb;
	/* A fails with no socket file at all... */
	cr_assert_eq(pthread_create(&ta, NULL, fail_once, &a), 0);
	pthread_barrier_wait(&failed);
	/* ...B, on the same session, with a file that is not a socket. */
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(pthread_create(&tb, NULL, fail_once, &b), 0);
	pthread_join(tb, NULL);
	pthread_barrier_wait(&other_failed);
	pthread_join(ta, NULL);
	cr_assert(strstr(a.copy, "No such file"), "%s", a.copy);
	cr_assert(b.copy[0] && !strstr(b.copy, "No such file"), "%s", b.copy);
	cr_assert(a.unchanged, "A's string was rewritten by B's failure");
	pthread_barrier_destroy(&failed);
	pthread_barrier_destroy(&other_failed);
	vamos_client_close(c);
	unlink(path);
	rmdir(dir);
}
