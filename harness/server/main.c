/* main.c — pop3refd's command line, start-up checks, signals, and the event loop. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "lib/tls.h"
#include "server/faults.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/sasl.h"
#include "server/server.h"
#include "server/session.h"

#define MAX_LISTEN 16

static const char usage_text[] =
    "usage: pop3refd --listen ADDR:PORT [--listen-tls ADDR:PORT] --users FILE --maildirs DIR\n"
    "                [--cert PEM --key PEM] [--idle-timeout SECONDS] [--plaintext-auth "
    "always|tls-only|compat]\n"
    "                [--auth-failure-delay SECONDS] [--auth-failure-delay-max SECONDS]\n"
    "                [--max-connections N] [--max-per-address N] [--limit-loopback]\n"
    "                [--max-sessions-per-user N] [--tls-handshake-timeout SECONDS]\n"
    "                [--user NAME] [--allow-root] [--hostname NAME] [--wire-cache DIR]\n"
    "                [--log-level error|warn|info|debug] [--quiet] [--version] [--help]\n"
    "\n"
    "  --listen ADDR:PORT          plain POP3 (and STLS); repeatable; port 0 picks a free port\n"
    "  --listen-tls ADDR:PORT      implicit TLS (pop3s, RFC 8314); repeatable; needs --cert and --key\n"
    "  --users FILE                user:password lines, # comments\n"
    "  --maildirs DIR              DIR/USER is each user's Maildir\n"
    "  --cert PEM, --key PEM       server certificate (chain) and key; enable STLS and --listen-tls\n"
    "  --idle-timeout SECONDS      autologout after this long idle (default 600, RFC 1939 minimum; 0: "
    "never)\n"
    "  --plaintext-auth MODE       compat (default): USER/PASS and APOP in cleartext, PLAIN/LOGIN need TLS;\n"
    "                              always: everything in cleartext; tls-only: no password login before TLS\n"
    "  --auth-failure-delay SECS   wait before answering a failed login (default 1; 0 for tests); it "
    "doubles\n"
    "                              with each failure from the same address or for the same user\n"
    "  --auth-failure-delay-max S  the longest such wait (default 30)\n"
    "  --max-connections N         refuse connections beyond N (default 0: no limit)\n"
    "  --max-per-address N         open connections from one address (default 32; 0: no limit)\n"
    "  --limit-loopback            apply --max-per-address to loopback clients too (exempt by default)\n"
    "  --max-sessions-per-user N   sessions logged in or failing as one user at once (default 8; 0: none)\n"
    "  --tls-handshake-timeout S   time a TLS handshake may take (default 30; 0: no limit)\n"
    "  --user NAME                 after binding, drop root privileges to NAME's uid, gid and groups\n"
    "  --allow-root                keep running as root on a non-loopback address without --user\n"
    "  --hostname NAME             host name in the APOP timestamp (default: this host's name)\n"
    "  --wire-cache DIR            keep wire-form copies of messages of 1 MB and more that are not stored\n"
    "                              as sent, so RETR can send them with sendfile (docs/performance.md)\n"
    "  --log-level LEVEL           error, warn, info (default) or debug; --quiet is --log-level error\n";

enum {
	OPT_LISTEN = 256,
	OPT_LISTEN_TLS,
	OPT_USERS,
	OPT_MAILDIRS,
	OPT_CERT,
	OPT_KEY,
	OPT_IDLE,
	OPT_WIRE_CACHE,
	OPT_PLAINTEXT,
	OPT_DELAY,
	OPT_MAXCONN,
	OPT_DELAY_MAX,
	OPT_PER_ADDRESS,
	OPT_LIMIT_LOOPBACK,
	OPT_PER_USER,
	OPT_TLS_HANDSHAKE,
	OPT_USER,
	OPT_ALLOW_ROOT,
	OPT_HOSTNAME,
	OPT_LOGLEVEL,
	OPT_QUIET,
	OPT_VERSION,
	OPT_HELP,
#ifdef POP3REFD_FAULTS
	OPT_FAULT,
	OPT_LIST_FAULTS,
#endif
};

static const struct option options[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"listen-tls", required_argument, NULL, OPT_LISTEN_TLS},
    {"users", required_argument, NULL, OPT_USERS},
    {"maildirs", required_argument, NULL, OPT_MAILDIRS},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"wire-cache", required_argument, NULL, OPT_WIRE_CACHE},
    {"plaintext-auth", required_argument, NULL, OPT_PLAINTEXT},
    {"auth-failure-delay", required_argument, NULL, OPT_DELAY},
    {"max-connections", required_argument, NULL, OPT_MAXCONN},
    {"auth-failure-delay-max", required_argument, NULL, OPT_DELAY_MAX},
    {"max-per-address", required_argument, NULL, OPT_PER_ADDRESS},
    {"limit-loopback", no_argument, NULL, OPT_LIMIT_LOOPBACK},
    {"max-sessions-per-user", required_argument, NULL, OPT_PER_USER},
    {"tls-handshake-timeout", required_argument, NULL, OPT_TLS_HANDSHAKE},
    {"user", required_argument, NULL, OPT_USER},
    {"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"log-level", required_argument, NULL, OPT_LOGLEVEL},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
#ifdef POP3REFD_FAULTS
    /* bin/pop3refd-faults only (make mutation): the real server does not know these flags. */
    {"fault", required_argument, NULL, OPT_FAULT},
    {"list-faults", no_argument, NULL, OPT_LIST_FAULTS},
#endif
    {NULL, 0, NULL, 0},
};

struct args {
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *listen_tls[MAX_LISTEN];
	size_t nlisten_tls;
	const char *users, *maildirs, *cert, *key, *hostname;
	const char *run_as; /* --user */
	int allow_root;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "pop3refd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return 2;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Seconds with up to three decimals ("1", "0.25") into milliseconds. */
static int parse_seconds_ms(const char *s, long *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 3600)
		return -1;
	*ms = (long)(v * 1000 + 0.5);
	return 0;
}

/* Parse the command line into a and srv. Returns 0, 1 for --help/--version (done), or 2 on usage errors. */
static int parse_args(int argc, char **argv, struct args *a, struct server *srv)
{
	int c;
	long v;
	enum log_level lvl;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			if (a->nlisten == MAX_LISTEN)
				return usage_error("too many --listen (at most %s)", "16");
			a->listen[a->nlisten++] = optarg;
			break;
		case OPT_LISTEN_TLS:
			if (a->nlisten_tls == MAX_LISTEN)
				return usage_error("too many --listen-tls (at most %s)", "16");
			a->listen_tls[a->nlisten_tls++] = optarg;
			break;
		case OPT_USERS:
			a->users = optarg;
			break;
		case OPT_MAILDIRS:
			a->maildirs = optarg;
			break;
		case OPT_CERT:
			a->cert = optarg;
			break;
		case OPT_KEY:
			a->key = optarg;
			break;
		case OPT_WIRE_CACHE: {
			struct stat st;
			if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode) || access(optarg, W_OK | X_OK) < 0)
				return usage_error("--wire-cache: '%s' is not a writable directory", optarg);
			srv->wire_cache = optarg;
			break;
		}
		case OPT_IDLE:
			if (parse_long(optarg, 0, INT_MAX, &v) < 0)
				return usage_error("--idle-timeout: '%s' is not a number of seconds", optarg);
			srv->idle_timeout = (int)v;
			break;
		case OPT_PLAINTEXT:
			if (plaintext_auth_parse(optarg, &srv->plaintext) < 0)
				return usage_error("--plaintext-auth: '%s' is not always, tls-only or compat",
				                   optarg);
			break;
		case OPT_DELAY:
			if (parse_seconds_ms(optarg, &srv->auth_failure_delay_ms) < 0)
				return usage_error("--auth-failure-delay: '%s' is not a number of seconds",
				                   optarg);
			break;
		case OPT_MAXCONN:
			if (parse_long(optarg, 0, LONG_MAX, &v) < 0)
				return usage_error("--max-connections: '%s' is not a number", optarg);
			srv->max_connections = (size_t)v;
			break;
		case OPT_DELAY_MAX:
			if (parse_seconds_ms(optarg, &srv->guard.delay_max_ms) < 0)
				return usage_error(
				    "--auth-failure-delay-max: '%s' is not a number of seconds", optarg);
			break;
		case OPT_PER_ADDRESS:
			if (parse_long(optarg, 0, LONG_MAX, &v) < 0)
				return usage_error("--max-per-address: '%s' is not a number", optarg);
			srv->guard.max_per_address = (size_t)v;
			break;
		case OPT_LIMIT_LOOPBACK:
			srv->guard.limit_loopback = 1;
			break;
		case OPT_PER_USER:
			if (parse_long(optarg, 0, LONG_MAX, &v) < 0)
				return usage_error("--max-sessions-per-user: '%s' is not a number", optarg);
			srv->guard.max_per_user = (size_t)v;
			break;
		case OPT_TLS_HANDSHAKE:
			if (parse_long(optarg, 0, INT_MAX, &v) < 0)
				return usage_error("--tls-handshake-timeout: '%s' is not a number of seconds",
				                   optarg);
			srv->tls_handshake_timeout = (int)v;
			break;
		case OPT_USER:
			a->run_as = optarg;
			break;
		case OPT_ALLOW_ROOT:
			a->allow_root = 1;
			break;
		case OPT_HOSTNAME:
			a->hostname = optarg;
			break;
		case OPT_LOGLEVEL:
			if (log_level_parse(optarg, &lvl) < 0)
				return usage_error("--log-level: '%s' is not error, warn, info or debug",
				                   optarg);
			log_set_level(lvl);
			break;
		case OPT_QUIET:
			log_set_level(LOG_ERROR);
			break;
		case OPT_VERSION:
			printf("pop3refd %s\n", POP3SPEC_VERSION);
			return 1;
		case OPT_HELP:
			fputs(usage_text, stdout);
#ifdef POP3REFD_FAULTS
			fputs(
			    "\nfault-injection build (docs/mutation.md):\n"
			    "  --fault NAME                behave wrongly in the way NAME says; repeatable\n"
			    "  --list-faults               print every fault: name, scope, what goes wrong\n",
			    stdout);
#endif
			return 1;
#ifdef POP3REFD_FAULTS
		case OPT_FAULT: {
			struct p3err ferr;
			if (fault_enable(optarg, &ferr) < 0)
				return usage_error("%s", ferr.msg);
			break;
		}
		case OPT_LIST_FAULTS:
			fault_print_list(stdout);
			return 1;
#endif
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->nlisten + a->nlisten_tls == 0)
		return usage_error("%s", "no --listen or --listen-tls given");
	if (!a->users)
		return usage_error("%s", "--users FILE is required");
	if (!a->maildirs)
		return usage_error("%s", "--maildirs DIR is required");
	if (!a->cert != !a->key)
		return usage_error("%s", "--cert and --key go together");
	if (a->nlisten_tls && !a->cert)
		return usage_error("%s", "--listen-tls needs --cert and --key");
	for (size_t i = 0; i < a->nlisten + a->nlisten_tls; i++) {
		const char *spec = i < a->nlisten ? a->listen[i] : a->listen_tls[i - a->nlisten];
		char host[256], port[8];
		struct p3err err;
		if (listener_parse(spec, host, sizeof host, port, sizeof port, &err) < 0)
			return usage_error("%s", err.msg);
	}
	return 0;
}

/* The host name of the APOP timestamp: a dotted name when we can find one (RFC 1939 §7 uses the FQDN). */
static void set_hostname(struct server *srv, const char *given)
{
	if (given) {
		snprintf(srv->hostname, sizeof srv->hostname, "%s", given);
		return;
	}
	if (gethostname(srv->hostname, sizeof srv->hostname - 16) != 0 || !srv->hostname[0])
		snprintf(srv->hostname, sizeof srv->hostname, "localhost");
	srv->hostname[sizeof srv->hostname - 17] = '\0';
	if (!strchr(srv->hostname, '.'))
		strcat(srv->hostname, ".localdomain");
	/* Only characters a msg-id domain may hold. */
	for (char *p = srv->hostname; *p; p++)
		if (!(*p == '.' || *p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			*p = '-';
}

/* Whether every listener is on a loopback address: then only this host can connect. */
static int loopback_only(const struct args *a)
{
	for (size_t i = 0; i < a->nlisten + a->nlisten_tls; i++) {
		const char *spec = i < a->nlisten ? a->listen[i] : a->listen_tls[i - a->nlisten];
		char host[256], port[8];
		struct p3err err;
		if (listener_parse(spec, host, sizeof host, port, sizeof port, &err) < 0)
			return 0;
		if (!(strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
		      strcmp(host, "localhost") == 0))
			return 0;
	}
	return 1;
}

/* Drop root for good: supplementary groups, then the group, then the user (that order: once the uid is not
 * 0 the others can no longer change), and check root cannot be regained. */
static int drop_privileges(const char *name, const char *maildirs, struct p3err *err)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno ? p3err_errno(err, "--user %s", name)
		             : p3err_set(err, "--user %s: no such user", name);
	if (pw->pw_uid == 0)
		return p3err_set(err, "--user %s: that is root", name);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return p3err_errno(err, "cannot become %s", name);
	if (setuid(0) == 0 || geteuid() == 0)
		return p3err_set(err, "still root after dropping privileges to %s", name);
	/* The maildirs must be usable as that user, or every login would fail later. */
	if (access(maildirs, R_OK | W_OK | X_OK) < 0)
		return p3err_errno(err, "%s: not usable as %s", maildirs, name);
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	log_msg(LOG_INFO, "stopping on %s: open sessions end without UPDATE",
	        sig == SIGTERM ? "SIGTERM" : "SIGINT");
	srv->stopping = 1;
	listener_free_all(srv);
	session_stop_all(srv);
	event_base_loopexit(srv->base, NULL);
}

int main(int argc, char **argv)
{
	struct server srv;
	struct args a;
	struct p3err err = {0};
	struct event *sigterm = NULL, *sigint = NULL;
	struct stat st;
	int rc = 1;

	memset(&srv, 0, sizeof srv);
	memset(&a, 0, sizeof a);
	/* Message bodies pass through output chunks freed as soon as they are sent; by default glibc hands
	 * the top of the heap back at every such free and faults it in again for the next chunk (page faults
	 * were a twentieth of a TLS RETR). Keeping a few MB of free heap costs nothing. */
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
	srv.idle_timeout = POP3_MIN_AUTOLOGOUT_SECONDS;
	srv.auth_failure_delay_ms = 1000;
	srv.plaintext = PLAINTEXT_COMPAT;
	srv.tls_handshake_timeout = TLS_HANDSHAKE_TIMEOUT_SECONDS;
	guard_init(&srv.guard);
	switch (parse_args(argc, argv, &a, &srv)) {
	case 0:
		break;
	case 1:
		return 0;
	default:
		return 2;
	}
	/* The delay doubles from --auth-failure-delay; a maximum below it means no growth. */
	srv.guard.delay_base_ms = srv.auth_failure_delay_ms;
	if (srv.guard.delay_max_ms < srv.guard.delay_base_ms)
		srv.guard.delay_max_ms = srv.guard.delay_base_ms;
	/* Root: a server reachable from other hosts must not keep root after binding (docs/security.md). On
	 * loopback only (tests, CI containers) it may, with a warning. */
	if (a.run_as && geteuid() != 0)
		return usage_error("--user %s: only root can change user", a.run_as);
	if (geteuid() == 0 && !a.run_as && !a.allow_root && !loopback_only(&a)) {
		fprintf(stderr,
		        "pop3refd: refusing to run as root on a non-loopback address: give --user NAME "
		        "(drop privileges after binding) or --allow-root\n");
		return 2;
	}
	/* A writer that vanishes must be an error return, not a signal that kills every session. */
	signal(SIGPIPE, SIG_IGN);
	if (srv.idle_timeout > 0 && srv.idle_timeout < POP3_MIN_AUTOLOGOUT_SECONDS)
		log_msg(LOG_WARN,
		        "--idle-timeout %d is below the 10 minutes RFC 1939 §3 requires (for tests only)",
		        srv.idle_timeout);
	if (users_load(a.users, &srv.users, &err) < 0) {
		fprintf(stderr, "pop3refd: %s\n", err.msg);
		return 2;
	}
	if (stat(a.maildirs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pop3refd: %s: not a directory\n", a.maildirs);
		rc = 2;
		goto out;
	}
	srv.maildirs = a.maildirs;
	set_hostname(&srv, a.hostname);
	if (a.cert) {
		srv.tls = tls_server_ctx(a.cert, a.key, &err);
		if (!srv.tls) {
			fprintf(stderr, "pop3refd: %s\n", err.msg);
			rc = 2;
			goto out;
		}
	}
	if (fault_server_start(&srv, &err) < 0) {
		fprintf(stderr, "pop3refd: %s\n", err.msg);
		goto out;
	}
	if (sasl_global_init(&srv, &err) < 0) {
		fprintf(stderr, "pop3refd: %s\n", err.msg);
		goto out;
	}
	srv.base = event_base_new();
	if (!srv.base) {
		fprintf(stderr, "pop3refd: cannot create the event loop\n");
		goto out;
	}
	for (size_t i = 0; i < a.nlisten; i++)
		if (listener_add(&srv, a.listen[i], 0, &err) < 0)
			goto listen_failed;
	for (size_t i = 0; i < a.nlisten_tls; i++)
		if (listener_add(&srv, a.listen_tls[i], 1, &err) < 0)
			goto listen_failed;
	if (a.run_as) {
		if (drop_privileges(a.run_as, a.maildirs, &err) < 0) {
			fprintf(stderr, "pop3refd: %s\n", err.msg);
			goto out;
		}
		log_msg(LOG_INFO, "running as %s (uid %ld)", a.run_as, (long)getuid());
	} else if (geteuid() == 0) {
		log_msg(LOG_WARN, "running as root%s: give --user NAME to drop privileges after binding",
		        a.allow_root ? " (--allow-root)" : " on loopback only");
	}
	sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
	sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0) {
		fprintf(stderr, "pop3refd: cannot install signal handlers\n");
		goto out;
	}
	log_msg(LOG_INFO, "pop3refd %s ready: %zu users, maildirs %s, plaintext-auth %s, idle-timeout %d s",
	        POP3SPEC_VERSION, srv.users.count, srv.maildirs, plaintext_auth_name(srv.plaintext),
	        srv.idle_timeout);
#ifdef POP3REFD_FAULTS
	log_msg(LOG_WARN, "fault-injection build: faults on: %s", fault_enabled_names());
#endif
	/* The contract other tools wait for: one line per listener, flushed. */
	listener_print(&srv, stdout);
	event_base_dispatch(srv.base);
	rc = 0;
	goto out;
listen_failed:
	fprintf(stderr, "pop3refd: %s\n", err.msg);
out:
	session_stop_all(&srv);
	listener_free_all(&srv);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (srv.base)
		event_base_free(srv.base);
	sasl_global_done(&srv);
	if (srv.tls)
		SSL_CTX_free(srv.tls);
	users_free(&srv.users);
	libevent_global_shutdown();
	return rc;
}
