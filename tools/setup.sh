#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine (as root, or with sudo):
#   tools/setup.sh run    install runtime packages, build, run the door (tools/door.sh)
#   tools/setup.sh test   install everything, build, run every test: the Release suite, the
#                         sanitizer suite (tools/sanitize.sh) and the fuzz smoke (tests/fuzz/run.sh 60)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
  run) tools/install-deps.sh --runtime ;;
  test) tools/install-deps.sh --test ;;
  *) echo "usage: tools/setup.sh run|test" >&2; exit 2 ;;
esac

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $([ "$mode" = run ] && echo "-DFACEGATE_BUILD_TESTS=OFF -DFACEGATE_BUILD_BENCH=OFF")
cmake --build build -j "$jobs"

if [ "$mode" = run ]; then
  exec tools/door.sh
fi
ctest --test-dir build --output-on-failure -j "$jobs"
# FACEGATE_QUICK=1 stops after the Release suite (for development; CI runs all three stages).
[ "${FACEGATE_QUICK:-0}" = 1 ] && exit 0
tools/sanitize.sh
tests/fuzz/run.sh 60
