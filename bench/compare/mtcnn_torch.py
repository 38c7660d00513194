"""facenet-pytorch's MTCNN detection pipeline in plain PyTorch, for bench/compare.sh.

facenet-pytorch is not packaged in Debian, so this re-implements its `detect_face` (v2.5/2.6)
step for step on Debian's torch 1.13: the P/R/O-Net modules of tests/detect/mtcnn_reference.py
(F.conv2d nets, facenet-pytorch's layer names and weights), the image pyramid with
`interpolate(mode="area")`, per-scale and cross-scale torchvision batched_nms, bbreg/rerec/pad,
R-Net/O-Net on area-resampled crops, and the final 'Min' NMS in numpy; defaults min face 20,
thresholds 0.6/0.7/0.7, factor 0.709.

usage: mtcnn_torch.py WEIGHTS_DIR IMAGE [--resize WxH] [--seconds S] [--threads N] [--check-golden GOLDEN.json KEY]
Prints one JSON line: median ms per photo, the GFLOP of the convolutions and dense layers the
pipeline ran on this photo (2 x multiply-adds, counted by forward hooks: the FLOP floor's
numerator), the detections, and (with --check-golden) the
largest box/landmark difference against the golden detections.
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops.boxes import batched_nms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "detect"))
import mtcnn_reference as nets  # noqa: E402


def imresample(img, sz):
    return F.interpolate(img, size=sz, mode="area")


def generate_bounding_box(reg, probs, scale, thresh):
    stride, cellsize = 2, 12
    reg = reg.permute(1, 0, 2, 3)
    mask = probs >= thresh
    mask_inds = mask.nonzero()
    image_inds = mask_inds[:, 0]
    score = probs[mask]
    reg = reg[:, mask].permute(1, 0)
    bb = mask_inds[:, 1:].type(reg.dtype).flip(1)
    q1 = ((stride * bb + 1) / scale).floor()
    q2 = ((stride * bb + cellsize - 1 + 1) / scale).floor()
    return torch.cat([q1, q2, score.unsqueeze(1), reg], dim=1), image_inds


def bbreg(box, reg):
    w = box[:, 2] - box[:, 0] + 1
    h = box[:, 3] - box[:, 1] + 1
    b = torch.stack([box[:, 0] + reg[:, 0] * w, box[:, 1] + reg[:, 1] * h,
                     box[:, 2] + reg[:, 2] * w, box[:, 3] + reg[:, 3] * h]).permute(1, 0)
    box[:, :4] = b
    return box


def rerec(box):
    h = box[:, 3] - box[:, 1]
    w = box[:, 2] - box[:, 0]
    l = torch.max(w, h)
    box[:, 0] = box[:, 0] + w * 0.5 - l * 0.5
    box[:, 1] = box[:, 1] + h * 0.5 - l * 0.5
    box[:, 2:4] = box[:, :2] + l.repeat(2, 1).permute(1, 0)
    return box


def pad(boxes, w, h):
    boxes = boxes.trunc().int().cpu().numpy()
    x, y, ex, ey = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    x[x < 1] = 1
    y[y < 1] = 1
    ex[ex > w] = w
    ey[ey > h] = h
    return y, ey, x, ex


def nms_numpy(boxes, scores, threshold, method):
    if boxes.size == 0:
        return np.empty((0,), dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0].copy(), boxes[:, 1].copy(), boxes[:, 2].copy(), boxes[:, 3].copy()
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)
    pick = []
    while order.size > 0:
        i, idx = order[-1], order[:-1]
        pick.append(i)
        xx1 = np.maximum(x1[i], x1[idx])
        yy1 = np.maximum(y1[i], y1[idx])
        xx2 = np.minimum(x2[i], x2[idx])
        yy2 = np.minimum(y2[i], y2[idx])
        inter = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        o = inter / np.minimum(area[i], area[idx]) if method == "Min" else inter / (area[i] + area[idx] - inter)
        order = order[np.where(o <= threshold)]
    return np.array(pick, dtype=np.int64)


def batched_nms_numpy(boxes, scores, idxs, threshold, method):
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + 1)
    b = (boxes + offsets[:, None]).numpy()
    return torch.as_tensor(nms_numpy(b, scores.numpy(), threshold, method))


def crops(imgs, boxes, image_inds, w, h, size):
    y, ey, x, ex = pad(boxes, w, h)
    out = []
    for k in range(len(y)):
        if ey[k] > (y[k] - 1) and ex[k] > (x[k] - 1):
            img_k = imgs[image_inds[k], :, (y[k] - 1):ey[k], (x[k] - 1):ex[k]].unsqueeze(0)
            out.append(imresample(img_k, (size, size)))
    return (torch.cat(out, dim=0) - 127.5) * 0.0078125


def detect_face(rgb, pnet, rnet, onet, minsize=20, threshold=(0.6, 0.7, 0.7), factor=0.709):
    imgs = torch.as_tensor(rgb.copy()).unsqueeze(0).permute(0, 3, 1, 2).float()
    h, w = imgs.shape[2:4]
    m = 12.0 / minsize
    minl = min(h, w) * m
    scale_i, scales = m, []
    while minl >= 12:
        scales.append(scale_i)
        scale_i *= factor
        minl *= factor
    boxes, image_inds, scale_picks, offset = [], [], [], 0
    for scale in scales:
        im_data = imresample(imgs, (int(h * scale + 1), int(w * scale + 1)))
        im_data = (im_data - 127.5) * 0.0078125
        out = pnet(im_data)
        boxes_scale, inds_scale = generate_bounding_box(out["conv4_2"], out["conv4_1"][:, 1], scale, threshold[0])
        boxes.append(boxes_scale)
        image_inds.append(inds_scale)
        pick = batched_nms(boxes_scale[:, :4], boxes_scale[:, 4], inds_scale, 0.5)
        scale_picks.append(pick + offset)
        offset += boxes_scale.shape[0]
    boxes, image_inds = torch.cat(boxes, dim=0), torch.cat(image_inds, dim=0)
    scale_picks = torch.cat(scale_picks, dim=0)
    boxes, image_inds = boxes[scale_picks], image_inds[scale_picks]
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds = boxes[pick], image_inds[pick]
    regw = boxes[:, 2] - boxes[:, 0]
    regh = boxes[:, 3] - boxes[:, 1]
    boxes = torch.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                         boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh,
                         boxes[:, 4]]).permute(1, 0)
    boxes = rerec(boxes)
    counts = {"pnet_scales": len(scales), "rnet_in": int(len(boxes))}
    if len(boxes) > 0:
        out = rnet(crops(imgs, boxes, image_inds, w, h, 24))
        score = out["dense5_1"][:, 1]
        ipass = score > threshold[1]
        boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
        image_inds = image_inds[ipass]
        mv = out["dense5_2"][ipass]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
        boxes, image_inds, mv = boxes[pick], image_inds[pick], mv[pick]
        boxes = rerec(bbreg(boxes, mv))
    counts["onet_in"] = int(len(boxes))
    points = torch.zeros(0, 5, 2)
    if len(boxes) > 0:
        out = onet(crops(imgs, boxes, image_inds, w, h, 48))
        score = out["dense6_1"][:, 1]
        pts = out["dense6_3"].permute(1, 0)
        ipass = score > threshold[2]
        pts = pts[:, ipass]
        boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
        image_inds = image_inds[ipass]
        mv = out["dense6_2"][ipass]
        w_i = boxes[:, 2] - boxes[:, 0] + 1
        h_i = boxes[:, 3] - boxes[:, 1] + 1
        px = w_i.repeat(5, 1) * pts[:5, :] + boxes[:, 0].repeat(5, 1) - 1
        py = h_i.repeat(5, 1) * pts[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
        points = torch.stack((px, py)).permute(2, 1, 0)
        boxes = bbreg(boxes, mv)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image_inds, 0.7, "Min")
        boxes, points = boxes[pick], points[pick]
    return boxes.numpy(), points.numpy(), counts


def count_flops(nets_):
    """Forward hooks summing 2 x multiply-adds of every Conv2d and Linear actually run."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            total[0] += 2 * k * out.numel()
        elif isinstance(m, torch.nn.Linear):
            total[0] += 2 * m.in_features * out.numel()

    handles = [m.register_forward_hook(hook) for n in nets_ for m in n.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    return total, handles


def load(weights_dir):
    out = []
    for name, make in (("pnet", nets.pnet), ("rnet", nets.rnet), ("onet", nets.onet)):
        net = make().eval()
        net.load_state_dict(torch.load(os.path.join(weights_dir, name + ".pt"), map_location="cpu"), strict=True)
        out.append(net)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights_dir")
    ap.add_argument("image")
    ap.add_argument("--resize", default="")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-golden", nargs=2, metavar=("GOLDEN", "KEY"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    bgr = cv2.imread(a.image, cv2.IMREAD_COLOR)
    if a.resize:
        w, h = map(int, a.resize.split("x"))
        bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    pnet, rnet, onet = load(a.weights_dir)
    with torch.no_grad():
        flops, handles = count_flops((pnet, rnet, onet))
        boxes, points, counts = detect_face(rgb, pnet, rnet, onet)
        for hd in handles:
            hd.remove()
        times, start = [], time.perf_counter()
        while len(times) < 3 or time.perf_counter() - start < a.seconds:
            t0 = time.perf_counter()
            detect_face(rgb, pnet, rnet, onet)
            times.append((time.perf_counter() - t0) * 1e3)
    faces = [{"box": [round(float(v), 3) for v in b[:4]], "prob": float(b[4]),
              "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in p]} for b, p in zip(boxes, points)]
    res = {"engine": f"torch {torch.__version__} (mtcnn_torch.py)", "threads": a.threads,
           "width": rgb.shape[1], "height": rgb.shape[0], "ms_per_photo": float(np.median(times)),
           "runs": len(times), "counts": counts, "gflop": flops[0] / 1e9, "faces": faces}
    if a.check_golden:
        gold = json.load(open(a.check_golden[0]))[a.check_golden[1]]["faces"]
        res["golden_faces"] = len(gold)
        diffs = []
        for g in gold:
            best = min((max(abs(x - y) for x, y in zip(f["box"], g["box"])) for f in faces), default=float("inf"))
            diffs.append(best)
        res["golden_max_box_diff"] = max(diffs) if diffs else 0.0
    print(json.dumps(res))


if __name__ == "__main__":
    main()
