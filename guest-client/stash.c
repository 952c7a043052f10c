/* SPDX-License-Identifier: MIT */
/*
 * Completions that wait for their thread: replies another thread of a
 * shared session took off the channel, replies that came while a
 * vamos_call waited for its own, and the -ECONNRESET of a dead session.
 * A pool of entries linked into per-thread lists; each entry keeps its
 * byte buffer when freed, so steady traffic allocates nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A freed entry keeps a buffer up to this size for the next reply. */
#define KEEP_BUFFER 65536u

void stash_free_all(struct stash *st)
{
	for (uint32_t i = 0; i < st->count; i++)
		free(st->e[i].buf);
	free(st->e);
	memset(st, 0, sizeof *st);
	st->free_head = STASH_NONE;
}

int32_t stash_alloc(struct stash *st, uint32_t len)
{
	int32_t i = st->free_head;
	if (i != STASH_NONE) {
		st->free_head = st->e[i].next;
	} else {
		if (st->count == st->cap) {
			uint32_t cap = st->cap ? st->cap * 2 : 64;
			if (cap > (uint32_t)INT32_MAX / 2)
				return -ENOMEM;
			struct stash_entry *e = realloc(st->e, cap * sizeof *e);
			if (!e)
				return -ENOMEM;
			st->e = e;
			st->cap = cap;
		}
		i = (int32_t)st->count++;
		memset(&st->e[i], 0, sizeof st->e[i]);
	}
	struct stash_entry *e = &st->e[i];
	if (len > e->cap) {
		unsigned char *buf = malloc(len);
		if (!buf) {
			e->next = st->free_head;
			st->free_head = i;
			return -ENOMEM;
		}
		free(e->buf);
		e->buf = buf;
		e->cap = len;
	}
	e->next = STASH_NONE;
	e->len = 0;
	e->status = 0;
	e->death = 0;
	return i;
}

void stash_release(struct stash *st, int32_t i)
{
	struct stash_entry *e = &st->e[i];
	if (e->cap > KEEP_BUFFER) {
		free(e->buf);
		e->buf = NULL;
		e->cap = 0;
	}
	e->next = st->free_head;
	st->free_head = i;
}

void stash_push(struct stash *st, struct stash_list *l, int32_t i)
{
	st->e[i].next = STASH_NONE;
	if (l->tail == STASH_NONE)
		l->head = i;
	else
		st->e[l->tail].next = i;
	l->tail = i;
}

int32_t stash_pop(struct stash *st, struct stash_list *l)
{
	int32_t i = l->head;
	if (i == STASH_NONE)
		return i;
	l->head = st->e[i].next;
	if (l->head == STASH_NONE)
		l->tail = STASH_NONE;
	st->e[i].next = STASH_NONE;
	return i;
}

void stash_release_list(struct stash *st, struct stash_list *l)
{
	int32_t i;
	while ((i = stash_pop(st, l)) != STASH_NONE)
		stash_release(st, i);
}
