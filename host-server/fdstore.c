/* SPDX-License-Identifier: MIT */
/* The service manager's notify socket and fd store: see fdstore.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vamos/ivshmem.h>

#include "fdstore.h"
#include "log.h"

#define LISTEN_FDS_START 3
#define LISTEN_FDS_MAX 65536
#define VM_FDS_MAX 253     /* what one keeper message carries */
#define TEXT_MAX 8192      /* the keeper's longest handover text */
#define FDNAME_MAX 255     /* systemd's limit on FDNAME= */

static bool checked, enabled;
static int notify_fd = -1;
static struct sockaddr_un addr;
static socklen_t addr_len;

bool fdstore_enabled(void)
{
	if (checked)
		return enabled;
	checked = true;
	const char *p = getenv("NOTIFY_SOCKET");
	size_t len = p ? strlen(p) : 0;
	/* A path, or "@name" for the abstract namespace (systemd's two). */
	if (len > 1 && len < sizeof addr.sun_path && (p[0] == '/' || p[0] == '@')) {
		addr.sun_family = AF_UNIX;
		memcpy(addr.sun_path, p, len);
		if (p[0] == '@')
			addr.sun_path[0] = 0;
		addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				       (p[0] == '/' ? 1 : 0));
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		enabled = notify_fd >= 0;
	} else if (p) {
		log_warn("NOTIFY_SOCKET=%s is not a socket this vamosd can use: no fd store", p);
	}
	unsetenv("NOTIFY_SOCKET");
	return enabled;
}

/* One datagram: @state, with @fd attached unless it is -1. */
static int send_state(const char *state, int fd)
{
	if (!fdstore_enabled())
		return -ENOTCONN;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)state, strlen(state) };
	struct msghdr m = { .msg_name = &addr, .msg_namelen = addr_len, .msg_iov = &iov,
			    .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&ctl, 0, sizeof ctl);
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof ctl.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	/* Blocking: a store message dropped for a full queue would lose a
	 * VM's device at the next restart. */
	while (sendmsg(notify_fd, &m, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int fdstore_notify(const char *state)
{
	return send_state(state, -1);
}

/* What systemd takes as an FDNAME: printable ASCII without ':'. */
static bool name_ok(const char *name)
{
	if (strlen(name) + sizeof ".text" > FDNAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (*p < ' ' || *p > '~' || *p == ':')
			return false;
	return true;
}

static void remove_name(const char *name)
{
	char msg[FDNAME_MAX + 64];
	snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", name);
	int rc = send_state(msg, -1);
	if (rc)
		log_warn("fd store: cannot remove %s: %s", name, strerror(-rc));
}

static void store(const char *name, int fd)
{
	char msg[FDNAME_MAX + 64];
	snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	int rc = send_state(msg, fd);
	if (rc)
		log_warn("fd store: cannot store %s: %s (a restart would lose it)", name,
			 strerror(-rc));
}

void fdstore_drop_vm(const char *name, unsigned old_n)
{
	char fdname[FDNAME_MAX + 1];
	if (!fdstore_enabled() || !name_ok(name))
		return;
	snprintf(fdname, sizeof fdname, "%s.text", name);
	remove_name(fdname);
	for (unsigned i = 0; i < old_n; i++) {
		snprintf(fdname, sizeof fdname, "%s.%u", name, i);
		remove_name(fdname);
	}
}

/* A sealed memfd holding @text, or -errno. */
static int text_memfd(const char *text)
{
	int fd = memfd_create("vamos-handover", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -EIO;
		}
		off += (size_t)w;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

void fdstore_put_vm(const char *name, const char *text, const int *fds, unsigned n,
		    unsigned old_n)
{
	if (!fdstore_enabled())
		return;
	if (!name_ok(name)) {
		log_warn("vm %s: its name cannot name descriptors in the fd store (printable "
			 "ASCII without ':'): a restart of the service will end its device", name);
		return;
	}
	/* Old names first: the store keeps one copy of a file, so one still
	 * stored under an old name would not be stored under its new one. */
	fdstore_drop_vm(name, old_n);
	int tfd = text_memfd(text);
	if (tfd < 0) {
		log_warn("vm %s: no memfd for the fd store (%s)", name, strerror(-tfd));
		return;
	}
	char fdname[FDNAME_MAX + 1];
	snprintf(fdname, sizeof fdname, "%s.text", name);
	store(fdname, tfd);
	close(tfd);
	for (unsigned i = 0; i < n; i++) {
		snprintf(fdname, sizeof fdname, "%s.%u", name, i);
		store(fdname, fds[i]);
	}
}

/* ------------------------------------------------------------ taking back */

struct passed {
	unsigned n;
	const char **names; /* names[i] is fd LISTEN_FDS_START + i's */
	bool *taken;  /* looked at for a VM (its text, or one of its fds) */
	bool *given;  /* handed to @take, which owns it now */
	bool *keep;   /* stays in the store */
};

/* The index of the fd named @vm.@suffix, or -1. */
static int find(const struct passed *p, const char *vm, const char *suffix)
{
	size_t vl = strlen(vm);
	for (unsigned i = 0; i < p->n; i++) {
		const char *nm = p->names[i];
		if (!p->taken[i] && !strncmp(nm, vm, vl) && nm[vl] == '.' &&
		    !strcmp(nm + vl + 1, suffix))
			return (int)i;
	}
	return -1;
}

/* The text stored in memfd @fd, into @buf; false if it is not one. */
static bool read_text(int fd, char *buf, size_t len)
{
	ssize_t got = pread(fd, buf, len - 1, 0);
	if (got <= 0 || (size_t)got == len - 1)
		return false;
	buf[got] = 0;
	return strlen(buf) == (size_t)got;
}

/* VM @vm, whose text is passed fd @t: hand it to @take if whole. */
static bool take_vm(struct passed *p, unsigned t, const char *vm,
		    void (*take)(void *, const char *, const char *, const int *, unsigned),
		    void *arg)
{
	static char text[TEXT_MAX], renumbered[TEXT_MAX];
	int listed[VM_FDS_MAX], fds[VM_FDS_MAX];
	p->taken[t] = true;
	/* Trust check: the store gives back what we stored, but the text is
	 * still parsed as a whole and every descriptor checked for its kind
	 * by the adoption (server_adopt). */
	int n = read_text(LISTEN_FDS_START + (int)t, text, sizeof text)
		? vamos_ivshmem_handover_fds(text, listed, VM_FDS_MAX) : -EINVAL;
	if (n < 0) {
		log_warn("vm %s: its handover text in the fd store is unreadable: dropped", vm);
		return false;
	}
	int idx[VM_FDS_MAX];
	for (int j = 0; j < n; j++) {
		char suffix[16];
		snprintf(suffix, sizeof suffix, "%d", j);
		idx[j] = find(p, vm, suffix);
		if (idx[j] < 0) {
			log_warn("vm %s: descriptor %d of %d is missing from the fd store: dropped",
				 vm, j, n);
			return false;
		}
		fds[j] = LISTEN_FDS_START + idx[j];
	}
	if (vamos_ivshmem_handover_renumber(text, fds, (unsigned)n, renumbered,
					    sizeof renumbered)) {
		log_warn("vm %s: its handover text in the fd store does not renumber: dropped", vm);
		return false;
	}
	for (int j = 0; j < n; j++)
		p->taken[idx[j]] = p->given[idx[j]] = p->keep[idx[j]] = true;
	p->keep[t] = true;
	take(arg, vm, renumbered, fds, (unsigned)n);
	return true;
}

/* LISTEN_FDS if it is meant for this process (LISTEN_PID), else 0. */
static unsigned passed_count(void)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	char *end;
	if (!pid || !nfds)
		return 0;
	long v = strtol(pid, &end, 10);
	if (*end || v != (long)getpid())
		return 0;
	v = strtol(nfds, &end, 10);
	return *end || v <= 0 || v > LISTEN_FDS_MAX ? 0 : (unsigned)v;
}

unsigned fdstore_take(void (*take)(void *arg, const char *name, const char *text,
				   const int *fds, unsigned n),
		      void *arg)
{
	struct passed p = { passed_count(), NULL, NULL, NULL, NULL };
	char *names = getenv("LISTEN_FDNAMES") ? strdup(getenv("LISTEN_FDNAMES")) : NULL;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!p.n) {
		free(names);
		return 0;
	}
	p.names = calloc(p.n, sizeof *p.names);
	p.taken = calloc(p.n, sizeof *p.taken);
	p.given = calloc(p.n, sizeof *p.given);
	p.keep = calloc(p.n, sizeof *p.keep);
	bool ok = p.names && p.taken && p.given && p.keep;
	char *save = NULL, *tok = names ? strtok_r(names, ":", &save) : NULL;
	for (unsigned i = 0; i < p.n; i++) {
		fcntl(LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
		if (p.names)
			p.names[i] = tok ? tok : "unknown";
		tok = tok ? strtok_r(NULL, ":", &save) : NULL;
	}
	unsigned vms = 0;
	for (unsigned i = 0; ok && i < p.n; i++) {
		const char *nm = p.names[i];
		size_t l = strlen(nm);
		if (p.taken[i] || l <= 5 || strcmp(nm + l - 5, ".text"))
			continue;
		char vm[FDNAME_MAX + 1];
		snprintf(vm, sizeof vm, "%.*s", (int)(l - 5), nm);
		vms += take_vm(&p, i, vm, take, arg);
	}
	/* What no VM took: closed here, and gone from the store (a whole
	 * VM's, text included, stays there until the keeper replaces it). */
	for (unsigned i = 0; i < p.n; i++) {
		if (!ok || !p.given[i])
			close(LISTEN_FDS_START + (int)i);
		if (ok && !p.keep[i] && name_ok(p.names[i]))
			remove_name(p.names[i]);
	}
	free(p.names);
	free(p.taken);
	free(p.given);
	free(p.keep);
	free(names);
	return vms;
}
