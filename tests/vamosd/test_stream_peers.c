/* SPDX-License-Identifier: MIT */
/* Which VM a vsock connection belongs to (host-server/stream_peers.c):
 * `cid = N` in a [vm] section, checked by the configuration, looked up for
 * every connection, and rebuilt on reload. No vsock socket needed: the CID
 * is what the kernel would report in accept()'s struct sockaddr_vm. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "../../host-server/config.h"
#include "../../host-server/stream_peers.h"

static char err[512];

/* A configuration of VMs named @names (socket = NAME.sock) with @cids
 * (0: none). */
static void make(struct config *c, unsigned n, const char *const *names, const uint32_t *cids)
{
	config_defaults(c);
	for (unsigned i = 0; i < n; i++) {
		struct vm_config *vm = config_add_vm(c, names[i], err, sizeof err);
		cr_assert_not_null(vm, "%s", err);
		char sock[64], cid[16];
		snprintf(sock, sizeof sock, "/run/%s.sock", names[i]);
		cr_assert_eq(config_set(c, vm, "socket", sock, err, sizeof err), 0, "%s", err);
		if (cids[i]) {
			snprintf(cid, sizeof cid, "%u", cids[i]);
			cr_assert_eq(config_set(c, vm, "cid", cid, err, sizeof err), 0, "%s", err);
		}
	}
}

static vm_id vm_of(const struct stream_peers *m, uint32_t cid)
{
	const struct stream_peer *p = stream_peers_find(m, cid);
	return p ? p->vm : VM_NONE;
}

Test(stream_peers, a_cid_maps_to_the_vm_that_claims_it_and_no_other_cid_maps)
{
	static struct config c;
	const char *const names[] = { "web", "db", "batch" };
	const uint32_t cids[] = { 3, 0, 42 };
	make(&c, 3, names, cids);
	cr_assert_eq(config_check(&c, err, sizeof err), 0, "%s", err);
	struct stream_peers m;
	unsigned unserved = 9;
	cr_assert_eq(stream_peers_build(&m, &c, &c, &unserved, err, sizeof err), 0, "%s", err);
	cr_assert_eq(unserved, 0);
	cr_assert_eq(m.count, 2);
	cr_assert_eq(vm_of(&m, 3), c.vms[0].id);
	cr_assert_str_eq(stream_peers_find(&m, 3)->name, "web");
	cr_assert_eq(vm_of(&m, 42), c.vms[2].id);
	/* Unknown CIDs, the well-known ones and "any" are nobody's: refused. */
	const uint32_t nobody[] = { 0, 1, 2, 4, 41, 43, VMADDR_CID_ANY };
	for (size_t i = 0; i < sizeof nobody / sizeof nobody[0]; i++)
		cr_assert_null(stream_peers_find(&m, nobody[i]), "cid %u", nobody[i]);
}

Test(stream_peers, two_vms_with_one_cid_are_a_config_error)
{
	static struct config c;
	const char *const names[] = { "a", "b" };
	const uint32_t cids[] = { 7, 7 };
	make(&c, 2, names, cids);
	cr_assert_eq(config_check(&c, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "cid 7"), "%s", err);
	struct stream_peers m = { .count = 5 };
	unsigned unserved;
	cr_assert_eq(stream_peers_build(&m, &c, &c, &unserved, err, sizeof err), -1);
	cr_assert_eq(m.count, 5, "a refused build leaves the map as it was");
}

Test(stream_peers, a_cid_must_be_a_guests)
{
	static struct config c;
	config_defaults(&c);
	struct vm_config *vm = config_add_vm(&c, "g", err, sizeof err);
	/* 0 hypervisor, 1 loopback, 2 host, -1 any; then no number at all. */
	const char *const bad[] = { "0", "1", "2", "4294967295", "4294967296", "-3", "x", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(config_set(&c, vm, "cid", bad[i], err, sizeof err), -1, "cid = %s",
			     bad[i]);
	cr_assert_eq(vm->cid, 0);
	cr_assert_eq(config_set(&c, vm, "cid", "3", err, sizeof err), 0);
	cr_assert_eq(config_set(&c, NULL, "cid", "5", err, sizeof err), -1,
		     "cid belongs in a [vm] section");
}

Test(stream_peers, reload_moves_adds_and_removes_cids_of_served_vms)
{
	static struct config serving, wanted;
	const char *const names[] = { "a", "b", "c" };
	const uint32_t before[] = { 3, 4, 0 };
	make(&serving, 3, names, before);
	/* The file now: a lost its cid, b has a new one, c has one, a new VM d
	 * has one, and the sections are in another order. */
	const char *const names2[] = { "d", "c", "b", "a" };
	const uint32_t after[] = { 9, 3, 5, 0 };
	make(&wanted, 4, names2, after);
	struct stream_peers m;
	unsigned unserved;
	cr_assert_eq(stream_peers_build(&m, &serving, &wanted, &unserved, err, sizeof err), 0,
		     "%s", err);
	cr_assert_eq(unserved, 1, "d is not served before a restart");
	cr_assert_eq(m.count, 2);
	/* VM identities are the served ones, by name, not the file's order. */
	cr_assert_eq(vm_of(&m, 3), serving.vms[2].id, "cid 3 is c's now");
	cr_assert_eq(vm_of(&m, 5), serving.vms[1].id);
	cr_assert_eq(vm_of(&m, 4), VM_NONE, "b's old cid is nobody's");
	cr_assert_eq(vm_of(&m, 9), VM_NONE, "d is not served");
	cr_assert_str_eq(stream_peers_find(&m, 3)->name, "c");
	cr_assert_eq(stream_peers_find(&m, 3)->name, serving.vms[2].name,
		     "names point into the served configuration");
}

Test(stream_peers, a_stream_socket_has_one_owner_and_octal_permissions)
{
	static struct config c;
	const char *const names[] = { "a", "b" };
	const uint32_t cids[] = { 0, 0 };
	make(&c, 2, names, cids);
	cr_assert_eq(c.vms[0].stream_socket_mode, 0600, "private by default");
	cr_assert_eq(config_set(&c, &c.vms[0], "stream_socket_mode", "660", err, sizeof err), 0);
	cr_assert_eq(c.vms[0].stream_socket_mode, 0660);
	const char *const bad[] = { "8", "1777", "-1", "rw", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(config_set(&c, &c.vms[0], "stream_socket_mode", bad[i], err,
					sizeof err), -1, "%s", bad[i]);
	cr_assert_eq(config_set(&c, &c.vms[0], "stream_socket", "/run/a.stream", err, sizeof err), 0);
	cr_assert_eq(config_check(&c, err, sizeof err), 0, "%s", err);
	cr_assert_eq(config_set(&c, &c.vms[1], "stream_socket", "/run/a.stream", err, sizeof err), 0);
	cr_assert_eq(config_check(&c, err, sizeof err), -1, "two VMs on one stream socket");
	cr_assert_eq(config_set(&c, &c.vms[1], "stream_socket", "/run/a.sock", err, sizeof err), 0);
	cr_assert_eq(config_check(&c, err, sizeof err), -1, "b's stream socket is a's ivshmem one");
	cr_assert_eq(config_set(&c, &c.vms[1], "stream_socket", "/run/b.stream", err, sizeof err), 0);
	cr_assert_eq(config_check(&c, err, sizeof err), 0, "%s", err);
}

/* What accept() reports, judged: a whole AF_VSOCK address of a claimed
 * CID is that VM; a short address, another family or an unclaimed CID is
 * nobody's. */
Test(stream_peers, an_accepted_address_is_judged_whole)
{
	static struct config c;
	const char *const names[] = { "g" };
	const uint32_t cids[] = { 11 };
	make(&c, 1, names, cids);
	struct stream_peers m;
	unsigned unserved;
	cr_assert_eq(stream_peers_build(&m, &c, &c, &unserved, err, sizeof err), 0, "%s", err);
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = 11, .svm_port = 1234 };
	const struct stream_peer *p = stream_peers_of_address(&m, &a, sizeof a);
	cr_assert_not_null(p);
	cr_assert_eq(p->vm, c.vms[0].id);
	cr_assert_null(stream_peers_of_address(&m, &a, sizeof a - 1), "short");
	cr_assert_null(stream_peers_of_address(&m, &a, 0), "empty");
	a.svm_family = AF_UNIX;
	cr_assert_null(stream_peers_of_address(&m, &a, sizeof a), "not vsock");
	a.svm_family = AF_VSOCK;
	a.svm_cid = 12;
	cr_assert_null(stream_peers_of_address(&m, &a, sizeof a), "unclaimed");
}
