/* SPDX-License-Identifier: MIT */
/* The scenarios' failure messages: one buffer per thread. */
#include <stdarg.h>
#include <stdio.h>

#include "scenarios.h"

static __thread char msg[512];

const char *scenario_failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return msg;
}
