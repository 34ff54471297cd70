/* stress.h — the stress commands main() dispatches to: `pop3spec load` (concurrent sessions checked against
 * a model of every maildrop) and the merge of their JSON summaries (docs/stress.md). Each parses its own
 * options and returns the process exit status (0 nothing found, 1 a violation, 2 usage or target errors). */
#ifndef POP3SPEC_STRESS_H
#define POP3SPEC_STRESS_H

int stress_load_main(int argc, char **argv);
int stress_fuzz_main(int argc, char **argv);

/* Whether the JSON file at path is a load summary (its "mode" is "load"). */
int stress_is_load_json(const char *path);
/* Join load summaries exactly (counts added, histograms merged bucket by bucket) into `out` ("-": stdout),
 * or print the merged summary when out is NULL. */
int stress_merge_main(int argc, char **argv);

#endif
