/* SPDX-License-Identifier: MIT */
/*
 * Handing a running server to a successor across execve(), so that vamosd
 * can restart without its VMs noticing. QEMU connects to the server once
 * and can never take new memory or new interrupt eventfds (doc/ivshmem.md):
 * the only way to keep a VM is to keep the very descriptors it holds. The
 * predecessor describes them in one line of text and leaves them open
 * across exec; the successor checks each one's kind, takes them over and
 * carries on with the region as it stands: a guest sees nothing but a
 * pause (and services that kept state in the old process lose it).
 *
 * Text: "vamos-handover-1 listen=FD shm=FD next=ID host=FD,... peer=ID:SOCK:FD,..."
 * with one host= list and one peer= item per peer, each list `vectors` long.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "link.h"
#include "server_internal.h"

#define MAGIC "vamos-handover-1"

static int set_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		return -errno;
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags) < 0 ? -errno : 0;
}

/* Append to @buf at *@off; false once it does not fit. */
__attribute__((format(printf, 4, 5)))
static bool put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = *off < len ? vsnprintf(buf + *off, len - *off, fmt, ap) : -1;
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off)
		return false;
	*off += (size_t)n;
	return true;
}

static bool put_fds(char *buf, size_t len, size_t *off, const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!put(buf, len, off, "%s%d", i ? "," : "", fds[i]))
			return false;
	return true;
}

/* The text, lock held. */
static int describe(struct vamos_ivshmem_server *s, char *buf, size_t len)
{
	size_t off = 0;
	bool fits = put(buf, len, &off, MAGIC " listen=%d shm=%d next=%d host=", s->listen_fd,
			s->mem.fd, s->next_id) &&
		    put_fds(buf, len, &off, s->host_fds, s->vectors);
	for (unsigned i = 0; fits && i < s->max_peers; i++) {
		const struct peer *p = &s->peers[i];
		if (p->id >= 0)
			fits = put(buf, len, &off, " peer=%d:%d:", p->id, p->sock) &&
			       put_fds(buf, len, &off, p->fds, s->vectors);
	}
	return fits ? 0 : -ENOSPC;
}

int vamos_ivshmem_server_describe(struct vamos_ivshmem_server *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	int rc = describe(s, buf, len);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vamos_ivshmem_server_handover(struct vamos_ivshmem_server *s, char *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	if (describe(s, buf, len)) {
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	/* Everything named in the text must survive exec; nothing else. */
	set_cloexec(s->listen_fd, false);
	set_cloexec(s->mem.fd, false);
	for (unsigned v = 0; v < s->vectors; v++)
		set_cloexec(s->host_fds[v], false);
	for (unsigned i = 0; i < s->max_peers; i++) {
		struct peer *p = &s->peers[i];
		if (p->id < 0)
			continue;
		set_cloexec(p->sock, false);
		for (unsigned v = 0; v < s->vectors; v++)
			set_cloexec(p->fds[v], false);
		vamos_link_cut(p->link, "server handed over to a successor");
		vamos_link_put(p->link);
	}
	/* The region stays READY: the guest keeps publishing, the successor
	 * serves from the positions the rings hold. */
	if (s->mem.base)
		munmap(s->mem.base, s->mem.size);
	close(s->epoll_fd);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s->peers);
	free(s->socket_path);
	free(s->shm_path);
	free(s);
	return 0;
}

void vamos_ivshmem_server_announce_adopted(struct vamos_ivshmem_server *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->max_peers; i++) {
		struct peer *p = &s->peers[i];
		if (p->id < 0 || !p->adopted)
			continue;
		p->adopted = false;
		char detail[80];
		snprintf(detail, sizeof detail, "peer %d taken over from the previous server",
			 p->id);
		server_emit(s, VAMOS_IVSHMEM_ADOPT, p->id, detail);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Call @fn for each descriptor number in @text, in order, with where its
 * digits start and end: every number after '=' or ',' except in next=,
 * and in peer=ID:SOCK:FDS the ones after the id. Stops at @fn's nonzero. */
static int walk_fds(const char *text, int (*fn)(void *arg, const char *from, const char *to, int fd),
		    void *arg)
{
	size_t ml = strlen(MAGIC);
	if (!text || strncmp(text, MAGIC " ", ml + 1))
		return -EINVAL;
	for (const char *at = text + ml + 1; *at;) {
		const char *end = strchr(at, ' ');
		if (!end)
			end = at + strlen(at);
		const char *p = strncmp(at, "next=", 5) ? memchr(at, '=', (size_t)(end - at)) : NULL;
		if (p && !strncmp(at, "peer=", 5))
			p = memchr(p, ':', (size_t)(end - p)); /* skip the id */
		while (p && p < end) {
			char *e;
			long fd = strtol(p + 1, &e, 10);
			if (e == p + 1 || e > end || fd < 0 || fd > INT_MAX)
				return -EINVAL;
			int rc = fn(arg, p + 1, e, (int)fd);
			if (rc)
				return rc;
			p = e < end ? e : NULL;
		}
		at = *end ? end + 1 : end;
	}
	return 0;
}

static int close_one(void *arg, const char *from, const char *to, int fd)
{
	(void)arg, (void)from, (void)to;
	if (fd > 2)
		close(fd);
	return 0;
}

void vamos_ivshmem_handover_discard(const char *text)
{
	walk_fds(text, close_one, NULL);
}

struct fd_list {
	int *fds;
	unsigned max, n;
};

static int list_one(void *arg, const char *from, const char *to, int fd)
{
	struct fd_list *l = arg;
	(void)from, (void)to;
	if (l->n == l->max)
		return -ENOSPC;
	l->fds[l->n++] = fd;
	return 0;
}

int vamos_ivshmem_handover_fds(const char *text, int *fds, unsigned max)
{
	struct fd_list l = { fds, max, 0 };
	int rc = walk_fds(text, list_one, &l);
	return rc ? rc : (int)l.n;
}

struct renumbering {
	const int *to;
	unsigned n, i;
	const char *copied; /* text up to here is in out */
	char *out;
	size_t len, off;
};

static int renumber_one(void *arg, const char *from, const char *to, int fd)
{
	struct renumbering *r = arg;
	(void)fd;
	if (r->i == r->n)
		return -EINVAL;
	if (!put(r->out, r->len, &r->off, "%.*s%d", (int)(from - r->copied), r->copied,
		 r->to[r->i++]))
		return -ENOSPC;
	r->copied = to;
	return 0;
}

int vamos_ivshmem_handover_renumber(const char *text, const int *to, unsigned n, char *out,
				    size_t len)
{
	struct renumbering r = { to, n, 0, text, out, len, 0 };
	int rc = walk_fds(text, renumber_one, &r);
	if (rc == 0 && r.i != n)
		rc = -EINVAL;
	if (rc == 0 && !put(out, len, &r.off, "%s", r.copied))
		rc = -ENOSPC;
	return rc;
}

int vamos_ivshmem_server_bump_generation(struct vamos_ivshmem_server *s)
{
	pthread_mutex_lock(&s->lock);
	vamos_region_bump_generation(&s->region);
	uint32_t gen = s->region.generation;
	pthread_mutex_unlock(&s->lock);
	return (int)gen;
}

/* ------------------------------------------------------------- adoption */

/* A descriptor number from the text: open in this process, and made
 * close-on-exec again. */
static int take_fd(const char *s, char **end)
{
	errno = 0;
	long v = strtol(s, end, 10);
	if (errno || *end == s || v < 0 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0)
		return -1;
	set_cloexec((int)v, true);
	return (int)v;
}

static bool is_eventfd(int fd)
{
	char path[64], target[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof target - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[eventfd]");
}

/* A UNIX stream socket; listening or not, as asked. */
static bool is_unix_stream(int fd, bool listening)
{
	int type = 0, acc = 0, dom = 0;
	socklen_t l = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
		return false;
	l = sizeof dom;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_UNIX)
		return false;
	l = sizeof acc;
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && !!acc == listening;
}

/* "FD,FD,..." with exactly @n eventfds into @fds. */
static const char *take_eventfds(const char *s, int *fds, unsigned n, char **end)
{
	for (unsigned i = 0; i < n; i++) {
		if (i && *s++ != ',')
			return "too few eventfds in a list";
		char *e;
		int fd = take_fd(s, &e);
		if (fd < 0 || !is_eventfd(fd))
			return "a vector is not an open eventfd";
		fds[i] = fd;
		s = e;
	}
	*end = (char *)s;
	return *s == ' ' || *s == 0 ? NULL : "an eventfd list is longer than vectors";
}

static const char *take_peer(struct vamos_ivshmem_server *s, const char *item, char **end)
{
	struct peer *p = NULL;
	for (unsigned i = 0; i < s->max_peers && !p; i++)
		if (s->peers[i].id < 0)
			p = &s->peers[i];
	if (!p)
		return "more peers than this server takes";
	char *e;
	errno = 0;
	long id = strtol(item, &e, 10);
	if (errno || e == item || *e != ':' || id <= VAMOS_IVSHMEM_HOST_ID ||
	    id > VAMOS_IVSHMEM_MAX_PEER_ID)
		return "a peer id is out of range";
	for (unsigned i = 0; i < s->max_peers; i++)
		if (s->peers[i].id == id)
			return "two peers with one id";
	int sock = take_fd(e + 1, &e);
	if (sock < 0 || *e != ':' || !is_unix_stream(sock, false))
		return "a peer's connection is not an open UNIX stream socket";
	for (unsigned v = 0; v < VAMOS_IVSHMEM_MAX_VECTORS; v++)
		p->fds[v] = -1;
	const char *why = take_eventfds(e + 1, p->fds, s->vectors, end);
	p->sock = sock;
	p->id = (int)id; /* from here on stop() closes what it holds */
	s->peer_count++;
	if (why)
		return why;
	p->link = vamos_link_new();
	if (!p->link)
		return "out of memory";
	p->adopted = true;
	p->doomed = 0;
	return server_watch_peer(s, p) ? "epoll_ctl failed for a peer" : NULL;
}

/* A file a peer shrank while no host was there to fault on it (our
 * predecessor died meanwhile, say): grow it back to its configured size,
 * or the takeover would fail and the VM lose its device. 1 if it was
 * grown, 0 if whole, or a negative errno. */
static int regrow(int fd, uint64_t size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size >= size)
		return 0;
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 1;
}

/* A memfd sealed by its creator; a file never is. */
static bool sealed_against_shrinking(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & F_SEAL_SHRINK);
}

static bool same_layout(const struct vamos_region_params *a, const struct vamos_region_params *b)
{
	return a->channel_count == b->channel_count &&
	       a->request_capacity == b->request_capacity &&
	       a->reply_capacity == b->reply_capacity;
}

int server_adopt(struct vamos_ivshmem_server *s, const char *text,
		 const struct vamos_region_params *layout, const char **why)
{
	uint64_t min_size = vamos_region_size(layout);
	size_t ml = strlen(MAGIC);
	if (strncmp(text, MAGIC " ", ml + 1)) {
		*why = "handover: not a vamos-handover-1 description";
		return -EINVAL;
	}
	const char *w = NULL;
	const char *at = text + ml + 1;
	bool have_listen = false, have_shm = false, have_host = false;
	int regrown = 0;
	while (!w && *at) {
		char *e = NULL;
		if (!strncmp(at, "listen=", 7)) {
			int fd = take_fd(at + 7, &e);
			if (fd < 0 || have_listen || !is_unix_stream(fd, true))
				w = "listen= is not one open listening UNIX socket";
			else
				s->listen_fd = fd, have_listen = true;
		} else if (!strncmp(at, "shm=", 4)) {
			int fd = take_fd(at + 4, &e);
			if (fd < 0 || have_shm)
				w = "shm= is not one open descriptor";
			else if (!sealed_against_shrinking(fd) &&
				 (regrown = regrow(fd, s->shm_size)) < 0)
				w = "shm= is a file shrunk under us that cannot be grown back";
			else if (shm_memory_map_fd(fd, &s->mem)) /* closes it on failure */
				w = "shm= cannot be mapped (size not a power of two?)";
			else if (s->mem.size < min_size)
				w = "shm= is smaller than the region now configured";
			else if (!sealed_against_shrinking(s->mem.fd) &&
				 shm_memory_guard(&s->mem))
				/* Unsealed (a file): a peer may shrink it. */
				w = "shm= cannot be watched for shrinking";
			else
				have_shm = true;
		} else if (!strncmp(at, "next=", 5)) {
			long id = strtol(at + 5, &e, 10);
			if (e == at + 5 || id < 1 || id > VAMOS_IVSHMEM_MAX_PEER_ID)
				w = "next= is out of range";
			else
				s->next_id = (int)id;
		} else if (!strncmp(at, "host=", 5)) {
			w = have_host ? "two host= lists"
				      : take_eventfds(at + 5, s->host_fds, s->vectors, &e);
			have_host = true;
		} else if (!strncmp(at, "peer=", 5)) {
			w = take_peer(s, at + 5, &e);
		} else {
			w = "unknown item";
		}
		if (!w && e && *e == ' ')
			e++;
		else if (!w && (!e || *e))
			w = "malformed item";
		at = e;
	}
	if (!w && !(have_listen && have_shm && have_host))
		w = "listen=, shm= or host= is missing";
	/* Trust check: the header is guest-writable memory. It is read once
	 * and checked by attach, and must be exactly the configured layout,
	 * which is what the host goes on using (never values read here). */
	if (!w && regrown > 0 && vamos_region_init(s->mem.base, s->mem.size, layout, &s->region))
		w = "the region cannot be laid out again";
	/* Grown back, what the rings held is gone: laid out afresh above (a
	 * new epoch, so the attached peer sees its channels reset). */
	if (!w && !regrown && vamos_region_attach(s->mem.base, s->mem.size, &s->region))
		w = s->region.error ? s->region.error : "the region cannot be attached";
	if (!w && !same_layout(&s->region.params, layout))
		w = "the region's layout differs from the configuration (restart the VM to "
		    "change channels or ring sizes)";
	if (!w)
		s->region.params = *layout;
	if (w) {
		static __thread char buf[160];
		snprintf(buf, sizeof buf, "handover: %s", w);
		*why = buf;
		return -EINVAL;
	}
	return 0;
}
