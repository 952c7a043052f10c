/* SPDX-License-Identifier: MIT */
/*
 * Restarting vamosd without its VMs noticing: the environment variable that
 * carries each VM's ivshmem descriptors to the next process ("NAME=TEXT"
 * lines, TEXT from vamos_ivshmem_server_handover()), written by a worker
 * that re-executes itself (SIGUSR2, vms_handover_all() in vm.h) or by the
 * keeper starting a worker.
 */
#ifndef VAMOSD_HANDOVER_H
#define VAMOSD_HANDOVER_H

#include <stdbool.h>

#define HANDOVER_ENV "VAMOS_HANDOVER"
#define HANDOVER_MAX (64u << 10)

/* One VM's part of what a predecessor handed over. */
struct handover_entry {
	const char *name;
	const char *text;
	bool used;
};

/* Split @env in place into at most @max entries. */
unsigned handover_parse(char *env, struct handover_entry *e, unsigned max);

#endif
