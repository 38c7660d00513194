#!/usr/bin/env bash
# The main job: attendance at a door. Converts the weights the admin placed in weights/
# (once), then runs facegate on the camera. Says exactly which file is missing, and where
# to get it, instead of failing later.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/facegate
[ -x "$bin" ] || { echo "door: $bin is not built: run tools/setup.sh run" >&2; exit 1; }

missing=0
if [ ! -f weights/resnet50.fgw ] && [ ! -f weights/model.pt ]; then
  cat >&2 <<MSG
door: missing the face embedding model.
  Put the ArcFace ResNet-50 checkpoint at   weights/model.pt
  (model.pt of the "ArcFace Industrial Face Recognition" model card, ResNet-50 trained on
  VGGFace2 by AbdoSaad24, published on Hugging Face), then run this again; it is converted
  to weights/resnet50.fgw with: $bin convert weights/model.pt -o weights/resnet50.fgw
MSG
  missing=1
fi
for net in pnet rnet onet; do
  if [ ! -f weights/mtcnn.fgw ] && [ ! -f "weights/mtcnn/$net.pt" ]; then
    cat >&2 <<MSG
door: missing the MTCNN face detector weights: weights/mtcnn/$net.pt
  (data/$net.pt of facenet-pytorch by timesler, MIT licence, on GitHub and in the
  facenet-pytorch package on PyPI)
MSG
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 2

if [ ! -f weights/resnet50.fgw ]; then
  "$bin" convert weights/model.pt -o weights/resnet50.fgw
fi
if [ ! -f weights/mtcnn.fgw ]; then
  "$bin" convert weights/mtcnn/pnet.pt weights/mtcnn/rnet.pt weights/mtcnn/onet.pt -o weights/mtcnn.fgw
fi
if ! "$bin" --help | grep -q '^  attend '; then
  echo "door: this build of facegate has no 'attend' command yet; weights are ready in weights/" >&2
  exit 1
fi
exec "$bin" attend --source "${FACEGATE_SOURCE:-0}" --db "${FACEGATE_DB:-facegate.db}" \
  --model weights/resnet50.fgw --detector weights/mtcnn.fgw
