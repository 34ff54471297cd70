# pop3spec — build, test and install the POP3 conformance runner and reference server.
# GNU make. User CFLAGS/LDFLAGS/CPPFLAGS are kept apart from the flags the build needs.

PKG_CONFIG ?= pkg-config
CC         ?= cc
CFLAGS     ?= -O2 -g
LDFLAGS    ?=
PREFIX     ?= /usr/local
prefix     ?= $(PREFIX)
bindir     ?= $(prefix)/bin
datadir    ?= $(prefix)/share/pop3spec
mandir     ?= $(prefix)/share/man
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
               -DPOP3SPEC_DATADIR='"$(datadir)"' $(PKG_CFLAGS)
ALL_CFLAGS  := $(REQ_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LIBS    := $(PKG_LIBS) -lm

BUILD ?= build
BIN   ?= bin
export BIN

LIB_SRC    := $(sort $(wildcard harness/lib/*.c))
SERVER_SRC := $(sort $(wildcard harness/server/*.c))
RUNNER_SRC := $(sort $(wildcard harness/runner/*.c harness/runner/report/*.c))
TEST_SRC   := $(sort $(wildcard harness/tests/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_OBJ    := $(call obj,$(LIB_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
RUNNER_OBJ := $(call obj,$(RUNNER_SRC))
TEST_OBJ   := $(call obj,$(TEST_SRC))
# Tests link every module except the two main() files.
SERVER_LIBOBJ := $(filter-out $(BUILD)/harness/server/main.o,$(SERVER_OBJ))
RUNNER_LIBOBJ := $(filter-out $(BUILD)/harness/runner/main.o,$(RUNNER_OBJ))

# The fault-injection server: the same sources built with POP3REFD_FAULTS, in its own object tree,
# so the real bin/pop3refd never carries a fault.
FAULT_OBJ  := $(patsubst %.c,$(BUILD)/faults/%.o,$(LIB_SRC) $(SERVER_SRC))

.PHONY: all check unit e2e browser suite run-suite asan valgrind mutation coverage lint fixtures bench fuzz \
        install uninstall clean deps distclean

all: $(BIN)/pop3refd $(BIN)/pop3spec

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

$(BIN)/pop3spec: $(LIB_OBJ) $(RUNNER_OBJ)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BIN)/check_unit: $(TEST_OBJ) $(LIB_OBJ) $(SERVER_LIBOBJ) $(RUNNER_LIBOBJ)
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

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Generated fixtures: TLS CA and certificates, the large message, the 1,000-message maildrop.
fixtures:
	$(Q)./harness/scripts/gen-fixtures.sh

# The README's two commands: each first installs missing Debian packages (deps.sh), then re-enters make
# so pkg-config sees them.
# Build in parallel, then run the test sets one after the other: run side by side on two cores (and under
# ASan) their timing-sensitive parts would only measure the machine.
check:
	$(Q)./harness/scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all $(BIN)/check_unit fixtures
	$(Q)$(MAKE) --no-print-directory -j1 unit
	$(Q)$(MAKE) --no-print-directory -j1 e2e
	$(Q)$(MAKE) --no-print-directory -j1 browser

suite:
	$(Q)./harness/scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory run-suite

unit: $(BIN)/check_unit
	$(Q)CK_DEFAULT_TIMEOUT=30 ./$(BIN)/check_unit

e2e: all fixtures
	$(Q)./harness/tests/e2e/run.sh

# The HTML reports in headless Chromium; skipped (exit 77) when chromium is not installed.
browser: all
	$(Q)./harness/tests/browser/test_html.py || [ $$? -eq 77 ]

# The whole conformance suite against the reference server, reports into reports/.
run-suite: all fixtures
	$(Q)./$(BIN)/pop3spec run --reference --html reports/index.html \
	    --junit reports/junit.xml --json reports/results.json scenarios

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin CC=clang \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" check

# The end-to-end tests with every pop3refd under valgrind, then the whole suite with pop3spec under valgrind:
# any memory error or leak fails.
valgrind: all fixtures
	$(Q)POP3SPEC_VALGRIND=1 ./harness/tests/e2e/run.sh
	$(Q)valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	    ./$(BIN)/pop3spec run --reference -q -j 2 scenarios

mutation: all $(BIN)/pop3refd-faults fixtures
	$(Q)./harness/scripts/mutation.sh

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

coverage: $(BIN)/pop3spec
	$(Q)./$(BIN)/pop3spec coverage scenarios

lint:
	$(Q)./harness/scripts/lint.sh

bench: all fixtures
	$(Q)./bench/run.sh

install: all
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(datadir)
	install -m 755 $(BIN)/pop3refd $(BIN)/pop3spec $(DESTDIR)$(bindir)
	cp -R scenarios $(DESTDIR)$(datadir)/
	if [ -d docs/man ]; then install -d $(DESTDIR)$(mandir)/man1 && \
	    install -m 644 docs/man/*.1 $(DESTDIR)$(mandir)/man1; fi

uninstall:
	rm -f $(DESTDIR)$(bindir)/pop3refd $(DESTDIR)$(bindir)/pop3spec
	rm -rf $(DESTDIR)$(datadir)
	rm -f $(DESTDIR)$(mandir)/man1/pop3refd.1 $(DESTDIR)$(mandir)/man1/pop3spec.1

clean:
	rm -rf build build-asan bin

distclean: clean
	rm -rf fixtures/generated reports/*.html reports/*.xml reports/*.json
