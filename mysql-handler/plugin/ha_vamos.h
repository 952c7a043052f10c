/* SPDX-License-Identifier: MIT */
/*
 * ha_vamos: the VAMOS storage engine. A thin shim that forwards MariaDB's
 * handler calls to vamosd's mysql service (vamos/mysql_protocol.h) over
 * libvamos-client: keys go memcmp-encoded (key_encoding.h), rows packed
 * (row_packing.h). Reads prefetch rows in batches that grow while a scan
 * goes on; bulk inserts send many rows per WRITE.
 *
 *   ha_vamos.cc        table handles, DDL, info, locks, errors
 *   ha_vamos_read.cc   scans and index reads (READ/GET), prefetching
 *   ha_vamos_write.cc  write/update/delete, bulk insert, AUTO_INCREMENT
 *   ha_vamos_admin.cc  ANALYZE and CHECK TABLE
 *   plugin.cc          handlerton, status variables, plugin declaration
 */
#ifndef HA_VAMOS_H
#define HA_VAMOS_H

#include "server.h"

#include <stdint.h>
#include <string>
#include <vector>

#include <thr_lock.h>

#include "autoinc_range.h"
#include "row_packing.h"
#include "trx.h"

struct vamos_mysql_info;

/* Our own error: a failure of vamosd or of the way to it; the words are
 * in ha_vamos::m_msg (get_error_message). */
#define HA_ERR_VAMOS_HOST (HA_ERR_LAST + 1)

namespace vamos {

/** Counters for SHOW STATUS. */
struct engine_counters {
	long long rows_fetched;  /**< rows received from READ/GET */
	long long rows_written;  /**< rows sent in WRITE requests */
	long long read_requests; /**< READ requests */
	long long write_batches; /**< WRITE requests */
	long long reads_ahead;   /**< READs sent ahead of the scan (also in read_requests) */
	long long reads_ahead_discarded; /**< of those, replies thrown away unread */
	long long covering_reads; /**< READ requests answered with index entries */
};
extern engine_counters engine_stats;

} // namespace vamos

class Vamos_share : public Handler_share {
public:
	THR_LOCK lock;
	vamos::AutoincRange autoinc; /* values kept for single-row inserts */
	Vamos_share() { thr_lock_init(&lock); }
	~Vamos_share() override { thr_lock_delete(&lock); }
};

class ha_vamos final : public handler {
public:
	ha_vamos(handlerton *hton, TABLE_SHARE *share);
	~ha_vamos() override;

	const char *table_type() const override { return "VAMOS"; }
	ulonglong table_flags() const override;
	ulong index_flags(uint idx, uint part, bool all_parts) const override;
	uint max_supported_keys() const override { return MAX_KEY; }
	uint max_supported_key_parts() const override { return MAX_REF_PARTS; }
	uint max_supported_key_length() const override { return 3072; }
	uint max_supported_key_part_length() const override { return 3072; }

	int create(const char *name, TABLE *form, HA_CREATE_INFO *info) override;
	int open(const char *name, int mode, uint test_if_locked) override;
	int close() override;
	int delete_table(const char *name) override;
	int rename_table(const char *from, const char *to) override;
	int truncate() override;

	int rnd_init(bool scan) override;
	int rnd_end() override;
	int rnd_next(uchar *buf) override;
	void position(const uchar *record) override;
	int rnd_pos(uchar *buf, uchar *pos) override;

	int index_init(uint idx, bool sorted) override;
	int index_end() override;
	int index_read_map(uchar *buf, const uchar *key, key_part_map keypart_map,
			   enum ha_rkey_function find_flag) override;
	int index_read_last_map(uchar *buf, const uchar *key, key_part_map keypart_map) override;
	int index_next(uchar *buf) override;
	int index_prev(uchar *buf) override;
	int index_first(uchar *buf) override;
	int index_last(uchar *buf) override;
	int index_next_same(uchar *buf, const uchar *key, uint keylen) override;
	int read_range_first(const key_range *start_key, const key_range *end_key,
			     bool eq_range, bool sorted) override;

	int write_row(const uchar *buf) override;
	int update_row(const uchar *old_data, const uchar *new_data) override;
	int delete_row(const uchar *buf) override;
	void start_bulk_insert(ha_rows rows, uint flags) override;
	int end_bulk_insert() override;
	void get_auto_increment(ulonglong offset, ulonglong increment,
				ulonglong nb_desired_values, ulonglong *first_value,
				ulonglong *nb_reserved_values) override;

	int info(uint flag) override;
	int extra(enum ha_extra_function operation) override;
	int reset() override;
	ha_rows records_in_range(uint inx, const key_range *min_key, const key_range *max_key,
				 page_range *pages) override;
	double scan_time() override;
	double read_time(uint index, uint ranges, ha_rows rows) override;

	THR_LOCK_DATA **store_lock(THD *thd, THR_LOCK_DATA **to,
				   enum thr_lock_type lock_type) override;
	int external_lock(THD *thd, int lock_type) override;
	/* Ordered indexes (RocksDB: sorted keys). */
	const char *index_type(uint) override { return "BTREE"; }
	/* SHOW CREATE TABLE shows the next AUTO_INCREMENT value. */
	void update_create_info(HA_CREATE_INFO *create_info) override;
	int start_stmt(THD *thd, thr_lock_type lock_type) override;
	bool get_error_message(int error, String *buf) override;
	int analyze(THD *thd, HA_CHECK_OPT *check_opt) override;
	int check(THD *thd, HA_CHECK_OPT *check_opt) override;

private:
	/* -- ha_vamos.cc -- */
	int open_handle();
	int call(uint16_t op, bool with_ctx, bool is_write, std::string *reply);
	void begin_request(uint16_t op);
	int fail(int st);
	uint host_index(uint keynr) const;
	bool keyread_claimed(uint idx, uint part, bool all_parts) const;
	uint keynr_of_host(uint host) const;
	void set_info(const vamos_mysql_info &in);

	/* -- ha_vamos_admin.cc -- */
	int admin_failed(int st);
	const char *host_index_name(int host) const;

	/* -- keys (ha_vamos.cc) -- */
	bool encode_record_key(uint keynr, const uchar *record, std::string *out);
	void append_unique_suffix(const std::string &pk, std::string *key);
	void encode_pk(const uchar *record, std::string *out);
	void encode_secondaries(const uchar *record, const std::string &pk,
				std::vector<uint16_t> *lens, std::string *keys);

	/* -- ha_vamos_read.cc -- */
	struct Scan {
		bool active = false;
		uint index = 0;          /* host index */
		bool backward = false;
		std::string buf;         /* the last READ reply */
		size_t off = 0;          /* next row entry in buf */
		uint32_t left = 0;       /* rows left in buf */
		size_t cur_off = 0;      /* entry of the row last returned */
		bool at_point = false;   /* the row last returned came by point_get */
		bool end = false;        /* ROWS_END seen */
		std::string resume;      /* the last row's stored key */
		uint8_t stop = 0;        /* enum vamos_mysql_stop */
		bool soft_stop = false;  /* our own stop: index_next may go past it */
		std::string stop_key;
		uint32_t batch = 1;      /* rows asked by the next READ */
		uint64_t ahead = 0;      /* ticket of the next READ, sent ahead; 0: none */
		bool covering = false;   /* entries carry index keys, not rows */
	};
	void scan_reset();
	int point_get(uchar *buf, const std::string &pk);
	int scan_start(uchar *buf, uint8_t start, uint8_t find, bool backward,
		       const std::string &key, uint32_t first_batch);
	int scan_fetch(uint8_t start, uint8_t find, const std::string &key);
	void read_request(uint8_t start, uint8_t find, const std::string &key);
	int read_reply(int st);
	int scan_continue(const std::string &from);
	void ahead_send();
	void ahead_drop();
	int index_start(uchar *buf, const uchar *key, key_part_map map,
			enum ha_rkey_function flag);
	int scan_next(uchar *buf, bool same_prefix);
	int scan_take(uchar *buf);
	bool covering_read(uint keynr) const;
	int unpack_entry(uchar *buf, const char *key, size_t len);
	/* A packed row from vamosd into @buf, through m_layout. */
	int unpack(uchar *buf, const char *data, size_t len, String *blobs)
	{
		m_layout.fit(table);
		return vamos::unpack_row(m_layout, table, buf, data, len, blobs);
	}
	int scan_turn(uchar *buf, bool backward);
	int flush_before_read();

	/* -- ha_vamos_write.cc -- */
	int flush_batch();
	bool batching() const;
	int report_dup(const char *reply, size_t len, bool batch);
	uint64_t autoinc_value(const uchar *record);

	THR_LOCK_DATA m_lock;
	Vamos_share *m_share = nullptr;
	std::string m_name;         /* "db/table" */
	uint32_t m_table = 0;       /* host handle */
	uint64_t m_epoch = 0;       /* connection epoch of m_table */
	bool m_hidden_pk = false;
	/* A SEQUENCE: its requests go in a context of its own, each write
	 * committed at once (see ha_vamos::call). */
	bool m_seq = false;
	vamos::Trx m_seq_trx;
	uint m_nsec = 0;
	uint8_t m_host_of_key[MAX_KEY];
	uint8_t m_key_of_host[MAX_KEY + 1];
	/* Index k's entries give back its columns and the primary key's
	 * (key_decoding.h): a keyread of k needs no row. */
	bool m_covers[MAX_KEY] = {};
	std::string m_entry_plain;   /* scratch for decoding an entry */
	uchar *m_scratch = nullptr;  /* record-sized, for key encoding */
	uchar *m_keyimg = nullptr;   /* key images of records */
	uchar *m_turn_rec = nullptr; /* record-sized, for direction changes */
	/* one String per field for unpacked BLOB bytes; std::vector, since
	 * String's own new[] allocates on the statement's MEM_ROOT */
	std::vector<String> m_blob_store, m_turn_blob_store;
	String *m_blobs = nullptr;
	String *m_turn_blobs = nullptr;
	vamos::RowLayout m_layout;   /* how this table's rows unpack */
	std::string m_req, m_reply, m_key, m_key2;
	std::string m_cur_pk;        /* primary key of the row last returned */
	int m_dup_key = -1;          /* errkey of the last duplicate */
	std::string m_msg;           /* words for HA_ERR_VAMOS_HOST */
	Scan m_scan;
	/* read_range_first's end, for the next index_read_map/index_first */
	bool m_range_stop = false;
	uint8_t m_range_stop_kind = 0;
	std::string m_range_stop_key;
	/* bulk insert */
	bool m_bulk = false;
	bool m_ignore_dup = false, m_replace = false, m_odku = false;
	bool m_for_update = false; /* this statement writes the table: current reads */
	std::string m_batch;
	uint32_t m_batch_rows = 0;
	std::vector<std::pair<size_t, size_t>> m_batch_row_bytes;
	uint64_t m_batch_autoinc = 0; /* largest AUTO_INCREMENT value in m_batch */
	/* Rows of this statement still expecting a reserved AUTO_INCREMENT
	 * value (InnoDB's n_autoinc_rows): a later reservation of the same
	 * statement asks for these, not for the server's doubling guess. */
	uint64_t m_autoinc_rows = 0;
	/* info cache */
	ulonglong m_info_time = 0;
	ha_rows m_info_rows = 0; /* committed rows, as INFO last counted */
};

#endif
