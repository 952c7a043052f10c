/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <stdlib.h>

#include "session.h"

struct session *session_new(struct vamos_chan *ch, vm_id vm, const char *label,
			    uint32_t index)
{
	struct session *s = calloc(1, sizeof *s);
	if (!s) {
		vamos_chan_close(ch);
		return NULL;
	}
	s->ch = ch;
	s->vm = vm;
	s->label = label;
	s->index = index;
	atomic_init(&s->refs, 1);
	return s;
}

void session_ref(struct session *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void session_unref(struct session *s)
{
	/* Acq-rel: the last owner sees every other owner's writes. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		vamos_chan_close(s->ch);
		free(s);
	}
}

void session_assume_welcomed(struct session *s)
{
	s->welcomed = true;
}

void session_publish_counters(struct session *s)
{
	s->counters_stale = false;
	struct vamos_chan_stats st = vamos_chan_stats(s->ch);
	struct session_counters *c = &s->counters;
	atomic_store_explicit(&c->batches, st.batches_sent, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_in, st.bytes_received, memory_order_relaxed);
	atomic_store_explicit(&c->bytes_out, st.bytes_sent, memory_order_relaxed);
	atomic_store_explicit(&c->doorbells_received, st.notifications_received,
			      memory_order_relaxed);
	atomic_store_explicit(&c->interrupts_sent, st.notifications_sent,
			      memory_order_relaxed);
	atomic_store_explicit(&c->sleeps, st.sleeps, memory_order_relaxed);
}

void session_totals_add(struct session_totals *t, const struct session *s)
{
	const struct session_counters *c = &s->counters;
#define LOAD(x) atomic_load_explicit(&c->x, memory_order_relaxed)
	t->requests += LOAD(requests);
	t->replies += LOAD(replies);
	t->batches += LOAD(batches);
	t->bytes_in += LOAD(bytes_in);
	t->bytes_out += LOAD(bytes_out);
	t->doorbells += LOAD(doorbells_received);
	t->interrupts += LOAD(interrupts_sent);
	t->sleeps += LOAD(sleeps);
	t->errors += LOAD(errors);
	t->protocol_errors += LOAD(protocol_errors);
	t->in_flight += LOAD(in_flight);
#undef LOAD
}
