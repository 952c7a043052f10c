/* SPDX-License-Identifier: MIT */
/* Where a service's reply goes: straight into the session's reply ring
 * (services that answer on the poller) or into a buffer (services on the
 * blocking pool, whose buffers the poller copies in later). */
#ifndef VAMOSD_REPLY_H
#define VAMOSD_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include <vamos/channel.h>
#include <vamos/protocol.h>

struct session;

struct reply {
	bool to_ring;
	bool deferred;           /* reply_defer() took it: answered later */
	struct session *session; /* to_ring: the session it answers */
	struct vamos_chan *ch;   /* to_ring */
	uint64_t id;
	unsigned char *at;       /* reserved record (header first) */
	uint32_t reserved;       /* payload bytes reserved */
	bool committed;
	int status;              /* as committed */
	uint32_t max_payload;    /* largest reply payload */
	unsigned char *buf;      /* !to_ring: malloc'd header + payload */
	uint32_t buf_len;        /* !to_ring: header + committed payload */
};

/* Finish a reply the handler left open or never started, with status @rc
 * and no bytes. Returns 0, or -EAGAIN if not even an empty reply fits. */
int reply_finish(struct reply *rep, int rc);

#endif
