#!/usr/bin/env bash
# Installs the training sources of the built-in model and extracts their
# doc-comment/code pairs with `semcode pairs --undocumented`, one JSON Lines
# file per source in $PAIRS_DIR (default build/model/pairs/).
#
# Sources (docs/QUALITY.md, issue 14):
#  * the sources of issue 5: Debian golang-1.19-src, openjdk-17-source,
#    rust-src, libpython3.11-stdlib, linux-source-6.1 (a subset of
#    directories), ruby3.1's standard library;
#  * Debian library packages that ship source, listed one a line in
#    tools/corpus/debian-{python,node,go,rust,ruby,php}.txt (written by
#    tools/corpus_select.py): fetched with `apt-get download` and unpacked
#    with dpkg-deb under $SRC/deb/ECO/PACKAGE/ (not installed: no
#    dependency resolution, no maintainer scripts);
#  * the npm packages pinned in tools/corpus/package.json + package-lock.json.
# Reserved projects (tools/reserved.txt) and the evaluation repositories are
# removed later, by tools/split_pairs.py, by package name and by path.
# Idempotent: a source whose .jsonl exists is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
SEMCODE=${SEMCODE:-build/semcode}
PAIRS_DIR=${PAIRS_DIR:-build/model/pairs}
SRC=${SRC:-build/model/src}
DEBS=${DEBS:-build/model/debs}
THREADS=${THREADS:-2}
mkdir -p "$PAIRS_DIR" "$SRC" "$DEBS"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

PKGS=(golang-1.19-src openjdk-17-source rust-src libpython3.11-stdlib linux-source-6.1 ruby3.1 libruby3.1)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "corpus: installing ${missing[*]}"
  $SUDO apt-get update -qq; updated=1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian library packages: download the .debs not yet present, in batches
# (a batch that fails, e.g. one package gone from the archive, is retried
# one package at a time and the missing ones are reported).
ECOS=(python node go rust ruby php)
for eco in "${ECOS[@]}"; do
  mkdir -p "$DEBS/$eco"
  want=$(mktemp)
  grep -v '^#' "tools/corpus/debian-$eco.txt" | while read -r p; do
    compgen -G "$DEBS/$eco/${p}_*.deb" >/dev/null || echo "$p"
  done > "$want"
  if [ -s "$want" ]; then
    [ $updated = 1 ] || { $SUDO apt-get update -qq; updated=1; }
    echo "corpus: downloading $(wc -l < "$want") $eco packages"
    # shellcheck disable=SC2016  # the single quotes are the inner shell's
    (cd "$DEBS/$eco" && xargs -n 200 sh -c 'apt-get download -qq "$@" 2>/dev/null || for p in "$@"; do apt-get download -qq "$p" 2>/dev/null || echo "corpus: $p not available" >&2; done' sh) < "$want"
  fi
  rm -f "$want"
done

# Unpack every .deb under $SRC/deb/ECO/PACKAGE (documentation dropped).
for eco in "${ECOS[@]}"; do
  [ -d "$SRC/deb/$eco" ] && [ -f "$SRC/deb/$eco/.done" ] && continue
  echo "corpus: unpacking $eco"
  mkdir -p "$SRC/deb/$eco"
  # shellcheck disable=SC2016  # the single quotes are the inner shell's
  find "$DEBS/$eco" -name '*.deb' -print0 | xargs -0 -P "$THREADS" -n 1 sh -c '
    deb=$1; pkg=$(basename "$deb"); pkg=${pkg%%_*}; dir='"$SRC/deb/$eco"'/$pkg
    [ -d "$dir" ] && exit 0
    mkdir -p "$dir.tmp" && dpkg-deb -x "$deb" "$dir.tmp" && rm -rf "$dir.tmp/usr/share/doc" "$dir.tmp/usr/share/man" && mv "$dir.tmp" "$dir"' sh
  touch "$SRC/deb/$eco/.done"
done

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
run() { # name dir [options]
  local name=$1 dir=$2; shift 2
  [ -s "$PAIRS_DIR/$name.jsonl" ] && return 0
  echo "corpus: pairs $name ($dir)"
  "$SEMCODE" pairs "$dir" --threads "$THREADS" --max-size 1000000 --no-ignore --undocumented "$@" \
    > "$PAIRS_DIR/$name.jsonl.tmp" 2>"$PAIRS_DIR/$name.log"
  mv "$PAIRS_DIR/$name.jsonl.tmp" "$PAIRS_DIR/$name.jsonl"
}
# Debian library packages first (paths: PACKAGE/usr/...).
run deb-python "$SRC/deb/python" --lang python
run deb-node-js "$SRC/deb/node" --lang javascript
run deb-node-ts "$SRC/deb/node" --lang typescript
run deb-go "$SRC/deb/go" --lang go
run deb-rust "$SRC/deb/rust" --lang rust
run deb-ruby "$SRC/deb/ruby" --lang ruby
run deb-php "$SRC/deb/php" --lang php
# The sources of issue 5.
run go /usr/share/go-1.19/src --lang go
run java "$SRC/java" --lang java
run rust /usr/src/rustc-1.63.0/library --lang rust
run python /usr/lib/python3.11 --lang python
run c "$SRC/linux" --lang c
run ruby /usr/lib/ruby/3.1.0 --lang ruby
# npm packages (tools/corpus/package.json), one source per package.
for d in "$NM"/* "$NM"/@*/*; do
  p=${d#"$NM"/}
  case $p in @*/*|[!@]*) ;; *) continue ;; esac   # scope folders themselves are not packages
  [ -d "$d" ] || continue
  run "npm-${p//\//+}" "$d"
done
wc -l "$PAIRS_DIR"/*.jsonl | tail -1
