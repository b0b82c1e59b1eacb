# bench/ann.mk: builds build/bench/ann (bench/ann.cpp) against build/libsemcode.a,
# hnswlib (header-only, libhnswlib-dev) and FAISS (libfaiss-dev, static).
# Usage: make -j2 && make -f bench/ann.mk   (bench/run_ann.sh does both).
CXX ?= c++
ANN_CXXFLAGS := -std=c++17 -O3 -march=native -DNDEBUG -fopenmp -Iinclude -Isrc -w
build/bench/ann: bench/ann.cpp build/libsemcode.a
	@mkdir -p build/bench
	$(CXX) $(ANN_CXXFLAGS) $< -o $@ build/libsemcode.a -lfaiss -lblas -llapack -lgomp -pthread -lm
