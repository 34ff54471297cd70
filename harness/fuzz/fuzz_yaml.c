/* fuzz_yaml.c — libFuzzer target: the runner's YAML loaders on arbitrary files, the input a scenario author
 * or a target profile author writes. The first input octet chooses: 0 a scenario (load_scenario_mem, with the
 * suite's REQUIREMENTS.md so requirement ids are checked against it too), 1 a target profile (target_load),
 * 2 a scenario read from a file (load_scenario_file), 3 load_sniff. Files are written to a temporary folder.
 * Checks: no sanitizer report, no leak, and a load either succeeds or returns -1 with a non-empty message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "runner/load.h"
#include "runner/requirements.h"
#include "runner/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			fprintf(stderr, "fuzz_yaml: %s (line %d)\n", #c, __LINE__);                          \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

static const char *dir;
static struct reqs reqs;
static int have_reqs;

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f);
	CHECK(fwrite(p, 1, n, f) == n);
	CHECK(fclose(f) == 0);
}

static void setup(void)
{
	char p[512];
	struct p3err err;

	dir = fz_tmpdir("yaml");
	snprintf(p, sizeof p, "%s/scenarios/REQUIREMENTS.md", fz_root());
	have_reqs = reqs_load(p, &reqs, &err) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct load_opts o = {0};
	struct p3err err = {0};
	char path[512];
	int rc = 0;

	if (!dir)
		setup();
	if (size == 0 || size > 65536)
		return 0;
	o.reqs = have_reqs ? &reqs : NULL;
	switch (data[0] & 3) {
	case 0: {
		struct scenario *sc = NULL;
		snprintf(path, sizeof path, "%s/x.yaml", dir);
		rc = load_scenario_mem(path, (const char *)data + 1, size - 1, &o, &sc, &err);
		CHECK(rc == 0 ? sc != NULL : sc == NULL);
		scenario_free(sc);
		break;
	}
	case 1: {
		struct target t;
		memset(&t, 0, sizeof t);
		snprintf(path, sizeof path, "%s/target.yaml", dir);
		write_file(path, data + 1, size - 1);
		rc = target_load(path, &t, &err);
		if (rc == 0)
			target_free(&t);
		break;
	}
	case 2: {
		struct scenario *sc = NULL;
		snprintf(path, sizeof path, "%s/file.yaml", dir);
		write_file(path, data + 1, size - 1);
		rc = load_scenario_file(path, &o, &sc, &err);
		CHECK(rc == 0 ? sc != NULL : sc == NULL);
		scenario_free(sc);
		break;
	}
	case 3: {
		enum load_kind kind;
		snprintf(path, sizeof path, "%s/sniff.yaml", dir);
		write_file(path, data + 1, size - 1);
		rc = load_sniff(path, &kind, &err);
		break;
	}
	}
	if (rc != 0)
		CHECK(err.msg[0] != '\0');
	return 0;
}
