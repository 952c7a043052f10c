/* SPDX-License-Identifier: MIT */
/* What vamosd passes to its successor across exec: see handover.h. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"

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
