/* datadir.c — locating the installed suite and pop3refd relative to this executable, then at the folders
 * `make` compiled in, so an install works from any working folder and from any prefix it was copied to. */
#include "runner/datadir.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef POP3SPEC_DATADIR
#define POP3SPEC_DATADIR "/usr/local/share/pop3spec"
#endif
#ifndef POP3SPEC_SBINDIR
#define POP3SPEC_SBINDIR "/usr/local/sbin"
#endif

/* This executable's folder (from /proc/self/exe, so symlinks to it are resolved). */
static bool exe_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		return false;
	if (slash == buf)
		slash++; /* the executable is in / */
	*slash = '\0';
	return true;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_exec(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

const char *datadir(void)
{
	static char found[PATH_MAX];
	static bool done;
	if (done)
		return found;
	done = true;
	char exe[PATH_MAX], scen[PATH_MAX + 32];
	if (exe_dir(exe, sizeof exe)) {
		int w = snprintf(found, sizeof found, "%s/../share/pop3spec", exe);
		int v = snprintf(scen, sizeof scen, "%s/scenarios", found);
		if (w > 0 && (size_t)w < sizeof found && v > 0 && (size_t)v < sizeof scen && is_dir(scen)) {
			char real[PATH_MAX];
			if (realpath(found, real) != NULL && strlen(real) < sizeof found)
				memcpy(found, real, strlen(real) + 1);
			return found;
		}
	}
	snprintf(found, sizeof found, "%s", POP3SPEC_DATADIR);
	return found;
}

int datadir_server(char *buf, size_t size)
{
	char exe[PATH_MAX], tried[3 * PATH_MAX] = "";
	const char *const rel[] = {"pop3refd", "../sbin/pop3refd"};
	size_t used = 0;
	if (exe_dir(exe, sizeof exe)) {
		for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			int w = snprintf(buf, size, "%s/%s", exe, rel[i]);
			if (w <= 0 || (size_t)w >= size)
				continue;
			if (is_exec(buf))
				return 0;
			w = snprintf(tried + used, sizeof tried - used, "%s, ", buf);
			if (w > 0 && (size_t)w < sizeof tried - used)
				used += (size_t)w;
		}
	}
	int w = snprintf(buf, size, "%s/pop3refd", POP3SPEC_SBINDIR);
	if (w > 0 && (size_t)w < size && is_exec(buf))
		return 0;
	snprintf(buf, size, "%s%s/pop3refd", tried, POP3SPEC_SBINDIR);
	return -1;
}
