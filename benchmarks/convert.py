"""Benchmark of `vpskit convert` on a full-resolution split.

Builds a prepared split of ``--videos`` videos at 2048x1024 (``vpskit synth`` + ``vpskit
prepare``, all videos in train), exports its ground truth in each format asked for (``vpskit
export``: a model output with the ground truth's segments), converts it once to have the
outputs, then measures in fresh processes (``--repeat`` interleaved runs, the best kept):

- the floor: decoding (Pillow, no conversion) every input file of the split once, and encoding
  every output PNG once (``pngio.encode_png``, the settings ``convert`` writes with; the output
  images are loaded before the clock starts), on one process;
- ``convert`` with ``--jobs 1``: wall time and ratio to the floor (the goal is at most 1.5x).

Usage: ``uv run python benchmarks/convert.py [--videos 3] [--formats kitti-step,cat-ins]
[--work DIR] [--repeat 1]`` (``--work`` keeps the data for the next run.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import HEIGHT, WIDTH, prepared_split

from vpskit import naming

SPLIT = "train"

_FLOOR = r"""
import io, json, sys, time
from pathlib import Path
import numpy as np
from PIL import Image
from vpskit import pngio
src, pred = Path(sys.argv[1]), Path(sys.argv[2])
inputs = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix in (".png", ".npy")
                and not any(part.startswith(".") for part in p.relative_to(src).parts))
outputs = sorted((pred / "pan_pred").glob("*.png"))
images = [np.array(Image.open(p).convert("RGB")) for p in outputs]  # not timed: the arrays to encode
t0 = time.perf_counter()
for p in inputs:
    data = p.read_bytes()
    if p.suffix == ".npy":
        np.load(io.BytesIO(data))
    else:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
decode = time.perf_counter() - t0
t0 = time.perf_counter()
for rgb in images:
    pngio.encode_png(rgb)
encode = time.perf_counter() - t0
print(json.dumps({"decode": decode, "encode": encode, "seconds": decode + encode,
                  "inputs": len(inputs), "outputs": len(outputs)}))
"""

_CONVERT = r"""
import json, sys, time
from vpskit.conversion import convert
src, out, fmt, root, split, jobs = sys.argv[1:7]
t0 = time.perf_counter()
s = convert(src, out, from_format=fmt, root=root, split=split, jobs=int(jobs), progress=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "frames": s.frames, "objects": s.objects}))
"""


def _run(code: str, *args: object) -> dict:
    """Run ``code`` in a fresh interpreter; its JSON output."""
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build(work: Path, videos: int) -> Path:
    """A prepared root whose train split has ``videos`` videos at full resolution."""
    return prepared_split(work, videos, SPLIT)


def main() -> None:
    """Build the data, run the floor and the conversions, print the figures."""
    from vpskit.exporting import export
    from vpskit.formats import NAMES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=3, help="videos converted (default 3: 18 frames)")
    ap.add_argument("--formats", default=",".join(NAMES), help="comma-separated (default: all)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement (the best is kept)")
    args = ap.parse_args()
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="vpskit-bench-")
        args.work = Path(tmp.name)
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    root = build(args.work, args.videos)
    print(f"data: {args.videos * naming.ANNOTATED_PER_VIDEO} frames ({args.videos} videos) at "
          f"{WIDTH}x{HEIGHT}, built in {time.perf_counter() - t0:.1f} s ({args.work})")
    for fmt in args.formats.split(","):
        src, pred = args.work / f"src-{fmt}", args.work / f"pred-{fmt}"
        if not src.is_dir():
            export(root, src, split=SPLIT, to_format=fmt, progress=False)
        runs: dict[str, list[dict]] = {"floor": [], "convert": []}
        for _ in range(max(1, args.repeat)):
            runs["convert"].append(_run(_CONVERT, src, pred, fmt, root, SPLIT, 1))
            runs["floor"].append(_run(_FLOOR, src, pred))
        floor, conv = (min(runs[k], key=lambda r: r["seconds"]) for k in ("floor", "convert"))
        print(f"{fmt:>13}: floor {floor['seconds']:.2f} s (decode {floor['inputs']} inputs "
              f"{floor['decode']:.2f} s + encode {floor['outputs']} outputs {floor['encode']:.2f} s), "
              f"convert --jobs 1 {conv['seconds']:.2f} s = {conv['seconds'] / floor['seconds']:.2f} x floor")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
