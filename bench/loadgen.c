/* loadgen.c — the benchmark's POP3 load driver: many concurrent clients over epoll (sessions/s and
 * latency), held idle logins (server memory), big RETR throughput (plain or TLS), login-to-STAT time,
 * pipelining and a client that never reads. One line of key=value results on stdout for bench/run.sh.
 *
 *   loadgen sessions -p PORT -c CLIENTS -t SECONDS   connect, USER/PASS, STAT, LIST, RETR 1, QUIT, again
 *                    [--pid P]                       and the server's CPU per session
 *   loadgen idle     -p PORT -c N -t SECONDS --pid P  N logins held at once; the server's RSS while held
 *   loadgen retr     -p PORT -n TIMES [--tls] [--pid P]  RETR 1 repeated: MB/s, server CPU per 100 MB
 *   loadgen login    -p PORT -n TIMES                 connect to STAT answered, each a new login: ms
 *   loadgen pipeline -p PORT -n CMDS                  CMDS commands in one write vs one per round trip
 *   loadgen flood    -p PORT -t SECONDS --pid P       RETR 1 written, replies never read: server RSS
 *
 * Accounts: client i (0-based) logs in as printf(--user, --first + i) with printf(--pass, --first + i);
 * each client has its own account, so maildrop locks (RFC 1939 §8) never make clients wait for each
 * other. A benchmark tool, not part of the harness: it trusts the server it is pointed at. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define RECV_BUF (1024 * 1024)
/* Idle mode: logins in progress at once. Below the listen backlog (libevent's default is 128): a client
 * that finds the accept queue full sees its connect complete while the server drops it. */
#define MAX_CONNECTING 100

static struct {
	const char *host, *user_fmt, *pass_fmt;
	int port, clients, first, count, tls, msg;
	double seconds;
	long pid;
} opt = {"127.0.0.1", "user%02d", "pass%02d", 0, 1, 1, 0, 0, 1, 3.0, 0};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* The server's resident set in kB (VmRSS), or -1. */
static long rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The server's CPU time so far (user + system, /proc/PID/stat), in milliseconds, or -1. Under a loaded
 * machine a process's share of the CPU moves its throughput; its CPU per unit of work moves much less. */
static long cpu_ms(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct sockaddr_in server_addr(void)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1)
		die("bad IPv4 address %s", opt.host);
	return sa;
}

/* ---- responses ------------------------------------------------------------------------------------ */

/* One response being received: a status line, and for a multi-line one (RFC 1939 §3) the body up to
 * CRLF "." CRLF, found with memmem across read boundaries (the last 4 octets are kept). */
struct resp {
	int multiline, status_done, ok, done;
	char head[8];
	size_t headlen;
	char tail[4];
	size_t taillen;
	unsigned long long octets;
};

static void resp_begin(struct resp *r, int multiline)
{
	memset(r, 0, sizeof *r);
	r->multiline = multiline;
}

/* Feed received octets; returns how many belong to this response (r->done tells whether it is complete). */
static size_t resp_feed(struct resp *r, const char *p, size_t n)
{
	size_t i = 0;

	if (!r->status_done) {
		const char *lf = memchr(p, '\n', n);
		size_t upto = lf ? (size_t)(lf - p) + 1 : n;
		size_t k = upto < sizeof r->head - r->headlen ? upto : sizeof r->head - r->headlen;
		memcpy(r->head + r->headlen, p, k);
		r->headlen += k;
		r->octets += upto;
		i = upto;
		if (!lf)
			return i;
		r->status_done = 1;
		r->ok = r->headlen >= 3 && memcmp(r->head, "+OK", 3) == 0;
		if (!r->multiline || !r->ok) {
			r->done = 1;
			return i;
		}
		memcpy(r->tail, "\r\n", 2); /* the status line's CRLF may begin the terminator */
		r->taillen = 2;
	}
	if (i == n)
		return i;
	{
		char edge[8];
		size_t e = n - i < 4 ? n - i : 4, tl = r->taillen;
		const char *m;

		memcpy(edge, r->tail, tl);
		memcpy(edge + tl, p + i, e);
		m = memmem(edge, tl + e, "\r\n.\r\n", 5);
		if (m) {
			size_t end = (size_t)(m - edge) + 5 - tl;
			r->octets += end;
			r->done = 1;
			return i + end;
		}
		m = memmem(p + i, n - i, "\r\n.\r\n", 5);
		if (m) {
			size_t end = (size_t)(m - (p + i)) + 5;
			r->octets += end;
			r->done = 1;
			return i + end;
		}
		r->octets += n - i;
		/* Keep the last 4 octets seen (old tail plus new data). */
		if (n - i >= 4) {
			memcpy(r->tail, p + n - 4, 4);
			r->taillen = 4;
		} else {
			size_t all = tl + (n - i), drop = all > 4 ? all - 4 : 0;
			memmove(edge, edge + drop, all - drop);
			memcpy(r->tail, edge, all - drop);
			r->taillen = all - drop;
		}
		return n;
	}
}

/* ---- sessions and idle: many clients on one epoll -------------------------------------------------- */

enum step { C_CONNECT, C_GREETING, C_USER, C_PASS, C_STAT, C_LIST, C_RETR, C_QUIT, C_HELD };

struct client {
	int fd, idx;
	enum step step;
	double started;
	struct resp r;
};

static int epfd;
static unsigned long long n_sessions, n_errors, n_bytes;
static uint32_t *lat_us;
static size_t lat_n, lat_cap;
static int connecting, held;

static void lat_add(double secs)
{
	if (lat_n == lat_cap) {
		lat_cap = lat_cap ? lat_cap * 2 : 65536;
		lat_us = realloc(lat_us, lat_cap * sizeof *lat_us);
		if (!lat_us)
			die("out of memory");
	}
	lat_us[lat_n++] = (uint32_t)(secs * 1e6);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	size_t i;

	if (lat_n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(lat_n - 1) + 0.5);
	return lat_us[i] / 1000.0;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	if (c->step == C_CONNECT)
		connecting--;
	c->fd = -1;
}

static void client_start(struct client *c)
{
	struct sockaddr_in sa = server_addr();
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->step = C_CONNECT;
	c->started = now();
	connecting++;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		n_errors++;
		client_close(c);
		return;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static int client_send(struct client *c, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* A fresh command on a socket whose replies were all read: the send buffer is empty. */
	return send(c->fd, line, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* The reply to c->step is complete: send the next command. Returns -1 to drop the client. */
static int client_next(struct client *c, int idle_mode)
{
	char name[64];

	if (!c->r.ok)
		return -1;
	switch (c->step) {
	case C_GREETING:
		snprintf(name, sizeof name, opt.user_fmt, opt.first + c->idx);
		c->step = C_USER;
		resp_begin(&c->r, 0);
		return client_send(c, "USER %s\r\n", name);
	case C_USER:
		snprintf(name, sizeof name, opt.pass_fmt, opt.first + c->idx);
		c->step = C_PASS;
		resp_begin(&c->r, 0);
		return client_send(c, "PASS %s\r\n", name);
	case C_PASS:
		if (idle_mode) {
			c->step = C_HELD;
			held++;
			return 0;
		}
		c->step = C_STAT;
		resp_begin(&c->r, 0);
		return client_send(c, "STAT\r\n");
	case C_STAT:
		c->step = C_LIST;
		resp_begin(&c->r, 1);
		return client_send(c, "LIST\r\n");
	case C_LIST:
		c->step = C_RETR;
		resp_begin(&c->r, 1);
		return client_send(c, "RETR %d\r\n", opt.msg);
	case C_RETR:
		c->step = C_QUIT;
		resp_begin(&c->r, 0);
		return client_send(c, "QUIT\r\n");
	case C_QUIT:
		n_sessions++;
		lat_add(now() - c->started);
		client_close(c);
		return 1;
	default:
		return -1;
	}
}

static void client_event(struct client *c, uint32_t events, char *buf, int idle_mode)
{
	if (c->step == C_CONNECT) {
		int err = 0;
		socklen_t len = sizeof err;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			n_errors++;
			client_close(c);
			return;
		}
		connecting--;
		c->step = C_GREETING;
		resp_begin(&c->r, 0);
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	for (;;) {
		ssize_t n = recv(c->fd, buf, RECV_BUF, 0);
		size_t off = 0;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			n_errors++;
			if (c->step == C_HELD)
				held--;
			client_close(c);
			return;
		}
		n_bytes += (unsigned long long)n;
		while (off < (size_t)n) {
			int rc;
			off += resp_feed(&c->r, buf + off, (size_t)n - off);
			if (!c->r.done)
				break;
			rc = client_next(c, idle_mode);
			if (rc != 0) {
				if (rc < 0) {
					n_errors++;
					if (c->step == C_HELD)
						held--;
					client_close(c);
				}
				return;
			}
		}
		if ((size_t)n < RECV_BUF)
			return;
	}
}

static struct client *clients_new(int n)
{
	struct client *cs = calloc((size_t)n, sizeof *cs);

	if (!cs)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		cs[i].fd = -1;
		cs[i].idx = i;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	return cs;
}

static void run_sessions(void)
{
	struct client *cs = clients_new(opt.clients);
	char *buf = malloc(RECV_BUF);
	struct epoll_event evs[256];
	double t0 = now(), end = t0 + opt.seconds, t1;
	long cpu0 = cpu_ms(opt.pid), cpu1;

	for (int i = 0; i < opt.clients; i++)
		client_start(&cs[i]);
	while ((t1 = now()) < end) {
		int n = epoll_wait(epfd, evs, 256, 50);
		for (int i = 0; i < n; i++)
			client_event(evs[i].data.ptr, evs[i].events, buf, 0);
		for (int i = 0; i < opt.clients; i++)
			if (cs[i].fd < 0)
				client_start(&cs[i]);
	}
	cpu1 = cpu_ms(opt.pid);
	qsort(lat_us, lat_n, sizeof *lat_us, cmp_u32);
	printf("mode=sessions clients=%d secs=%.3f sessions=%llu rate=%.1f p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f errors=%llu mb=%.1f",
	       opt.clients, t1 - t0, n_sessions, (double)n_sessions / (t1 - t0), pct(50), pct(90), pct(99),
	       pct(100), n_errors, (double)n_bytes / 1e6);
	if (cpu0 >= 0 && cpu1 >= 0 && n_sessions > 0)
		printf(" server_cpu_us=%.1f", (double)(cpu1 - cpu0) * 1000.0 / (double)n_sessions);
	printf("\n");
}

static void run_idle(void)
{
	struct client *cs = clients_new(opt.clients);
	char *buf = malloc(RECV_BUF);
	struct epoll_event evs[256];
	long base = rss_kb(opt.pid), rss;
	double t0 = now(), end = t0 + opt.seconds, t1;
	int next = 0;

	while ((t1 = now()) < end && held < opt.clients) {
		int n;
		while (next < opt.clients && next - held - (int)n_errors < MAX_CONNECTING)
			client_start(&cs[next++]);
		n = epoll_wait(epfd, evs, 256, 20);
		for (int i = 0; i < n; i++)
			client_event(evs[i].data.ptr, evs[i].events, buf, 1);
		if (next >= opt.clients && connecting == 0 && held + (int)n_errors >= opt.clients)
			break;
	}
	usleep(300 * 1000); /* let the server settle (freed buffers, timers) before reading its RSS */
	rss = rss_kb(opt.pid);
	{
		int by_step[C_HELD + 1] = {0};
		for (int i = 0; i < opt.clients; i++)
			if (cs[i].fd >= 0)
				by_step[cs[i].step]++;
		printf("mode=idle target=%d held=%d secs=%.3f rss_kb=%ld base_rss_kb=%ld errors=%llu "
		       "stuck_connect=%d stuck_greeting=%d stuck_login=%d\n",
		       opt.clients, held, t1 - t0, rss, base, n_errors, by_step[C_CONNECT],
		       by_step[C_GREETING], by_step[C_USER] + by_step[C_PASS]);
	}
	for (int i = 0; i < opt.clients; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
}

/* ---- one blocking connection: retr, login, pipeline, flood ----------------------------------------- */

struct conn {
	int fd;
	SSL *ssl;
	char *buf;
	size_t have, off; /* buffered received octets not yet fed */
};

static SSL_CTX *tls_ctx;

static void conn_open(struct conn *k)
{
	struct sockaddr_in sa = server_addr();
	int one = 1;

	memset(k, 0, sizeof *k);
	k->buf = malloc(RECV_BUF);
	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0 || !k->buf)
		die("socket: %s", strerror(errno));
	(void)setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(k->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect %s:%d: %s", opt.host, opt.port, strerror(errno));
	if (opt.tls) {
		if (!tls_ctx) {
			tls_ctx = SSL_CTX_new(TLS_client_method());
			if (!tls_ctx)
				die("SSL_CTX_new failed");
			SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL); /* loopback benchmark only */
		}
		k->ssl = SSL_new(tls_ctx);
		SSL_set_fd(k->ssl, k->fd);
		if (SSL_connect(k->ssl) != 1)
			die("TLS handshake failed");
	}
}

static void conn_close(struct conn *k)
{
	if (k->ssl) {
		SSL_shutdown(k->ssl);
		SSL_free(k->ssl);
	}
	close(k->fd);
	free(k->buf);
}

static ssize_t conn_read(struct conn *k, char *p, size_t n)
{
	if (k->ssl) {
		int r = SSL_read(k->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
		return r > 0 ? r : -1;
	}
	return recv(k->fd, p, n, 0);
}

static void conn_write(struct conn *k, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = k->ssl ? SSL_write(k->ssl, p, (int)n) : send(k->fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			die("write failed");
		p += w;
		n -= (size_t)w;
	}
}

/* Receive one whole response; returns its octets; *ok gets whether it was +OK. */
static unsigned long long conn_resp(struct conn *k, int multiline, int *ok, char *head, size_t headsize)
{
	struct resp r;

	resp_begin(&r, multiline);
	for (;;) {
		if (k->off == k->have) {
			ssize_t n = conn_read(k, k->buf, RECV_BUF);
			if (n <= 0)
				die("connection closed mid-response");
			k->have = (size_t)n;
			k->off = 0;
		}
		k->off += resp_feed(&r, k->buf + k->off, k->have - k->off);
		if (r.done)
			break;
	}
	*ok = r.ok;
	if (head) {
		size_t m = r.headlen < headsize - 1 ? r.headlen : headsize - 1;
		memcpy(head, r.head, m);
		head[m] = '\0';
	}
	return r.octets;
}

static void conn_cmd(struct conn *k, const char *what, int multiline, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n, ok;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		conn_write(k, line, (size_t)n);
	conn_resp(k, multiline, &ok, NULL, 0);
	if (!ok)
		die("%s refused", what);
}

static void conn_login(struct conn *k, int idx)
{
	char u[64], p[64];
	int ok;

	snprintf(u, sizeof u, opt.user_fmt, opt.first + idx);
	snprintf(p, sizeof p, opt.pass_fmt, opt.first + idx);
	conn_resp(k, 0, &ok, NULL, 0);
	if (!ok)
		die("greeting is not +OK");
	conn_cmd(k, "USER", 0, "USER %s\r\n", u);
	conn_cmd(k, "PASS", 0, "PASS %s\r\n", p);
}

/* The server's time on a CPU in nanoseconds (/proc/PID/schedstat: exact, where /proc/PID/stat counts
 * 10 ms ticks, too coarse for the half second of CPU a RETR run takes), or -1. */
static long long cpu_ns(long pid)
{
	char path[64];
	long long ns = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/schedstat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = -1;
	fclose(f);
	return ns;
}

static void run_retr(void)
{
	struct conn k;
	unsigned long long bytes = 0;
	double t0, t1;
	int times = opt.count > 0 ? opt.count : 3, ok;
	long long cpu0, cpu1;

	conn_open(&k);
	conn_login(&k, 0);
	cpu0 = cpu_ns(opt.pid);
	t0 = now();
	for (int i = 0; i < times; i++) {
		char line[32];
		int n = snprintf(line, sizeof line, "RETR %d\r\n", opt.msg);
		conn_write(&k, line, (size_t)n);
		bytes += conn_resp(&k, 1, &ok, NULL, 0);
		if (!ok)
			die("RETR refused");
	}
	t1 = now();
	cpu1 = cpu_ns(opt.pid);
	conn_cmd(&k, "QUIT", 0, "QUIT\r\n");
	conn_close(&k);
	printf("mode=retr tls=%d times=%d bytes=%llu secs=%.3f mbps=%.1f", opt.tls, times, bytes, t1 - t0,
	       (double)bytes / 1e6 / (t1 - t0));
	/* The server's CPU per 100 MB sent: the machine's load moves it much less than the wall-clock rate.
	 */
	if (cpu0 >= 0 && cpu1 >= 0 && bytes > 0)
		printf(" server_cpu_ms_per_100mb=%.1f", (double)(cpu1 - cpu0) / 1e6 * 1e8 / (double)bytes);
	putchar('\n');
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void run_login(void)
{
	int times = opt.count > 0 ? opt.count : 3, ok;
	double *ms = calloc((size_t)times, sizeof *ms), first;
	char head[8], stat[64] = "";

	for (int i = 0; i < times; i++) {
		struct conn k;
		double t0 = now();
		conn_open(&k);
		conn_login(&k, 0);
		conn_write(&k, "STAT\r\n", 6);
		conn_resp(&k, 0, &ok, head, sizeof head);
		ms[i] = (now() - t0) * 1000.0;
		if (!ok)
			die("STAT refused");
		/* The reply's count, read again for the report (head holds only its first octets). */
		conn_write(&k, "STAT\r\n", 6);
		{
			ssize_t n = conn_read(&k, stat, sizeof stat - 1);
			stat[n > 0 ? n : 0] = '\0';
			stat[strcspn(stat, "\r\n")] = '\0';
		}
		conn_write(&k, "QUIT\r\n", 6);
		conn_close(&k);
	}
	first = ms[0];
	qsort(ms, (size_t)times, sizeof *ms, cmp_dbl);
	for (char *p = stat; *p; p++)
		if (*p == ' ')
			*p = '_';
	printf("mode=login times=%d first_ms=%.1f median_ms=%.1f max_ms=%.1f stat=%s\n", times, first,
	       ms[times / 2], ms[times - 1], stat);
}

/* Send all of `cmds` in one write (as far as the socket takes it) while reading the replies; every
 * command has a one-line reply. Returns the seconds until the last reply. */
static double pipeline_burst(struct conn *k, const char *cmds, size_t len, int ncmds)
{
	size_t sent = 0;
	int replies = 0;
	double t0 = now();

	fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
	while (replies < ncmds) {
		struct pollfd pfd = {k->fd, POLLIN | (sent < len ? POLLOUT : 0), 0};
		if (poll(&pfd, 1, 10000) <= 0)
			die("pipeline: no progress for 10 s (%d of %d replies)", replies, ncmds);
		if ((pfd.revents & POLLOUT) && sent < len) {
			ssize_t w = send(k->fd, cmds + sent, len - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(k->fd, k->buf, RECV_BUF, 0);
			if (n == 0)
				die("pipeline: connection closed after %d replies", replies);
			for (ssize_t i = 0; i < n; i++)
				replies += k->buf[i] == '\n';
		}
	}
	fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) & ~O_NONBLOCK);
	return now() - t0;
}

static void run_pipeline(void)
{
	static const char *const cycle[] = {"STAT\r\n", "NOOP\r\n", "LIST 1\r\n", "UIDL 1\r\n"};
	int n = opt.count > 0 ? opt.count : 10000, ping = n / 10 > 0 ? n / 10 : 1;
	size_t cap = (size_t)n * 10, len = 0;
	char *cmds = malloc(cap);
	struct conn k;
	double piped, pp;
	int ok;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(cycle[i % 4]);
		memcpy(cmds + len, cycle[i % 4], l);
		len += l;
	}
	conn_open(&k);
	conn_login(&k, 0);
	piped = pipeline_burst(&k, cmds, len, n);
	/* The same commands one per round trip, for the rate pipelining should not fall below. */
	{
		double t0 = now();
		for (int i = 0; i < ping; i++) {
			conn_write(&k, cycle[i % 4], strlen(cycle[i % 4]));
			conn_resp(&k, 0, &ok, NULL, 0);
		}
		pp = now() - t0;
	}
	conn_cmd(&k, "QUIT", 0, "QUIT\r\n");
	conn_close(&k);
	free(cmds);
	printf("mode=pipeline cmds=%d secs=%.4f rate=%.0f pingpong_rate=%.0f\n", n, piped, n / piped,
	       ping / pp);
}

static void run_flood(void)
{
	struct conn k;
	char cmds[8 * 1024];
	unsigned long long sent = 0;
	long base, peak = 0, rss;
	double end;

	for (size_t i = 0; i + 8 <= sizeof cmds; i += 8)
		memcpy(cmds + i, "RETR 1\r\n", 8);
	conn_open(&k);
	conn_login(&k, 0);
	base = rss_kb(opt.pid);
	fcntl(k.fd, F_SETFL, fcntl(k.fd, F_GETFL) | O_NONBLOCK);
	end = now() + opt.seconds;
	while (now() < end) {
		struct pollfd pfd = {k.fd, POLLOUT, 0};
		ssize_t w;
		if (poll(&pfd, 1, 100) > 0 && (w = send(k.fd, cmds, sizeof cmds, MSG_NOSIGNAL)) > 0)
			sent += (unsigned long long)w;
		rss = rss_kb(opt.pid);
		if (rss > peak)
			peak = rss;
	}
	conn_close(&k);
	printf("mode=flood secs=%.1f sent_kb=%llu base_rss_kb=%ld peak_rss_kb=%ld growth_kb=%ld\n",
	       opt.seconds, sent / 1024, base, peak, peak - base);
}

static void usage(void)
{
	fputs("usage: loadgen sessions|idle|retr|login|pipeline|flood -p PORT [-H HOST] [-c CLIENTS]\n"
	      "       [-t SECONDS] [-n COUNT] [-m MSG] [--user FMT] [--pass FMT] [--first N] [--tls] [--pid "
	      "PID]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"user", required_argument, NULL, 'U'},  {"pass", required_argument, NULL, 'W'},
	    {"first", required_argument, NULL, 'F'}, {"tls", no_argument, NULL, 'T'},
	    {"pid", required_argument, NULL, 'P'},   {NULL, 0, NULL, 0}};
	const char *mode;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "H:p:c:t:n:m:", lo, NULL)) != -1) {
		switch (c) {
		case 'H':
			opt.host = optarg;
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'c':
			opt.clients = atoi(optarg);
			break;
		case 't':
			opt.seconds = atof(optarg);
			break;
		case 'n':
			opt.count = atoi(optarg);
			break;
		case 'm':
			opt.msg = atoi(optarg);
			break;
		case 'U':
			opt.user_fmt = optarg;
			break;
		case 'W':
			opt.pass_fmt = optarg;
			break;
		case 'F':
			opt.first = atoi(optarg);
			break;
		case 'T':
			opt.tls = 1;
			break;
		case 'P':
			opt.pid = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (opt.port <= 0 || opt.clients <= 0)
		usage();
	raise_nofile();
	if (strcmp(mode, "sessions") == 0)
		run_sessions();
	else if (strcmp(mode, "idle") == 0)
		run_idle();
	else if (strcmp(mode, "retr") == 0)
		run_retr();
	else if (strcmp(mode, "login") == 0)
		run_login();
	else if (strcmp(mode, "pipeline") == 0)
		run_pipeline();
	else if (strcmp(mode, "flood") == 0)
		run_flood();
	else
		usage();
	return 0;
}
