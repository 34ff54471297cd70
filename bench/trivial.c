/* trivial.c — the benchmark's ceiling: a POP3 responder that answers the load driver's dialogue (USER,
 * PASS, STAT, LIST, UIDL, RETR, NOOP, RSET, DELE, QUIT) from memory, with no authentication, no locking
 * and no maildrop scan. What a load client reaches against it is the most this machine's loopback, kernel
 * and client allow; bench/run.sh reports pop3refd as a fraction of it.
 *
 *   trivial --port PORT --maildir DIR
 *
 * DIR's messages (new/ and cur/, file-name order) are read once at start and kept in their wire form
 * (CRLF line ends, dot-stuffed, terminated), shared by every connection. Prints "listening PORT" once it
 * accepts. A benchmark tool only: it trusts its clients. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct msg {
	char *wire; /* stuffed, CRLF, ending in ".\r\n" */
	size_t wlen;
	unsigned long long size; /* octets as POP3 counts them (RFC 1939 §11) */
	char uid[64];
};

static struct msg *msgs;
static size_t nmsgs;
static unsigned long long total;
static char *listing; /* the LIST body with its terminator */
static size_t listing_len;

struct conn {
	int fd;
	char in[1024];
	size_t inlen;
	char st[256]; /* the status line being sent */
	size_t stlen, stoff;
	const char *body; /* then this, shared */
	size_t blen, boff;
	int quit;
};

static int epfd;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n > *cap) {
		while (*len + n > *cap)
			*cap = *cap ? *cap * 2 : 4096;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			die("realloc");
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

/* The wire form of a stored message (RFC 1939 §3): LF or CRLF → CRLF, a leading '.' doubled, a final
 * line end added when missing, then ".\r\n". */
static void load_msg(const char *path, const char *name)
{
	FILE *f = fopen(path, "rb");
	struct msg m = {0};
	size_t cap = 0;
	int c, bol = 1, prev = 0;

	if (!f)
		die(path);
	while ((c = getc(f)) != EOF) {
		if (bol && c == '.') {
			append(&m.wire, &m.wlen, &cap, ".", 1);
			m.size--; /* stuffing is not counted */
		}
		bol = 0;
		if (c == '\n') {
			if (prev != '\r')
				append(&m.wire, &m.wlen, &cap, "\r", 1);
			bol = 1;
		}
		{
			char ch = (char)c;
			append(&m.wire, &m.wlen, &cap, &ch, 1);
		}
		prev = c;
	}
	fclose(f);
	if (!bol)
		append(&m.wire, &m.wlen, &cap, "\r\n", 2);
	m.size += m.wlen;
	append(&m.wire, &m.wlen, &cap, ".\r\n", 3);
	snprintf(m.uid, sizeof m.uid, "%.*s", (int)strcspn(name, ":"), name);
	msgs = realloc(msgs, (nmsgs + 1) * sizeof *msgs);
	if (!msgs)
		die("realloc");
	msgs[nmsgs++] = m;
	total += m.size;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_maildir(const char *dir)
{
	char **names = NULL, **paths = NULL;
	size_t n = 0, cap = 0;
	static const char *const subs[] = {"new", "cur"};

	for (int s = 0; s < 2; s++) {
		char path[4096];
		DIR *d;
		struct dirent *de;
		snprintf(path, sizeof path, "%s/%s", dir, subs[s]);
		if (!(d = opendir(path)))
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				names = realloc(names, cap * sizeof *names);
				if (!names)
					die("realloc");
			}
			if (asprintf(&names[n], "%s/%s", de->d_name, path) < 0)
				die("asprintf");
			n++;
		}
		closedir(d);
	}
	/* "name/folder": sorting by the whole string sorts by name first. */
	qsort(names, n, sizeof *names, by_name);
	paths = calloc(n ? n : 1, sizeof *paths);
	for (size_t i = 0; i < n; i++) {
		char *slash = strchr(names[i], '/');
		*slash = '\0';
		if (asprintf(&paths[i], "%s/%s", slash + 1, names[i]) < 0)
			die("asprintf");
		load_msg(paths[i], names[i]);
		free(paths[i]);
		free(names[i]);
	}
	free(paths);
	free(names);
	{
		size_t lcap = 0;
		char line[64];
		for (size_t i = 0; i < nmsgs; i++) {
			int l = snprintf(line, sizeof line, "%zu %llu\r\n", i + 1, msgs[i].size);
			append(&listing, &listing_len, &lcap, line, (size_t)l);
		}
		append(&listing, &listing_len, &lcap, ".\r\n", 3);
	}
}

static void reply(struct conn *c, const char *line, const char *body, size_t blen)
{
	c->stlen = strlen(line);
	memcpy(c->st, line, c->stlen);
	c->stoff = 0;
	c->body = body;
	c->blen = blen;
	c->boff = 0;
}

static struct msg *msg_arg(const char *arg)
{
	long n = atol(arg);

	return n >= 1 && (size_t)n <= nmsgs ? &msgs[n - 1] : NULL;
}

static void command(struct conn *c, char *line)
{
	char out[256];
	char *arg = strchr(line, ' ');
	struct msg *m;

	if (arg)
		*arg++ = '\0';
	if (!strcasecmp(line, "USER") || !strcasecmp(line, "PASS") || !strcasecmp(line, "NOOP") ||
	    !strcasecmp(line, "RSET") || !strcasecmp(line, "DELE")) {
		reply(c, "+OK\r\n", NULL, 0);
	} else if (!strcasecmp(line, "STAT")) {
		snprintf(out, sizeof out, "+OK %zu %llu\r\n", nmsgs, total);
		reply(c, out, NULL, 0);
	} else if (!strcasecmp(line, "LIST") && !arg) {
		snprintf(out, sizeof out, "+OK %zu messages\r\n", nmsgs);
		reply(c, out, listing, listing_len);
	} else if (!strcasecmp(line, "LIST") && (m = msg_arg(arg))) {
		snprintf(out, sizeof out, "+OK %s %llu\r\n", arg, m->size);
		reply(c, out, NULL, 0);
	} else if (!strcasecmp(line, "UIDL") && arg && (m = msg_arg(arg))) {
		snprintf(out, sizeof out, "+OK %s %s\r\n", arg, m->uid);
		reply(c, out, NULL, 0);
	} else if (!strcasecmp(line, "RETR") && arg && (m = msg_arg(arg))) {
		snprintf(out, sizeof out, "+OK %llu octets\r\n", m->size);
		reply(c, out, m->wire, m->wlen);
	} else if (!strcasecmp(line, "QUIT")) {
		reply(c, "+OK bye\r\n", NULL, 0);
		c->quit = 1;
	} else {
		reply(c, "-ERR\r\n", NULL, 0);
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Send what is queued; then run buffered commands one at a time while the output is empty. Returns -1
 * when c is gone. */
static int serve(struct conn *c)
{
	for (;;) {
		while (c->stoff < c->stlen || c->boff < c->blen) {
			ssize_t w;
			if (c->stoff < c->stlen)
				w = send(c->fd, c->st + c->stoff, c->stlen - c->stoff, MSG_NOSIGNAL);
			else
				w = send(c->fd, c->body + c->boff, c->blen - c->boff, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
				epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			if (w <= 0) {
				conn_close(c);
				return -1;
			}
			if (c->stoff < c->stlen)
				c->stoff += (size_t)w;
			else
				c->boff += (size_t)w;
		}
		if (c->quit) {
			conn_close(c);
			return -1;
		}
		{
			char *lf = memchr(c->in, '\n', c->inlen);
			size_t l;
			if (!lf) {
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
				epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			l = (size_t)(lf - c->in);
			*lf = '\0';
			if (l > 0 && c->in[l - 1] == '\r')
				c->in[l - 1] = '\0';
			command(c, c->in);
			memmove(c->in, lf + 1, c->inlen - l - 1);
			c->inlen -= l + 1;
		}
	}
}

static void on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;
		if (c->inlen == sizeof c->in)
			break; /* full: serve() drains it first */
		n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->inlen += (size_t)n;
	}
	serve(c);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"port", required_argument, NULL, 'p'},
	                                   {"maildir", required_argument, NULL, 'm'},
	                                   {NULL, 0, NULL, 0}};
	int port = 0, lfd, one = 1, c;
	const char *dir = NULL;
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	struct rlimit rl;
	static int listener_tag;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'p')
			port = atoi(optarg);
		else if (c == 'm')
			dir = optarg;
		else
			return 2;
	}
	if (!dir) {
		fputs("usage: trivial --port PORT --maildir DIR\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	load_maildir(dir);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0)
		die("bind/listen");
	getsockname(lfd, (struct sockaddr *)&sa, &salen);
	printf("listening %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	{
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener_tag};
		epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	}
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(epfd, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listener_tag) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *k = calloc(1, sizeof *k);
					struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
					if (!k) {
						close(fd);
						continue;
					}
					k->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
					reply(k, "+OK trivial ready\r\n", NULL, 0);
					serve(k);
				}
				continue;
			}
			{
				struct conn *k = evs[i].data.ptr;
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					on_readable(k);
				else
					serve(k);
			}
		}
	}
}
