# embed: the transformer engine needs OpenBLAS (matrix products) and
# utf8proc (tokenizer normalisation in src/text/). Both are Debian packages
# installed by scripts/setup.sh.

# This file is included before the main targets: keep `make` = `make all`.
.DEFAULT_GOAL := all

OPENBLAS_INC := /usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS += -lopenblas -lutf8proc

$(BUILD)/src/embed/%.o: ALL_CFLAGS += -isystem $(OPENBLAS_INC)
