#!/usr/bin/env bash
# Installs the Debian 12 packages facegate builds, runs and tests with, npm (to fetch the
# default weights, tools/fetch-weights.sh) and, for --test, the Node packages of the dlib-resnet
# parity reference into .cache/node (ignored by git).
# Usage: tools/install-deps.sh [--runtime|--test]   (default: --test, everything)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---test}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
build_pkgs=(build-essential cmake pkg-config zlib1g-dev libeigen3-dev libxsimd-dev
  libopencv-dev libhnswlib-dev librocksdb-dev nlohmann-json3-dev libcpp-httplib-dev libssl-dev
  libmongoc-dev libbson-dev libjpeg62-turbo-dev libpng-dev libicu-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev python3-torch python3-torchvision
  python3-numpy python3-opencv strace clang libclang-rt-14-dev
  xvfb xauth xfonts-base xdotool)
pkgs=("${build_pkgs[@]}")
[ "$mode" = "--runtime" ] || pkgs+=("${test_pkgs[@]}")
# Any Node with npm will do (Debian 12's own is 18); only install Debian's when there is none.
command -v npm >/dev/null || pkgs+=(nodejs npm)
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

if [ "$mode" != "--runtime" ]; then
  # Pinned: the parity test compares against exactly these.
  node_pkgs=(@vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0)
  have=$(node -e 'try { console.log(require("./.cache/node/node_modules/@vladmandic/face-api/package.json").version) } catch (e) {}')
  if [ "$have" != 1.7.15 ]; then
    echo "installing into .cache/node: ${node_pkgs[*]}"
    mkdir -p .cache/node
    npm install --prefix .cache/node --no-save --no-audit --no-fund "${node_pkgs[@]}"
  fi
fi
