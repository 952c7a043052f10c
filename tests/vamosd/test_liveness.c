/* SPDX-License-Identifier: MIT */
/* A vamosd that is alive but stuck: a local-peer client waiting in a call
 * learns it from the region's heartbeat (-EHOSTDOWN) instead of waiting
 * out its timeout, and carries on once vamosd moves again. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vamos/client.h>
#include <vamos/protocol.h>

#include "daemon.h"

static struct daemon d;

/* Whether every thread of @pid has stopped: SIGSTOP is delivered
 * asynchronously, and a poller still running a moment longer would
 * answer the next request. */
static bool all_stopped(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return false;
	bool stopped = true;
	for (struct dirent *e; stopped && (e = readdir(dir));) {
		if (e->d_name[0] == '.')
			continue;
		char stat[sizeof path + 300], buf[512];
		snprintf(stat, sizeof stat, "%s/%s/stat", path, e->d_name);
		FILE *f = fopen(stat, "r");
		size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[got] = 0;
		char *close_paren = strrchr(buf, ')');
		stopped = close_paren && close_paren[1] == ' ' && close_paren[2] == 'T';
	}
	closedir(dir);
	return stopped;
}

/* SIGSTOP @pid and wait until all its threads are stopped. */
static void freeze(pid_t pid)
{
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	while (!all_stopped(pid))
		usleep(1000);
}

Test(vamosd_liveness, a_stopped_vamosd_fails_a_waiting_call_with_ehostdown, .timeout = 120)
{
	const char *err = daemon_start(&d, 1, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	struct vamos_client_params params = {
		.transport = VAMOS_TRANSPORT_LOCAL,
		.local_socket = d.vm_sock[0],
		.local_vectors = 4,
		.timeout_ms = 60000,
		.stale_ms = 3000, /* an idle vamosd beats about once a second */
	};
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&params, &c, &why), 0, "%s", why);
	char out[16];
	uint32_t n = 0;
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_ECHO, 0, "alive", 5, out, sizeof out, &n, -1), 0);

	/* A request that blocks 20 s, and the worker is frozen meanwhile:
	 * alive to the kernel, answering nobody. */
	pid_t worker = daemon_worker(&d);
	cr_assert_gt(worker, 0);
	freeze(worker);
	int rc = vamos_call(c, VAMOS_SERVICE_SLEEP, 20000, NULL, 0, out, sizeof out, &n, -1);
	cr_assert_eq(rc, -EHOSTDOWN, "the call ended with %d (%s)", rc, strerror(-rc));
	const char *msg = vamos_session_error(vamos_session_get(c));
	cr_assert_not_null(msg);
	cr_assert(strstr(msg, "vamosd on the host has not answered for "), "%s", msg);

	/* Moving again: the same client's next call is served (the late
	 * reply of the sleep, when it comes, is dropped). */
	cr_assert_eq(kill(worker, SIGCONT), 0);
	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "again", 5, out, sizeof out, &n, -1);
	cr_assert_eq(rc, 0, "%s", strerror(-rc));
	cr_assert(n == 5 && !memcmp(out, "again", 5));
	vamos_client_close(c);
	daemon_cleanup(&d);
}

/* Without a heartbeat to judge by (VAMOS_STALE_MS=0), the same frozen
 * vamosd is waited for until the call's own timeout. */
Test(vamosd_liveness, stale_ms_zero_waits_for_the_timeout, .timeout = 120)
{
	const char *err = daemon_start(&d, 1, 1u << 16, NULL);
	cr_assert_null(err, "%s", err);
	setenv("VAMOS_STALE_MS", "0", 1);
	struct vamos_client_params params = {
		.transport = VAMOS_TRANSPORT_LOCAL,
		.local_socket = d.vm_sock[0],
		.local_vectors = 4,
		.stale_ms = 500,
	};
	struct vamos_client *c;
	const char *why = NULL;
	cr_assert_eq(vamos_client_connect(&params, &c, &why), 0, "%s", why);
	unsetenv("VAMOS_STALE_MS");
	char out[16];
	uint32_t n = 0;
	int rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "alive", 5, out, sizeof out, &n, -1);
	cr_assert_eq(rc, 0, "%s (%s)", strerror(-rc),
		     vamos_session_error(vamos_session_get(c)) ? vamos_session_error(vamos_session_get(c)) : "");
	pid_t worker = daemon_worker(&d);
	cr_assert_gt(worker, 0);
	freeze(worker);
	rc = vamos_call(c, VAMOS_SERVICE_ECHO, 0, "x", 1, out, sizeof out, &n, 3000);
	cr_assert_eq(rc, -ETIMEDOUT, "%s", strerror(-rc));
	cr_assert_eq(kill(worker, SIGCONT), 0);
	vamos_client_close(c);
	daemon_cleanup(&d);
}
