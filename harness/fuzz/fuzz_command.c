/* fuzz_command.c — libFuzzer target: pop3refd's strict command-line parser (cmd_parse), the command table's
 * state and argument checks (cmd_check) and the two number parsers (parse_msgnum, parse_linecount), on
 * arbitrary lines. Checks against an independent model: the keyword is 1-8 letters or digits, upper-cased;
 * the arguments are exactly the single-space-separated fields; a message number is all digits and its
 * value is exact (no overflow accepted). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/command.h"
#include "server/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "fuzz_command: %s (line %d)\n", #c, __LINE__);                       \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* The model of parse_msgnum: digits only, value fits size_t. */
static int model_msgnum(const char *s, size_t *out)
{
	size_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (SIZE_MAX - (size_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cmdline cl;
	const char *line = (const char *)data;
	enum cmd_parse_status st = cmd_parse(line, size, &cl);
	size_t fields = 0, kwlen = 0;

	if (st != CMD_PARSE_OK)
		return 0;
	CHECK(size > 0 && size <= POP3_MAX_SASL_LINE);
	/* Keyword: the octets before the first space, alphanumeric, upper-cased. */
	while (kwlen < size && line[kwlen] != ' ')
		kwlen++;
	CHECK(kwlen >= 1 && kwlen <= CMD_KEYWORD_MAX);
	CHECK(strlen(cl.keyword) == kwlen);
	for (size_t i = 0; i < kwlen; i++) {
		CHECK(isalnum((unsigned char)line[i]));
		CHECK(cl.keyword[i] == toupper((unsigned char)line[i]));
	}
	for (size_t i = 0; i < size; i++)
		CHECK((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
	/* Arguments: single-space separated, none empty, rest is everything after the first space. */
	if (kwlen < size) {
		const char *p = line + kwlen + 1;
		size_t left = size - kwlen - 1;
		CHECK(strlen(cl.rest) == left && memcmp(cl.rest, p, left) == 0);
		for (size_t i = 0; i <= left; i++) {
			size_t start = i;
			while (i < left && p[i] != ' ')
				i++;
			CHECK(i > start);
			if (fields < CMD_MAX_ARGS)
				CHECK(strlen(cl.argv[fields]) == i - start &&
				      memcmp(cl.argv[fields], p + start, i - start) == 0);
			fields++;
		}
	}
	CHECK(cl.argc == fields);
	/* The number parsers on every kept argument. */
	for (size_t i = 0; i < cl.argc && i < CMD_MAX_ARGS; i++) {
		size_t got = 0, want = 0;
		long lines = 0;
		int a = parse_msgnum(cl.argv[i], &got), b = model_msgnum(cl.argv[i], &want);
		/* The parser may refuse a value within 9 of SIZE_MAX that would still fit: no message has it.
		 */
		if (a == 0)
			CHECK(b == 0 && got == want);
		else
			CHECK(b != 0 || want > (SIZE_MAX - 9) / 10);
		if (parse_linecount(cl.argv[i], &lines) == 0)
			CHECK(lines >= 0);
	}
	/* The table: whatever the keyword, the check answers or lets the handler run, in every state. */
	const struct command *c = cmd_find(cl.keyword);
	if (c) {
		static const enum pop3_state states[] = {ST_AUTHORIZATION, ST_TRANSACTION, ST_UPDATE};
		for (size_t i = 0; i < 3; i++) {
			struct result r;
			res_clear(&r);
			if (cmd_check(c, states[i], &cl, &r) < 0)
				CHECK(r.status == RES_ERR);
			else
				CHECK((c->states & states[i]) != 0);
		}
	}
	return 0;
}
