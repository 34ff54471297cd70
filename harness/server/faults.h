/* faults.h — fault injection for `make mutation`: deliberate wrong behaviours of pop3refd, each one a bug a
 * real POP3 server could have, switched on with --fault NAME in bin/pop3refd-faults (docs/mutation.md).
 *
 * Faults exist only when POP3REFD_FAULTS is defined (the Makefile's build/faults/ objects). The server
 * reaches them through a handful of seams (below); otherwise each seam is the real function or nothing,
 * fault_on(F) is the constant 0, and no name, description or helper is compiled into bin/pop3refd. */
#ifndef POP3REFD_FAULTS_H
#define POP3REFD_FAULTS_H

/* FAULT(id, name, scope, what the server then does wrong). The scope says which part of the suite can see
 * it: SUITE, the default selection; TIMER, the autologout scenarios (tagged `slow`), which `make mutation`
 * runs with a short --idle-timeout; LOAD, only mail delivered during a session shows it, which no
 * scenario does: `pop3spec load --deliver-every` finds it (make mutation leaves it out). Grouped as
 * docs/mutation.md lists them. */
#define FAULT_LIST(FAULT)                                                                                    \
	/* deletion marks and the UPDATE state (RFC 1939 §5, §6) */                                        \
	FAULT(F_DELE_REMOVES_IMMEDIATELY, "dele-removes-immediately", SUITE,                                 \
	      "DELE removes the message file at once instead of marking it")                                 \
	FAULT(F_DELETE_ON_DROP, "delete-on-drop", SUITE,                                                     \
	      "a connection closed without QUIT enters UPDATE and removes the marked messages")              \
	FAULT(F_RST_AS_UPDATE, "rst-as-update", SUITE,                                                       \
	      "a connection reset (RST) in TRANSACTION is taken as QUIT: marked messages are removed")       \
	FAULT(F_RSET_KEEPS_MARKS, "rset-keeps-marks", SUITE, "RSET answers +OK but unmarks nothing")         \
	FAULT(F_STAT_COUNTS_DELETED, "stat-counts-deleted", SUITE,                                           \
	      "STAT counts and sizes messages marked deleted")                                               \
	FAULT(F_LIST_SHOWS_DELETED, "list-shows-deleted", SUITE,                                             \
	      "LIST without argument lists messages marked deleted")                                         \
	FAULT(F_UIDL_SHOWS_DELETED, "uidl-shows-deleted", SUITE,                                             \
	      "UIDL without argument lists messages marked deleted")                                         \
	FAULT(F_RETR_DELETED_ALLOWED, "retr-deleted-allowed", SUITE,                                         \
	      "RETR of a message marked deleted sends it")                                                   \
	FAULT(F_TOP_DELETED_ALLOWED, "top-deleted-allowed", SUITE,                                           \
	      "TOP of a message marked deleted sends it")                                                    \
	FAULT(F_DELE_TWICE_OK, "dele-twice-ok", SUITE, "DELE of a message already marked gets +OK")          \
	FAULT(F_RETRIEVED_REMOVED, "update-removes-retrieved", SUITE,                                        \
	      "QUIT also removes every message retrieved with RETR (delete-after-download)")                 \
	FAULT(F_QUIT_REMOVES_UNMARKED, "quit-removes-unmarked", SUITE,                                       \
	      "UPDATE removes every message, marked or not")                                                 \
	FAULT(F_QUIT_NO_REMOVE, "quit-no-remove", SUITE,                                                     \
	      "QUIT answers +OK but removes none of the marked messages")                                    \
	FAULT(F_RENUMBER_AFTER_DELE, "renumber-after-dele", SUITE,                                           \
	      "after DELE, message numbers shift down to close the gap")                                     \
	FAULT(F_RESCAN_MID_SESSION, "rescan-mid-session", LOAD,                                              \
	      "every command in TRANSACTION re-reads the maildrop: mail delivered during the session shows " \
	      "up in it, and numbers shift when it sorts first")                                             \
	/* message data and sizes (RFC 1939 §3, §7, §11) */                                               \
	FAULT(F_NO_BYTE_STUFFING, "no-byte-stuffing", SUITE,                                                 \
	      "lines of RETR and TOP that begin with '.' are sent without the extra '.'")                    \
	FAULT(F_BARE_LF, "bare-lf", SUITE, "message lines are sent ending in a bare LF, as stored")          \
	FAULT(F_CRLF_MISSING_ON_TERMINATOR, "crlf-missing-on-terminator", SUITE,                             \
	      "the terminating line of RETR and TOP is \".\" LF, without CR")                                \
	FAULT(F_FINAL_LINE_UNTERMINATED, "final-line-unterminated", SUITE,                                   \
	      "a message stored without a final line end is sent without one, glued to the terminator")      \
	FAULT(F_LONG_LINES_CUT, "long-lines-cut", SUITE,                                                     \
	      "message lines longer than 510 octets are cut (a fixed line buffer)")                          \
	FAULT(F_EIGHT_BIT_STRIPPED, "eight-bit-stripped", SUITE,                                             \
	      "the high bit of every message octet is cleared (a 7-bit channel)")                            \
	FAULT(F_TOP_WRONG_LINE_COUNT, "top-wrong-line-count", SUITE, "TOP n k sends k+1 body lines")         \
	FAULT(F_TOP_IGNORES_HEADER, "top-ignores-header", SUITE,                                             \
	      "TOP n k sends the first k lines of the message, header lines counted")                        \
	FAULT(F_WRONG_OCTET_COUNT, "wrong-octet-count", SUITE,                                               \
	      "sizes are the stored file sizes: a bare-LF line end counts one octet, not two")               \
	FAULT(F_SIZE_COUNTS_STUFFING, "size-counts-stuffing", SUITE,                                         \
	      "sizes count the '.' added by byte-stuffing")                                                  \
	FAULT(F_STAT_SIZE_WRONG, "stat-size-wrong", SUITE,                                                   \
	      "STAT gives the maildrop size rounded up to whole kilobytes")                                  \
	FAULT(F_CR_DOUBLED, "cr-doubled", SUITE,                                                             \
	      "message line ends go out as CR CR LF (a CRLF conversion done twice)")                         \
	/* unique-ids (RFC 1939 §7) */                                                                      \
	FAULT(F_UIDL_UNSTABLE, "uidl-unstable", SUITE, "unique-ids change from one session to the next")     \
	FAULT(F_UIDL_DUPLICATE, "uidl-duplicate", SUITE, "every message gets the unique-id of the first")    \
	FAULT(F_UIDL_TOO_LONG, "uidl-too-long", SUITE, "unique-ids are padded to 80 characters")             \
	FAULT(F_UIDL_HAS_SPACE, "uidl-has-space", SUITE, "unique-ids contain a space")                       \
	FAULT(F_UIDL_REUSED, "uidl-reused", SUITE,                                                           \
	      "the unique-id is the message number, so a removed message's id is reused")                    \
	/* states and logins (RFC 1939 §3, §4, §7; RFC 2449 §8; RFC 3206) */                             \
	FAULT(F_STAT_IN_AUTHORIZATION, "stat-in-authorization", SUITE,                                       \
	      "STAT is answered +OK 0 0 before login")                                                       \
	FAULT(F_USER_AFTER_LOGIN, "user-after-login", SUITE, "USER is answered +OK after login")             \
	FAULT(F_PASS_WITHOUT_USER, "pass-without-user", SUITE,                                               \
	      "PASS without a USER before it is answered +OK (nobody is logged in)")                         \
	FAULT(F_APOP_ANY_DIGEST, "apop-any-digest", SUITE,                                                   \
	      "APOP accepts any well-formed digest for a known user")                                        \
	FAULT(F_APOP_DIGEST_REVERSED, "apop-digest-reversed", SUITE,                                         \
	      "APOP checks MD5(secret + timestamp) instead of MD5(timestamp + secret)")                      \
	FAULT(F_APOP_FIXED_TIMESTAMP, "apop-fixed-timestamp", SUITE,                                         \
	      "every greeting carries the same APOP timestamp, so digests can be replayed")                  \
	FAULT(F_GREETING_NO_TIMESTAMP_BUT_APOP, "greeting-no-timestamp-but-apop", SUITE,                     \
	      "the greeting has no timestamp, yet APOP logs in with a digest of the secret alone")           \
	FAULT(F_NO_LOCK, "no-lock", SUITE, "the maildrop is never locked: two sessions share it")            \
	FAULT(F_LOCK_LEAK_ON_DROP, "lock-leak-on-drop", SUITE,                                               \
	      "a session ended without QUIT never releases its lock")                                        \
	FAULT(F_IN_USE_ON_WRONG_PASSWORD, "in-use-on-wrong-password", SUITE,                                 \
	      "wrong credentials for a busy maildrop get -ERR [IN-USE] (the lock is tried first)")           \
	FAULT(F_AUTH_CODE_MISSING, "auth-code-missing", SUITE,                                               \
	      "failed logins get -ERR without [AUTH], though AUTH-RESP-CODE is announced")                   \
	FAULT(F_IN_USE_CODE_MISSING, "in-use-code-missing", SUITE,                                           \
	      "a busy maildrop gets -ERR [AUTH] instead of [IN-USE]")                                        \
	FAULT(F_USER_REVEALS_UNKNOWN, "user-reveals-unknown", SUITE,                                         \
	      "USER for an unknown name gets -ERR [AUTH] \"no such user\"")                                  \
	/* STLS and TLS (RFC 2595, RFC 8314) */                                                              \
	FAULT(F_STLS_TWICE, "stls-twice", SUITE,                                                             \
	      "STLS is answered +OK again while TLS is active (and no handshake follows)")                   \
	FAULT(F_STLS_AFTER_LOGIN, "stls-after-login", SUITE, "STLS is accepted in TRANSACTION")              \
	FAULT(F_STLS_INJECTION, "stls-injection", SUITE,                                                     \
	      "commands sent after STLS in the same write are run inside TLS (CVE-2011-0411)")               \
	FAULT(F_STLS_KEEPS_USER, "stls-keeps-user", SUITE,                                                   \
	      "a USER given before STLS still lets PASS follow after the handshake")                         \
	FAULT(F_STLS_PLAINTEXT_AFTER_OK, "stls-plaintext-after-ok", SUITE,                                   \
	      "after +OK to STLS the server sends one more cleartext line before the handshake")             \
	FAULT(F_STLS_NOT_ANNOUNCED, "stls-not-announced", SUITE, "CAPA does not list STLS, which works")     \
	FAULT(F_CAPA_STLS_AFTER_LOGIN, "capa-stls-after-login", SUITE,                                       \
	      "CAPA lists STLS after login and after the handshake")                                         \
	FAULT(F_IMPLICIT_TLS_PLAIN_GREETING, "implicit-tls-plain-greeting", SUITE,                           \
	      "on the implicit-TLS port the greeting is sent in cleartext before the handshake")             \
	FAULT(F_NO_CLOSE_NOTIFY, "no-close-notify", SUITE,                                                   \
	      "TLS connections are closed without close_notify")                                             \
	FAULT(F_TLS_1_0_ALLOWED, "tls-1.0-allowed", SUITE, "TLS 1.0 handshakes are accepted")                \
	/* SASL (RFC 5034, RFC 4422, RFC 4616, RFC 4648) */                                                  \
	FAULT(F_AUTH_STAR_NOT_CANCEL, "auth-star-not-cancel", SUITE,                                         \
	      "a \"*\" reply does not cancel AUTH: the server asks again with \"+ \"")                       \
	FAULT(F_AUTH_BAD_BASE64_ACCEPTED, "auth-bad-base64-accepted", SUITE,                                 \
	      "base64 is decoded leniently: junk characters skipped, bad padding repaired")                  \
	FAULT(F_AUTH_TWICE, "auth-twice", SUITE, "AUTH is accepted again after login")                       \
	FAULT(F_AUTH_IR_FOR_SERVER_FIRST, "auth-ir-for-server-first", SUITE,                                 \
	      "an initial response for CRAM-MD5 is ignored instead of refused")                              \
	FAULT(F_SASL_FINAL_IN_OK, "sasl-final-in-ok", SUITE,                                                 \
	      "SCRAM's final server data is put into the +OK line instead of a \"+ \" challenge")            \
	FAULT(F_PLAIN_AUTHZID_IGNORED, "plain-authzid-ignored", SUITE,                                       \
	      "an authorization identity naming another user is ignored: the login succeeds")                \
	FAULT(F_SASL_UNKNOWN_USER_DIFFERS, "sasl-unknown-user-differs", SUITE,                               \
	      "AUTH for an unknown user gets -ERR without [AUTH], unlike a wrong password")                  \
	FAULT(F_SASL_PLAIN_IN_CLEARTEXT, "sasl-plain-in-cleartext", SUITE,                                   \
	      "PLAIN and LOGIN are announced and accepted without TLS")                                      \
	FAULT(F_SASL_LINE_LIMIT_255, "sasl-line-limit-255", SUITE,                                           \
	      "SASL continuation lines are held to the 255-octet command limit")                             \
	FAULT(F_AUTH_MECH_CASE_SENSITIVE, "auth-mech-case-sensitive", SUITE,                                 \
	      "mechanism names are matched case-sensitively")                                                \
	FAULT(F_CONTINUATION_WITHOUT_SPACE, "continuation-without-space", SUITE,                             \
	      "SASL challenges are sent as \"+\" and base64 with no space (\"+\" alone when empty)")         \
	/* UTF-8 and languages (RFC 6856) */                                                                 \
	FAULT(F_UTF8_NO_SASLPREP, "utf8-no-saslprep", SUITE,                                                 \
	      "USER, PASS and APOP names are compared as sent, without SASLprep")                            \
	FAULT(F_UTF8_NON_ASCII_DROPPED, "utf8-non-ascii-dropped", SUITE,                                     \
	      "credentials lose every non-ASCII octet before they are checked, invalid ones included")       \
	FAULT(F_UTF8_MODE_IGNORED, "utf8-mode-ignored", SUITE,                                               \
	      "UTF8 gets +OK, but messages with UTF-8 header fields are still refused with [UTF8]")          \
	FAULT(F_UTF8_RAW_OUTSIDE_MODE, "utf8-raw-outside-mode", SUITE,                                       \
	      "messages with UTF-8 header fields are sent as stored outside UTF-8 mode")                     \
	FAULT(F_UTF8_CODE_FOR_8BIT_BODY, "utf8-code-for-8bit-body", SUITE,                                   \
	      "outside UTF-8 mode any 8-bit message is refused with [UTF8], an 8-bit body alone included")   \
	FAULT(F_UTF8_AFTER_LOGIN, "utf8-after-login", SUITE, "UTF8 is accepted in TRANSACTION")              \
	FAULT(F_CAPA_UTF8_BEFORE_LOGIN_ONLY, "capa-utf8-before-login-only", SUITE,                           \
	      "after login CAPA no longer lists UTF8 and LANG")                                              \
	FAULT(F_LANG_WRONG_TAG, "lang-wrong-tag", SUITE,                                                     \
	      "LANG answers with a POSIX locale name instead of the tag (\"+OK en_US ...\")")                \
	FAULT(F_LANG_LISTING_POSIX_NAMES, "lang-listing-posix-names", SUITE,                                 \
	      "the LANG listing gives POSIX locale names (\"en_US English\") instead of tags")               \
	FAULT(F_LANG_UNMATCHED_OK, "lang-unmatched-ok", SUITE,                                               \
	      "LANG with a range no language matches gets +OK and the default language")                     \
	FAULT(F_LANG_AUTHORIZATION_ONLY, "lang-authorization-only", SUITE, "LANG is refused after login")    \
	/* the autologout timer (RFC 1939 §3) */                                                            \
	FAULT(F_SHORT_AUTOLOGOUT, "short-autologout", TIMER,                                                 \
	      "the autologout timer runs a tenth of the configured time (60 s for the RFC's 10 minutes)")    \
	FAULT(F_AUTOLOGOUT_SENDS_REPLY, "autologout-sends-reply", TIMER,                                     \
	      "the autologout sends -ERR before closing")                                                    \
	FAULT(F_AUTOLOGOUT_UPDATES, "autologout-updates", TIMER,                                             \
	      "the autologout enters UPDATE and removes the marked messages")                                \
	FAULT(F_TIMER_NOT_RESET, "timer-not-reset", TIMER,                                                   \
	      "commands do not restart the autologout timer: it runs from the connection")                   \
	/* PIPELINING (RFC 2449 §6.6) */                                                                    \
	FAULT(F_PIPELINING_DROPS, "pipelining-drops", SUITE,                                                 \
	      "only the first command of a read is run; the rest of the input is thrown away")               \
	FAULT(F_PIPELINING_REORDER, "pipelining-reorder", SUITE,                                             \
	      "with another command waiting, a one-line reply is sent after the next reply")                 \
	/* reply format (RFC 1939 §3, RFC 2449 §4, §9) */                                                 \
	FAULT(F_LOWERCASE_OK, "lowercase-ok", SUITE, "status indicators are sent as +ok and -err")           \
	FAULT(F_STATUS_NO_SPACE, "status-no-space", SUITE,                                                   \
	      "status text follows the indicator without a space (\"+OKready\")")                            \
	FAULT(F_LONG_GREETING, "long-greeting", SUITE, "the greeting line is 600 octets long")               \
	FAULT(F_GREETING_TWO_LINES, "greeting-two-lines", SUITE,                                             \
	      "a second banner line follows the greeting")                                                   \
	FAULT(F_EXTRA_TEXT_AFTER_STAT, "extra-text-after-stat", SUITE,                                       \
	      "STAT answers \"+OK n size messages\"")                                                        \
	FAULT(F_LIST_EXTRA_TEXT, "list-extra-text", SUITE,                                                   \
	      "scan listings carry text after the size (\"1 120 octets\")")                                  \
	FAULT(F_LIST_N_MULTILINE, "list-n-multiline", SUITE, "LIST n answers with a multi-line listing")     \
	FAULT(F_NO_TERMINATOR_ON_EMPTY_LIST, "no-terminator-on-empty-list", SUITE,                           \
	      "LIST and UIDL of an empty maildrop send no terminating \".\"")                                \
	/* CAPA (RFC 2449 §5, §6) */                                                                       \
	FAULT(F_CAPA_LIES, "capa-lies", SUITE, "CAPA announces UIDL, but UIDL gets -ERR")                    \
	FAULT(F_RESP_CODES_NOT_ANNOUNCED, "resp-codes-not-announced", SUITE,                                 \
	      "response codes are sent but RESP-CODES is not announced")                                     \
	FAULT(F_CAPA_TAGS_DROPPED_AFTER_LOGIN, "capa-tags-dropped-after-login", SUITE,                       \
	      "after login CAPA leaves out PIPELINING and TOP")                                              \
	FAULT(F_CAPA_APOP_TAG, "capa-apop-tag", SUITE, "CAPA lists an APOP capability")                      \
	FAULT(F_CAPA_LINE_TOO_LONG, "capa-line-too-long", SUITE,                                             \
	      "the IMPLEMENTATION line of CAPA is 600 octets long")                                          \
	FAULT(F_CAPA_DOUBLE_SPACE, "capa-double-space", SUITE,                                               \
	      "the SASL capability separates mechanisms with two spaces")                                    \
	FAULT(F_CAPA_EMPTY_LINE, "capa-empty-line", SUITE,                                                   \
	      "CAPA has an empty line where a disabled capability was")                                      \
	/* command parsing (RFC 1939 §3, RFC 2449 §4) */                                                   \
	FAULT(F_KEYWORDS_CASE_SENSITIVE, "keywords-case-sensitive", SUITE,                                   \
	      "command keywords are only recognised in upper case")                                          \
	FAULT(F_UNKNOWN_COMMAND_OK, "unknown-command-ok", SUITE, "unknown commands are answered +OK")        \
	FAULT(F_MSGNUM_ATOI, "msgnum-atoi", SUITE,                                                           \
	      "message numbers are read with atoi(): \"1x\", \"+1\" and \" 1\" name message 1")              \
	FAULT(F_TOP_LINECOUNT_ATOI, "top-linecount-atoi", SUITE,                                             \
	      "TOP's line count is read with atol(): a negative count or junk is accepted")                  \
	FAULT(F_ARG_LIMIT_32, "arg-limit-32", SUITE, "arguments longer than 32 characters are refused")      \
	FAULT(F_LINE_LIMIT_128, "line-limit-128", SUITE, "command lines longer than 128 octets are refused") \
	FAULT(F_OVERLONG_LINE_EXECUTED, "overlong-line-executed", SUITE,                                     \
	      "the rest of an over-long command line is run as a command")                                   \
	FAULT(F_NUL_TRUNCATES, "nul-truncates", SUITE,                                                       \
	      "a NUL ends the command: what comes before it is run")                                         \
	/* QUIT and closing (RFC 1939 §4, §6) */                                                           \
	FAULT(F_QUIT_NO_CLOSE, "quit-no-close", SUITE,                                                       \
	      "after QUIT the connection stays open (UPDATE done, the lock released)")                       \
	FAULT(F_QUIT_CLOSES_WITHOUT_REPLY, "quit-closes-without-reply", SUITE,                               \
	      "QUIT closes the connection without sending +OK")                                              \
	/* what one session leaves behind must not reach another (RFC 1939 §4, §6, §7) */                 \
	FAULT(F_AUTHZ_QUIT_UNLOCKS, "authz-quit-unlocks", SUITE,                                             \
	      "a QUIT or a drop in AUTHORIZATION after USER takes away the lock of that user's logged-in "   \
	      "session")                                                                                     \
	FAULT(                                                                                               \
	    F_AUTHZ_QUIT_UPDATES_OTHER, "authz-quit-updates-other", SUITE,                                   \
	    "a QUIT in AUTHORIZATION after USER removes the messages that user's logged-in session marked")  \
	FAULT(                                                                                               \
	    F_USER_OUTLIVES_SESSION, "user-outlives-session", SUITE,                                         \
	    "a USER left pending by a session that ended in AUTHORIZATION lets the next PASS without USER "  \
	    "log in")                                                                                        \
	FAULT(                                                                                               \
	    F_AUTH_OUTLIVES_SESSION, "auth-outlives-session", SUITE,                                         \
	    "an AUTH PLAIN exchange left half-done by a dropped connection goes on in the next connection")  \
	FAULT(F_DROP_LOSES_MESSAGE, "drop-loses-message", SUITE,                                             \
	      "a session that ends without QUIT in TRANSACTION removes the last message it retrieved")       \
	/* CAPA and the response codes agree with what the server does (RFC 2449 §5, §6, §8) */           \
	FAULT(F_CAPA_TOP_UIDL_AFTER_LOGIN_ONLY, "capa-top-uidl-after-login-only", SUITE,                     \
	      "CAPA lists TOP and UIDL only after login")                                                    \
	FAULT(F_CAPA_OMITS_USER, "capa-omits-user", SUITE,                                                   \
	      "CAPA does not list USER, though USER/PASS logs in")                                           \
	FAULT(F_RESP_CODES_AFTER_LOGIN_ONLY, "resp-codes-after-login-only", SUITE,                           \
	      "RESP-CODES is listed only after login, though a busy maildrop gets -ERR [IN-USE] before")     \
	FAULT(F_IN_USE_ON_WRONG_SASL, "in-use-on-wrong-sasl", SUITE,                                         \
	      "AUTH PLAIN with a wrong password for a busy maildrop gets -ERR [IN-USE]")

#include <stddef.h>
#include <stdio.h>
#include "lib/err.h"
#include "lib/multiline.h"

/* ---- the seams ----------------------------------------------------------------------------------------
 * The server reaches the fault build only through these few calls; in the real server each is the real
 * function or nothing (below). Everything a fault does lives in faults.c:
 *   fault_run_line      every line the client sends: an overlay on the command table (a fault changes the
 *                       states a command is allowed in, rewrites its arguments, or wraps its handler: STAT,
 *                       LIST, UIDL, RETR, TOP, DELE, RSET, QUIT, USER, PASS, APOP, STLS, AUTH, CAPA with its
 *                       finished list, UTF8, LANG) and the faults of the input itself and of SASL lines;
 *   fault_format        the formatting of every reply (status indicator, codes, continuations, held
 *                       replies, what STLS leaves behind);
 *   fault_event         the session's life: accept, greeting, idle timer, TLS up, drop, reset, autologout,
 *                       the end of the session; the cut of a long line and the TLS close;
 *   fault_line_max      how long a command line may be;
 *   fault_stream_begin, fault_stream_output   the message data of RETR and TOP;
 *   fault_adjust_maildir, fault_skip_lock     sizes and unique-ids after the store's scan; whether the
 *                                             store takes the maildrop's lock at login;
 *   fault_server_start  the server's settings once they are read (autologout, TLS versions).
 * A few faults stay at the one line that decides them (a credential comparison, a SASL callback), written
 * `fault_on(F_NAME)`. */
struct session;
struct result;
struct server;
struct stream;
struct maildir;

/* Session events (fault_event). The ones marked "1:" are questions: 1 means the fault build did the
 * thing itself, or the session must not do it. */
enum fault_ev {
	FE_ACCEPT,       /* a connection was accepted (before any transport is set up) */
	FE_GREETING,     /* 1: the fault build sent the greeting (s->timestamp is set, and may be changed) */
	FE_TOUCH,        /* 1: do not restart the autologout timer */
	FE_REPLIED,      /* a reply (and its body) was queued */
	FE_OVERLONG,     /* 1: run the rest of an over-long line instead of discarding it */
	FE_CLOSE_NOTIFY, /* 1: close TLS without close_notify */
	FE_TLS_UP,       /* the TLS handshake finished */
	FE_DROP,         /* the client closed the connection (EOF) */
	FE_RESET,        /* the connection failed (RST) */
	FE_IDLE,         /* the autologout fires, before the session is freed */
	FE_FREE          /* the session is being freed */
};

#ifdef POP3REFD_FAULTS

#define FAULT_ENUM(id, name, scope, what) id,
enum fault { FAULT_LIST(FAULT_ENUM) FAULT_COUNT };
#undef FAULT_ENUM

extern unsigned char fault_active[FAULT_COUNT];
#define fault_on(f) (fault_active[(f)] != 0)

/* Switch on the fault called `name`: 0, or -1 with err saying how to see the names. */
int fault_enable(const char *name, struct p3err *err);
/* Print every fault, one a line: "NAME<TAB>SCOPE<TAB>what it does" (SCOPE is suite or timer). */
void fault_print_list(FILE *out);
/* Names of the enabled faults, comma-separated, for the start-up log line ("none" when none). */
const char *fault_enabled_names(void);

/* The seams (see above). */
void fault_run_line(struct session *s, const char *line, size_t len, int flags, struct result *r);
size_t fault_format(struct session *s, const struct result *r, char *buf, size_t size);
int fault_event(struct session *s, enum fault_ev ev);
size_t fault_line_max(const struct session *s, size_t max);
void fault_stream_begin(struct stream *st, const char *path, long *body_lines);
void fault_stream_output(struct stream *st, int finish, ml_emit_fn *fn, void **ctx);
void fault_adjust_maildir(struct maildir *md);
int fault_skip_lock(const char *user);
int fault_server_start(struct server *srv, struct p3err *err);

#else

/* The real server: no fault exists, not even its name (the enum is not declared, so it is not in the
 * debug information either); each seam is the real function or nothing, and a branch on fault_on() is
 * dead code the compiler drops. */
#define fault_on(f)                              0
#define fault_run_line(s, line, len, flags, r)   session_run_line((s), (line), (len), (flags), (r))
#define fault_format(s, r, buf, size)            reply_format((r), (buf), (size))
#define fault_event(s, ev)                       0
#define fault_line_max(s, max)                   (max)
#define fault_stream_begin(st, path, body_lines) ((void)0)
#define fault_stream_output(st, finish, fn, ctx) ((void)0)
#define fault_adjust_maildir(md)                 ((void)0)
#define fault_skip_lock(user)                    0
#define fault_server_start(srv, err)             0

#endif

#endif
