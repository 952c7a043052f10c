/* SPDX-License-Identifier: MIT */
/*
 * bench-ring: throughput of libvamos-ring against other SPSC transports,
 * every case on the same machine in one run.
 *
 *   bench-ring [--csv] [--seconds S] [--warmup S] [--impl A,B]
 *              [--payload N,M] [--batch N,M] [--ring-bytes N] [--list]
 *              [--lockstep ROUNDS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "pin.h"
#include "report.h"
#include "runner.h"

#define MAX_LIST 16
#define MAX_PAYLOAD (64u * 1024u)
#define MAX_BATCH 1024u

static const struct bench_impl *const all_impls[] = {
	&bench_impl_vamos,
	&bench_impl_vamos_array,
	&bench_impl_rte_ring,
	&bench_impl_boost_spsc,
	&bench_impl_urcu_wfcq,
	&bench_impl_pipe,
	&bench_impl_unix_socket,
};
#define N_IMPLS (sizeof(all_impls) / sizeof(all_impls[0]))

struct u32_list {
	uint32_t v[MAX_LIST];
	unsigned n;
	bool from_user;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-ring [options]\n"
		"  --csv             print CSV (impl,payload_bytes,batch,msgs_per_sec,\n"
		"                    gbytes_per_sec,doorbells_per_msg) instead of a table\n"
		"  --seconds S       measured time per case (default 0.3)\n"
		"  --warmup S        run before measuring (default 0.05)\n"
		"  --impl A[,B..]    only these impls (see --list)\n"
		"  --payload N[,M..] payload sizes, powers of two in 8..65536\n"
		"                    (default 16,64,256,4096)\n"
		"  --batch N[,M..]   messages per enqueue/dequeue call, 1..1024\n"
		"                    (default 1,32)\n"
		"  --ring-bytes N    byte budget of every queue, power of two\n"
		"                    (default 1048576)\n"
		"  --list            print the impls and exit\n"
		"  --lockstep ROUNDS no threads, no timing: per case, ROUNDS times\n"
		"                    enqueue one batch and dequeue it in one thread\n"
		"                    (for callgrind: bench/ring/instructions);\n"
		"                    prints impl,payload_bytes,batch,messages\n");
}

static bool is_pow2(unsigned long v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static bool parse_u32(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0) || v > 3600.0)
		return false;
	*out = v;
	return true;
}

/* Append the comma-separated numbers in @arg to @list (replacing the
   defaults on first use). */
static bool parse_list(const char *arg, struct u32_list *list,
		       unsigned long max, bool pow2)
{
	char *copy = strdup(arg), *save = NULL;
	bool ok = copy != NULL;

	if (!list->from_user) {
		list->n = 0;
		list->from_user = true;
	}
	for (char *tok = ok ? strtok_r(copy, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t v;

		if (!parse_u32(tok, max, &v) || v == 0 || (pow2 && !is_pow2(v)) ||
		    list->n == MAX_LIST) {
			ok = false;
			break;
		}
		list->v[list->n++] = v;
	}
	free(copy);
	return ok && list->n > 0;
}

static const struct bench_impl *find_impl(const char *name)
{
	for (size_t i = 0; i < N_IMPLS; i++)
		if (strcmp(all_impls[i]->name, name) == 0)
			return all_impls[i];
	return NULL;
}

static bool parse_impls(const char *arg, bool chosen[N_IMPLS])
{
	char *copy = strdup(arg), *save = NULL;
	bool ok = copy != NULL;

	for (char *tok = ok ? strtok_r(copy, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		const struct bench_impl *impl = find_impl(tok);

		if (!impl) {
			fprintf(stderr, "bench-ring: unknown impl '%s'\n", tok);
			ok = false;
			break;
		}
		for (size_t i = 0; i < N_IMPLS; i++)
			if (all_impls[i] == impl)
				chosen[i] = true;
	}
	free(copy);
	return ok;
}

/* --lockstep: every chosen case that has the mode, one after the other. */
static int run_lockstep(const bool chosen[N_IMPLS], const struct u32_list *payloads,
			const struct u32_list *batches, uint32_t ring_bytes,
			uint32_t rounds)
{
	puts("impl,payload_bytes,batch,messages");
	for (unsigned p = 0; p < payloads->n; p++)
		for (unsigned b = 0; b < batches->n; b++)
			for (size_t i = 0; i < N_IMPLS; i++) {
				if (!chosen[i])
					continue;
				int rc = bench_lockstep_case(all_impls[i], payloads->v[p],
							     batches->v[b], ring_bytes,
							     rounds);
				if (rc < 0)
					return 1;
				if (rc == 0)
					printf("%s,%u,%u,%llu\n", all_impls[i]->name,
					       payloads->v[p], batches->v[b],
					       (unsigned long long)rounds * batches->v[b]);
			}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CSV = 256, OPT_SECONDS, OPT_WARMUP, OPT_IMPL, OPT_PAYLOAD,
	       OPT_BATCH, OPT_RING_BYTES, OPT_LIST, OPT_LOCKSTEP };
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "impl", required_argument, NULL, OPT_IMPL },
		{ "payload", required_argument, NULL, OPT_PAYLOAD },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "ring-bytes", required_argument, NULL, OPT_RING_BYTES },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "lockstep", required_argument, NULL, OPT_LOCKSTEP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_options opt = {
		.seconds = 0.3,
		.warmup = 0.05,
		.ring_bytes = 1u << 20,
	};
	struct u32_list payloads = { .v = { 16, 64, 256, 4096 }, .n = 4 };
	struct u32_list batches = { .v = { 1, 32 }, .n = 2 };
	bool chosen[N_IMPLS] = { false };
	bool any_chosen = false, csv = false, progress;
	unsigned total, done = 0;
	uint32_t lockstep_rounds = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		bool ok = true;

		switch (c) {
		case OPT_CSV:
			csv = true;
			break;
		case OPT_SECONDS:
			ok = parse_seconds(optarg, &opt.seconds) &&
			     opt.seconds > 0.0;
			break;
		case OPT_WARMUP:
			ok = parse_seconds(optarg, &opt.warmup);
			break;
		case OPT_IMPL:
			ok = parse_impls(optarg, chosen);
			any_chosen = true;
			break;
		case OPT_PAYLOAD:
			ok = parse_list(optarg, &payloads, MAX_PAYLOAD, true);
			break;
		case OPT_BATCH:
			ok = parse_list(optarg, &batches, MAX_BATCH, false);
			break;
		case OPT_RING_BYTES:
			ok = parse_u32(optarg, 1ul << 30, &opt.ring_bytes) &&
			     is_pow2(opt.ring_bytes) && opt.ring_bytes >= 4096;
			break;
		case OPT_LOCKSTEP:
			ok = parse_u32(optarg, 1ul << 30, &lockstep_rounds) &&
			     lockstep_rounds > 0;
			break;
		case OPT_LIST:
			for (size_t i = 0; i < N_IMPLS; i++)
				puts(all_impls[i]->name);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "bench-ring: bad value for --%s: '%s'\n",
				longopts[c - OPT_CSV].name, optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bench-ring: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	for (unsigned i = 0; i < payloads.n; i++)
		if (payloads.v[i] < 8) {
			fprintf(stderr, "bench-ring: payloads start at 8 bytes "
				"(the sequence number)\n");
			return 2;
		}
	if (!any_chosen)
		for (size_t i = 0; i < N_IMPLS; i++)
			chosen[i] = true;

	if (lockstep_rounds)
		return run_lockstep(chosen, &payloads, &batches, opt.ring_bytes,
				    lockstep_rounds);

	if (!bench_pick_cpus(&opt.producer_cpu, &opt.consumer_cpu))
		fprintf(stderr, "bench-ring: fewer than 2 CPUs available; "
			"producer and consumer run unpinned\n");

	total = 0;
	for (size_t i = 0; i < N_IMPLS; i++)
		total += chosen[i];
	total *= payloads.n * batches.n;
	progress = csv && isatty(STDERR_FILENO);

	bench_report_begin(csv, &opt);
	for (unsigned p = 0; p < payloads.n; p++)
		for (unsigned b = 0; b < batches.n; b++)
			for (size_t i = 0; i < N_IMPLS; i++) {
				const struct bench_impl *impl = all_impls[i];
				struct bench_result r;

				if (!chosen[i])
					continue;
				if (progress)
					fprintf(stderr, "\r[%u/%u] %-12s P=%-5u B=%-4u",
						++done, total, impl->name,
						payloads.v[p], batches.v[b]);
				if (bench_run_case(impl, payloads.v[p],
						   batches.v[b], &opt, &r) != 0) {
					fprintf(stderr, "bench-ring: %s: setup "
						"failed; stopping\n", impl->name);
					return 1;
				}
				bench_report_row(csv, impl->name, payloads.v[p],
						 batches.v[b], &r);
			}
	if (progress)
		fputc('\n', stderr);
	return 0;
}
