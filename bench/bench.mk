# Benchmarks. `make -f bench/bench.mk bench-exact` builds the library and
# bench/exact (C++, links FAISS) and runs bench/run_exact.sh.
CXX ?= c++
BUILD ?= build
BENCH_CXXFLAGS := -std=c++17 -O2 -g -march=native -Wall -Wextra -Iinclude -Isrc -fopenmp
# The libraries libsemcode.a needs, as the main Makefile (and module.mk files) list them.
SC_LDLIBS := $(shell $(MAKE) --no-print-directory -s -f Makefile -f bench/vars.mk print-LDLIBS)
BENCH_LIBS := $(BUILD)/libsemcode.a -lfaiss -llapack -lblas -lopenblas $(SC_LDLIBS)

.PHONY: bench-exact lib
lib:
	$(MAKE) -j2 all

$(BUILD)/bench/exact: bench/exact.cpp lib
	@mkdir -p $(dir $@)
	$(CXX) $(BENCH_CXXFLAGS) bench/exact.cpp -o $@ $(BENCH_LIBS)

bench-exact: $(BUILD)/bench/exact
	bash bench/run_exact.sh $(BUILD)/bench/exact

.PHONY: bench-store
$(BUILD)/bench/store: bench/store.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Iinclude -Isrc bench/store.c -o $@ $(BENCH_LIBS)

# semcode in-process on bench/server.sh's workload (the script builds it).
$(BUILD)/bench/server_inproc: bench/server_inproc.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread -Iinclude -Isrc bench/server_inproc.c -o $@ $(BENCH_LIBS)

bench-store: $(BUILD)/bench/store
	bash bench/run_store.sh $(BUILD)/bench/store

# Sparse vectors (issue 17): search latency against a brute-force scan.
.PHONY: bench-sparse
$(BUILD)/bench/sparse: bench/sparse.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iinclude -Isrc bench/sparse.c -o $@ $(BUILD)/libsemcode.a $(SC_LDLIBS)

bench-sparse: $(BUILD)/bench/sparse
	bash bench/run_sparse.sh $(BUILD)/bench/sparse

.PHONY: bench-pipeline
$(BUILD)/bench/pipeline: bench/pipeline.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iinclude -Isrc bench/pipeline.c -o $@ $(BUILD)/libsemcode.a $(SC_LDLIBS)

bench-pipeline: $(BUILD)/bench/pipeline
	bash bench/pipeline.sh

.PHONY: bench-callgraph
$(BUILD)/bench/callgraph_cost: bench/callgraph_cost.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iinclude -Isrc bench/callgraph_cost.c -o $@ $(BUILD)/libsemcode.a $(SC_LDLIBS)

bench-callgraph: $(BUILD)/bench/callgraph_cost
	bash bench/callgraph_cost.sh
