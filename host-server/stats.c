/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "blocking.h"
#include "executor.h"
#include "mysql_service.h"
#include "stats.h"

#ifdef VAMOSD_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#define row session_totals
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void add(struct row *r, const struct session *s)
{
	session_totals_add(r, s);
}

static void poller_times(const struct poller *p, uint64_t *poll_ns, uint64_t *sleep_ns,
			 uint64_t *sleeps)
{
	*poll_ns += LOAD(p->counters.polling_ns);
	*sleep_ns += LOAD(p->counters.sleeping_ns);
	*sleeps += LOAD(p->counters.sleeps);
}

static uint64_t allocated_bytes(void)
{
#ifdef VAMOSD_JEMALLOC
	/* jemalloc's counters are refreshed by bumping its epoch. */
	uint64_t epoch = 1;
	size_t sz = sizeof epoch;
	mallctl("epoch", &epoch, &sz, &epoch, sz);
	size_t allocated = 0;
	sz = sizeof allocated;
	if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) == 0)
		return allocated;
#endif
	return 0;
}

/* How many sessions @p serves now (main thread: the one that sets them). */
static unsigned sessions_of(const struct poller *p)
{
	const struct session_set *set = __atomic_load_n(&p->set, __ATOMIC_RELAXED);
	return set ? set->count : 0;
}

/* The pollers of mask @serving, "0,2", or "none"; then the line's end. */
static void print_pollers(FILE *out, uint64_t serving)
{
	if (!serving)
		fputs("none", out);
	for (unsigned k = 0, first = 1; k < 64; k++)
		if (serving >> k & 1) {
			fprintf(out, "%s%u", first ? "" : ",", k);
			first = 0;
		}
	fputc('\n', out);
}

/* The host's pollers, shared by every VM: their sum, then one line each. */
static void pollers_table(FILE *out, const struct pollers *ps)
{
	uint64_t pns = 0, sns = 0, sleeps = 0;
	for (unsigned k = 0; k < ps->count; k++)
		poller_times(&ps->all[k], &pns, &sns, &sleeps);
	fprintf(out, "pollers      %u for every VM: polling %.3f s, sleeping %.3f s (%" PRIu64
		     " sleeps), %" PRIu64 " sessions moved by load\n",
		ps->count, (double)pns / 1e9, (double)sns / 1e9, sleeps, ps->moves);
	for (unsigned k = 0; k < ps->count; k++) {
		const struct poller *p = &ps->all[k];
		fprintf(out, "poller %u: load %.2f, handled %" PRIu64 ", sleeps %" PRIu64
			     ", %s, polling %.3f s, sleeping %.3f s, %u sessions (%" PRIu64
			     " parked)\n",
			k, ps->load[k], (uint64_t)LOAD(p->counters.handled),
			(uint64_t)LOAD(p->counters.sleeps),
			LOAD(p->in_sleep) ? "asleep" : "awake",
			(double)LOAD(p->counters.polling_ns) / 1e9,
			(double)LOAD(p->counters.sleeping_ns) / 1e9, sessions_of(p),
			(uint64_t)LOAD(p->counters.parked));
	}
}

static void print_row(FILE *out, const char *vm, const char *chan, const struct row *r)
{
	fprintf(out, "%-12s %-8s %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		     " %8" PRIu64 " %12" PRIu64 " %12" PRIu64 " %7" PRIu64 " %6" PRIu64 "\n",
		vm, chan, r->requests, r->batches, r->doorbells, r->interrupts, r->sleeps,
		r->bytes_in, r->bytes_out, r->errors + r->protocol_errors, r->in_flight);
}

void stats_table(FILE *out, const struct daemon_view *d)
{
	fprintf(out, "vamosd boot %016" PRIx64 ", up %.0f s", d->boot_id, d->uptime_s);
	uint64_t alloc = allocated_bytes();
	if (alloc)
		fprintf(out, ", jemalloc allocated %" PRIu64 " bytes", alloc);
	fprintf(out, "\n\n%-12s %-8s %12s %10s %10s %10s %8s %12s %12s %7s %6s\n", "vm",
		"channel", "requests", "batches", "doorbells", "interrupts", "sleeps",
		"bytes_in", "bytes_out", "errors", "inflt");
	for (unsigned v = 0; v < d->vm_count; v++) {
		const struct vm *vm = &d->vms[v];
		struct row total = vm->past; /* sessions of peers that left */
		for (unsigned i = 0; vm->sessions && i < vm->cfg.channels; i++) {
			struct row r = { 0 };
			char chan[16];
			add(&r, vm->sessions[i]);
			add(&total, vm->sessions[i]);
			snprintf(chan, sizeof chan, "%u", i);
			print_row(out, vm->cfg.name, chan, &r);
		}
		print_row(out, vm->cfg.name, "all", &total);
		fprintf(out, "%-12s peer %d, joins %" PRIu64 ", leaves %" PRIu64
			     ", rejects %" PRIu64 ", on pollers ",
			vm->cfg.name, vm->peer, vm->counters.joins, vm->counters.leaves,
			vm->counters.rejects);
		print_pollers(out, LOAD(vm->beat.pollers));
		if (vm->queue) {
			struct blocking_queue_stats b = blocking_queue_stats(vm->queue);
			fprintf(out, "%-12s blocking: queued %" PRIu64 " (%" PRIu64 " bytes, at most %"
				     PRIu64 "), running %" PRIu64 ", dropped %" PRIu64 "\n",
				vm->cfg.name, b.queued, b.queued_bytes, b.max_queued_bytes,
				b.running, b.dropped);
		}
		struct mx_stats m;
		if (mysql_service_stats(vm->cfg.id, &m))
			fprintf(out, "%-12s mysql: %" PRIu64 " connections, %" PRIu64 " tables open, %"
				     PRIu64 " requests at once, %" PRIu64 " on the pool, %" PRIu64
				     " inline_writes, %" PRIu64 " deferred_writes, %" PRIu64
				     " commits, %" PRIu64 " rollbacks, %" PRIu64 " lock timeouts, %"
				     PRIu64 " deadlocks, %" PRIu64 " snapshots held, %" PRIu64
				     " pool threads, %" PRIu64 " wal syncs for %" PRIu64
				     " commits made at once\n",
				vm->cfg.name, m.contexts, m.tables, m.inline_requests,
				m.writer_requests, m.inline_writes, m.deferred_writes, m.commits,
				m.rollbacks, m.lock_timeouts, m.deadlocks, m.snapshots, m.workers,
				m.wal_syncs, m.synced_commits);
	}
	pollers_table(out, d->pollers);
	if (d->streams->serving) {
		struct row total = d->streams->past;
		for (unsigned i = 0; i < d->streams->count; i++)
			add(&total, d->streams->sessions[i]);
		print_row(out, "streams", "all", &total);
		fprintf(out, "streams      %u connected, %" PRIu64 " accepted, %" PRIu64 " refused\n",
			d->streams->count, d->streams->accepted, d->streams->refused);
	}
}

static void metric(FILE *out, const char *name, const char *help, const char *type)
{
	fprintf(out, "# HELP vamos_%s %s\n# TYPE vamos_%s %s\n", name, help, name, type);
}

struct series {
	const char *name, *help;
	size_t offset;
};

#define SERIES(field, help) { #field "_total", help, offsetof(struct row, field) }
static const struct series series[] = {
	SERIES(requests, "Requests received."),
	SERIES(replies, "Replies sent."),
	SERIES(batches, "Reply batches flushed."),
	SERIES(doorbells, "Doorbells taken from the guest."),
	SERIES(interrupts, "Notifications (interrupts) sent to the guest."),
	SERIES(sleeps, "Times the poller slept on this channel."),
	SERIES(bytes_in, "Request bytes received."),
	SERIES(bytes_out, "Reply bytes sent."),
	SERIES(errors, "Replies with an error status."),
	SERIES(protocol_errors, "Sessions ended by a protocol error."),
};

static uint64_t field(const struct row *r, size_t offset)
{
	uint64_t v;
	memcpy(&v, (const char *)r + offset, sizeof v);
	return v;
}

void stats_prometheus(FILE *out, const struct daemon_view *d)
{
	/* Per VM (sessions of peers that left included), then per channel of
	 * the attached peer under vamos_channel_*: summing one family never
	 * counts a request twice. */
	for (size_t m = 0; m < sizeof series / sizeof series[0]; m++) {
		metric(out, series[m].name, series[m].help, "counter");
		for (unsigned v = 0; v < d->vm_count; v++) {
			const struct vm *vm = &d->vms[v];
			struct row r = vm->past;
			for (unsigned i = 0; vm->sessions && i < vm->cfg.channels; i++)
				add(&r, vm->sessions[i]);
			fprintf(out, "vamos_%s{vm=\"%s\"} %" PRIu64 "\n", series[m].name,
				vm->cfg.name, field(&r, series[m].offset));
		}
		struct row st = d->streams->past;
		for (unsigned i = 0; i < d->streams->count; i++)
			add(&st, d->streams->sessions[i]);
		fprintf(out, "vamos_%s{vm=\"streams\"} %" PRIu64 "\n", series[m].name,
			field(&st, series[m].offset));
	}
	for (size_t m = 0; m < sizeof series / sizeof series[0]; m++) {
		char name[64];
		snprintf(name, sizeof name, "channel_%s", series[m].name);
		metric(out, name, series[m].help, "counter");
		for (unsigned v = 0; v < d->vm_count; v++) {
			const struct vm *vm = &d->vms[v];
			for (unsigned i = 0; vm->sessions && i < vm->cfg.channels; i++) {
				struct row r = { 0 };
				add(&r, vm->sessions[i]);
				fprintf(out, "vamos_%s{vm=\"%s\",channel=\"%u\"} %" PRIu64 "\n",
					name, vm->cfg.name, i, field(&r, series[m].offset));
			}
		}
	}
	metric(out, "in_flight", "Requests on the blocking pool now.", "gauge");
	for (unsigned v = 0; v < d->vm_count; v++) {
		struct row r = { 0 };
		const struct vm *vm = &d->vms[v];
		for (unsigned i = 0; vm->sessions && i < vm->cfg.channels; i++)
			add(&r, vm->sessions[i]);
		fprintf(out, "vamos_in_flight{vm=\"%s\"} %" PRIu64 "\n", vm->cfg.name, r.in_flight);
	}
	/* The pollers are the host's, shared by every VM: labelled by poller. */
	metric(out, "poller_seconds_total", "Poller time by state.", "counter");
	for (unsigned k = 0; k < d->pollers->count; k++) {
		const struct poller *p = &d->pollers->all[k];
		fprintf(out, "vamos_poller_seconds_total{poller=\"%u\",state=\"polling\"} %.6f\n",
			k, (double)LOAD(p->counters.polling_ns) / 1e9);
		fprintf(out, "vamos_poller_seconds_total{poller=\"%u\",state=\"sleeping\"} %.6f\n",
			k, (double)LOAD(p->counters.sleeping_ns) / 1e9);
	}
	metric(out, "poller_handled_total", "Records and completions each poller handled.",
	       "counter");
	for (unsigned k = 0; k < d->pollers->count; k++)
		fprintf(out, "vamos_poller_handled_total{poller=\"%u\"} %" PRIu64 "\n", k,
			(uint64_t)LOAD(d->pollers->all[k].counters.handled));
	metric(out, "poller_parked_sessions", "Sessions each poller has parked now.", "gauge");
	for (unsigned k = 0; k < d->pollers->count; k++)
		fprintf(out, "vamos_poller_parked_sessions{poller=\"%u\"} %" PRIu64 "\n", k,
			(uint64_t)LOAD(d->pollers->all[k].counters.parked));
	metric(out, "poller_load", "Busy share of each poller's wall time, last balance interval.",
	       "gauge");
	for (unsigned k = 0; k < d->pollers->count; k++)
		fprintf(out, "vamos_poller_load{poller=\"%u\"} %.3f\n", k, d->pollers->load[k]);
	metric(out, "poller_sessions", "Sessions each poller serves now.", "gauge");
	for (unsigned k = 0; k < d->pollers->count; k++)
		fprintf(out, "vamos_poller_sessions{poller=\"%u\"} %u\n", k,
			sessions_of(&d->pollers->all[k]));
	metric(out, "poller_moves_total", "Sessions the balancer moved between pollers.",
	       "counter");
	fprintf(out, "vamos_poller_moves_total %" PRIu64 "\n", d->pollers->moves);
	metric(out, "vm_attached", "1 while a peer (QEMU or a local peer) is attached.", "gauge");
	for (unsigned v = 0; v < d->vm_count; v++)
		fprintf(out, "vamos_vm_attached{vm=\"%s\"} %d\n", d->vms[v].cfg.name,
			d->vms[v].peer >= 0);
	static const struct {
		const char *name, *help, *type;
		size_t offset;
	} mysql[] = {
		{ "mysql_connections", "Guest connections (contexts) open.", "gauge",
		  offsetof(struct mx_stats, contexts) },
		{ "mysql_commits_total", "Write transactions committed.", "counter",
		  offsetof(struct mx_stats, commits) },
		{ "mysql_wal_syncs_total",
		  "WAL fsyncs made for commits made at once (each answers a group).", "counter",
		  offsetof(struct mx_stats, wal_syncs) },
		{ "mysql_synced_commits_total", "Commits made at once, answered after a WAL sync.",
		  "counter", offsetof(struct mx_stats, synced_commits) },
		{ "mysql_rollbacks_total", "Write transactions rolled back.", "counter",
		  offsetof(struct mx_stats, rollbacks) },
		{ "mysql_lock_timeouts_total", "Writers that waited too long.", "counter",
		  offsetof(struct mx_stats, lock_timeouts) },
		{ "mysql_deadlocks_total", "Writers refused to end a deadlock.", "counter",
		  offsetof(struct mx_stats, deadlocks) },
		{ "mysql_snapshots", "Read snapshots the store holds (none for idle connections).",
		  "gauge", offsetof(struct mx_stats, snapshots) },
	};
	for (size_t m = 0; m < sizeof mysql / sizeof mysql[0]; m++) {
		metric(out, mysql[m].name, mysql[m].help, mysql[m].type);
		for (unsigned v = 0; v < d->vm_count; v++) {
			struct mx_stats st;
			if (!mysql_service_stats(d->vms[v].cfg.id, &st))
				continue;
			uint64_t val;
			memcpy(&val, (const char *)&st + mysql[m].offset, sizeof val);
			fprintf(out, "vamos_%s{vm=\"%s\"} %" PRIu64 "\n", mysql[m].name,
				d->vms[v].cfg.name, val);
		}
	}
	metric(out, "allocated_bytes", "Bytes allocated through jemalloc (0 without it).",
	       "gauge");
	fprintf(out, "vamos_allocated_bytes %" PRIu64 "\n", allocated_bytes());
}
