/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vamos/vsock.h>

#include "log.h"
#include "streams.h"

/* How long a reply's flush waits for a stream peer to take bytes. */
#define STREAM_SEND_TIMEOUT_MS 10000u

/* Give VM @vm's poller its sessions as they stand now. */
static void publish(struct streams *st, vm_id vm)
{
	struct session *mine[STREAMS_MAX] = { 0 };
	unsigned n = 0;
	for (unsigned i = 0; i < st->count; i++)
		if (st->sessions[i]->vm == vm)
			mine[n++] = st->sessions[i];
	struct session_set *set = session_set_new(mine, n);
	if (!set && n)
		log_error("streams: out of memory for a session set");
	poller_set_sessions(st->pollers[vm], set);
}

/* VM @vm's stream poller, started now if it has none yet; NULL if it
 * cannot be started (logged). */
static struct poller *poller_of(struct streams *st, vm_id vm, const char *label)
{
	if (st->pollers[vm])
		return st->pollers[vm];
	struct poller *p = calloc(1, sizeof *p);
	char name[96];
	snprintf(name, sizeof name, "streams/%s", label);
	int rc = p ? poller_start(p, name, st->spin_ns, st->boot_id) : -ENOMEM;
	if (rc) {
		log_error("streams: cannot start a poller for %s: %s", label, strerror(-rc));
		free(p);
		return NULL;
	}
	return st->pollers[vm] = p;
}

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

#define AS_UMASK_SAYS UINT32_MAX

/* Listen on the UNIX socket @path with permission bits @mode (or
 * AS_UMASK_SAYS). A stale socket from a killed vamosd is in the way:
 * remove it only if nobody answers there. The listening fd, or -errno
 * with @why. */
static int listen_unix(const char *path, uint32_t mode, const char **why)
{
	/* The socket is born with @mode at most (no window in which anyone
	 * else may connect); files other threads create meanwhile only get
	 * stricter bits. */
	bool set = mode != AS_UMASK_SAYS;
	mode_t old = set ? umask(~(mode_t)mode & 0777) : 0;
	int fd = vamos_stream_listen_unix(path, 64);
	if (fd == -EADDRINUSE) {
		struct vamos_chan *live;
		if (vamos_stream_connect_unix(path, NULL, &live) == 0) {
			vamos_chan_close(live);
			if (set)
				umask(old);
			*why = "another process is listening on that socket";
			return -EADDRINUSE;
		}
		unlink(path);
		fd = vamos_stream_listen_unix(path, 64);
	}
	if (set)
		umask(old);
	if (fd < 0) {
		*why = "cannot listen on that socket";
		return fd;
	}
	if (set && chmod(path, mode) < 0) { /* exactly @mode, whatever the umask was */
		int e = -errno;
		close(fd);
		unlink(path);
		*why = "cannot set the socket's permissions";
		return e;
	}
	nonblocking(fd);
	return fd;
}

static struct stream_listener *add_listener(struct streams *st, int fd, vm_id vm,
					    const char *label)
{
	struct stream_listener *l = &st->listeners[st->listener_count++];
	*l = (struct stream_listener){ .fd = fd, .vm = vm, .label = label };
	return l;
}

static bool any_stream(const struct config *c)
{
	if (c->vsock_port || c->unix_socket[0])
		return true;
	for (unsigned i = 0; i < c->vm_count; i++)
		if (c->vms[i].stream_socket[0])
			return true;
	return false;
}

int streams_start(struct streams *st, const struct config *c, uint64_t boot_id,
		  const char **why)
{
	memset(st, 0, sizeof *st);
	char err[256];
	unsigned unserved;
	if (stream_peers_build(&st->peers, c, c, &unserved, err, sizeof err)) {
		*why = "two VMs claim one vsock CID";
		return -EINVAL;
	}
	if (!any_stream(c))
		return 0;
	st->serving = true;
	st->spin_ns = c->spin_ns;
	st->boot_id = boot_id;
	int rc;
	if (c->unix_socket[0]) {
		/* Local processes of no VM: the mysql service refuses them. */
		int fd = listen_unix(c->unix_socket, AS_UMASK_SAYS, why);
		if (fd < 0) {
			log_error("streams: unix_socket %s: %s", c->unix_socket, *why);
			return fd;
		}
		struct stream_listener *l = add_listener(st, fd, VM_NONE, "stream");
		snprintf(l->path, sizeof l->path, "%s", c->unix_socket);
		log_info("streams: listening on %s", c->unix_socket);
	}
	for (unsigned i = 0; i < c->vm_count; i++) {
		const struct vm_config *vm = &c->vms[i];
		if (!vm->stream_socket[0])
			continue;
		int fd = listen_unix(vm->stream_socket, vm->stream_socket_mode, why);
		if (fd < 0) {
			log_error("streams: vm %s: stream_socket %s: %s", vm->name,
				  vm->stream_socket, *why);
			return fd;
		}
		struct stream_listener *l = add_listener(st, fd, vm->id, vm->name);
		snprintf(l->path, sizeof l->path, "%s", vm->stream_socket);
		log_info("streams: vm %s: listening on %s (mode %04o)", vm->name,
			 vm->stream_socket, vm->stream_socket_mode);
	}
	if (c->vsock_port) {
		rc = vamos_vsock_listen(c->vsock_port, 64);
		if (rc < 0) {
			/* No vsock on this host (no vhost-vsock): say so, serve on. */
			log_warn("streams: no vsock listener on port %u: %s", c->vsock_port,
				 strerror(-rc));
		} else {
			nonblocking(rc);
			add_listener(st, rc, VM_NONE, "vsock")->vsock = true;
			log_info("streams: listening on vsock port %u (%u VMs claim a cid)",
				 c->vsock_port, st->peers.count);
		}
	}
	return 0;
}

/* The next connection on @l, with the VM it belongs to in @vm, @label,
 * @cid. 0, -EAGAIN (none waits), -EPERM (refused) or another -errno. */
static int take(struct streams *st, const struct stream_listener *l, struct vamos_chan **ch,
		vm_id *vm, const char **label, uint32_t *cid)
{
	*vm = l->vm;
	*label = l->label;
	*cid = 0;
	if (!l->vsock)
		return vamos_stream_accept(l->fd, NULL, ch);
	struct sockaddr_vm peer;
	socklen_t len = sizeof peer;
	int fd;
	do
		fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0)
		return -errno;
	/* Trust: the CID is the kernel's word for who connected, never the
	 * guest's. */
	const struct stream_peer *p = stream_peers_of_address(&st->peers, &peer, len);
	if (!p) {
		uint32_t who = len >= sizeof peer ? peer.svm_cid : 0;
		/* A guest that reconnects in a loop must not flood the log: a
		 * line when the CID changes, then one per 1024 refusals. */
		if (who != st->last_refused_cid || st->refused_in_a_row % 1024 == 0)
			log_warn("streams: vsock connection from cid %u refused: no [vm] claims "
				 "it (%llu in a row)", who,
				 (unsigned long long)st->refused_in_a_row + 1);
		st->refused_in_a_row = who == st->last_refused_cid ? st->refused_in_a_row + 1 : 1;
		st->last_refused_cid = who;
		close(fd);
		return -EPERM;
	}
	*vm = p->vm;
	*label = p->name;
	*cid = p->cid;
	/* A guest that stops reading its replies fails its own connection,
	 * never holds the poller (or a shutdown's drain) hostage. */
	static const struct vamos_stream_params params = { .send_timeout_ms = STREAM_SEND_TIMEOUT_MS };
	return vamos_stream_open_fd(fd, &params, ch);
}

void streams_accept(struct streams *st, unsigned i)
{
	if (i >= st->listener_count || st->listeners[i].fd < 0)
		return;
	struct vamos_chan *ch;
	vm_id vm;
	const char *label;
	uint32_t cid;
	int rc = take(st, &st->listeners[i], &ch, &vm, &label, &cid);
	if (rc == -EPERM)
		st->refused++;
	if (rc < 0) {
		if (rc != -EAGAIN && rc != -EINTR && rc != -EPERM)
			log_warn("streams: accept failed: %s", strerror(-rc));
		return;
	}
	streams_sweep(st);
	struct poller *poller = vm <= CONFIG_MAX_VMS ? poller_of(st, vm, label) : NULL;
	if (st->count == STREAMS_MAX || !poller) {
		st->refused++;
		if (poller)
			log_warn("streams: %d sessions already; connection refused", STREAMS_MAX);
		vamos_chan_close(ch);
		return;
	}
	struct session *s = session_new(ch, vm, label, st->next_index++);
	if (!s)
		return;
	s->cid = cid;
	s->inbox = &poller->inbox;
	s->queue = vm <= CONFIG_MAX_VMS ? st->queues[vm] : NULL;
	st->sessions[st->count++] = s;
	st->accepted++;
	publish(st, vm);
	log_debug("streams: session %u connected (%s)", s->index, label);
}

int streams_reload(struct streams *st, const struct config *serving,
		   const struct config *wanted, char *err, size_t errlen)
{
	struct stream_peers next;
	unsigned unserved;
	if (stream_peers_build(&next, serving, wanted, &unserved, err, errlen))
		return -1;
	if (unserved)
		log_warn("reload: %u VMs with a cid are not served yet: their cid counts "
			 "after a restart (SIGUSR2)", unserved);
	st->peers = next;
	for (unsigned i = 0; i < st->count; i++) {
		struct session *s = st->sessions[i];
		const struct stream_peer *p = s->cid ? stream_peers_find(&next, s->cid) : NULL;
		if (!s->cid || (p && p->vm == s->vm))
			continue;
		/* Its CID is no longer its VM's: the poller sees the connection
		 * end, as if the guest had closed it, and sweeps it. */
		log_info("reload: vsock cid %u is no longer vm %s's: its session %u ends",
			 s->cid, s->label, s->index);
		shutdown(vamos_chan_fd(s->ch), SHUT_RDWR);
	}
	log_info("reload: %u vsock cids claimed", next.count);
	return 0;
}

/* Has VM @vm a stream session still, or was it told already (among
 * @told[0..@n))? */
static bool still_served(const struct streams *st, vm_id vm, const vm_id *told, unsigned n)
{
	for (unsigned k = 0; k < st->count; k++)
		if (st->sessions[k]->vm == vm)
			return true;
	for (unsigned k = 0; k < n; k++)
		if (told[k] == vm)
			return true;
	return false;
}

void streams_sweep(struct streams *st)
{
	unsigned kept = 0, dropped = 0, left = 0;
	struct session *gone[STREAMS_MAX];
	vm_id told[STREAMS_MAX];
	for (unsigned i = 0; i < st->count; i++) {
		struct session *s = st->sessions[i];
		/* Written by the poller; a stale "not failed" only delays. */
		if (__atomic_load_n(&s->failure, __ATOMIC_RELAXED))
			gone[dropped++] = s;
		else
			st->sessions[kept++] = s;
	}
	if (!dropped)
		return;
	st->count = kept;
	vm_id published[STREAMS_MAX];
	unsigned npub = 0;
	for (unsigned i = 0; i < dropped; i++) {
		bool done = false;
		for (unsigned k = 0; k < npub && !done; k++)
			done = published[k] == gone[i]->vm;
		if (!done)
			publish(st, published[npub++] = gone[i]->vm);
	}
	for (unsigned i = 0; i < dropped; i++) {
		vm_id vm = gone[i]->vm;
		session_totals_add(&st->past, gone[i]);
		session_unref(gone[i]);
		if (vm == VM_NONE || !st->vm_left || still_served(st, vm, told, left))
			continue;
		told[left++] = vm;
		st->vm_left(vm, st->vm_left_arg);
	}
	st->past.in_flight = 0;
}

void streams_stop(struct streams *st)
{
	/* Every poller drains at once: stopping takes one drain limit. */
	for (unsigned v = 0; v <= CONFIG_MAX_VMS; v++)
		if (st->pollers[v])
			poller_request_stop(st->pollers[v]);
	for (unsigned v = 0; v <= CONFIG_MAX_VMS; v++)
		if (st->pollers[v]) {
			poller_stop(st->pollers[v]);
			poller_destroy(st->pollers[v]);
			free(st->pollers[v]);
			st->pollers[v] = NULL;
		}
	for (unsigned i = 0; i < st->count; i++)
		session_unref(st->sessions[i]);
	st->count = 0;
	for (unsigned i = 0; i < st->listener_count; i++) {
		struct stream_listener *l = &st->listeners[i];
		if (l->fd >= 0)
			close(l->fd);
		if (l->path[0])
			unlink(l->path);
		l->fd = -1;
	}
	st->listener_count = 0;
}
