#!/usr/bin/env bash
# Transformer inference benchmark (issue 6): semcode vs ONNX Runtime
# (npm onnxruntime-node) on the same MiniLM-L6-shaped weights (6 layers,
# hidden 384, 12 heads, FFN 1536, random weights from
# tools/gen_transformer_fixtures.py, exported to ONNX with torch.onnx.export),
# same token ids, batch 32, same thread count, in the same run:
#   (a) fixed length: 256 texts of exactly 128 tokens;
#   (b) real code: entities of /usr/lib/python3.11 from `semcode parse --json
#       --body` (name, signature, doc, body on one line), mixed lengths,
#       truncated to max_seq_length 256.
# Sentences/s from each engine's own timer (model load and one warm-up
# batch excluded; semcode's time includes tokenization, ONNX Runtime is
# given ready token ids), peak RSS from /usr/bin/time -v.
#
#   bash bench/transformer.sh            (THREADS=2 ROUNDS=3 N_CODE=2048)
#
# Preparation (data, model generation, ONNX export) runs at nice 19; the
# measurements take /tmp/semcode-bench.lock themselves (the machine is
# shared). PREP_ONLY=1 stops after the preparation.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
N_CODE=${N_CODE:-2048}
DATA=bench/data/transformer
OUT=bench/out
mkdir -p "$DATA" "$OUT"

make -j2 >/dev/null
[ -d node_modules/onnxruntime-node ] || bash scripts/setup.sh
LIBS=$(make --no-print-directory -s -f Makefile -f bench/vars.mk print-LDLIBS)
cc -std=c17 -D_GNU_SOURCE -O2 -Iinclude bench/transformer_bench.c build/libsemcode.a \
   -o build/transformer_bench $LIBS

# Code entities, one per line.
if [ ! -s "$DATA/code.txt" ]; then
  nice -n 19 build/semcode parse --json --body --no-chunks --threads 1 /usr/lib/python3.11 2>/dev/null | python3 -c '
import json, sys, random
out = []
for line in sys.stdin:
    e = json.loads(line)
    if e.get("type") != "entity":
        continue
    t = " ".join(x for x in [e.get("qualified_name") or "", e.get("signature") or "", e.get("doc") or "", e.get("body") or ""] if x)
    out.append(" ".join(t.split())[:4000])
random.Random(6).shuffle(out)
sys.stdout.write("\n".join(out) + "\n")' > "$DATA/all_code.txt"
  head -n "$N_CODE" "$DATA/all_code.txt" > "$DATA/code.txt"
fi

# Model (vocabulary from the code corpus) and its ONNX export.
if [ ! -s "$DATA/minilm.onnx" ]; then
  nice -n 19 /usr/bin/python3 tools/gen_transformer_fixtures.py minilm "$DATA/minilm" --onnx "$DATA/minilm.onnx" \
    --corpus "$DATA/all_code.txt"
fi

# Fixed-length texts: 126 single-token words + [CLS] + [SEP] = 128 tokens.
if [ ! -s "$DATA/fixed128.txt" ]; then
  python3 -c '
import json, random
v = json.load(open("'"$DATA"'/minilm/tokenizer.json"))["model"]["vocab"]
words = sorted(w for w in v if w.isascii() and w.isalpha() and w.islower() and len(w) >= 3)[:5000]
r = random.Random(128)
print("\n".join(" ".join(r.choice(words) for _ in range(126)) for _ in range(256)))' > "$DATA/fixed128.txt"
fi

rss() { sed -n 's/^.*Maximum resident set size (kbytes): *//p' "$1" | awk '{printf "%.0f MB", $1 / 1024}'; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

run() { # name texts
  local name=$1 texts=$2 lens
  lens=$(python3 -c 'import json,sys; l=[len(json.loads(x)) for x in open(sys.argv[1])]; print(f"{len(l)} texts, mean {sum(l)/len(l):.0f} tokens ({min(l)}-{max(l)})")' "$DATA/$name.ids")
  /usr/bin/time -v node bench/transformer_ort.js "$DATA/minilm.onnx" "$DATA/$name.ids" 32 "$THREADS" "$ROUNDS" \
    > "$OUT/$name.ort.json" 2> "$OUT/$name.ort.time"
  local ort; ort=$(field "$OUT/$name.ort.json" per_s)
  echo "| $name: $lens | ONNX Runtime $(npm ls onnxruntime-node 2>/dev/null | sed -n 's/.*onnxruntime-node@\([0-9.]*\).*/\1/p' | head -1) | $ort | 1.00x | $(rss "$OUT/$name.ort.time") |"
  for core in default SkylakeX; do
    if [ "$core" = default ]; then env=(); label="semcode (OpenBLAS core: $(OPENBLAS_VERBOSE=2 build/transformer_bench 2>&1 | sed -n 's/^Core: *//p' | head -1 || true))"
    else
      grep -q avx512f /proc/cpuinfo || continue
      env=(OPENBLAS_CORETYPE=$core); label="semcode (OPENBLAS_CORETYPE=$core)"
    fi
    env "${env[@]}" /usr/bin/time -v build/transformer_bench "$DATA/minilm" "$texts" 32 "$THREADS" "$ROUNDS" \
      > "$OUT/$name.semcode-$core.json" 2> "$OUT/$name.semcode-$core.time"
    local s; s=$(field "$OUT/$name.semcode-$core.json" per_s)
    echo "| $name | $label | $s | $(python3 -c "print(f'{$s/$ort:.2f}x')") | $(rss "$OUT/$name.semcode-$core.time") |"
  done
}

for f in fixed128 code; do
  [ -s "$DATA/$f.ids" ] || build/semcode embed --model "$DATA/minilm" --tokens < "$DATA/$f.txt" > "$DATA/$f.ids"
done
[ "${PREP_ONLY:-0}" = 1 ] && exit 0

# Measurements: only while holding the shared benchmark lock.
exec 9>/tmp/semcode-bench.lock
flock 9
echo "| input | engine | sentences/s | vs ONNX Runtime | peak RSS |"
echo "| --- | --- | ---: | ---: | ---: |"
run fixed128 "$DATA/fixed128.txt"
run code "$DATA/code.txt"
echo
echo "threads=$THREADS rounds=$ROUNDS batch=32; $(date -u '+%Y-%m-%d %H:%M UTC'); $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
