/* SPDX-License-Identifier: MIT */
/* vamosd's configuration: a small file of `key = value` lines with one
 * `[vm NAME]` section per VM, and flags that override or add to it. */
#ifndef VAMOSD_CONFIG_H
#define VAMOSD_CONFIG_H

#include <stdint.h>

#define CONFIG_MAX_VMS 64
#define CONFIG_PATH_MAX 256
#define CONFIG_NAME_MAX 63 /* a VM's name, without its NUL */
#define CONFIG_MAX_POLLERS 64 /* pollers */

/* A VM's identity inside vamosd: its position in the configuration (1..),
 * set by config_add_vm. Services key their per-VM state by it, never by a
 * name, which an operator or a guest could make collide. 0 is no VM: a
 * stream session belongs to none. */
typedef uint32_t vm_id;
#define VM_NONE ((vm_id)0)

struct vm_config {
	vm_id id;
	char name[64];
	char socket[CONFIG_PATH_MAX];   /* ivshmem server socket (required) */
	char shm_path[CONFIG_PATH_MAX]; /* "" = memfd */
	uint32_t channels;              /* ring pairs in the region */
	uint32_t ring_bytes;            /* per ring, power of two */
	uint32_t vectors;               /* eventfds per peer = QEMU's vectors= */
	uint64_t shm_size;              /* 0 = smallest power of two that fits */
	uint32_t max_queued_requests;   /* blocking requests waiting, per VM */
	uint64_t max_queued_bytes;      /* their copied bytes, per VM */
	uint32_t cid;                   /* the guest's vsock CID; 0 = none */
	char stream_socket[CONFIG_PATH_MAX]; /* its own UNIX stream socket; "" = none */
	uint32_t stream_socket_mode;    /* that socket's permission bits */
};

struct config {
	char data_dir[CONFIG_PATH_MAX];
	char control_socket[CONFIG_PATH_MAX];
	char unix_socket[CONFIG_PATH_MAX]; /* "" = none */
	uint32_t vsock_port;               /* 0 = no vsock listener */
	int log_level;
	uint32_t pollers;                  /* poller threads of the host, shared by
					    * every VM's channels (default: half the
					    * CPUs online) */
	uint32_t blocking_threads;         /* pool for services that block */
	int64_t spin_ns;                   /* pollers spin this long before sleeping */
	uint32_t balance_ms;               /* move sessions between pollers by load
					    * this often (0: never; pollers_balance.h) */
	uint32_t mysql_lock_wait_ms;       /* mysql: a writer waits this long */
	uint32_t mysql_block_cache_mb;     /* mysql: block cache of all VMs, MiB */
	uint32_t mysql_write_buffer_mb;    /* mysql: memtables per VM, MiB */
	uint32_t mysql_background_threads; /* mysql: flushes and compactions */
	uint32_t mysql_max_workers;        /* mysql: worker pool threads per VM */
	int mysql_sync;                    /* mysql: enum mh_sync */
	uint32_t mysql_max_request_mb;     /* mysql: largest request or reply in
					      pieces (FRAGMENT), MiB */
	struct vm_config vms[CONFIG_MAX_VMS];
	unsigned vm_count;
};

/* Defaults, before the file and the flags. */
/* pollers' default: half the CPUs online (1 to CONFIG_MAX_POLLERS).
 * The guests' threads run on the same cores, and a poller spinning beside
 * a client that needs the core delays both: on 2 cores, two pollers for
 * two channels echoing one request at a time answered 3x fewer than one. */
unsigned config_default_pollers(void);
void config_defaults(struct config *c);

/* Apply the file at @path. Returns 0, or -1 with @err (line and reason). */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* Apply one `key = value` in section @vm (NULL: global). 0 or -1 + @err. */
int config_set(struct config *c, struct vm_config *vm, const char *key,
	       const char *value, char *err, size_t errlen);

/* A new VM section with defaults, or NULL (too many / duplicate name). */
struct vm_config *config_add_vm(struct config *c, const char *name, char *err,
				size_t errlen);

/* Check the whole thing (sockets given, sizes powers of two, no CID or
 * stream socket claimed twice). */
int config_check(const struct config *c, char *err, size_t errlen);

#endif
