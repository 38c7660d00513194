#!/usr/bin/env python3
"""Writes the PyTorch checkpoints torch_file_test reads, and what torch.load makes of them.

Usage: make_checkpoints.py OUT_DIR [MTCNN_DIR]

OUT_DIR receives the *.pt fixtures, manifest.json and values.bin. For every loadable fixture
(and the MTCNN files, when MTCNN_DIR is given) manifest.json holds the tree torch.load
returns, encoded as:
  None/bool/str as JSON; int as a JSON int ({"bigint": hex} beyond int64, the bytes pickle's
  LONG1 stores); float as a JSON float; bytes {"bytes": hex}; {"list": [...]};
  {"tuple": [...]}; dict and OrderedDict {"dict": [[key, value], ...]};
  tensor {"tensor": {"dtype", "shape", "offset", "count"}}, whose values, converted to
  float32 by torch, are float32 little-endian at element `offset` of values.bin.
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

OUT = sys.argv[1]
MTCNN = sys.argv[2] if len(sys.argv) > 2 else None
values = bytearray()


def encode(x):
    if isinstance(x, torch.Tensor):
        flat = x.detach().to(torch.float32).contiguous().reshape(-1)
        offset = len(values) // 4
        values.extend(flat.numpy().astype('<f4').tobytes())
        return {"tensor": {"dtype": str(x.dtype).replace("torch.", ""), "shape": list(x.shape),
                           "offset": offset, "count": flat.numel()}}
    if x is None or isinstance(x, (bool, str, float)):
        return x
    if isinstance(x, int):
        return x if -2**63 <= x < 2**63 else {"bigint": pickle.encode_long(x).hex()}
    if isinstance(x, bytes):
        return {"bytes": x.hex()}
    if isinstance(x, list):
        return {"list": [encode(v) for v in x]}
    if isinstance(x, tuple):
        return {"tuple": [encode(v) for v in x]}
    if isinstance(x, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in x.items()]}
    raise TypeError(f"no encoding for {type(x)}")


def path(name):
    return os.path.join(OUT, name)


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16, 5))


def nested():
    model = small_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model(torch.randn(2, 3, 4, 4)).square().sum().backward()
    opt.step()
    return {
        "epoch": 7, "best": 0.8125, "lr": 1e-300, "neg": -123456789012, "big": 2**40,
        "int_min": -2**63, "huge": 2**70, "neg_huge": -(2**70) - 5,
        "name": "résumé ✓ 𝄞", "flags": [True, False, None], "tuple": (1, -2, 3.5),
        "bytes": b"\x00\x01\xfe\xff", "ebytes": b"", "empty": {}, "etuple": (), "elist": [],
        "nested": {"a": {"b": [1, {"c": (None,)}]}, 3: "int key"},
        "model": model.state_dict(), "optimizer": opt.state_dict(),
    }


def dtypes():
    torch.manual_seed(1)
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, float("inf"),
                            float("-inf"), float("nan")])
    return {
        "f16": torch.cat([special.half(), torch.randn(6).half()]).reshape(2, 8),
        "bf16": torch.cat([special.bfloat16(), torch.randn(5).bfloat16()]).reshape(3, 5),
        "f64": torch.tensor([1 / 3, -1e300, 1e-300, 2.0**-149, 123456789.123], dtype=torch.float64),
        "f32": torch.randn(2, 3, 4),
        "i64": torch.tensor([0, -1, 2**40 + 1, 2**62, -2**63], dtype=torch.int64),
        "i32": torch.tensor([[7, -8], [2**31 - 1, -2**31]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
    }


def views():
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
    flat = torch.arange(100, dtype=torch.float64)
    shared = torch.arange(12, dtype=torch.float32)
    return {
        "base": base,
        "transposed": base.transpose(0, 2),
        "permuted": base.permute(1, 2, 0),
        "sliced": base[:, 1:3, ::2],
        "narrow": flat.narrow(0, 7, 20),
        "narrow_2d": flat.narrow(0, 30, 40).reshape(5, 8)[1:4, 2:7],
        "first_half": shared[:6].reshape(2, 3),
        "second_half": shared[6:].reshape(3, 2).t(),
        "expanded": torch.arange(3.0).reshape(3, 1).expand(3, 4),
        "param": torch.nn.Parameter(torch.arange(6.0).reshape(2, 3).t()),
        "half_view": torch.arange(24, dtype=torch.float16).reshape(4, 6)[1:, ::3],
    }


def rezip(src, dst, *, compression=zipfile.ZIP_STORED, extra=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        top = zin.namelist()[0].split("/")[0]
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        for name, data in (extra or {}).items():
            zout.writestr(f"{top}/{name}", data)


def zip64_copy(src, dst):
    """Re-writes a zip with every size and offset in ZIP64 extra fields and ZIP64 end records."""
    with zipfile.ZipFile(src) as zin:
        entries = [(i.filename.encode(), zin.read(i.filename), i.CRC) for i in zin.infolist()]
    out, central = bytearray(), bytearray()
    for name, data, crc in entries:
        offset = len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra)) + name + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(name), len(cextra), 0, 0, 0, 0,
                               0xFFFFFFFF) + name + cextra
    cd_offset, n = len(out), len(entries)
    out += central
    z64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


class FakeStorage:
    def __init__(self, key, numel, dtype=torch.FloatStorage):
        self.key, self.numel, self.dtype = key, numel, dtype


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.dtype, obj.key, "cpu", obj.numel)
        return None


def crafted_zip(dst, obj, storages):
    """A zip checkpoint whose data.pkl we write ourselves (tensors made by FakeTensor)."""
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("crafted/data.pkl", buf.getvalue())
        for key, data in storages.items():
            z.writestr(f"crafted/data/{key}", data)
        z.writestr("crafted/version", b"3\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"files": {}, "mtcnn": {}}

    def save(name, obj, **kwargs):
        torch.save(obj, path(name), **kwargs)
        manifest["files"][name] = encode(torch.load(path(name)))

    sets = {"state_dict": small_model().state_dict(), "nested": nested(), "dtypes": dtypes(),
            "views": views()}
    for stem, obj in sets.items():
        save(f"{stem}.pt", obj)
        save(f"legacy_{stem}.pt", obj, _use_new_zipfile_serialization=False)
    for protocol in (1, 3, 4, 5):
        save(f"nested_p{protocol}.pt", sets["nested"], pickle_protocol=protocol)
        save(f"legacy_views_p{protocol}.pt", sets["views"], pickle_protocol=protocol,
             _use_new_zipfile_serialization=False)

    expect = manifest["files"]["views.pt"]
    for name, write in {
        "views_deflated.pt": lambda d: rezip(path("views.pt"), d, compression=zipfile.ZIP_DEFLATED),
        "views_zip64.pt": lambda d: zip64_copy(path("views.pt"), d),
        "views_byteorder.pt": lambda d: rezip(path("views.pt"), d, extra={"byteorder": "little"}),
    }.items():
        write(path(name))
        assert encode(torch.load(path(name))) is not None
        manifest["files"][name] = expect
    rezip(path("views.pt"), path("byteorder_big.pt"), extra={"byteorder": "big"})

    # Not checkpoints, or broken ones.
    with zipfile.ZipFile(path("no_data_pkl.zip"), "w") as z:
        z.writestr("archive/version", b"3\n")
        z.writestr("archive/data/0", b"\0" * 16)
    torch.save({"s": {1, 2}}, path("unknown_opcode.pt"), pickle_protocol=4)  # EMPTY_SET
    floats = struct.pack("<4f", 1, 2, 3, 4)
    crafted_zip(path("view_past_storage.pt"),
                {"w": FakeTensor(FakeStorage("0", 4), 0, (3, 2), (2, 1))}, {"0": floats})
    crafted_zip(path("offset_past_storage.pt"),
                {"w": FakeTensor(FakeStorage("0", 4), 3, (2,), (1,))}, {"0": floats})
    crafted_zip(path("storage_short.pt"),
                {"w": FakeTensor(FakeStorage("0", 8), 0, (2,), (1,))}, {"0": floats})
    crafted_zip(path("storage_missing.pt"),
                {"w": FakeTensor(FakeStorage("1", 4), 0, (2,), (1,))}, {"0": floats})
    crafted_zip(path("crafted_ok.pt"),
                {"w": FakeTensor(FakeStorage("0", 4), 1, (3,), (1,))}, {"0": floats})
    manifest["files"]["crafted_ok.pt"] = encode(torch.load(path("crafted_ok.pt")))

    if MTCNN:
        for net in ("pnet", "rnet", "onet"):
            manifest["mtcnn"][net] = encode(torch.load(os.path.join(MTCNN, f"{net}.pt")))

    with open(path("values.bin"), "wb") as f:
        f.write(values)
    with open(path("manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
