/* SPDX-License-Identifier: MIT */
/*
 * The blocking pool: services that may block (a lock, the disk) run here,
 * never on a poller, so one slow request cannot stall the other channels
 * of its VM. Each finished request goes back to the poller that owns its
 * session as a completion (a wait-free queue from liburcu, plus the
 * poller's eventfd); the poller writes the reply into the ring.
 */
#ifndef VAMOSD_BLOCKING_H
#define VAMOSD_BLOCKING_H

#include <stdint.h>
#include <urcu/wfcqueue.h>

#include "service.h"
#include "session.h"

struct completion {
	struct cds_wfcq_node node;
	struct completion *next;  /* the poller's own list */
	struct session *session;  /* referenced */
	unsigned char *reply;     /* header + bytes, malloc'd */
	uint32_t reply_len;
};

int blocking_start(unsigned threads);
/* Finish queued work, then stop the threads. */
void blocking_stop(void);

/* Copy @req and queue it for @svc; a reference on @s is taken. */
int blocking_submit(struct session *s, const struct service *svc,
		    const struct service_request *req);

void completion_free(struct completion *c);

#endif
