/* SPDX-License-Identifier: MIT */
/* Reply bookkeeping for the vamosd tests: every id answered exactly once,
 * with its own bytes. */
#ifndef VAMOS_TEST_VAMOSD_CHECKS_H
#define VAMOS_TEST_VAMOSD_CHECKS_H

#include <stdint.h>
#include <string.h>

#define CHECK_MAX 20000

struct tally {
	unsigned char seen[CHECK_MAX];
	unsigned replies, duplicates, corrupt, errors;
	int last_status;
};

/* Request @id carries 8 bytes: its id. */
static inline void tally_reply(void *arg, uint64_t id, int status, const void *data,
			       uint32_t len)
{
	struct tally *t = arg;
	t->replies++;
	t->last_status = status;
	if (status < 0)
		t->errors++;
	if (id >= CHECK_MAX || t->seen[id]++) {
		t->duplicates++;
		return;
	}
	uint64_t got = 0;
	if (status == 0 && (len != 8 || (memcpy(&got, data, 8), got != id)))
		t->corrupt++;
}

#endif
