/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pin.h"

static unsigned cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CPU_SETSIZE ? CPU_SETSIZE : (unsigned)n;
}

/* CPU 0 alone (@vamosd), every other CPU, or (@apart false) all. */
static cpu_set_t cpu_set(bool apart, bool vamosd)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (unsigned c = 0; c < cpus(); c++)
		if (!apart || (c == 0) == vamosd)
			CPU_SET(c, &set);
	return set;
}

bool pin_vamosd(const pid_t *pids, unsigned n, bool apart)
{
	if (cpus() < 2)
		return false;
	cpu_set_t set = cpu_set(apart, true);
	for (unsigned i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/task", (int)pids[i]);
		DIR *d = opendir(path);
		for (struct dirent *e; d && (e = readdir(d));) {
			pid_t tid = (pid_t)atoi(e->d_name);
			/* A thread that just exited is no matter. */
			if (tid > 0)
				(void)sched_setaffinity(tid, sizeof set, &set);
		}
		if (d)
			closedir(d);
	}
	return true;
}

void pin_caller(bool apart)
{
	if (cpus() < 2)
		return;
	cpu_set_t set = cpu_set(apart, false);
	(void)sched_setaffinity(0, sizeof set, &set);
}
