/* SPDX-License-Identifier: MIT */
/* Malformed replies, a host that stops, restarts or is killed. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenarios.h"

#define BOTH(name, call)                                                     \
	Test(client_failures, name##_local, .timeout = 120)                  \
	{                                                                    \
		const enum th_kind kind = TH_LOCAL;                          \
		const char *err = call;                                      \
		cr_assert_null(err, "%s", err);                              \
	}                                                                    \
	Test(client_failures, name##_unix, .timeout = 120)                   \
	{                                                                    \
		const enum th_kind kind = TH_UNIX;                           \
		const char *err = call;                                      \
		cr_assert_null(err, "%s", err);                              \
	}

BOTH(malformed_reply_is_eproto, scenario_malformed(kind))
BOTH(host_stops_with_requests_in_flight, scenario_host_stops(kind, 50))
BOTH(host_restarts, scenario_restart(kind, 0))
BOTH(host_restarts_late, scenario_restart(kind, 400))

/* vamosd dies without a word (SIGKILL): its region still says READY, so
 * only the server socket closing tells; the client notices while it waits. */
Test(client_failures, host_killed_local, .timeout = 120)
{
	char dir[] = "/tmp/vamos-kill-XXXXXX";
	char path[64];
	int ready[2];
	th_clear_env();
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/host.sock", dir);
	cr_assert_eq(pipe(ready), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		/* Never outlive the test, whatever it asserts. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct test_host h;
		struct th_opts o = { .kind = TH_LOCAL, .channels = 2, .vectors = 2 };
		const char *e = th_start(&h, &o, path, NULL);
		if (write(ready[1], e ? "E" : "K", 1) != 1 || e)
			_exit(1);
		for (;;)
			pause();
	}
	char c1;
	cr_assert_eq(read(ready[0], &c1, 1), 1);
	cr_assert_eq(c1, 'K');

	struct vamos_client_params p = { .transport = VAMOS_TRANSPORT_LOCAL,
					 .local_socket = path, .local_vectors = 2,
					 .timeout_ms = 300 };
	struct vamos_client *c;
	const char *why;
	cr_assert_eq(vamos_client_connect(&p, &c, &why), 0, "%s", why);
	cr_assert_eq(vamos_call(c, VAMOS_SERVICE_NOOP, 0, NULL, 0, NULL, 0, NULL, 5000), 0);
	struct vamos_session *s = vamos_session_get(c);
	uint64_t ids[10];
	for (int i = 0; i < 10; i++)
		cr_assert_eq(vamos_session_submit(s, TH_SVC_HOLD, 0, NULL, 0, &ids[i]), 0);
	cr_assert_eq(vamos_session_flush(s), 0);
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	unsigned got = 0;
	while (got < 10) {
		struct vamos_completion done[16];
		int n = vamos_session_complete(s, done, 16, 5000);
		cr_assert(n > 0, "complete: %d", n);
		for (int k = 0; k < n; k++) {
			cr_assert_eq(done[k].status, -ECONNRESET);
			cr_assert(done[k].id >= ids[0] && done[k].id <= ids[9]);
		}
		got += (unsigned)n;
	}
	cr_assert_eq(got, 10);
	uint64_t id;
	cr_assert_eq(vamos_session_submit(s, VAMOS_SERVICE_NOOP, 0, NULL, 0, &id), -ECONNREFUSED);
	vamos_client_close(c);
	unlink(path);
	rmdir(dir);
}
