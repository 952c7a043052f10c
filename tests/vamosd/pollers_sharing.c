/* SPDX-License-Identifier: MIT */
/*
 * How the host's pollers are shared (scenarios of pollers_scenarios.h):
 * busy sessions take even turns on their poller, and a newly attached
 * VM's channels are dealt to the pollers with the fewest sessions.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <vamos/protocol.h>

#include "../../host-server/pollers.h"
#include "../../host-server/service.h"
#include "pollers_scenarios.h"
#include "standin_chan.h"

enum { BUSY = 4, QUEUED = 1000 };

static struct pollers ps;

/* A welcomed session over @f for VM @vm, on poller @k's inbox. */
static struct session *session_on(struct standin_chan *f, vm_id vm, unsigned k)
{
	struct session *s = session_new(&f->chan, vm, "sharing", (uint32_t)f->who);
	if (s) {
		session_assume_welcomed(s);
		s->inbox = &ps.all[k].inbox;
	}
	return s;
}

/* Whether the replies in @order (who made each) kept every pair of
 * sessions that both still had requests within one turn of each other. */
static const char *turns_even(const int *order, unsigned n)
{
	unsigned answered[BUSY] = { 0 };
	for (unsigned i = 0; i < n; i++) {
		if (order[i] < 0 || order[i] >= BUSY)
			return "a reply of a session that was never queued";
		answered[order[i]]++;
		for (unsigned a = 0; a < BUSY; a++)
			for (unsigned b = 0; b < BUSY; b++)
				if (answered[a] < QUEUED && answered[b] < QUEUED &&
				    answered[a] > answered[b] + SESSION_BATCH)
					return "a busy session got more than one turn ahead of another";
	}
	return NULL;
}

const char *scenario_full_rings_take_even_turns(void)
{
	const char *err = NULL;
	struct standin_chan *f[BUSY] = { 0 };
	struct session *s[BUSY] = { 0 };
	if (services_register_builtin())
		return "cannot start the services";
	if (pollers_start(&ps, 1, 50000, 1)) {
		services_shutdown();
		return "cannot start a poller";
	}
	standin_order_reset();
	/* Every VM's ring is full before the poller sees any of them. */
	for (unsigned i = 0; i < BUSY && !err; i++) {
		f[i] = standin_new((int)i, false);
		s[i] = f[i] ? session_on(f[i], 1 + i, 0) : NULL;
		if (!s[i] || standin_queue(f[i], QUEUED, VAMOS_SERVICE_ECHO, 0, 64))
			err = "out of memory";
	}
	if (!err) {
		pollers_add(&ps.all[0], s, BUSY);
		for (unsigned i = 0; i < BUSY; i++)
			standin_await_replies(f[i], QUEUED);
		int *order = malloc(BUSY * QUEUED * sizeof *order);
		unsigned n = order ? standin_order_copy(order, BUSY * QUEUED) : 0;
		err = !order ? "out of memory"
		      : n != BUSY * QUEUED ? "replies missing from the order"
					  : turns_even(order, n);
		free(order);
	}
	pollers_stop(&ps);
	for (unsigned i = 0; i < BUSY; i++)
		if (s[i]) {
			pollers_remove(&ps.all[0], &s[i], 1);
			session_unref(s[i]);
		}
	pollers_destroy(&ps);
	services_shutdown();
	for (unsigned i = 0; i < BUSY; i++)
		if (f[i])
			standin_free(f[i]);
	return err;
}

/* ------------------------------------------------------------ dealing */

enum { VMS = 8, MAX_CHANNELS = 3 };

struct dealt_vm {
	struct standin_chan *f[MAX_CHANNELS];
	struct session *s[MAX_CHANNELS];
	unsigned poller_of[MAX_CHANNELS], channels;
};

/* Attach VM @v with @channels channels as vm.c does: deal, then add each
 * poller's sessions. False if out of memory. */
static bool attach(struct dealt_vm *vm, unsigned v, unsigned channels)
{
	vm->channels = channels;
	pollers_deal(&ps, channels, vm->poller_of);
	for (unsigned i = 0; i < channels; i++) {
		vm->f[i] = standin_new((int)(v * MAX_CHANNELS + i), true);
		vm->s[i] = vm->f[i] ? session_on(vm->f[i], 1 + v, vm->poller_of[i]) : NULL;
		if (!vm->s[i])
			return false;
		pollers_add(&ps.all[vm->poller_of[i]], &vm->s[i], 1);
	}
	return true;
}

static void detach(struct dealt_vm *vm)
{
	for (unsigned i = 0; i < vm->channels; i++) {
		if (vm->s[i]) {
			pollers_remove(&ps.all[vm->poller_of[i]], &vm->s[i], 1);
			session_unref(vm->s[i]);
		}
		if (vm->f[i])
			standin_free(vm->f[i]);
	}
	*vm = (struct dealt_vm){ 0 };
}

static bool dealt_to(const struct dealt_vm *vm, unsigned a, unsigned b)
{
	return vm->poller_of[0] == a && (vm->channels < 2 || vm->poller_of[1] == b);
}

const char *scenario_new_vms_go_to_the_least_loaded_pollers(void)
{
	static char why[160];
	const char *err = NULL;
	struct dealt_vm vm[VMS] = { 0 };
	if (services_register_builtin())
		return "cannot start the services";
	if (pollers_start(&ps, 2, 50000, 1)) {
		services_shutdown();
		return "cannot start the pollers";
	}
	/* Four one-channel VMs: poller 0, 1, 0, 1. */
	for (unsigned v = 0; v < 4 && !err; v++)
		if (!attach(&vm[v], v, 1))
			err = "out of memory";
	for (unsigned v = 0; v < 4 && !err; v++)
		if (!dealt_to(&vm[v], v % 2, 0))
			err = "four VMs were not dealt evenly over two pollers";
	/* VMs 1 and 3 go (poller 1 is left with nothing); the next VM's
	 * channels both go there, where a round-robin deal would have put
	 * its first on poller 0 beside the two that stayed. */
	if (!err) {
		detach(&vm[1]);
		detach(&vm[3]);
		if (!attach(&vm[4], 4, 2))
			err = "out of memory";
		else if (!dealt_to(&vm[4], 1, 1)) {
			snprintf(why, sizeof why,
				 "a VM coming after two left went to pollers %u and %u, not 1 and 1",
				 vm[4].poller_of[0], vm[4].poller_of[1]);
			err = why;
		}
	}
	/* Two sessions on each poller now. One-channel VMs 5 and 6 go to
	 * poller 0 (the lower number on a tie), then poller 1; VM 0 leaves
	 * poller 0. Then a VM of two channels: its first goes to poller 0
	 * (fewer), its second to poller 1 on the tie that follows, as it has
	 * none there yet. */
	if (!err && (!attach(&vm[5], 5, 1) || !attach(&vm[6], 6, 1)))
		err = "out of memory";
	if (!err && (!dealt_to(&vm[5], 0, 0) || !dealt_to(&vm[6], 1, 0)))
		err = "one-channel VMs were not dealt to the poller with the fewest sessions";
	if (!err) {
		detach(&vm[0]);
		if (!attach(&vm[7], 7, 2))
			err = "out of memory";
		else if (!dealt_to(&vm[7], 0, 1))
			err = "a VM's two channels went to one poller on a tie";
	}
	if (!err && (pollers_sessions(&ps.all[0]) != 3 || pollers_sessions(&ps.all[1]) != 4))
		err = "the pollers' sessions are not 3 and 4";
	pollers_stop(&ps);
	for (unsigned v = 0; v < VMS; v++)
		detach(&vm[v]);
	pollers_destroy(&ps);
	services_shutdown();
	return err;
}
