/* log.c — pop3refd's event log on stderr: one line per event, levels, no control octets. */
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current = LOG_INFO;

void log_set_level(enum log_level level)
{
	current = level;
}

enum log_level log_get_level(void)
{
	return current;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"error", "warn", "info", "debug"};
	char msg[1024], line[1200];
	char stamp[32];
	time_t now;
	struct tm tm;
	va_list ap;
	size_t n;

	if (level > current)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* A log line is one line: anything a client sent that ends up in a message is already escaped by the
	 * caller, but never trust that. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = (size_t)snprintf(line, sizeof line, "%s pop3refd[%ld]: %s: %s\n", stamp, (long)getpid(),
	                     tags[level], msg);
	if (n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	/* One write keeps concurrent writers (two servers in one test) from interleaving inside a line. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nothing sensible to do when stderr is gone. */
	}
}
