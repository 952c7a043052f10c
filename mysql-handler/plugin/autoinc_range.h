/* SPDX-License-Identifier: MIT */
/*
 * AUTO_INCREMENT values a table keeps in the guest (one per table share,
 * shared by every connection), so that an INSERT of one row takes its
 * value without a request: a single-row reservation asks vamosd for a
 * range (autoinc_range_size values), the first is the row's, the rest wait
 * here for the next single-row inserts, as InnoDB's
 * innodb_autoinc_lock_mode=2 ("interleaved") hands them out. An explicit
 * value written moves the next value past it, as vamosd's counter moves;
 * a reservation the range cannot serve (several rows, another increment)
 * gives the unused rest back to vamosd with its own request. No server
 * headers: unit-testable.
 */
#ifndef HA_VAMOS_AUTOINC_RANGE_H
#define HA_VAMOS_AUTOINC_RANGE_H

#include <stdint.h>

#include <mutex>

namespace vamos {

/** Values asked from vamosd by a single-row reservation. */
constexpr uint64_t autoinc_range_size = 64;

class AutoincRange {
public:
	/** The next kept value into *@v, taken; false when none is kept. */
	bool take(uint64_t *v);
	/** vamosd reserved @count values from @first for a single-row
	 *  reservation: the first is the row's (the caller's), the others are
	 *  kept — unless values are kept already (another connection filled
	 *  the range meanwhile): then these are a gap, as a rollback's are. */
	void keep(uint64_t first, uint64_t count);
	/** Value @v was written to the column: the next value moves past it. */
	void written(uint64_t v);
	/** Empty the range; *@next, *@end: its unused values (0, 0: none;
	 *  @end 0: up to 2^64 - 1), for vamosd to take back
	 *  (vamos_mysql_autoinc's cached_*). */
	void give_back(uint64_t *next, uint64_t *end);
	/** The next value kept into *@v; false when none is. */
	bool next(uint64_t *v) const;
	/** Forget the kept values (TRUNCATE starts the counter again). */
	void drop();

private:
	mutable std::mutex m_lock;
	/* Values m_next .. m_end - 1, empty when equal; counted modulo
	 * 2^64: m_end 0 is 2^64 (the range ends at the largest value). */
	uint64_t m_next = 0, m_end = 0;
};

} // namespace vamos

#endif
