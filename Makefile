# pop3spec — build, test and install the POP3 conformance runner and reference server.
# GNU make. User CFLAGS/LDFLAGS/CPPFLAGS are kept apart from the flags the build needs.

PKG_CONFIG ?= pkg-config
CC         ?= cc
CFLAGS     ?= -O2 -g
LDFLAGS    ?=
PREFIX     ?= /usr/local
prefix     ?= $(PREFIX)
bindir     ?= $(prefix)/bin
sbindir    ?= $(prefix)/sbin
datadir    ?= $(prefix)/share/pop3spec
mandir     ?= $(prefix)/share/man
docdir     ?= $(prefix)/share/doc/pop3spec
libexecdir ?= $(prefix)/libexec
DESTDIR    ?=

VERSION    := 0.1.0
PKGS       := openssl yaml-0.1 libevent libevent_openssl libgsasl jansson
CHECK_PKGS := check

ifeq ($(V),1)
Q :=
else
Q := @
endif

PKG_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS:= $(shell $(PKG_CONFIG) --cflags $(CHECK_PKGS) 2>/dev/null)
CHECK_LIBS  := $(shell $(PKG_CONFIG) --libs $(CHECK_PKGS) 2>/dev/null)

REQ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
               -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
               -Iharness -DPOP3SPEC_VERSION='"$(VERSION)"' \
               -DPOP3SPEC_DATADIR='"$(datadir)"' -DPOP3SPEC_SBINDIR='"$(sbindir)"' $(PKG_CFLAGS)
ALL_CFLAGS  := $(REQ_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LIBS    := $(PKG_LIBS) -lm

BUILD ?= build
BIN   ?= bin
export BIN

LIB_SRC    := $(sort $(wildcard harness/lib/*.c))
SERVER_SRC := $(sort $(wildcard harness/server/*.c))
RUNNER_SRC := $(sort $(wildcard harness/runner/*.c harness/runner/report/*.c harness/runner/stress/*.c harness/runner/client/*.c harness/runner/exec/*.c))
TEST_SRC   := $(sort $(wildcard harness/tests/*.c))
CLIENT_SRC := $(sort $(wildcard harness/client/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_OBJ    := $(call obj,$(LIB_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
RUNNER_OBJ := $(call obj,$(RUNNER_SRC))
TEST_OBJ   := $(call obj,$(TEST_SRC))
# Tests link every module except the two main() files.
SERVER_LIBOBJ := $(filter-out $(BUILD)/harness/server/main.o,$(SERVER_OBJ))
RUNNER_LIBOBJ := $(filter-out $(BUILD)/harness/runner/main.o,$(RUNNER_OBJ))

# The test POP3 client (docs/client-faults.md): bin/pop3client, and bin/pop3client-faults built from the same
# sources with POP3CLIENT_FAULTS in its own object tree, as the fault server is.
CLIENT_OBJ       := $(call obj,$(CLIENT_SRC))
CLIENT_LIBOBJ    := $(filter-out $(BUILD)/harness/client/main.o,$(CLIENT_OBJ))
CLIENT_FAULT_OBJ := $(patsubst %.c,$(BUILD)/cfaults/%.o,$(CLIENT_SRC))

# The fault-injection server: the same sources built with POP3REFD_FAULTS, in its own object tree,
# so the real bin/pop3refd never carries a fault.
FAULT_OBJ  := $(patsubst %.c,$(BUILD)/faults/%.o,$(LIB_SRC) $(SERVER_SRC))

.PHONY: all check unit e2e browser suite run-suite asan tsan valgrind mutation coverage lint fixtures bench bench-smoke fuzz fuzz-pop3 \
        install uninstall clean deps distclean

# `all` writes the generated fixtures too (fixtures/generated: the TLS test CA and certificates, the `large`
# and `thousand` maildrops), so a plain `make` leaves nothing a scenario needs missing. The script is
# idempotent and quick once they exist.
all: $(BIN)/pop3refd $(BIN)/pop3spec fixtures

deps:
	$(Q)./harness/scripts/deps.sh

$(BIN)/pop3refd: $(LIB_OBJ) $(SERVER_OBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BIN)/pop3refd-faults: $(FAULT_OBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BIN)/pop3client: $(LIB_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BIN)/pop3client-faults: $(LIB_OBJ) $(CLIENT_FAULT_OBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/cfaults/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DPOP3CLIENT_FAULTS -MMD -MP -c -o $@ $<

$(BIN)/pop3spec: $(LIB_OBJ) $(RUNNER_OBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BIN)/check_unit: $(TEST_OBJ) $(LIB_OBJ) $(SERVER_LIBOBJ) $(RUNNER_LIBOBJ) $(CLIENT_LIBOBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS) $(CHECK_LIBS)

$(BUILD)/faults/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DPOP3REFD_FAULTS -MMD -MP -c -o $@ $<

$(BUILD)/harness/tests/%.o: harness/tests/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# build/peers holds the unpacked Debian packages of the peer servers (their init.d, conf.d ... folders).
-include $(shell find $(BUILD) -path $(BUILD)/peers -prune -o -name '*.d' -type f -print 2>/dev/null)

# Generated fixtures: TLS CA and certificates, the large message, the 1,000-message maildrop.
fixtures:
	$(Q)./harness/scripts/gen-fixtures.sh

# The README's two commands: each first installs missing Debian packages (deps.sh), then re-enters make
# so pkg-config sees them.
# Build in parallel, then run the test sets one after the other: unit tests, the end-to-end files (E2E_JOBS
# at a time; the ones that measure time run alone: runtests.py; test_runner_cli runs the whole suite against
# pop3refd, which now carries the wire checks the Python tests left: docs/testing.md), the HTML reports.
# E2E_SET picks the end-to-end files (all, asan, valgrind) and BROWSER=no skips the browser test: make asan
# and make valgrind set them (docs/testing.md says what each gate runs and why).
E2E_JOBS ?= 2
E2E_SET  ?= all
BROWSER  ?= yes
check:
	$(Q)./harness/scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all $(BIN)/check_unit fixtures
	$(Q)$(MAKE) --no-print-directory -j1 unit
	$(Q)$(MAKE) --no-print-directory -j1 e2e
	$(Q)[ "$(BROWSER)" = no ] || $(MAKE) --no-print-directory -j1 browser

suite:
	$(Q)./harness/scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory run-suite

unit: $(BIN)/check_unit
	$(Q)CK_DEFAULT_TIMEOUT=30 ./$(BIN)/check_unit

e2e: all $(BIN)/pop3refd-faults $(BIN)/pop3client $(BIN)/pop3client-faults fixtures
	$(Q)E2E_JOBS=$(E2E_JOBS) E2E_SET=$(E2E_SET) ./harness/tests/e2e/run.sh

# The HTML reports in headless Chromium; skipped (exit 77) when chromium is not installed.
browser: all
	$(Q)./harness/tests/browser/test_html.py || [ $$? -eq 77 ]

# The whole conformance suite against the reference server, reports into reports/.
run-suite: all fixtures
	$(Q)./$(BIN)/pop3spec run --reference --html reports/index.html \
	    --junit reports/junit.xml --json reports/results.json scenarios

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin CC=clang E2E_SET=asan BROWSER=no \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" check

# ThreadSanitizer over the runner's threads (the executor's workers, load's clients, client mode at -j 4):
# pop3spec alone is instrumented; the servers and the test client it drives are single-threaded.
tsan: all $(BIN)/pop3client fixtures
	$(Q)$(MAKE) --no-print-directory BUILD=build-tsan BIN=build-tsan/bin CC=clang \
	    CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" LDFLAGS="-fsanitize=thread" build-tsan/bin/pop3spec
	$(Q)BIN=$(BIN) ./harness/scripts/tsan.sh

# libFuzzer targets (harness/fuzz/, docs/fuzzing.md): built with clang into their own tree, each run for
# FUZZ_SECONDS from its committed seed corpus after replaying its committed regression inputs.
# fuzz-smoke is the short run CI makes (8 s a target, about two minutes with the build).
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(REQ_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# expat parses the JUnit output in fuzz_report (a test-only dependency: libexpat1-dev).
FUZZ_LIBS    := $(shell $(PKG_CONFIG) --libs expat 2>/dev/null)
FUZZ_SRC     := $(sort $(wildcard harness/fuzz/fuzz_*.c))
FUZZ_MAINS   := $(filter-out harness/fuzz/fuzz_util.c,$(FUZZ_SRC))
FUZZ_TARGETS := $(patsubst harness/fuzz/%.c,$(FUZZ_BUILD)/bin/%,$(FUZZ_MAINS))
FUZZ_LIBOBJ  := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRC) \
                  $(filter-out harness/server/main.c,$(SERVER_SRC)) \
                  $(filter-out harness/runner/main.c,$(RUNNER_SRC)) harness/fuzz/fuzz_util.c)

.PHONY: fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_TARGETS)

fuzz: fuzz-build
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) ./harness/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) ./harness/fuzz/run.sh 8 $(FUZZ_TARGETS)

# pop3spec fuzz against a fresh pop3refd (docs/stress.md): hostile POP3 input, TLS handshakes in
# fragments and slow clients, each case followed by a fresh login and STAT. At most a minute (50 s of
# cases, the start and the last case's end), exit status 1 on a finding; the seed is printed (and in
# reports/fuzz-pop3.json): FUZZ_POP3_SEED=N replays a run.
FUZZ_POP3_SECONDS ?= 50
FUZZ_POP3_SEED    ?=
.PHONY: fuzz-pop3
fuzz-pop3: $(BIN)/pop3spec $(BIN)/pop3refd fixtures
	$(Q)mkdir -p reports
	$(Q)./$(BIN)/pop3spec fuzz --reference --duration $(FUZZ_POP3_SECONDS) --max-findings 1 \
	    $(if $(FUZZ_POP3_SEED),--seed $(FUZZ_POP3_SEED)) --json reports/fuzz-pop3.json

.PRECIOUS: $(FUZZ_BUILD)/%.o

$(FUZZ_BUILD)/libfuzzall.a: $(FUZZ_LIBOBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/bin/%: $(FUZZ_BUILD)/harness/fuzz/%.o $(FUZZ_BUILD)/libfuzzall.a
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(ALL_LIBS) $(FUZZ_LIBS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

# The whole suite with pop3spec and the reference pop3refd both under valgrind (valgrind-suite.sh), then the
# end-to-end files of E2E_SET=valgrind with every pop3refd they start under valgrind (runtests.py says
# which and why, as does docs/testing.md): any memory error or leak fails.
valgrind: all $(BIN)/pop3refd-faults fixtures
	$(Q)BIN=$(BIN) ./harness/scripts/valgrind-suite.sh
	$(Q)POP3SPEC_VALGRIND=1 E2E_SET=valgrind E2E_JOBS=$(E2E_JOBS) ./harness/tests/e2e/run.sh

mutation: all $(BIN)/pop3refd-faults $(BIN)/pop3client $(BIN)/pop3client-faults fixtures
	$(Q)./harness/scripts/mutation.sh
	$(Q)./harness/scripts/client-mutation.sh

# The suite against every POP3 server Debian 12 ships, each on loopback in a private root from its unpacked
# .debs, gated on its baseline; then one comparison page (harness/peers/, docs/peers/README.md). Slow and
# needs root: not part of check.
PEERS = popa3d solid-pop3d mailutils dovecot courier cyrus
.PHONY: peers dovecot $(addprefix peer-,$(PEERS))
peers: $(BIN)/pop3spec fixtures
	$(Q)./harness/peers/peers.sh $(PEERS)

$(addprefix peer-,$(PEERS)): peer-%: $(BIN)/pop3spec fixtures
	$(Q)./harness/peers/peer-suite.sh $*

dovecot: peer-dovecot

# Each peer started, checked with Python's poplib (reset, USER/PASS, APOP, STLS, implicit TLS), stopped,
# and nothing of it left on the machine.
.PHONY: peers-smoke
peers-smoke: fixtures
	$(Q)./harness/peers/smoke.sh $(PEERS)

# Every shipped real-client profile (fixtures/clients/) through `pop3spec client run`, each gated on
# docs/clients/NAME-baseline.json, every fail/warn explained in docs/clients/reasons.json, then one comparison
# page (harness/scripts/clients-matrix.sh, docs/clients/README.md). Needs fetchmail, mpop, getmail6, curl and
# Net::POP3 installed: not part of check. clients-smoke: poplib and pop3client only, seconds.
CLIENTS = fetchmail mpop getmail6 curl poplib netpop3 pop3client
.PHONY: clients clients-smoke
clients: all $(BIN)/pop3client
	$(Q)./harness/scripts/clients-matrix.sh $(CLIENTS)

clients-smoke: all $(BIN)/pop3client
	$(Q)./harness/scripts/clients-matrix.sh poplib pop3client

coverage: $(BIN)/pop3spec
	$(Q)./$(BIN)/pop3spec coverage scenarios

lint:
	$(Q)./harness/scripts/lint.sh

# Benchmarks (bench/, docs/performance.md): the load driver and the trivial responder are tools of their own,
# built with the same flags; `make bench` prints the table, `make bench-smoke` is the seconds-long CI version.
BENCH_BIN := $(BIN)/bench/loadgen $(BIN)/bench/trivial

$(BIN)/bench/%: bench/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS)

bench: all fixtures $(BENCH_BIN)
	$(Q)./bench/run.sh

bench-smoke: all fixtures $(BENCH_BIN)
	$(Q)./bench/run.sh --smoke

# Everything a run needs, from any working folder: pop3spec in bindir, pop3refd in sbindir (a daemon, page
# in section 8), the suite (scenarios/ with REQUIREMENTS.md and VERSION) and the fixtures (the committed
# maildrops and what `make fixtures` generates, and the client profiles of fixtures/clients/ with their helper
# scripts) in datadir, the test client pop3client in libexecdir/pop3spec (where a profile's {bin} points in an
# installed tree, docs/clients.md), an example target profile in docdir. The
# generated TLS files are left out: a private key that every install shares is no CA anyone should trust;
# `--reference` makes a fresh certificate per run and a target profile names the user's own CA.
# An installed pop3spec also looks beside itself (BIN/../share/pop3spec, BIN/../sbin/pop3refd) before the
# folders compiled in, so a DESTDIR tree works where it lies and a prefix can be moved (docs/install.md).
INSTALL      ?= install
INSTALL_DATA := $(INSTALL) -m 644

install: all $(BIN)/pop3client fixtures
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man8 \
	    $(DESTDIR)$(docdir)/examples $(DESTDIR)$(libexecdir)/pop3spec
	$(INSTALL) -m 755 $(BIN)/pop3spec $(DESTDIR)$(bindir)/pop3spec
	$(INSTALL) -m 755 $(BIN)/pop3client $(DESTDIR)$(libexecdir)/pop3spec/pop3client
	$(INSTALL) -m 755 $(BIN)/pop3refd $(DESTDIR)$(sbindir)/pop3refd
	rm -rf $(DESTDIR)$(datadir)/scenarios $(DESTDIR)$(datadir)/fixtures $(DESTDIR)$(datadir)/docs
	$(INSTALL) -d $(DESTDIR)$(datadir)/fixtures/generated
	cp -R scenarios $(DESTDIR)$(datadir)/scenarios
	cp -R fixtures/maildrops $(DESTDIR)$(datadir)/fixtures/maildrops
	rm -f $(DESTDIR)$(datadir)/fixtures/maildrops/.gitattributes
	for d in fixtures/generated/*; do [ ! -d "$$d" ] || [ "$$d" = fixtures/generated/tls ] || \
	    cp -R "$$d" $(DESTDIR)$(datadir)/fixtures/generated/; done
	cp -R fixtures/clients $(DESTDIR)$(datadir)/fixtures/clients
	$(INSTALL_DATA) docs/examples/target.yaml $(DESTDIR)$(docdir)/examples/target.yaml
	$(INSTALL) -d $(DESTDIR)$(datadir)/docs
	$(INSTALL_DATA) docs/coverage.md $(DESTDIR)$(datadir)/docs/coverage.md
	chmod -R u=rwX,go=rX $(DESTDIR)$(datadir)
	$(INSTALL_DATA) docs/man/pop3spec.1 $(DESTDIR)$(mandir)/man1/pop3spec.1
	$(INSTALL_DATA) docs/man/pop3refd.8 $(DESTDIR)$(mandir)/man8/pop3refd.8

# Removes what install put there (and nothing else: the standard folders stay, even when empty).
uninstall:
	rm -f $(DESTDIR)$(bindir)/pop3spec $(DESTDIR)$(sbindir)/pop3refd
	rm -f $(DESTDIR)$(mandir)/man1/pop3spec.1 $(DESTDIR)$(mandir)/man8/pop3refd.8
	rm -rf $(DESTDIR)$(datadir) $(DESTDIR)$(docdir) $(DESTDIR)$(libexecdir)/pop3spec

clean:
	rm -rf build build-asan bin build-fuzz

distclean: clean
	rm -rf fixtures/generated reports/*.html reports/*.xml reports/*.json
