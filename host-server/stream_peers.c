/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <linux/vm_sockets.h>

#include "stream_peers.h"

static const struct vm_config *served(const struct config *serving, const char *name)
{
	for (unsigned i = 0; i < serving->vm_count; i++)
		if (!strcmp(serving->vms[i].name, name))
			return &serving->vms[i];
	return NULL;
}

int stream_peers_build(struct stream_peers *out, const struct config *serving,
		       const struct config *wanted, unsigned *unserved, char *err,
		       size_t errlen)
{
	struct stream_peers m = { .count = 0 };
	*unserved = 0;
	for (unsigned i = 0; i < wanted->vm_count; i++) {
		const struct vm_config *w = &wanted->vms[i];
		if (!w->cid)
			continue;
		for (unsigned k = 0; k < i; k++)
			if (wanted->vms[k].cid == w->cid) {
				snprintf(err, errlen, "vm %s: cid %u is vm %s's already", w->name,
					 w->cid, wanted->vms[k].name);
				return -1;
			}
		const struct vm_config *s = served(serving, w->name);
		if (!s) {
			(*unserved)++;
			continue;
		}
		m.peers[m.count++] = (struct stream_peer){ .cid = w->cid, .vm = s->id,
							   .name = s->name };
	}
	*out = m;
	return 0;
}

const struct stream_peer *stream_peers_find(const struct stream_peers *m, uint32_t cid)
{
	for (unsigned i = 0; i < m->count; i++)
		if (m->peers[i].cid == cid)
			return &m->peers[i];
	return NULL;
}

const struct stream_peer *stream_peers_of_address(const struct stream_peers *m,
						  const void *addr, socklen_t len)
{
	struct sockaddr_vm peer;
	/* Trust: the kernel's address, still checked whole and copied once; a
	 * short or foreign one belongs to nobody. */
	if (len < sizeof peer)
		return NULL;
	memcpy(&peer, addr, sizeof peer);
	if (peer.svm_family != AF_VSOCK)
		return NULL;
	return stream_peers_find(m, peer.svm_cid);
}
