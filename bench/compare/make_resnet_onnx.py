"""One random ResNet-50 checkpoint, two formats, for bench/compare.sh.

Builds the trainer's ArcFace ResNet-50 (the exact model of tests/e2e/make_resnet_checkpoint.py:
torchvision resnet50 backbone, BN1d -> Linear -> BN1d head, calibrated BatchNorm statistics),
saves it as the trainer's checkpoint dict (what `facegate convert` reads) and exports the
same eval-mode network with torch.onnx.export (dynamic batch) for ONNX Runtime. Also writes
8 face-crop-sized input images (noise) and PyTorch's embeddings of them, so the script can
check that facegate and ONNX Runtime compute the same function before timing them.

usage: make_resnet_onnx.py OUTDIR
writes OUTDIR/model.pt, OUTDIR/model.onnx, OUTDIR/in_b8.bin (8x3x112x112 float32, the
preprocessed images), OUTDIR/img_<i>.png, OUTDIR/ref_b8.bin (8x512 float32, PyTorch).
"""
import os
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
import make_resnet_checkpoint as ref  # noqa: E402  (the model and BatchNorm calibration)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(4321)
    model = ref.FaceModel()
    ref.randomise_batchnorm(model)
    state = model.state_dict()
    torch.save({"epoch": 1, "model_state": state,
                "config": {"model_name": "arcface", "backbone": "resnet50", "embedding_dim": 512}},
               os.path.join(out, "model.pt"))

    rng = np.random.default_rng(99)
    paths = []
    for i in range(8):
        p = os.path.join(out, f"img_{i}.png")
        small = rng.integers(0, 256, size=(14, 14, 3), dtype=np.uint8)
        img = cv2.resize(small, (112, 112), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(p, img)
        paths.append(p)
    x = torch.stack([ref.preprocess(p) for p in paths]).contiguous()
    x.numpy().astype("<f4").tofile(os.path.join(out, "in_b8.bin"))

    net = model.backbone.eval()
    with torch.no_grad():
        net(x).numpy().astype("<f4").tofile(os.path.join(out, "ref_b8.bin"))
        torch.onnx.export(net, x[:1], os.path.join(out, "model.onnx"), input_names=["input"],
                          output_names=["embedding"], opset_version=13,
                          dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}})
    with open(os.path.join(out, "images.txt"), "w") as f:
        f.write("\n".join(paths) + "\n")


if __name__ == "__main__":
    main()
