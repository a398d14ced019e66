# accelerate — build, test and demo.
#
# `make demo` and `make test` are the two commands a new user runs; each
# installs the Debian packages it needs first (see `deps`), so both work on a
# fresh Debian 12 machine as root.  Every interpreter is named explicitly:
# once lua-busted is installed /usr/bin/lua is Lua 5.1.

# ---------------------------------------------------------------------------
# Debian packages.  luajit2/libluajit2-5.1-dev (OpenResty's LuaJIT fork) are
# the ones Debian's libnginx-mod-http-lua and lua-resty-core are built on; the
# plain luajit packages conflict with them.
DEB_PACKAGES = make gcc pkg-config curl ca-certificates openssl \
	lua5.1 lua5.2 lua5.3 lua5.4 \
	liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev \
	luajit2 libluajit2-5.1-dev \
	libcurl4-openssl-dev lua-cjson lua-busted lua-socket luarocks \
	nginx-light libnginx-mod-http-lua lua-resty-core \
	wrk valgrind clang

.PHONY: all deps test test-sim sim-start sim-stop sim-status bench-sim clean

all: deps

# Idempotent: asks dpkg first and calls apt-get only for what is missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: missing Debian packages:$$missing (run as root, or apt-get install them)" >&2; exit 2; fi; \
	  echo "make deps: installing$$missing" >&2; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >&2; \
	fi

# ---------------------------------------------------------------------------
# Simulator (sim/): nginx + Lua on 127.0.0.1, port ACCELERATE_SIM_PORT (8083).
sim-start: deps
	@sim/simctl start

sim-stop:
	@sim/simctl stop

sim-status:
	@sim/simctl status

bench-sim: deps
	bench/sim-vs-static

# ---------------------------------------------------------------------------
# C core (src/): the `accelerate` module, built for one Lua at a time.
#   make build LUA_VERSION=5.1|5.2|5.3|5.4|jit    -> build/lua5.x/ or build/luajit/
#   make build-all | test-core | valgrind-core | asan-core      (DEV=1: -Werror)
# Never linked against liblua: the host interpreter (or nginx) provides it.
LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),jit)
LUA_INCDIR ?= /usr/include/luajit-2.1
CORE_LUA ?= luajit
CORE_DIR = build/luajit
else
LUA_INCDIR ?= /usr/include/lua$(LUA_VERSION)
CORE_LUA ?= lua$(LUA_VERSION)
CORE_DIR = build/lua$(LUA_VERSION)
endif
CORE_VERSIONS = 5.1 5.2 5.3 5.4 jit
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl)
CURL_LIBS ?= $(shell pkg-config --libs libcurl)
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
CORE_BUSTED = busted --output=utfTerminal --lpath='lua/?.lua;lua/?/init.lua'
ASAN_DIR = build/asan-lua5.4
ASAN_RT = $(shell clang -print-file-name=libclang_rt.asan-x86_64.so)

.PHONY: build build-all test-core valgrind-core asan-core

build: $(CORE_DIR)/accelerate.so

$(CORE_DIR)/accelerate.so: $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(CORE_DIR)
	$(CC) $(CORE_CFLAGS) $(CFLAGS) -I$(LUA_INCDIR) $(CURL_CFLAGS) $(LIBFLAG) \
		-o $@ $(CORE_SRC) $(CURL_LIBS)

build-all:
	@for v in $(CORE_VERSIONS); do $(MAKE) --no-print-directory build LUA_VERSION=$$v || exit 1; done

# Each interpreter runs the core specs against its own build.
test-core: build-all
	@trap 'sim/simctl stop-all build/test-sim >/dev/null 2>&1' EXIT; \
	for v in $(CORE_VERSIONS); do \
	  if [ $$v = jit ]; then l=luajit; d=build/luajit; else l=lua$$v; d=build/lua$$v; fi; \
	  echo "== $$l"; \
	  $(CORE_BUSTED) --lua=$$l --cpath="$$d/?.so" $(CORE_SPECS) || exit 1; \
	done

# Leaks and invalid accesses under Lua 5.4; only the interpreter's own
# noise is suppressed (spec/valgrind.supp).
valgrind-core:
	@$(MAKE) --no-print-directory build LUA_VERSION=5.4 CFLAGS='-O1 -g'
	@trap 'sim/simctl stop-all build/test-sim >/dev/null 2>&1' EXIT; \
	valgrind --quiet --leak-check=full --show-leak-kinds=definite \
	  --errors-for-leak-kinds=definite --error-exitcode=99 \
	  --suppressions=spec/valgrind.supp \
	  lua5.4 -e 'package.path="lua/?.lua;lua/?/init.lua;"..package.path; package.cpath="build/lua5.4/?.so;"..package.cpath; require "busted.runner"({ standalone = false })' \
	  --output=utfTerminal $(CORE_SPECS)

# AddressSanitizer + UndefinedBehaviorSanitizer: the module is built with
# clang and the runtime preloaded into the stock interpreter.
asan-core:
	@mkdir -p $(ASAN_DIR)
	clang -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden -g -O1 \
	  -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -Wall -Wextra -I/usr/include/lua5.4 $(CURL_CFLAGS) -shared \
	  -o $(ASAN_DIR)/accelerate.so $(CORE_SRC) $(CURL_LIBS)
	@trap 'sim/simctl stop-all build/test-sim >/dev/null 2>&1' EXIT; \
	LD_PRELOAD=$(ASAN_RT) ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CORE_BUSTED) --lua=lua5.4 --cpath="$(ASAN_DIR)/?.so" $(CORE_SPECS)

# ---------------------------------------------------------------------------
# Tests.  Each spec file starts its own simulator on a free loopback port
# (spec/helpers.lua) and stops it by pid; the trap below stops any that a
# crashed run left behind.
BUSTED = busted --lua=lua5.4 --output=utfTerminal

test: deps test-sim

test-sim:
	@trap 'sim/simctl stop-all build/test-sim >/dev/null' EXIT; \
	$(BUSTED) spec/sim_spec.lua

clean:
	-sim/simctl stop-all build >/dev/null 2>&1
	rm -rf build
