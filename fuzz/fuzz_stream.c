/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for transport-vsock's receiving side: the input is what
 * a hostile peer writes into the stream. It goes through a real socketpair
 * into a stream channel, which must hand out only records inside the frames
 * it validated, then fail cleanly (-EPROTO or -ECONNRESET) — never crash,
 * never read outside its buffers (ASan), never hang.
 *
 * The first input byte picks how the reader behaves: how many records it
 * takes per poll, and whether it releases after every poll or every other,
 * so buffer compaction and growth are exercised too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vamos/vsock.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 100000)
		return 0;
	unsigned mode = data[0];
	data++;
	size--;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	int sndbuf = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	size_t off = 0;
	while (off < size) {
		ssize_t n = write(sv[0], data + off, size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(sv[0]);

	struct vamos_chan *ch;
	struct vamos_stream_params p = { .max_frame = VAMOS_STREAM_MIN_MAX_FRAME };
	if (vamos_stream_open_fd(sv[1], &p, &ch))
		abort();
	unsigned take = 1 + (mode & 7);
	int release_every = 1 + ((mode >> 3) & 1);
	struct vamos_record recs[8];
	uint64_t sum = 0;
	for (int round = 0;; round++) {
		int n = vamos_chan_poll(ch, recs, take);
		if (n < 0) {
			/* Only the sticky failures end a stream; both explain. */
			if (n != -EPROTO && n != -ECONNRESET && n != -EIO && n != -ENOMEM)
				abort();
			if ((n == -EPROTO || n == -ECONNRESET) && !vamos_chan_error(ch))
				abort();
			break;
		}
		for (int i = 0; i < n; i++) {
			const unsigned char *b = recs[i].data;
			/* Touch every byte handed out: ASan checks the bounds. */
			for (uint32_t j = 0; j < recs[i].len; j++)
				sum += b[j];
			if (recs[i].type > VAMOS_RECORD_TYPE_MAX)
				abort();
		}
		if (n == 0) {
			int rc = vamos_chan_wait(ch, 1000);
			if (rc == -ETIMEDOUT) /* held records fill the buffer */
				vamos_chan_release(ch);
			else if (rc < 0)
				break;
		}
		if (round % release_every == 0)
			vamos_chan_release(ch);
	}
	vamos_chan_close(ch);
	return sum == 42 ? 0 : 0;
}
