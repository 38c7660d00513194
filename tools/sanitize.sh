#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer, in build-san/.
# Any sanitizer report (error or leak) makes its test fail; CI runs this after the Release suite.
# Expects the packages of tools/install-deps.sh --test.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACEGATE_SANITIZE=ON -DFACEGATE_BUILD_BENCH=OFF
cmake --build build-san -j "$jobs"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-san --output-on-failure -j "$jobs"
