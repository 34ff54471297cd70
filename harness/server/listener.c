/* listener.c — binding the listening sockets and accepting connections into sessions. */
#include "server/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/listener.h>

#include "lib/limits.h"
#include "server/log.h"
#include "server/server.h"
#include "server/session.h"

/* After an accept failure for lack of descriptors, pause accepting this long instead of spinning. */
#define ACCEPT_PAUSE_MS 200

struct listener {
	struct listener *next;
	struct server *srv;
	struct evconnlistener *evl;
	struct event *resume;
	int tls;
	char name[128]; /* bound address, "127.0.0.1:1100" or "[::1]:1100" */
};

int listener_parse(const char *spec, char *host, size_t hostsize, char *port, size_t portsize,
                   struct p3err *err)
{
	const char *colon, *h = spec;
	size_t hl;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			return p3err_set(err, "'%s': expected [ADDRESS]:PORT", spec);
		h = spec + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return p3err_set(err, "'%s': expected HOST:PORT", spec);
		hl = (size_t)(colon - spec);
		if (memchr(spec, ':', hl))
			return p3err_set(err, "'%s': write IPv6 addresses as [ADDRESS]:PORT", spec);
	}
	if (hl == 0 || hl >= hostsize)
		return p3err_set(err, "'%s': bad host", spec);
	const char *p = colon + 1;
	size_t pl = strlen(p);
	if (pl == 0 || pl >= portsize || pl > 5 || strspn(p, "0123456789") != pl || atoi(p) > 65535)
		return p3err_set(err, "'%s': port must be a number from 0 to 65535", spec);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, pl + 1);
	return 0;
}

static void sockaddr_name(const struct sockaddr *sa, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
		snprintf(out, size, "[%s]:%u", addr, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
		snprintf(out, size, "%s:%u", addr, ntohs(s4->sin_port));
	} else {
		snprintf(out, size, "?");
	}
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(l->evl);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};

	log_msg(LOG_WARN, "accept on %s: %s", l->name, evutil_socket_error_to_string(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(evl);
		evtimer_add(l->resume, &tv);
	}
}

/* Whether one more connection is allowed (--max-connections). */
static int accept_allowed(const struct server *srv)
{
	return srv->max_connections == 0 || srv->nsessions < srv->max_connections;
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
	struct listener *l = arg;
	char peer[80], addr[64];

	sockaddr_name(sa, peer, sizeof peer);
	guard_peer_address(peer, addr, sizeof addr);
	if (!guard_accept_allowed(l->srv, addr)) {
		static const char busy[] = "-ERR [SYS/TEMP] too many connections from your address\r\n";
		log_msg(LOG_WARN, "refused %s: --max-per-address %zu reached", peer,
		        l->srv->guard.max_per_address);
		if (!l->tls && send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing more to do */
		}
		close(fd);
		return;
	}
	if (!accept_allowed(l->srv)) {
		static const char busy[] = "-ERR [SYS/TEMP] too many connections, try again later\r\n";
		log_msg(LOG_WARN, "refused %s: %zu connections open", peer, l->srv->nsessions);
		/* Plain only: on a TLS port a plaintext line would be garbage. Best effort, never blocks. */
		if (!l->tls && send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing more to do */
		}
		close(fd);
		return;
	}
	session_new(l->srv, fd, peer, l->tls);
}

int listener_add(struct server *srv, const char *spec, int tls, struct p3err *err)
{
	char host[256], port[8];
	struct addrinfo hints, *ai = NULL;
	struct listener *l, **tail;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int rc;

	if (listener_parse(spec, host, sizeof host, port, sizeof port, err) < 0)
		return -1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return p3err_set(err, "%s: %s", spec, gai_strerror(rc));
	l = calloc(1, sizeof *l);
	if (!l) {
		freeaddrinfo(ai);
		return p3err_set(err, "out of memory");
	}
	l->srv = srv;
	l->tls = tls;
	l->evl = evconnlistener_new_bind(srv->base, on_accept, l,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	                                 POP3REFD_LISTEN_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (!l->evl) {
		free(l);
		return p3err_errno(err, "cannot listen on %s", spec);
	}
	l->resume = evtimer_new(srv->base, on_resume, l);
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	if (getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_name((struct sockaddr *)&ss, l->name, sizeof l->name);
	else
		snprintf(l->name, sizeof l->name, "%s", spec);
	for (tail = &srv->listeners; *tail; tail = &(*tail)->next)
		;
	*tail = l;
	log_msg(LOG_INFO, "listening %s %s", tls ? "pop3s" : "pop3", l->name);
	return 0;
}

void listener_print(const struct server *srv, FILE *out)
{
	for (const struct listener *l = srv->listeners; l; l = l->next)
		fprintf(out, "listening %s %s\n", l->tls ? "pop3s" : "pop3", l->name);
	fflush(out);
}

void listener_free_all(struct server *srv)
{
	while (srv->listeners) {
		struct listener *l = srv->listeners;
		srv->listeners = l->next;
		evconnlistener_free(l->evl);
		if (l->resume)
			event_free(l->resume);
		free(l);
	}
}
