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
 *          [--pollers N] [--blocking-threads N] [--spin-us N] [--balance-ms N]
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
#include "pollers_balance.h"
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
		"              [--pollers N] [--blocking-threads N] [--spin-us N] [--balance-ms N]\n"
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
		{ "--log-level", "log_level" },       { "--pollers", "pollers" },
		{ "--blocking-threads", "blocking_threads" }, { "--spin-us", "spin_us" },
		{ "--balance-ms", "balance_ms" },
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

/* Everything the daemon proper holds, from start to stop. */
struct daemon {
	struct config cfg;
	char self_exe[PATH_MAX]; /* re-executed on SIGUSR2; "" if unknown */
	bool after_death;        /* a keeper started us after a worker died */
	char *handover;          /* what a predecessor handed over, or NULL */
	uint64_t boot_id;
	int signal_fd, control_fd;
	struct pollers pollers;  /* the host's, shared by every VM */
	struct vm vms[CONFIG_MAX_VMS];
	unsigned started;        /* vms[0 .. started) run */
	struct streams streams;
	double t0;               /* when it became ready */
	bool restart;            /* stopping for a restart in place */
};

/* Keep the command line for exec (parse_args() cuts the strings it
 * parses), read it and check it. Returns -1 to go on, else the exit
 * status (0 after --help, 2 for a bad command line). */
static int parse_command_line(struct config *cfg, int argc, char **argv)
{
	char err[512];
	exec_argv = calloc((size_t)argc + 1, sizeof *exec_argv);
	atexit(free_exec_argv);
	for (int i = 0; exec_argv && i < argc; i++)
		if (!(exec_argv[i] = strdup(argv[i]))) {
			free_exec_argv(); /* out of memory: no restart in place */
			break;
		}

	config_defaults(cfg);
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage();
		return 0;
	}
	if (parse_args(cfg, argc, argv, err, sizeof err) || config_check(cfg, err, sizeof err)) {
		fprintf(stderr, "vamosd: %s\n", err);
		usage();
		return 2;
	}
	return -1;
}

/* The binary to re-execute on SIGUSR2: the path, so an upgrade that
 * replaced the file takes effect. */
static void find_self_exe(char *buf, size_t size)
{
	ssize_t sl = readlink("/proc/self/exe", buf, size - 1);
	buf[sl > 0 ? sl : 0] = 0;
	char *deleted = strstr(buf, " (deleted)");
	if (deleted && !deleted[10])
		*deleted = 0;
}

/* What a predecessor handed over (malloc'd, or NULL); not for our own
 * children. */
static char *take_handover(void)
{
	char *handover = getenv(HANDOVER_ENV) ? strdup(getenv(HANDOVER_ENV)) : NULL;
	unsetenv(HANDOVER_ENV);
	return handover;
}

static uint64_t new_boot_id(void)
{
	uint64_t boot_id;
	if (getrandom(&boot_id, sizeof boot_id, 0) != (ssize_t)sizeof boot_id)
		boot_id = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return boot_id;
}

/* Signals arrive through a signalfd, in the main loop. */
static int take_signals(void)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &sigs, SFD_CLOEXEC);
}

/* The services, the blocking pool, the liveness thread and the host's
 * pollers. 0, or -1 with nothing left running. */
static int start_services(struct daemon *d)
{
	const char *why = NULL;
	int rc = services_register_builtin();
	if (rc == 0)
		rc = blocking_start(d->cfg.blocking_threads);
	if (rc == 0)
		rc = liveness_start();
	if (rc) {
		log_error("cannot start: %s", strerror(-rc));
		return -1;
	}
	if ((rc = mysql_service_start(&d->cfg, &why))) {
		log_error("mysql service: %s (%s)", why, strerror(-rc));
		blocking_stop();
		return -1;
	}
	if ((rc = pollers_start(&d->pollers, d->cfg.pollers, d->cfg.spin_ns, d->boot_id))) {
		log_error("cannot start the pollers: %s", strerror(-rc));
		mysql_service_stop();
		blocking_stop();
		return -1;
	}
	liveness_watch_pollers(d->pollers.all, d->pollers.count);
	log_info("%u pollers serve every VM", d->pollers.count);
	return 0;
}

/* Start every configured VM, each taking over what a predecessor handed
 * over for it; close what it handed over for VMs no longer configured.
 * 0, or -1 when a VM cannot start (d->started say which run). */
static int start_vms(struct daemon *d)
{
	const struct config *cfg = &d->cfg;
	const char *why = NULL;
	struct handover_entry taken[CONFIG_MAX_VMS];
	unsigned ntaken = d->handover ? handover_parse(d->handover, taken, CONFIG_MAX_VMS) : 0;
	for (; d->started < cfg->vm_count; d->started++) {
		const struct vm_config *vc = &cfg->vms[d->started];
		const char *adopt = NULL;
		for (unsigned k = 0; k < ntaken && !adopt; k++)
			if (!taken[k].used && !strcmp(taken[k].name, vc->name)) {
				adopt = taken[k].text;
				taken[k].used = true;
			}
		int rc = vm_start(&d->vms[d->started], vc, cfg, &d->pollers, adopt,
				  d->after_death, &why);
		if (rc) {
			log_error("vm %s: %s (%s)", vc->name, why ? why : "failed", strerror(-rc));
			return -1;
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
	return 0;
}

/* The stream listeners and the control socket. 0, or -1. */
static int start_sockets(struct daemon *d)
{
	const char *why = NULL;
	int rc = streams_start(&d->streams, &d->cfg, d->boot_id, &why);
	if (rc) {
		log_error("%s (%s)", why, strerror(-rc));
		return -1;
	}
	d->streams.vm_left = stream_vm_left;
	d->streams.vm_left_arg = d->vms;
	for (unsigned i = 0; i < d->started; i++)
		d->streams.queues[d->vms[i].cfg.id] = d->vms[i].queue;
	d->control_fd = control_listen(d->cfg.control_socket, &why);
	if (d->control_fd < 0) {
		log_error("%s: %s (%s)", d->cfg.control_socket, why, strerror(-d->control_fd));
		return -1;
	}
	return 0;
}

/* A signal came: SIGHUP reloads; the others end the loop (SIGUSR2 for a
 * restart in place, if we can re-execute). Returns whether to go on. */
static bool on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	if (read(d->signal_fd, &si, sizeof si) != (ssize_t)sizeof si)
		return true;
	if (si.ssi_signo == SIGHUP) {
		reload(&d->cfg, &d->streams);
		return true;
	}
	d->restart = si.ssi_signo == SIGUSR2 && d->self_exe[0] && exec_argv;
	log_info("signal %u: draining and %s", si.ssi_signo,
		 d->restart ? "restarting in place" : "stopping");
	return false;
}

/* The main thread's loop: signals, control requests, stream connections,
 * VMs' peers joining and leaving, a sweep every SWEEP_MS and the pollers'
 * balance every balance_ms (pollers_balance.h). Until a signal ends it. */
static void serve(struct daemon *d)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	watch(ep, d->signal_fd, TAG_SIGNAL);
	watch(ep, d->control_fd, TAG_CONTROL);
	for (unsigned i = 0; i < d->streams.listener_count; i++)
		watch(ep, d->streams.listeners[i].fd, TAG_STREAM_BASE + i);
	for (unsigned i = 0; i < d->started; i++)
		watch(ep, vm_fd(&d->vms[i]), TAG_VM_BASE + i);
	d->t0 = vamos_now_s();
	log_info("ready: boot %016llx, %u VMs, control %s", (unsigned long long)d->boot_id,
		 d->started, d->cfg.control_socket);
	keeper_ready();

	int64_t balance_ns = (int64_t)d->cfg.balance_ms * 1000000, balanced_at = 0;
	int timeout = d->cfg.balance_ms && d->cfg.balance_ms < SWEEP_MS ? (int)d->cfg.balance_ms
									 : SWEEP_MS;
	for (bool running = true; running;) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, timeout);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_SIGNAL) {
				running = on_signal(d) && running;
			} else if (tag == TAG_CONTROL) {
				struct daemon_view view = { d->vms, d->started, &d->pollers,
							    &d->streams, d->boot_id,
							    vamos_now_s() - d->t0 };
				control_serve(d->control_fd, &view);
			} else if (tag >= TAG_STREAM_BASE) {
				streams_accept(&d->streams, (unsigned)(tag - TAG_STREAM_BASE));
			} else if (tag >= TAG_VM_BASE && tag - TAG_VM_BASE < d->started) {
				vm_dispatch(&d->vms[tag - TAG_VM_BASE]);
			}
		}
		streams_sweep(&d->streams);
		for (unsigned i = 0; i < d->started; i++)
			vm_check(&d->vms[i]);
		int64_t now = vamos_now_ns();
		if (balance_ns && running && now - balanced_at >= balance_ns) {
			pollers_balance(&d->pollers, now);
			balanced_at = now;
		}
	}
	close(ep);
}

/* Drain and stop everything; for a restart in place, hand the VMs over
 * and re-execute. Returns the exit status (@exit_code, or 1 when the exec
 * failed). */
static int stop(struct daemon *d, int exit_code)
{
	/* Every poller drains at once: stopping takes one drain limit at
	 * most. Then the VMs' sessions come off pollers that are gone. */
	pollers_request_stop(&d->pollers);
	streams_stop(&d->streams);
	pollers_stop(&d->pollers);
	/* Under systemd with an fd store, a stop leaves every VM's device and
	 * region as they stand (drained, as for a restart in place): the
	 * service manager holds the descriptors for the next start. */
	bool keep = !d->restart && keeper_vms_outlive_stop();
	char *handing = d->restart || keep ? vms_handover_all(d->vms, d->started) : NULL;
	for (unsigned i = 0; !d->restart && !keep && i < d->started; i++)
		vm_stop(&d->vms[i]);
	if (keep) {
		free(handing);
		handing = NULL;
	}
	liveness_watch_pollers(NULL, 0);
	pollers_destroy(&d->pollers);
	liveness_stop();
	blocking_stop();
	mysql_service_stop();
	services_shutdown();
	if (d->control_fd >= 0) {
		close(d->control_fd);
		unlink(d->cfg.control_socket);
	}
	free(d->handover);
	if (d->restart) {
		/* Everything else is closed (close-on-exec); what the VMs hold
		 * stays open for the successor, which finds it in the env. */
		if (handing)
			setenv(HANDOVER_ENV, handing, 1);
		log_info("restarting in place: exec %s", d->self_exe);
		keeper_keep_across_exec();
		execv(d->self_exe, exec_argv);
		log_error("cannot exec %s: %s", d->self_exe, strerror(errno));
		free(handing);
		return 1;
	}
	log_info(keep ? "stopped; the service manager keeps the VMs' devices" : "stopped");
	return exit_code;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	int rc = parse_command_line(&d.cfg, argc, argv);
	if (rc >= 0)
		return rc;
	log_set_level(d.cfg.log_level);
	find_self_exe(d.self_exe, sizeof d.self_exe);
	/* The keeper runs the daemon proper in a child and outlives it. */
	if (d.self_exe[0] && exec_argv && keeper_wanted())
		return keeper_main(d.self_exe, exec_argv);
	d.after_death = keeper_worker_init();
	d.handover = take_handover();
	d.boot_id = new_boot_id();
	d.signal_fd = take_signals();
	d.control_fd = -1;
	if (start_services(&d))
		return 1;
	if (start_vms(&d) || start_sockets(&d))
		return stop(&d, 1);
	serve(&d);
	return stop(&d, 0);
}
