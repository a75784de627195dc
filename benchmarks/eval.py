"""Benchmark of `vpskit eval` on full-resolution synthetic data.

Builds a prepared split of at least ``--videos`` videos at 2048x1024 (with ``vpskit synth`` and
``vpskit prepare`` when available, using the synthetic set's train split, which holds most of its
videos; else by drawing the panoptic ground truth directly), writes the noisy-model prediction for
it, then measures in fresh processes (``--repeat`` interleaved runs, the best kept):

- the floor: reading and decoding (Pillow, no conversion) every GT and prediction PNG once, on one
  process;
- ``evaluate`` (VPQ + STQ) with ``--jobs 1`` and ``--jobs 2``: wall time, ratio to the floor,
  speed-up, and peak RSS of the largest process (the evaluating process or one of its workers).

Usage: ``uv run python benchmarks/eval.py [--videos 6] [--work DIR] [--data synth|direct] [--repeat 3]``
(``--work`` keeps the data for the next run.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vpskit import naming, pngio
from vpskit.categories import categories_json, pack_color

WIDTH, HEIGHT = 2048, 1024

_PEAK = r"""
import resource
def peak_kb():
    # This process's own high-water mark (VmHWM: ru_maxrss would include the launching
    # process's, kept across exec) and that of its finished worker processes. No watcher
    # thread: a running thread would change how workers are started.
    with open("/proc/self/status") as fh:
        own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

_FLOOR = _PEAK + r"""
import io, json, sys, time
from pathlib import Path
from PIL import Image
from vpskit import naming
gt_json, gt_dir, pred = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
anns = json.loads(gt_json.read_text())["annotations"]
t0 = time.perf_counter()
for a in anns:
    for path in (gt_dir / a["file_name"], pred / "pan_pred" / naming.pan_pred_file(a["image_id"])):
        with Image.open(io.BytesIO(path.read_bytes())) as img:
            img.load()
sec = time.perf_counter() - t0
time.sleep(0.05)
print(json.dumps({"seconds": sec, "frames": len(anns), "rss_kb": peak_kb()}))
"""

_EVAL = _PEAK + r"""
import json, sys, time
from vpskit.evaluation import evaluate
gt_json, gt_dir, pred, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = time.perf_counter()
res = evaluate(pred, gt_json=gt_json, gt_dir=gt_dir, jobs=jobs, progress=False)
sec = time.perf_counter() - t0
time.sleep(0.1)
print(json.dumps({"seconds": sec, "vpq": res["vpq"]["final"]["all"]["pq"], "stq": res["stq"]["stq"],
                  "rss_kb": peak_kb()}))
"""


def _run(code: str, *args: object) -> tuple[dict, float]:
    """Run ``code`` in a fresh interpreter; its JSON output and the peak RSS (MB) of its largest process."""
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out, out["rss_kb"] / 1024


def _split_for(videos: int) -> tuple[int, str]:
    """Synthetic dataset size whose train split has at least ``videos`` videos."""
    from vpskit.synth import split_assignment

    n = videos
    while split_assignment(n).count("train") < videos:
        n += 1
    return n, "train"


def build_with_synth(work: Path, videos: int) -> tuple[Path, Path]:
    """``vpskit synth`` + ``vpskit prepare``; the GT JSON and PNG folder of the split used."""
    from vpskit.cli import main

    n, split = _split_for(videos)
    down, root = work / "download", work / "cityscapes_vps"
    gt_json = root / naming.panoptic_gt_json(split)
    if not gt_json.is_file():
        if main(["synth", str(down), "--videos", str(n), "--zip"]) != 0:
            raise SystemExit("synth failed")
        if main(["prepare", str(root), str(down / "leftImg8bit_sequence_trainvaltest.zip"),
                 str(down / "gtFine_trainvaltest.zip"), "--release", str(down / "cityscapes-vps-dataset-1.0.zip"),
                 "--splits", split, "--no-progress"]) != 0:
            raise SystemExit("prepare failed")
    return gt_json, root / split / "panoptic_video"


def build_direct(work: Path, videos: int, seed: int = 0) -> tuple[Path, Path]:
    """Full-resolution GT panoptic PNGs and JSON drawn directly (stuff bands, moving objects, crowd)."""
    root = work / "direct"
    gt_json = root / naming.panoptic_gt_json("val")
    gt_dir = root / "val" / "panoptic_video"
    if gt_json.is_file():
        return gt_json, gt_dir
    rng = np.random.default_rng(seed)
    stuff = [(0, (128, 64, 128)), (1, (244, 35, 232)), (2, (70, 70, 70)), (8, (107, 142, 35)), (10, (70, 130, 180))]
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    anns, images = [], []
    for v in range(1, videos + 1):
        objs = [(int(rng.choice([11, 13, 13, 13, 18])), rng.uniform(0, WIDTH, 2), rng.uniform(-40, 40),
                 rng.uniform(60, 260), k) for k in range(int(rng.integers(8, 16)))]
        for j in range(naming.ANNOTATED_PER_VIDEO):
            iid = naming.make_image_id(v, j, naming.FrameKey("frankfurt", v, naming.ANNOTATED_OFFSETS[j]))
            ids = np.zeros((HEIGHT, WIDTH), np.uint32)
            bounds = np.linspace(0, HEIGHT, len(stuff) + 1).astype(int)
            wobble = (40 * np.sin(xx[0] / 150.0 + j / 3)).astype(int)
            for (_cat, color), y0, y1 in zip(stuff[::-1], bounds[:-1], bounds[1:], strict=True):
                ids[(yy >= y0 + wobble[None, :]) & (yy < y1 + wobble[None, :])] = pack_color(color)
            segs = {}
            for cat, color in stuff:
                segs[pack_color(color)] = (cat, 0)
            for cat, (x0, y0), vx, r, k in objs:
                cx, cy = (x0 + vx * j) % WIDTH, HEIGHT * 0.55 + (y0 % 300)
                ya, yb = max(0, int(cy - 0.6 * r)), min(HEIGHT, int(cy + 0.6 * r) + 1)
                xa, xb = max(0, int(cx - r)), min(WIDTH, int(cx + r) + 1)
                m = ((xx[ya:yb, xa:xb] - cx) / r) ** 2 + ((yy[ya:yb, xa:xb] - cy) / (0.6 * r)) ** 2 < 1
                sid = pack_color((k * 7 % 256, 1 + v, 100 + k))
                ids[ya:yb, xa:xb][m] = sid
                segs[sid] = (cat, 0)
            ids[HEIGHT - 60:, : WIDTH // 4] = 0
            crowd = pack_color((220, 20, 61))
            ids[300:420, 1600:1900] = crowd
            segs[crowd] = (11, 1)
            present, counts = np.unique(ids, return_counts=True)
            area = dict(zip(present.tolist(), counts.tolist(), strict=True))
            info = [{"id": s, "category_id": c, "iscrowd": cr, "area": area[s]}
                    for s, (c, cr) in segs.items() if s in area]
            name = naming.cls_file(iid)
            pngio.write_png(gt_dir / name, pngio.id2rgb(ids))
            images.append({"id": str(iid), "file_name": naming.image_file(iid), "width": WIDTH, "height": HEIGHT})
            anns.append({"image_id": str(iid), "file_name": name, "segments_info": info})
    pngio.atomic_write_bytes(gt_json, json.dumps({"images": images, "annotations": anns,
                                                  "categories": categories_json()}).encode())
    return gt_json, gt_dir


def main() -> None:
    """Build the data, run the floor and the evaluations, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=6, help="videos evaluated (>= 6; default 6)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    ap.add_argument("--data", choices=("auto", "synth", "direct"), default="auto",
                    help="how the ground truth is made (auto: synth + prepare if available)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement (the best is kept)")
    args = ap.parse_args()
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="vpskit-bench-")
        args.work = Path(tmp.name)
    args.work.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data == "auto":
        try:
            import vpskit.preparation  # noqa: F401
            import vpskit.synth  # noqa: F401

            data = "synth"
        except ImportError:
            data = "direct"
    t0 = time.perf_counter()
    gt_json, gt_dir = (build_with_synth if data == "synth" else build_direct)(args.work, args.videos)
    pred = args.work / f"pred-{data}"
    if not (pred / "pred.json").is_file():
        from vpskit.perturbation import write_noisy_prediction

        write_noisy_prediction(gt_json, gt_dir, pred, seed=0)
    n_frames = len(json.loads(gt_json.read_text())["annotations"])
    print(f"data: {data}, {n_frames} frames ({n_frames // naming.ANNOTATED_PER_VIDEO} videos) at "
          f"{WIDTH}x{HEIGHT}, built in {time.perf_counter() - t0:.1f} s ({args.work})")

    # Interleave the runs so that a change of load on the machine hits all three alike.
    runs: dict[str, list[tuple[dict, float]]] = {"floor": [], "1": [], "2": []}
    for _ in range(max(1, args.repeat)):
        runs["floor"].append(_run(_FLOOR, gt_json, gt_dir, pred))
        runs["1"].append(_run(_EVAL, gt_json, gt_dir, pred, 1))
        runs["2"].append(_run(_EVAL, gt_json, gt_dir, pred, 2))
    (floor, floor_rss), (one, rss1), (two, rss2) = (
        min(runs[k], key=lambda r: r[0]["seconds"]) for k in ("floor", "1", "2"))
    print(f"floor (read + decode every GT and prediction PNG once, 1 process): {floor['seconds']:.2f} s, "
          f"peak RSS {floor_rss:.0f} MB")
    print(f"eval --jobs 1: {one['seconds']:.2f} s = {one['seconds'] / floor['seconds']:.2f} x floor, "
          f"peak RSS {rss1:.0f} MB  (VPQ {100 * one['vpq']:.2f}, STQ {100 * one['stq']:.2f})")
    print(f"eval --jobs 2: {two['seconds']:.2f} s = {one['seconds'] / two['seconds']:.2f} x faster than "
          f"--jobs 1, peak RSS {rss2:.0f} MB (largest process)")
    if args.repeat > 1:
        print("best of", args.repeat, "interleaved runs; all (s): floor",
              " ".join(f"{r[0]['seconds']:.2f}" for r in runs["floor"]), "| jobs 1",
              " ".join(f"{r[0]['seconds']:.2f}" for r in runs["1"]), "| jobs 2",
              " ".join(f"{r[0]['seconds']:.2f}" for r in runs["2"]))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
