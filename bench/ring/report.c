/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <math.h>
#include <stdio.h>

void bench_report_begin(bool csv, const struct bench_options *opt)
{
	if (csv) {
		puts("impl,payload_bytes,batch,msgs_per_sec,gbytes_per_sec,"
		     "doorbells_per_msg");
	} else {
		if (opt->producer_cpu >= 0)
			printf("# producer on CPU %d, consumer on CPU %d; ",
			       opt->producer_cpu, opt->consumer_cpu);
		else
			printf("# threads unpinned (fewer than 2 CPUs); ");
		printf("%.2f s per case after %.2f s warm-up; queues of %u bytes\n",
		       opt->seconds, opt->warmup, opt->ring_bytes);
		printf("%-12s %8s %6s %14s %9s %14s\n", "impl", "payload",
		       "batch", "msgs/s", "GB/s", "doorbells/msg");
	}
	fflush(stdout);
}

void bench_report_row(bool csv, const char *impl, uint32_t payload,
		      uint32_t batch, const struct bench_result *r)
{
	bool bells = !isnan(r->doorbells_per_msg);

	if (csv) {
		printf("%s,%u,%u,%.0f,%.4f,", impl, payload, batch,
		       r->msgs_per_sec, r->gbytes_per_sec);
		if (bells)
			printf("%.6g", r->doorbells_per_msg);
		putchar('\n');
	} else {
		printf("%-12s %8u %6u %12.3f M %9.3f ", impl, payload, batch,
		       r->msgs_per_sec / 1e6, r->gbytes_per_sec);
		if (bells)
			printf("%14.3g\n", r->doorbells_per_msg);
		else
			printf("%14s\n", "-");
	}
	fflush(stdout);
}
