# pipeline: the walker asks libgit2 (Debian libgit2-dev, installed by
# scripts/setup.sh) which paths git ignores (ignore.c). pkg-config gives
# its flags; -lgit2 is the fallback when its .pc file is missing.

# This file is included before the main targets: keep `make` = `make all`.
.DEFAULT_GOAL := all

LIBGIT2_CFLAGS := $(shell pkg-config --cflags libgit2 2>/dev/null)
LIBGIT2_LIBS := $(or $(shell pkg-config --libs libgit2 2>/dev/null),-lgit2)
LDLIBS += $(LIBGIT2_LIBS)

$(BUILD)/src/pipeline/ignore.o: ALL_CFLAGS += $(LIBGIT2_CFLAGS)
$(BUILD)/tests/test_walk: ALL_CFLAGS += $(LIBGIT2_CFLAGS)
$(BUILD)/tests/test_faults: ALL_CFLAGS += $(LIBGIT2_CFLAGS)
