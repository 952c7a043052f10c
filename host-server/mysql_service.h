/* SPDX-License-Identifier: MIT */
/*
 * vamosd's mysql service (VAMOS_SERVICE_MYSQL): the MySQL handler protocol
 * (vamos/mysql_protocol.h) for every configured VM, each over its own RocksDB
 * store in data_dir/NAME/mysql, so no VM can name another's tables. Reads
 * are answered on the channel's poller; writes go to the VM's writer
 * thread and come back as completions. A stream session is served as its
 * VM's (a vsock CID a [vm] claims, or the VM's own stream_socket) exactly
 * like an ivshmem channel; a session of no VM (the shared unix_socket)
 * has no store, and the service refuses it with -EPERM.
 */
#ifndef VAMOSD_MYSQL_SERVICE_H
#define VAMOSD_MYSQL_SERVICE_H

#include <stdbool.h>

#include "config.h"

/* Open every VM's store and register the service. 0 or -errno + @why. */
int mysql_service_start(const struct config *cfg, const char **why);
/* VM @vm's guest went away: its contexts end, its writer rolls back. */
void mysql_service_vm_reset(vm_id vm);
/* The executor's counters for VM @vm; false if it has none. */
struct mx_stats;
bool mysql_service_stats(vm_id vm, struct mx_stats *out);
/* Close the stores (after the pollers stopped). */
void mysql_service_stop(void);

#endif
