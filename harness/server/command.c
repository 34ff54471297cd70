/* command.c — the one command table, the command-line parser and dispatch. */
#include "server/command.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "lib/line.h"
#include "server/auth.h"
#include "server/capa.h"
#include "server/lang.h"
#include "server/log.h"
#include "server/sasl.h"
#include "server/trans.h"
#include "server/utf8.h"

#define AUTHZ ST_AUTHORIZATION
#define TRANS ST_TRANSACTION

/* RFC 1939 §4-§7, RFC 2449 §5 (CAPA), RFC 5034 §4 (AUTH), RFC 2595 §4 (STLS), RFC 6856 §2.1 (UTF8) and §3
 * (LANG). The states column is the whole state machine: dispatch checks it before any handler runs, and
 * no handler checks it again. */
static const struct command commands[] = {
    {"USER", AUTHZ, 1, 1, cmd_user},         {"PASS", AUTHZ, 1, CMD_RAW_ARG, cmd_pass},
    {"APOP", AUTHZ, 2, 2, cmd_apop},         {"AUTH", AUTHZ, 0, 2, cmd_auth},
    {"STLS", AUTHZ, 0, 0, cmd_stls},         {"CAPA", AUTHZ | TRANS, 0, 0, cmd_capa},
    {"QUIT", AUTHZ | TRANS, 0, 0, cmd_quit}, {"STAT", TRANS, 0, 0, cmd_stat},
    {"LIST", TRANS, 0, 1, cmd_list},         {"RETR", TRANS, 1, 1, cmd_retr},
    {"DELE", TRANS, 1, 1, cmd_dele},         {"NOOP", TRANS, 0, 0, cmd_noop},
    {"RSET", TRANS, 0, 0, cmd_rset},         {"TOP", TRANS, 2, 2, cmd_top},
    {"UIDL", TRANS, 0, 1, cmd_uidl},         {"UTF8", AUTHZ, 0, 0, cmd_utf8},
    {"LANG", AUTHZ | TRANS, 0, 1, cmd_lang},
};

const struct command *cmd_find(const char *keyword)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, keyword) == 0)
			return &commands[i];
	return NULL;
}

enum cmd_parse_status cmd_parse(const char *line, size_t len, struct cmdline *cl)
{
	size_t i = 0, k = 0;

	cl->keyword[0] = '\0';
	cl->argc = 0;
	cl->rest = "";
	if (len == 0)
		return CMD_PARSE_EMPTY;
	if (len > POP3_MAX_SASL_LINE)
		return CMD_PARSE_SYNTAX;
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)line[j];
		if (c < 0x20 || c == 0x7f)
			return CMD_PARSE_BAD_CHAR;
	}
	/* Keyword: RFC 1939 §3 keywords are three or four characters; extensions use letters and digits. */
	while (i < len && line[i] != ' ') {
		if (k == CMD_KEYWORD_MAX || !isalnum((unsigned char)line[i]))
			return CMD_PARSE_SYNTAX;
		cl->keyword[k++] = (char)toupper((unsigned char)line[i]);
		i++;
	}
	cl->keyword[k] = '\0';
	if (k == 0)
		return CMD_PARSE_SYNTAX; /* a line starting with a space */
	if (i == len)
		return CMD_PARSE_OK;
	/* line[i] is the space after the keyword. */
	memcpy(cl->rest_buf, line + i + 1, len - i - 1);
	cl->rest_buf[len - i - 1] = '\0';
	cl->rest = cl->rest_buf;
	memcpy(cl->buf, line + i + 1, len - i - 1);
	cl->buf[len - i - 1] = '\0';
	char *p = cl->buf;
	for (;;) {
		char *sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		if (*p == '\0')
			return CMD_PARSE_SYNTAX; /* two spaces in a row, or a trailing space */
		if (cl->argc < CMD_MAX_ARGS)
			cl->argv[cl->argc] = p;
		cl->argc++;
		if (!sp)
			break;
		p = sp + 1;
	}
	return CMD_PARSE_OK;
}

int cmd_check(const struct command *c, enum pop3_state state, const struct cmdline *cl, struct result *r)
{
	if (!(c->states & state)) {
		res_err(r, CODE_NONE, "%s not allowed in the %s state", c->name, session_state_name(state));
		return -1;
	}
	if (c->max_args == CMD_RAW_ARG) {
		if (cl->rest[0] == '\0') {
			res_err(r, CODE_NONE, "%s needs an argument", c->name);
			return -1;
		}
		return 0;
	}
	if (cl->argc < (size_t)c->min_args || cl->argc > (size_t)c->max_args) {
		if (c->min_args == c->max_args && c->min_args == 0)
			res_err(r, CODE_NONE, "%s takes no argument", c->name);
		else if (cl->argc < (size_t)c->min_args)
			res_err(r, CODE_NONE, "%s: missing argument", c->name);
		else
			res_err(r, CODE_NONE, "%s: too many arguments", c->name);
		return -1;
	}
	return 0;
}

int parse_msgnum(const char *s, size_t *out)
{
	size_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (SIZE_MAX - 9) / 10)
			return -1; /* no wrap-around to a real message (P-MSG-3) */
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int parse_linecount(const char *s, long *out)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (LONG_MAX - 9) / 10)
			v = LONG_MAX; /* more lines than any body has: the whole message */
		else
			v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* Log a command without its secrets: PASS, and AUTH's initial response, are never logged. */
static void log_command(const struct session *s, const struct cmdline *cl)
{
	if (log_get_level() < LOG_DEBUG)
		return;
	if (strcmp(cl->keyword, "PASS") == 0 || strcmp(cl->keyword, "AUTH") == 0 ||
	    strcmp(cl->keyword, "APOP") == 0 || cl->argc == 0)
		log_msg(LOG_DEBUG, "s%lu command %s%s", s->id, cl->keyword, cl->argc ? " ..." : "");
	else
		log_msg(LOG_DEBUG, "s%lu command %s %.60s", s->id, cl->keyword, cl->rest);
}

void command_run(struct session *s, const struct command *c, const struct cmdline *cl, struct result *r)
{
	if (cmd_check(c, s->state, cl, r) == 0) {
		c->fn(s, cl, r);
		/* RFC 1939 §7: PASS only immediately after the USER that got +OK; the USER handler keeps or
		 * clears its own name, every other command forgets it. */
		if (strcmp(c->name, "USER") == 0)
			return;
	}
	s->have_user = 0;
	s->pending_user[0] = '\0';
}

void command_dispatch(struct session *s, const char *line, size_t len, int line_flags, struct result *r)
{
	static struct cmdline cl; /* one event loop thread: no need for 9 kB of stack per call */
	const struct command *c;

	res_clear(r);
	if (line_flags & (LINE_HAS_NUL | LINE_HAS_CR)) {
		res_err(r, CODE_NONE, "invalid character in command");
		goto done;
	}
	switch (cmd_parse(line, len, &cl)) {
	case CMD_PARSE_OK:
		break;
	case CMD_PARSE_EMPTY:
		res_err(r, CODE_NONE, "empty command");
		goto done;
	case CMD_PARSE_BAD_CHAR:
		res_err(r, CODE_NONE, "invalid character in command");
		goto done;
	case CMD_PARSE_SYNTAX:
		res_err(r, CODE_NONE, "syntax error");
		goto done;
	}
	log_command(s, &cl);
	c = cmd_find(cl.keyword);
	if (!c) {
		res_err(r, CODE_NONE, "unknown command");
		goto done;
	}
	command_run(s, c, &cl, r);
	return;
done:
	s->have_user = 0;
	s->pending_user[0] = '\0';
}
