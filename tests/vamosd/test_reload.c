/* SPDX-License-Identifier: MIT */
/* SIGHUP: the real daemon reads its configuration file again and applies
 * which vsock CID is which VM's; a file that does not check changes
 * nothing, and what only a restart applies is logged as such. (No vsock
 * here: which connections the CIDs then take is vamosd-stream-peers'.) */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

static struct daemon d;
static char conf[160];

static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* SIGHUP, then wait until the log says @text (the test's timeout bounds it). */
static void hup_and_wait_for(const char *text)
{
	cr_assert_eq(daemon_signal(&d, SIGHUP, false), 0);
	while (!daemon_log_has(&d, text))
		usleep(10000);
}

Test(reload, sighup_applies_cids_and_refuses_a_file_that_does_not_check, .timeout = 120)
{
	char path[] = "/tmp/vamosd-reload-XXXXXX";
	cr_assert_not_null(mkdtemp(path));
	snprintf(conf, sizeof conf, "%s/vamosd.conf", path);
	char text[1024];
	snprintf(text, sizeof text, "[vm filevm]\nsocket = %s/f.sock\ncid = 5\n", path);
	write_conf(text);
	const char *const extra[] = { "--config", conf, NULL };
	cr_assert_null(daemon_start(&d, 1, 1u << 16, extra));

	/* Two VMs with one CID: refused whole, the daemon serves on. */
	snprintf(text, sizeof text,
		 "[vm filevm]\nsocket = %s/f.sock\ncid = 6\n[vm dup]\nsocket = %s/d.sock\ncid = 6\n",
		 path, path);
	write_conf(text);
	hup_and_wait_for("reload: vm dup: cid 6 is vm filevm's already; nothing changed");

	/* A CID moved: applied, nothing else to say. */
	snprintf(text, sizeof text, "[vm filevm]\nsocket = %s/f.sock\ncid = 7\n", path);
	write_conf(text);
	hup_and_wait_for("reload: 1 vsock cids claimed");
	cr_assert_not(daemon_log_has(&d, "apply after a restart"), "only the cid changed");

	/* A new VM with a CID waits for a restart, and the log says so. */
	snprintf(text, sizeof text,
		 "[vm filevm]\nsocket = %s/f.sock\ncid = 7\n[vm later]\nsocket = %s/l.sock\ncid = 8\n",
		 path, path);
	write_conf(text);
	hup_and_wait_for("they apply after a restart (SIGUSR2)");
	cr_assert(daemon_log_has(&d, "reload: 1 VMs with a cid are not served yet"));

	char *pong = daemon_ask(&d, "ping");
	cr_assert_not_null(pong, "still serving");
	free(pong);
	daemon_cleanup(&d);
	unlink(conf);
	char sock[200];
	snprintf(sock, sizeof sock, "%s/f.sock", path);
	unlink(sock);
	rmdir(path);
}

/* pollers_per_vm (pollers were per VM once) still loads, as the host's
 * pollers, and the log says it is deprecated. */
Test(reload, a_file_with_pollers_per_vm_loads_it_as_the_hosts_pollers, .timeout = 60)
{
	char path[] = "/tmp/vamosd-reload-XXXXXX";
	cr_assert_not_null(mkdtemp(path));
	snprintf(conf, sizeof conf, "%s/vamosd.conf", path);
	char text[1024];
	snprintf(text, sizeof text, "pollers_per_vm = 3\n[vm filevm]\nsocket = %s/f.sock\n", path);
	write_conf(text);
	const char *const extra[] = { "--config", conf, NULL };
	const char *err = daemon_start(&d, 1, 1u << 16, extra);
	cr_assert_null(err, "%s", err);
	cr_assert(daemon_log_has(&d, "pollers_per_vm is deprecated: read as pollers = 3"));
	char *stats = daemon_ask(&d, "stats");
	cr_assert(stats && strstr(stats, "\npollers      3 for every VM"), "%s", stats);
	free(stats);
	daemon_cleanup(&d);
	unlink(conf);
	char sock[200];
	snprintf(sock, sizeof sock, "%s/f.sock", path);
	unlink(sock);
	rmdir(path);
}
