"""Benchmark of `vpskit prepare` on full-resolution synthetic data, against its codec floors.

For each ``--videos`` count N, a synthetic download of N train videos at 2048x1024 (folders,
made once). Then, in fresh processes, ``--repeat`` rounds interleaved so that a change of load
on the machine hits all alike (the best of each kept):

- ``prepare`` (release, fetch, merge, panoptic, video) of the train split into a new folder,
  with each ``--jobs``; with ``--before DIR`` (a checkout with its own ``.venv``, e.g. ``git
  worktree add DIR 05ea5a9`` and ``uv sync`` there), the same by that code;
- its floors, on one process (with the allocator settings of :mod:`vpskit.memory`, as vpskit
  runs), each doing the file copies of the release, fetch and merge stages (read + atomic write
  of every file they place) and:
  - codec: decoding every input of stages 3 and 4 (``cls``, ``inst``: stage 4 takes the
    ``panoptic_inst`` frames stage 3 makes in memory) once with vpskit's reader and
    encoding every output (``labelmap``, ``panoptic_inst``, ``panoptic_video``) once with
    vpskit's writer and writing it (atomically, as the copies; the outputs are decoded before
    the clock starts);
  - Pillow: the same with Pillow (``load()``; ``save`` at compression level 6, as vpskit wrote
    before it had its own writer);
  - zlib: inflating every input's pixel data once and deflating (and writing) every output's
    (as vpskit writes it) once, with zlib-ng at vpskit's level: no filtering, no conversion;
- for each ``--jobs`` above 1, the codec floor on that many processes side by side, each taking
  alternate videos (the slowest one's time): what more processes gain on this machine for the
  work ``prepare`` is made of.

Prints, per N: seconds, the ratio to the codec floor, the CPU seconds (of every process:
``--jobs 2`` adds its workers') and their ratio to the floor's (steadier than the clock on a
busy machine), the peak RSS of the largest process, and for ``prepare`` its stages' seconds.

Usage: ``uv run python benchmarks/prepare.py [--videos 6,50] [--jobs 1,2] [--work DIR]
[--repeat 3] [--before DIR]`` (``--work`` keeps the downloads for the next run.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from common import HEIGHT, PEAK, WIDTH, round_ratios, run_fresh, work_folder

SPLIT = "train"

_PEAK = PEAK

_PREPARE = _PEAK + r"""
import os, shutil
from vpskit.preparation import prepare
down, root, jobs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
shutil.rmtree(root, ignore_errors=True)
def cpu():  # this process's and its finished workers'
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
t0, c0 = time.perf_counter(), cpu()
summary = prepare(root, down / "leftImg8bit_sequence", down / "gtFine", release=down / "cityscapes_vps",
                  splits="train", jobs=jobs, progress=False)
seconds = time.perf_counter() - t0
done(seconds, cpu=cpu() - c0, stages={r.stage: r.seconds for r in summary.reports})
"""

_FLOOR = _PEAK + r"""
import io, shutil
from vpskit.memory import keep_freed_blocks
keep_freed_blocks()  # the floors run with the allocator settings vpskit runs with
from vpskit import pngio
from zlib_ng import zlib_ng
down, root, scratch, kind = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
processes = int(sys.argv[5]) if len(sys.argv) > 5 else 1
split = root / "train"
# release (JSON files, cls, inst), fetch (img) and merge (the 20th frames' cls, inst) place a copy each
copies = sorted(p for p in [*root.glob("*.json"), *(split / "img").iterdir(), *(split / "cls").iterdir(),
                            *(split / "inst").iterdir()] if not p.name.startswith("panoptic_gt_"))
# the inputs: stage 3 reads cls and inst; stage 4 takes the panoptic_inst frames stage 3 makes
inputs = [p for f in ("cls", "inst") for p in sorted((split / f).iterdir())]
outputs = [p for f in ("labelmap", "panoptic_inst", "panoptic_video") for p in sorted((split / f).iterdir())]

def idat(data):
    return b"".join(payload for kind, payload in pngio.png_chunks(data, "x") if kind == b"IDAT")

def pillow_encode(arr):
    from PIL import Image
    if arr.dtype.name == "uint16":
        img = Image.frombuffer("I;16", arr.shape[::-1], arr.astype("<u2").tobytes(), "raw", "I;16", 0, 1)
    else:
        img = Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()

def pillow_decode(data):
    from PIL import Image
    with Image.open(io.BytesIO(data)) as img:
        img.load()

def floor(copies, inputs, outputs, scratch, tag=""):
    scratch.mkdir(parents=True, exist_ok=True)
    seconds = cpu = 0.0
    for i, path in enumerate(copies):
        t, c = time.perf_counter(), time.process_time()
        pngio.atomic_write_bytes(scratch / f"{tag}{i % 64}", pngio.read_file(path))
        seconds, cpu = seconds + time.perf_counter() - t, cpu + time.process_time() - c
    for path in inputs:
        t, c = time.perf_counter(), time.process_time()
        data = pngio.read_file(path)
        if kind == "codec":
            pngio.decode_png(data, path)
        elif kind == "Pillow":
            pillow_decode(data)
        else:
            zlib_ng.decompress(idat(data))
        seconds, cpu = seconds + time.perf_counter() - t, cpu + time.process_time() - c
    for i, path in enumerate(outputs):
        data = path.read_bytes()
        arr = pngio.decode_png(data, path) if kind != "zlib" else zlib_ng.decompress(idat(data))
        t, c = time.perf_counter(), time.process_time()
        if kind == "codec":
            data = pngio.encode_png(arr)
        elif kind == "Pillow":
            data = pillow_encode(arr)
        else:
            data = zlib_ng.compress(arr, pngio.PNG_COMPRESS_LEVEL)
        pngio.atomic_write_bytes(scratch / f"{tag}out{i % 64}", data)
        seconds, cpu = seconds + time.perf_counter() - t, cpu + time.process_time() - c
    return seconds, cpu

if processes == 1:
    seconds, cpu = floor(copies, inputs, outputs, scratch)
else:
    # alternate videos on each process, run side by side, writing into one folder as prepare's
    # workers do; the floor is the slower one's time
    import multiprocessing
    videos = sorted({p.name[:4] for p in inputs})
    def part(paths, k):
        return [p for p in paths if (videos.index(p.name[:4]) if p.name[:4] in videos else 0) % processes == k]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        got = pool.starmap(floor, [(part(copies, k), part(inputs, k), part(outputs, k), scratch, f"{k}-")
                                   for k in range(processes)])
    seconds, cpu = max(g[0] for g in got), sum(g[1] for g in got)
shutil.rmtree(scratch)
done(seconds, cpu=cpu)
"""

FLOORS = ("codec", "Pillow", "zlib")


def download(work: Path, videos: int) -> Path:
    """``work/download-N``: a synthetic download of ``videos`` train videos at full resolution."""
    from vpskit.synth import synthesize

    down = work / f"download-{videos}"
    if not (down / "cityscapes_vps").is_dir():
        shutil.rmtree(down, ignore_errors=True)
        synthesize(down, videos=videos, size=(WIDTH, HEIGHT), seed=0, splits={SPLIT: videos}, progress=False)
    return down


def main() -> None:
    """Make the downloads, run prepare and the floors interleaved, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default="6,50", help="comma-separated video counts (default 6,50)")
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds (the best of each is kept)")
    ap.add_argument("--before", type=Path, help="a checkout of earlier vpskit with its own .venv, run alike")
    args = ap.parse_args()
    counts = sorted(int(v) for v in args.videos.split(","))
    jobs = [int(j) for j in args.jobs.split(",")]
    before = None
    if args.before is not None:
        before = str(args.before / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    with work_folder(args.work) as work:
        t0 = time.perf_counter()
        downs = {n: download(work, n) for n in counts}
        print(f"data: {', '.join(map(str, counts))} train videos at {WIDTH}x{HEIGHT} ({work}, "
              f"{time.perf_counter() - t0:.0f} s); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs: dict[tuple[int, str], list[dict]] = {}
        for _ in range(max(1, args.repeat)):
            for n in counts:
                root = work / f"root-{n}"
                for j in jobs:
                    runs.setdefault((n, f"prepare --jobs {j}"), []).append(
                        run_fresh(sys.executable, _PREPARE, downs[n], root, j))
                    if before is not None:
                        runs.setdefault((n, f"before --jobs {j}"), []).append(
                            run_fresh(before, _PREPARE, downs[n], work / f"root-before-{n}", j, cwd=args.before))
                for kind in FLOORS:  # on the last prepare's output
                    runs.setdefault((n, f"{kind} floor"), []).append(
                        run_fresh(sys.executable, _FLOOR, downs[n], root, work / "scratch", kind))
                for j in jobs:
                    if j > 1:
                        runs.setdefault((n, f"codec floor, {j} processes"), []).append(
                            run_fresh(sys.executable, _FLOOR, downs[n], root, work / "scratch", "codec", j))
        print(f"best of {max(1, args.repeat)} interleaved rounds; load average at end "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        head = (f"{'videos':>6}  {'measure':<26} {'seconds':>8} {'x codec floor':>14} {'CPU s':>6} "
                f"{'CPU x floor':>11} {'peak RSS MB':>12}  note")
        print(head)
        print("-" * len(head))
        for n in counts:
            best = {k: min(v, key=lambda r: r["seconds"]) for (m, k), v in runs.items() if m == n}
            floor = best["codec floor"]["seconds"]
            cpu_floor = min(r["cpu"] for r in runs[n, "codec floor"])
            for name, r in best.items():
                notes = []
                if name.startswith("prepare --jobs") and name != f"prepare --jobs {jobs[0]}":
                    notes.append(f"{best[f'prepare --jobs {jobs[0]}']['seconds'] / r['seconds']:.2f}x faster "
                                 f"than --jobs {jobs[0]} ({round_ratios(runs[n, f'prepare --jobs {jobs[0]}'], runs[n, name])})")
                old = best.get(name.replace("prepare", "before")) if name.startswith("prepare") else None
                if old is not None:
                    notes.append(f"{old['seconds'] / r['seconds']:.2f}x faster than before")
                if name.startswith("codec floor, "):
                    notes.append(f"{floor / r['seconds']:.2f}x faster than 1 process "
                                 f"({round_ratios(runs[n, 'codec floor'], runs[n, name])})")
                if "stages" in r:
                    notes.append(" ".join(f"{s} {sec:.2f}" for s, sec in r["stages"].items()))
                cpu = min(x["cpu"] for x in runs[n, name])  # the least CPU of any round
                print(f"{n:>6}  {name:<26} {r['seconds']:>8.2f} {r['seconds'] / floor:>14.2f} {cpu:>6.2f} "
                      f"{cpu / cpu_floor:>11.2f} {r['rss_kb'] / 1024:>12.0f}  {'; '.join(notes)}")


if __name__ == "__main__":
    main()
