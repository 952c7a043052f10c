/* SPDX-License-Identifier: MIT */
/*
 * ha_vamos: writes. write_row queues its row in a WRITE request; outside a
 * bulk insert it is sent at once, inside one (start_bulk_insert) rows
 * gather until the batch is full, a read needs the table, or
 * end_bulk_insert — except where the server needs each row's duplicate
 * answer (INSERT IGNORE, REPLACE, ON DUPLICATE KEY UPDATE).
 */
#include "ha_vamos.h"

#include <errno.h>

#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"
#include "key_encoding.h"
#include "row_packing.h"

using namespace vamos;

/* A batch is sent once it holds this many rows or bytes (half of what a
 * request may hold: the row that overflows still fits). */
static const uint32_t batch_max_rows = 256;
static size_t batch_max_bytes()
{
	return std::min<size_t>(48 * 1024, conn_max_request() / 2);
}

bool ha_vamos::batching() const
{
	return m_bulk && !m_ignore_dup && !m_replace && !m_odku;
}

/* The AUTO_INCREMENT value @record holds (0: none to report). */
uint64_t ha_vamos::autoinc_value(const uchar *record)
{
	Field *f = table->found_next_number_field;
	if (!f || f->is_null_in_record(record))
		return 0;
	my_ptrdiff_t diff = record - table->record[0];
	f->move_field_offset(diff);
	longlong v = f->val_int();
	f->move_field_offset(-diff);
	if (v <= 0 && !(f->flags & UNSIGNED_FLAG))
		return 0;
	return (uint64_t)v;
}

/* -EEXIST: which index clashed (for info(HA_STATUS_ERRKEY)); in a batch,
 * the clashing row goes to record[0] so the message names its key. */
int ha_vamos::report_dup(const char *reply, size_t len, bool batch)
{
	size_t off = 0;
	vamos_mysql_dup d;
	m_dup_key = -1;
	if (!take(reply, len, &off, &d))
		return HA_ERR_FOUND_DUPP_KEY;
	uint k = d.index >= 0 ? keynr_of_host((uint)d.index) : MAX_KEY;
	m_dup_key = k < MAX_KEY ? (int)k : -1;
	if (batch && d.written < m_batch_row_bytes.size()) {
		const auto &rb = m_batch_row_bytes[d.written];
		unpack(table->record[0], m_batch.data() + rb.first, rb.second, m_blobs);
	}
	return HA_ERR_FOUND_DUPP_KEY;
}

int ha_vamos::flush_batch()
{
	if (!m_batch_rows)
		return 0;
	begin_request(VAMOS_MYSQL_WRITE);
	vamos_mysql_write w = {};
	w.count = m_batch_rows;
	put(&m_req, w);
	m_req += m_batch;
	__atomic_add_fetch(&engine_stats.write_batches, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&engine_stats.rows_written, (long long)m_batch_rows, __ATOMIC_RELAXED);
	int st = call(VAMOS_MYSQL_WRITE, true, true, &m_reply);
	int rc = 0;
	if (st == -EEXIST)
		rc = report_dup(m_reply.data(), m_reply.size(), m_batch_rows > 1);
	else
		rc = fail(st);
	m_batch.clear();
	/* The optimizer's count follows this handle's own writes without
	 * asking vamosd again (INFO refreshes it once a second). */
	if (!rc)
		m_info_rows += m_batch_rows;
	m_batch_rows = 0;
	m_batch_row_bytes.clear();
	m_batch_autoinc = 0;
	return rc;
}

int ha_vamos::write_row(const uchar *buf)
{
	int rc;
	if (table->next_number_field && buf == table->record[0]) {
		if ((rc = update_auto_increment()))
			return rc;
		if (m_autoinc_rows) /* one row of the reservation's count done */
			m_autoinc_rows--;
	}
	std::string pk;
	if (!m_hidden_pk)
		encode_record_key(table->s->primary_key, buf, &pk);
	std::vector<uint16_t> lens;
	encode_secondaries(buf, pk, &lens, &m_key2);

	size_t head = m_batch.size();
	vamos_mysql_write_row wr = {};
	wr.pk_len = (uint16_t)pk.size();
	wr.nsec = (uint16_t)m_nsec;
	wr.autoinc = autoinc_value(buf);
	if (wr.autoinc)
		m_share->autoinc.written(wr.autoinc);
	m_batch_autoinc = std::max<uint64_t>(m_batch_autoinc, wr.autoinc);
	put(&m_batch, wr);
	for (uint16_t l : lens)
		put(&m_batch, l);
	m_batch += pk;
	m_batch += m_key2;
	size_t row_at = m_batch.size();
	pack_row(table, buf, &m_batch);
	wr.row_len = (uint32_t)(m_batch.size() - row_at);
	memcpy(&m_batch[head], &wr, sizeof wr);
	/* where the row's bytes lie in the request, for report_dup */
	m_batch_row_bytes.emplace_back(row_at, wr.row_len);
	pad8(&m_batch);
	m_batch_rows++;
	if (!batching() || m_batch_rows >= batch_max_rows || m_batch.size() >= batch_max_bytes())
		return flush_batch();
	return 0;
}

int ha_vamos::update_row(const uchar *old_data, const uchar *new_data)
{
	int rc = flush_batch();
	if (rc)
		return rc;
	std::string old_pk, new_pk, row;
	if (m_hidden_pk) {
		old_pk = new_pk = m_cur_pk;
	} else {
		encode_record_key(table->s->primary_key, old_data, &old_pk);
		encode_record_key(table->s->primary_key, new_data, &new_pk);
	}
	pack_row(table, new_data, &row);
	/* Nothing changes (REPLACE of a row by its own copy): say so, as
	 * InnoDB does, and the server counts no row as replaced. */
	std::string old_row;
	pack_row(table, old_data, &old_row);
	if (old_pk == new_pk && old_row == row)
		return HA_ERR_RECORD_IS_THE_SAME;
	std::vector<uint16_t> lens;
	encode_secondaries(new_data, new_pk, &lens, &m_key2);

	begin_request(VAMOS_MYSQL_UPDATE);
	vamos_mysql_update u = {};
	u.row_len = (uint32_t)row.size();
	u.old_pk_len = (uint16_t)old_pk.size();
	u.new_pk_len = (uint16_t)new_pk.size();
	u.nsec = (uint16_t)m_nsec;
	Field *ai = table->found_next_number_field;
	if (ai && bitmap_is_set(table->write_set, ai->field_index)) {
		u.autoinc = autoinc_value(new_data);
		m_share->autoinc.written(u.autoinc);
	}
	put(&m_req, u);
	for (uint16_t l : lens)
		put(&m_req, l);
	m_req += old_pk;
	m_req += new_pk;
	m_req += m_key2;
	m_req += row;
	int st = call(VAMOS_MYSQL_UPDATE, true, true, &m_reply);
	if (st == -EEXIST)
		return report_dup(m_reply.data(), m_reply.size(), false);
	if (st == -ENOENT)
		return HA_ERR_KEY_NOT_FOUND;
	return fail(st);
}

int ha_vamos::delete_row(const uchar *buf)
{
	int rc = flush_batch();
	if (rc)
		return rc;
	std::string pk;
	encode_pk(buf, &pk);
	begin_request(VAMOS_MYSQL_DELETE);
	vamos_mysql_delete d = {};
	d.pk_len = (uint32_t)pk.size();
	put(&m_req, d);
	m_req += pk;
	int st = call(VAMOS_MYSQL_DELETE, true, true, &m_reply);
	if (st == -ENOENT)
		return HA_ERR_KEY_NOT_FOUND;
	if (st == 0 && m_info_rows)
		m_info_rows--; /* as a write's, without an INFO */
	return fail(st);
}

void ha_vamos::start_bulk_insert(ha_rows rows, uint flags)
{
	m_bulk = rows != 1;
}

int ha_vamos::end_bulk_insert()
{
	int rc = flush_batch();
	m_bulk = false;
	if (rc)
		my_errno = rc; /* the server prints my_errno */
	return rc;
}

void ha_vamos::get_auto_increment(ulonglong offset, ulonglong increment,
				  ulonglong nb_desired_values, ulonglong *first_value,
				  ulonglong *nb_reserved_values)
{
	/* Exactly the values the statement needs, as InnoDB counts them: the
	 * server's count on its first call (a multi-row INSERT knows its
	 * rows), then the rows of it still to come (an explicit value past
	 * the reservation makes the server ask again), or, once they are
	 * done (INSERT ... SELECT, LOAD DATA), the server's growing guess. */
	if (!m_autoinc_rows)
		m_autoinc_rows = nb_desired_values ? nb_desired_values : 1;
	/* One value in steps of 1 (a single-row INSERT): from the share's
	 * kept range, without a request; else vamosd reserves a range, the
	 * rest kept. Any other reservation is exact, and the kept values go
	 * back to vamosd first, so it starts where the range would have. */
	bool single = m_autoinc_rows == 1 && increment == 1;
	uint64_t kept;
	if (single && m_share->autoinc.take(&kept)) {
		*first_value = kept;
		*nb_reserved_values = 1;
		return;
	}
	begin_request(VAMOS_MYSQL_AUTOINC);
	vamos_mysql_autoinc a = {};
	a.count = single ? vamos::autoinc_range_size : m_autoinc_rows;
	if (!single)
		m_share->autoinc.give_back(&a.cached_next, &a.cached_end);
	a.increment = increment;
	a.offset = offset;
	/* Rows still in the batch have not moved the host's counter yet: an
	 * explicit value among them (INSERT ... VALUES (254), (NULL)) moves
	 * it first, as writing it would. */
	a.seen = m_batch_autoinc;
	a.max = table->next_number_field->get_max_int_value();
	put(&m_req, a);
	/* Begins the connection's write transaction: it must end it. */
	int st = call(VAMOS_MYSQL_AUTOINC, true, true, &m_reply);
	size_t off = 0;
	vamos_mysql_autoinc_range r;
	if (st || !take(m_reply.data(), m_reply.size(), &off, &r)) {
		if (st)
			fail(st);
		*first_value = ULONGLONG_MAX; /* the server reports the failure */
		*nb_reserved_values = 0;
		return;
	}
	/* Past the column's largest value (no value reserved) the server
	 * refuses the value (out of range); UINT64_MAX is its "no value". */
	*first_value = r.first;
	*nb_reserved_values = r.first == UINT64_MAX ? 0 : r.count;
	if (single && *nb_reserved_values) {
		m_share->autoinc.keep(r.first, r.count);
		*nb_reserved_values = 1;
	}
}
