/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "link.h"

struct vamos_link *vamos_link_new(void)
{
	struct vamos_link *link = calloc(1, sizeof *link);
	if (link)
		atomic_init(&link->refs, 1);
	return link;
}

struct vamos_link *vamos_link_get(struct vamos_link *link)
{
	if (link)
		atomic_fetch_add_explicit(&link->refs, 1, memory_order_relaxed);
	return link;
}

void vamos_link_put(struct vamos_link *link)
{
	/* Acq-rel: the last owner sees every other owner's writes before it
	 * frees the link. */
	if (link && atomic_fetch_sub_explicit(&link->refs, 1,
					      memory_order_acq_rel) == 1)
		free(link);
}

void vamos_link_cut(struct vamos_link *link, const char *why)
{
	const char *none = NULL;
	atomic_compare_exchange_strong_explicit(&link->gone, &none, why,
						memory_order_acq_rel,
						memory_order_acquire);
}
