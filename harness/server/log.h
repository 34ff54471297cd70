/* log.h — pop3refd's event log: one line per event on stderr, filtered by level. */
#ifndef POP3REFD_LOG_H
#define POP3REFD_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info" or "debug"; -1 when none of them. */
int log_level_parse(const char *s, enum log_level *out);

/* Write "YYYY-MM-DDTHH:MM:SSZ pop3refd[pid]: <level>: <message>" and a newline, as one write(2) so
 * lines from one process never interleave. The message is cut at 1 kB; control octets are escaped. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
