/* SPDX-License-Identifier: MIT */
/* ha_vamos: table handles, DDL, requests and errors, keys, info, locks. */
#include "ha_vamos.h"

#include <errno.h>
#include <time.h>

#include <atomic>

#include <vamos/mysql_protocol.h>

#include "bytes.h"
#include "connection.h"
#include "sysvars.h"
#include "key_decoding.h"
#include "key_encoding.h"
#include "status.h"
#include "vamos_clock.h"

using namespace vamos;

namespace vamos {
engine_counters engine_stats; /* SHOW STATUS LIKE 'Vamos%' (plugin.cc) */
}

ha_vamos::ha_vamos(handlerton *hton, TABLE_SHARE *share) : handler(hton, share)
{
	ref_length = 2 + 8;
}

ha_vamos::~ha_vamos()
{
	my_free(m_scratch);
}

ulonglong ha_vamos::table_flags() const
{
	return HA_REC_NOT_IN_SEQ | HA_NULL_IN_KEY | HA_CAN_INDEX_BLOBS |
	       HA_PRIMARY_KEY_IN_READ_INDEX | HA_PRIMARY_KEY_REQUIRED_FOR_POSITION |
	       HA_PRIMARY_KEY_REQUIRED_FOR_DELETE | HA_REQUIRES_KEY_COLUMNS_FOR_DELETE |
	       HA_BINLOG_ROW_CAPABLE | HA_BINLOG_STMT_CAPABLE | HA_CAN_SQL_HANDLER |
	       HA_CAN_BIT_FIELD | HA_CAN_VIRTUAL_COLUMNS | HA_CAN_TABLES_WITHOUT_ROLLBACK;
}

/* May the server read the column of @idx's part @part (all parts up to it
 * with @all_parts) from the index alone? The primary key: always (its
 * entries are the rows). A secondary index: where the part and every part
 * of the primary key, which the server takes to be in every index
 * (HA_PRIMARY_KEY_IN_READ_INDEX), decode back to their values. A read
 * finds out for itself whether it can answer from the index
 * (covering_read): this is what the optimizer plans with. While the share
 * is being opened, parts after @part may have no field yet. */
bool ha_vamos::keyread_claimed(uint idx, uint part, bool all_parts) const
{
	if (!table_share || idx >= table_share->keys)
		return true;
	uint pk = table_share->primary_key;
	if (idx == pk)
		return true;
	const KEY *key = &table_share->key_info[idx];
	if (part >= key->ext_key_parts)
		return false;
	for (uint i = all_parts ? 0 : part; i <= part; i++)
		if (!key->key_part[i].field || !vamos::part_decodable(&key->key_part[i]))
			return false;
	if (pk < table_share->keys) {
		const KEY *pkey = &table_share->key_info[pk];
		for (uint i = 0; i < pkey->user_defined_key_parts; i++)
			if (!pkey->key_part[i].field || !vamos::part_decodable(&pkey->key_part[i]))
				return false;
	}
	return true;
}

ulong ha_vamos::index_flags(uint idx, uint part, bool all_parts) const
{
	ulong f = HA_READ_NEXT | HA_READ_PREV | HA_READ_ORDER | HA_READ_RANGE;
	if (keyread_claimed(idx, part, all_parts))
		f |= HA_KEYREAD_ONLY;
	if (table_share && idx == table_share->primary_key)
		f |= HA_CLUSTERED_INDEX;
	return f;
}

/* "./db/table" -> "db/table"; an absolute path (a temporary table in
 * tmpdir) keeps its last two components. */
static std::string host_name(const char *name)
{
	std::string n(name);
	if (n.compare(0, 2, "./") == 0)
		return n.substr(2);
	size_t last = n.rfind('/');
	if (last != std::string::npos && last > 0) {
		size_t prev = n.rfind('/', last - 1);
		return prev == std::string::npos ? n : n.substr(prev + 1);
	}
	return n;
}

static ulonglong now_ms()
{
	return (ulonglong)vamos_now_ms();
}

/* ---- requests ---- */

void ha_vamos::begin_request(uint16_t op)
{
	(void)op;
	m_req.clear();
	vamos_mysql_req h = {};
	put(&m_req, h);
}

/* Send m_req (its header is filled here) with this table's handle and, if
 * @with_ctx, the connection's context. A handle or context of an older
 * epoch (vamosd restarted) is reopened first; a request that finds them
 * gone is sent once more unless its transaction had written already. */
int ha_vamos::call(uint16_t op, bool with_ctx, bool is_write, std::string *reply)
{
	bool is_read = op == VAMOS_MYSQL_READ || op == VAMOS_MYSQL_GET;
	/* A SEQUENCE's row is not transactional (MariaDB's sequences need
	 * that: a value handed out stays handed out, and NEXTVAL never waits
	 * for another transaction's end): its handle has a context of its
	 * own, reads see what is committed now, and each write commits at
	 * once. */
	if (m_seq && is_read)
		is_write = false;
	for (int attempt = 0;; attempt++) {
		Trx *t = nullptr;
		int st;
		if (with_ctx) {
			t = m_seq ? &m_seq_trx : trx_get(ha_thd(), ht);
			if (m_seq)
				t->fresh = true;
			if ((st = trx_ensure_ctx(t)))
				return st;
			if (t->lost) {
				t->lost = false;
				return ST_TXN_LOST;
			}
		}
		if (m_epoch != conn_epoch() && (st = open_handle()))
			return st;
		if (t && t->epoch != m_epoch)
			continue; /* re-ATTACHed in between: both again */
		vamos_mysql_req h = {};
		h.version = VAMOS_MYSQL_VERSION;
		h.flags = t && t->fresh ? VAMOS_MYSQL_FRESH_SNAPSHOT : 0;
		if (t)
			h.flags |= trx_take_stmt_end(t);
		/* A read of a writing statement reads the latest rows as the
		 * writer (a current read), never a stale snapshot. */
		if (is_write && is_read)
			h.flags |= VAMOS_MYSQL_FOR_UPDATE;
		h.table = m_table;
		h.ctx = t ? t->ctx : 0;
		memcpy(&m_req[0], &h, sizeof h);
		bool wrote_before = t && t->txn_wrote, stmt_wrote_before = t && t->stmt_wrote;
		/* The transaction's first write-capable request says how long
		 * it may wait for a row lock (vamos_lock_wait_timeout). */
		const std::string *req = &m_req;
		std::string with_wait;
		if (is_write && t && !wrote_before) {
			h.flags |= VAMOS_MYSQL_LOCK_WAIT;
			vamos_mysql_lock_wait w = {};
			unsigned long long ms = (unsigned long long)lock_wait_timeout(ha_thd()) * 1000;
			w.ms = (uint32_t)std::min<unsigned long long>(ms, UINT32_MAX);
			put(&with_wait, h);
			put(&with_wait, w);
			with_wait.append(m_req, sizeof h, std::string::npos);
			req = &with_wait;
		}
		if (is_write && t)
			trx_note_write(t);
		conn_set_lock_wait(lock_wait_timeout(ha_thd()) * 1000);
		st = conn_call(m_epoch, op, *req, reply);
		if (m_seq && t && is_write && st != -EBADF) {
			/* @reply keeps the write's answer (the end has its own) */
			int end = trx_end_own(t, st == 0);
			if (st == 0)
				st = end;
		}
		if (t && st != -ECONNRESET && st != -EBADF && st != -ECONNREFUSED) {
			t->fresh = false;
			t->snap_held = true; /* the host read in (or wrote from) it */
		}
		if (st == -EBADF) {
			if (wrote_before)
				return ST_TXN_LOST;
			/* Refused unheard (a handle or context of an older
			 * epoch): this write did not happen, and the retry
			 * must not count it as the transaction's. */
			if (t) {
				t->txn_wrote = false;
				t->stmt_wrote = stmt_wrote_before;
			}
			if (attempt < 2)
				continue;
		}
		return st;
	}
}

int ha_vamos::open_handle()
{
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	put(&req, h);
	put_bytes(&req, m_name.data(), m_name.size());
	uint64_t epoch = conn_epoch();
	int st = conn_call(epoch, VAMOS_MYSQL_OPEN, req, &m_reply);
	if (st)
		return st;
	size_t off = 0;
	vamos_mysql_table tb;
	if (!take(m_reply.data(), m_reply.size(), &off, &tb))
		return -EPROTO;
	if (tb.nsec != m_nsec || ((tb.flags & VAMOS_MYSQL_HIDDEN_PK) != 0) != m_hidden_pk) {
		m_msg = "vamosd's table " + m_name + " does not match its definition here";
		return ST_BAD_ANSWER;
	}
	m_table = tb.table;
	m_epoch = epoch;
	return 0;
}

/* vamosd lost what this connection's transaction wrote (it restarted,
 * or went away, under it): MariaDB rolls the whole transaction back at
 * the statement's end, as InnoDB has it after a deadlock, so that no
 * later COMMIT keeps only what came after. @lost: known lost even if
 * nothing is counted as written (the context was found gone). */
static void roll_back_lost(THD *thd, handlerton *hton, bool lost)
{
	Trx *t = static_cast<Trx *>(thd_get_ha_data(thd, hton));
	if (lost || (t && t->txn_wrote))
		thd->mark_transaction_to_rollback(true);
}

int ha_vamos::fail(int st)
{
	switch (st) {
	case 0:
		return 0;
	case -ENOENT:
		return HA_ERR_KEY_NOT_FOUND;
	case -EEXIST:
		return HA_ERR_FOUND_DUPP_KEY;
	case -ETIMEDOUT:
		return HA_ERR_LOCK_WAIT_TIMEOUT;
	case -EDEADLK:
		/* The host chose this transaction as a deadlock's victim: all of
		 * it rolls back, as InnoDB has it (error 1213). */
		ha_thd()->mark_transaction_to_rollback(true);
		return HA_ERR_LOCK_DEADLOCK;
	case -ENOSPC:
		return HA_ERR_RECORD_FILE_FULL;
	case -EMSGSIZE:
		return HA_ERR_TO_BIG_ROW;
	case -ENOMEM:
		return HA_ERR_OUT_OF_MEM;
	case ST_TXN_LOST:
		m_msg = "vamosd restarted and lost this transaction (rolled back)";
		roll_back_lost(ha_thd(), ht, true);
		return HA_ERR_VAMOS_HOST;
	case ST_BAD_ANSWER:
		return HA_ERR_VAMOS_HOST; /* m_msg set */
	case -EHOSTDOWN:
		/* vamosd is there but stuck: the client's words say for how long. */
		m_msg = conn_last_error();
		return HA_ERR_VAMOS_HOST;
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -EPROTO:
	case -ENOTCONN:
	case -EBADF:
		m_msg = conn_last_error();
		if (st == -EBADF)
			m_msg = "vamosd no longer knows this table or connection (restarted?)";
		else
			roll_back_lost(ha_thd(), ht, false);
		return HA_ERR_VAMOS_HOST;
	default:
		m_msg = std::string("vamosd: ") + strerror(-st);
		if (!m_reply.empty() && m_reply.size() < 512 && st != -EEXIST)
			m_msg += ": " + m_reply;
		return HA_ERR_VAMOS_HOST;
	}
}

bool ha_vamos::get_error_message(int error, String *buf)
{
	if (error == HA_ERR_VAMOS_HOST)
		buf->copy(m_msg.data(), m_msg.size(), system_charset_info);
	return false;
}

uint ha_vamos::host_index(uint keynr) const
{
	return m_host_of_key[keynr];
}

uint ha_vamos::keynr_of_host(uint host) const
{
	return host <= m_nsec ? m_key_of_host[host] : MAX_KEY;
}

/* ---- keys ---- */

/* Mapping of MariaDB's key numbers to the host's indexes: 0 primary,
 * then the other keys in order. Also the encoded key widths. */
static void map_keys(TABLE_SHARE *s, uint8_t *host_of_key, uint8_t *key_of_host, uint *nsec)
{
	uint n = 0;
	if (s->primary_key != MAX_KEY) {
		host_of_key[s->primary_key] = 0;
		key_of_host[0] = (uint8_t)s->primary_key;
	} else {
		key_of_host[0] = (uint8_t)MAX_KEY;
	}
	for (uint k = 0; k < s->keys; k++) {
		if (k == s->primary_key)
			continue;
		host_of_key[k] = (uint8_t)++n;
		key_of_host[n] = (uint8_t)k;
	}
	*nsec = n;
}

bool ha_vamos::encode_record_key(uint keynr, const uchar *record, std::string *out)
{
	return encode_key_record(&table->key_info[keynr], record, m_keyimg, m_scratch, out);
}

/* A unique key holding a NULL never clashes (NULLs are distinct): the
 * primary key is appended. Without a primary key the row id is not known
 * before the write, so a process-unique number serves instead. */
void ha_vamos::append_unique_suffix(const std::string &pk, std::string *key)
{
	if (!m_hidden_pk) {
		key->append(pk);
		return;
	}
	static std::atomic<uint64_t> seq{0};
	static const uint64_t boot = (uint64_t)time(nullptr) << 20;
	uint64_t v = boot + seq.fetch_add(1);
	for (int i = 7; i >= 0; i--)
		key->push_back((char)(v >> (8 * i)));
}

void ha_vamos::encode_pk(const uchar *record, std::string *out)
{
	out->clear();
	if (m_hidden_pk)
		out->append(m_cur_pk);
	else
		encode_record_key(table->s->primary_key, record, out);
}

void ha_vamos::encode_secondaries(const uchar *record, const std::string &pk,
				  std::vector<uint16_t> *lens, std::string *keys)
{
	lens->clear();
	keys->clear();
	for (uint h = 1; h <= m_nsec; h++) {
		uint k = m_key_of_host[h];
		size_t at = keys->size();
		bool null = encode_record_key(k, record, keys);
		if (null && (table->key_info[k].flags & HA_NOSAME))
			append_unique_suffix(pk, keys);
		lens->push_back((uint16_t)(keys->size() - at));
	}
}

/* ---- DDL ---- */

int ha_vamos::create(const char *name, TABLE *form, HA_CREATE_INFO *info)
{
	TABLE_SHARE *s = form->s;
	uint8_t host_of_key[MAX_KEY], key_of_host[MAX_KEY + 1];
	uint nsec;
	map_keys(s, host_of_key, key_of_host, &nsec);
	bool hidden = s->primary_key == MAX_KEY;
	std::string n = host_name(name);
	if (n.size() > VAMOS_MYSQL_MAX_NAME) {
		my_error(ER_TOO_LONG_IDENT, MYF(0), name);
		return HA_WRONG_CREATE_OPTION;
	}
	/* Keys must fit the host's longest key once encoded. */
	size_t pk_max = hidden ? 8 : key_encoded_max(&form->key_info[s->primary_key]);
	for (uint k = 0; k < s->keys; k++) {
		KEY *key = &form->key_info[k];
		if (key->algorithm == HA_KEY_ALG_FULLTEXT || key->algorithm == HA_KEY_ALG_RTREE ||
		    (key->flags & (HA_FULLTEXT | HA_SPATIAL))) {
			my_error(ER_CHECK_NOT_IMPLEMENTED, MYF(0), "FULLTEXT/SPATIAL keys in VAMOS");
			return HA_ERR_UNSUPPORTED;
		}
		size_t len = key_encoded_max(key);
		if (k != s->primary_key && (!(key->flags & HA_NOSAME) || (key->flags & HA_NULL_PART_KEY)))
			len += hidden ? 8 : pk_max;
		if (len > conn_max_key()) {
			my_error(ER_TOO_LONG_KEY, MYF(0), (int)(conn_max_key()));
			return HA_WRONG_CREATE_OPTION;
		}
	}
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	put(&req, h);
	vamos_mysql_create c = {};
	c.flags = hidden ? VAMOS_MYSQL_HIDDEN_PK : 0;
	c.nsec = nsec;
	c.auto_increment = info->auto_increment_value;
	put(&req, c);
	for (uint i = 1; i <= nsec; i++)
		req.push_back((form->key_info[key_of_host[i]].flags & HA_NOSAME) ? 1 : 0);
	put_bytes(&req, n.data(), n.size());
	int st = conn_call(conn_epoch(), VAMOS_MYSQL_CREATE, req, &m_reply);
	if (st == -EEXIST)
		return HA_ERR_TABLE_EXIST;
	int rc = fail(st);
	if (rc == HA_ERR_VAMOS_HOST) /* CREATE's error shows only the code */
		my_printf_error(ER_UNKNOWN_ERROR, "VAMOS: %s", MYF(0), m_msg.c_str());
	return rc;
}

int ha_vamos::delete_table(const char *name)
{
	std::string n = host_name(name);
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	put(&req, h);
	put_bytes(&req, n.data(), n.size());
	int st = conn_call(conn_epoch(), VAMOS_MYSQL_DROP, req, &m_reply);
	if (st == -ENOENT)
		return HA_ERR_NO_SUCH_TABLE;
	return fail(st);
}

int ha_vamos::rename_table(const char *from, const char *to)
{
	std::string f = host_name(from), t = host_name(to);
	std::string req;
	vamos_mysql_req h = {};
	h.version = VAMOS_MYSQL_VERSION;
	put(&req, h);
	vamos_mysql_rename r = {(uint32_t)f.size(), (uint32_t)t.size()};
	put(&req, r);
	put_bytes(&req, f.data(), f.size());
	put_bytes(&req, t.data(), t.size());
	int st = conn_call(conn_epoch(), VAMOS_MYSQL_RENAME, req, &m_reply);
	if (st == -ENOENT)
		return HA_ERR_NO_SUCH_TABLE;
	if (st == -EEXIST)
		return HA_ERR_TABLE_EXIST;
	return fail(st);
}

int ha_vamos::truncate()
{
	int rc = flush_batch();
	if (rc)
		return rc;
	trx_register(ha_thd(), ht);
	begin_request(VAMOS_MYSQL_TRUNCATE);
	m_info_time = 0;
	m_share->autoinc.drop(); /* the counter starts again */
	return fail(call(VAMOS_MYSQL_TRUNCATE, true, true, &m_reply));
}

/* ---- open/close ---- */

int ha_vamos::open(const char *name, int mode, uint test_if_locked)
{
	lock_shared_ha_data();
	m_share = static_cast<Vamos_share *>(get_ha_share_ptr());
	if (!m_share) {
		m_share = new Vamos_share;
		set_ha_share_ptr(m_share);
	}
	unlock_shared_ha_data();
	thr_lock_data_init(&m_share->lock, &m_lock, nullptr);

	TABLE_SHARE *s = table->s;
	m_name = host_name(name);
	m_seq = s->table_type == TABLE_TYPE_SEQUENCE;
	m_hidden_pk = s->primary_key == MAX_KEY;
	map_keys(s, m_host_of_key, m_key_of_host, &m_nsec);
	bool pk_decodes = m_hidden_pk || vamos::key_decodable(&table->key_info[s->primary_key]);
	for (uint k = 0; k < s->keys; k++)
		m_covers[k] = k != s->primary_key && pk_decodes &&
			      vamos::key_decodable(&table->key_info[k]);
	ref_length = 2 + (uint)(m_hidden_pk ? 8 : key_encoded_max(&table->key_info[s->primary_key]));
	if (!m_scratch) {
		size_t max_img = 0;
		for (uint k = 0; k < s->keys; k++)
			max_img = std::max<size_t>(max_img, table->key_info[k].key_length);
		size_t rec = s->reclength;
		m_scratch = (uchar *)my_malloc(PSI_NOT_INSTRUMENTED, 2 * rec + max_img + 8,
					       MYF(MY_WME | MY_ZEROFILL));
		if (!m_scratch)
			return HA_ERR_OUT_OF_MEM;
		m_turn_rec = m_scratch + rec;
		m_keyimg = m_scratch + 2 * rec;
		m_blob_store.resize(s->fields + 1);
		m_turn_blob_store.resize(s->fields + 1);
		m_blobs = m_blob_store.data();
		m_turn_blobs = m_turn_blob_store.data();
	}
	int st = open_handle();
	if (st == -ENOENT)
		return HA_ERR_NO_SUCH_TABLE;
	if (st)
		return fail(st);
	info(HA_STATUS_VARIABLE | HA_STATUS_CONST);
	return 0;
}

int ha_vamos::close()
{
	ahead_drop();
	/* A handle of a lost connection died with it: no CLOSE, and above
	 * all no re-ATTACH to send one. */
	if (m_table && conn_handles_live(m_epoch)) {
		std::string req;
		vamos_mysql_req h = {};
		h.version = VAMOS_MYSQL_VERSION;
		h.table = m_table;
		put(&req, h);
		/* The share's kept AUTO_INCREMENT values go back: a RENAME, a
		 * FLUSH or a shutdown would forget them (a gap InnoDB has
		 * not); another handle of the share reserves again. */
		vamos_mysql_close c = {};
		m_share->autoinc.give_back(&c.cached_next, &c.cached_end);
		if (c.cached_next)
			put(&req, c);
		conn_call(m_epoch, VAMOS_MYSQL_CLOSE, req, &m_reply);
	}
	m_table = 0;
	if (m_seq)
		trx_close_own(&m_seq_trx);
	return 0;
}

/* ---- statistics ---- */

/* Counts vamosd gave (INFO, ANALYZE); they serve for a second. */
void ha_vamos::set_info(const vamos_mysql_info &in)
{
	m_info_rows = in.rows;
	stats.data_file_length = in.data_bytes;
	/* Values the share keeps come first: the next is InnoDB's. */
	uint64_t kept;
	stats.auto_increment_value = m_share->autoinc.next(&kept) ? kept : in.next_autoinc;
	stats.mean_rec_length = in.rows ? (ulong)(in.data_bytes / in.rows) : 0;
	m_info_time = now_ms();
}

int ha_vamos::info(uint flag)
{
	if (flag & (HA_STATUS_VARIABLE | HA_STATUS_AUTO)) {
		/* Once a second is enough for the optimizer; SHOW asks AUTO. */
		ulonglong now = now_ms();
		if ((flag & HA_STATUS_AUTO) || now - m_info_time > 1000) {
			flush_batch();
			begin_request(VAMOS_MYSQL_INFO);
			int st = call(VAMOS_MYSQL_INFO, false, false, &m_reply);
			size_t off = 0;
			vamos_mysql_info in;
			if (st == 0 && take(m_reply.data(), m_reply.size(), &off, &in)) {
				set_info(in);
			} else if (st) {
				return fail(st);
			}
		}
		stats.deleted = 0;
		/* The count is of committed rows, and the optimizer takes 0 as
		 * "empty for sure" (a range in it is impossible): this
		 * transaction's own new rows would not be read. As InnoDB,
		 * only SHOW TABLE STATUS (HA_STATUS_TIME) sees a 0. */
		stats.records = m_info_rows;
		if (!stats.records && !(flag & (HA_STATUS_TIME | HA_STATUS_OPEN)))
			stats.records = 1;
	}
	if (flag & HA_STATUS_CONST) {
		stats.block_size = 4096;
		for (uint k = 0; k < table->s->keys; k++) {
			KEY *key = &table->key_info[k];
			if (key->flags & HA_NOSAME)
				key->rec_per_key[key->user_defined_key_parts - 1] = 1;
		}
	}
	if (flag & HA_STATUS_ERRKEY)
		errkey = m_dup_key >= 0 ? (uint)m_dup_key : (uint)-1;
	return 0;
}

ha_rows ha_vamos::records_in_range(uint inx, const key_range *min_key,
				   const key_range *max_key, page_range *pages)
{
	if (flush_batch())
		return 10;
	KEY *key = &table->key_info[inx];
	m_key.clear();
	m_key2.clear();
	if (min_key)
		encode_key_image(key, min_key->key, min_key->keypart_map, m_scratch, &m_key);
	if (max_key)
		encode_key_image(key, max_key->key, max_key->keypart_map, m_scratch, &m_key2);
	begin_request(VAMOS_MYSQL_RECORDS_IN_RANGE);
	vamos_mysql_range r = {};
	r.index = host_index(inx);
	r.min_len = (uint16_t)m_key.size();
	r.max_len = (uint16_t)m_key2.size();
	r.min_flag = min_key ? (uint8_t)min_key->flag : 0;
	r.max_flag = max_key ? (uint8_t)max_key->flag : 0;
	put(&m_req, r);
	m_req += m_key;
	m_req += m_key2;
	int st = call(VAMOS_MYSQL_RECORDS_IN_RANGE, true, false, &m_reply);
	size_t off = 0;
	vamos_mysql_estimate e;
	if (st || !take(m_reply.data(), m_reply.size(), &off, &e))
		return 10;
	/* 0 would tell the optimizer the range is empty for sure. */
	return e.rows ? (ha_rows)e.rows : 1;
}

/* Costs: a scan fetches many rows per round trip; an index read pays a
 * round trip per range and little per row. */
double ha_vamos::scan_time()
{
	return (double)stats.records / 50.0 + 2;
}

double ha_vamos::read_time(uint index, uint ranges, ha_rows rows)
{
	return (double)ranges + (double)rows / 50.0;
}

void ha_vamos::update_create_info(HA_CREATE_INFO *create_info)
{
	if (!(create_info->used_fields & HA_CREATE_USED_AUTO)) {
		info(HA_STATUS_AUTO);
		create_info->auto_increment_value = stats.auto_increment_value;
	}
}

/* ---- locks and statements ---- */

THR_LOCK_DATA **ha_vamos::store_lock(THD *thd, THR_LOCK_DATA **to, enum thr_lock_type lock_type)
{
	/* Row locks, as InnoDB: writers do not block each other here (vamosd
	 * locks the rows they write); plain reads do not block writers. */
	if (lock_type != TL_IGNORE && m_lock.type == TL_UNLOCK) {
		if (lock_type >= TL_WRITE_CONCURRENT_INSERT && lock_type <= TL_WRITE &&
		    !thd_in_lock_tables(thd) && !thd_tablespace_op(thd))
			lock_type = TL_WRITE_ALLOW_WRITE;
		if (lock_type == TL_READ_NO_INSERT && !thd_in_lock_tables(thd))
			lock_type = TL_READ;
		m_lock.type = lock_type;
	}
	*to++ = &m_lock;
	return to;
}

int ha_vamos::external_lock(THD *thd, int lock_type)
{
	if (lock_type == F_UNLCK) {
		m_for_update = false;
		ahead_drop(); /* the statement is over: nothing of it stays in flight */
		return flush_batch();
	}
	/* Statements that write this table (and SELECT ... FOR UPDATE) read
	 * it with row locks, in the connection's write transaction. */
	m_for_update = lock_type == F_WRLCK;
	m_autoinc_rows = 0; /* a new statement */
	trx_register(thd, ht);
	return 0;
}

int ha_vamos::start_stmt(THD *thd, thr_lock_type lock_type)
{
	ahead_drop(); /* under LOCK TABLES: a new statement */
	m_for_update = lock_type >= TL_FIRST_WRITE;
	m_autoinc_rows = 0; /* a new statement */
	trx_register(thd, ht);
	return 0;
}

int ha_vamos::extra(enum ha_extra_function operation)
{
	switch (operation) {
	case HA_EXTRA_IGNORE_DUP_KEY:
		m_ignore_dup = true;
		break;
	case HA_EXTRA_NO_IGNORE_DUP_KEY:
		m_ignore_dup = false;
		break;
	case HA_EXTRA_WRITE_CAN_REPLACE:
		m_replace = true;
		break;
	case HA_EXTRA_WRITE_CANNOT_REPLACE:
		m_replace = false;
		break;
	case HA_EXTRA_INSERT_WITH_UPDATE:
		m_odku = true;
		break;
	default:
		break;
	}
	return 0;
}

int ha_vamos::reset()
{
	m_ignore_dup = m_replace = m_odku = false;
	m_range_stop = false;
	scan_reset();
	return 0;
}
