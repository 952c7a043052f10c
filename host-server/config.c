/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vamos/client.h>
#include <vamos/ivshmem.h>
#include <vamos/vsock.h> /* VMADDR_CID_* */

#include "config.h"
#include "log.h"

unsigned config_default_pollers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN) / 2;
	return n < 1 ? 1 : n > CONFIG_MAX_POLLERS ? CONFIG_MAX_POLLERS : (unsigned)n;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->data_dir, sizeof c->data_dir, "/var/lib/vamos");
	snprintf(c->control_socket, sizeof c->control_socket, "/run/vamos/control.sock");
	c->vsock_port = 0;
	c->log_level = LOG_INFO;
	c->pollers = config_default_pollers();
	c->blocking_threads = 4;
	c->spin_ns = 50000;
	c->balance_ms = 100;
	c->mysql_lock_wait_ms = 50000;
	c->mysql_max_request_mb = 64;
	c->mysql_block_cache_mb = 64;
	c->mysql_write_buffer_mb = 16;
	c->mysql_background_threads = 2;
	c->mysql_max_workers = 64;
}

static void vm_defaults(struct vm_config *vm, const char *name)
{
	memset(vm, 0, sizeof *vm);
	snprintf(vm->name, sizeof vm->name, "%s", name);
	vm->channels = 4;
	vm->ring_bytes = 1u << 18;
	vm->vectors = 4;
	vm->max_queued_requests = 1024;
	vm->max_queued_bytes = 64u << 20;
	vm->stream_socket_mode = 0600;
}

struct vm_config *config_add_vm(struct config *c, const char *name, char *err,
				size_t errlen)
{
	if (!*name || strlen(name) >= sizeof c->vms[0].name) {
		snprintf(err, errlen, "VM name '%s' is empty or too long", name);
		return NULL;
	}
	for (unsigned i = 0; i < c->vm_count; i++)
		if (!strcmp(c->vms[i].name, name)) {
			snprintf(err, errlen, "VM '%s' is configured twice", name);
			return NULL;
		}
	if (c->vm_count == CONFIG_MAX_VMS) {
		snprintf(err, errlen, "more than %d VMs", CONFIG_MAX_VMS);
		return NULL;
	}
	struct vm_config *vm = &c->vms[c->vm_count++];
	vm_defaults(vm, name);
	vm->id = c->vm_count;
	return vm;
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || end == v || *v == '-')
		return -1;
	/* Size suffixes, as people write them in config files. */
	if (*end == 'K' || *end == 'k')
		x <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		x <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		x <<= 30, end++;
	if (*end)
		return -1;
	*out = x;
	return 0;
}

/* Permission bits in octal, as chmod takes them (600, 0660). */
static int parse_mode(const char *v, uint32_t *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long m = strtoul(v, &end, 8);
	if (errno || end == v || *end || *v == '-' || m > 0777) {
		snprintf(err, errlen, "stream_socket_mode = %s: want octal permission bits "
				      "such as 0600", v);
		return -1;
	}
	*out = (uint32_t)m;
	return 0;
}

static int set_path(char *dst, const char *value, const char *key, char *err,
		    size_t errlen)
{
	if (strlen(value) >= CONFIG_PATH_MAX) {
		snprintf(err, errlen, "%s is too long", key);
		return -1;
	}
	strcpy(dst, value);
	return 0;
}

int config_set(struct config *c, struct vm_config *vm, const char *key,
	       const char *value, char *err, size_t errlen)
{
	uint64_t n = 0;
	int numeric = parse_u64(value, &n) == 0;
	if (vm) {
		if (!strcmp(key, "socket"))
			return set_path(vm->socket, value, key, err, errlen);
		if (!strcmp(key, "shm_path"))
			return set_path(vm->shm_path, value, key, err, errlen);
		if (numeric && !strcmp(key, "channels") && n >= 1 && n <= 1024)
			return vm->channels = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "ring_bytes") && n <= VAMOS_RING_MAX_CAPACITY)
			return vm->ring_bytes = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "vectors") && n >= 1 &&
		    n <= VAMOS_IVSHMEM_MAX_VECTORS)
			return vm->vectors = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "shm_size"))
			return vm->shm_size = n, 0;
		if (numeric && !strcmp(key, "max_queued_requests") && n >= 1 && n <= 1u << 20)
			return vm->max_queued_requests = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "max_queued_bytes") && n >= 1)
			return vm->max_queued_bytes = n, 0;
		/* CIDs 0-2 are the hypervisor, loopback and the host; -1 is "any". */
		if (numeric && !strcmp(key, "cid") && n > VMADDR_CID_HOST && n < VMADDR_CID_ANY)
			return vm->cid = (uint32_t)n, 0;
		if (!strcmp(key, "stream_socket"))
			return set_path(vm->stream_socket, value, key, err, errlen);
		if (!strcmp(key, "stream_socket_mode"))
			return parse_mode(value, &vm->stream_socket_mode, err, errlen);
	} else {
		if (!strcmp(key, "data_dir"))
			return set_path(c->data_dir, value, key, err, errlen);
		if (!strcmp(key, "control_socket"))
			return set_path(c->control_socket, value, key, err, errlen);
		if (!strcmp(key, "unix_socket"))
			return set_path(c->unix_socket, value, key, err, errlen);
		if (numeric && !strcmp(key, "vsock_port") && n <= UINT32_MAX)
			return c->vsock_port = (uint32_t)n, 0;
		if (!strcmp(key, "log_level") && log_parse_level(value) >= 0)
			return c->log_level = log_parse_level(value), 0;
		if (numeric && !strcmp(key, "pollers") && n >= 1 && n <= CONFIG_MAX_POLLERS)
			return c->pollers = (uint32_t)n, 0;
		/* Deprecated: pollers were per VM; now the host's are shared.
		 * Its value still loads, as the host's count. */
		if (numeric && !strcmp(key, "pollers_per_vm") && n >= 1 && n <= CONFIG_MAX_POLLERS) {
			log_warn("config: pollers_per_vm is deprecated: read as pollers = %u "
				 "(the host's pollers, shared by every VM)", (unsigned)n);
			return c->pollers = (uint32_t)n, 0;
		}
		if (numeric && !strcmp(key, "blocking_threads") && n >= 1 && n <= 256)
			return c->blocking_threads = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "spin_us") && n <= 1000000)
			return c->spin_ns = (int64_t)n * 1000, 0;
		if (numeric && !strcmp(key, "balance_ms") && n <= 60000)
			return c->balance_ms = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "mysql_lock_wait_ms") && n >= 1 && n <= 3600000)
			return c->mysql_lock_wait_ms = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "mysql_max_request_mb") && n >= 1 && n <= 1024)
			return c->mysql_max_request_mb = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "mysql_block_cache_mb") && n >= 1 && n <= (1u << 20))
			return c->mysql_block_cache_mb = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "mysql_write_buffer_mb") && n >= 1 && n <= (1u << 16))
			return c->mysql_write_buffer_mb = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "mysql_background_threads") && n >= 1 && n <= 64)
			return c->mysql_background_threads = (uint32_t)n, 0;
		if (numeric && !strcmp(key, "mysql_max_workers") && n >= 1 && n <= 4096)
			return c->mysql_max_workers = (uint32_t)n, 0;
		if (!strcmp(key, "mysql_map_mb")) {
			snprintf(err, errlen, "mysql_map_mb is gone: the RocksDB store grows as "
					      "needed (see mysql_write_buffer_mb, mysql_block_cache_mb)");
			return -1;
		}
		if (!strcmp(key, "mysql_sync")) {
			/* full | off: see mysql-handler/store.h (enum mh_sync) */
			static const char *const names[] = { "full", "off" };
			for (int k = 0; k < 2; k++)
				if (!strcmp(value, names[k]))
					return c->mysql_sync = k, 0;
			snprintf(err, errlen, "mysql_sync = %s: the valid values are full and off",
				 value);
			return -1;
		}
	}
	snprintf(err, errlen, "unknown key or bad value: %s = %s%s", key, value,
		 vm ? " (in a [vm] section)" : "");
	return -1;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024], why[256];
	struct vm_config *vm = NULL;
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *s = trim(line);
		char *hash = strchr(s, '#');
		if (hash)
			*hash = 0, s = trim(s);
		if (!*s)
			continue;
		if (*s == '[') {
			char name[128];
			if (sscanf(s, "[vm %127[^]]]", name) != 1) {
				snprintf(why, sizeof why, "expected [vm NAME]");
				rc = -1;
			} else if (!(vm = config_add_vm(c, trim(name), why, sizeof why))) {
				rc = -1;
			}
		} else {
			char *eq = strchr(s, '=');
			if (!eq) {
				snprintf(why, sizeof why, "expected key = value");
				rc = -1;
			} else {
				*eq = 0;
				rc = config_set(c, vm, trim(s), trim(eq + 1), why, sizeof why);
			}
		}
		if (rc) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			break;
		}
	}
	fclose(f);
	return rc;
}

/* Does VM @i claim a CID or a socket path that an earlier VM or a global
 * socket has? -1 with @err naming both, else 0. */
static int check_claims(const struct config *c, unsigned i, char *err, size_t errlen)
{
	const struct vm_config *vm = &c->vms[i];
	for (unsigned k = 0; k < i; k++) {
		const struct vm_config *o = &c->vms[k];
		if (vm->cid && vm->cid == o->cid) {
			snprintf(err, errlen, "vm %s: cid %u is vm %s's already", vm->name, vm->cid,
				 o->name);
			return -1;
		}
		if ((vm->stream_socket[0] && (!strcmp(vm->stream_socket, o->stream_socket) ||
					      !strcmp(vm->stream_socket, o->socket))) ||
		    (o->stream_socket[0] && !strcmp(o->stream_socket, vm->socket))) {
			snprintf(err, errlen, "vm %s and vm %s: one path for two sockets",
				 vm->name, o->name);
			return -1;
		}
	}
	if (vm->stream_socket[0] && (!strcmp(vm->stream_socket, c->unix_socket) ||
				     !strcmp(vm->stream_socket, c->control_socket) ||
				     !strcmp(vm->stream_socket, vm->socket))) {
		snprintf(err, errlen, "vm %s: stream_socket %s is another socket's path",
			 vm->name, vm->stream_socket);
		return -1;
	}
	return 0;
}

static int pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int config_check(const struct config *c, char *err, size_t errlen)
{
	if (!c->vm_count && !c->unix_socket[0] && !c->vsock_port) {
		snprintf(err, errlen, "nothing to serve: no [vm] section, no unix_socket, no vsock_port");
		return -1;
	}
	for (unsigned i = 0; i < c->vm_count; i++) {
		const struct vm_config *vm = &c->vms[i];
		if (!vm->socket[0]) {
			snprintf(err, errlen, "vm %s: no socket", vm->name);
			return -1;
		}
		if (!pow2(vm->ring_bytes) || vm->ring_bytes < 4096) {
			snprintf(err, errlen, "vm %s: ring_bytes must be a power of two >= 4096",
				 vm->name);
			return -1;
		}
		if (vm->shm_size && !pow2(vm->shm_size)) {
			snprintf(err, errlen, "vm %s: shm_size must be a power of two", vm->name);
			return -1;
		}
		if (check_claims(c, i, err, errlen))
			return -1;
	}
	return 0;
}
