/* SPDX-License-Identifier: MIT */
/*
 * vamosd: the host daemon. Serves each configured VM through its own
 * ivshmem server (QEMU attaches with -device ivshmem-doorbell), plus
 * stream clients on vsock and/or a UNIX socket, dispatching requests to
 * services by id. Runs in the foreground (systemd: Type=notify, with an
 * fd store that keeps the VMs' devices across a restart: fdstore.h).
 *
 *   vamosd [--config FILE] [--vm NAME=SOCKET[,key=value...]]
 *          [--data-dir DIR] [--control PATH] [--unix-socket PATH]
 *          [--vsock-port N] [--log-level error|warn|info|debug]
 *          [--pollers N] [--blocking-threads N] [--spin-us N]
 *
 * SIGTERM or SIGINT: stop taking requests, finish those taken (replies
 * included), then mark every region CLOSED and exit 0. Under systemd with
 * an fd store, leave every VM's region and descriptors as they stand
 * instead: the store keeps them for the next start.
 *
 * SIGHUP: read the configuration again and apply which vsock CID is which
 * VM's (the rest waits for a restart, and the log says so).
 *
 * SIGUSR2: restart in place. Drain the same way, then execve() the binary
 * at the same path (an upgraded one, if it was replaced) keeping each VM's
 * ivshmem socket, memory, eventfds and QEMU connection open
 * (VAMOS_HANDOVER in the environment names them): QEMU cannot attach to a
 * new server, so this is how a running VM survives a vamosd restart. Its
 * rings carry on where they stood.
 *
 * The process started is a keeper (keeper.h) that runs all this in a child
 * and starts another, with the VMs' descriptors, if that one dies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "blocking.h"
#include "config.h"
#include "control.h"
#include "handover.h"
#include "keeper.h"
#include "liveness.h"
#include "log.h"
#include "mysql_service.h"
#include "service.h"
#include "stats.h"
#include "streams.h"
#include "vm.h"
#include "vamos_clock.h"

#define SWEEP_MS 200

enum { TAG_SIGNAL = 1, TAG_CONTROL, TAG_VM_BASE = 16,
       TAG_STREAM_BASE = TAG_VM_BASE + CONFIG_MAX_VMS };

static void usage(void)
{
	fprintf(stderr,
		"usage: vamosd [--config FILE] [--vm NAME=SOCKET[,channels=N,vectors=K,"
		"ring_bytes=B,shm_path=P,shm_size=S,\n"
		"              max_queued_requests=N,max_queued_bytes=B,cid=N,stream_socket=P,\n"
		"              stream_socket_mode=0600]]...\n"
		"              [--data-dir DIR] [--control PATH] [--unix-socket PATH]\n"
		"              [--vsock-port N] [--log-level error|warn|info|debug]\n"
		"              [--pollers N] [--blocking-threads N] [--spin-us N]\n"
		"              [--mysql-lock-wait-ms N] [--mysql-sync full|off]\n"
		"              [--mysql-block-cache-mb N] [--mysql-write-buffer-mb N]"
		" [--mysql-background-threads N]\n"
		"              [--mysql-max-workers N] [--mysql-max-request-mb N]\n");
}

/* --vm NAME=SOCKET[,key=value...] */
static int parse_vm(struct config *c, char *arg, char *err, size_t errlen)
{
	char *eq = strchr(arg, '=');
	if (!eq) {
		snprintf(err, errlen, "--vm wants NAME=SOCKET[,key=value...]");
		return -1;
	}
	*eq = 0;
	struct vm_config *vm = config_add_vm(c, arg, err, errlen);
	if (!vm)
		return -1;
	char *save = NULL;
	char *tok = strtok_r(eq + 1, ",", &save);
	if (!tok || config_set(c, vm, "socket", tok, err, errlen))
		return -1;
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *kv = strchr(tok, '=');
		if (!kv) {
			snprintf(err, errlen, "--vm option '%s' is not key=value", tok);
			return -1;
		}
		*kv = 0;
		if (config_set(c, vm, tok, kv + 1, err, errlen))
			return -1;
	}
	return 0;
}

static int parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct { const char *flag, *key; } simple[] = {
		{ "--data-dir", "data_dir" },         { "--control", "control_socket" },
		{ "--unix-socket", "unix_socket" },   { "--vsock-port", "vsock_port" },
		{ "--log-level", "log_level" },       { "--pollers", "pollers_per_vm" },
		{ "--blocking-threads", "blocking_threads" }, { "--spin-us", "spin_us" },
		{ "--mysql-lock-wait-ms", "mysql_lock_wait_ms" },
		{ "--mysql-block-cache-mb", "mysql_block_cache_mb" },
		{ "--mysql-write-buffer-mb", "mysql_write_buffer_mb" },
		{ "--mysql-background-threads", "mysql_background_threads" },
		{ "--mysql-max-workers", "mysql_max_workers" },
		{ "--mysql-sync", "mysql_sync" },
		{ "--mysql-max-request-mb", "mysql_max_request_mb" },
	};
	/* The file first, wherever --config stands, so flags override it. */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config") && config_load_file(c, argv[i + 1], err, errlen))
			return -1;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value (or is unknown)", argv[i]);
			return -1;
		}
		const char *v = argv[i + 1];
		int done = 0;
		if (!strcmp(argv[i], "--config"))
			done = 1;
		else if (!strcmp(argv[i], "--vm")) {
			if (parse_vm(c, argv[i + 1], err, errlen))
				return -1;
			done = 1;
		}
		for (size_t k = 0; !done && k < sizeof simple / sizeof simple[0]; k++)
			if (!strcmp(argv[i], simple[k].flag)) {
				if (config_set(c, NULL, simple[k].key, v, err, errlen))
					return -1;
				done = 1;
			}
		if (!done) {
			snprintf(err, errlen, "unknown option %s", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* The command line as given, for re-executing on SIGUSR2. */
static char **exec_argv;

static void free_exec_argv(void)
{
	for (int i = 0; exec_argv && exec_argv[i]; i++)
		free(exec_argv[i]);
	free(exec_argv);
	exec_argv = NULL;
}

static void watch(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_error("epoll_ctl: %s", strerror(errno));
}

/* The last stream session of VM @id ended. With no ivshmem peer either,
 * its guest is gone as if its QEMU had detached: its transactions roll
 * back and its contexts end (a peer still attached keeps them). */
static void stream_vm_left(vm_id id, void *arg)
{
	struct vm *vms = arg;
	struct vm *vm = &vms[id - 1]; /* ids are places in the configuration, from 1 */
	if (vm->peer >= 0)
		return;
	log_info("vm %s: its last stream session ended: its transactions roll back",
		 vm->cfg.name);
	mysql_service_vm_reset(id);
}

/* SIGHUP: read the configuration again (file and flags, as at start) and
 * apply what can change while serving: which vsock CID is which VM's.
 * Anything else that changed waits for a restart (SIGUSR2), and says so. */
static void reload(const struct config *serving, struct streams *st)
{
	static struct config wanted;
	char err[512];
	int argc = 0;
	while (exec_argv && exec_argv[argc])
		argc++;
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	int rc = argv ? 0 : -1;
	for (int i = 0; rc == 0 && i < argc; i++)
		if (!(argv[i] = strdup(exec_argv[i])))
			rc = -1;
	if (rc) {
		snprintf(err, sizeof err, "out of memory");
	} else {
		config_defaults(&wanted);
		rc = parse_args(&wanted, argc, argv, err, sizeof err) ||
		     config_check(&wanted, err, sizeof err) ||
		     streams_reload(st, serving, &wanted, err, sizeof err);
	}
	for (int i = 0; argv && i < argc; i++)
		free(argv[i]);
	free(argv);
	if (rc) {
		log_error("reload: %s; nothing changed", err);
		return;
	}
	/* What only a restart applies: everything but the cids (both copied
	 * whole, padding included, from memset-cleared configurations). */
	static struct config a, b;
	memcpy(&a, &wanted, sizeof a);
	memcpy(&b, serving, sizeof b);
	for (unsigned i = 0; i < CONFIG_MAX_VMS; i++)
		a.vms[i].cid = b.vms[i].cid = 0;
	if (memcmp(&a, &b, sizeof a))
		log_warn("reload: keys other than cid changed (or VMs came or went): "
			 "they apply after a restart (SIGUSR2)");
}

int main(int argc, char **argv)
{
	static struct config cfg;
	char err[512];
	const char *why = NULL;

	/* parse_args() cuts the strings it parses: keep them for exec. */
	exec_argv = calloc((size_t)argc + 1, sizeof *exec_argv);
	atexit(free_exec_argv);
	for (int i = 0; exec_argv && i < argc; i++)
		if (!(exec_argv[i] = strdup(argv[i]))) {
			free_exec_argv(); /* out of memory: no restart in place */
			break;
		}

	config_defaults(&cfg);
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage();
		return 0;
	}
	if (parse_args(&cfg, argc, argv, err, sizeof err) || config_check(&cfg, err, sizeof err)) {
		fprintf(stderr, "vamosd: %s\n", err);
		usage();
		return 2;
	}
	log_set_level(cfg.log_level);

	/* The binary to re-execute on SIGUSR2: the path, so an upgrade that
	 * replaced the file takes effect. */
	static char self_exe[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	self_exe[sl > 0 ? sl : 0] = 0;
	char *deleted = strstr(self_exe, " (deleted)");
	if (deleted && !deleted[10])
		*deleted = 0;
	/* The keeper runs the daemon proper in a child and outlives it. */
	if (self_exe[0] && exec_argv && keeper_wanted())
		return keeper_main(self_exe, exec_argv);
	bool after_death = keeper_worker_init();
	/* What a predecessor handed over; not for our own children. */
	char *handover = getenv(HANDOVER_ENV) ? strdup(getenv(HANDOVER_ENV)) : NULL;
	unsetenv(HANDOVER_ENV);

	uint64_t boot_id;
	if (getrandom(&boot_id, sizeof boot_id, 0) != (ssize_t)sizeof boot_id)
		boot_id = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	/* Signals arrive through a signalfd, in the main loop. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	int rc = services_register_builtin();
	if (rc == 0)
		rc = blocking_start(cfg.blocking_threads);
	if (rc == 0)
		rc = liveness_start();
	if (rc) {
		log_error("cannot start: %s", strerror(-rc));
		return 1;
	}
	if ((rc = mysql_service_start(&cfg, &why))) {
		log_error("mysql service: %s (%s)", why, strerror(-rc));
		blocking_stop();
		return 1;
	}
	static struct vm vms[CONFIG_MAX_VMS];
	static struct streams streams;
	unsigned started = 0;
	int control_fd = -1, exit_code = 0, restart = 0;
	struct handover_entry taken[CONFIG_MAX_VMS];
	unsigned ntaken = handover ? handover_parse(handover, taken, CONFIG_MAX_VMS) : 0;
	for (; started < cfg.vm_count; started++) {
		const char *adopt = NULL;
		for (unsigned k = 0; k < ntaken && !adopt; k++)
			if (!taken[k].used && !strcmp(taken[k].name, cfg.vms[started].name)) {
				adopt = taken[k].text;
				taken[k].used = true;
			}
		rc = vm_start(&vms[started], &cfg.vms[started], &cfg, boot_id, adopt,
			      after_death, &why);
		if (rc) {
			log_error("vm %s: %s (%s)", cfg.vms[started].name, why ? why : "failed",
				  strerror(-rc));
			exit_code = 1;
			goto stop;
		}
	}
	/* A VM no longer configured: let its QEMU see its server gone. */
	for (unsigned k = 0; k < ntaken; k++)
		if (!taken[k].used) {
			log_warn("vm %s is no longer configured: closing what the previous vamosd "
				 "handed over", taken[k].name);
			vamos_ivshmem_handover_discard(taken[k].text);
			keeper_forget(taken[k].name);
		}
	rc = streams_start(&streams, &cfg, boot_id, &why);
	if (rc) {
		log_error("%s (%s)", why, strerror(-rc));
		exit_code = 1;
		goto stop;
	}
	streams.vm_left = stream_vm_left;
	streams.vm_left_arg = vms;
	for (unsigned i = 0; i < started; i++)
		streams.queues[vms[i].cfg.id] = vms[i].queue;
	control_fd = control_listen(cfg.control_socket, &why);
	if (control_fd < 0) {
		log_error("%s: %s (%s)", cfg.control_socket, why, strerror(-control_fd));
		exit_code = 1;
		goto stop;
	}

	int ep = epoll_create1(EPOLL_CLOEXEC);
	watch(ep, sfd, TAG_SIGNAL);
	watch(ep, control_fd, TAG_CONTROL);
	for (unsigned i = 0; i < streams.listener_count; i++)
		watch(ep, streams.listeners[i].fd, TAG_STREAM_BASE + i);
	for (unsigned i = 0; i < started; i++)
		watch(ep, vm_fd(&vms[i]), TAG_VM_BASE + i);
	double t0 = vamos_now_s();
	log_info("ready: boot %016llx, %u VMs, control %s", (unsigned long long)boot_id,
		 started, cfg.control_socket);
	keeper_ready();

	for (int running = 1; running;) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, SWEEP_MS);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(&cfg, &streams);
					continue;
				}
				restart = si.ssi_signo == SIGUSR2 && self_exe[0] && exec_argv;
				log_info("signal %u: draining and %s", si.ssi_signo,
					 restart ? "restarting in place" : "stopping");
				running = 0;
			} else if (tag == TAG_CONTROL) {
				struct daemon_view view = { vms, started, &streams, boot_id,
							    vamos_now_s() - t0 };
				control_serve(control_fd, &view);
			} else if (tag >= TAG_STREAM_BASE) {
				streams_accept(&streams, (unsigned)(tag - TAG_STREAM_BASE));
			} else if (tag >= TAG_VM_BASE && tag - TAG_VM_BASE < started) {
				vm_dispatch(&vms[tag - TAG_VM_BASE]);
			}
		}
		streams_sweep(&streams);
		for (unsigned i = 0; i < started; i++)
			vm_check(&vms[i]);
	}
	close(ep);
stop:
	/* Every VM drains at once: stopping takes one drain limit at most. */
	for (unsigned i = 0; i < started; i++)
		vm_begin_stop(&vms[i]);
	streams_stop(&streams);
	/* Under systemd with an fd store, a stop leaves every VM's device and
	 * region as they stand (drained, as for a restart in place): the
	 * service manager holds the descriptors for the next start. */
	bool keep = !restart && keeper_vms_outlive_stop();
	char *handing = restart || keep ? vms_handover_all(vms, started) : NULL;
	for (unsigned i = 0; !restart && !keep && i < started; i++)
		vm_stop(&vms[i]);
	if (keep) {
		free(handing);
		handing = NULL;
	}
	liveness_stop();
	blocking_stop();
	mysql_service_stop();
	services_shutdown();
	if (control_fd >= 0) {
		close(control_fd);
		unlink(cfg.control_socket);
	}
	free(handover);
	if (restart) {
		/* Everything else is closed (close-on-exec); what the VMs hold
		 * stays open for the successor, which finds it in the env. */
		if (handing)
			setenv(HANDOVER_ENV, handing, 1);
		log_info("restarting in place: exec %s", self_exe);
		keeper_keep_across_exec();
		execv(self_exe, exec_argv);
		log_error("cannot exec %s: %s", self_exe, strerror(errno));
		free(handing);
		return 1;
	}
	log_info(keep ? "stopped; the service manager keeps the VMs' devices" : "stopped");
	return exit_code;
}
