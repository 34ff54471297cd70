/* mbox.c — writing a fixture Maildir as one mboxrd file for reset commands ({fixture_mbox}): "From "
 * separator lines, LF line ends, ">From " quoting that a reader can undo exactly (mboxrd). */
#include "runner/mbox.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/maildir.h"

/* Octets of a message's start read to find its envelope sender. */
#define MBOX_HEADER_SCAN (64 * 1024)

/* The value of header field `name` (unfolded enough for an address: its first line) in hdr, or NULL. */
static const char *field(const char *hdr, size_t hlen, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < hlen;) {
		size_t end = i;
		while (end < hlen && hdr[end] != '\n')
			end++;
		size_t len = end - i;
		if (len && hdr[i + len - 1] == '\r')
			len--;
		if (len == 0)
			return NULL; /* the end of the header section */
		if (len > nl && hdr[i + nl] == ':' && strncasecmp(hdr + i, name, nl) == 0) {
			*vlen = len - nl - 1;
			return hdr + i + nl + 1;
		}
		i = end + 1;
	}
	return NULL;
}

/* An addr-spec inside a field value: the part in <...> if any, else the first word holding '@'. */
static int address(const char *v, size_t vl, char *buf, size_t bufsize)
{
	const char *lt = memchr(v, '<', vl);
	const char *gt = lt ? memchr(lt, '>', vl - (size_t)(lt - v)) : NULL;
	const char *a = NULL;
	size_t al = 0;
	if (lt && gt) {
		a = lt + 1;
		al = (size_t)(gt - lt - 1);
	} else {
		for (size_t i = 0; i < vl;) {
			while (i < vl && (v[i] == ' ' || v[i] == '\t'))
				i++;
			size_t s = i;
			while (i < vl && v[i] != ' ' && v[i] != '\t')
				i++;
			if (memchr(v + s, '@', i - s)) {
				a = v + s;
				al = i - s;
				break;
			}
		}
	}
	if (a == NULL || al == 0 || al >= bufsize)
		return -1;
	/* The separator line is split at spaces by readers: no space or control octet may be in it. */
	for (size_t i = 0; i < al; i++)
		if ((unsigned char)a[i] <= ' ' || a[i] == 0x7f)
			return -1;
	memcpy(buf, a, al);
	buf[al] = '\0';
	return 0;
}

void mbox_sender(const char *hdr, size_t hlen, char *buf, size_t bufsize)
{
	static const char *const names[] = {"Return-Path", "From"};
	for (size_t i = 0; i < 2; i++) {
		size_t vl;
		const char *v = field(hdr, hlen, names[i], &vl);
		if (v && address(v, vl, buf, bufsize) == 0)
			return;
	}
	snprintf(buf, bufsize, "MAILER-DAEMON");
}

/* The delivery time: a Maildir name starts with the Unix time of delivery ("1700000000.M1P2.host"). */
static time_t delivered(const char *name, const char *path)
{
	char *end;
	errno = 0;
	long long v = strtoll(name, &end, 10);
	if (end != name && *end == '.' && errno == 0 && v > 0 && v < 253402300800LL)
		return (time_t)v;
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mtime : 0;
}

/* One message: separator, quoted lines with LF ends, the empty line after it. */
static int write_message(FILE *out, const struct maildir_msg *m, struct p3err *err)
{
	FILE *in = fopen(m->path, "rb");
	if (in == NULL)
		return p3err_errno(err, "open %s", m->path);
	char *hdr = malloc(MBOX_HEADER_SCAN);
	if (hdr == NULL) {
		fclose(in);
		return p3err_set(err, "out of memory");
	}
	size_t hlen = fread(hdr, 1, MBOX_HEADER_SCAN, in);
	char sender[256];
	mbox_sender(hdr, hlen, sender, sizeof sender);
	free(hdr);
	rewind(in);
	time_t when = delivered(m->name, m->path);
	struct tm tm;
	char date[64];
	gmtime_r(&when, &tm);
	/* asctime form, as the traditional separator has it: "Thu Nov 14 22:13:20 2023". */
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(out, "From %s %s\n", sender, date);

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) > 0) {
		size_t len = (size_t)n;
		int ended = line[len - 1] == '\n';
		if (ended)
			len--;
		if (ended && len && line[len - 1] == '\r')
			len--;
		/* mboxrd: ">From ", ">>From ", ... each get one more '>', so a reader removes exactly one. */
		size_t q = 0;
		while (q < len && line[q] == '>')
			q++;
		if (len - q >= 5 && memcmp(line + q, "From ", 5) == 0)
			fputc('>', out);
		fwrite(line, 1, len, out);
		fputc('\n', out); /* a last line without its end gets one too */
	}
	int rerr = ferror(in);
	free(line);
	fclose(in);
	if (rerr)
		return p3err_set(err, "read error: %s", m->path);
	fputc('\n', out);
	return 0;
}

int mbox_write(const char *dir, const char *path, struct p3err *err)
{
	struct maildir md;
	if (maildir_scan(dir, &md, err) != 0)
		return -1;
	size_t tl = strlen(path) + 32;
	char *tmp = malloc(tl);
	if (tmp == NULL) {
		maildir_free(&md);
		return p3err_set(err, "out of memory");
	}
	snprintf(tmp, tl, "%s.tmp%ld", path, (long)getpid());
	/* Workers may write the same fixture's file at once: each its own temporary file. */
	static atomic_uint seq;
	snprintf(tmp + strlen(tmp), tl - strlen(tmp), ".%u", atomic_fetch_add(&seq, 1));
	int rc = 0;
	FILE *out = fopen(tmp, "wbx");
	if (out == NULL) {
		rc = p3err_errno(err, "create %s", tmp);
		goto out;
	}
	for (size_t i = 0; i < md.count && rc == 0; i++)
		rc = write_message(out, &md.msgs[i], err);
	if (fclose(out) != 0 && rc == 0)
		rc = p3err_errno(err, "write %s", tmp);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = p3err_errno(err, "rename %s", tmp);
	if (rc != 0)
		unlink(tmp);
out:
	free(tmp);
	maildir_free(&md);
	return rc;
}
