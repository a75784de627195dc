"""Benchmark of `vpskit.data.VideoPanopticDataset` on a full-resolution split.

Builds a prepared root whose train split has ``--videos`` videos at 2048x1024 (``vpskit synth``
+ ``vpskit prepare``) and a zip of it (PNGs stored), then measures in this one run, each the
best of ``--repeat``:

- the floor: reading the files of every item (image, ``labelmap`` and ``panoptic_video`` PNGs)
  and decoding each once, in this process, an item's three held together as an item holds
  them: with vpskit's decoders (``pngio.decode_png``, ``loading.decode_ids``: whatever codec
  vpskit has, the floor follows it), and for reference with Pillow (``Image.load()``, no arrays);
- the items of the dataset from the folder and from the zip, with 1 process (this one) and with
  2 worker processes (a ``multiprocessing`` pool, started and warmed before the clock; each
  worker returns only its item's size, as moving an item to a training loop is the loop's cost).

For each: items per second (wall clock), and the time of one item on one process as a ratio to
the floor's (goal: at most 1.3x), both by wall clock and by CPU time (each process's own; what
other work on the machine does not inflate).

Usage: ``uv run python benchmarks/data.py [--videos 6] [--repeat 3] [--work DIR]`` (``--work``
keeps the data for the next run.)
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time
import zipfile
from pathlib import Path

from common import HEIGHT, WIDTH, prepared_split, work_folder
from PIL import Image

from vpskit import naming, pngio
from vpskit.data import VideoPanopticDataset
from vpskit.pngio import decode_ids

SPLIT = "train"

_DATASET: VideoPanopticDataset | None = None


def build(work: Path, videos: int) -> tuple[Path, Path]:
    """A prepared root whose train split has ``videos`` videos at full resolution, and a zip of it."""
    root, zipped = prepared_split(work, videos, SPLIT), work / "cityscapes_vps.zip"
    if not zipped.is_file():
        with zipfile.ZipFile(zipped, "w") as zf:
            for p in sorted(root.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    method = zipfile.ZIP_STORED if p.suffix == ".png" else zipfile.ZIP_DEFLATED
                    zf.write(p, f"cityscapes_vps/{p.relative_to(root).as_posix()}", compress_type=method)
    return root, zipped


def _paths(root: Path, ds: VideoPanopticDataset) -> list[tuple[Path, Path, Path]]:
    out = []
    for video in ds.videos:
        for e in video:
            assert e.labels is not None
            out.append((root / e.image, root / e.labels.semantic, root / e.labels.panoptic))
    return out


def floor(root: Path, ds: VideoPanopticDataset, pillow: bool) -> tuple[float, float]:
    """(wall, CPU) seconds to read and decode every PNG of every item of ``ds`` once, with
    vpskit's decoders or (``pillow``) Pillow's; an item's three pictures are held together until
    the next item's are made, as an item holds them (freeing each at once would let the memory
    allocator hand the same pages back, which no loader of whole items can do)."""
    items = _paths(root, ds)
    held: list[object] = []
    wall, cpu = time.perf_counter(), time.process_time()
    for image, semantic, panoptic in items:
        held.clear()
        if pillow:
            for path in (image, semantic, panoptic):
                img = Image.open(io.BytesIO(path.read_bytes()))
                img.load()
                held.append(img)
        else:
            held += [pngio.decode_png(image.read_bytes()), pngio.decode_png(semantic.read_bytes()),
                     decode_ids(panoptic.read_bytes(), panoptic)]
    held.clear()
    return time.perf_counter() - wall, time.process_time() - cpu


def _start(ds: VideoPanopticDataset, paths: list[tuple[Path, Path, Path]] | None = None) -> None:
    global _DATASET, _PATHS
    _DATASET, _PATHS = ds, paths


_PATHS: list[tuple[Path, Path, Path]] | None = None


def _floor_item(index: int) -> float:
    """Read and decode item ``index``'s three PNGs (the floor, in a worker); the CPU seconds."""
    assert _PATHS is not None
    cpu = time.process_time()
    image, semantic, panoptic = _PATHS[index]
    held = [pngio.decode_png(image.read_bytes()), pngio.decode_png(semantic.read_bytes()),
            decode_ids(panoptic.read_bytes(), panoptic)]
    del held
    return time.process_time() - cpu


def _item(index: int) -> float:
    """Make item ``index``; the CPU seconds this process spent on it."""
    assert _DATASET is not None
    cpu = time.process_time()
    _DATASET[index]
    return time.process_time() - cpu


def in_process(ds: VideoPanopticDataset) -> tuple[float, float]:
    """(wall, CPU) seconds to make every item in this process."""
    _start(ds)
    wall = time.perf_counter()
    cpu = sum(_item(i) for i in range(len(ds)))
    return time.perf_counter() - wall, cpu


def with_workers(ds: VideoPanopticDataset, workers: int, repeat: int, root: Path | None = None
                 ) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU summed over the workers) seconds, of ``repeat``, to make every item on a
    pool of ``workers`` warmed processes (``"items"``), and, with ``root``, to read and decode
    their PNGs on the same pool (``"floor"``: the floor of as many processes at once, which share
    the machine's cores, caches and memory bandwidth as the item makers do), interleaved."""
    ctx = multiprocessing.get_context("fork")
    runs: dict[str, list[tuple[float, float]]] = {"items": [], "floor": []}
    paths = _paths(root, ds) if root is not None else None
    with ctx.Pool(workers, initializer=_start, initargs=(ds, paths)) as pool:
        pool.map(_item, range(workers), chunksize=1)  # imports done, zip handles open
        for _ in range(repeat):
            for kind, func in (("items", _item), ("floor", _floor_item)):
                if kind == "floor" and paths is None:
                    continue
                wall = time.perf_counter()
                cpu = sum(pool.map(func, range(len(ds)), chunksize=1))
                runs[kind].append((time.perf_counter() - wall, cpu))
    return {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items() if v}


def main() -> None:
    """Build the data, measure the floor and the dataset, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=6, help="train videos (default 6: 36 items; fewer are too short to time 2 workers)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (the best is kept)")
    ap.add_argument("--work", type=Path, help="working folder (kept; default: a temporary folder)")
    args = ap.parse_args()
    with work_folder(args.work) as work:
        t0 = time.perf_counter()
        root, zipped = build(work, args.videos)
        print(f"data: {args.videos * naming.ANNOTATED_PER_VIDEO} items ({args.videos} videos) at {WIDTH}x{HEIGHT}, "
              f"built in {time.perf_counter() - t0:.1f} s ({work})")
        measure(root, zipped, max(1, args.repeat))


def _best(runs: list[tuple[float, float]], n: int) -> tuple[float, float]:
    """The smallest wall and CPU time of ``runs``, per item."""
    return min(w for w, _ in runs) / n, min(c for _, c in runs) / n


def measure(root: Path, zipped: Path, repeat: int) -> None:
    """Measure the floor and the dataset from ``root`` and ``zipped``, interleaved (so that other
    work on the machine weighs on each alike); print the figures."""
    plain = VideoPanopticDataset(root, SPLIT)
    n = len(plain)
    sets = {"folder": VideoPanopticDataset(root, SPLIT), "zip": VideoPanopticDataset(zipped, SPLIT)}
    for ds in sets.values():
        ds[0]  # this process's imports and zip handle
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {key: [] for key in
                                                              (("floor", 0), ("pillow", 0), *((k, w) for k in sets for w in (1, 2)))}
    for _ in range(repeat):
        runs["floor", 0].append(floor(root, plain, False))
        runs["pillow", 0].append(floor(root, plain, True))
        for kind, ds in sets.items():
            runs[kind, 1].append(in_process(ds))
    for kind, ds in sets.items():
        got = with_workers(ds, 2, repeat, root)
        runs[kind, 2] = [got["items"]]
        runs["floor", 2] = [min(runs.get(("floor", 2), [got["floor"]]) + [got["floor"]])]
    base, pillow = _best(runs["floor", 0], n), _best(runs["pillow", 0], n)
    base2 = _best(runs["floor", 2], n)
    print(f"floor, 1 process: {base[0] * 1000:.1f} ms an item ({base[1] * 1000:.1f} ms CPU): read + decode image, "
          f"labelmap and panoptic_video with vpskit's decoders (Pillow's: {pillow[0] * 1000:.1f} ms)")
    print(f"floor, 2 processes at once: {base2[0] * 2 * 1000:.1f} ms an item per process "
          f"({base2[1] * 1000:.1f} ms CPU): the same decoding on the pool the items are made on")
    print(f"{'root':>6} {'processes':>9} {'items/s':>8} {'ms/item/process':>16} {'x floor':>8} "
          f"{'CPU ms/item':>12} {'x floor':>8}")
    for kind in sets:
        for workers in (1, 2):
            wall, cpu = _best(runs[kind, workers], n)
            ref = base if workers == 1 else base2
            print(f"{kind:>6} {workers:>9} {1 / wall:>8.1f} {wall * workers * 1000:>16.1f} "
                  f"{wall / ref[0]:>8.2f} {cpu * 1000:>12.1f} {cpu / ref[1]:>8.2f}")


if __name__ == "__main__":
    main()
