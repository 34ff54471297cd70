/* load_cmd.c — `pop3spec load`: the command line, the generated fixture, the reset of every account, the
 * client threads with their pacing and stop conditions, and the live progress line. */
#include "runner/stress/stress.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/tls.h"
#include "runner/fixture.h"
#include "runner/reference.h"
#include "runner/stress/load_report.h"
#include "runner/stress/loadgen.h"

#define EXIT_OK    0
#define EXIT_FOUND 1
#define EXIT_USAGE 2

static void load_help(void)
{
	fputs(
	    "usage: pop3spec load (--target FILE | --reference) [--clients N] [--duration S | --sessions N]\n"
	    "                     [--rate R] [--seed N] [--mix NAME=W,...] [--messages N] [--timeout S]\n"
	    "                     [--lock-grace S] [--max-violations N] [--shard I/N] [--json FILE]\n"
	    "                     [--html FILE] [--shared-ok] [--deliver-every S [--deliver CMD]] [-q]\n"
	    "Concurrent randomised sessions against the target's accounts, every reply checked against a\n"
	    "model of each maildrop. Exit status: 0 nothing found, 1 a violation (or a crash or hang of the\n"
	    "target), 2 usage or target errors. Mix names: stat list uidl retr top dele rset noop bad "
	    "(weights)\n"
	    "drop tls stls sasl apop pipeline (percent). See docs/stress.md.\n",
	    stdout);
}

static int usage(const char *msg)
{
	fprintf(stderr, "pop3spec load: %s (pop3spec load --help)\n", msg);
	return EXIT_USAGE;
}

static int num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_mix(const char *s, struct load_mix *m, char *why, size_t whysize)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL;
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(w, '=');
		double v;
		if (eq == NULL || num(eq + 1, 0, 1000, &v) != 0) {
			snprintf(why, whysize, "--mix: '%s' is not NAME=WEIGHT (0-1000)", w);
			return -1;
		}
		*eq = '\0';
#define MIX_SET(name, def)                                                                                   \
	if (strcmp(w, #name) == 0) {                                                                         \
		m->name = (int)v;                                                                            \
		continue;                                                                                    \
	}
		LOAD_MIX(MIX_SET)
#undef MIX_SET
		snprintf(why, whysize, "--mix: unknown name '%s'", w);
		return -1;
	}
	if (m->drop > 100 || m->tls > 100 || m->stls > 100 || m->sasl > 100 || m->pipeline > 100 ||
	    m->apop > 100) {
		snprintf(why, whysize,
		         "--mix: drop, tls, stls, sasl, apop and pipeline are percentages (0-100)");
		return -1;
	}
	return 0;
}

static int parse(int argc, char **argv, struct load_opts *o, char *why, size_t whysize)
{
	memset(o, 0, sizeof *o);
#define MIX_DEF(name, def) o->mix.name = def;
	LOAD_MIX(MIX_DEF)
#undef MIX_DEF
	o->clients = 8;
	o->duration = 10;
	o->seed = (uint64_t)time(NULL);
	o->shard_index = o->shard_count = 1;
	o->messages = 20;
	o->timeout = 10;
	o->lock_grace = 5;
	o->max_violations = 100;
	int have_duration = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		double d;
#define NEED()                                                                                               \
	do {                                                                                                 \
		if (v == NULL) {                                                                             \
			snprintf(why, whysize, "%s needs a value", a);                                       \
			return -1;                                                                           \
		}                                                                                            \
		i++;                                                                                         \
	} while (0)
#define BAD()                                                                                                \
	do {                                                                                                 \
		snprintf(why, whysize, "%s: bad value '%s'", a, v);                                          \
		return -1;                                                                                   \
	} while (0)
		if (strcmp(a, "--target") == 0) {
			NEED();
			o->target_file = v;
		} else if (strcmp(a, "--reference") == 0) {
			o->reference = 1;
		} else if (strcmp(a, "--clients") == 0) {
			NEED();
			if (num(v, 1, LOAD_MAX_CLIENTS, &d) != 0 || d != (int)d)
				BAD();
			o->clients = (int)d;
		} else if (strcmp(a, "--duration") == 0) {
			NEED();
			if (num(v, 0.1, 7 * 86400, &d) != 0)
				BAD();
			o->duration = d;
			have_duration = 1;
		} else if (strcmp(a, "--sessions") == 0) {
			NEED();
			if (num(v, 1, 1e12, &d) != 0 || d != (long)d)
				BAD();
			o->sessions = (long)d;
		} else if (strcmp(a, "--rate") == 0) {
			NEED();
			if (num(v, 0.01, 1e6, &d) != 0)
				BAD();
			o->rate = d;
		} else if (strcmp(a, "--seed") == 0) {
			NEED();
			char *end;
			errno = 0;
			unsigned long long s = strtoull(v, &end, 10);
			if (errno || *end || end == v || *v == '-')
				BAD();
			o->seed = s;
		} else if (strcmp(a, "--mix") == 0) {
			NEED();
			if (parse_mix(v, &o->mix, why, whysize) != 0)
				return -1;
		} else if (strcmp(a, "--messages") == 0) {
			NEED();
			if (num(v, 2, LOAD_MAX_MESSAGES, &d) != 0 || d != (int)d)
				BAD();
			o->messages = (int)d;
		} else if (strcmp(a, "--timeout") == 0) {
			NEED();
			if (num(v, 0.1, 3600, &d) != 0)
				BAD();
			o->timeout = d;
		} else if (strcmp(a, "--lock-grace") == 0) {
			NEED();
			if (num(v, 0, 3600, &d) != 0)
				BAD();
			o->lock_grace = d;
		} else if (strcmp(a, "--max-violations") == 0) {
			NEED();
			if (num(v, 0, 1e9, &d) != 0 || d != (long)d)
				BAD();
			o->max_violations = (long)d;
		} else if (strcmp(a, "--shard") == 0) {
			NEED();
			int si, sn;
			char tail;
			if (sscanf(v, "%d/%d%c", &si, &sn, &tail) != 2 || sn < 1 || si < 1 || si > sn)
				BAD();
			o->shard_index = si;
			o->shard_count = sn;
		} else if (strcmp(a, "--json") == 0) {
			NEED();
			o->json = v;
		} else if (strcmp(a, "--html") == 0) {
			NEED();
			o->html = v;
		} else if (strcmp(a, "--deliver-every") == 0) {
			NEED();
			if (num(v, 0.01, 86400, &d) != 0)
				BAD();
			o->deliver_every = d;
		} else if (strcmp(a, "--deliver") == 0) {
			NEED();
			o->deliver_cmd = v;
		} else if (strcmp(a, "--shared-ok") == 0) {
			o->shared_ok = 1;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			o->quiet = 1;
		} else {
			snprintf(why, whysize, "unknown option '%s'", a);
			return -1;
		}
#undef NEED
#undef BAD
	}
	if (!o->target_file == !o->reference) {
		snprintf(why, whysize, "give one of --target FILE and --reference");
		return -1;
	}
	if (o->sessions && have_duration) {
		snprintf(why, whysize, "--duration and --sessions exclude each other");
		return -1;
	}
	if (o->sessions)
		o->duration = 0;
	if (o->deliver_cmd && !o->deliver_every) {
		snprintf(why, whysize, "--deliver needs --deliver-every");
		return -1;
	}
	return 0;
}

/* ---- the fixture ------------------------------------------------------------------------------------ */

/* Write `n` messages into a new Maildir under a temporary folder. Every size differs (each message has
 * one more 62-octet line than the one before), so the model names a message by its size; every message
 * has a dot-line to byte-stuff (RFC 1939 §3). Stored with CRLF, so stored and sent sizes agree. */
static int make_fixture(struct load *L, struct p3err *err)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/pop3spec-load-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return p3err_errno(err, "create a temporary folder");
	L->fixture_dir = strdup(dir);
	char sub[PATH_MAX + 64];
	for (const char *s = "cur\0new\0tmp\0"; *s; s += 4) {
		snprintf(sub, sizeof sub, "%.4000s/%s", dir, s);
		if (mkdir(sub, 0755) != 0)
			return p3err_errno(err, "mkdir %s", sub);
	}
	L->ninit = (size_t)L->o.messages;
	/* The messages deliveries bring continue the sequence: their sizes differ from all the others too. */
	L->nfx = L->ninit + (L->o.deliver_every > 0 ? LOAD_MAX_DELIVER : 0);
	L->fx = calloc(L->nfx, sizeof *L->fx);
	if (L->fx == NULL || L->fixture_dir == NULL)
		return p3err_set(err, "out of memory");
	for (size_t i = 0; i < L->nfx; i++) {
		size_t cap = 1024 + (i + 1) * 64;
		char *d = malloc(cap);
		if (d == NULL)
			return p3err_set(err, "out of memory");
		size_t len =
		    (size_t)snprintf(d, cap,
		                     "From: load@pop3spec.test\r\nTo: maildrop@pop3spec.test\r\n"
		                     "Subject: load message %03zu\r\n"
		                     "Message-ID: <load-%03zu-%" PRIu64 "@pop3spec.test>\r\n\r\n"
		                     "Message %03zu of the load fixture.\r\n.a line to byte-stuff\r\n",
		                     i + 1, i + 1, L->o.seed, i + 1);
		for (size_t k = 0; k <= i; k++)
			len += (size_t)snprintf(d + len, cap - len, "%03zu %056zu\r\n", k + 1, i + 1);
		L->fx[i].data = d;
		L->fx[i].len = len;
		if (i >= L->ninit)
			continue;
		snprintf(sub, sizeof sub, "%.4000s/new/%u.M%zuP1.load", dir, 1700000000u + (unsigned)i,
		         i + 1);
		FILE *f = fopen(sub, "wb");
		if (f == NULL || fwrite(d, 1, len, f) != len || fclose(f) != 0)
			return p3err_errno(err, "write %s", sub);
	}
	return 0;
}

/* ---- the client threads ------------------------------------------------------------------------------ */

struct client {
	struct load *L;
	int id;
	pthread_t th;
};

static long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int should_stop(struct load *L)
{
	if (atomic_load(&L->stop))
		return 1;
	if (L->deadline_ms && model_now_ms() >= L->deadline_ms)
		return 1;
	if (L->o.max_violations) {
		pthread_mutex_lock(&L->M.lock);
		size_t n = L->M.viol_total;
		pthread_mutex_unlock(&L->M.lock);
		if ((long)n >= L->o.max_violations)
			return 1;
	}
	return 0;
}

/* --rate: each session waits for its slot, 1/R seconds after the previous one. */
static void pace(struct load *L)
{
	if (L->o.rate <= 0)
		return;
	pthread_mutex_lock(&L->rate_lock);
	long long now = mono_us();
	long long slot = L->next_slot_us > now ? L->next_slot_us : now;
	L->next_slot_us = slot + (long long)(1e6 / L->o.rate);
	pthread_mutex_unlock(&L->rate_lock);
	while (slot > mono_us() && !atomic_load(&L->stop)) {
		long long left = slot - mono_us();
		struct timespec ts = {0, (left > 100000 ? 100000 : left) * 1000};
		nanosleep(&ts, NULL);
	}
}

static void try_reset(struct load *L, size_t ai)
{
	if (!model_claim_reset(&L->M, ai))
		return;
	struct p3err err = {0};
	int rc = target_reset(L->t, L->M.acct[ai].a, L->fixture_dir, &err);
	if (rc != 0) {
		model_violation(&L->M, NULL, NULL, "target-error", "%s", err.msg);
		atomic_store(&L->stop, 1);
	}
	model_reset_done(&L->M, ai, rc == 0);
	pthread_mutex_lock(&L->stats_lock);
	L->st.resets++;
	pthread_mutex_unlock(&L->stats_lock);
}

/* ---- deliveries (--deliver-every) --------------------------------------------------------------------- */

/* Deliver fixture message k into acct's maildrop: with `maildirs` (and --reference) the way a Maildir
 * delivery agent does it, written in tmp/ and renamed into new/; otherwise by the --deliver command, given a
 * Maildir (and mbox) holding that one message, with the placeholders of `reset` (docs/stress.md). The file
 * name sorts before or after the fixture's names at random: where a new message lands in the listing is the
 * server's business, and numbers must not move within a session wherever it lands. */
static int deliver_one(struct load *L, const struct account *acct, size_t k, unsigned long serial, int early,
                       struct p3err *err)
{
	char name[128];
	snprintf(name, sizeof name, "%u.D%luK%zu.load", early ? 1600000000u : 1800000000u, serial, k);
	const struct fmsg *f = &L->fx[k];
	if (L->o.deliver_cmd == NULL) {
		char tmp[PATH_MAX], dst[PATH_MAX];
		if (snprintf(tmp, sizeof tmp, "%s/%s/tmp/%s", L->t->maildirs, acct->user, name) >=
		        (int)sizeof tmp ||
		    snprintf(dst, sizeof dst, "%s/%s/new/%s", L->t->maildirs, acct->user, name) >=
		        (int)sizeof dst)
			return p3err_set(err, "delivery to %s: path too long", acct->user);
		FILE *fp = fopen(tmp, "wb");
		if (fp == NULL)
			return p3err_errno(err, "delivery to %s: create %s", acct->user, tmp);
		int bad = fwrite(f->data, 1, f->len, fp) != f->len;
		bad |= fclose(fp) != 0;
		if (bad || rename(tmp, dst) != 0) {
			unlink(tmp);
			return p3err_errno(err, "delivery to %s: write %s", acct->user, dst);
		}
		return 0;
	}
	char dir[PATH_MAX + 64], sub[PATH_MAX + 200];
	snprintf(dir, sizeof dir, "%.4000s.deliver-%lu", L->fixture_dir, serial);
	int rc = -1;
	if (mkdir(dir, 0755) != 0)
		return p3err_errno(err, "delivery to %s: mkdir %s", acct->user, dir);
	for (const char *sd = "cur\0new\0tmp\0"; *sd; sd += 4) {
		snprintf(sub, sizeof sub, "%s/%s", dir, sd);
		if (mkdir(sub, 0755) != 0) {
			p3err_errno(err, "delivery to %s: mkdir %s", acct->user, sub);
			goto out;
		}
	}
	snprintf(sub, sizeof sub, "%s/new/%s", dir, name);
	FILE *fp = fopen(sub, "wb");
	if (fp == NULL || fwrite(f->data, 1, f->len, fp) != f->len || fclose(fp) != 0) {
		p3err_errno(err, "delivery to %s: write %s", acct->user, sub);
		goto out;
	}
	/* The --deliver command runs as a reset command does (quoting, {fixture_mbox}, the time limit). */
	struct target t = *L->t;
	t.reset = (char *)L->o.deliver_cmd;
	t.maildirs = NULL;
	rc = target_reset(&t, acct, dir, err);
	if (rc != 0) {
		char msg[P3ERR_MAX];
		snprintf(msg, sizeof msg, "%s", err->msg);
		p3err_set(err, "delivery (--deliver): %s", msg);
	}
out:
	fixture_rmtree(dir);
	snprintf(sub, sizeof sub, "%s.mbox", dir);
	unlink(sub);
	return rc;
}

static void *deliver_main(void *arg)
{
	struct load *L = arg;
	struct rng rng;
	rng_seed(&rng, L->o.seed, (uint64_t)L->o.shard_index, 0xde11ee);
	unsigned long serial = 0;
	long long next = mono_us() + (long long)(L->o.deliver_every * 1e6);
	while (!atomic_load(&L->stop)) {
		if (mono_us() < next) {
			long long left = next - mono_us();
			struct timespec ts = {0, (left > 50000 ? 50000 : left) * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		next += (long long)(L->o.deliver_every * 1e6);
		/* An account that takes one: not draining, not being reset, not full of deliveries. */
		size_t start = (size_t)rng_below(&rng, L->nacct);
		for (size_t n = 0; n < L->nacct; n++) {
			size_t ai = (start + n) % L->nacct;
			long k = model_deliver_begin(&L->M, ai);
			if (k < 0)
				continue;
			struct p3err err = {0};
			int early = (int)rng_below(&rng, 2);
			int rc = deliver_one(L, L->M.acct[ai].a, (size_t)k, ++serial, early, &err);
			model_deliver_end(&L->M, ai, (size_t)k, rc == 0);
			if (rc != 0) {
				model_violation(&L->M, NULL, NULL, "target-error", "%s", err.msg);
				atomic_store(&L->stop, 1);
				break;
			}
			pthread_mutex_lock(&L->stats_lock);
			L->st.deliveries++;
			pthread_mutex_unlock(&L->stats_lock);
			break;
		}
	}
	return NULL;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct load *L = c->L;
	struct rng rng;
	rng_seed(&rng, L->o.seed, (uint64_t)L->o.shard_index, (uint64_t)c->id + 1);
	/* Several clients per account on purpose: client i's home is account i mod (clients/2), so two or
	 * more clients share each maildrop; one session in five goes to any account. */
	size_t homes = (size_t)(L->o.clients + 1) / 2;
	if (homes > L->nacct)
		homes = L->nacct;
	if (homes == 0)
		homes = 1;
	while (!should_stop(L)) {
		if (L->o.sessions && atomic_fetch_add(&L->started, 1) >= L->o.sessions)
			break;
		pace(L);
		size_t ai =
		    rng_below(&rng, 5) == 0 ? (size_t)rng_below(&rng, L->nacct) : (size_t)c->id % homes;
		int rc;
		for (int tries = 0;; tries++) {
			try_reset(L, ai);
			rc = load_session(L, c->id, &rng, ai);
			if (rc != 1 || should_stop(L))
				break;
			/* The account is being drained for a reset: another one, or a short wait. */
			ai = (size_t)rng_below(&rng, L->nacct);
			if (tries % L->nacct == L->nacct - 1) {
				struct timespec ts = {0, 20 * 1000 * 1000};
				nanosleep(&ts, NULL);
			}
		}
		if (rc < 0)
			break;
		if (rc == 2) {
			/* The maildrop was busy: wait a little, as a mail client would, before the next try.
			 */
			struct timespec ts = {0, (long)(5 + rng_below(&rng, 25)) * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void progress(struct load *L, int final)
{
	double el = (double)(model_now_ms() - L->t0_ms) / 1000.0;
	pthread_mutex_lock(&L->stats_lock);
	uint64_t s = L->st.sessions, c = L->st.commands;
	pthread_mutex_unlock(&L->stats_lock);
	pthread_mutex_lock(&L->M.lock);
	size_t v = L->M.viol_total;
	pthread_mutex_unlock(&L->M.lock);
	fprintf(stderr,
	        "\rload: %6.1f s  %8" PRIu64 " sessions (%6.1f/s)  %9" PRIu64 " commands (%7.1f/s)  "
	        "%zu violation%s%s",
	        el, s, el > 0 ? (double)s / el : 0.0, c, el > 0 ? (double)c / el : 0.0, v, v == 1 ? "" : "s",
	        final ? "\n" : "");
	fflush(stderr);
}

int stress_load_main(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			load_help();
			return EXIT_OK;
		}
	static struct load L; /* large (histograms): off the stack */
	char why[300];
	if (parse(argc, argv, &L.o, why, sizeof why) != 0)
		return usage(why);
	struct p3err err = {0};
	static struct target T;
	int rc = EXIT_USAGE;
	if (L.o.reference ? reference_start(&T, &err) != 0 : target_load(L.o.target_file, &T, &err) != 0) {
		fprintf(stderr, "pop3spec load: %s\n", err.msg);
		return EXIT_USAGE;
	}
	L.t = &T;
	pthread_mutex_init(&L.stats_lock, NULL);
	pthread_mutex_init(&L.rate_lock, NULL);
	for (int c = 0; c < C_COUNT; c++)
		hist_init(&L.st.h[c]);
	if (L.o.deliver_every > 0 && L.o.deliver_cmd == NULL && T.maildirs == NULL) {
		fprintf(stderr,
		        "pop3spec load: --deliver-every: the profile has no maildirs; give --deliver CMD "
		        "(a command that delivers the messages of {fixture} or {fixture_mbox} to {user}'s "
		        "maildrop)\n");
		goto out;
	}
	if (!target_can_reset(&T)) {
		fprintf(stderr,
		        "pop3spec load: the target profile has no reset (or maildirs): the model needs to "
		        "know what each maildrop holds\n");
		goto out;
	}
	/* --shard I/N: this shard drives accounts I-1, I-1+N, ...: shards never share a maildrop, so each
	 * model is complete on its own and N shards merge to one run's totals. */
	L.accts = calloc(T.naccounts, sizeof *L.accts);
	for (size_t i = 0; L.accts && i < T.naccounts; i++)
		if ((int)(i % (size_t)L.o.shard_count) == L.o.shard_index - 1)
			L.accts[L.nacct++] = i;
	if (L.nacct == 0) {
		fprintf(stderr, "pop3spec load: shard %d/%d has no account (the profile has %zu)\n",
		        L.o.shard_index, L.o.shard_count, T.naccounts);
		goto out;
	}
	if (L.o.sessions && L.o.shard_count > 1) {
		/* The sessions are shared out so the shards add up to --sessions exactly. */
		long per = L.o.sessions / L.o.shard_count;
		L.o.sessions = per + (L.o.shard_index <= L.o.sessions % L.o.shard_count ? 1 : 0);
		if (L.o.sessions == 0)
			L.o.sessions = -1;
	}
	if (T.tls_port || T.port) {
		struct tls_client_opts to = {.verify = T.tls_verify, .ca_file = T.ca};
		L.tls = tls_client_ctx(&to, &err);
		if (L.tls == NULL) {
			fprintf(stderr, "pop3spec load: TLS set-up: %s\n", err.msg);
			goto out;
		}
	}
	if (make_fixture(&L, &err) != 0) {
		fprintf(stderr, "pop3spec load: %s\n", err.msg);
		goto out;
	}
	struct account *acc = calloc(L.nacct, sizeof *acc);
	if (acc == NULL)
		goto out;
	for (size_t i = 0; i < L.nacct; i++)
		acc[i] = T.accounts[L.accts[i]];
	if (model_init(&L.M, acc, L.nacct, L.fx, L.nfx, 1000, (long long)(L.o.lock_grace * 1000)) != 0) {
		fprintf(stderr, "pop3spec load: out of memory\n");
		free(acc);
		goto out;
	}
	model_set_deliverable(&L.M, L.ninit);
	for (size_t i = 0; i < L.nacct; i++)
		if (target_reset(&T, &acc[i], L.fixture_dir, &err) != 0) {
			fprintf(stderr, "pop3spec load: %s\n", err.msg);
			model_free(&L.M);
			free(acc);
			goto out;
		}
	if (L.o.sessions < 0) {
		L.o.sessions = 0;
		L.deadline_ms = 1; /* nothing for this shard */
	}
	L.t0_ms = model_now_ms();
	if (L.o.duration > 0)
		L.deadline_ms = L.t0_ms + (long long)(L.o.duration * 1000);
	int tty = isatty(2) && !L.o.quiet;
	struct client *cl = calloc((size_t)L.o.clients, sizeof *cl);
	int nstarted = 0;
	for (int i = 0; cl && i < L.o.clients; i++) {
		cl[i].L = &L;
		cl[i].id = i;
		if (pthread_create(&cl[i].th, NULL, client_main, &cl[i]) != 0)
			break;
		nstarted++;
	}
	pthread_t deliverer;
	int delivering = L.o.deliver_every > 0 && pthread_create(&deliverer, NULL, deliver_main, &L) == 0;
	/* The main thread only watches: progress once a second on a terminal, and the stop conditions. */
	long long last = 0;
	while (1) {
		int alive = 0;
		pthread_mutex_lock(&L.stats_lock);
		alive = L.o.sessions == 0 || (long)L.st.sessions < L.o.sessions;
		pthread_mutex_unlock(&L.stats_lock);
		if (!alive || should_stop(&L))
			break;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (tty && model_now_ms() - last >= 1000) {
			last = model_now_ms();
			progress(&L, 0);
		}
	}
	atomic_store(&L.stop, 1);
	for (int i = 0; i < nstarted; i++)
		pthread_join(cl[i].th, NULL);
	if (delivering)
		pthread_join(deliverer, NULL);
	free(cl);
	double elapsed = (double)(model_now_ms() - L.t0_ms) / 1000.0;
	if (tty)
		progress(&L, 1);
	rc = load_report(&L, elapsed) != 0 ? EXIT_USAGE : L.M.viol_total ? EXIT_FOUND : EXIT_OK;
	for (size_t i = 0; i < L.M.nviol; i++)
		if (strcmp(L.M.viol[i].kind, "target-error") == 0)
			rc = EXIT_USAGE;
	model_free(&L.M);
	free(acc);
out:
	if (L.fixture_dir)
		fixture_rmtree(L.fixture_dir);
	if (L.tls)
		SSL_CTX_free(L.tls);
	for (size_t i = 0; i < L.nfx; i++)
		free(L.fx[i].data);
	free(L.fx);
	free(L.accts);
	free(L.fixture_dir);
	if (L.o.reference)
		reference_stop(&T);
	else
		target_free(&T);
	return rc;
}
