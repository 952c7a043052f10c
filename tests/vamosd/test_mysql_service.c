/* SPDX-License-Identifier: MIT */
/* vamosd's mysql service through the real daemon and libvamos-client (a
 * local peer, as ha_vamos in mariadbd would be): each VM has its own
 * tables; a committed row survives SIGKILL; a client that goes away with
 * an open transaction loses it and frees the writer; a VM's own stream
 * socket serves that VM's tables; sessions of no VM (the shared UNIX
 * socket) are refused. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vamos/client.h>
#include <vamos/mysql_protocol.h>
#include <vamos/protocol.h>
#include <vamos/vsock.h>

#include "daemon.h"

static struct daemon d;

static struct vamos_client *connect_vm(unsigned vm)
{
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
					 .local_socket = d.vm_sock[vm], .local_vectors = 4,
					 .timeout_ms = 5000 };
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	return c;
}

static struct vamos_client *connect_stream(const char *path)
{
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX, .unix_path = path,
					 .timeout_ms = 5000 };
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	return c;
}

/* One request: header + @body; the reply into @out. */
static int call(struct vamos_client *c, uint16_t op, uint64_t ctx, uint32_t table,
		const void *body, uint32_t len, void *out, uint32_t cap)
{
	unsigned char buf[1024];
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .table = table, .ctx = ctx };
	memcpy(buf, &h, sizeof h);
	if (len)
		memcpy(buf + sizeof h, body, len);
	uint32_t n = 0;
	static unsigned char sink[64 * 1024];
	return vamos_call(c, VAMOS_SERVICE_MYSQL, op, buf, (uint32_t)sizeof h + len,
			  out ? out : sink, out ? cap : sizeof sink, &n, 10000);
}

static uint64_t ctx_open(struct vamos_client *c)
{
	struct vamos_mysql_ctx x = { 0 };
	cr_assert_eq(call(c, VAMOS_MYSQL_CTX_OPEN, 0, 0, NULL, 0, &x, sizeof x), 0);
	return x.ctx;
}

static int create(struct vamos_client *c, const char *name)
{
	unsigned char body[128];
	struct vamos_mysql_create cr = { 0 };
	memcpy(body, &cr, sizeof cr);
	memcpy(body + sizeof cr, name, strlen(name));
	return call(c, VAMOS_MYSQL_CREATE, 0, 0, body, (uint32_t)(sizeof cr + strlen(name)),
		    NULL, 0);
}

static int64_t open_table(struct vamos_client *c, const char *name)
{
	struct vamos_mysql_table t;
	int rc = call(c, VAMOS_MYSQL_OPEN, 0, 0, name, (uint32_t)strlen(name), &t, sizeof t);
	return rc ? (int64_t)rc : (int64_t)t.table;
}

static int write_row(struct vamos_client *c, uint64_t ctx, uint32_t t, const char *pk)
{
	unsigned char body[64] = { 0 };
	struct vamos_mysql_write w = { .count = 1 };
	struct vamos_mysql_write_row r = { .row_len = 3, .pk_len = (uint16_t)strlen(pk) };
	memcpy(body, &w, sizeof w);
	memcpy(body + sizeof w, &r, sizeof r);
	memcpy(body + sizeof w + sizeof r, pk, r.pk_len);
	memcpy(body + sizeof w + sizeof r + r.pk_len, "row", 3);
	uint32_t len = (uint32_t)(sizeof w + sizeof r + r.pk_len + 3);
	return call(c, VAMOS_MYSQL_WRITE, ctx, t, body, (len + 7) & ~7u, NULL, 0);
}

/* Rows in table @t, counted by a full scan. */
static int count_rows(struct vamos_client *c, uint64_t ctx, uint32_t t)
{
	static unsigned char out[64 * 1024];
	struct vamos_mysql_read r = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 1000 };
	int rc = call(c, VAMOS_MYSQL_READ, ctx, t, &r, sizeof r, out, sizeof out);
	if (rc == -ENOENT)
		return 0;
	cr_assert_eq(rc, 0);
	struct vamos_mysql_rows h;
	memcpy(&h, out, sizeof h);
	return (int)h.count;
}

static void commit(struct vamos_client *c, uint64_t ctx)
{
	cr_assert_eq(call(c, VAMOS_MYSQL_COMMIT, ctx, 0, NULL, 0, NULL, 0), 0);
}

Test(mysql_service, committed_rows_survive_sigkill, .timeout = 120)
{
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	struct vamos_client *c = connect_vm(0);
	cr_assert_eq(create(c, "db/t"), 0);
	uint32_t t = (uint32_t)open_table(c, "db/t");
	uint64_t x = ctx_open(c);
	cr_assert_eq(write_row(c, x, t, "committed"), 0);
	commit(c, x);
	char *stats = daemon_ask(&d, "stats");
	cr_assert_not_null(stats);
	cr_assert_not_null(strstr(stats, "1 connections"), "%s", stats);
	cr_assert_not_null(strstr(stats, "1 commits"), "%s", stats);
	free(stats);
	stats = daemon_ask(&d, "stats prometheus");
	cr_assert_not_null(strstr(stats, "vamos_mysql_commits_total{vm=\"vm0\"} 1"), "%s", stats);
	free(stats);
	cr_assert_eq(write_row(c, x, t, "open"), 0);
	cr_assert_eq(daemon_signal(&d, SIGKILL, true), 128 + SIGKILL);
	cr_assert_null(daemon_restart(&d, 1, 1u << 16, NULL));
	/* The client reconnects on its next request; the host's handles and
	 * contexts were lost with the daemon. */
	int rc = call(c, VAMOS_MYSQL_CTX_OPEN, 0, 0, NULL, 0, NULL, 0);
	cr_assert(rc == -ECONNRESET || rc == 0, "%d", rc);
	t = (uint32_t)open_table(c, "db/t");
	x = ctx_open(c);
	cr_assert_eq(count_rows(c, x, t), 1, "the committed row, not the open one");
	vamos_client_close(c);
	daemon_cleanup(&d);
}

Test(mysql_service, a_client_that_leaves_loses_its_transaction_and_the_writer, .timeout = 120)
{
	const char *const extra[] = { "--mysql-lock-wait-ms", "60000", NULL };
	cr_assert_null(daemon_start(&d, 1, 1u << 16, extra));
	struct vamos_client *a = connect_vm(0);
	cr_assert_eq(create(a, "t"), 0);
	uint32_t t = (uint32_t)open_table(a, "t");
	uint64_t x = ctx_open(a);
	cr_assert_eq(write_row(a, x, t, "never"), 0);
	vamos_client_close(a); /* the peer leaves with the writer held */
	struct vamos_client *b = connect_vm(0);
	t = (uint32_t)open_table(b, "t");
	x = ctx_open(b);
	/* Would wait a minute if the writer were still held. */
	cr_assert_eq(write_row(b, x, t, "mine"), 0);
	commit(b, x);
	cr_assert_eq(count_rows(b, x, t), 1);
	vamos_client_close(b);
	daemon_cleanup(&d);
}

Test(mysql_service, every_vm_has_its_own_tables, .timeout = 120)
{
	cr_assert_null(daemon_start(&d, 2, 1u << 16, NULL));
	struct vamos_client *a = connect_vm(0), *b = connect_vm(1);
	cr_assert_eq(create(a, "db/secret"), 0);
	cr_assert_gt(open_table(a, "db/secret"), 0);
	cr_assert_eq(open_table(b, "db/secret"), -ENOENT);
	cr_assert_eq(create(b, "db/secret"), 0, "the same name is free in another VM");
	vamos_client_close(a);
	vamos_client_close(b);
	daemon_cleanup(&d);
}

Test(mysql_service, stream_sessions_are_refused, .timeout = 60)
{
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX,
					 .unix_path = d.stream_sock, .timeout_ms = 5000 };
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	char why_not[256] = { 0 };
	struct vamos_mysql_attach a = { 0 };
	cr_assert_eq(call(c, VAMOS_MYSQL_ATTACH, 0, 0, &a, sizeof a, why_not, sizeof why_not - 1),
		     -EPERM);
	cr_assert_eq(call(c, VAMOS_MYSQL_CTX_OPEN, 0, 0, NULL, 0, NULL, 0), -EPERM);
	cr_assert_not_null(strstr(why_not, "belongs to no VM"), "the reply says why: %s", why_not);
	vamos_client_close(c);
	daemon_cleanup(&d);
}

/* A VM may be named like the stream sessions' label: a stream client still
 * has no VM, so it can neither attach nor read that VM's rows. */
Test(mysql_service, a_vm_named_stream_is_not_a_stream_clients, .timeout = 60)
{
	const char *const names[] = { "stream" };
	cr_assert_null(daemon_start_named(&d, 1, names, 1u << 16, NULL));
	struct vamos_client *vm = connect_vm(0);
	cr_assert_eq(create(vm, "db/secret"), 0);
	int64_t t = open_table(vm, "db/secret");
	cr_assert_gt(t, 0);
	uint64_t x = ctx_open(vm);
	cr_assert_eq(write_row(vm, x, (uint32_t)t, "secret"), 0);
	commit(vm, x);

	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX,
					 .unix_path = d.stream_sock, .timeout_ms = 5000 };
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	struct vamos_mysql_attach a = { 0 };
	cr_assert_eq(call(c, VAMOS_MYSQL_ATTACH, 0, 0, &a, sizeof a, NULL, 0), -EPERM);
	cr_assert_eq(open_table(c, "db/secret"), -EPERM);
	/* Not even the VM's own handle and context read through a stream. */
	static unsigned char out[64 * 1024];
	struct vamos_mysql_read r = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 1000 };
	cr_assert_eq(call(c, VAMOS_MYSQL_READ, 0, (uint32_t)t, &r, sizeof r, out, sizeof out),
		     -EPERM);
	cr_assert_eq(call(c, VAMOS_MYSQL_READ, x, (uint32_t)t, &r, sizeof r, out, sizeof out),
		     -EPERM);
	vamos_client_close(c);
	cr_assert_eq(count_rows(vm, x, (uint32_t)t), 1, "the VM itself still reads its row");
	vamos_client_close(vm);
	daemon_cleanup(&d);
}

/* VAMOS_MYSQL_LOCK_WAIT: the service takes the struct off a request before
 * the executor parses it; a malformed one fails the request. */
Test(mysql_service, lock_wait_field_is_taken_off_and_checked, .timeout = 60)
{
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	struct vamos_client *c = connect_vm(0);
	cr_assert_eq(create(c, "db/lw"), 0);
	uint32_t t = (uint32_t)open_table(c, "db/lw");
	uint64_t x = ctx_open(c);
	unsigned char buf[256] = { 0 }, out[256];
	uint32_t n;
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .flags = VAMOS_MYSQL_LOCK_WAIT,
				     .table = t, .ctx = x };
	struct vamos_mysql_lock_wait w = { .ms = 7000 };
	struct vamos_mysql_write wr = { .count = 1 };
	struct vamos_mysql_write_row r = { .row_len = 3, .pk_len = 1 };
	unsigned char *p = buf;
	memcpy(p, &h, sizeof h), p += sizeof h;
	memcpy(p, &w, sizeof w), p += sizeof w;
	memcpy(p, &wr, sizeof wr), p += sizeof wr;
	memcpy(p, &r, sizeof r), p += sizeof r;
	memcpy(p, "krow", 4), p += 8;
	uint32_t len = (uint32_t)(p - buf);
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_WRITE, buf, len, out, sizeof out,
				&n, 5000), 0);
	commit(c, x);
	cr_assert_eq(count_rows(c, x, t), 1);
	/* a zero wait, reserved bits, a struct cut short */
	struct vamos_mysql_lock_wait bad[] = { { .ms = 0 }, { .ms = 1, .reserved = 1 } };
	for (int i = 0; i < 2; i++) {
		memcpy(buf + sizeof h, &bad[i], sizeof bad[i]);
		cr_assert_eq(vamos_call(c, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_WRITE, buf, len, out,
					sizeof out, &n, 5000), -EINVAL);
		cr_assert_not_null(memmem(out, n, "LOCK_WAIT", 9), "%.*s", (int)n, out);
	}
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_WRITE, buf, sizeof h + 4, out,
				sizeof out, &n, 5000), -EINVAL);
	cr_assert_not_null(memmem(out, n, "LOCK_WAIT", 9), "%.*s", (int)n, out);
	commit(c, x);
	cr_assert_eq(count_rows(c, x, t), 1);
	vamos_client_close(c);
	daemon_cleanup(&d);
}

/* A VM's stream_socket is that VM over a stream: the tables, rows and
 * transactions its ivshmem channels see, and no other VM's. */
Test(mysql_service, a_vms_stream_socket_serves_that_vms_tables, .timeout = 120)
{
	daemon_vm_streams = true;
	cr_assert_null(daemon_start(&d, 2, 1u << 16, NULL));
	daemon_vm_streams = false;
	struct stat st;
	cr_assert_eq(stat(d.vm_stream[0], &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "the file's permissions are the access control");

	struct vamos_client *shm = connect_vm(0);
	cr_assert_eq(create(shm, "db/t"), 0);
	uint32_t t = (uint32_t)open_table(shm, "db/t");
	uint64_t x = ctx_open(shm);
	cr_assert_eq(write_row(shm, x, t, "by-ivshmem"), 0);
	commit(shm, x);

	struct vamos_client *str = connect_stream(d.vm_stream[0]);
	struct vamos_mysql_attach a = { 0 };
	cr_assert_eq(call(str, VAMOS_MYSQL_ATTACH, 0, 0, &a, sizeof a, NULL, 0), 0);
	int64_t ts = open_table(str, "db/t");
	cr_assert_gt(ts, 0);
	uint64_t y = ctx_open(str);
	cr_assert_eq(count_rows(str, y, (uint32_t)ts), 1, "the row written over ivshmem");
	cr_assert_eq(write_row(str, y, (uint32_t)ts, "by-stream"), 0);
	cr_assert_eq(write_row(str, y, (uint32_t)ts, "by-stream"), -EEXIST,
		     "the same errors as over ivshmem");
	commit(str, y);
	x = ctx_open(shm);
	cr_assert_eq(count_rows(shm, x, t), 2, "the stream's commit, seen over ivshmem");

	/* vm1's stream socket is vm1's: vm0's table is not there. */
	struct vamos_client *other = connect_stream(d.vm_stream[1]);
	cr_assert_eq(open_table(other, "db/t"), -ENOENT);
	vamos_client_close(other);
	vamos_client_close(str);
	vamos_client_close(shm);
	daemon_cleanup(&d);
}

/* A VM's stream socket takes peer bytes like its rings do: a malformed
 * request gets an error, a broken frame ends that connection only, and the
 * VM is served on over both transports. */
Test(mysql_service, a_hostile_stream_peer_ends_only_its_connection, .timeout = 120)
{
	daemon_vm_streams = true;
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	daemon_vm_streams = false;
	struct vamos_client *str = connect_stream(d.vm_stream[0]);
	unsigned char out[256];
	uint32_t n = 0;
	/* Shorter than a request header, and a header of another version. */
	int rc = vamos_call(str, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_CTX_OPEN, "abc", 3, out,
			    sizeof out, &n, 10000);
	cr_assert(rc < 0 && rc != -ETIMEDOUT && rc != -ECONNRESET, "%d", rc);
	struct vamos_mysql_req h = { .version = 0xffff };
	rc = vamos_call(str, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_CTX_OPEN, &h, sizeof h, out,
			sizeof out, &n, 10000);
	cr_assert(rc < 0 && rc != -ETIMEDOUT && rc != -ECONNRESET, "%d", rc);
	cr_assert_gt(ctx_open(str), 0, "the session serves on after errors");

	/* Raw bytes that are no frame: vamosd closes that connection. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	cr_assert_lt(strlen(d.vm_stream[0]), sizeof sun.sun_path);
	memcpy(sun.sun_path, d.vm_stream[0], strlen(d.vm_stream[0]));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	static const unsigned char junk[32] = { 'n', 'o', 't', ' ', 'a', ' ', 'f', 'r', 'a', 'm', 'e' };
	cr_assert_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	char b;
	ssize_t got;
	while ((got = read(fd, &b, 1)) < 0 && errno == EINTR)
		;
	cr_assert(got == 0 || (got < 0 && errno == ECONNRESET), "closed, not answered");
	close(fd);

	struct vamos_client *shm = connect_vm(0);
	cr_assert_eq(create(shm, "db/still"), 0);
	cr_assert_gt(open_table(str, "db/still"), 0, "the other stream session, served on");
	char *pong = daemon_ask(&d, "ping");
	cr_assert_not_null(pong);
	free(pong);
	cr_assert_not(daemon_log_has(&d, "ERROR: AddressSanitizer"));
	vamos_client_close(shm);
	vamos_client_close(str);
	daemon_cleanup(&d);
}

/* Wait until vamosd has let go of every stream session (its sweep). */
static void wait_streams_gone(void)
{
	for (;;) {
		char *stats = daemon_ask(&d, "stats");
		cr_assert_not_null(stats);
		bool gone = strstr(stats, "streams      0 connected") != NULL;
		free(stats);
		if (gone)
			return;
		usleep(10000);
	}
}

/* A guest reached over streams only that goes away (its last connection
 * ends) loses its transaction, as a guest whose QEMU detaches does; with an
 * ivshmem peer still attached, its contexts stay. */
Test(mysql_service, a_stream_guest_that_leaves_loses_its_transaction, .timeout = 120)
{
	const char *const extra[] = { "--mysql-lock-wait-ms", "60000", NULL };
	daemon_vm_streams = true;
	cr_assert_null(daemon_start(&d, 1, 1u << 16, extra));
	daemon_vm_streams = false;
	struct vamos_client *a = connect_stream(d.vm_stream[0]);
	cr_assert_eq(create(a, "t"), 0);
	uint32_t t = (uint32_t)open_table(a, "t");
	uint64_t x = ctx_open(a);
	cr_assert_eq(write_row(a, x, t, "k"), 0);
	vamos_client_close(a); /* gone with the row's lock held */
	wait_streams_gone();
	struct vamos_client *b = connect_stream(d.vm_stream[0]);
	t = (uint32_t)open_table(b, "t");
	uint64_t y = ctx_open(b);
	/* Would wait for the lock (the call's 10 s, then -ETIMEDOUT) if a's
	 * transaction were still open. */
	cr_assert_eq(write_row(b, y, t, "k"), 0);
	commit(b, y);

	/* An ivshmem peer is attached: a stream guest leaving is not the VM
	 * leaving, and the peer's transaction goes on. */
	struct vamos_client *shm = connect_vm(0);
	t = (uint32_t)open_table(shm, "t");
	x = ctx_open(shm);
	cr_assert_eq(write_row(shm, x, t, "held"), 0);
	vamos_client_close(b);
	wait_streams_gone();
	commit(shm, x);
	cr_assert_eq(count_rows(shm, x, t), 2);
	vamos_client_close(shm);
	daemon_cleanup(&d);
}

/* vamosd restarts in place (SIGUSR2): a stream connection is not handed
 * over, so the client sees its connection end (-ECONNRESET for a call in
 * flight) and reconnects to the new process, which listens on the same
 * stream socket and serves the same store. */
Test(mysql_service, a_stream_client_reconnects_after_a_restart_in_place, .timeout = 180)
{
	daemon_vm_streams = true;
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	daemon_vm_streams = false;
	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_UNIX,
					 .unix_path = d.vm_stream[0], .timeout_ms = 60000 };
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	cr_assert_eq(create(c, "db/kept"), 0);
	uint32_t t = (uint32_t)open_table(c, "db/kept");
	uint64_t x = ctx_open(c);
	cr_assert_eq(write_row(c, x, t, "committed"), 0);
	commit(c, x);
	char *before = daemon_ask(&d, "stats");
	cr_assert_not_null(before);

	cr_assert_eq(daemon_signal(&d, SIGUSR2, false), 0);
	/* The new process answers on the control socket with another boot id. */
	for (;;) {
		char *now = daemon_ask(&d, "stats");
		bool moved = now && strncmp(now, before, strlen("vamosd boot 0123456789abcdef"));
		free(now);
		if (moved)
			break;
		usleep(10000);
	}
	/* The old connection is gone: the first call fails with -ECONNRESET
	 * if the client had not noticed yet, or reconnects at once. */
	struct vamos_mysql_attach a = { 0 };
	int rc = call(c, VAMOS_MYSQL_ATTACH, 0, 0, &a, sizeof a, NULL, 0);
	cr_assert(rc == 0 || rc == -ECONNRESET, "%d", rc);
	if (rc)
		cr_assert_eq(call(c, VAMOS_MYSQL_ATTACH, 0, 0, &a, sizeof a, NULL, 0), 0,
			     "served by the new process over the same socket");
	t = (uint32_t)open_table(c, "db/kept");
	x = ctx_open(c);
	cr_assert_eq(count_rows(c, x, t), 1);
	free(before);
	vamos_client_close(c);
	daemon_cleanup(&d);
}

/* A VM's stream sessions share its limits: their blocking work runs on the
 * VM's own queue of the pool, not the one for sessions of no VM. */
Test(mysql_service, a_vms_stream_session_blocks_on_the_vms_queue, .timeout = 120)
{
	daemon_vm_streams = true;
	cr_assert_null(daemon_start(&d, 1, 1u << 16, NULL));
	daemon_vm_streams = false;
	struct vamos_chan *ch;
	cr_assert_eq(vamos_stream_connect_unix(d.vm_stream[0], NULL, &ch), 0);
	struct raw r;
	cr_assert_null(raw_open(&r, ch));
	/* A sleep far longer than the test: it is still running when asked. */
	cr_assert_eq(raw_request(&r, 1, VAMOS_SERVICE_SLEEP, 60000, NULL, 0), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	for (;;) {
		char *stats = daemon_ask(&d, "stats");
		cr_assert_not_null(stats);
		/* vm0's line "vm0 blocking: queued ..., running N, dropped ..."
		 * (the only one: the queue of no VM has none). */
		char *line = strstr(stats, "blocking:");
		char *end = line ? strchr(line, '\n') : NULL;
		if (end)
			*end = 0;
		bool there = line && strstr(line, "running 1,");
		free(stats);
		if (there)
			break;
		usleep(10000);
	}
	vamos_chan_close(r.ch);
	daemon_cleanup(&d); /* SIGKILL: the sleep is not waited for */
}

/* A stream flush waits for its peer to read: a guest that never reads its
 * replies stalls its own VM's stream poller, and another VM's stream
 * sessions are served on (each VM's streams have their own poller). */
Test(mysql_service, a_guest_that_never_reads_stalls_only_its_own_streams, .timeout = 120)
{
	daemon_vm_streams = true;
	cr_assert_null(daemon_start(&d, 2, 1u << 16, NULL));
	daemon_vm_streams = false;
	struct vamos_client *c = connect_stream(d.vm_stream[0]);
	cr_assert_eq(create(c, "big"), 0);
	uint32_t t = (uint32_t)open_table(c, "big");
	uint64_t x = ctx_open(c);
	for (int i = 0; i < 1000; i++) {
		char pk[16];
		snprintf(pk, sizeof pk, "k%05d", i);
		cr_assert_eq(write_row(c, x, t, pk), 0);
	}
	commit(c, x);

	/* 64 reads of the whole table (about 20 KiB each, far more than a
	 * socket holds) in one small frame, and no reading of the replies. */
	struct vamos_chan *ch;
	cr_assert_eq(vamos_stream_connect_unix(d.vm_stream[0], NULL, &ch), 0);
	struct raw r;
	cr_assert_null(raw_open(&r, ch));
	struct vamos_mysql_req h = { .version = VAMOS_MYSQL_VERSION, .table = t, .ctx = x };
	struct vamos_mysql_read rd = { .start = VAMOS_MYSQL_START_FIRST, .max_rows = 1000 };
	unsigned char req[sizeof h + sizeof rd];
	memcpy(req, &h, sizeof h);
	memcpy(req + sizeof h, &rd, sizeof rd);
	for (uint64_t id = 1; id <= 64; id++)
		cr_assert_eq(raw_request(&r, id, VAMOS_SERVICE_MYSQL, VAMOS_MYSQL_READ, req,
					 sizeof req), 0);
	cr_assert_eq(vamos_chan_flush(r.ch), 0);
	/* vamosd took the whole frame: the poller that did is answering it
	 * now, and stays in its flush once the socket is full. */
	for (int unread = 1; unread;) {
		cr_assert_eq(ioctl(vamos_chan_fd(r.ch), SIOCOUTQ, &unread), 0);
		if (unread)
			usleep(10000);
	}

	struct vamos_client *other = connect_stream(d.vm_stream[1]);
	struct vamos_mysql_attach a = { 0 };
	cr_assert_eq(call(other, VAMOS_MYSQL_ATTACH, 0, 0, &a, sizeof a, NULL, 0), 0,
		     "vm1's stream session is served while vm0's poller waits");
	cr_assert_eq(create(other, "t1"), 0);
	vamos_client_close(other);
	vamos_chan_close(r.ch);
	vamos_client_close(c);
	daemon_cleanup(&d);
}
