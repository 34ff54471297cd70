/* sasl_client.c — SASL client exchanges through GNU SASL (gsasl_client_start / gsasl_step). */
#include "runner/sasl_client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gsasl.h>

struct sasl_client {
	Gsasl *ctx;
	Gsasl_session *sess;
};

/* gsasl_init touches library-global state (the crypto back end); serialize it between workers. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

int sasl_client_first(const char *mech)
{
	static const char *const first[] = {
	    "PLAIN",         "EXTERNAL",           "ANONYMOUS", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS",
	    "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "GS2-KRB5",  "OAUTHBEARER", "XOAUTH2"};
	for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
		if (strcasecmp(mech, first[i]) == 0)
			return 1;
	return 0;
}

int sasl_client_supports(const char *mech)
{
	Gsasl *ctx;
	pthread_mutex_lock(&init_lock);
	int rc = gsasl_init(&ctx);
	pthread_mutex_unlock(&init_lock);
	if (rc != GSASL_OK)
		return 0;
	int ok = gsasl_client_support_p(ctx, mech);
	pthread_mutex_lock(&init_lock);
	gsasl_done(ctx);
	pthread_mutex_unlock(&init_lock);
	return ok;
}

int sasl_client_start(struct sasl_client **out, const char *mech, const char *user, const char *password,
                      const char *authzid, const char *host, struct p3err *err)
{
	struct sasl_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return p3err_set(err, "out of memory");
	pthread_mutex_lock(&init_lock);
	int rc = gsasl_init(&c->ctx);
	pthread_mutex_unlock(&init_lock);
	if (rc != GSASL_OK) {
		free(c);
		return p3err_set(err, "GNU SASL: %s", gsasl_strerror(rc));
	}
	rc = gsasl_client_start(c->ctx, mech, &c->sess);
	if (rc != GSASL_OK) {
		p3err_set(err, "GNU SASL has no client for %s: %s", mech, gsasl_strerror(rc));
		sasl_client_free(c);
		return -1;
	}
	/* RFC 5034 §4: the service name is "pop". */
	gsasl_property_set(c->sess, GSASL_SERVICE, "pop");
	gsasl_property_set(c->sess, GSASL_HOSTNAME, host ? host : "localhost");
	gsasl_property_set(c->sess, GSASL_AUTHID, user);
	gsasl_property_set(c->sess, GSASL_PASSWORD, password);
	if (authzid && *authzid)
		gsasl_property_set(c->sess, GSASL_AUTHZID, authzid);
	*out = c;
	return 0;
}

int sasl_client_step(struct sasl_client *c, const char *in, size_t inlen, char **out, size_t *outlen,
                     struct p3err *err)
{
	*out = NULL;
	*outlen = 0;
	char *o = NULL;
	size_t olen = 0;
	int rc = gsasl_step(c->sess, in, in ? inlen : 0, &o, &olen);
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		gsasl_free(o);
		return p3err_set(err, "GNU SASL: %s", gsasl_strerror(rc));
	}
	/* Copy out so the caller frees with free(), whatever allocator GNU SASL used. */
	*out = malloc(olen + 1);
	if (*out == NULL) {
		gsasl_free(o);
		return p3err_set(err, "out of memory");
	}
	if (olen)
		memcpy(*out, o, olen);
	(*out)[olen] = '\0';
	*outlen = olen;
	gsasl_free(o);
	return rc == GSASL_NEEDS_MORE ? 1 : 0;
}

void sasl_client_free(struct sasl_client *c)
{
	if (c == NULL)
		return;
	if (c->sess)
		gsasl_finish(c->sess);
	if (c->ctx) {
		pthread_mutex_lock(&init_lock);
		gsasl_done(c->ctx);
		pthread_mutex_unlock(&init_lock);
	}
	free(c);
}
