"""Builds the reference the C++ parity tests compare against.

Creates the trainer's ArcFace ResNet-50 (torchvision resnet50 backbone, BN1d -> Linear ->
BN1d head) with random weights and non-trivial BatchNorm statistics, saves it in every
checkpoint variant `facegate convert` accepts, and writes PyTorch's embeddings of the given
images for each variant.

usage: make_resnet_checkpoint.py OUTDIR [IMAGE...]
writes OUTDIR/<variant>.pt, OUTDIR/<variant>.ref.json ({image path: [512 floats]}),
OUTDIR/noise_*.png test images, OUTDIR/resnet18.pt (another architecture),
OUTDIR/not_a_checkpoint.zip, OUTDIR/variants.txt (one variant per line).
"""
import json
import os
import sys
import zipfile
from collections import OrderedDict

import cv2
import numpy as np
import torch
import torch.nn as nn
import torchvision

torch.manual_seed(1234)
rng = np.random.default_rng(1234)


class Head(nn.Module):
    def __init__(self, dim=512):
        super().__init__()
        self.bn1 = nn.BatchNorm1d(2048)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(2048, dim, bias=False)
        self.bn2 = nn.BatchNorm1d(dim, affine=False)

    def forward(self, x):
        x = self.fc(self.dropout(self.bn1(x)))
        return nn.functional.normalize(self.bn2(x), dim=1)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet50()
        self.backbone.fc = nn.Identity()
        self.head = Head()

    def forward(self, x):
        return self.head(self.backbone(x))


class FaceModel(nn.Module):
    def __init__(self, num_classes=100):
        super().__init__()
        self.backbone = Backbone()
        self.loss_head = nn.Linear(512, num_classes, bias=False)


def randomise_batchnorm(model):
    """Random affine parameters, then running statistics measured on varied inputs.

    Purely random statistics let a deep random network map every input to nearly the same
    embedding, which would make parity trivial; calibrated ones keep embeddings apart."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
                if m.affine:
                    m.weight.copy_(torch.rand(m.num_features) * 0.8 + 0.6)
                    m.bias.copy_(torch.randn(m.num_features) * 0.1)
        model.train()
        for _ in range(3):
            noise = torch.rand(8, 3, 112, 112) * 2 - 1
            smooth = nn.functional.interpolate(torch.rand(8, 3, 7, 7) * 2 - 1, size=112, mode="bilinear")
            model.backbone(torch.cat([noise, smooth]))
        model.eval()


def preprocess(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb.shape[:2] != (112, 112):
        rgb = cv2.resize(rgb, (112, 112), interpolation=cv2.INTER_LINEAR)
    x = (rgb.astype(np.float32) - 127.5) / 127.5
    return torch.from_numpy(x.transpose(2, 0, 1).copy())


def embeddings(state, images):
    model = FaceModel()
    model.load_state_dict(state, strict=True)
    net = model.backbone.eval()
    with torch.no_grad():
        out = net(torch.stack([preprocess(p) for p in images]))
    return {p: e.tolist() for p, e in zip(images, out)}


def as_views(state):
    """Every float tensor becomes a non-contiguous view, 1-D ones narrowed out of one shared storage."""
    flat = [t for t in state.values() if t.dim() == 1 and t.is_floating_point()]
    shared = torch.cat([t.flatten() for t in flat]) if flat else None
    out, offset = OrderedDict(), 0
    for k, t in state.items():
        if t.dim() == 1 and t.is_floating_point():
            out[k] = shared.narrow(0, offset, t.numel())
            offset += t.numel()
        elif t.dim() >= 2:
            out[k] = t.transpose(0, 1).contiguous().transpose(0, 1)
            assert not out[k].is_contiguous()
        else:
            out[k] = t
    return out


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        asked = args[:1] in (["-h"], ["--help"])
        print(__doc__.strip(), file=sys.stdout if asked else sys.stderr)
        sys.exit(0 if asked else 2)
    outdir, images = args[0], args[1:]
    os.makedirs(outdir, exist_ok=True)
    for name, (h, w) in {"noise_a": (112, 112), "noise_b": (112, 112), "noise_c": (97, 131),
                         "noise_d": (200, 160)}.items():
        path = os.path.join(outdir, name + ".png")
        cv2.imwrite(path, rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))
        images.insert(0, path)

    model = FaceModel()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    x = torch.randn(2, 3, 112, 112)
    loss = model.loss_head(model.backbone(x)).sum()
    loss.backward()
    opt.step()
    sched.step()
    randomise_batchnorm(model)
    state = model.state_dict()

    trainer = {
        "epoch": 42,
        "model_state": state,
        "optimizer_state": opt.state_dict(),
        "scheduler_state": sched.state_dict(),
        "best_val_loss": 4.0,
        "monitor": "val_loss",
        "config": {"model_name": "arcface", "backbone": "resnet50", "embedding_dim": 512},
    }
    variants = {
        "trainer": (trainer, state, {}),
        "bare": (state, state, {}),
        "stripped": (OrderedDict((k.replace("backbone.", "", 1), v) for k, v in state.items()), state, {}),
        "module": (OrderedDict(("module." + k, v) for k, v in state.items()), state, {}),
        "views": ({"model_state": as_views(state)}, state, {}),
        "legacy": ({"model_state": state}, state, {"_use_new_zipfile_serialization": False}),
    }
    for dtype, name in ((torch.float16, "fp16"), (torch.bfloat16, "bf16")):
        low = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in state.items())
        variants[name] = ({"model_state": low}, OrderedDict((k, v.float() if v.is_floating_point() else v)
                                                              for k, v in low.items()), {})

    refs = {}
    for name, (obj, ref_state, kwargs) in variants.items():
        torch.save(obj, os.path.join(outdir, name + ".pt"), **kwargs)
        key = id(ref_state)
        if key not in refs:
            refs[key] = embeddings(ref_state, images)
        with open(os.path.join(outdir, name + ".ref.json"), "w") as f:
            json.dump(refs[key], f)
    with open(os.path.join(outdir, "variants.txt"), "w") as f:
        f.write("\n".join(variants) + "\n")

    r18 = torchvision.models.resnet18()
    r18.fc = nn.Identity()
    torch.save(OrderedDict(("backbone.backbone." + k, v) for k, v in r18.state_dict().items()),
               os.path.join(outdir, "resnet18.pt"))
    with zipfile.ZipFile(os.path.join(outdir, "not_a_checkpoint.zip"), "w") as z:
        z.writestr("archive/readme.txt", "hello")


if __name__ == "__main__":
    main()
