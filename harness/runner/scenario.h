/* scenario.h — the in-memory model of a scenario: metadata, steps, expectations. The loader builds it from
 * YAML (docs/scenario-language.md); the executor runs it. Strings are length-counted where they may hold
 * NUL (raw bytes); everything is owned by the scenario and freed by scenario_free(). */
#ifndef POP3SPEC_SCENARIO_H
#define POP3SPEC_SCENARIO_H

#include <stddef.h>
#include <stdbool.h>

/* A position in a source file, for messages "file:line:column: ...". */
struct src_pos {
	const char *file; /* owned by the scenario (scenario.file) */
	int line, column; /* 1-based */
};

/* A string as written in the scenario, before ${...} interpolation. May hold NUL octets. */
struct sstr {
	char *s;
	size_t len;
};

enum level { LEVEL_MUST, LEVEL_SHOULD, LEVEL_MAY };
const char *level_name(enum level l);

enum status_want { WANT_UNSET, WANT_OK, WANT_ERR, WANT_ANY, WANT_CONT };

struct capture {
	char *name;
	char *regex;
};

/* One expected response (docs: Expectations). Unset fields are not checked. */
struct expect {
	struct src_pos pos;
	enum status_want status;
	char *code; /* required response code without brackets, "none" for none; NULL: unchecked */
	char *not_code;
	char *match, *not_match; /* regexes on the first line */
	bool multiline;
	struct sstr count;  /* interpolated then parsed as an integer; s == NULL: unchecked */
	struct sstr octets; /* the body's size as sent (RFC 1939 §11: CRLF line ends, no stuffing) */
	char **lines;       /* regex per body line */
	size_t nlines;
	bool lines_set; /* `lines: []` means "no body lines" */
	char *each_line, *contains, *not_contains;
	struct sstr message;     /* fixture message number (interpolated) */
	struct sstr top_message; /* `top: {message, lines}` */
	struct sstr top_lines;
	struct capture *captures;
	size_t ncaptures;
	struct capture *line_captures; /* `capture_line`: the first body line matching each regex */
	size_t nline_captures;
	bool icase; /* every regex of this expectation ignores case (RFC 2449 §5 tags) */
	char *capture_body;
	int closes;            /* -1 unchecked, 0 must stay open (unused), 1 must close */
	bool close_notify;     /* with closes: a TLS session's close must bring close_notify (R8314-TLS-3) */
	double silent_for;     /* seconds; 0: unchecked */
	int handshake;         /* -1 unchecked, 0 must fail, 1 must succeed */
	struct expect *one_of; /* alternatives; when non-NULL the fields above are ignored */
	size_t n_one_of;
	int level;      /* -1: the scenario's level; else enum level */
	char *ref;      /* requirement id this expectation checks */
	double timeout; /* seconds; 0: the step's */
};

/* What each kind means is its row of step_kinds[] (step_kinds.h). */
enum step_kind {
	STEP_CONNECT,
	STEP_SEND,
	STEP_RAW,
	STEP_READ,
	STEP_LOGIN,
	STEP_AUTH,
	STEP_STARTTLS,
	STEP_EXPECT_CLOSE,
	STEP_DROP,
	STEP_SLEEP,
	STEP_FIND,
	STEP_ASSERT,
	STEP_KINDS /* the number of kinds */
};
/* The action key of the kind ("send"). */
const char *step_kind_name(enum step_kind k);

enum drop_mode { DROP_FIN, DROP_RST, DROP_HALF };
/* LOGIN_OFFERED (`login: {}`): USER/PASS, or where the target offers no USER, APOP or SASL (exec.h). */
enum login_method { LOGIN_USER, LOGIN_APOP, LOGIN_PLAIN, LOGIN_OFFERED };
/* `tls:` of login and auth: follow the target profile's login_tls (zero, the default), or say it. */
enum tls_first { TLS_FIRST_TARGET = 0, TLS_FIRST_YES, TLS_FIRST_NO };
enum assert_op {
	ASSERT_EQUAL,
	ASSERT_NOT_EQUAL,
	ASSERT_MATCH,
	ASSERT_NOT_MATCH,
	ASSERT_SUBSET,
	ASSERT_DISTINCT,
	ASSERT_LE,
	ASSERT_GE,
	ASSERT_LT,
	ASSERT_GT
};
enum cond_op { COND_NONE, COND_EQUAL, COND_NOT_EQUAL };

struct step {
	struct src_pos pos;
	enum step_kind kind;
	char *session; /* "main" when not given */
	char *note;
	enum cond_op when_op;
	struct sstr when_a, when_b;

	/* The expectations: none (n_expect == 0) means the action's default. */
	struct expect *expect;
	size_t n_expect;

	union {
		struct {
			bool tls;                        /* implicit TLS on tls_port */
			bool read_greeting;              /* default true */
			char *min_version, *max_version; /* "1.0".."1.3" or NULL */
			char *ciphers;
			int verify; /* -1: the target's tls_verify */
		} connect;
		struct sstr text; /* SEND (without CRLF), RAW (exact bytes) */
		struct {
			enum login_method method;
			int account;        /* 1 or 2 */
			enum tls_first tls; /* whether STLS comes first (the target's login_tls by default) */
		} login;
		struct {
			char *mechanism;
			int account;
			struct sstr password; /* s == NULL: the account's */
			struct sstr authzid;
			int initial;        /* -1 default (mechanism decides), 0 no, 1 yes */
			enum tls_first tls; /* as login.tls */
		} auth;
		struct {
			struct sstr
			    inject;     /* octets sent after STLS CRLF in the same write; s == NULL: none */
			double quiet;   /* seconds nothing may arrive after the handshake; 0: unchecked */
			bool for_login; /* only where the target's login_tls sends logins over TLS */
		} starttls;
		struct {
			double within; /* seconds; 0: the step timeout */
			bool silent;
		} close;
		enum drop_mode drop;
		struct sstr sleep; /* seconds, interpolated */
		struct {
			struct sstr message; /* fixture message number */
			char *as;
		} find;
		struct {
			enum assert_op op;
			struct sstr a, b; /* for SUBSET/DISTINCT: capture names */
			char **ignore;
			size_t nignore;
			char *infinite; /* LE..GT: a word greater than every integer ("NEVER"), or NULL */
			char *ref;
		} assert_;
	} u;
};

struct scenario {
	char *file; /* path it was loaded from */
	char *id;
	char *title;
	char *description;
	char **refs;
	size_t nrefs;
	enum level level;
	char **tags;
	size_t ntags;
	char *fixture, *fixture2; /* NULL when none */
	bool modifies;
	char **requires;
	size_t nrequires;
	double timeout; /* seconds; 0: the run's */
	struct step *steps;
	size_t nsteps;
	/* Added by the loader (load.c): where `id:` was written. */
	struct src_pos id_pos;
	/* A client scenario's own part (runner/client/client.h), freed by client_free; NULL otherwise. */
	void *client;
	void (*client_free)(void *);
};

bool scenario_has_tag(const struct scenario *sc, const char *tag);
/* Whether running it changes a maildrop: a fixture, or modifies: true. */
bool scenario_needs_reset(const struct scenario *sc);
void scenario_free(struct scenario *sc);

#endif
