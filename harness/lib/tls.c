/* tls.c — OpenSSL contexts: the server's (certificate, key, TLS 1.2+, no client certificates) and the
 * client's (optional verification, version pinning for tests that must see an old version refused). */
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "lib/tls.h"

SSL_CTX *tls_server_ctx(const char *cert_pem, const char *key_pem, struct p3err *err)
{
	static const unsigned char sid_ctx[] = "pop3refd";
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		p3err_ssl(err, "cannot create the TLS server context");
		return NULL;
	}
	/* RFC 8314 §4.1: TLS 1.2 or newer. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		p3err_ssl(err, "cannot set TLS 1.2 as the minimum version");
		goto fail;
	}
	/* TLS 1.2 suites: forward-secret key exchange with AEAD only (RFC 9325 §4.2, formerly RFC 7525 §4.2,
	 * the suites RFC 8314 §4.1 points to). TLS 1.3 suites are AEAD by definition: OpenSSL's three, the
	 * fastest first. */
	if (SSL_CTX_set_cipher_list(ctx, TLS_SERVER_CIPHERS_12) != 1) {
		p3err_ssl(err, "cannot set the TLS 1.2 cipher list");
		goto fail;
	}
	if (SSL_CTX_set_ciphersuites(ctx, TLS_SERVER_CIPHERS_13) != 1) {
		p3err_ssl(err, "cannot set the TLS 1.3 cipher suites");
		goto fail;
	}
	/* R8314-TLS-11: no client certificate is requested. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                             SSL_OP_NO_COMPRESSION | SSL_OP_PRIORITIZE_CHACHA);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_pem) != 1) {
		p3err_ssl(err, "%s: cannot load the certificate", cert_pem);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_pem, SSL_FILETYPE_PEM) != 1) {
		p3err_ssl(err, "%s: cannot load the private key", key_pem);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		p3err_ssl(err, "%s does not match the certificate in %s", key_pem, cert_pem);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx(const struct tls_client_opts *opts, struct p3err *err)
{
	int min = opts->min_version ? opts->min_version : TLS1_2_VERSION;
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		p3err_ssl(err, "cannot create the TLS client context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    (opts->max_version != 0 && SSL_CTX_set_max_proto_version(ctx, opts->max_version) != 1)) {
		p3err_ssl(err, "unsupported TLS version bounds 0x%x..0x%x", (unsigned)min,
		          (unsigned)opts->max_version);
		goto fail;
	}
	if (opts->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, opts->ciphers) != 1) {
		p3err_ssl(err, "bad cipher list \"%s\"", opts->ciphers);
		goto fail;
	}
	/* OpenSSL 3 refuses TLS 1.0/1.1 below security level 0 (their handshake signatures use SHA-1); a test
	 * that offers them on purpose, to see a server refuse, must really offer them. */
	if (min < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0);
	if (opts->verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (opts->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(ctx, opts->ca_file, NULL) != 1) {
				p3err_ssl(err, "%s: cannot load the CA certificates", opts->ca_file);
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			p3err_ssl(err, "cannot load the system's CA certificates");
			goto fail;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

const char *tls_describe(SSL *ssl, char *buf, size_t bufsize)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	snprintf(buf, bufsize, "%s %s", SSL_get_version(ssl), c ? SSL_CIPHER_get_name(c) : "(no cipher)");
	return buf;
}
