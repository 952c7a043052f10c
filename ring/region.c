/* SPDX-License-Identifier: MIT */
/* Region header: lay out (creator), check and attach (peer), open channels. */
#include <errno.h>
#include <string.h>

#include "layout.h"

static int fail(struct vamos_region *out, int err, const char *why)
{
	out->error = why;
	return err;
}

static const char *check_capacity(uint32_t cap)
{
	if (cap < VAMOS_RING_MIN_CAPACITY || cap > VAMOS_RING_MAX_CAPACITY)
		return "ring capacity out of range";
	if (cap & (cap - 1))
		return "ring capacity is not a power of two";
	return NULL;
}

/* Why @p cannot describe a region, or NULL if it can. */
static const char *check_params(const struct vamos_region_params *p)
{
	const char *why;

	if (p->channel_count == 0 || p->channel_count > VAMOS_REGION_MAX_CHANNELS)
		return "channel count out of range";
	if ((why = check_capacity(p->request_capacity)))
		return why;
	return check_capacity(p->reply_capacity);
}

static uint64_t channel_stride(const struct vamos_region_params *p)
{
	return vamos_ring_bytes(p->request_capacity) +
	       vamos_ring_bytes(p->reply_capacity);
}

size_t vamos_region_size(const struct vamos_region_params *params)
{
	if (!params || check_params(params))
		return 0;
	/* Cannot overflow 64 bits: 4096 channels * 2 * (2^30 + 384) < 2^44. */
	uint64_t total = VAMOS_HEADER_SIZE +
			 (uint64_t)params->channel_count * channel_stride(params);
	if (total > SIZE_MAX)
		return 0;
	return (size_t)total;
}

int vamos_region_init(void *mem, size_t mem_size,
		      const struct vamos_region_params *params,
		      struct vamos_region *out)
{
	memset(out, 0, sizeof(*out));
	if (!mem || !params)
		return fail(out, -EINVAL, "no memory or no params");
	if ((uintptr_t)mem % VAMOS_RECORD_ALIGN)
		return fail(out, -EINVAL, "region memory is not 8-byte aligned");
	const char *why = check_params(params);
	if (why)
		return fail(out, -EINVAL, why);
	size_t need = vamos_region_size(params);
	if (need == 0 || need > mem_size)
		return fail(out, -ENOSPC, "memory too small for these params");

	struct vamos_region_header *h = mem;
	/* Withdraw READY first, so a peer never attaches to a half-new layout. */
	atomic_store_explicit(&h->side[VAMOS_SIDE_HOST].state,
			      VAMOS_STATE_ABSENT, memory_order_release);
	uint64_t epoch = h->magic == VAMOS_REGION_MAGIC ? h->epoch + 1 : 1;

	memset((unsigned char *)mem + VAMOS_HEADER_SIZE, 0,
	       need - VAMOS_HEADER_SIZE);
	h->magic = VAMOS_REGION_MAGIC;
	h->layout_version = VAMOS_REGION_LAYOUT_VERSION;
	h->header_size = VAMOS_HEADER_SIZE;
	h->region_size = need;
	h->features = VAMOS_REGION_KNOWN_FEATURES;
	h->epoch = epoch;
	h->channel_count = params->channel_count;
	h->request_capacity = params->request_capacity;
	h->reply_capacity = params->reply_capacity;
	h->channel_stride = (uint32_t)channel_stride(params);
	atomic_store_explicit(&h->side[0].generation, 0, memory_order_relaxed);
	atomic_store_explicit(&h->side[1].generation, 0, memory_order_relaxed);
	/* Relaxed: a heartbeat orders nothing; 0 says "none yet" until the
	 * host's next beat. */
	atomic_store_explicit(&h->side[0].heartbeat, 0, memory_order_relaxed);
	atomic_store_explicit(&h->side[1].heartbeat, 0, memory_order_relaxed);
	atomic_store_explicit(&h->side[VAMOS_SIDE_GUEST].state,
			      VAMOS_STATE_ABSENT, memory_order_relaxed);
	/* Release: every header field and zeroed ring above is visible to a
	 * peer that reads READY with acquire (vamos_region_attach). */
	atomic_store_explicit(&h->side[VAMOS_SIDE_HOST].state,
			      VAMOS_STATE_READY, memory_order_release);

	out->base = mem;
	out->size = need;
	out->params = *params;
	out->epoch = epoch;
	return 0;
}

/* Read a header field exactly once, even if the peer rewrites it. */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

int vamos_region_attach(void *mem, size_t mem_size, struct vamos_region *out)
{
	memset(out, 0, sizeof(*out));
	if (!mem)
		return fail(out, -EINVAL, "no memory");
	if ((uintptr_t)mem % VAMOS_RECORD_ALIGN)
		return fail(out, -EINVAL, "region memory is not 8-byte aligned");
	if (mem_size < VAMOS_HEADER_SIZE)
		return fail(out, -ENOSPC, "mapping smaller than a region header");

	struct vamos_region_header *h = mem;
	/* Acquire: pairs with the creator's release of READY, so the fields
	 * read below are the ones it wrote before announcing the layout. */
	uint32_t host_state = atomic_load_explicit(
		&h->side[VAMOS_SIDE_HOST].state, memory_order_acquire);
	if (host_state != VAMOS_STATE_READY)
		return fail(out, -EAGAIN, "creator has not laid out the region");

	/* Trust check: each field is read once into a local, checked there,
	 * and only the local is used afterwards. */
	uint64_t magic = READ_ONCE(h->magic);
	uint32_t version = READ_ONCE(h->layout_version);
	uint32_t header_size = READ_ONCE(h->header_size);
	uint64_t region_size = READ_ONCE(h->region_size);
	uint64_t features = READ_ONCE(h->features);
	uint64_t epoch = READ_ONCE(h->epoch);
	uint32_t stride = READ_ONCE(h->channel_stride);
	struct vamos_region_params p = {
		.channel_count = READ_ONCE(h->channel_count),
		.request_capacity = READ_ONCE(h->request_capacity),
		.reply_capacity = READ_ONCE(h->reply_capacity),
	};

	if (magic != VAMOS_REGION_MAGIC)
		return fail(out, -EPROTO, "bad magic: not a vamos region");
	if (version != VAMOS_REGION_LAYOUT_VERSION)
		return fail(out, -ENOTSUP, "unsupported layout version");
	if (features & ~VAMOS_REGION_KNOWN_FEATURES)
		return fail(out, -ENOTSUP, "region uses unknown feature bits");
	if (header_size != VAMOS_HEADER_SIZE)
		return fail(out, -EPROTO, "header size does not match version");
	const char *why = check_params(&p);
	if (why)
		return fail(out, -EPROTO, why);
	if (stride != channel_stride(&p))
		return fail(out, -EPROTO, "channel stride does not match capacities");
	if (region_size != vamos_region_size(&p))
		return fail(out, -EPROTO, "region size does not match its params");
	if (region_size > mem_size)
		return fail(out, -ENOSPC, "region is larger than the mapping");

	out->base = mem;
	out->size = (size_t)region_size;
	out->params = p;
	out->epoch = epoch;
	/* Compared for equality only (vamos_region_current). */
	out->generation = atomic_load_explicit(&h->side[VAMOS_SIDE_HOST].generation,
					       memory_order_relaxed);
	return 0;
}

void vamos_region_set_state(const struct vamos_region *region,
			    enum vamos_side side, enum vamos_side_state state)
{
	struct vamos_region_header *h = (void *)region->base;
	/* Release: what this side did before (e.g. opening channels) is seen
	 * by a peer that reads the new state with acquire. */
	atomic_store_explicit(&h->side[side & 1].state, state,
			      memory_order_release);
}

void vamos_region_beat(const struct vamos_region *region)
{
	struct vamos_region_header *h = (void *)region->base;
	/* Relaxed: the beat says "alive", it publishes no data. A guest may
	 * scribble on the word; only its own view of the host suffers, and 0
	 * (no heartbeat) is skipped so the host never looks absent. */
	uint64_t was = atomic_fetch_add_explicit(&h->side[VAMOS_SIDE_HOST].heartbeat, 1,
						 memory_order_relaxed);
	if (was + 1 == 0)
		atomic_fetch_add_explicit(&h->side[VAMOS_SIDE_HOST].heartbeat, 1,
					  memory_order_relaxed);
}

uint64_t vamos_region_heartbeat(const struct vamos_region *region)
{
	struct vamos_region_header *h = (void *)region->base;
	/* Relaxed, one plain read of the host's word: only compared for
	 * change, never used as a size or an index (trust: any value is
	 * harmless). */
	return atomic_load_explicit(&h->side[VAMOS_SIDE_HOST].heartbeat, memory_order_relaxed);
}

int vamos_region_state(const struct vamos_region *region, enum vamos_side side)
{
	struct vamos_region_header *h = (void *)region->base;
	/* Acquire: pairs with vamos_region_set_state's release. */
	uint32_t s = atomic_load_explicit(&h->side[side & 1].state,
					  memory_order_acquire);
	/* Trust check: the peer wrote this word; only known states pass. */
	if (s > VAMOS_STATE_CLOSED)
		return -EPROTO;
	return (int)s;
}

/* Positions at open are peer-writable too: a consumer starts at its head
 * (it must be aligned and within a capacity of the tail), a producer at its
 * tail. The values are only starting points; every later value is checked
 * against them. */
static int open_producer(struct vamos_producer *p, struct vamos_ring_ctrl *ctrl,
			 uint32_t cap)
{
	memset(p, 0, sizeof(*p));
	p->ctrl = ctrl;
	p->data = ctrl->data;
	p->capacity = cap;
	p->mask = cap - 1;
	uint64_t tail = atomic_load_explicit(&ctrl->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&ctrl->head, memory_order_acquire);
	/* Trust check: both positions aligned and at most a ring apart. */
	if ((tail | head) % VAMOS_RECORD_ALIGN || tail - head > cap) {
		p->broken = "ring positions inconsistent at open";
		return -EPROTO;
	}
	p->tail = p->published = tail;
	p->cached_head = head;
	return 0;
}

static int open_consumer(struct vamos_consumer *c, struct vamos_ring_ctrl *ctrl,
			 uint32_t cap)
{
	memset(c, 0, sizeof(*c));
	c->ctrl = ctrl;
	c->data = ctrl->data;
	c->capacity = cap;
	c->mask = cap - 1;
	uint64_t head = atomic_load_explicit(&ctrl->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&ctrl->tail, memory_order_acquire);
	/* Trust check: both positions aligned and at most a ring apart. */
	if ((tail | head) % VAMOS_RECORD_ALIGN || tail - head > cap) {
		c->broken = "ring positions inconsistent at open";
		return -EPROTO;
	}
	c->head = c->cursor = c->cached_tail = head;
	return 0;
}

int vamos_channel_open(const struct vamos_region *region, uint32_t index,
		       enum vamos_side side, struct vamos_channel *out)
{
	memset(out, 0, sizeof(*out));
	if (!region || !region->base || index >= region->params.channel_count)
		return -EINVAL;
	if (side != VAMOS_SIDE_HOST && side != VAMOS_SIDE_GUEST)
		return -EINVAL;

	const struct vamos_region_params *p = &region->params;
	struct vamos_ring_ctrl *req = vamos_ring_at(region->base, p, index, 0);
	struct vamos_ring_ctrl *rep = vamos_ring_at(region->base, p, index, 1);
	int rc1, rc2;
	if (side == VAMOS_SIDE_HOST) {
		rc1 = open_consumer(&out->rx, req, p->request_capacity);
		rc2 = open_producer(&out->tx, rep, p->reply_capacity);
	} else {
		rc1 = open_producer(&out->tx, req, p->request_capacity);
		rc2 = open_consumer(&out->rx, rep, p->reply_capacity);
	}
	return rc1 ? rc1 : rc2;
}

bool vamos_region_same_layout(const struct vamos_region *region)
{
	const struct vamos_region_header *h = (const void *)region->base;
	/* Acquire: pairs with the host's store of a new epoch when it lays
	 * the region out anew. */
	return __atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE) == region->epoch;
}

int vamos_region_current(const struct vamos_region *region)
{
	const struct vamos_region_header *h = (const void *)region->base;
	int state = vamos_region_state(region, VAMOS_SIDE_HOST);
	if (state < 0)
		return state;
	/* Relaxed: an epoch is compared for equality only; a stale value just
	 * delays the verdict to the next look. The host's READY store is
	 * ordered after its epoch store, and our acquire above pairs with it. */
	uint64_t epoch = __atomic_load_n(&h->epoch, __ATOMIC_RELAXED);
	uint32_t gen = atomic_load_explicit(&h->side[VAMOS_SIDE_HOST].generation,
					    memory_order_relaxed);
	return state == VAMOS_STATE_READY && epoch == region->epoch &&
	       gen == region->generation;
}

void vamos_region_bump_generation(struct vamos_region *region)
{
	struct vamos_region_header *h = (void *)region->base;
	/* Release: whatever this process wrote before (it took the rings
	 * over where they stood) is visible to a peer that sees the bump. */
	region->generation = atomic_fetch_add_explicit(&h->side[VAMOS_SIDE_HOST].generation, 1,
						       memory_order_release) + 1;
}
