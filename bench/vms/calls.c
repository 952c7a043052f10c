/* SPDX-License-Identifier: MIT */
/* A busy VM that calls echo one call at a time (its thread decides how
 * often it calls). */
#include "busy.h"

void *call_loop(void *arg)
{
	struct caller *c = arg;
	unsigned char payload[BUSY_PAYLOAD] = { 0 }, reply[BUSY_PAYLOAD];
	while (now_ns() < c->end) {
		uint32_t len = 0;
		int64_t t0 = now_ns();
		int rc = vamos_call(c->client, VAMOS_SERVICE_ECHO, 0, payload, sizeof payload, reply,
				    sizeof reply, &len, 10000);
		if (rc) {
			c->err = rc;
			break;
		}
		if (c->nsamples < c->cap)
			c->samples[c->nsamples++] = now_ns() - t0;
		c->requests++;
	}
	return NULL;
}
