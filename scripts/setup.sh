#!/usr/bin/env bash
# Installs what semcode needs to build and test, only when missing
# (idempotent): Debian packages with apt-get, npm packages pinned in
# package-lock.json. Safe to run again; fast when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential pkg-config git
      libsqlite3-dev libjansson-dev libroaring-dev libcmocka-dev
      libopenblas-dev libcurl4-openssl-dev libmicrohttpd-dev libgit2-dev
      libutf8proc-dev libstemmer-dev libxxhash-dev
      libpython3.11-stdlib)   # CPython's standard library: the main job indexes it
# Benchmark peers and extra tooling; installed too so `make bench` works.
PKGS+=(libhnswlib-dev libfaiss-dev universal-ctags wrk)
# The peer of bench/sparse.c (bench/sparse_scipy.py, on /usr/bin/python3).
PKGS+=(python3-scipy)
# clang with its libFuzzer runtime: make check runs every fuzz target for a bounded time.
PKGS+=(clang libclang-rt-14-dev)
# Transformer fixtures and the ONNX export for bench/transformer.sh
# (tools/gen_transformer_fixtures.py runs on /usr/bin/python3).
PKGS+=(python3-torch)
# tests/e2e/install.sh renders the generated man page (nroff) and strips a copy of the binary (binutils).
PKGS+=(groff-base binutils)
# make qdrant-suite (tests/qdrant/run.sh) runs Qdrant's HTTP tests on Debian's pytest.
PKGS+=(python3-pytest python3-requests python3-jsonschema python3-retry)
# tests/e2e/qdrant_cluster.test.mjs makes a CA and a server certificate at test time (openssl req / x509).
PKGS+=(openssl)
# tests/e2e/web.test.mjs drives the web page of `semcode serve` in Debian's headless chromium (playwright-core).
PKGS+=(chromium)
# semcode serve's gRPC API: gRPC's C core, protobuf-c, and protoc with protoc-gen-c, which
# generate the C message code from the descriptors of node_modules/@qdrant/js-client-grpc
# at build time (src/server/module.mk).
PKGS+=(libgrpc-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler)
# Node.js may come from elsewhere than Debian: only ask apt when absent.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

bash scripts/ensure_debs.sh setup "${PKGS[@]}"

if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci"
    npm ci --ignore-scripts --no-audit --no-fund >/dev/null
  fi
fi
echo "setup: ok"
