#!/usr/bin/env bash
# Side by side, in one run: facegate vs ONNX Runtime (npm onnxruntime-node, CPU) on the trainer's
# ResNet-50, facegate's MTCNN vs the same pipeline in PyTorch (bench/compare/mtcnn_torch.py, a
# port of facenet-pytorch's detect_face: facenet-pytorch itself is not in Debian), the FLOP floor,
# and peak RSS of `facegate embed`. Prints the issue-7 targets as a markdown table.
#
# usage: bench/compare.sh [BUILD_DIR]      (default: build/; needs facegate, fg_embedder_bench,
#                                            fg_kernels_bench, fg_mtcnn_bench built in Release)
# env:   ROUNDS (default 3) alternations of each pair; FACEGATE_DATA (default ../shared/data);
#        ORT_VERSION (default 1.30.0). Work files go to .cache/compare, ONNX Runtime to .cache/ort
#        (both ignored by git). Python is Debian's /usr/bin/python3 (torch 1.13).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
ROUNDS=${ROUNDS:-3}
DATA=${FACEGATE_DATA:-$ROOT/../shared/data}
ORT_VERSION=${ORT_VERSION:-1.30.0}
PY=/usr/bin/python3
WORK=$ROOT/.cache/compare
RES=$WORK/results.jsonl
mkdir -p "$WORK"
: > "$RES"
load1() { cut -d' ' -f1 /proc/loadavg; }
log() { echo "[compare $(date +%T), load $(load1)] $*" >&2; }

# --- ONNX Runtime (CPU binary ships in the package; its install script only fetches GPU bits)
ORT_DIR=$ROOT/.cache/ort/node_modules/onnxruntime-node
if [ "$(node -p "try{require('$ORT_DIR/package.json').version}catch(e){''}")" != "$ORT_VERSION" ]; then
  log "installing onnxruntime-node@$ORT_VERSION into .cache/ort"
  mkdir -p "$ROOT/.cache/ort"
  (cd "$ROOT/.cache/ort" && [ -f package.json ] || echo '{"private":true}' > package.json
   npm install --prefix "$ROOT/.cache/ort" --ignore-scripts --no-audit --no-fund "onnxruntime-node@$ORT_VERSION" >&2)
fi
export ORT_DIR

# --- one random checkpoint: trainer .pt + ONNX export + inputs + PyTorch reference embeddings
R=$WORK/resnet
if [ ! -f "$R/model.onnx" ] || [ "$ROOT/bench/compare/make_resnet_onnx.py" -nt "$R/model.onnx" ]; then
  log "building the random checkpoint and its ONNX export"
  $PY "$ROOT/bench/compare/make_resnet_onnx.py" "$R" 2> "$WORK/export.log"
fi
log "facegate convert"
"$BUILD/facegate" convert "$R/model.pt" -o "$R/model.fgw" >&2
mapfile -t IMGS < "$R/images.txt"

# --- same function? facegate embed vs PyTorch reference (ORT's difference is printed by ort_bench.js)
"$BUILD/facegate" embed --model "$R/model.fgw" "${IMGS[@]}" --json --threads 2 > "$WORK/fg_embed.jsonl"
EMB_DIFF=$($PY - "$WORK/fg_embed.jsonl" "$R/ref_b8.bin" <<'PY'
import json, sys, numpy as np
fg = np.array([json.loads(l)["embedding"] for l in open(sys.argv[1])], dtype=np.float32)
ref = np.fromfile(sys.argv[2], dtype="<f4").reshape(8, -1)
print(f"{np.abs(fg - ref).max():.2e}")
PY
)

# --- the 640x480 frame (bbt2.jpg, INTER_AREA, as fg_mtcnn_bench makes it), lossless
FRAME=$WORK/frame640x480.png
$PY -c "import cv2,sys; cv2.imwrite(sys.argv[2], cv2.resize(cv2.imread(sys.argv[1]), (640, 480), interpolation=cv2.INTER_AREA))" \
  "$DATA/faces/group/bbt2.jpg" "$FRAME"
MT=$WORK/mtcnn.fgw
"$BUILD/facegate" convert "$DATA/mtcnn/pnet.pt" "$DATA/mtcnn/rnet.pt" "$DATA/mtcnn/onet.pt" -o "$MT" >&2
"$BUILD/facegate" detect --detector "$MT" "$FRAME" --json --threads 1 > "$WORK/fg_detect.jsonl"
# the torch pipeline gives the golden detections on the original photo
GOLD=$($PY "$ROOT/bench/compare/mtcnn_torch.py" "$DATA/mtcnn" "$DATA/faces/group/bbt2.jpg" --seconds 0 \
        --check-golden "$DATA/faces/mtcnn_golden.json" group/bbt2.jpg |
       $PY -c "import json,sys; d=json.load(sys.stdin); print(f\"{len(d['faces'])} faces, golden {d['golden_faces']}, max box diff {d['golden_max_box_diff']:.4f} px\")")

gb_ms() {  # google-benchmark JSON -> median of the named counter (NAME, or ms_NAME in ms; NAME alone is in s)
  $PY -c "
import json, statistics, sys
d = json.load(open(sys.argv[1])); name = sys.argv[2]
bs = [b for b in d['benchmarks'] if b.get('run_type', 'iteration') == 'iteration']
if name.startswith('ms_') and name not in bs[0] and name[3:] in bs[0]:
    print(statistics.median(b[name[3:]] * 1e3 for b in bs))  # fg_embedder_bench's per_image is s/image
else:
    print(statistics.median(b[name] for b in bs))" "$1" "$2"
}
emit() { echo "$1" >> "$RES"; }


# facegate's embedder as it runs: AVX-512 GEMM tiles when this CPU and build can use them
# (fg_embedder_bench skips the avx512:1 runs otherwise)
"$BUILD/bench/fg_embedder_bench" --benchmark_filter='BM_ResNet50/batch:1/threads:1/avx512:1/' \
  --benchmark_min_time=0.01 --benchmark_format=json > "$WORK/fg_probe.json" 2>/dev/null
AVX512=$($PY -c "import json,sys; print(0 if json.load(open(sys.argv[1]))['benchmarks'][0].get('error_occurred') else 1)" "$WORK/fg_probe.json")
log "facegate GEMM tiles: $([ "$AVX512" = 1 ] && echo AVX-512 || echo "the build's own")"

# The peak that the "% of peak" columns and the MTCNN floor divide by: that of the FMAs the
# tiles in use issue (AVX-512 ones when picked); the build's AVX2 peak is printed beside it.
log "FMA peak"
peak() {  # BENCHMARK KEY
  "$BUILD/bench/fg_kernels_bench" --benchmark_filter="^$1\$" --benchmark_repetitions=3 \
    --benchmark_format=json > "$WORK/fma.json" 2>/dev/null
  emit "{\"key\":\"$2\",\"gflops\":$(gb_ms "$WORK/fma.json" 'GFLOP/s'),\"load1\":$(load1)}"
}
peak BM_fma_peak fma_peak_avx2
if [ "$AVX512" = 1 ]; then peak BM_fma_peak_avx512 fma_peak; else peak BM_fma_peak fma_peak; fi

for ((r = 1; r <= ROUNDS; r++)); do
  for cfg in "1 1" "8 2"; do
    set -- $cfg; B=$1; T=$2
    l=$(load1)
    o=$(node "$ROOT/bench/compare/ort_bench.js" "$R/model.onnx" "$R/in_b8.bin" "$R/ref_b8.bin" "$B" "$T" 4)
    emit "$(echo "$o" | $PY -c "import json,sys; d=json.load(sys.stdin); d.update(key='ort_b${B}t${T}', load1=max($l, $(load1))); print(json.dumps(d))")"
    log "round $r ORT batch $B threads $T: $o"
    l=$(load1)
    "$BUILD/bench/fg_embedder_bench" --benchmark_filter="BM_ResNet50/batch:$B/threads:$T/avx512:$AVX512/" \
      --benchmark_format=json > "$WORK/fg_emb.json" 2>/dev/null
    ms=$(gb_ms "$WORK/fg_emb.json" ms_per_image)
    emit "{\"key\":\"fg_b${B}t${T}\",\"ms_per_image\":$ms,\"load1\":$(echo "$l $(load1)" | tr ' ' '\n' | sort -g | tail -1)}"
    log "round $r facegate batch $B threads $T: $ms ms/image"
  done
  l=$(load1)
  o=$($PY "$ROOT/bench/compare/mtcnn_torch.py" "$DATA/mtcnn" "$FRAME" --seconds 6 --threads 1)
  echo "$o" > "$WORK/torch_detect.json"
  emit "$(echo "$o" | $PY -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'key':'torch_mtcnn','ms_per_photo':d['ms_per_photo'],'gflop':d['gflop'],'load1':max($l, $(load1))}))")"
  log "round $r torch MTCNN: $(echo "$o" | cut -c1-160)"
  l=$(load1)
  "$BUILD/bench/fg_mtcnn_bench" --benchmark_filter='BM_Detect/frame640x480/threads:1/' \
    --benchmark_format=json > "$WORK/fg_mtcnn.json" 2>/dev/null
  ms=$(gb_ms "$WORK/fg_mtcnn.json" ms_per_photo)
  emit "{\"key\":\"fg_mtcnn\",\"ms_per_photo\":$ms,\"load1\":$(echo "$l $(load1)" | tr ' ' '\n' | sort -g | tail -1)}"
  log "round $r facegate MTCNN: $ms ms/photo"
done

# --- same detections: facegate detect vs the torch pipeline on the same frame
DET=$($PY - "$WORK/fg_detect.jsonl" "$WORK/torch_detect.json" <<'PY'
import json, sys
fg = json.loads(open(sys.argv[1]).readline())["faces"]
th = json.load(open(sys.argv[2]))["faces"]
d = [min((max(abs(a - b) for a, b in zip(f["box"], t["box"])) for f in fg), default=float("inf")) for t in th]
print(f"facegate {len(fg)} faces, torch {len(th)} faces, max box diff {max(d, default=0):.3f} px")
PY
)

# --- memory: peak RSS of facegate embed (8 images, 1 thread) vs the weights file
/usr/bin/time -v "$BUILD/facegate" embed --model "$R/model.fgw" "${IMGS[@]}" --threads 1 > /dev/null 2> "$WORK/time.txt"
RSS_KB=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
W_B=$(stat -c %s "$R/model.fgw")
emit "{\"key\":\"rss\",\"rss_mib\":$(echo "$RSS_KB / 1024" | bc -l),\"weights_mib\":$(echo "$W_B / 1048576" | bc -l),\"load1\":$(load1)}"
ORT_DIFF=$(grep -h '"ort_b1t1"' "$RES" | head -1 | $PY -c "import json,sys; print(f\"{json.load(sys.stdin)['max_abs_diff_vs_torch']:.2e}\")")
emit "$($PY -c "import json,sys; print(json.dumps({'key':'checks','embedding max |facegate - torch|':sys.argv[1],'embedding max |ORT - torch|':sys.argv[2],'MTCNN 640x480 detections':sys.argv[3],'torch pipeline on bbt2.jpg vs golden':sys.argv[4]}))" "$EMB_DIFF" "$ORT_DIFF" "$DET" "$GOLD")"

echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
$PY "$ROOT/bench/compare/summarize.py" "$RES"
