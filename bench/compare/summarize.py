"""Reads the JSON lines bench/compare.sh collected and prints the side-by-side table (markdown).

usage: summarize.py RESULTS.jsonl
Each target's ratio uses the median over rounds of each side; every row shows the 1-minute
load average seen during its measurements (the machine is shared)."""
import json
import statistics
import sys

RESNET_GFLOP = 2.153  # per 112x112 image, 2 x 1.076 G multiply-adds + head


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    by = {}
    for r in rows:
        by.setdefault(r["key"], []).append(r)

    def med(key, field):
        v = [r[field] for r in by.get(key, [])]
        return statistics.median(v) if v else float("nan")

    def best(key, field):
        v = [r[field] for r in by.get(key, [])]
        return min(v) if v else float("nan")

    def loads(*keys):
        v = [r["load1"] for k in keys for r in by.get(k, [])]
        return f"{min(v):.2f}–{max(v):.2f}" if v else "?"

    peak, avx2 = med("fma_peak", "gflops"), med("fma_peak_avx2", "gflops")
    print(f"FMA peak, one core, of the FMAs facegate's GEMM tiles issue (fg_kernels_bench BM_fma_peak, or "
          f"BM_fma_peak_avx512 when the AVX-512 tiles are picked): {peak:.1f} GFLOP/s; the build's AVX2 FMAs: "
          f"{avx2:.1f} GFLOP/s  (load {loads('fma_peak', 'fma_peak_avx2')})\n")
    print("| target | facegate | peer | ratio | goal | met | % of FMA peak (fg / peer) | load avg |")
    print("| --- | ---: | ---: | ---: | --- | --- | --- | --- |")
    fg1, ort1 = med("fg_b1t1", "ms_per_image"), med("ort_b1t1", "ms_per_image")
    r1 = fg1 / ort1
    p = lambda ms, cores=1: 100 * RESNET_GFLOP / (ms / 1e3) / (peak * cores)
    print(f"| 1. embedder batch 1, 1 thread (ms/image) | {fg1:.1f} | {ort1:.1f} (ORT) | {r1:.2f} (fg ÷ ORT) | ≤ 0.75 | "
          f"{'yes' if r1 <= 0.75 else 'no'} | {p(fg1):.0f}% / {p(ort1):.0f}% | {loads('fg_b1t1', 'ort_b1t1')} |")
    fg8, ort8 = med("fg_b8t2", "ms_per_image"), med("ort_b8t2", "ms_per_image")
    r2 = ort8 / fg8
    print(f"| 2. embedder batch 8, 2 threads (ms/image) | {fg8:.1f} | {ort8:.1f} (ORT) | {r2:.2f} (fg ÷ ORT throughput) | ≥ 1.2 | "
          f"{'yes' if r2 >= 1.2 else 'no'} | {p(fg8, 2):.0f}% / {p(ort8, 2):.0f}% of 2 cores | {loads('fg_b8t2', 'ort_b8t2')} |")
    fgm, thm = med("fg_mtcnn", "ms_per_photo"), med("torch_mtcnn", "ms_per_photo")
    gflop = med("torch_mtcnn", "gflop")
    floor = gflop / peak * 1e3
    r3 = thm / fgm
    print(f"| 3a. MTCNN 640×480, 1 thread (ms/photo) | {fgm:.1f} | {thm:.0f} (torch pipeline) | {r3:.1f}× faster | ≥ 20× | "
          f"{'yes' if r3 >= 20 else 'no'} | {100 * floor / fgm:.0f}% / {100 * floor / thm:.1f}% | {loads('fg_mtcnn', 'torch_mtcnn')} |")
    r4 = fgm / floor
    print(f"| 3b. MTCNN vs FLOP floor ({gflop:.2f} GFLOP ÷ peak = {floor:.1f} ms; at the AVX2 peak "
          f"{gflop / avx2 * 1e3:.1f} ms) | {fgm:.1f} | {floor:.1f} (floor) | {r4:.2f}× floor "
          f"({fgm / (gflop / avx2 * 1e3):.2f}× the AVX2 one) | ≤ 3× | {'yes' if r4 <= 3 else 'no'} | | |")
    rss = by.get("rss", [{}])[-1]
    if rss:
        lim = rss["weights_mib"] + 100
        print(f"| 4. peak RSS of `facegate embed` (MiB) | {rss['rss_mib']:.1f} | weights {rss['weights_mib']:.1f} | "
              f"{rss['rss_mib'] - rss['weights_mib']:+.1f} MiB | ≤ weights + 100 | {'yes' if rss['rss_mib'] <= lim else 'no'} | | {rss['load1']:.2f} |")
    print()
    b1 = best("fg_b1t1", "ms_per_image") / best("ort_b1t1", "ms_per_image")
    b2 = best("ort_b8t2", "ms_per_image") / best("fg_b8t2", "ms_per_image")
    b3 = best("torch_mtcnn", "ms_per_photo") / best("fg_mtcnn", "ms_per_photo")
    b4 = best("fg_mtcnn", "ms_per_photo") / floor
    print(f"Best-of-rounds (least disturbed by other load): 1. {b1:.2f}  2. {b2:.2f}  3a. {b3:.1f}×  3b. {b4:.2f}× floor\n")
    chk = by.get("checks", [{}])[-1]
    for k, v in chk.items():
        if k != "key":
            print(f"- {k}: {v}")
    print(f"- rounds: {len(by.get('fg_b1t1', []))}; per-round values (ms): " + "; ".join(
        f"{k} " + "/".join(f"{r.get('ms_per_image', r.get('ms_per_photo', 0)):.1f}" for r in by[k])
        for k in ("fg_b1t1", "ort_b1t1", "fg_b8t2", "ort_b8t2", "fg_mtcnn", "torch_mtcnn") if k in by))


if __name__ == "__main__":
    main()
