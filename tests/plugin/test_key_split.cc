// SPDX-License-Identifier: MIT
// Cutting an encoded key from vamosd back into its parts
// (mysql-handler/plugin/key_split.cc): NULL markers, fixed and counted
// parts, DESC parts inverted back; and every malformed key (short, a bad
// marker, a count over the width, pad bytes not zero) refused, never read
// past. Random and truncated keys (a fixed seed) must never read outside
// their bytes (ASan) and, when accepted, locate every value inside them.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "key_split.h"

using namespace vamos;

namespace {

const part_shape INT4 = { 4, false, false, false };
const part_shape INT4_NULL = { 4, true, false, false };
const part_shape VAR3_NULL = { 3, true, false, true };
const part_shape VAR3_DESC = { 3, false, true, true };

long split(const std::vector<part_shape> &shapes, const std::string &key,
	   std::vector<part_value> *out, std::string *plain)
{
	out->assign(shapes.size(), part_value{});
	plain->assign(key.size(), '\0');
	/* Exactly the key's bytes: ASan sees any read past them. */
	uint8_t *copy = (uint8_t *)malloc(key.size() ? key.size() : 1);
	memcpy(copy, key.data(), key.size());
	long n = split_key(shapes.data(), shapes.size(), copy, key.size(),
			   (uint8_t *)&(*plain)[0], out->data());
	free(copy);
	return n;
}

std::string inverted(std::string s)
{
	for (char &c : s)
		c = (char)~c;
	return s;
}

} // namespace

Test(key_split, parts_values_and_nulls)
{
	std::vector<part_value> v;
	std::string plain;
	std::string key = std::string("\x80\0\0\x05", 4) + std::string("\x01\x80\0\0\x07", 5) +
			  std::string("\x01" "ab\0\0\x02", 6) + std::string("\x00", 1);
	cr_assert_eq(split({ INT4, INT4_NULL, VAR3_NULL, VAR3_NULL }, key, &v, &plain), 16);
	cr_assert(!v[0].null && v[0].at == 0 && v[0].len == 4);
	cr_assert(!v[1].null && v[1].at == 5 && v[1].len == 4);
	cr_assert(!v[2].null && v[2].len == 2 && plain.substr(v[2].at, 2) == "ab");
	cr_assert(v[3].null);
	/* What follows the parts is the caller's (a unique key's suffix). */
	cr_assert_eq(split({ INT4 }, key, &v, &plain), 4);
}

Test(key_split, desc_parts_are_inverted_back)
{
	std::vector<part_value> v;
	std::string plain;
	std::string key = inverted(std::string("xyz\0\x03", 5));
	cr_assert_eq(split({ VAR3_DESC }, key, &v, &plain), 5);
	cr_assert(v[0].len == 3 && plain.substr(v[0].at, 3) == "xyz");
	part_shape null_desc = { 4, true, true, false };
	cr_assert_eq(split({ null_desc }, std::string("\xff", 1), &v, &plain), 1);
	cr_assert(v[0].null);
}

Test(key_split, malformed_keys_are_refused)
{
	std::vector<part_value> v;
	std::string plain;
	const struct {
		std::vector<part_shape> shapes;
		std::string key;
		const char *why;
	} bad[] = {
		{ { INT4 }, std::string("\x80\0\0", 3), "short fixed part" },
		{ { INT4_NULL }, std::string(), "no marker" },
		{ { INT4_NULL }, std::string("\x02\0\0\0\0", 5), "marker 2" },
		{ { INT4_NULL }, std::string("\x01\0\0", 3), "short after the marker" },
		{ { VAR3_NULL }, std::string("\x01" "ab\0\0", 5), "no count" },
		{ { VAR3_NULL }, std::string("\x01" "abc\0\x04", 6), "count over the width" },
		{ { VAR3_NULL }, std::string("\x01" "ab\0\x01\x00", 6), "count 256" },
		{ { VAR3_NULL }, std::string("\x01" "abc\0\x02", 6), "pad byte not zero" },
		{ { INT4, VAR3_NULL }, std::string("\0\0\0\0", 4), "second part missing" },
	};
	for (const auto &b : bad)
		cr_assert_eq(split(b.shapes, b.key, &v, &plain), -1, "%s", b.why);
}

Test(key_split, random_and_truncated_keys_stay_inside_their_bytes)
{
	const std::vector<std::vector<part_shape>> layouts = {
		{ INT4 }, { INT4_NULL, VAR3_NULL }, { VAR3_DESC, INT4_NULL, VAR3_NULL },
		{ { 0, true, false, true }, { 1, true, true, false } },
	};
	std::vector<part_value> v;
	std::string plain;
	unsigned seed = 12345;
	unsigned accepted = 0;
	for (int round = 0; round < 20000; round++) {
		const auto &shapes = layouts[(size_t)round % layouts.size()];
		size_t len = (size_t)(rand_r(&seed) % 24);
		std::string key(len, '\0');
		for (char &c : key) {
			/* Mostly the bytes that matter: markers, small counts, zeros. */
			int r = rand_r(&seed) % 8;
			c = (char)(r < 3 ? r : r < 5 ? 0xff : rand_r(&seed));
		}
		long n = split(shapes, key, &v, &plain);
		if (n < 0)
			continue;
		accepted++;
		cr_assert_leq((size_t)n, len);
		for (const part_value &p : v)
			cr_assert_leq((size_t)p.at + p.len, (size_t)n, "a value past the parts");
		/* Every shorter key that cuts into the parts is refused. */
		for (long cut = 0; cut < n; cut++)
			cr_assert_eq(split(shapes, key.substr(0, (size_t)cut), &v, &plain), -1,
				     "%ld bytes of a key whose parts take %ld accepted", cut, n);
	}
	cr_assert_gt(accepted, 100u, "the generator hardly makes valid keys");
}
