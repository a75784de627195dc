"""Benchmark of `vpskit eval` on full-resolution synthetic data, against the codec's floors.

Builds a prepared split of the largest ``--videos`` count at 2048x1024 (``vpskit synth`` +
``vpskit prepare``, every video in train) and the noisy-model prediction for it (``vpskit
perturb``), then, for each ``--videos`` count (the first N videos), measures in fresh processes,
``--repeat`` rounds interleaved so that a change of load on the machine hits all alike, the best
of each kept:

- the floors, on one process (with the allocator settings of :mod:`vpskit.memory`, as vpskit
  runs), reading every GT and prediction PNG of the N videos once and:
  inflating its pixel data (zlib-ng: the inflate-only floor); decoding it to segment ids with
  vpskit's reader (``pngio.decode_ids``), also on 2 processes taking alternate videos (what a
  second process gains on this machine for the work evaluation is made of); with pyspng
  (``format="RGBA"`` viewed as uint32, the ids with their top byte unmasked, if pyspng is
  installed); with Pillow (``load()`` only);
- ``evaluate`` (VPQ + STQ) with each ``--jobs``;
- with ``--before DIR`` (a checkout with its own ``.venv``, e.g. ``git worktree add DIR 05ea5a9``
  and ``uv sync`` there), the same evaluation by that code.

Prints, per N: seconds, the ratio to the fastest decoder floor, the CPU seconds (of every process:
``--jobs 2`` adds its workers') and their ratio to the fastest decoder's (steadier than the clock
on a busy machine), and the peak RSS of the largest process (the evaluating process or one of its
workers).

Usage: ``uv run python benchmarks/eval.py [--videos 6,50] [--jobs 1,2] [--work DIR] [--repeat 3]
[--before DIR]`` (``--work`` keeps the data for the next run.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common import HEIGHT, PEAK, WIDTH, prepared_split, round_ratios, run_fresh, work_folder

from vpskit import naming

SPLIT = "train"

_PEAK = PEAK + r"""
gt_json, gt_dir, pred, videos = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
"""

_PNGS = _PEAK + r"""
from vpskit.memory import keep_freed_blocks
keep_freed_blocks()  # the floors run with the allocator settings vpskit runs with
anns = json.loads(gt_json.read_text())["annotations"]
keep = sorted({a["image_id"][:4] for a in anns})[:videos]
paths = [p for a in anns if a["image_id"][:4] in keep
         for p in (gt_dir / a["file_name"], pred / "pan_pred" / (a["image_id"] + ".png"))]
"""

FLOORS = {
    "inflate": _PNGS + r"""
from zlib_ng import zlib_ng
t0, c0 = time.perf_counter(), time.process_time()
for path in paths:
    data = path.read_bytes()
    pos, idat = 8, []
    while data[pos + 4:pos + 8] != b"IEND":
        n = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + n])
        pos += 12 + n
    zlib_ng.decompress(b"".join(idat))
done(time.perf_counter() - t0, cpu=time.process_time() - c0)
""",
    "vpskit decode": _PNGS + r"""
from vpskit import pngio
t0, c0 = time.perf_counter(), time.process_time()
for path in paths:
    pngio.decode_ids(path.read_bytes(), path, reuse=True)
done(time.perf_counter() - t0, cpu=time.process_time() - c0)
""",
    "vpskit decode, 2 processes": _PNGS + r"""
import multiprocessing, os
from vpskit import pngio
def half(part):
    for path in part:
        pngio.decode_ids(path.read_bytes(), path, reuse=True)
videos = sorted({p.name[:4] for p in paths})
parts = [[p for p in paths if videos.index(p.name[:4]) % 2 == k] for k in (0, 1)]
t0, c0 = time.perf_counter(), time.process_time()
procs = [multiprocessing.get_context("fork").Process(target=half, args=(part,)) for part in parts]
for proc in procs:
    proc.start()
for proc in procs:
    proc.join()
t = os.times()
done(time.perf_counter() - t0, cpu=time.process_time() - c0 + t.children_user + t.children_system)
""",
    "pyspng decode": _PNGS + r"""
import pyspng
t0, c0 = time.perf_counter(), time.process_time()
for path in paths:
    pyspng.load(path.read_bytes(), format="RGBA").view("<u4")
done(time.perf_counter() - t0, cpu=time.process_time() - c0)
""",
    "Pillow decode": _PNGS + r"""
import io
from PIL import Image
t0, c0 = time.perf_counter(), time.process_time()
for path in paths:
    with Image.open(io.BytesIO(path.read_bytes())) as img:
        img.load()
done(time.perf_counter() - t0, cpu=time.process_time() - c0)
""",
}

_EVAL = _PEAK + r"""
import os
from vpskit.evaluation import evaluate
jobs = int(sys.argv[5])
anns = json.loads(gt_json.read_text())["annotations"]
keep = sorted({a["image_id"][:4] for a in anns})[:videos]
def cpu():  # this process's and its finished workers'
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
t0, c0 = time.perf_counter(), cpu()
res = evaluate(pred, gt_json=gt_json, gt_dir=gt_dir, jobs=jobs, progress=False, videos=keep)
done(time.perf_counter() - t0, cpu=cpu() - c0, vpq=res["vpq"]["final"]["all"]["pq"], stq=res["stq"]["stq"])
"""


def _has_pyspng() -> bool:
    try:
        import pyspng  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    """Build the data, run the floors and the evaluations interleaved, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default="6,50", help="comma-separated video counts (default 6,50)")
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds (the best of each is kept)")
    ap.add_argument("--before", type=Path, help="a checkout of earlier vpskit with its own .venv, run alike")
    args = ap.parse_args()
    counts = sorted(int(v) for v in args.videos.split(","))
    jobs = [int(j) for j in args.jobs.split(",")]
    floors = [f for f in FLOORS if f != "pyspng decode" or _has_pyspng()]
    before = None
    if args.before is not None:
        before = str(args.before / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    with work_folder(args.work) as work:
        t0 = time.perf_counter()
        root = prepared_split(work, counts[-1], SPLIT)
        gt_json, gt_dir = root / naming.panoptic_gt_json(SPLIT), root / SPLIT / "panoptic_video"
        pred = work / "prediction"
        if not (pred / "pred.json").is_file():
            from vpskit.perturbation import write_noisy_prediction

            write_noisy_prediction(gt_json, gt_dir, pred, seed=0)
        print(f"data: {counts[-1]} videos at {WIDTH}x{HEIGHT} ({work}, {time.perf_counter() - t0:.0f} s); "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs: dict[tuple[int, str], list[dict]] = {}
        for _ in range(max(1, args.repeat)):
            for n in counts:
                common = (gt_json, gt_dir, pred, n)
                for name in floors:
                    runs.setdefault((n, name), []).append(run_fresh(sys.executable, FLOORS[name], *common))
                for j in jobs:
                    runs.setdefault((n, f"eval --jobs {j}"), []).append(run_fresh(sys.executable, _EVAL, *common, j))
                    if before is not None:
                        runs.setdefault((n, f"before --jobs {j}"), []).append(
                            run_fresh(before, _EVAL, *common, j, cwd=args.before))
        print(f"best of {max(1, args.repeat)} interleaved rounds; load average at end "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        head = (f"{'videos':>6}  {'measure':<26} {'seconds':>8} {'x fastest decoder':>18} {'CPU s':>6} "
                f"{'CPU x decoder':>13} {'peak RSS MB':>12}  note")
        print(head)
        print("-" * len(head))
        for n in counts:
            best = {k: min(v, key=lambda r: r["seconds"]) for (m, k), v in runs.items() if m == n}
            decoders = [k for k in best if k.endswith("decode")]
            fastest = min(decoders, key=lambda k: best[k]["seconds"])
            cpu_fastest = min(x["cpu"] for x in runs[n, fastest])
            for name, r in best.items():
                note = ""
                if name == fastest:
                    note = "the fastest decoder floor"
                elif name.startswith("eval --jobs") and name != f"eval --jobs {jobs[0]}":
                    note = (f"{best[f'eval --jobs {jobs[0]}']['seconds'] / r['seconds']:.2f}x faster than --jobs "
                            f"{jobs[0]} ({round_ratios(runs[n, f'eval --jobs {jobs[0]}'], runs[n, name])})")
                elif name == "vpskit decode, 2 processes":
                    note = (f"{best['vpskit decode']['seconds'] / r['seconds']:.2f}x faster than 1 process "
                            f"({round_ratios(runs[n, 'vpskit decode'], runs[n, name])})")
                if name.startswith("eval"):
                    note += f"{'; ' if note else ''}VPQ {100 * r['vpq']:.2f}, STQ {100 * r['stq']:.2f}"
                    old = best.get(name.replace("eval", "before"))
                    if old is not None:
                        note += f"; {old['seconds'] / r['seconds']:.2f}x faster than before"
                cpu = min(x["cpu"] for x in runs[n, name])  # the least CPU of any round
                print(f"{n:>6}  {name:<26} {r['seconds']:>8.2f} {r['seconds'] / best[fastest]['seconds']:>18.2f} "
                      f"{cpu:>6.2f} {cpu / cpu_fastest:>13.2f} {r['rss_kb'] / 1024:>12.0f}  {note}")


if __name__ == "__main__":
    main()
