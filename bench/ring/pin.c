/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "pin.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

bool bench_pick_cpus(int *producer_cpu, int *consumer_cpu)
{
	cpu_set_t set;
	int found[2] = { -1, -1 };
	int n = 0;

	*producer_cpu = -1;
	*consumer_cpu = -1;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return false;
	for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			found[n++] = cpu;
	if (n < 2)
		return false;
	*producer_cpu = found[0];
	*consumer_cpu = found[1];
	return true;
}

int bench_thread_start(pthread_t *thread, int cpu, void *(*fn)(void *),
		       void *arg)
{
	static bool warned;
	pthread_attr_t attr;
	int rc;

	if (cpu < 0)
		return pthread_create(thread, NULL, fn, arg);

	rc = pthread_attr_init(&attr);
	if (rc != 0)
		return rc;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	if (rc == 0)
		rc = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return 0;

	if (!warned) {
		fprintf(stderr, "bench-ring: cannot pin a thread to CPU %d "
			"(%s); running unpinned\n", cpu, strerror(rc));
		warned = true;
	}
	return pthread_create(thread, NULL, fn, arg);
}
