/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static atomic_int current = LOG_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

int log_parse_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

void log_set_level(enum log_level level)
{
	atomic_store(&current, level);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load_explicit(&current, memory_order_relaxed))
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One write per line, so threads' lines never interleave. */
	fprintf(stderr, "vamosd: %s: %s\n", names[level], line);
}
