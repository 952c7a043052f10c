/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vamos/protocol.h>

#include "daemon.h"

const char *daemon_vm_options;
bool daemon_vm_streams;
void (*daemon_before_exec)(void);

static const char *spawn(struct daemon *d, uint32_t ring_bytes, const char *const *extra)
{
	const char *bin = getenv("VAMOSD");
	if (!bin)
		return "VAMOSD is not set (run through meson test)";
	char *argv[64];
	char vm_args[DAEMON_VMS][512];
	int n = 0;
	argv[n++] = (char *)bin;
	for (unsigned i = 0; i < d->vms; i++) {
		char stream[160] = "";
		if (daemon_vm_streams)
			snprintf(stream, sizeof stream, ",stream_socket=%s", d->vm_stream[i]);
		snprintf(vm_args[i], sizeof vm_args[i], "%s=%s,channels=4,vectors=4,ring_bytes=%u%s%s",
			 d->name[i], d->vm_sock[i], ring_bytes, stream,
			 daemon_vm_options ? daemon_vm_options : "");
		argv[n++] = "--vm";
		argv[n++] = vm_args[i];
	}
	char data[128];
	snprintf(data, sizeof data, "%s/data", d->dir);
	argv[n++] = "--control";
	argv[n++] = d->control;
	argv[n++] = "--unix-socket";
	argv[n++] = d->stream_sock;
	argv[n++] = "--data-dir";
	argv[n++] = data;
	argv[n++] = "--blocking-threads";
	argv[n++] = "4";
	for (int i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return "fork failed";
	if (pid == 0) {
		/* A test killed by its timeout takes vamosd with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (log >= 0)
			dup2(log, 2);
		if (daemon_before_exec)
			daemon_before_exec();
		execv(bin, argv);
		_exit(127);
	}
	d->pid = pid;
	/* Ready when the control socket answers. */
	for (int i = 0; i < 500; i++) {
		char *pong = daemon_ask(d, "ping");
		if (pong) {
			bool ok = !strncmp(pong, "pong", 4);
			free(pong);
			if (ok)
				return NULL;
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			return "vamosd exited at start (see its log)";
		}
		usleep(10000);
	}
	return "vamosd did not answer on its control socket";
}

const char *daemon_start(struct daemon *d, unsigned vms, uint32_t ring_bytes,
			 const char *const *extra)
{
	return daemon_start_named(d, vms, NULL, ring_bytes, extra);
}

const char *daemon_start_named(struct daemon *d, unsigned vms, const char *const *names,
			       uint32_t ring_bytes, const char *const *extra)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/vamosd-test-XXXXXX");
	if (!mkdtemp(d->dir))
		return "mkdtemp failed";
	d->vms = vms > DAEMON_VMS ? DAEMON_VMS : vms;
	for (unsigned i = 0; i < DAEMON_VMS; i++) {
		snprintf(d->vm_sock[i], sizeof d->vm_sock[i], "%s/vm%u.sock", d->dir, i);
		snprintf(d->vm_stream[i], sizeof d->vm_stream[i], "%s/vm%u.stream", d->dir, i);
		if (names && i < d->vms)
			snprintf(d->name[i], sizeof d->name[i], "%s", names[i]);
		else
			snprintf(d->name[i], sizeof d->name[i], "vm%u", i);
	}
	snprintf(d->control, sizeof d->control, "%s/control.sock", d->dir);
	snprintf(d->stream_sock, sizeof d->stream_sock, "%s/stream.sock", d->dir);
	snprintf(d->log, sizeof d->log, "%s/vamosd.log", d->dir);
	return spawn(d, ring_bytes, extra);
}

const char *daemon_restart(struct daemon *d, unsigned vms, uint32_t ring_bytes,
			   const char *const *extra)
{
	d->vms = vms > DAEMON_VMS ? DAEMON_VMS : vms;
	return spawn(d, ring_bytes, extra);
}

int daemon_signal(struct daemon *d, int sig, bool wait)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	if (!wait)
		return 0;
	int status = 0;
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

void daemon_cleanup(struct daemon *d)
{
	if (d->pid > 0)
		daemon_signal(d, SIGKILL, true);
	if (!d->dir[0])
		return;
	if (getenv("VAMOS_TEST_SHOW_LOG")) {
		char cmd[160];
		snprintf(cmd, sizeof cmd, "cat %s >&2", d->log);
		if (system(cmd)) {
		}
	}
	char path[200];
	for (unsigned i = 0; i < DAEMON_VMS; i++) {
		unlink(d->vm_sock[i]);
		unlink(d->vm_stream[i]);
	}
	unlink(d->control);
	unlink(d->stream_sock);
	unlink(d->log);
	/* The VMs' directories with the mysql service's stores. */
	snprintf(path, sizeof path, "%s/data", d->dir);
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(d->dir);
	d->dir[0] = 0;
}

char *daemon_ask(const struct daemon *d, const char *command)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(d->control) >= sizeof addr.sun_path)
		return NULL;
	memcpy(addr.sun_path, d->control, strlen(d->control) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct timeval limit = { 30, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	char line[128];
	snprintf(line, sizeof line, "%s\n", command);
	if (write(fd, line, strlen(line)) < 0) {
		close(fd);
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 512) {
			char *b = realloc(buf, cap *= 2);
			if (!b) {
				free(buf);
				buf = NULL;
			}
			buf = b;
		}
	}
	close(fd);
	if (buf)
		buf[len] = 0;
	return buf;
}

bool daemon_log_has(const struct daemon *d, const char *text)
{
	FILE *f = fopen(d->log, "r");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

long long daemon_stat(const struct daemon *d, const char *vm, int col)
{
	char *text = daemon_ask(d, "stats");
	long long value = -1;
	char *line = text;
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char name[64], chan[16];
		long long v[10];
		if (sscanf(line, "%63s %15s %lld %lld %lld %lld %lld %lld %lld %lld %lld", name, chan,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 11 &&
		    !strcmp(name, vm) && !strcmp(chan, "all") && col >= 1 && col <= 9)
		/* columns: requests batches doorbells interrupts sleeps bytes_in
		 * bytes_out errors in_flight */
			value = v[col - 1];
		line = next;
	}
	free(text);
	return value;
}

const char *raw_open(struct raw *r, struct vamos_chan *ch)
{
	memset(r, 0, sizeof *r);
	r->ch = ch;
	r->nonce = (uint64_t)rand() << 32 | (uint64_t)rand();
	struct vamos_hello h = { VAMOS_PROTOCOL_VERSION, 0, r->nonce };
	if (vamos_chan_send(ch, VAMOS_MSG_HELLO, &h, sizeof h) || vamos_chan_flush(ch))
		return "cannot send HELLO";
	for (;;) {
		int rc = vamos_chan_wait(ch, 5000);
		if (rc < 0) /* constant strings: the caller may be another thread */
			return rc == -ETIMEDOUT ? "no WELCOME (timed out)"
						: "no WELCOME (the channel failed)";
		struct vamos_record rec;
		int n = vamos_chan_poll(ch, &rec, 1);
		if (n < 0)
			return "channel failed before WELCOME";
		if (n == 1 && rec.type == VAMOS_MSG_WELCOME && rec.len == sizeof(struct vamos_welcome)) {
			struct vamos_welcome w;
			memcpy(&w, rec.data, sizeof w);
			vamos_chan_release(ch);
			if (w.nonce != r->nonce || w.version != VAMOS_PROTOCOL_VERSION)
				return "WELCOME does not answer our HELLO";
			r->boot_id = w.boot_id;
			r->max_request = w.max_request;
			return NULL;
		}
		vamos_chan_release(ch);
	}
}

int raw_request(struct raw *r, uint64_t id, uint16_t service, uint16_t op,
		const void *data, uint32_t len)
{
	void *p;
	int rc = vamos_chan_reserve(r->ch, (uint32_t)sizeof(struct vamos_request_header) + len, &p);
	if (rc)
		return rc;
	struct vamos_request_header h = { .id = id, .service = service, .op = op };
	memcpy(p, &h, sizeof h);
	if (len)
		memcpy((char *)p + sizeof h, data, len);
	return vamos_chan_commit(r->ch, VAMOS_MSG_REQUEST, (uint32_t)sizeof h + len);
}

int raw_replies(struct raw *r, int ms,
		void (*fn)(void *arg, uint64_t id, int status, const void *data, uint32_t len),
		void *arg)
{
	int rc = vamos_chan_wait(r->ch, ms);
	if (rc < 0)
		return rc;
	struct vamos_record rec[64];
	int n = vamos_chan_poll(r->ch, rec, 64);
	if (n < 0)
		return n;
	int taken = 0;
	for (int i = 0; i < n; i++) {
		struct vamos_reply_header h;
		if (rec[i].type != VAMOS_MSG_REPLY || rec[i].len < sizeof h)
			continue;
		memcpy(&h, rec[i].data, sizeof h);
		fn(arg, h.id, h.status, (const char *)rec[i].data + sizeof h,
		   rec[i].len - (uint32_t)sizeof h);
		taken++;
	}
	vamos_chan_release(r->ch);
	return taken;
}

pid_t daemon_worker(const struct daemon *d)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", d->pid, d->pid);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}
