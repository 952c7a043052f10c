/* SPDX-License-Identifier: MIT */
/* What server.c and server_handover.c both do to a server: report an
 * event, and watch a peer's socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "server_internal.h"

void server_emit(struct vamos_ivshmem_server *s, enum vamos_ivshmem_event_kind kind,
		 int id, const char *detail)
{
	struct vamos_ivshmem_event ev = { .kind = kind, .peer = id, .detail = detail };
	if (s->on_event)
		s->on_event(s->arg, &ev);
}

int server_watch_peer(struct vamos_ivshmem_server *s, struct peer *p)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
				  .data.u64 = (uint64_t)(p - s->peers) };
	return epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, p->sock, &ev) < 0 ? -errno : 0;
}
