/* SPDX-License-Identifier: MIT */
/* What vamosd passes to its successor across exec: see handover.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"
#include "log.h"

unsigned handover_parse(char *env, struct handover_entry *e, unsigned max)
{
	unsigned n = 0;
	for (char *line = env; line && *line && n < max;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *eq = strchr(line, '=');
		if (eq) {
			*eq = 0;
			e[n++] = (struct handover_entry){ line, eq + 1, false };
		}
		line = next;
	}
	return n;
}

char *handover_all(struct vm *vms, unsigned n)
{
	char *env = malloc(HANDOVER_MAX);
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t nl = strlen(vms[i].cfg.name);
		int rc = -ENOMEM;
		if (env && off + nl + 2 < HANDOVER_MAX) {
			memcpy(env + off, vms[i].cfg.name, nl);
			env[off + nl] = '=';
			rc = vm_handover(&vms[i], env + off + nl + 1, HANDOVER_MAX - off - nl - 1);
		}
		if (rc) {
			log_error("vm %s: cannot hand over (%s); its VM loses vamosd",
				  vms[i].cfg.name, strerror(-rc));
			vm_stop(&vms[i]);
			continue;
		}
		off += strlen(env + off);
		env[off++] = '\n';
	}
	if (env)
		env[off] = 0;
	return env;
}
