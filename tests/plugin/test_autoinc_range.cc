// SPDX-License-Identifier: MIT
// The AUTO_INCREMENT values a table share keeps in the guest
// (mysql-handler/plugin/autoinc_range.cc): a range's values handed out in
// order, an explicit value moving the next one past it, the unused rest
// given back whole, a second range never replacing the first, and a
// range up to 2^64 - 1 (its end counted as 0, as vamosd's); connections
// taking values at once never share one.
#include <criterion/criterion.h>
#include <stdint.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "autoinc_range.h"

using namespace vamos;

Test(autoinc_range, hands_out_a_range_after_its_first_value)
{
	AutoincRange r;
	uint64_t v;
	cr_assert(!r.take(&v), "nothing kept at first");
	r.keep(10, 4); /* 10 is the caller's row's */
	cr_assert(r.next(&v) && v == 11);
	for (uint64_t want = 11; want <= 13; want++)
		cr_assert(r.take(&v) && v == want, "%llu", (unsigned long long)v);
	cr_assert(!r.take(&v), "the range is used up");
	cr_assert(!r.next(&v));
}

Test(autoinc_range, an_explicit_value_moves_the_next_past_it)
{
	AutoincRange r;
	uint64_t v, next, end;
	r.keep(1, 64);
	r.written(5);
	cr_assert(r.next(&v) && v == 6, "as vamosd's counter and InnoDB's: %llu",
		  (unsigned long long)v);
	r.written(3); /* below the next: nothing moves */
	cr_assert(r.take(&v) && v == 6);
	r.written(64); /* the last value */
	cr_assert(!r.next(&v), "nothing left after the range's last value");
	r.keep(100, 8);
	r.written(500); /* past the range */
	cr_assert(!r.take(&v));
	r.give_back(&next, &end);
	cr_assert(next == 0 && end == 0, "nothing to give back");
}

Test(autoinc_range, gives_back_the_unused_rest_and_empties)
{
	AutoincRange r;
	uint64_t v, next, end;
	r.keep(1, 64);
	cr_assert(r.take(&v) && v == 2);
	r.give_back(&next, &end);
	cr_assert(next == 3 && end == 65, "%llu %llu", (unsigned long long)next,
		  (unsigned long long)end);
	cr_assert(!r.take(&v), "given back: no longer kept");
	r.keep(1, 64);
	r.drop();
	cr_assert(!r.next(&v), "TRUNCATE forgets the range");
}

Test(autoinc_range, a_second_range_leaves_the_first_in_place)
{
	AutoincRange r;
	uint64_t v;
	r.keep(1, 64);
	r.keep(65, 64); /* another connection's, filled meanwhile: a gap */
	cr_assert(r.take(&v) && v == 2);
	r.keep(1, 1); /* one value: the caller's alone */
	cr_assert(r.take(&v) && v == 3);
}

Test(autoinc_range, a_range_up_to_the_largest_value)
{
	AutoincRange r;
	uint64_t v, next, end;
	r.keep(UINT64_MAX - 2, 4); /* would pass 2^64 - 1: not kept */
	cr_assert(!r.next(&v));
	r.keep(UINT64_MAX - 3, 4); /* ends at 2^64 - 1 */
	cr_assert(r.take(&v) && v == UINT64_MAX - 2);
	r.give_back(&next, &end);
	cr_assert(next == UINT64_MAX - 1 && end == 0, "end 0: up to 2^64 - 1, %llu",
		  (unsigned long long)end);
	r.keep(UINT64_MAX - 3, 4);
	cr_assert(r.take(&v) && v == UINT64_MAX - 2);
	cr_assert(r.take(&v) && v == UINT64_MAX - 1);
	cr_assert(r.take(&v) && v == UINT64_MAX);
	cr_assert(!r.take(&v), "nothing after 2^64 - 1");
	r.keep(UINT64_MAX - 3, 4);
	r.written(UINT64_MAX);
	cr_assert(!r.next(&v), "the largest value written: nothing left");
}

/* Four connections insert at once; a miss reserves 64 from a stand-in for
 * vamosd's counter. Every value is handed out once. */
Test(autoinc_range, connections_at_once_never_share_a_value)
{
	AutoincRange r;
	std::atomic<uint64_t> host{ 1 };
	std::vector<uint64_t> got[4];
	std::vector<std::thread> ts;
	for (auto &g : got)
		ts.emplace_back([&r, &host, &g] {
			for (int i = 0; i < 2000; i++) {
				uint64_t v;
				if (!r.take(&v)) {
					v = host.fetch_add(64);
					r.keep(v, 64);
				}
				g.push_back(v);
			}
		});
	for (auto &t : ts)
		t.join();
	std::vector<uint64_t> all;
	for (auto &g : got)
		all.insert(all.end(), g.begin(), g.end());
	std::sort(all.begin(), all.end());
	cr_assert_eq(all.size(), 8000u);
	cr_assert(std::adjacent_find(all.begin(), all.end()) == all.end(), "a value handed out twice");
}
