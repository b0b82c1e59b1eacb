# parse: build rules for the third-party C sources compiled into semcode.
#
# The tree-sitter runtime (vendored inside the npm package `tree-sitter`)
# and one grammar per language come from node_modules/, installed by
# scripts/setup.sh with `npm ci --ignore-scripts` from package-lock.json.
# They are compiled with their own quiet flags (no -Werror, warnings off)
# into $(BUILD)/third_party/ and archived into libsemcode.a via EXTRA_OBJS.
# Sources are listed explicitly (no wildcard), and a file of node_modules/
# that is missing stops the build with "run scripts/setup.sh first" (the
# rule at the end), before any compiler meets a missing tree-sitter header.

# This file is included before the main targets: keep `make` = `make all`.
.DEFAULT_GOAL := all

TS_NM      := node_modules
TS_RUNTIME := $(TS_NM)/tree-sitter/vendor/tree-sitter/lib
TS_INCLUDE := $(TS_RUNTIME)/include

# grammar directory (holding parser.c) -> has scanner.c?
TS_GRAMMAR_DIRS_SCANNER := \
    tree-sitter-bash/src tree-sitter-c-sharp/src tree-sitter-cpp/src \
    tree-sitter-javascript/src tree-sitter-php/php/src tree-sitter-python/src \
    tree-sitter-ruby/src tree-sitter-rust/src \
    tree-sitter-typescript/typescript/src tree-sitter-typescript/tsx/src
TS_GRAMMAR_DIRS_PLAIN := \
    tree-sitter-c/src tree-sitter-go/src tree-sitter-java/src

TS_SRCS := $(TS_RUNTIME)/src/lib.c \
    $(foreach d,$(TS_GRAMMAR_DIRS_SCANNER),$(TS_NM)/$(d)/parser.c $(TS_NM)/$(d)/scanner.c) \
    $(foreach d,$(TS_GRAMMAR_DIRS_PLAIN),$(TS_NM)/$(d)/parser.c)
TS_OBJS := $(patsubst $(TS_NM)/%.c,$(BUILD)/third_party/%.o,$(TS_SRCS))

# Quiet flags: the grammar code is generated and not ours to fix. The
# runtime gets the sanitizers in a SANITIZE=1 build (it walks our input);
# the generated tables do not (compile time, and nothing to learn there).
TS_CFLAGS := -std=gnu11 -O2 -g0 -w -fPIC -fvisibility=hidden -D_DEFAULT_SOURCE \
    -I$(TS_INCLUDE) -I$(TS_RUNTIME)/src

# The runtime (one translation unit, lib.c) at -O3 and, with gcc, profile
# guided: 1.5 % and 17 % fewer instructions per parse than plain -O2
# (docs/BENCHMARKS.md). The profile comes from a build of semcode with an
# instrumented runtime parsing the test fixtures (every grammar, a broken
# file), so it is the same on every machine with the same compiler. The
# grammars' tables and lexers gain nothing from -O3 and stay at -O2.
# TS_PGO=0 turns profiling off (also off with a sanitizer or another compiler).
TS_LIB_O  := $(BUILD)/third_party/tree-sitter/vendor/tree-sitter/lib/src/lib.o
TS_PGO_DIR := $(BUILD)/third_party/pgo
TS_PGO ?= $(if $(filter-out 0,$(SANITIZE)),0,$(shell $(CC) --version 2>/dev/null | grep -q 'Free Software Foundation' && echo 1 || echo 0))

ifeq ($(TS_PGO),1)
# gcc matches a profile to the object path it was made for: both compiles
# write $(TS_PGO_DIR)/obj/lib.o, and the result is moved away.
TS_PGO_DATA := $(abspath $(TS_PGO_DIR))/data
$(TS_PGO_DIR)/gen.o: $(TS_RUNTIME)/src/lib.c src/parse/module.mk
	@mkdir -p $(TS_PGO_DIR)/obj
	$(CC) $(TS_CFLAGS) -O3 -fprofile-generate=$(TS_PGO_DATA) -c $< -o $(TS_PGO_DIR)/obj/lib.o
	mv $(TS_PGO_DIR)/obj/lib.o $@

# semcode with the instrumented runtime, and its run over the fixtures
# (our own objects are order-only: editing them does not redo the profile)
$(TS_PGO_DIR)/semcode: $(TS_PGO_DIR)/gen.o | $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS) $(LIB_SRCS)) $(filter-out $(TS_LIB_O),$(TS_OBJS))
	$(CC) -fprofile-generate -o $@ $< $(filter %.o,$|) $(LDLIBS)

$(TS_PGO_DIR)/profile.stamp: $(TS_PGO_DIR)/semcode $(wildcard tests/fixtures/*/* tests/fixtures/*/*/*)
	rm -rf $(TS_PGO_DATA)
	$< parse tests/fixtures --json --threads 1 -o /dev/null
	touch $@

$(TS_LIB_O): $(TS_RUNTIME)/src/lib.c src/parse/module.mk $(TS_PGO_DIR)/profile.stamp
	@mkdir -p $(dir $@) $(TS_PGO_DIR)/obj
	$(CC) $(TS_CFLAGS) -O3 -fprofile-use=$(TS_PGO_DATA) -Wno-missing-profile -c $< -o $(TS_PGO_DIR)/obj/lib.o
	mv $(TS_PGO_DIR)/obj/lib.o $@
else
$(TS_LIB_O): $(TS_RUNTIME)/src/lib.c src/parse/module.mk
	@mkdir -p $(dir $@)
	$(CC) $(TS_CFLAGS) -O3 $(SANFLAGS) -c $< -o $@
endif

# The grammars' tables take only TS_CFLAGS (no sanitizer, no coverage
# hooks): every other build (build-san/, build-tsan/, the fuzz library)
# copies them from build/, compiling them there with TS_GRAMMAR_CC (the
# plain build's compiler) when missing, rather than compiling the large
# generated parsers again (make check builds them all).
TS_GRAMMAR_CC ?= cc
ifeq ($(BUILD),build)
$(BUILD)/third_party/%/parser.o: $(TS_NM)/%/parser.c
	@mkdir -p $(dir $@)
	$(CC) $(TS_CFLAGS) -I$(dir $<) -c $< -o $@
else
$(BUILD)/third_party/%/parser.o: build/third_party/%/parser.o
	@mkdir -p $(dir $@)
	cp $< $@
build/third_party/%/parser.o: $(TS_NM)/%/parser.c
	@mkdir -p $(dir $@)
	$(TS_GRAMMAR_CC) $(TS_CFLAGS) -I$(dir $<) -c $< -o $@
endif

$(BUILD)/third_party/%/scanner.o: $(TS_NM)/%/scanner.c
	@mkdir -p $(dir $@)
	$(CC) $(TS_CFLAGS) $(SANFLAGS) -I$(dir $<) -c $< -o $@

EXTRA_OBJS += $(TS_OBJS)

# Our own parse sources see the runtime's public header as a system header.
$(BUILD)/src/parse/%.o: ALL_CFLAGS += -isystem $(TS_INCLUDE)
# iter.c reads the runtime's subtrees directly: its internal headers too.
$(BUILD)/src/parse/iter.o: ALL_CFLAGS += -isystem $(TS_RUNTIME)/src
# test_parse checks iter.c against tree-sitter's cursor (parse_int.h).
$(BUILD)/tests/test_parse: ALL_CFLAGS += -isystem $(TS_INCLUDE)

# Before set-up: every object waits for the runtime's header (SETUP_CHECK,
# used by the Makefile), and any file of node_modules/ that is missing names
# the fix instead of a compiler error.
SETUP_CHECK += $(TS_INCLUDE)/tree_sitter/api.h
TS_SETUP_HINT := node_modules/ is missing or incomplete: run scripts/setup.sh first \
    (Debian packages, then npm ci of the tree-sitter runtime and grammars)
$(TS_NM)/%:
	@echo "semcode: $@ not found; $(TS_SETUP_HINT)" >&2; exit 1
