#!/usr/bin/env bash
# CTest fixture: builds the random-weight ResNet-50 checkpoints and PyTorch's reference
# embeddings (make_resnet_checkpoint.py) into $1, once per build directory.
# Exits 77 (CTest: skipped) when Debian's python3-torch/torchvision are not installed.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
py=${FACEGATE_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, torchvision, cv2' 2>/dev/null; then
  echo "SKIPPED: $py cannot import torch, torchvision and cv2 (apt-get install python3-torch python3-torchvision python3-opencv)"
  exit 77
fi
stamp="$out/variants.txt"
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/make_resnet_checkpoint.py" ]; then
  echo "fixture up to date: $out"
  exit 0
fi
data=${FACEGATE_DATA:-$here/../../../shared/data}
images=()
if [ -d "$data/faces" ]; then
  images=("$data"/faces/single/obama.jpg "$data"/faces/single/biden.jpg "$data"/faces/group/two_people.jpg
          "$data"/faces/people/amy/amy1.png "$data"/faces/people/raj/raj2.png)
else
  echo "note: no shared data at $data: parity runs on generated images only"
fi
rm -rf "$out"
mkdir -p "$out"
"$py" "$here/make_resnet_checkpoint.py" "$out" "${images[@]}"
echo "fixture written: $out"
