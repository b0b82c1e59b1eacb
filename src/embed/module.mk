# embed: the transformer engine needs OpenBLAS (matrix products) and
# utf8proc (tokenizer normalisation in src/text/, the UTF-8 check of
# src/util/utf8.c). Both are Debian packages
# installed by scripts/setup.sh.

# This file is included before the main targets: keep `make` = `make all`.
.DEFAULT_GOAL := all

OPENBLAS_INC := /usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS += -lopenblas -lutf8proc

$(BUILD)/src/embed/%.o: ALL_CFLAGS += -isystem $(OPENBLAS_INC)
# The trainer's inner loops (dot products, axpy over 256 dimensions) only
# vectorise at -O3; no fast-math, so the sums keep their fixed order.
ifneq ($(SANITIZE),1)
$(BUILD)/src/embed/train.o: ALL_CFLAGS += -O3
endif

# The MiniLM-L6-shaped fixture (6 layers, hidden 384, 12 heads, FFN 1536;
# ~90 MB) is generated at test set-up rather than committed. It needs
# Debian's python3-torch; without it (or when the shared benchmark lock is
# busy for 2 minutes) test_transformer skips that one model, a skip that
# fails the run on CI (CI=true; tests/run_unit.sh, CI_REQUIRED).
MINILM_FIXTURE := build/fixtures/minilm/expected.json
$(MINILM_FIXTURE): tools/gen_transformer_fixtures.py
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then \
	  echo "generating $(dir $@) (python3-torch)"; \
	  flock -w 120 /tmp/semcode-bench.lock /usr/bin/python3 tools/gen_transformer_fixtures.py minilm $(dir $@) \
	    || echo "MiniLM fixture not generated; test_transformer will skip it"; \
	else echo "python3-torch missing: test_transformer skips the MiniLM-shaped model"; fi
test: $(MINILM_FIXTURE)

# embed: `make model` reproduces the shipped built-in model from scratch
# (installs the corpora, extracts and splits the pairs, trains, evaluates,
# writes models/builtin.scm). See tools/make_model.sh.
.PHONY: model
model: $(BIN)
	bash tools/make_model.sh

# store: `make ranker` retrains the ranking stage's weights for the current
# model (tools/make_ranker.sh writes src/store/rank_weights.h; then `make`).
.PHONY: ranker
ranker: $(BIN)
	bash tools/make_ranker.sh
