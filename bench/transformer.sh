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
cc -std=c17 -D_GNU_SOURCE -O2 -Iinclude bench/transformer_bench.c build/libsemcode.a \
   -o build/transformer_bench -ljansson -lsqlite3 -lroaring -lcurl -lmicrohttpd -lm -pthread -lopenblas -lutf8proc -lstemmer

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

run() { # name texts
  local name=$1 texts=$2
  /usr/bin/time -v build/transformer_bench "$DATA/minilm" "$texts" 32 "$THREADS" "$ROUNDS" \
    > "$OUT/$name.semcode.json" 2> "$OUT/$name.semcode.time"
  /usr/bin/time -v node bench/transformer_ort.js "$DATA/minilm.onnx" "$DATA/$name.ids" 32 "$THREADS" "$ROUNDS" \
    > "$OUT/$name.ort.json" 2> "$OUT/$name.ort.time"
  python3 - "$name" "$OUT" "$DATA" <<'PY'
import json, sys
name, out, data = sys.argv[1:]
def rss(p):
    for l in open(p):
        if "Maximum resident set size" in l:
            return int(l.split(":")[1]) / 1024
lens = [len(json.loads(l)) for l in open(f"{data}/{name}.ids")]
s = json.load(open(f"{out}/{name}.semcode.json")); o = json.load(open(f"{out}/{name}.ort.json"))
print(f"| {name} | {len(lens)} texts, mean {sum(lens)/len(lens):.0f} tokens (min {min(lens)}, max {max(lens)}) | "
      f"{s['per_s']:.1f} | {o['per_s']:.1f} | {s['per_s']/o['per_s']:.2f}x | "
      f"{rss(f'{out}/{name}.semcode.time'):.0f} MB | {rss(f'{out}/{name}.ort.time'):.0f} MB |")
PY
}

for f in fixed128 code; do
  [ -s "$DATA/$f.ids" ] || build/semcode embed --model "$DATA/minilm" --tokens < "$DATA/$f.txt" > "$DATA/$f.ids"
done
[ "${PREP_ONLY:-0}" = 1 ] && exit 0

exec 9>/tmp/semcode-bench.lock
flock 9
echo "| input | texts | semcode sent/s | ONNX Runtime sent/s | ratio | semcode peak RSS | ORT peak RSS |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
run fixed128 "$DATA/fixed128.txt"
run code "$DATA/code.txt"
echo
echo "threads=$THREADS rounds=$ROUNDS batch=32; $(date -u '+%Y-%m-%d %H:%M UTC'); $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
