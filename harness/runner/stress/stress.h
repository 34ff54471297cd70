/* stress.h — the stress commands main() dispatches to: `pop3spec load` (concurrent sessions checked against
 * a model of every maildrop), `pop3spec fuzz` (hostile input, then a liveness check) and the merge of
 * their JSON summaries (docs/stress.md). Each parses its own
 * options and returns the process exit status (0 nothing found, 1 a violation, 2 usage or target errors). */
#ifndef POP3SPEC_STRESS_H
#define POP3SPEC_STRESS_H

int stress_load_main(int argc, char **argv);
int stress_fuzz_main(int argc, char **argv);

/* Whether the JSON file at path is a load or fuzz summary (its "mode" is "load" or "fuzz"). */
int stress_is_load_json(const char *path);
/* `report --merge` for stress summaries (argv: the words after `report`): load summaries joined exactly
 * (counts added, histograms merged bucket by bucket), fuzz summaries by adding cases and concatenating
 * findings; --json FILE writes the result. Returns the exit status. */
int stress_merge_main(int argc, char **argv);

#endif
