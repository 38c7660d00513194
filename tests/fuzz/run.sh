#!/bin/sh
# Fuzz smoke: builds the libFuzzer targets with clang (ASan + UBSan), writes their seed
# corpora, runs each target for SECONDS, and exits non-zero on any crash, leak, timeout,
# out-of-memory or sanitizer report, naming the target, its log and the reproducer.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]
#
# FUZZ_BUILD_DIR (default build-fuzz/ at the repository root) holds the build, the growing
# corpora (corpus/<target>), the logs and the reproducers (crashes/<target>/). Targets run
# FUZZ_PARALLEL at a time (default: one per core).
# Reproduce one with: <build>/tests/fuzz/<target> <artifact file>
set -eu

usage() { echo "usage: tests/fuzz/run.sh SECONDS [TARGET...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
seconds=$1
shift
case $seconds in '' | *[!0-9]*) usage ;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=${*:-fuzz_checkpoint fuzz_checkpoint_pickle fuzz_fgw fuzz_index fuzz_chroma fuzz_tflite fuzz_tfjs fuzz_image_decode}
jobs=$(nproc 2>/dev/null || echo 2)

echo "== configure and build ($build)"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DFACEGATE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$jobs" --target fuzz_all

echo "== seed corpora"
seeds=$build/seeds
rm -rf "$seeds"
# The checkpoint seeds are small real checkpoints written by PyTorch (the reference interpreter
# of the tests); without it the checkpoint targets start from an empty corpus.
checkpoints=
python=${FACEGATE_PYTHON:-/usr/bin/python3}
torch_dir=$build/torch-checkpoints
if [ ! -f "$torch_dir/manifest.json" ] && "$python" -c 'import torch' >/dev/null 2>&1; then
  "$python" "$root/tests/tools/make_checkpoints.py" "$torch_dir" >"$build/make_checkpoints.log" 2>&1 ||
    echo "make_checkpoints.py failed (see $build/make_checkpoints.log)"
fi
if [ -d "$torch_dir" ]; then
  checkpoints=$(find "$torch_dir" -name '*.pt' -size -64k | sort)
fi
[ -n "$checkpoints" ] ||
  echo "no checkpoint seeds ($python has no torch): the checkpoint targets start from an empty corpus"
# shellcheck disable=SC2086 # word splitting of the file list is wanted
"$build/tests/fuzz/fuzz_seeds" "$seeds" $checkpoints

# One target: its exit status goes to logs/<target>.status.
run_target() {
  target=$1
  corpus=$build/corpus/$target
  artifacts=$build/crashes/$target
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/*
  seed_dir=$seeds/${target#fuzz_}
  [ -d "$seed_dir" ] || seed_dir=""
  status=0
  # shellcheck disable=SC2086 # an empty $seed_dir must vanish
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -timeout=20 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" $seed_dir >"$build/logs/$target.log" 2>&1 || status=$?
  echo "$status" >"$build/logs/$target.status"
}

# Targets run side by side, FUZZ_PARALLEL at a time (default: one per core).
parallel=${FUZZ_PARALLEL:-$jobs}
mkdir -p "$build/logs"
echo "== running: $targets ($seconds s each, $parallel at a time)"
running=0
pids=""
for target in $targets; do
  rm -f "$build/logs/$target.status"
  run_target "$target" &
  pids="$pids $!"
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    for pid in $pids; do wait "$pid" || true; done
    pids=""
    running=0
  fi
done
for pid in $pids; do wait "$pid" || true; done

failed=""
for target in $targets; do
  log=$build/logs/$target.log
  artifacts=$build/crashes/$target
  status=$(cat "$build/logs/$target.status" 2>/dev/null || echo "not run")
  found=$(ls "$artifacts" 2>/dev/null | head -n 5)
  if [ "$status" != 0 ] || [ -n "$found" ] || grep -q "runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$log"; then
    echo "FAIL $target (exit $status); log: $log"
    grep -m 3 "ERROR:\|runtime error:\|SUMMARY:\|==.*deadly signal" "$log" || tail -n 20 "$log"
    for a in $found; do echo "  reproducer: $artifacts/$a  (run: $build/tests/fuzz/$target $artifacts/$a)"; done
    failed="$failed $target"
  else
    echo "ok   $target: $(grep -m 1 "stat::number_of_executed_units" "$log" | sed "s/.*: *//") runs," \
      "peak RSS $(grep -m 1 "stat::peak_rss_mb" "$log" | sed "s/.*: *//") MB"
  fi
done

if [ -n "$failed" ]; then
  echo "fuzz smoke FAILED:$failed"
  exit 1
fi
echo "fuzz smoke passed: $targets"
