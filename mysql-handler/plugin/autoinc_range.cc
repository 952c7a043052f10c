/* SPDX-License-Identifier: MIT */
/* ha_vamos: the AUTO_INCREMENT values a table share keeps (autoinc_range.h). */
#include "autoinc_range.h"

namespace vamos {

bool AutoincRange::take(uint64_t *v)
{
	std::lock_guard<std::mutex> g(m_lock);
	if (m_next == m_end)
		return false;
	*v = m_next++;
	return true;
}

void AutoincRange::keep(uint64_t first, uint64_t count)
{
	std::lock_guard<std::mutex> g(m_lock);
	/* The last value, first + count - 1, is at most 2^64 - 1; the end
	 * wraps to 0 then, as vamosd's exhausted counter. */
	if (m_next != m_end || count < 2 || count - 1 > UINT64_MAX - first)
		return;
	m_next = first + 1;
	m_end = first + count;
}

void AutoincRange::written(uint64_t v)
{
	std::lock_guard<std::mutex> g(m_lock);
	if (m_next == m_end || v < m_next)
		return;
	if (v >= m_end - 1) /* the last value or past it (m_end 0: 2^64) */
		m_next = m_end = 0; /* vamosd's counter is beyond the range */
	else
		m_next = v + 1;
}

void AutoincRange::give_back(uint64_t *next, uint64_t *end)
{
	std::lock_guard<std::mutex> g(m_lock);
	bool any = m_next != m_end;
	*next = any ? m_next : 0;
	*end = any ? m_end : 0;
	m_next = m_end = 0;
}

bool AutoincRange::next(uint64_t *v) const
{
	std::lock_guard<std::mutex> g(m_lock);
	if (m_next == m_end)
		return false;
	*v = m_next;
	return true;
}

void AutoincRange::drop()
{
	std::lock_guard<std::mutex> g(m_lock);
	m_next = m_end = 0;
}

} // namespace vamos
