/* SPDX-License-Identifier: MIT */
/*
 * ha_vamos: reads. A scan is a series of READ requests, each bringing a
 * batch of rows and the resume key of its last row; the next READ starts
 * after (or, going backward, before) that key. Batches start small where
 * one row is likely all that is wanted and grow fourfold while the scan
 * goes on, in rows and in bytes. Where the host can tell the end itself it is told: a range's
 * end (read_range_first) is a hard stop; an exact or prefix find gets a
 * soft prefix stop that index_next (not index_next_same) may go past.
 *
 * Read-ahead: once a scan has used up a batch and asked for more, it is
 * likely to go on, so each batch it then gets sends the READ after it at
 * once (connection.h, conn_send_ahead) and the host runs it while the
 * server uses the batch: the next batch is there when wanted, with no
 * wait for it. One READ ahead at most, and none after a batch that ended
 * the scan (ROWS_END: no more rows, or the stop reached). Anything else
 * the scan does (a new find, a turn, its end, the statement's end) drops
 * it: its reply is taken off the channel and thrown away. The host keeps
 * nothing per READ (each opens and closes its own cursor), so nothing
 * else is left behind.
 */
#include "ha_vamos.h"

#include <errno.h>

#include <key.h>
#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"
#include "idle_snapshots.h"
#include "key_decoding.h"
#include "key_encoding.h"
#include "row_packing.h"
#include "status.h"
#include "trx.h"

using namespace vamos;

static const uint32_t max_batch = 65536;

void ha_vamos::scan_reset()
{
	ahead_drop();
	m_scan.active = false;
	m_scan.left = 0;
	m_scan.cur_off = 0;
	m_scan.at_point = false;
	m_scan.end = false;
	m_scan.resume.clear();
	m_scan.stop = VAMOS_MYSQL_STOP_NONE;
	m_scan.soft_stop = false;
	m_scan.stop_key.clear();
	m_scan.covering = false;
}

/* Can a read of index @keynr be answered from its entries alone? When
 * the server reads only its columns (keyread), they all decode, and the
 * read does not lock rows (a locking read must read each row). */
bool ha_vamos::covering_read(uint keynr) const
{
	return keyread < MAX_KEY && keyread == keynr && m_covers[keynr] &&
	       !m_for_update;
}

/* A covering read's entry: the index's columns from its key @key, the
 * primary key's from m_cur_pk, into @buf. */
int ha_vamos::unpack_entry(uchar *buf, const char *key, size_t len)
{
	const KEY *ki = &table->key_info[active_index];
	bool null = false;
	long used = decode_key(ki, (const uchar *)key, len, buf, m_keyimg, m_scratch,
			       &m_entry_plain, &null);
	/* A unique key with a NULL ends with what keeps it unique: the
	 * primary key (append_unique_suffix). */
	bool ok = used >= 0;
	if (ok && (size_t)used != len)
		ok = (ki->flags & HA_NOSAME) && null &&
		     (m_hidden_pk ? len - (size_t)used == 8
				  : m_cur_pk.compare(0, std::string::npos, key + used,
						     len - (size_t)used) == 0);
	if (ok && !m_hidden_pk) {
		bool pk_null;
		used = decode_key(&table->key_info[table->s->primary_key],
				  (const uchar *)m_cur_pk.data(), m_cur_pk.size(), buf, m_keyimg,
				  m_scratch, &m_entry_plain, &pk_null);
		ok = used >= 0 && (size_t)used == m_cur_pk.size();
	}
	if (!ok) {
		m_msg = "vamosd sent a malformed index entry";
		return fail(ST_BAD_ANSWER);
	}
	return 0;
}

int ha_vamos::flush_before_read()
{
	return flush_batch();
}

/* m_req: one READ from @start (with @key) in the scan's direction and
 * stop (the header is filled by whoever sends it). */
void ha_vamos::read_request(uint8_t start, uint8_t find, const std::string &key)
{
	begin_request(VAMOS_MYSQL_READ);
	vamos_mysql_read r = {};
	r.index = m_scan.index;
	r.start = start;
	r.find = find;
	r.backward = m_scan.backward ? 1 : 0;
	r.stop = m_scan.stop;
	r.max_rows = m_scan.batch;
	/* The byte budget grows with the batch: 64 KiB up to 1024 rows, then
	 * 64 bytes a row, up to half a channel (a reply then never waits for
	 * an empty ring). A long scan thus takes a few large replies: fewer
	 * requests, doorbells and interrupts. */
	uint64_t want = std::max<uint64_t>(64 * 1024, (uint64_t)m_scan.batch * 64);
	r.max_bytes = (uint32_t)std::min<uint64_t>(want, conn_max_reply() / 2);
	r.key_len = (uint16_t)key.size();
	r.stop_len = m_scan.stop ? (uint16_t)m_scan.stop_key.size() : 0;
	if (m_scan.covering) {
		r.flags = VAMOS_MYSQL_READ_KEYS_ONLY;
		__atomic_add_fetch(&engine_stats.covering_reads, 1, __ATOMIC_RELAXED);
	}
	put(&m_req, r);
	m_req += key;
	if (m_scan.stop)
		m_req += m_scan.stop_key;
}

/* Take the READ reply in m_scan.buf, of status @st, as the next batch. */
int ha_vamos::read_reply(int st)
{
	m_scan.left = 0;
	m_scan.cur_off = 0;
	if (st == -ENOENT) {
		m_scan.end = true;
		return st;
	}
	if (st)
		return st;
	size_t off = 0;
	vamos_mysql_rows rows;
	const std::string &b = m_scan.buf;
	/* Trust: the header and the resume key's length are checked against
	 * the reply's size before anything is taken from it. */
	if (!take(b.data(), b.size(), &off, &rows) || rows.resume_len > b.size() - off) {
		m_msg = "vamosd sent a malformed READ reply";
		return ST_BAD_ANSWER;
	}
	m_scan.off = off;
	m_scan.left = rows.count;
	m_scan.end = (rows.flags & VAMOS_MYSQL_ROWS_END) || rows.count == 0;
	m_scan.resume.assign(b.data() + b.size() - rows.resume_len, rows.resume_len);
	if (m_scan.batch < max_batch)
		m_scan.batch = std::min(max_batch, m_scan.batch * 4);
	return rows.count ? 0 : -ENOENT;
}

/* One READ from @start (with @key) in the scan's direction and stop. */
int ha_vamos::scan_fetch(uint8_t start, uint8_t find, const std::string &key)
{
	read_request(start, find, key);
	__atomic_add_fetch(&engine_stats.read_requests, 1, __ATOMIC_RELAXED);
	m_scan.left = 0;
	m_scan.cur_off = 0;
	return read_reply(call(VAMOS_MYSQL_READ, true, m_for_update, &m_scan.buf));
}

/* Send the READ after this batch now, if the scan is to go on. Not for
 * locking reads (a statement that writes the table, FOR UPDATE): the host
 * locks every row a READ returns, and a READ sent ahead would lock rows
 * the statement may never read (a LIMIT, an early end). LOCK IN SHARE
 * MODE reads without locks here, but is left out alike, so that it keeps
 * its meaning if it ever locks. Not for a SEQUENCE (call() reads it in a
 * context of its own). Not when the next request must take a new snapshot
 * or first reopen handles after a restart: call() does that, the READ is
 * sent there. A plain read of a write transaction reads the same rows ahead as it would
 * later: nothing else of the connection reaches the host in between (the
 * reply is taken before this thread sends anything else). */
void ha_vamos::ahead_send()
{
	if (m_scan.ahead || !m_scan.active || m_scan.end || m_scan.resume.empty() ||
	    m_for_update || table->reginfo.lock_type == TL_READ_WITH_SHARED_LOCKS || m_seq)
		return;
	Trx *t = trx_get(ha_thd(), ht);
	if (!t->ctx || t->fresh || t->lost || t->epoch != m_epoch || m_epoch != conn_epoch())
		return;
	idle_claim(t); /* as before any request on the context (a no-op mid-statement) */
	read_request(m_scan.backward ? VAMOS_MYSQL_START_BEFORE : VAMOS_MYSQL_START_AFTER, 0,
		     m_scan.resume);
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	h.table = m_table;
	h.ctx = t->ctx;
	memcpy(&m_req[0], &h, sizeof h);
	if (conn_send_ahead(m_epoch, VAMOS_MYSQL_READ, m_req, ha_thd(), &m_scan.ahead))
		return; /* not sent: the next batch is asked for when wanted */
	__atomic_add_fetch(&engine_stats.read_requests, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&engine_stats.reads_ahead, 1, __ATOMIC_RELAXED);
}

/* Drop the READ sent ahead, if any: its reply is taken and thrown away. */
void ha_vamos::ahead_drop()
{
	if (!m_scan.ahead)
		return;
	conn_discard(m_scan.ahead);
	m_scan.ahead = 0;
	__atomic_add_fetch(&engine_stats.reads_ahead_discarded, 1, __ATOMIC_RELAXED);
}

/* The scan's next batch after @from (m_scan.resume when the READ ahead
 * was sent): that READ's reply if there is one, else a READ sent now;
 * then the READ after it goes ahead. */
int ha_vamos::scan_continue(const std::string &from)
{
	uint64_t ticket = m_scan.ahead;
	m_scan.ahead = 0;
	int st = 0;
	bool taken = ticket && conn_collect(ticket, &st, &m_scan.buf);
	/* Anything but rows or "no more" (a lost connection, vamosd gone or
	 * restarted, a reply in pieces that did not add up): the READ is sent
	 * again the ordinary way, which reconnects, reopens and reports. A
	 * plain read can run twice. */
	if (taken && st != 0 && st != -ENOENT)
		taken = false;
	if (ticket && !taken)
		__atomic_add_fetch(&engine_stats.reads_ahead_discarded, 1, __ATOMIC_RELAXED);
	if (taken)
		st = read_reply(st);
	else
		st = scan_fetch(m_scan.backward ? VAMOS_MYSQL_START_BEFORE : VAMOS_MYSQL_START_AFTER,
				0, from);
	if (st == 0)
		ahead_send();
	return st;
}

/* Hand out the next row of the batch into @buf. */
int ha_vamos::scan_take(uchar *buf)
{
	const std::string &b = m_scan.buf;
	size_t off = m_scan.off;
	vamos_mysql_row_entry e;
	if (!take(b.data(), b.size(), &off, &e) || b.size() - off < (size_t)e.pk_len + e.row_len) {
		m_msg = "vamosd sent a malformed row";
		return fail(ST_BAD_ANSWER);
	}
	/* Keys of one length (an integer key) overwrite the last one in
	 * place: no trip through std::string's general replace per row. */
	if (m_cur_pk.size() == e.pk_len)
		memcpy(&m_cur_pk[0], b.data() + off, e.pk_len);
	else
		m_cur_pk.assign(b.data() + off, e.pk_len);
	int rc = m_scan.covering ? unpack_entry(buf, b.data() + off + e.pk_len, e.row_len)
				 : unpack(buf, b.data() + off + e.pk_len, e.row_len, m_blobs);
	if (rc)
		return rc;
	m_scan.cur_off = m_scan.off;
	m_scan.at_point = false;
	size_t len = sizeof e + e.pk_len + e.row_len;
	m_scan.off += (len + 7) & ~(size_t)7;
	m_scan.left--;
	__atomic_add_fetch(&engine_stats.rows_fetched, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Start a scan of m_scan.index (direction and stop already set). */
int ha_vamos::scan_start(uchar *buf, uint8_t start, uint8_t find, bool backward,
			 const std::string &key, uint32_t first_batch)
{
	ahead_drop();
	int rc = flush_before_read();
	if (rc)
		return rc;
	m_scan.active = true;
	m_scan.backward = backward;
	m_scan.batch = first_batch;
	m_scan.end = false;
	m_scan.resume.clear();
	int st = scan_fetch(start, find, key);
	if (st == -ENOENT)
		return HA_ERR_KEY_NOT_FOUND;
	if (st)
		return fail(st);
	return scan_take(buf);
}

/* The next row of the scan, fetching the next batch when this one is
 * used up. @same_prefix: index_next_same, which ends at a soft stop. */
int ha_vamos::scan_next(uchar *buf, bool same_prefix)
{
	for (;;) {
		if (m_scan.left)
			return scan_take(buf);
		if (!m_scan.active)
			return HA_ERR_END_OF_FILE;
		if (m_scan.end) {
			if (!m_scan.soft_stop || same_prefix)
				return HA_ERR_END_OF_FILE;
			/* Our own stop ended the batch: go on past it. */
			m_scan.soft_stop = false;
			m_scan.stop = VAMOS_MYSQL_STOP_NONE;
		}
		if (m_scan.resume.empty())
			return HA_ERR_END_OF_FILE;
		std::string from;
		from.swap(m_scan.resume);
		int st = scan_continue(from);
		if (st == -ENOENT && m_scan.soft_stop && !same_prefix) {
			/* Nothing more inside our own stop: go on past it from
			 * the same key (the loop drops the stop). */
			m_scan.resume.swap(from);
			continue;
		}
		if (st == -ENOENT)
			return HA_ERR_END_OF_FILE;
		if (st)
			return fail(st);
	}
}

/* index_next after index_prev or back: restart from the current row's
 * stored key (index key, plus the primary key where the host adds it). */
int ha_vamos::scan_turn(uchar *buf, bool backward)
{
	ahead_drop(); /* it goes the other way */
	if (!m_scan.cur_off && !m_scan.at_point)
		return HA_ERR_END_OF_FILE;
	std::string key;
	if (m_scan.index == 0) {
		key = m_cur_pk; /* point_get only reads the primary key */
	} else {
		const std::string &b = m_scan.buf;
		size_t off = m_scan.cur_off;
		vamos_mysql_row_entry e;
		take(b.data(), b.size(), &off, &e);
		const char *body = b.data() + off + e.pk_len;
		int rc = m_scan.covering ? unpack_entry(m_turn_rec, body, e.row_len)
					 : unpack(m_turn_rec, body, e.row_len, m_turn_blobs);
		if (rc)
			return rc;
		KEY *ki = &table->key_info[active_index];
		bool null = encode_key_record(&table->key_info[active_index], m_turn_rec, m_keyimg,
					      m_scratch, &key);
		if (!(ki->flags & HA_NOSAME) || (null && !m_hidden_pk))
			key += m_cur_pk;
	}
	m_scan.backward = backward;
	m_scan.batch = 4;
	m_scan.end = false;
	if (!m_scan.soft_stop)
		m_scan.stop = VAMOS_MYSQL_STOP_NONE; /* a range's stop has a direction */
	int st = scan_fetch(backward ? VAMOS_MYSQL_START_BEFORE : VAMOS_MYSQL_START_AFTER, 0, key);
	if (st == -ENOENT && m_scan.soft_stop) {
		/* index_next/index_prev go past our own stop (the server checks
		 * keys itself; index_next_same is the one that stops there). */
		m_scan.soft_stop = false;
		m_scan.stop = VAMOS_MYSQL_STOP_NONE;
		m_scan.end = false;
		st = scan_fetch(backward ? VAMOS_MYSQL_START_BEFORE : VAMOS_MYSQL_START_AFTER, 0, key);
	}
	if (st == -ENOENT)
		return HA_ERR_END_OF_FILE;
	if (st)
		return fail(st);
	return scan_take(buf);
}

/* ---- full scans ---- */

int ha_vamos::rnd_init(bool scan)
{
	scan_reset();
	return flush_before_read();
}

int ha_vamos::rnd_end()
{
	scan_reset();
	return 0;
}

int ha_vamos::rnd_next(uchar *buf)
{
	if (m_scan.active)
		return scan_next(buf, false);
	m_scan.index = 0;
	int rc = scan_start(buf, VAMOS_MYSQL_START_FIRST, 0, false, std::string(), 16);
	return rc == HA_ERR_KEY_NOT_FOUND ? HA_ERR_END_OF_FILE : rc;
}

/* ref: 2-byte length, then the primary key (or the hidden row id). */
void ha_vamos::position(const uchar *record)
{
	m_key.clear();
	if (m_hidden_pk)
		m_key = m_cur_pk;
	else
		encode_record_key(table->s->primary_key, record, &m_key);
	size_t n = std::min<size_t>(m_key.size(), ref_length - 2);
	int2store(ref, (uint16)n);
	memcpy(ref + 2, m_key.data(), n);
	memset(ref + 2 + n, 0, ref_length - 2 - n);
}

int ha_vamos::rnd_pos(uchar *buf, uchar *pos)
{
	int rc = flush_before_read();
	if (rc)
		return rc;
	uint n = uint2korr(pos);
	begin_request(VAMOS_MYSQL_GET);
	vamos_mysql_get g = {};
	g.pk_len = n;
	put(&m_req, g);
	put_bytes(&m_req, pos + 2, n);
	int st = call(VAMOS_MYSQL_GET, true, m_for_update, &m_reply);
	if (st == -ENOENT)
		return HA_ERR_KEY_NOT_FOUND;
	if (st)
		return fail(st);
	m_cur_pk.assign((const char *)pos + 2, n);
	__atomic_add_fetch(&engine_stats.rows_fetched, 1, __ATOMIC_RELAXED);
	return unpack(buf, m_reply.data(), m_reply.size(), m_blobs);
}

/* ---- index reads ---- */

int ha_vamos::index_init(uint idx, bool sorted)
{
	active_index = idx;
	scan_reset();
	return 0;
}

int ha_vamos::index_end()
{
	scan_reset();
	active_index = MAX_KEY;
	return 0;
}

int ha_vamos::index_start(uchar *buf, const uchar *key, key_part_map map,
			  enum ha_rkey_function flag)
{
	KEY *ki = &table->key_info[active_index];
	uint8_t find;
	bool backward;
	switch (flag) {
	case HA_READ_KEY_EXACT: find = VAMOS_MYSQL_KEY_EXACT; backward = false; break;
	case HA_READ_KEY_OR_NEXT: find = VAMOS_MYSQL_KEY_OR_NEXT; backward = false; break;
	case HA_READ_AFTER_KEY: find = VAMOS_MYSQL_AFTER_KEY; backward = false; break;
	case HA_READ_PREFIX: find = VAMOS_MYSQL_PREFIX; backward = false; break;
	case HA_READ_KEY_OR_PREV: find = VAMOS_MYSQL_KEY_OR_PREV; backward = true; break;
	case HA_READ_BEFORE_KEY: find = VAMOS_MYSQL_BEFORE_KEY; backward = true; break;
	case HA_READ_PREFIX_LAST: find = VAMOS_MYSQL_PREFIX_LAST; backward = true; break;
	case HA_READ_PREFIX_LAST_OR_PREV:
		find = VAMOS_MYSQL_PREFIX_LAST_OR_PREV;
		backward = true;
		break;
	default:
		return HA_ERR_WRONG_COMMAND;
	}
	std::string k;
	bool null = false;
	if (key && map)
		null = encode_key_image(ki, key, map, m_scratch, &k);
	scan_reset();
	m_scan.index = host_index(active_index);
	m_scan.covering = m_scan.index != 0 && covering_read(active_index);
	uint32_t batch = 4;
	if (m_range_stop) {
		m_scan.stop = m_range_stop_kind;
		m_scan.stop_key = m_range_stop_key;
		batch = 64;
	} else if (!k.empty() && (find == VAMOS_MYSQL_KEY_EXACT || find == VAMOS_MYSQL_PREFIX ||
				  find == VAMOS_MYSQL_PREFIX_LAST)) {
		m_scan.stop = VAMOS_MYSQL_STOP_PREFIX;
		m_scan.stop_key = k;
		m_scan.soft_stop = true;
	}
	m_range_stop = false;
	/* A whole unique key without NULLs finds one row at most. */
	bool all_parts = my_count_bits(map) >= ki->user_defined_key_parts;
	if (find == VAMOS_MYSQL_KEY_EXACT && (ki->flags & HA_NOSAME) && all_parts && !null) {
		batch = 1;
		/* The whole primary key: one GET, a point lookup on the host
		 * instead of a cursor. */
		if (m_scan.index == 0)
			return point_get(buf, k);
	}
	if (k.empty())
		return scan_start(buf, backward ? VAMOS_MYSQL_START_LAST : VAMOS_MYSQL_START_FIRST, 0,
				  backward, k, batch);
	return scan_start(buf, VAMOS_MYSQL_START_FIND, find, backward, k, batch);
}

/* index_read on a whole primary key: GET the row. The scan is left as a
 * READ of one row would leave it, so an index_next afterwards goes on
 * after this key (or ends, if there is no such row). */
int ha_vamos::point_get(uchar *buf, const std::string &pk)
{
	ahead_drop();
	int rc = flush_before_read();
	if (rc)
		return rc;
	m_scan.active = true;
	m_scan.backward = false;
	m_scan.batch = 1;
	m_scan.end = false;
	m_scan.resume.clear();
	begin_request(VAMOS_MYSQL_GET);
	vamos_mysql_get g = {};
	g.pk_len = (uint16_t)pk.size();
	put(&m_req, g);
	m_req += pk;
	__atomic_add_fetch(&engine_stats.read_requests, 1, __ATOMIC_RELAXED);
	int st = call(VAMOS_MYSQL_GET, true, m_for_update, &m_reply);
	if (st == -ENOENT) {
		m_scan.end = true;
		return HA_ERR_KEY_NOT_FOUND;
	}
	if (st)
		return fail(st);
	m_scan.resume = pk;
	m_scan.at_point = true;
	m_cur_pk = pk;
	__atomic_add_fetch(&engine_stats.rows_fetched, 1, __ATOMIC_RELAXED);
	return unpack(buf, m_reply.data(), m_reply.size(), m_blobs);
}

int ha_vamos::index_read_map(uchar *buf, const uchar *key, key_part_map keypart_map,
			     enum ha_rkey_function find_flag)
{
	return index_start(buf, key, keypart_map, find_flag);
}

int ha_vamos::index_read_last_map(uchar *buf, const uchar *key, key_part_map keypart_map)
{
	return index_start(buf, key, keypart_map, HA_READ_PREFIX_LAST);
}

int ha_vamos::index_first(uchar *buf)
{
	int rc = index_start(buf, nullptr, 0, HA_READ_KEY_OR_NEXT);
	return rc == HA_ERR_KEY_NOT_FOUND ? HA_ERR_END_OF_FILE : rc;
}

int ha_vamos::index_last(uchar *buf)
{
	int rc = index_start(buf, nullptr, 0, HA_READ_KEY_OR_PREV);
	return rc == HA_ERR_KEY_NOT_FOUND ? HA_ERR_END_OF_FILE : rc;
}

int ha_vamos::index_next(uchar *buf)
{
	if (!m_scan.active)
		return index_first(buf);
	if (m_scan.backward)
		return scan_turn(buf, false);
	return scan_next(buf, false);
}

int ha_vamos::index_prev(uchar *buf)
{
	if (!m_scan.active)
		return index_last(buf);
	if (!m_scan.backward)
		return scan_turn(buf, true);
	return scan_next(buf, false);
}

int ha_vamos::index_next_same(uchar *buf, const uchar *key, uint keylen)
{
	int rc = m_scan.backward ? scan_turn(buf, false) : scan_next(buf, true);
	if (rc)
		return rc;
	if (buf == table->record[0] && key_cmp_if_same(table, key, active_index, keylen))
		return HA_ERR_END_OF_FILE;
	return 0;
}

/* As handler::read_range_first, with the range's end handed to the host
 * as the READ's stop. */
int ha_vamos::read_range_first(const key_range *start_key, const key_range *end_key,
			       bool eq_range_arg, bool sorted)
{
	eq_range = eq_range_arg;
	set_end_range(end_key);
	range_key_part = table->key_info[active_index].key_part;
	m_range_stop = false;
	if (end_key) {
		m_range_stop_key.clear();
		encode_key_image(&table->key_info[active_index], end_key->key, end_key->keypart_map,
				 m_scratch, &m_range_stop_key);
		m_range_stop_kind = end_key->flag == HA_READ_BEFORE_KEY ? VAMOS_MYSQL_STOP_LT
									 : VAMOS_MYSQL_STOP_LE;
		m_range_stop = true;
	}
	int rc = start_key ? ha_index_read_map(table->record[0], start_key->key,
					       start_key->keypart_map, start_key->flag)
			   : ha_index_first(table->record[0]);
	m_range_stop = false;
	if (rc)
		return rc == HA_ERR_KEY_NOT_FOUND ? HA_ERR_END_OF_FILE : rc;
	if (compare_key(end_range) > 0) {
		unlock_row();
		return HA_ERR_END_OF_FILE;
	}
	return 0;
}
