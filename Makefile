# accelerate — build, install, test and demo.
#
# `make` builds the C module for one Lua (LUA_VERSION, default 5.4) and
# installs nothing; `make install` puts it, the Lua modules, the command,
# its man page and its bash completion under PREFIX (see "Install").
# `make demo` and `make test` are the two commands a new user runs; each
# installs the Debian packages it needs first (see `deps`), so both work on a
# fresh Debian 12 machine as root.  Every interpreter is named explicitly:
# once lua-busted is installed /usr/bin/lua is Lua 5.1.

# ---------------------------------------------------------------------------
# Debian packages.  luajit2/libluajit2-5.1-dev (OpenResty's LuaJIT fork) are
# the ones Debian's libnginx-mod-http-lua and lua-resty-core are built on; the
# plain luajit packages conflict with them.  chromium (headless) and a font
# open the HTML report in spec/html_report_spec.lua and take its screenshot.
# help2man builds the man page from the command's own --help; man-db reads
# it back in spec/completion_spec.lua.  libyajl-dev (yajl 2.1) is the
# streaming JSON parser of src/reduce.c; time (GNU time) measures
# bench/watch's peak RSS.  lua-argparse (for Lua 5.1-5.4) parses the
# command's line and writes its completion scripts.
DEB_PACKAGES = make gcc pkg-config curl ca-certificates openssl \
	lua5.1 lua5.2 lua5.3 lua5.4 \
	liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev \
	luajit2 libluajit2-5.1-dev \
	libcurl4-openssl-dev lua-cjson lua-busted lua-socket luarocks \
	nginx-light libnginx-mod-http-lua lua-resty-core \
	wrk valgrind clang libclang-rt-14-dev bc procps lua-check cppcheck \
	chromium fonts-dejavu-core help2man man-db libyajl-dev time lua-argparse \
	lua-inspect

SHELL = /bin/bash

.PHONY: all deps test check lint test-sim test-ngx test-pkg sim-start sim-stop sim-status bench-sim soak clean \
	install uninstall man completion

# The default target: the C module for LUA_VERSION (build/lua5.4/... by
# default).  No apt-get here: `make deps` (or demo, test) installs packages.
all: build

# Idempotent: asks dpkg first and calls apt-get only for what is missing.
# nginx is wanted as a program (the simulator runs its own, on loopback),
# not as the system's web server: unless the machine already has a policy,
# a temporary policy-rc.d keeps apt from starting it on port 80.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: missing Debian packages:$$missing (run as root, or apt-get install them)" >&2; exit 2; fi; \
	  echo "make deps: installing$$missing" >&2; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; \
	    trap 'rm -f /usr/sbin/policy-rc.d' EXIT; \
	  fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >&2; \
	fi

# ---------------------------------------------------------------------------
# Simulator (sim/): nginx + Lua on 127.0.0.1, port ACCELERATE_SIM_PORT (8083).
sim-start: deps
	@sim/simctl start

sim-stop:
	@sim/simctl stop

# make exits 2 whenever a recipe fails (its only codes are 0, 1 and 2), so
# simctl's 3 for "not running" cannot come through: scripts that need it
# call `sim/simctl status` directly (README, "The simulator").
sim-status:
	@sim/simctl status

bench-sim: deps
	bench/sim-vs-static

# The HTML report of a synthetic 5,000-instance backfill: build time (Lua
# CPU) and render time (headless Chromium).  A benchmark, not a test.
.PHONY: bench-html
bench-html: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	bench/html-report

# Watching a 200,915-instance backfill on the simulator with the command:
# peak RSS, CPU and requests per poll beside a cjson reference measured in
# the same run (~2 minutes; a benchmark, not a test).  BENCH_TREE=DIR
# watches with another checkout's bin/accelerate (the figures before a
# change; its core built with `make -C DIR build`).
.PHONY: bench-watch
bench-watch: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	bench/watch $(if $(BENCH_TREE),--tree $(BENCH_TREE))

# A campaign of 4 backfills of 3,000 instances on the simulator: its list
# requests per poll against a full sweep at every poll (~10 s; a benchmark,
# not a test).  BENCH_TREE=DIR runs the campaign with another checkout's
# lua/ and core (the figures before a change; `make -C DIR build`).
.PHONY: bench-campaign
bench-campaign: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	lua5.4 bench/campaign.lua $(if $(BENCH_TREE),--tree $(BENCH_TREE))

# 100,000 calls on one client, then 1,000 clients created and collected:
# resident memory and descriptors sampled, a verdict printed (~1-2 min).
soak: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	bench/soak

# The C core against a plain libcurl C loop, luasocket + cjson and wrk, on
# the simulator's detail route and on a static nginx answer of the same
# bytes (about 3 minutes; a benchmark, not a test).
.PHONY: bench-core
bench-core: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	bench/core-vs-peers

# accelerate.ngx next to lua-resty-http + cjson in one nginx worker, on the
# same static answer, with wrk at 1 and 16 connections (about 1 minute).
# lua-resty-http is not a Debian package: it is loaded from
# ../shared/peers/lua-resty-http/lib when there; otherwise the bench says
# it skipped.
.PHONY: bench-ngx
bench-ngx: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	@$(MAKE) --no-print-directory build LUA_VERSION=jit
	bench/ngx-vs-resty-http

# ---------------------------------------------------------------------------
# C core (src/): the `accelerate` module, built for one Lua at a time.
#   make build LUA_VERSION=5.1|5.2|5.3|5.4|jit    -> build/lua5.x/ or build/luajit/
#   make build-all | test-core | valgrind-core | asan-core      (DEV=1: -Werror)
# Never linked against liblua: the host interpreter (or nginx) provides it.
# The Lua headers: LUA_INCDIR when given, else pkg-config's flags for that
# Lua (lua5.4.pc, luajit.pc); LUA_ABI is the folder name LuaRocks uses.
LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),jit)
LUA_PC = luajit
LUA_ABI = 5.1
LUA_INTERP = luajit
CORE_DIR = build/luajit
else
LUA_PC = lua$(LUA_VERSION)
LUA_ABI = $(LUA_VERSION)
LUA_INTERP = lua$(LUA_VERSION)
CORE_DIR = build/lua$(LUA_VERSION)
endif
ifdef LUA_INCDIR
LUA_CFLAGS = -I$(LUA_INCDIR)
else
LUA_CFLAGS = $(shell pkg-config --cflags $(LUA_PC))
endif
# Lua 5.4's headers for the sanitizer, fuzzing and cppcheck builds.
LUA54_CFLAGS = $(shell pkg-config --cflags lua5.4)
CORE_VERSIONS = 5.1 5.2 5.3 5.4 jit
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl)
CURL_LIBS ?= $(shell pkg-config --libs libcurl)
# yajl 2.1 (libyajl-dev): the streaming parser that reduces list answers
# for a watch (src/reduce.c).
YAJL_LIBS ?= $(shell pkg-config --libs yajl 2>/dev/null || echo -lyajl)
CFLAGS ?= -O2 -g
LIBFLAG ?= -shared
CORE_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
	-Wall -Wextra
ifeq ($(DEV),1)
CORE_CFLAGS += -Werror -Wshadow -Wpointer-arith -Wcast-align -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wundef -Wvla
endif
CORE_SRC = $(wildcard src/*.c)
CORE_HDR = $(wildcard src/*.h)
CORE_SPECS = $(wildcard spec/accelerate*_spec.lua)
# busted's --lua re-runs itself through an unquoted `sh -c`, where a `;` in
# --lpath splits the command: name the interpreter directly instead.
BUSTED_BIN ?= $(shell command -v busted)
CORE_BUSTED = $(BUSTED_BIN) --output=utfTerminal --lpath='lua/?.lua' --lpath='lua/?/init.lua'
ASAN_DIR = build/asan-lua5.4

.PHONY: build build-all test-core valgrind-core asan-core

build: $(CORE_DIR)/accelerate/core.so

$(CORE_DIR)/accelerate/core.so: $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(CORE_DIR)/accelerate
	@[ -n "$(LUA_CFLAGS)" ] || { echo "make: no Lua headers for $(LUA_PC): set LUA_INCDIR, or make deps" >&2; exit 2; }
	$(CC) $(CORE_CFLAGS) $(CFLAGS) $(LUA_CFLAGS) $(CURL_CFLAGS) $(LIBFLAG) \
		-o $@ $(CORE_SRC) $(CURL_LIBS) $(YAJL_LIBS)

build-all:
	@for v in $(CORE_VERSIONS); do $(MAKE) --no-print-directory build LUA_VERSION=$$v || exit 1; done

# Each interpreter runs the core specs against its own build.
# No `simctl stop-all` trap (it would stop simulators of other spec runs
# sharing build/test-sim): each spec file stops its own in teardown.
test-core: build-all
	@for v in $(CORE_VERSIONS); do \
	  if [ $$v = jit ]; then l=luajit; d=build/luajit; else l=lua$$v; d=build/lua$$v; fi; \
	  echo "== $$l"; \
	  $$l $(CORE_BUSTED) --cpath="$$d/?.so" $(CORE_SPECS) || exit 1; \
	done

# Leaks and invalid accesses under Lua 5.4; only the interpreter's own
# noise is suppressed (spec/accelerate.supp).
valgrind-core: export ACCELERATE_SPEC_SLACK = 4
valgrind-core:
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4 CFLAGS='-O1 -g'
	@valgrind --quiet --leak-check=full --show-leak-kinds=definite \
	  --errors-for-leak-kinds=definite --error-exitcode=99 \
	  --suppressions=spec/accelerate.supp \
	  lua5.4 $(CORE_BUSTED) --cpath='build/lua5.4/?.so' $(CORE_SPECS)

# AddressSanitizer + UndefinedBehaviorSanitizer (leaks included): the module
# and a small Lua 5.4 host (src/tools/lua_asan.c) are built with clang.  The
# host replaces LD_PRELOAD of the runtime, which would leak into the
# simulator's nginx started by the specs.
ASAN_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
asan-core: export ACCELERATE_SPEC_SLACK = 3
asan-core:
	@mkdir -p $(ASAN_DIR)/accelerate
	clang -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
	  $(ASAN_FLAGS) -Wall -Wextra $(LUA54_CFLAGS) $(CURL_CFLAGS) -shared \
	  -o $(ASAN_DIR)/accelerate/core.so $(CORE_SRC) $(CURL_LIBS) $(YAJL_LIBS)
	clang $(ASAN_FLAGS) $(LUA54_CFLAGS) -o $(ASAN_DIR)/lua_asan \
	  src/tools/lua_asan.c -llua5.4
	@ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(ASAN_DIR)/lua_asan $(CORE_BUSTED) --cpath="$(ASAN_DIR)/?.so" $(CORE_SPECS)

# ---------------------------------------------------------------------------
# Install: the C module for one Lua (LUA_VERSION), the Lua modules, the
# command, its man page and its bash completion, under LuaRocks' layout:
#   $(PREFIX)/lib/lua/5.4/accelerate/core.so    $(PREFIX)/share/lua/5.4/accelerate.lua, accelerate/...
#   $(PREFIX)/bin/accelerate                    (#!/usr/bin/env lua5.4, or the LUA_VERSION's interpreter)
#   $(PREFIX)/share/man/man1/accelerate.1       $(PREFIX)/share/bash-completion/completions/accelerate
# With PREFIX=/usr/local Debian's Lua finds the modules as they are; the
# command also finds them under its own prefix (PREFIX/bin/../share/lua).
#   make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage] [LUA_VERSION=5.4]
#   make uninstall (the same variables): removes exactly those files
PREFIX ?= /usr/local
INST_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
INST_LUADIR ?= $(PREFIX)/share/lua/$(LUA_ABI)
INST_BINDIR ?= $(PREFIX)/bin
INST_MANDIR ?= $(PREFIX)/share/man/man1
INST_BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
LUA_MODULES = $(patsubst lua/%,%,$(shell find lua -name '*.lua' | LC_ALL=C sort))
MAN_PAGE = build/man/accelerate.1

# The man page: help2man over the command's own --help and --version, with
# the sections of docs/man/accelerate.h2m (name, description, environment,
# files, examples) and every command's help (docs/man/commands.lua).
man: $(MAN_PAGE)

CLI_DECLARATIONS = $(wildcard lua/accelerate/cli/commands/*.lua) lua/accelerate/cli/declare.lua \
	lua/accelerate/cli/parser.lua lua/accelerate/cli/completion.lua

$(MAN_PAGE): docs/man/accelerate.h2m docs/man/commands.lua $(CLI_DECLARATIONS) src/acc.h \
		| $(CORE_DIR)/accelerate/core.so
	@command -v help2man >/dev/null || { echo "make: help2man is missing (make deps installs it)" >&2; exit 2; }
	@mkdir -p build/man
	$(LUA_INTERP) docs/man/commands.lua >build/man/commands.h2m
	help2man --no-info --no-discard-stderr --section=1 --include=docs/man/accelerate.h2m \
	  --include=build/man/commands.h2m --output=$@ '$(LUA_INTERP) bin/accelerate'

# The bash completion, written by the command from its declarations.
BASH_COMPLETION = build/completion/accelerate.bash
completion: $(BASH_COMPLETION)

$(BASH_COMPLETION): $(CLI_DECLARATIONS) | $(CORE_DIR)/accelerate/core.so
	@mkdir -p build/completion
	$(LUA_INTERP) bin/accelerate completion bash >$@.tmp && mv $@.tmp $@

install: build $(MAN_PAGE) $(BASH_COMPLETION)
	install -d '$(DESTDIR)$(INST_LIBDIR)/accelerate' '$(DESTDIR)$(INST_BINDIR)' \
	  '$(DESTDIR)$(INST_MANDIR)' '$(DESTDIR)$(INST_BASHCOMPDIR)'
	install -m 755 $(CORE_DIR)/accelerate/core.so '$(DESTDIR)$(INST_LIBDIR)/accelerate/core.so'
	@for m in $(LUA_MODULES); do \
	  install -D -m 644 lua/$$m '$(DESTDIR)$(INST_LUADIR)'/$$m || exit 1; \
	done; echo "installed $(words $(LUA_MODULES)) Lua modules under $(DESTDIR)$(INST_LUADIR)"
	sed '1s|.*|#!/usr/bin/env $(LUA_INTERP)|' bin/accelerate >'$(DESTDIR)$(INST_BINDIR)/accelerate'
	chmod 755 '$(DESTDIR)$(INST_BINDIR)/accelerate'
	install -m 644 $(MAN_PAGE) '$(DESTDIR)$(INST_MANDIR)/accelerate.1'
	install -m 644 $(BASH_COMPLETION) '$(DESTDIR)$(INST_BASHCOMPDIR)/accelerate'

# Only what install wrote, then the folders it made that are left empty.
uninstall:
	rm -f '$(DESTDIR)$(INST_LIBDIR)/accelerate/core.so' '$(DESTDIR)$(INST_BINDIR)/accelerate' \
	  '$(DESTDIR)$(INST_MANDIR)/accelerate.1' '$(DESTDIR)$(INST_BASHCOMPDIR)/accelerate'
	@for m in $(LUA_MODULES); do rm -f '$(DESTDIR)$(INST_LUADIR)'/$$m; done
	@for d in $$(printf '%s\n' $(filter-out ./,$(sort $(dir $(LUA_MODULES)))) | LC_ALL=C sort -r) \
	    '$(DESTDIR)$(INST_LIBDIR)/accelerate'; do \
	  case $$d in /*) ;; *) d='$(DESTDIR)$(INST_LUADIR)'/$$d ;; esac; \
	  [ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d"; \
	done

# ---------------------------------------------------------------------------
# Workflows and demo (lua/accelerate/*.lua, bin/accelerate, examples/).
#   make test-workflow   the workflow, journal, report and command specs (Lua 5.4),
#                        the HTML report opened in headless Chromium
#   make demo            a month of backfill on the simulator, its failure
#                        report, and a repair watched to success (~15 s)
# No --lpath/--cpath here: busted --lua re-runs itself through sh without
# quoting, so a ';' in an argument splits the command.  The specs set their
# own paths (lua/, build/lua5.4/).
WORKFLOW_SPECS = spec/util_spec.lua spec/show_spec.lua spec/periods_spec.lua spec/workflow_spec.lua spec/workflow_status_spec.lua \
	spec/workflow_params_spec.lua spec/workflow_plan_spec.lua spec/workflow_repair_spec.lua spec/workflow_watch_spec.lua spec/journal_spec.lua spec/report_spec.lua \
	spec/insight_spec.lua spec/html_report_spec.lua \
	spec/cli_parser_spec.lua spec/cli_config_spec.lua spec/cli_inspect_spec.lua spec/cli_repairs_spec.lua spec/cli_plans_spec.lua \
	spec/cli_listing_spec.lua \
	spec/cli_spec.lua spec/examples_spec.lua spec/secrets_spec.lua \
	spec/campaign_spec.lua spec/campaign_summary_spec.lua spec/cli_campaign_spec.lua spec/metrics_spec.lua \
	spec/campaign_notify_spec.lua

.PHONY: test-workflow demo

# No `simctl stop-all build/test-sim` trap: it would also stop (or, given a
# relative path, un-pid) the simulators of a core spec run in parallel; each
# spec file stops its own simulator in teardown.
test-workflow: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	@busted --lua=lua5.4 --output=utfTerminal $(WORKFLOW_SPECS)

demo: deps
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	@$(MAKE) --no-print-directory build LUA_VERSION=jit
	@examples/demo.sh

# ---------------------------------------------------------------------------
# Fuzzing (fuzz/): libFuzzer targets over the parts of the C core that read
# untrusted input, built with clang together with the module's sources (not
# the .so) under ASan + UBSan, on a Lua 5.4 state each.
#   make fuzz-build                 build/fuzz/decode_fuzz, prepare_fuzz, reduce_fuzz
#   make fuzz FUZZ_SECONDS=60       run each target for its share of the time
# Runs work on a copy of the seed corpora (build/fuzz/corpus/), so they never
# grow the repository.  A crash, sanitizer report, leak, broken invariant or
# input slower than 10 s makes `make fuzz` fail (after the other targets)
# with the path of the input (build/fuzz/crashes/), which then belongs in
# fuzz/corpus/ and spec/accelerate_fuzz_regressions_spec.lua (fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = decode prepare reduce
FUZZ_DIR = build/fuzz
FUZZ_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra $(LUA54_CFLAGS) $(CURL_CFLAGS)
# decode_fuzz includes src/http.c to reach its static header callback
FUZZ_SRC_decode = $(filter-out src/http.c,$(CORE_SRC))
FUZZ_SRC_prepare = $(CORE_SRC)
FUZZ_SRC_reduce = $(CORE_SRC)
FUZZ_MAXLEN_decode = 65536
FUZZ_MAXLEN_prepare = 4096
FUZZ_MAXLEN_reduce = 65536
FUZZ_DICT_decode = fuzz/json.dict
FUZZ_DICT_prepare = fuzz/prepare.dict
FUZZ_DICT_reduce = fuzz/json.dict

.PHONY: fuzz fuzz-build

fuzz-build: deps $(foreach t,$(FUZZ_TARGETS),$(FUZZ_DIR)/$(t)_fuzz)

$(FUZZ_DIR)/%_fuzz: fuzz/%_fuzz.c fuzz/fuzz_common.h $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(FUZZ_DIR)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(CURL_LIBS) $(YAJL_LIBS) -llua5.4 -lm

# Each target gets FUZZ_SECONDS / (number of targets), at least 5 s.
# -detect_leaks=0: the Lua state lives across inputs, so libFuzzer's
# per-input check (malloc and free counts) would run LeakSanitizer on
# almost every input; LeakSanitizer still checks the whole run at exit.
fuzz: fuzz-build
	@secs=$$(( $(FUZZ_SECONDS) / $(words $(FUZZ_TARGETS)) )); [ $$secs -ge 5 ] || secs=5; \
	status=0; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes; \
	  cp -n fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus/$$t/; \
	  case $$t in decode) len=$(FUZZ_MAXLEN_decode); dict=$(FUZZ_DICT_decode);; \
	              reduce) len=$(FUZZ_MAXLEN_reduce); dict=$(FUZZ_DICT_reduce);; \
	              *) len=$(FUZZ_MAXLEN_prepare); dict=$(FUZZ_DICT_prepare);; esac; \
	  echo "== fuzz $$t for $$secs s (corpus $(FUZZ_DIR)/corpus/$$t)"; \
	  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(FUZZ_DIR)/$${t}_fuzz -max_total_time=$$secs -max_len=$$len -timeout=10 \
	    -detect_leaks=0 -rss_limit_mb=2048 -dict=$$dict -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crashes/$$t- \
	    $(FUZZ_DIR)/corpus/$$t 2>&1 | tee $(FUZZ_DIR)/$$t.log | \
	    grep -v -e '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\)' -e '# Uses: ' -e 'ecommended dictionary' ; \
	  rc=$${PIPESTATUS[0]}; \
	  if [ $$rc != 0 ]; then \
	    status=1; \
	    echo "make fuzz: $$t FAILED (exit $$rc): $$(grep -o 'Test unit written to .*' $(FUZZ_DIR)/$$t.log | sed 's/Test unit written to //')" >&2; \
	  fi; \
	done; \
	exit $$status

# ---------------------------------------------------------------------------
# Tests.  Each spec file starts its own simulator (and, for OpenResty, its own
# nginx) on a free loopback port through spec/helpers.lua and stops it by pid
# in teardown; `test` then stops any that a crashed run left behind.  Every
# suite runs even when an earlier one fails; the last line sums them up.
BUSTED = busted --lua=lua5.4 --output=utfTerminal
TEST_SUITES = test-sim test-core test-workflow test-ngx test-pkg

test: deps
	@$(MAKE) --no-print-directory build-all
	@mkdir -p build; : >build/test.log; status=0; \
	for t in $(TEST_SUITES); do \
	  $(MAKE) --no-print-directory $$t 2>&1 | tee -a build/test.log; \
	  [ "$${PIPESTATUS[0]}" = 0 ] || status=1; \
	done; \
	sim/simctl stop-all "$(CURDIR)/build/test-sim" >/dev/null 2>&1; \
	awk '/ success(es)? \/ [0-9]+ failures? \/ [0-9]+ errors? / { p += $$1; f += $$4 + $$7 } \
	  END { printf "make test: %d passed, %d failed\n", p, f }' build/test.log; \
	exit $$status

test-sim:
	@$(BUSTED) spec/sim_spec.lua

# Packaging and documentation: the version and CHANGELOG, the rockspec
# and a LuaRocks install, make install/uninstall, the man page and the
# bash completion, and the documentation's runnable examples.
PKG_SPECS = spec/packaging_spec.lua spec/completion_spec.lua spec/docs_spec.lua

test-pkg:
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	@$(MAKE) --no-print-directory build LUA_VERSION=jit
	@$(MAKE) --no-print-directory man
	@$(BUSTED) $(PKG_SPECS)

# accelerate.ngx inside Debian's nginx (the module built for LuaJIT), the
# conformance table run against both transports, and the runner's live
# page served by nginx and opened in headless Chromium.
test-ngx:
	@$(MAKE) --no-print-directory build LUA_VERSION=jit
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4
	@$(BUSTED) spec/ngx_spec.lua spec/ngx_tls_spec.lua spec/ngx_notify_spec.lua spec/conformance_spec.lua \
	  spec/metrics_ngx_spec.lua spec/runner_spec.lua spec/runner_page_spec.lua

# Memory and undefined-behaviour checks of the C core (valgrind, then
# AddressSanitizer + UBSan + LeakSanitizer).
check: deps
	@$(MAKE) --no-print-directory valgrind-core
	@$(MAKE) --no-print-directory asan-core

# luacheck over every Lua file (.luacheckrc), cppcheck over the C core.
LUA_FILES = $(shell git ls-files '*.lua' 2>/dev/null || find . -name '*.lua' -not -path './build/*') bin/accelerate
lint: deps
	luacheck -q --no-color $(LUA_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --std=c99 --inline-suppr --suppress=toomanyconfigs -I src $(LUA54_CFLAGS) src

clean:
	-sim/simctl stop-all build >/dev/null 2>&1
	rm -rf build
