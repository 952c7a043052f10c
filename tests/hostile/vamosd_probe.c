/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vamosd_probe.h"

bool probe_vm(const struct daemon *d, const char *vm, struct vm_probe *out)
{
	memset(out, 0xff, sizeof *out); /* every field -1 */
	char *text = daemon_ask(d, "stats");
	if (!text)
		return false;
	size_t n = strlen(vm);
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, vm, n) && line[n] == ' ') {
			const char *rest = line + n;
			while (*rest == ' ')
				rest++;
			if (!strncmp(rest, "peer ", 5))
				sscanf(rest, "peer %lld, joins %lld, leaves %lld, rejects %lld",
				       &out->peer, &out->joins, &out->leaves, &out->rejects);
			else if (!strncmp(rest, "blocking: ", 10))
				sscanf(rest,
				       "blocking: queued %lld (%lld bytes, at most %lld), running %lld, "
				       "dropped %lld",
				       &out->queued, &out->queued_bytes, &out->max_queued_bytes,
				       &out->running, &out->dropped);
		}
		line = next;
	}
	free(text);
	return true;
}
