/* SPDX-License-Identifier: MIT */
/* Frame headers and record walking: every field the peer wrote is loaded
 * once into a local, checked, and only the local is used. */
#include <errno.h>

#include "frame.h"

static int bad(const char **why, const char *what)
{
	*why = what;
	return -EPROTO;
}

void vamos_frame_put_header(unsigned char *dst, uint32_t count, uint32_t body)
{
	vamos_le32_store(dst, VAMOS_FRAME_MAGIC);
	vamos_le32_store(dst + 4, count);
	vamos_le32_store(dst + 8, body);
	vamos_le32_store(dst + 12, 0);
}

int vamos_frame_check_header(const unsigned char *src, uint32_t max_body,
			     uint32_t *count, uint32_t *body, const char **why)
{
	uint32_t magic = vamos_le32_load(src);
	uint32_t n = vamos_le32_load(src + 4);
	uint32_t len = vamos_le32_load(src + 8);
	uint32_t reserved = vamos_le32_load(src + 12);

	/* Trust check: the peer speaks this format and version. */
	if (magic != VAMOS_FRAME_MAGIC)
		return bad(why, "frame has bad magic");
	/* Trust check: no extension we do not understand. */
	if (reserved)
		return bad(why, "frame header has reserved bits set");
	/* Trust check: the body fits the receive buffer we are willing to
	 * have (this bounds every allocation the peer can cause). */
	if (len > max_body)
		return bad(why, "frame body exceeds the maximum frame size");
	/* Trust check: records are 8-byte multiples, so bodies are too. */
	if (len % VAMOS_RECORD_ALIGN)
		return bad(why, "frame body length is not a multiple of 8");
	/* Trust check: a frame is a batch of at least one record. */
	if (n == 0)
		return bad(why, "frame carries no records");
	/* Trust check: every record takes at least its 8-byte header. */
	if (n > len / VAMOS_RECORD_HEADER_SIZE)
		return bad(why, "frame counts more records than its body can hold");
	*count = n;
	*body = len;
	return 0;
}

int vamos_frame_next(const unsigned char *buf, struct vamos_frame_cursor *c,
		     struct vamos_frame_record *rec, const char **why)
{
	size_t avail = c->end - c->off;

	if (c->left == 0) {
		/* Trust check: the records' sizes sum to exactly the body. */
		if (avail)
			return bad(why, "frame body has bytes after its last record");
		return 0;
	}
	/* Trust check: the header word lies inside the body. */
	if (avail < VAMOS_RECORD_HEADER_SIZE)
		return bad(why, "frame body ends before its record count");

	uint64_t word = vamos_le64_load(buf + c->off);
	uint32_t len = (uint32_t)word;
	uint32_t type = (uint32_t)(word >> 32) & 0xffffu;

	/* Trust check: the header's top 16 bits are zero, as the ring's. */
	if (word >> 48)
		return bad(why, "record header has reserved bits set");
	/* Trust check: the type is one an application may use. */
	if (type > VAMOS_RECORD_TYPE_MAX)
		return bad(why, "record has a type above VAMOS_RECORD_TYPE_MAX");
	/* Trust check: header, payload and padding lie inside the body
	 * (64-bit size: no overflow for any 32-bit length). */
	uint64_t size = vamos_record_size(len);
	if (size > avail)
		return bad(why, "record length exceeds its frame");

	rec->payload = c->off + VAMOS_RECORD_HEADER_SIZE;
	rec->len = len;
	rec->type = (uint16_t)type;
	c->off += (size_t)size;
	c->left--;
	return 1;
}

int vamos_frame_validate(const unsigned char *buf, size_t len, uint32_t max_body,
			 size_t *frame_size, uint32_t *records, const char **why)
{
	uint32_t count, body;

	if (len < VAMOS_FRAME_HEADER_SIZE)
		return 0;
	int rc = vamos_frame_check_header(buf, max_body, &count, &body, why);
	if (rc)
		return rc;
	size_t size = VAMOS_FRAME_HEADER_SIZE + (size_t)body;
	if (len < size)
		return 0;

	struct vamos_frame_cursor c = {
		.off = VAMOS_FRAME_HEADER_SIZE,
		.end = size,
		.left = count,
	};
	struct vamos_frame_record rec;
	while ((rc = vamos_frame_next(buf, &c, &rec, why)) > 0)
		;
	if (rc < 0)
		return rc;
	*frame_size = size;
	*records = count;
	return 1;
}
