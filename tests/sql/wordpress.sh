#!/usr/bin/env bash
# WordPress's core tables, as its installer creates them (utf8mb4, a
# 191-character unique option name, 191-character prefix keys, a 250-
# character unique user key), are created on $E and used as WordPress uses
# them: options autoloaded and updated, posts by type and status, post meta
# by key prefix, users by login and nicename; then index keys at the 3072-
# byte limit (a utf8mb4 VARCHAR(768), a latin1 VARCHAR(3072)) and a plain key
# one byte past it (cut to a prefix). Every answer is compared with an InnoDB
# copy of the same tables.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
sqlt_start

# The schema for one engine, tables named with prefix $1.
schema() {
	local p=$1 engine=$2
	cat <<EOF
CREATE TABLE ${p}options (
  option_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  option_name varchar(191) NOT NULL DEFAULT '',
  option_value longtext NOT NULL,
  autoload varchar(20) NOT NULL DEFAULT 'yes',
  PRIMARY KEY (option_id),
  UNIQUE KEY option_name (option_name),
  KEY autoload (autoload)
) ENGINE=$engine DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE TABLE ${p}posts (
  ID bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  post_author bigint(20) unsigned NOT NULL DEFAULT 0,
  post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_content longtext NOT NULL,
  post_title text NOT NULL,
  post_status varchar(20) NOT NULL DEFAULT 'publish',
  post_name varchar(200) NOT NULL DEFAULT '',
  post_parent bigint(20) unsigned NOT NULL DEFAULT 0,
  guid varchar(255) NOT NULL DEFAULT '',
  post_type varchar(20) NOT NULL DEFAULT 'post',
  PRIMARY KEY (ID),
  KEY post_name (post_name(191)),
  KEY type_status_date (post_type, post_status, post_date, ID),
  KEY post_parent (post_parent),
  KEY post_author (post_author)
) ENGINE=$engine DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE TABLE ${p}postmeta (
  meta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  post_id bigint(20) unsigned NOT NULL DEFAULT 0,
  meta_key varchar(255) DEFAULT NULL,
  meta_value longtext,
  PRIMARY KEY (meta_id),
  KEY post_id (post_id),
  KEY meta_key (meta_key(191))
) ENGINE=$engine DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE TABLE ${p}users (
  ID bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  user_login varchar(60) NOT NULL DEFAULT '',
  user_pass varchar(255) NOT NULL DEFAULT '',
  user_nicename varchar(50) NOT NULL DEFAULT '',
  user_email varchar(100) NOT NULL DEFAULT '',
  user_registered datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  user_activation_key varchar(255) NOT NULL DEFAULT '',
  user_status int(11) NOT NULL DEFAULT 0,
  display_name varchar(250) NOT NULL DEFAULT '',
  PRIMARY KEY (ID),
  KEY user_login_key (user_login),
  KEY user_nicename (user_nicename),
  KEY user_email (user_email),
  UNIQUE KEY display (display_name)
) ENGINE=$engine DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
EOF
}

# The same statements on the InnoDB copy (i_) and the $E tables (w_):
# each's output must be the same.
same() {
	local name=$1 stmt=$2
	check_same "$name" "$(sql "${stmt//@/i_}" 2>&1)" "$(sql "${stmt//@/w_}" 2>&1)"
}

check create "$(schema w_ "$E")" <<'EOF'
EOF
sql "$(schema i_ InnoDB)"

for p in i_ w_; do
	sql "SET sql_mode = '';
	INSERT INTO ${p}options (option_name, option_value, autoload) VALUES
		('siteurl', 'http://example.test', 'yes'), ('blogname', 'Ünïcödé 😀 blog', 'yes'),
		('active_plugins', 'a:0:{}', 'yes'), ('_transient_x', REPEAT('t', 5000), 'no'),
		(REPEAT('ö', 191), 'the longest option name', 'no');
	INSERT INTO ${p}posts (post_author, post_date, post_content, post_title, post_status,
		post_name, guid, post_type)
	SELECT 1 + seq % 3, '2026-01-01' + INTERVAL seq HOUR, REPEAT('body ', seq % 50),
		CONCAT('Post ', seq), ELT(1 + seq % 3, 'publish', 'draft', 'private'),
		CONCAT(REPEAT('slug-', 40), seq), CONCAT('http://example.test/?p=', seq),
		ELT(1 + seq % 4, 'post', 'page', 'attachment', 'revision')
	FROM seq_1_to_400;
	INSERT INTO ${p}postmeta (post_id, meta_key, meta_value)
	SELECT 1 + seq % 400, CONCAT(IF(seq % 2, '_edit_', 'custom_'), REPEAT('k', 200), seq % 7),
		seq FROM seq_1_to_1200;
	INSERT INTO ${p}users (user_login, user_pass, user_nicename, user_email, display_name)
	SELECT CONCAT('user', seq), MD5(seq), CONCAT('nice-', seq), CONCAT('u', seq, '@example.test'),
		CONCAT(REPEAT('Ñame ', 49), seq) FROM seq_1_to_50"
done

same autoload "SELECT option_name, LENGTH(option_value) FROM @options WHERE autoload = 'yes'
	ORDER BY option_name"
same option-by-name "SELECT option_value FROM @options WHERE option_name = 'BLOGNAME'"
same option-longest "SELECT option_value FROM @options WHERE option_name = REPEAT('Ö', 191)"
same option-duplicate "INSERT INTO @options (option_name, option_value) VALUES ('SiteURL', 'x')"
same option-update "INSERT INTO @options (option_name, option_value, autoload)
	VALUES ('siteurl', 'https://example.test', 'yes')
	ON DUPLICATE KEY UPDATE option_value = VALUES(option_value);
	SELECT option_id, option_value FROM @options WHERE option_name = 'siteurl'"
same posts-by-type "SELECT ID, post_title, post_date FROM @posts
	WHERE post_type = 'post' AND post_status = 'publish' ORDER BY post_date DESC LIMIT 10"
same posts-count "SELECT post_type, post_status, COUNT(*) FROM @posts
	GROUP BY post_type, post_status ORDER BY 1, 2"
same post-by-name "SELECT ID FROM @posts WHERE post_name = CONCAT(REPEAT('slug-', 40), 77)"
same meta-by-key "SELECT meta_key, COUNT(*), SUM(meta_value) FROM @postmeta
	WHERE meta_key LIKE '\\_edit\\_%' GROUP BY meta_key ORDER BY meta_key"
same meta-of-post "SELECT meta_id, meta_key FROM @postmeta WHERE post_id = 42 ORDER BY meta_id"
same user-by-login "SELECT ID, user_nicename FROM @users WHERE user_login = 'USER7'"
same user-display-unique "INSERT INTO @users (user_login, display_name)
	VALUES ('dup', CONCAT(REPEAT('ñame ', 49), 7))"
same delete-revisions "DELETE FROM @posts WHERE post_type = 'revision'; SELECT ROW_COUNT();
	SELECT COUNT(*) FROM @posts"

# Keys at InnoDB's 3072-byte limit, and one byte past it.
for p in i_ w_; do
	engine=$E
	[[ $p == i_ ]] && engine=InnoDB
	sql "CREATE TABLE ${p}wide (id INT PRIMARY KEY, u VARCHAR(768) NOT NULL, l VARCHAR(3072)
		CHARACTER SET latin1 NOT NULL, UNIQUE KEY (u), KEY (l)) ENGINE=$engine
		DEFAULT CHARSET=utf8mb4;
	INSERT INTO ${p}wide SELECT seq, CONCAT(REPEAT('€', 767), CHAR(64 + seq)),
		CONCAT(REPEAT('x', 3071), CHAR(64 + seq)) FROM seq_1_to_20"
done
same wide-unique "SELECT id FROM @wide WHERE u = CONCAT(REPEAT('€', 767), 'J')"
same wide-range "SELECT id FROM @wide WHERE l > CONCAT(REPEAT('x', 3071), 'P') ORDER BY l DESC"
same wide-duplicate "INSERT INTO @wide VALUES (99, CONCAT(REPEAT('€', 767), 'A'), 'y')"
# One byte past it: MariaDB cuts a plain key to a 3072-byte prefix (a
# warning), for both engines alike; the key still finds its rows.
for p in i_ w_; do
	engine=$E
	[[ $p == i_ ]] && engine=InnoDB
	sql "CREATE TABLE ${p}toolong (id INT PRIMARY KEY, v VARCHAR(3073) CHARACTER SET latin1,
		KEY (v)) ENGINE=$engine;
	INSERT INTO ${p}toolong SELECT seq, CONCAT(REPEAT('z', 3072), CHAR(64 + seq % 3))
		FROM seq_1_to_9"
done
check_same too-long-prefix "$(sql "SHOW CREATE TABLE i_toolong" | grep -o 'KEY `v` [^\\]*')" \
	"$(sql "SHOW CREATE TABLE w_toolong" | grep -o 'KEY `v` [^\\]*')"
same too-long-lookup "SELECT id FROM @toolong FORCE INDEX (v)
	WHERE v = CONCAT(REPEAT('z', 3072), 'B') ORDER BY id"
sqlt_end
