/* trans.h — the TRANSACTION-state commands of RFC 1939 §5 and §7 (STAT, LIST, RETR, DELE, NOOP, RSET, TOP,
 * UIDL) and QUIT, which enters UPDATE (§6). The command table guarantees the state; handlers validate
 * their arguments fully before acting. */
#ifndef POP3REFD_TRANS_H
#define POP3REFD_TRANS_H

#include "server/command.h"

void cmd_stat(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_list(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_retr(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_dele(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_noop(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_rset(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_top(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_uidl(struct session *s, const struct cmdline *cl, struct result *r);
void cmd_quit(struct session *s, const struct cmdline *cl, struct result *r);

#endif
