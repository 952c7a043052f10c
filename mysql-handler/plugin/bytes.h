/* SPDX-License-Identifier: MIT */
/* Little helpers to build and read the wire's byte strings (std::string as
 * a byte buffer: requests, encoded keys, packed rows). */
#ifndef HA_VAMOS_BYTES_H
#define HA_VAMOS_BYTES_H

#include <stdint.h>
#include <string.h>
#include <string>

namespace vamos {

template <typename T> inline void put(std::string *b, const T &v)
{
	b->append(reinterpret_cast<const char *>(&v), sizeof v);
}

inline void put_bytes(std::string *b, const void *p, size_t n)
{
	b->append(static_cast<const char *>(p), n);
}

inline void pad8(std::string *b)
{
	b->append((8 - b->size() % 8) % 8, '\0');
}

/* Read a struct the peer wrote, wherever it lies (no alignment assumed). */
template <typename T> inline bool take(const char *p, size_t len, size_t *off, T *out)
{
	if (*off > len || len - *off < sizeof *out)
		return false;
	memcpy(out, p + *off, sizeof *out);
	*off += sizeof *out;
	return true;
}

} // namespace vamos

#endif
