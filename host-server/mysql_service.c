/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <vamos/protocol.h>

#include "executor.h"
#include "store.h"
#include "log.h"
#include "mysql_service.h"
#include "reply.h"
#include "service.h"

/* One executor per configured VM, keyed by the VM's identity (never its
 * name: see vm_id); fixed once started. */
static struct {
	vm_id id;
	struct mx_vm *vm;
} vms[CONFIG_MAX_VMS];
static unsigned vm_count;
/* The block cache and background threads every VM's store shares. */
static struct mh_shared *shared;

/* VM_NONE (a stream session) matches no executor. */
static struct mx_vm *find(vm_id id)
{
	for (unsigned i = 0; id != VM_NONE && i < vm_count; i++)
		if (vms[i].id == id)
			return vms[i].vm;
	return NULL;
}

/* The executor's view of one request on a poller. */
struct glue {
	struct mx_call call;
	struct reply *rep;
};

static int reserve(struct mx_call *c, uint32_t len, void **buf)
{
	return reply_reserve(((struct glue *)c)->rep, len, buf);
}

static void *defer(struct mx_call *c)
{
	return reply_defer(((struct glue *)c)->rep);
}

static void done(void *token, int status, const void *data, uint32_t len)
{
	deferred_reply_send(token, status, data, len);
}

static int handle(void *ctx, const struct service_request *req, struct reply *rep)
{
	(void)ctx;
	struct mx_vm *vm = find(req->vm);
	if (!vm)
		return -EPERM; /* a stream session: no VM, so no store */
	struct glue g = {
		.call = { .op = req->op, .data = req->data, .len = req->len,
			  .max_reply = rep->max_payload,
			  /* Both rings of a channel have one size and both headers
			   * 16 bytes: requests and replies have one limit. */
			  .max_request = rep->max_payload,
			  .reserve = reserve, .defer = defer },
		.rep = rep,
	};
	int rc = mx_handle(vm, &g.call);
	if (rc == MX_DEFERRED)
		return 0;
	if (rc != -EAGAIN && rep->at)
		reply_commit(rep, rc, g.call.reply_len);
	return rc;
}

int mysql_service_start(const struct config *cfg, const char **why)
{
	struct mh_shared_options so = {
		.block_cache = (size_t)cfg->mysql_block_cache_mb << 20,
		.background_threads = cfg->mysql_background_threads,
	};
	int src = mh_shared_create(&so, &shared);
	if (src) {
		*why = "cannot make the stores' shared cache and threads";
		return src;
	}
	struct mx_options opt = {
		.write_buffer = (size_t)cfg->mysql_write_buffer_mb << 20,
		.shared = shared,
		.lock_wait_ms = cfg->mysql_lock_wait_ms,
		.max_workers = cfg->mysql_max_workers,
		.sync = cfg->mysql_sync,
	};
	for (unsigned i = 0; i < cfg->vm_count; i++) {
		char dir[CONFIG_PATH_MAX + 160];
		/* The store lives in the VM's own directory, named by the host's
		 * configuration (vm.c creates it). */
		snprintf(dir, sizeof dir, "%s/%s", cfg->data_dir, cfg->vms[i].name);
		if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
			*why = "cannot create the data directory";
			return -errno;
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			*why = "cannot create the VM's data directory";
			return -errno;
		}
		snprintf(dir, sizeof dir, "%s/%s/mysql", cfg->data_dir, cfg->vms[i].name);
		int rc = mx_vm_open(dir, cfg->vms[i].name, &opt, done, &vms[i].vm, why);
		if (rc) {
			mysql_service_stop();
			return rc;
		}
		vms[i].id = cfg->vms[i].id;
		vm_count = i + 1;
	}
	static const struct service svc = { .id = VAMOS_SERVICE_MYSQL, .name = "mysql",
					    .handle = handle };
	int rc = services_register(&svc);
	if (rc)
		*why = "cannot register the service";
	return rc;
}

void mysql_service_vm_reset(vm_id id)
{
	struct mx_vm *vm = find(id);
	if (vm)
		mx_vm_reset(vm);
}

bool mysql_service_stats(vm_id id, struct mx_stats *out)
{
	struct mx_vm *vm = find(id);
	if (vm)
		*out = mx_vm_stats(vm);
	return vm != NULL;
}

void mysql_service_stop(void)
{
	for (unsigned i = 0; i < vm_count; i++) {
		mx_vm_close(vms[i].vm);
		vms[i].vm = NULL;
	}
	vm_count = 0;
	mh_shared_destroy(shared); /* after every store that used it */
	shared = NULL;
}
