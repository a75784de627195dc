"""Compare predictions on the same ground truth (``vpskit compare``): scores side by side, and a
paired bootstrap over videos that says which differences are more than the choice of videos
(:mod:`vpskit.visualize.stats`), written as ``compare.json`` and shown as a terminal table."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import VpsError
from .evaluation.metrics.stq import DEFAULT_VOID_RULE
from .pngio import atomic_write_bytes
from .text import plural
from .visualize.scoring import open_benchmark
from .visualize.stats import (
    DEFAULT_REPS,
    DEFAULT_SEED,
    check_names_and_counts,
    compare_accumulators,
    metric_label,
)

__all__ = ["COMPARE_JSON", "compare", "default_names", "format_comparison"]

COMPARE_JSON = "compare.json"


def default_names(preds: Sequence[str | os.PathLike]) -> list[str]:
    """Names for predictions: their file or folder names (without ``.zip``) when these differ,
    else ``A``, ``B``, ``C``, …"""
    names = []
    for pred in preds:
        name = Path(os.path.abspath(os.fspath(pred))).name
        names.append(name[:-4] if name.lower().endswith(".zip") else name)
    if len(set(names)) == len(names) and all(names):
        return names
    return [_letters(i) for i in range(len(preds))]


def _letters(i: int) -> str:
    """``A`` … ``Z``, ``AA``, ``AB``, …"""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def compare_path(out: str | os.PathLike) -> Path:
    """Where the comparison is written: ``out``, or ``out/compare.json`` for a folder."""
    path = Path(out)
    return path / COMPARE_JSON if path.is_dir() else path


def check_compare_file(path: Path, replace: bool = False) -> None:
    """Refuse (``VpsError``) to overwrite ``path`` unless it is absent, a ``compare.json`` of
    vpskit, or ``replace``."""
    if replace or not os.path.lexists(path):
        return
    hint = "give another --out, or --replace to overwrite it"
    if not path.is_file():
        raise VpsError(path, f"is there and is not a file; {hint}")
    try:
        old = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        old = None
    if not (isinstance(old, dict) and isinstance(old.get("vpskit"), dict) and isinstance(old.get("comparison"), dict)):
        raise VpsError(path, f"is there and is not a comparison vpskit wrote; {hint}")


def compare(
    preds: Sequence[str | os.PathLike],
    *,
    root: str | os.PathLike | None = None,
    split: str = "val",
    gt_json: str | os.PathLike | None = None,
    gt_dir: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
    reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    jobs: int | None = None,
    progress: bool | None = None,
    videos: Iterable[str | int] | None = None,
    stq_void: str = DEFAULT_VOID_RULE,
    out: str | os.PathLike | None = None,
    replace: bool = False,
    benchmark: str | None = None,
    vpq_windows: str | None = None,
    stq_gt_instances: str | None = None,
) -> dict:
    """Score two or more predictions on the same ground truth and compare each with the first
    (the baseline) by a paired bootstrap over videos.

    ``preds``, the ground truth (``root`` + ``split``, or ``gt_json`` + ``gt_dir``), ``jobs``,
    ``progress``, ``videos`` and ``stq_void`` are as for :func:`vpskit.evaluate`; each
    prediction is evaluated once. ``names``: one per prediction (default: their file or folder
    names, or A, B, … where these repeat). ``reps`` replicates drawn from ``seed``
    (:mod:`vpskit.visualize.stats` describes the bootstrap).

    Returns what ``compare.json`` holds: ``{"vpskit", "evaluation", "conventions"}`` as in
    ``results.json`` (without the prediction, named per prediction instead), then
    ``"comparison"``, ``"predictions"`` (with ``"prediction": {"given", "absolute"}``) and
    ``"pairs"`` as :func:`~vpskit.visualize.stats.compare_accumulators` returns them.
    ``out``: also write it there (a folder: ``out/compare.json``), atomically; a file there that
    is not a comparison vpskit wrote is refused unless ``replace``. The same inputs give the same
    bytes, whatever ``jobs``. ``benchmark``: as for :func:`vpskit.evaluate` (None: found from
    ``root``); KITTI-STEP and VIPSeg are scored with their VPQ windows, their per-category
    names are theirs, and their videos are keyed by sequence number or name; ``vpq_windows``
    and ``stq_gt_instances`` choose VIPSeg's conventions as for :func:`vpskit.evaluate`. Bad
    input raises ``VpsError``.
    """
    preds = list(preds)
    if len(preds) < 2:
        raise VpsError("PRED", f"compare needs two or more predictions, got {len(preds)}")
    names = list(names) if names is not None else default_names(preds)
    if len(names) != len(preds):
        raise VpsError("--names", f"{len(names)} names for {len(preds)} predictions")
    bench = open_benchmark(root, split, gt_json, gt_dir, benchmark, "compare", vpq_windows, stq_gt_instances)
    path = compare_path(out) if out is not None else None
    if path is not None:
        check_compare_file(path, replace)
    check_names_and_counts(names, reps, seed)  # before the long part
    scored: dict[str, tuple] = {}
    named, heads = [], []
    for name, pred in zip(names, preds, strict=True):
        key = os.path.abspath(os.fspath(pred))
        if key not in scored:
            scored[key] = bench.score(pred, videos=videos, stq_void=stq_void, jobs=jobs, progress=progress)
        head, vpq, stq = scored[key]
        named.append((name, vpq, stq))
        heads.append(head | {"evaluation": head["evaluation"] | {
            "prediction": {"given": os.fspath(pred), "absolute": os.path.abspath(os.fspath(pred))}}})
    body = compare_accumulators(named, reps=reps, seed=seed,
                                category_names={int(r["id"]): str(r.get("name", "")) for r in bench.category_records})
    evaluation = {k: v for k, v in heads[0]["evaluation"].items() if k != "prediction"}
    for entry, head in zip(body["predictions"], heads, strict=True):
        entry["prediction"] = head["evaluation"]["prediction"]
    result = {"vpskit": heads[0]["vpskit"], "evaluation": evaluation, "conventions": heads[0]["conventions"],
              **body}
    if path is not None:
        atomic_write_bytes(path, (json.dumps(result, indent=2) + "\n").encode())
    return result


def _pct(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.2f}" if sign else f"{100 * value:.2f}"


def format_comparison(result: dict, top: int = 5) -> str:
    """The terminal summary of a comparison: per pair, a table of the metrics (A, B, B - A and the
    95 % interval of B - A, ``*`` where it excludes 0), then the ``top`` categories and videos
    whose scores differ most (percent)."""
    info = result["comparison"]
    lines: list[str] = []
    for pair in result["pairs"]:
        if lines:
            lines.append("")
        lines.append(f"A = {pair['a']} (the baseline), B = {pair['b']}: {info['method']}, "
                     f"{plural(info['videos'], 'video')}, {info['reps']} replicates, seed {info['seed']}")
        level = f"{100 * info['level']:g} % interval"
        lines.append(f"{'metric (%)':12s} {'A':>7s} {'B':>7s} {'B - A':>7s}   {level} of B - A")
        for key, row in pair["metrics"].items():
            low, high = row["interval"]
            mark = "  *" if row["excludes_zero"] else ""
            lines.append(f"{metric_label(key):12s} {_pct(row['a']):>7s} {_pct(row['b']):>7s} "
                         f"{_pct(row['delta'], True):>7s}   [{_pct(low, True):>6s}, {_pct(high, True):>6s}]{mark}")
        if any(row["excludes_zero"] for row in pair["metrics"].values()):
            lines.append("* the interval excludes 0")
        if top > 0:
            lines += _largest_class_deltas(pair["per_class"], top)
            lines += _largest_video_deltas(pair["per_video"], top)
    return "\n".join(lines)


def _largest(rows: dict[str, dict], metric: str, top: int) -> list[str]:
    """The keys of ``rows`` whose ``metric`` delta is largest in size, zeros left out (ties:
    key order)."""
    have = [(key, row[metric]["delta"]) for key, row in rows.items()
            if metric in row and row[metric]["delta"] not in (None, 0.0)]
    have.sort(key=lambda kv: -abs(kv[1]))
    return [key for key, _ in have[:top]]


def _largest_class_deltas(per_class: dict, top: int) -> list[str]:
    first = next(iter(per_class.values()), {})
    metric = "pq" if "pq" in first else "iou"
    rows = {cid: row | {"pq": row["pq"]["final"]} if "pq" in row else row for cid, row in per_class.items()}
    keys = _largest(rows, metric, top)
    what = "PQ averaged over k" if metric == "pq" else "STQ's IoU"
    if not keys:
        return ["", f"No category differs ({what})."]
    width = max([14, *(len(per_class[cid]["name"]) for cid in keys)])
    lines = ["", f"Categories that differ most ({what}; %)",
             f"{'id':>3s}  {'category':{width}s} {'A':>7s} {'B':>7s} {'B - A':>7s}"]
    for cid in keys:
        row = rows[cid][metric]
        lines.append(f"{int(cid):3d}  {per_class[cid]['name']:{width}s} {_pct(row['a']):>7s} {_pct(row['b']):>7s} "
                     f"{_pct(row['delta'], True):>7s}")
    return lines


def _largest_video_deltas(per_video: dict, top: int) -> list[str]:
    first = next(iter(per_video.values()), {})
    metric = "vpq" if "vpq" in first else "stq"
    keys = _largest(per_video, metric, top)
    if not keys:
        return ["", f"No video differs ({metric.upper()})."]
    shown = [m for m in ("vpq", "stq") if m in first]
    head = "".join(f" {m.upper() + ' A':>7s} {m.upper() + ' B':>7s} {'B - A':>7s}" for m in shown)
    width = max([5, *map(len, keys)])
    lines = ["", f"Videos that differ most ({metric.upper()}; %)", f"{'video':>{width}s}{head}"]
    for video in keys:
        cells = "".join(f" {_pct(per_video[video][m]['a']):>7s} {_pct(per_video[video][m]['b']):>7s} "
                        f"{_pct(per_video[video][m]['delta'], True):>7s}" for m in shown)
        lines.append(f"{video:>{width}s}{cells}")
    return lines
