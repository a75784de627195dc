"""Reports of an evaluation: ``vpq-{k}.txt``, ``vpq-final.txt`` (the reference tool's formats),
``results.json`` and the table printed on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from ..categories import CATEGORY_BY_ID
from ..pngio import atomic_write_bytes
from .metrics.categories import CategorySet
from .metrics.vpq import SPANS

_GROUP_TITLES = (("all", "All"), ("things", "Things"), ("stuff", "Stuff"))


def vpq_span_text(span: dict, categories: CategorySet | None = None) -> str:
    """``vpq-{k}.txt``: All/Things/Stuff PQ SQ RQ N (percent), then PQ SQ RQ IoU-sum TP FP FN per category."""
    lines = ["=" * 48, f"{'':10s}| {'PQ':>5s}  {'SQ':>5s}  {'RQ':>5s} {'N':>4s}", "-" * 38]
    for key, title in _GROUP_TITLES:
        g = span[key]
        lines.append(f"{title:10s}| {100 * g['pq']:5.1f}  {100 * g['sq']:5.1f}  {100 * g['rq']:5.1f} {g['n']:5d}")
    lines.append(f"{'IDX':4s}| {'PQ':>5s} {'SQ':>5s} {'RQ':>5s} {'IoU':>6s} {'TP':>7s} {'FP':>7s} {'FN':>7s}")
    order = [str(c) for c in categories.ids] if categories is not None else list(span["per_class"])
    for cid in order:
        c = span["per_class"][cid]
        lines.append(f"{int(cid):4d} | {100 * c['pq']:5.1f} {100 * c['sq']:5.1f} {100 * c['rq']:5.1f} "
                     f"{c['iou']:6.1f} {c['tp']:7d} {c['fp']:7d} {c['fn']:7d}")
    return "\n".join(lines) + "\n"


def vpq_final_text(vpq: dict) -> str:
    """``vpq-final.txt``: the final VPQ (percent) for All, Things and Stuff."""
    final = vpq["final"]
    return (f"vpq_all:{100 * final['all']:.4f}\n"
            f"vpq_thing:{100 * final['things']:.4f}\n"
            f"vpq_stuff:{100 * final['stuff']:.4f}\n")


def write_reports(results: dict, out: Path, categories: CategorySet | None = None) -> list[Path]:
    """Write ``vpq-{k}.txt``, ``vpq-final.txt`` (when VPQ was computed) and ``results.json``."""
    out = Path(out)
    written = []
    if "vpq" in results:
        for k in SPANS:
            path = out / f"vpq-{k}.txt"
            atomic_write_bytes(path, vpq_span_text(results["vpq"][str(k)], categories).encode())
            written.append(path)
        path = out / "vpq-final.txt"
        atomic_write_bytes(path, vpq_final_text(results["vpq"]).encode())
        written.append(path)
    path = out / "results.json"
    atomic_write_bytes(path, (json.dumps(results, indent=2, sort_keys=False) + "\n").encode())
    written.append(path)
    return written


def format_table(results: dict) -> str:
    """A readable summary: VPQ per span and final (All/Things/Stuff), then STQ, AQ, SQ (percent)."""
    lines = []
    if "vpq" in results:
        vpq = results["vpq"]
        head = "".join(f"  {title:^19s}" for _, title in _GROUP_TITLES)
        sub = "".join(f"  {'PQ':>5s} {'SQ':>6s} {'RQ':>6s}" for _ in _GROUP_TITLES)
        lines += ["VPQ (%)", f"{'':8s}{head}", f"{'k':>6s}  {sub}"]
        for k in SPANS:
            row = "".join(f"  {100 * vpq[str(k)][g]['pq']:5.1f} {100 * vpq[str(k)][g]['sq']:6.1f} "
                          f"{100 * vpq[str(k)][g]['rq']:6.1f}" for g, _ in _GROUP_TITLES)
            lines.append(f"{k:>6d}  {row}")
        row = "".join(f"  {100 * vpq['final'][g]:5.1f} {'':6s} {'':6s}" for g, _ in _GROUP_TITLES)
        lines.append(f"{'final':>6s}  {row}".rstrip())
    if "stq" in results:
        s = results["stq"]
        if lines:
            lines.append("")
        lines += ["STQ (%)", f"{'STQ':>6s} {'AQ':>6s} {'SQ':>6s}",
                  f"{100 * s['stq']:6.1f} {100 * s['aq']:6.1f} {100 * s['sq']:6.1f}"]
    return "\n".join(lines)


def format_per_class(results: dict) -> str:
    """VPQ per category: the mean of its PQ over the spans, then its PQ at each k (percent).

    A category with no TP, FP or FN at a span shows ``-`` there and is left out of its mean.
    """
    vpq = results["vpq"]
    lines = ["VPQ per category (%)",
             f"{'id':>3s}  {'category':14s} {'':5s} {'VPQ':>6s}" + "".join(f" {f'k={k}':>6s}" for k in SPANS)]
    for cid in vpq[str(SPANS[0])]["per_class"]:
        pqs = []
        for k in SPANS:
            c = vpq[str(k)]["per_class"][cid]
            pqs.append(100 * c["pq"] if c["tp"] + c["fp"] + c["fn"] > 0 else None)
        counted = [q for q in pqs if q is not None]
        category = CATEGORY_BY_ID.get(int(cid))
        name = category.name if category is not None else ""
        kind = "" if category is None else ("thing" if category.isthing else "stuff")
        mean = f"{sum(counted) / len(counted):6.1f}" if counted else f"{'-':>6s}"
        cells = "".join(f" {q:6.1f}" if q is not None else f" {'-':>6s}" for q in pqs)
        lines.append(f"{int(cid):3d}  {name:14s} {kind:5s} {mean}{cells}")
    return "\n".join(lines)
