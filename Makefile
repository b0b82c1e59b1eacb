# semcode build. `make` builds build/libsemcode.a and build/semcode;
# `make test` runs the unit tests; `make SANITIZE=1 test` does the same
# under AddressSanitizer + UndefinedBehaviorSanitizer (in build-san/).
# `make check` = set-up + plain tests + sanitizer tests (what CI runs).

CC      ?= cc
CXX     ?= c++
SANITIZE ?= 0
O       ?= 2

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPTFLAGS := -O1 -g
else
BUILD   ?= build
SANFLAGS :=
OPTFLAGS := -O$(O) -g
endif

WARN    := -Wall -Wextra -Wshadow -Wpedantic -Wstrict-prototypes -Wmissing-prototypes \
           -Wdouble-promotion -Werror
CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -DSC_SOURCE_DIR=\"$(CURDIR)\" $(OPTFLAGS) $(SANFLAGS) -fvisibility=hidden -pthread \
           -Iinclude -Isrc
CFLAGS  ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(WARN) $(CFLAGS)
LDLIBS  := -ljansson -lsqlite3 -lroaring -lcurl -lmicrohttpd -lm -pthread
LDFLAGS := $(SANFLAGS)

# Per-file ISA flags: SIMD kernels live in *_avx2.c / *_avx512.c only.
AVX2_FLAGS   := -mavx2 -mfma
AVX512_FLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512vpopcntdq -mfma

LIB_SRCS := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRCS := $(wildcard src/cli/*.c)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_HELPERS := $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c))

# Modules may add sources, flags and libraries in src/<module>/module.mk.
-include $(wildcard src/*/module.mk)

LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS))
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HELPER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_HELPERS))

LIB := $(BUILD)/libsemcode.a
BIN := $(BUILD)/semcode

.PHONY: all test check setup demo clean bench fuzz
all: $(LIB) $(BIN)

$(BUILD)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS) $(EXTRA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -MMD -MP $< $(TEST_HELPER_OBJS) -o $@ $(LDFLAGS) $(LIB) $(LDLIBS) -lcmocka

test: all $(TEST_BINS)
	@BUILD=$(BUILD) bash tests/run_unit.sh $(TEST_BINS)

setup:
	@bash scripts/setup.sh

# make check also runs each libFuzzer target this many seconds (new inputs go to build-fuzz/).
CHECK_FUZZ_SECONDS ?= 10

check: setup
	$(MAKE) test
	$(MAKE) SANITIZE=1 test
	bash tests/e2e/run.sh
	SEMCODE_BIN=$(CURDIR)/build-san/semcode bash tests/e2e/run.sh
	bash tests/fuzz/run.sh replay
	FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) bash tests/fuzz/run.sh fuzz

# Coverage-guided fuzzing with clang's libFuzzer (FUZZ_SECONDS per target).
fuzz:
	bash tests/fuzz/run.sh

demo: setup
	$(MAKE) all
	bash scripts/demo.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -path $(BUILD)/model -prune -o -name '*.d' -print 2>/dev/null)
