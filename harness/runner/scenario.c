/* scenario.c — names for the scenario model's enums, simple queries, and freeing a scenario. */
#include "runner/scenario.h"

#include <stdlib.h>
#include <string.h>

#include "runner/step_kinds.h"

const char *level_name(enum level l)
{
	switch (l) {
	case LEVEL_MUST:
		return "MUST";
	case LEVEL_SHOULD:
		return "SHOULD";
	case LEVEL_MAY:
		return "MAY";
	}
	return "?";
}

const char *step_kind_name(enum step_kind k)
{
	return (unsigned)k < STEP_KINDS ? step_type(k)->name : "?";
}

bool scenario_has_tag(const struct scenario *sc, const char *tag)
{
	for (size_t i = 0; i < sc->ntags; i++)
		if (strcmp(sc->tags[i], tag) == 0)
			return true;
	return false;
}

bool scenario_needs_reset(const struct scenario *sc)
{
	return sc->fixture || sc->fixture2 || sc->modifies;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void expect_free(struct expect *e)
{
	free(e->code);
	free(e->not_code);
	free(e->match);
	free(e->not_match);
	free(e->count.s);
	free(e->octets.s);
	strv_free(e->lines, e->nlines);
	free(e->each_line);
	free(e->contains);
	free(e->not_contains);
	free(e->message.s);
	free(e->top_message.s);
	free(e->top_lines.s);
	for (size_t i = 0; i < e->ncaptures; i++) {
		free(e->captures[i].name);
		free(e->captures[i].regex);
	}
	free(e->captures);
	for (size_t i = 0; i < e->nline_captures; i++) {
		free(e->line_captures[i].name);
		free(e->line_captures[i].regex);
	}
	free(e->line_captures);
	free(e->capture_body);
	for (size_t i = 0; i < e->n_one_of; i++)
		expect_free(&e->one_of[i]);
	free(e->one_of);
	free(e->ref);
}

static void step_free(struct step *st)
{
	free(st->session);
	free(st->note);
	free(st->when_a.s);
	free(st->when_b.s);
	for (size_t i = 0; i < st->n_expect; i++)
		expect_free(&st->expect[i]);
	free(st->expect);
	if (step_type(st->kind)->release)
		step_type(st->kind)->release(st);
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nsteps; i++)
		step_free(&sc->steps[i]);
	free(sc->steps);
	free(sc->id);
	free(sc->title);
	free(sc->description);
	strv_free(sc->refs, sc->nrefs);
	strv_free(sc->tags, sc->ntags);
	free(sc->fixture);
	free(sc->fixture2);
	strv_free(sc->requires, sc->nrequires);
	if (sc->client && sc->client_free)
		sc->client_free(sc->client);
	free(sc->file);
	free(sc);
}
