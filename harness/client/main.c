/* main.c — pop3client's command line: a small POP3 fetch client into a Maildir, the client side's reference
 * (and, as bin/pop3client-faults, the fault-injectable test client of docs/client-faults.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/faults.h"

static const char usage_text[] =
    "usage: pop3client --host HOST --port PORT --user NAME (--password PW | --password-file FILE)\n"
    "                  [--tls none|stls|stls-optional|implicit] [--cafile PEM] [--servername NAME]\n"
    "                  [--maildir DIR] [--state FILE] [--delete] [--apop | --sasl PLAIN|LOGIN|CRAM-MD5]\n"
    "                  [--eol lf|crlf] [--timeout SECONDS] [--verbose]"
#ifdef POP3CLIENT_FAULTS
    " [--fault NAME]... [--list-faults]"
#endif
    "\n"
    "\n"
    "  --tls MODE          none (default); stls: STLS required, no credentials without TLS;\n"
    "                      stls-optional: STLS when offered; implicit: TLS from the start (RFC 8314)\n"
    "  --cafile PEM        trust anchors for the server certificate (default: the system store)\n"
    "  --servername NAME   the name the certificate must carry (default: HOST)\n"
    "  --maildir DIR       deliver into this Maildir (tmp/, then new/); without it messages are read only\n"
    "  --state FILE        unique-ids already delivered (one a line): those are not fetched again\n"
    "  --delete            DELE each message once it is delivered (QUIT commits)\n"
    "  --apop, --sasl MECH log in by APOP or AUTH MECH instead of USER/PASS\n"
    "  --eol lf|crlf       line ends of delivered messages (default lf, as Maildir stores them)\n"
    "Exit status: 0 done, 1 failure, 2 usage, 75 temporary failure ([IN-USE], [LOGIN-DELAY], [SYS/TEMP]).\n";

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_USER,
	OPT_PASSWORD,
	OPT_PASSWORD_FILE,
	OPT_TLS,
	OPT_CAFILE,
	OPT_SERVERNAME,
	OPT_MAILDIR,
	OPT_STATE,
	OPT_DELETE,
	OPT_APOP,
	OPT_SASL,
	OPT_EOL,
	OPT_TIMEOUT,
	OPT_FAULT,
	OPT_LIST_FAULTS,
	OPT_HELP
};

static const struct option long_opts[] = {{"host", required_argument, NULL, OPT_HOST},
                                          {"port", required_argument, NULL, OPT_PORT},
                                          {"user", required_argument, NULL, OPT_USER},
                                          {"password", required_argument, NULL, OPT_PASSWORD},
                                          {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
                                          {"tls", required_argument, NULL, OPT_TLS},
                                          {"cafile", required_argument, NULL, OPT_CAFILE},
                                          {"servername", required_argument, NULL, OPT_SERVERNAME},
                                          {"maildir", required_argument, NULL, OPT_MAILDIR},
                                          {"state", required_argument, NULL, OPT_STATE},
                                          {"delete", no_argument, NULL, OPT_DELETE},
                                          {"apop", no_argument, NULL, OPT_APOP},
                                          {"sasl", required_argument, NULL, OPT_SASL},
                                          {"eol", required_argument, NULL, OPT_EOL},
                                          {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {"fault", required_argument, NULL, OPT_FAULT},
                                          {"list-faults", no_argument, NULL, OPT_LIST_FAULTS},
                                          {"help", no_argument, NULL, OPT_HELP},
                                          {NULL, 0, NULL, 0}};

static int usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "pop3client: %s\n", msg);
	fputs(usage_text, stderr);
	return CLIENT_USAGE;
}

static int read_password(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (f == NULL || fgets(buf, (int)size, f) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct client_opts o = {.tls = CT_NONE, .eol = EOL_LF, .timeout_ms = 30000};
	static char pwbuf[1024];
	struct p3err err = {0};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "v", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_HOST:
			o.host = optarg;
			break;
		case OPT_PORT:
			if (parse_int(optarg, 1, 65535, &v) < 0)
				return usage("--port: 1-65535");
			o.port = (int)v;
			break;
		case OPT_USER:
			o.user = optarg;
			break;
		case OPT_PASSWORD:
			o.password = optarg;
			break;
		case OPT_PASSWORD_FILE:
			if (read_password(optarg, pwbuf, sizeof pwbuf) < 0)
				return usage("--password-file: cannot read it");
			o.password = pwbuf;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "none") == 0)
				o.tls = CT_NONE;
			else if (strcmp(optarg, "stls") == 0)
				o.tls = CT_STLS;
			else if (strcmp(optarg, "stls-optional") == 0)
				o.tls = CT_STLS_OPTIONAL;
			else if (strcmp(optarg, "implicit") == 0)
				o.tls = CT_IMPLICIT;
			else
				return usage("--tls: none, stls, stls-optional or implicit");
			break;
		case OPT_CAFILE:
			o.cafile = optarg;
			break;
		case OPT_SERVERNAME:
			o.servername = optarg;
			break;
		case OPT_MAILDIR:
			o.maildir = optarg;
			break;
		case OPT_STATE:
			o.state = optarg;
			break;
		case OPT_DELETE:
			o.delete_after = 1;
			break;
		case OPT_APOP:
			o.apop = 1;
			break;
		case OPT_SASL:
			o.sasl = optarg;
			break;
		case OPT_EOL:
			if (strcmp(optarg, "lf") != 0 && strcmp(optarg, "crlf") != 0)
				return usage("--eol: lf or crlf");
			o.eol = optarg[0] == 'c' ? EOL_CRLF : EOL_LF;
			break;
		case OPT_TIMEOUT:
			if (parse_int(optarg, 1, 3600, &v) < 0)
				return usage("--timeout: 1-3600 seconds");
			o.timeout_ms = (int)v * 1000;
			break;
		case 'v':
			o.verbose = 1;
			break;
#ifdef POP3CLIENT_FAULTS
		case OPT_FAULT:
			if (cfault_enable(optarg, &err) < 0)
				return usage(err.msg);
			break;
		case OPT_LIST_FAULTS:
			cfault_print_list(stdout);
			return CLIENT_OK;
#else
		case OPT_FAULT:
		case OPT_LIST_FAULTS:
			return usage("faults exist only in bin/pop3client-faults");
#endif
		case OPT_HELP:
			fputs(usage_text, stdout);
			return CLIENT_OK;
		default:
			return usage(NULL);
		}
	}
#ifdef POP3CLIENT_FAULTS
	/* POP3CLIENT_FAULT=NAME[,NAME...]: the same switches through the environment, for a harness that runs
	 * one client profile once per fault (the profile's command line stays the same). */
	const char *env = getenv("POP3CLIENT_FAULT");
	if (env != NULL && *env != '\0') {
		char names[1024], *save = NULL;
		snprintf(names, sizeof names, "%s", env);
		for (char *n = strtok_r(names, ", ", &save); n != NULL; n = strtok_r(NULL, ", ", &save))
			if (cfault_enable(n, &err) < 0)
				return usage(err.msg);
	}
#endif
	if (optind != argc)
		return usage("unexpected argument");
	if (o.host == NULL || o.port == 0 || o.user == NULL || o.password == NULL)
		return usage("--host, --port, --user and --password are required");
	if (o.apop && o.sasl != NULL)
		return usage("--apop and --sasl exclude each other");
	(void)err; /* used only by the fault build */
	return client_run(&o);
}
