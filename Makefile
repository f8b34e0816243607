# Solidis — plain GNU make. `make run` and `make test` are the two commands a
# newcomer needs; both install missing Debian packages first (make deps).

CC ?= cc
PKGS := libevent libevent_pthreads sqlite3 hiredis libcurl libzstd zlib msgpack
CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Werror -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
OPT ?= -O2
CFLAGS ?=
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

BUILD ?= build
BIN ?= bin

# replication/tool.c is the `solidis` command-line tool (restore, replicas);
# the rest of replication/ is linked into both it and the server.
REPL_TOOL_SRC := replication/tool.c
REPL_SERVER_ONLY := replication/repl.c replication/replica.c
SERVER_SRC := $(wildcard server/*.c) $(wildcard cache/*.c) $(wildcard queue/*.c) $(wildcard pubsub/*.c) \
              $(filter-out $(REPL_TOOL_SRC),$(wildcard replication/*.c))
REPL_LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(REPL_TOOL_SRC) $(REPL_SERVER_ONLY),$(wildcard replication/*.c)))
SERVER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(SERVER_SRC))
LIB_OBJ := $(filter-out $(BUILD)/server/main.o,$(SERVER_OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BIN)/unit/%,$(UNIT_SRC))

# Debian packages the build, the tests and the benchmarks need.
DEB_PACKAGES := build-essential pkg-config libevent-dev libsqlite3-dev sqlite3 libhiredis-dev libmsgpack-dev \
                libcmocka-dev libcurl4-openssl-dev libzstd-dev zlib1g-dev redis-server redis-tools python3-redis \
                python3-pytest python3-rq
# Node.js runs the S3-compatible test server (s3rver) and the ioredis client
# test; both come from the npm registry, installed into the git-ignored
# tests/node_modules by `make npm-deps`.
NODE_PACKAGES := nodejs npm
NPM_TEST_PACKAGES := s3rver@3.7.1 ioredis@5.11.1
S3RVER := tests/node_modules/.bin/s3rver
IOREDIS := tests/node_modules/ioredis/package.json

.PHONY: all run test unit integration asan bench deps npm-deps clean

all: $(BIN)/solidis-server $(BIN)/solidis $(BIN)/test-hiredis-pipeline $(BIN)/test-target-probe $(BIN)/solidis-jobs $(BIN)/solidis-jobload $(BIN)/solidis-pubload

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -MMD -MP -c $< -o $@

$(BIN)/solidis-server: $(SERVER_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/solidis: $(BUILD)/$(REPL_TOOL_SRC:.c=.o) $(REPL_LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/test-hiredis-pipeline: tests/integration/hiredis_pipeline.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $< -lhiredis

# Drives one replica target (file:// or s3://) for tests/integration/test_target_s3.py.
$(BIN)/test-target-probe: tests/integration/target_probe.c $(REPL_LIB_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Job-queue worker library + CLI, and the job-queue load tool (hiredis clients).
$(BIN)/solidis-jobs: $(wildcard clients/c/*.c) $(wildcard clients/c/*.h)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $(filter %.c,$^) -lhiredis -lpthread

$(BIN)/solidis-jobload: tests/bench/jobload.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $< -lhiredis -lpthread

$(BIN)/solidis-pubload: tests/bench/pubload.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $< -lhiredis -lpthread

$(BIN)/unit/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(BIN)/unit
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -MMD -MP -MT $@ -MF $@.d -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka

-include $(SERVER_OBJ:.o=.d) $(BUILD)/$(REPL_TOOL_SRC:.c=.d) $(UNIT_BIN:=.d)

# Install only what is missing (needs root or sudo on a fresh Debian machine).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Node.js + npm may come from Debian or be on the machine already; then the
# test-only npm packages, into tests/node_modules (git-ignored).
npm-deps: deps
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "Installing Debian packages: $(NODE_PACKAGES)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(NODE_PACKAGES); \
	fi
	@# All in one npm install: a later `npm install --no-save` prunes what an earlier one added.
	@[ -x $(S3RVER) ] && [ -f $(IOREDIS) ] || \
	  npm install --no-save --no-audit --no-fund --loglevel=error --prefix tests $(NPM_TEST_PACKAGES)

run: deps
	@$(MAKE) --no-print-directory all
	./$(BIN)/solidis-server --port 6379 --bind 127.0.0.1 --dir ./data

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ./$$t; done

integration: all
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

test: deps npm-deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory integration

# The whole suite under AddressSanitizer + UBSan, in a separate build tree.
asan: deps npm-deps
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin-asan OPT="-O1" \
	  CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  SOLIDIS_BIN=$(CURDIR)/bin-asan/solidis-server /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

bench: deps all
	bash tests/bench/bench.sh
	bash tests/bench/repl_bench.sh

clean:
	rm -rf build build-asan bin bin-asan
