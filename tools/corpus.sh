#!/usr/bin/env bash
# Installs the training sources of the built-in model and extracts their
# doc-comment/code pairs with `semcode pairs`, one JSON Lines file per source
# in $OUT (default build/model/pairs/). Only the sources named in issue 5:
# Debian golang-1.19-src, openjdk-17-source, rust-src, libpython3.11-stdlib,
# linux-source-6.1 (a subset of directories), ruby3.1's standard library, and
# the npm packages pinned in tools/corpus/package-lock.json.
# Idempotent: a source whose .jsonl exists is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
SEMCODE=${SEMCODE:-build/semcode}
OUT=${OUT:-build/model/pairs}
SRC=${SRC:-build/model/src}
mkdir -p "$OUT" "$SRC"

PKGS=(golang-1.19-src openjdk-17-source rust-src libpython3.11-stdlib linux-source-6.1 ruby3.1 libruby3.1)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "corpus: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d tools/corpus/node_modules ]; then
  (cd tools/corpus && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi

# Java sources come as a zip; the kernel as a tarball of which we take the
# core kernel and the best documented subsystems (kernel-doc is densest there).
if [ ! -d "$SRC/java" ]; then
  mkdir -p "$SRC/java.tmp" && unzip -q -o /usr/lib/jvm/openjdk-17/lib/src.zip -d "$SRC/java.tmp" && mv "$SRC/java.tmp" "$SRC/java"
fi
if [ ! -d "$SRC/linux" ]; then
  mkdir -p "$SRC/linux.tmp"
  tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$SRC/linux.tmp" --strip-components=1 \
    linux-source-6.1/kernel linux-source-6.1/mm linux-source-6.1/lib linux-source-6.1/fs \
    linux-source-6.1/net linux-source-6.1/block linux-source-6.1/crypto linux-source-6.1/security \
    linux-source-6.1/ipc linux-source-6.1/init linux-source-6.1/virt linux-source-6.1/drivers/base \
    linux-source-6.1/drivers/gpu/drm linux-source-6.1/drivers/usb linux-source-6.1/drivers/pci \
    linux-source-6.1/drivers/acpi linux-source-6.1/drivers/scsi linux-source-6.1/drivers/nvme \
    linux-source-6.1/drivers/md linux-source-6.1/drivers/tty linux-source-6.1/drivers/i2c \
    linux-source-6.1/drivers/spi linux-source-6.1/drivers/input linux-source-6.1/drivers/net/ethernet/intel \
    linux-source-6.1/drivers/infiniband/core linux-source-6.1/drivers/firmware linux-source-6.1/sound/core
  mv "$SRC/linux.tmp" "$SRC/linux"
fi

NM=tools/corpus/node_modules
run() { # name dir [lang]
  local name=$1 dir=$2; shift 2
  [ -s "$OUT/$name.jsonl" ] && return 0
  echo "corpus: pairs $name ($dir)"
  "$SEMCODE" pairs "$dir" --threads "${THREADS:-2}" --max-size 2000000 --no-ignore "$@" > "$OUT/$name.jsonl.tmp" 2>"$OUT/$name.log"
  mv "$OUT/$name.jsonl.tmp" "$OUT/$name.jsonl"
}
run go /usr/share/go-1.19/src --lang go
run java "$SRC/java" --lang java
run rust /usr/src/rustc-1.63.0/library --lang rust
run python /usr/lib/python3.11 --lang python
run c "$SRC/linux" --lang c
run ruby /usr/lib/ruby/3.1.0 --lang ruby
for p in eslint webpack typescript date-fns rxjs; do
  run "npm-$p" "$NM/$p"
done
wc -l "$OUT"/*.jsonl
