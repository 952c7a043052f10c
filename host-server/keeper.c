/* SPDX-License-Identifier: MIT */
/* The keeper and the worker's side of its socket: see keeper.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fdstore.h"
#include "handover.h"
#include "keeper.h"
#include "log.h"
#include "vamos_clock.h"

#define KEEPER_ENV "VAMOS_KEEPER_FD"
#define CRASHED_ENV "VAMOS_REPLACES_DEAD_WORKER"
#define KEEP_ENV "VAMOS_KEEP_VMS_ON_STOP"
#define MAX_FDS 253 /* SCM_MAX_FD: one message carries one VM's */
#define TEXT_MAX 8192
#define READY "\001ready"
#define FORGET "\002forget "
/* A worker that dies this soon after starting, this many times in a row,
 * is not started again. */
#define QUICK_DEATH_S 10
#define QUICK_DEATHS_MAX 5

/* ------------------------------------------------------------- worker side */

static int link_fd = -1;
static bool keep_on_stop;

bool keeper_wanted(void)
{
	const char *no = getenv("VAMOS_NO_KEEPER");
	return !getenv(KEEPER_ENV) && !(no && *no && strcmp(no, "0"));
}

bool keeper_worker_init(void)
{
	bool crashed = getenv(CRASHED_ENV) != NULL;
	keep_on_stop = getenv(KEEP_ENV) != NULL;
	unsetenv(KEEP_ENV);
	const char *v = getenv(KEEPER_ENV);
	if (v) {
		char *end;
		long fd = strtol(v, &end, 10);
		if (*v && !*end && fd > 2 && fd < 1 << 20 && fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
			link_fd = (int)fd;
		else
			log_warn("%s=%s is not an open descriptor: running without a keeper",
				 KEEPER_ENV, v);
	}
	unsetenv(KEEPER_ENV);
	unsetenv(CRASHED_ENV);
	return crashed;
}

void keeper_keep_across_exec(void)
{
	if (link_fd < 0)
		return;
	char v[16];
	snprintf(v, sizeof v, "%d", link_fd);
	fcntl(link_fd, F_SETFD, 0);
	setenv(KEEPER_ENV, v, 1);
}

static void send_to_keeper(const char *payload, const int *fds, unsigned n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} ctl;
	struct iovec iov = { (void *)payload, strlen(payload) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n) {
		memset(&ctl, 0, sizeof ctl);
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(link_fd, &msg, MSG_NOSIGNAL) < 0)
		log_warn("cannot tell the keeper (%s): a crash now would lose the VMs",
			 strerror(errno));
}

void keeper_ready(void)
{
	if (link_fd >= 0)
		send_to_keeper(READY, NULL, 0);
}

bool keeper_vms_outlive_stop(void)
{
	return keep_on_stop && link_fd >= 0;
}

void keeper_forget(const char *name)
{
	char msg[sizeof FORGET + CONFIG_NAME_MAX + 1];
	if (link_fd < 0 || strlen(name) > CONFIG_NAME_MAX)
		return;
	snprintf(msg, sizeof msg, FORGET "%s", name);
	send_to_keeper(msg, NULL, 0);
}

void keeper_publish(const char *name, struct vamos_ivshmem_server *server)
{
	static char text[TEXT_MAX], msg[TEXT_MAX + CONFIG_NAME_MAX + 2];
	int fds[MAX_FDS];
	if (link_fd < 0 || !server)
		return;
	int n = vamos_ivshmem_server_describe(server, text, sizeof text) ? -ENOSPC
		: vamos_ivshmem_handover_fds(text, fds, MAX_FDS);
	if (n < 0) {
		log_warn("vm %s: too many descriptors for the keeper", name);
		return;
	}
	snprintf(msg, sizeof msg, "%s=%s", name, text);
	send_to_keeper(msg, fds, (unsigned)n);
}

/* ------------------------------------------------------------- keeper side */

struct kept {
	char name[CONFIG_NAME_MAX + 1];
	char text[TEXT_MAX]; /* with the keeper's descriptor numbers */
	int fds[MAX_FDS];
	unsigned n;
};

static struct kept kept[CONFIG_MAX_VMS];
static unsigned kept_count;

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* The worker no longer serves VM @name (it left the configuration): its
 * descriptors go, here and in the service manager's store. */
static void forget(const char *name)
{
	for (unsigned i = 0; i < kept_count; i++)
		if (!strcmp(kept[i].name, name)) {
			close_all(kept[i].fds, kept[i].n);
			fdstore_drop_vm(kept[i].name, kept[i].n);
			kept[i] = kept[--kept_count];
			return;
		}
}

/* From the service manager's store at start: VM @name as the last keeper
 * kept it, with this process's descriptors. */
static void take_stored(void *arg, const char *name, const char *text, const int *fds,
			unsigned n)
{
	(void)arg;
	if (kept_count == CONFIG_MAX_VMS || strlen(name) > CONFIG_NAME_MAX ||
	    strlen(text) >= TEXT_MAX || n > MAX_FDS) {
		close_all((int *)fds, n);
		return;
	}
	struct kept *k = &kept[kept_count++];
	snprintf(k->name, sizeof k->name, "%s", name);
	snprintf(k->text, sizeof k->text, "%s", text);
	memcpy(k->fds, fds, sizeof(int) * n);
	k->n = n;
}

/* One message from the worker: READY, FORGET, or a VM's text and
 * descriptors. */
static int receive(int sock, bool *ready)
{
	char buf[TEXT_MAX + CONFIG_NAME_MAX + 2];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} ctl;
	struct iovec iov = { buf, sizeof buf - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof ctl.buf };
	ssize_t got = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (got <= 0)
		return -1;
	buf[got] = 0;
	int fds[MAX_FDS];
	unsigned n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (k > MAX_FDS - n)
				k = MAX_FDS - n; /* cannot happen: the buffer holds MAX_FDS */
			memcpy(fds + n, CMSG_DATA(c), sizeof(int) * k);
			n += k;
		}
	if (!strcmp(buf, READY)) {
		if (!*ready)
			fdstore_notify("READY=1");
		*ready = true;
		close_all(fds, n);
		return 0;
	}
	if (!strncmp(buf, FORGET, strlen(FORGET))) {
		close_all(fds, n);
		forget(buf + strlen(FORGET));
		return 0;
	}
	char *eq = strchr(buf, '=');
	struct kept *k = NULL;
	for (unsigned i = 0; eq && i < kept_count && !k; i++)
		if (!strncmp(kept[i].name, buf, (size_t)(eq - buf)) && !kept[i].name[eq - buf])
			k = &kept[i];
	if (eq && !k && kept_count < CONFIG_MAX_VMS && (size_t)(eq - buf) <= CONFIG_NAME_MAX) {
		k = &kept[kept_count++];
		memcpy(k->name, buf, (size_t)(eq - buf));
		k->name[eq - buf] = 0;
		k->n = 0;
	}
	static char text[TEXT_MAX];
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !k ||
	    vamos_ivshmem_handover_renumber(eq + 1, fds, n, text, sizeof text)) {
		log_warn("keeper: a message from the worker was malformed; dropped");
		close_all(fds, n);
		return 0;
	}
	/* The newest description replaces the last: the files it names are
	 * the same ones or their successors, so nothing the VM holds goes. */
	close_all(k->fds, k->n);
	unsigned old_n = k->n;
	memcpy(k->fds, fds, sizeof(int) * n);
	k->n = n;
	snprintf(k->text, sizeof k->text, "%s", text);
	fdstore_put_vm(k->name, k->text, k->fds, k->n, old_n);
	return 0;
}

static pid_t spawn(const char *exe, char *const *argv, int worker_end, bool crashed)
{
	static char env[CONFIG_MAX_VMS * (TEXT_MAX + CONFIG_NAME_MAX + 2)];
	size_t off = 0;
	for (unsigned i = 0; i < kept_count; i++)
		off += (size_t)snprintf(env + off, sizeof env - off, "%s=%s\n", kept[i].name,
					kept[i].text);
	pid_t keeper = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* The worker dies with the keeper, so descriptors never outlive both. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != keeper)
		_exit(1);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char v[16];
	snprintf(v, sizeof v, "%d", worker_end);
	fcntl(worker_end, F_SETFD, 0);
	for (unsigned i = 0; i < kept_count; i++)
		for (unsigned j = 0; j < kept[i].n; j++)
			fcntl(kept[i].fds[j], F_SETFD, 0);
	setenv(KEEPER_ENV, v, 1);
	if (off)
		setenv(HANDOVER_ENV, env, 1);
	else
		unsetenv(HANDOVER_ENV);
	if (crashed)
		setenv(CRASHED_ENV, "1", 1);
	/* The service manager holds the VMs' descriptors too: a stop leaves
	 * them to it (and the regions as they stand) for the next start. */
	if (fdstore_enabled())
		setenv(KEEP_ENV, "1", 1);
	execv(exe, argv);
	_exit(127);
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int keeper_main(const char *exe, char *const *argv)
{
	int sv[2];
	sigset_t sigs;
	sigemptyset(&sigs);
	int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(&sigs, forwarded[i]);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("keeper: %s", strerror(errno));
		return 1;
	}
	bool ready = false, stopping = false;
	int quick_deaths = 0, code = 1;
	double started = vamos_now_s();
	/* Under systemd, what the last vamosd left in the fd store: those VMs
	 * are taken over as after a worker's death (their generation moves:
	 * whatever was in flight then may be lost). */
	if (fdstore_enabled()) {
		unsigned vms = fdstore_take(take_stored, NULL);
		if (vms)
			log_info("keeper: %u VMs' devices taken back from the fd store", vms);
	}
	pid_t worker = spawn(exe, argv, sv[1], kept_count > 0);
	if (worker < 0) {
		log_error("keeper: fork: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = sv[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		while (p[1].revents && receive(sv[0], &ready) == 0)
			;
		struct signalfd_siginfo si;
		if (!p[0].revents || read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue;
		if (si.ssi_signo != SIGCHLD) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				if (!stopping)
					fdstore_notify("STOPPING=1");
				stopping = true;
			}
			kill(worker, (int)si.ssi_signo);
			continue;
		}
		int status;
		if (waitpid(worker, &status, WNOHANG) != worker)
			continue;
		while (receive(sv[0], &ready) == 0)
			; /* what it said before it died */
		code = exit_code(status);
		if (stopping || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
			break;
		if (!ready) {
			log_error("vamosd failed before it was serving (status %d): not restarted",
				  code);
			break;
		}
		quick_deaths = vamos_now_s() - started < QUICK_DEATH_S ? quick_deaths + 1 : 0;
		if (quick_deaths >= QUICK_DEATHS_MAX) {
			log_error("vamosd died %d times within %d s of starting: giving up",
				  quick_deaths, QUICK_DEATH_S);
			break;
		}
		log_error("vamosd died (%s %d); starting it again with its %u VMs' devices",
			  WIFEXITED(status) ? "exit status" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), kept_count);
		struct timespec pause = { 0, 100000000L << (quick_deaths < 5 ? quick_deaths : 5) };
		if (pause.tv_nsec >= 1000000000L)
			pause = (struct timespec){ pause.tv_nsec / 1000000000L,
						   pause.tv_nsec % 1000000000L };
		nanosleep(&pause, NULL);
		ready = false;
		started = vamos_now_s();
		worker = spawn(exe, argv, sv[1], true);
		if (worker < 0) {
			log_error("keeper: fork: %s", strerror(errno));
			break;
		}
	}
	for (unsigned i = 0; i < kept_count; i++)
		close_all(kept[i].fds, kept[i].n);
	close(sv[0]);
	close(sv[1]);
	close(sfd);
	return code;
}
