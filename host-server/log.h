/* SPDX-License-Identifier: MIT */
/* vamosd's log: one line per event on stderr (the journal under systemd),
 * filtered by level. */
#ifndef VAMOSD_LOG_H
#define VAMOSD_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parse "error|warn|info|debug"; -1 if none of them. */
int log_parse_level(const char *name);
void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
