#!/usr/bin/env bash
# Installs the Debian 12 packages facegate builds, runs and tests with.
# Usage: tools/install-deps.sh [--runtime|--test]   (default: --test, everything)
set -euo pipefail
mode=${1:---test}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
build_pkgs=(build-essential cmake pkg-config zlib1g-dev libeigen3-dev libxsimd-dev
  libopencv-dev libhnswlib-dev librocksdb-dev nlohmann-json3-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev python3-torch python3-torchvision
  python3-numpy python3-opencv)
pkgs=("${build_pkgs[@]}")
[ "$mode" = "--runtime" ] || pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
