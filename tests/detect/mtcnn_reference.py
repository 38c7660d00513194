"""PyTorch reference for tests/detect/mtcnn_nets_test.cpp.

Builds MTCNN's P-, R- and O-Net as torch modules (the architecture facenet-pytorch publishes),
loads facenet-pytorch's state dicts with torch.load, runs them on the float32 inputs the C++
test wrote, and writes every output back as raw float32. Also dumps each state-dict tensor,
contiguous, so that the test can check the converter copied the values exactly.

usage: mtcnn_reference.py WEIGHTS_DIR IO_DIR
  IO_DIR/shapes.json: {"pnet": [n,3,h,w], "rnet": [n,3,24,24], "onet": [n,3,48,48]}
  IO_DIR/<net>_in.bin in, IO_DIR/<net>_<output>.bin and IO_DIR/state/<net>.<key>.bin out.
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn


def stage(conv, channels, pool=None):
    layers = [conv, nn.PReLU(channels)]
    if pool:
        layers.append(nn.MaxPool2d(*pool, ceil_mode=True))
    return layers


class Net(nn.Module):
    """Conv trunk (+ dense layers) and heads, registered under facenet-pytorch's names."""

    def __init__(self, trunk, dense, heads, softmax_head):
        super().__init__()
        self.trunk = trunk
        self.dense = dense
        self.heads = heads
        self.softmax_head = softmax_head
        for name, module in trunk + dense + heads:
            self.add_module(name, module)

    def forward(self, x):
        for _, m in self.trunk:
            x = m(x)
        if self.dense:
            # facenet-pytorch flattens as [n, w, h, c].
            x = x.permute(0, 3, 2, 1).contiguous().view(x.shape[0], -1)
            for _, m in self.dense:
                x = m(x)
        out = {}
        for name, m in self.heads:
            y = m(x)
            out[name] = torch.softmax(y, dim=1) if name == self.softmax_head else y
        return out


def named(prefix_layers):
    out, conv_i, prelu_i, pool_i = [], 0, 0, 0
    for m in prefix_layers:
        if isinstance(m, nn.Conv2d):
            conv_i += 1
            out.append((f"conv{conv_i}", m))
        elif isinstance(m, nn.PReLU):
            prelu_i += 1
            out.append((f"prelu{prelu_i}", m))
        else:
            pool_i += 1
            out.append((f"pool{pool_i}", m))
    return out


def pnet():
    trunk = named(stage(nn.Conv2d(3, 10, 3), 10, (2, 2)) + stage(nn.Conv2d(10, 16, 3), 16) +
                  stage(nn.Conv2d(16, 32, 3), 32))
    heads = [("conv4_1", nn.Conv2d(32, 2, 1)), ("conv4_2", nn.Conv2d(32, 4, 1))]
    return Net(trunk, [], heads, "conv4_1")


def rnet():
    trunk = named(stage(nn.Conv2d(3, 28, 3), 28, (3, 2)) + stage(nn.Conv2d(28, 48, 3), 48, (3, 2)) +
                  stage(nn.Conv2d(48, 64, 2), 64))
    dense = [("dense4", nn.Linear(576, 128)), ("prelu4", nn.PReLU(128))]
    heads = [("dense5_1", nn.Linear(128, 2)), ("dense5_2", nn.Linear(128, 4))]
    return Net(trunk, dense, heads, "dense5_1")


def onet():
    trunk = named(stage(nn.Conv2d(3, 32, 3), 32, (3, 2)) + stage(nn.Conv2d(32, 64, 3), 64, (3, 2)) +
                  stage(nn.Conv2d(64, 64, 3), 64, (2, 2)) + stage(nn.Conv2d(64, 128, 2), 128))
    dense = [("dense5", nn.Linear(1152, 256)), ("prelu5", nn.PReLU(256))]
    heads = [("dense6_1", nn.Linear(256, 2)), ("dense6_2", nn.Linear(256, 4)), ("dense6_3", nn.Linear(256, 10))]
    return Net(trunk, dense, heads, "dense6_1")


# Output names the C++ side uses, per head.
OUTPUTS = {
    "pnet": {"conv4_1": "prob", "conv4_2": "reg"},
    "rnet": {"dense5_1": "prob", "dense5_2": "reg"},
    "onet": {"dense6_1": "prob", "dense6_2": "reg", "dense6_3": "landmarks"},
}


def main():
    weights_dir, io_dir = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    shapes = json.load(open(os.path.join(io_dir, "shapes.json")))
    os.makedirs(os.path.join(io_dir, "state"), exist_ok=True)
    for name, make in (("pnet", pnet), ("rnet", rnet), ("onet", onet)):
        state = torch.load(os.path.join(weights_dir, name + ".pt"), map_location="cpu")
        for key, t in state.items():
            t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(io_dir, "state", f"{name}.{key}.bin"))
        net = make().eval()
        net.load_state_dict(state, strict=True)
        x = np.fromfile(os.path.join(io_dir, name + "_in.bin"), dtype="<f4").reshape(shapes[name])
        with torch.no_grad():
            out = net(torch.from_numpy(x))
        for head, label in OUTPUTS[name].items():
            out[head].numpy().astype("<f4").tofile(os.path.join(io_dir, f"{name}_{label}.bin"))


if __name__ == "__main__":
    main()
