"""Reports of an evaluation: ``vpq-{k}.txt``, ``vpq-final.txt`` (the reference tool's formats),
``results.json`` and the table printed on the terminal."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import VpsError
from ..pngio import part_path
from ..profiles import available_benchmarks, get_profile
from ..text import plural
from .metrics.categories import CategorySet

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
    return (f"vpq_all:{100 * final['all']['pq']:.4f}\n"
            f"vpq_thing:{100 * final['things']['pq']:.4f}\n"
            f"vpq_stuff:{100 * final['stuff']['pq']:.4f}\n")


def result_spans(vpq: dict) -> list[str]:
    """The window spans ``k`` of VPQ results (``results["vpq"]``), in their order."""
    return [k for k in vpq if k not in ("final", "per_video")]


REPORT_NAMES = tuple(f"vpq-{k}.txt" for k in sorted({k for b in available_benchmarks()
                                                     for k in get_profile(b).vpq_spans})) + (
    "vpq-final.txt", "results.json")
"""Every report an evaluation of any benchmark writes (a rerun removes those it does not write)."""
_IDENTITY_KEYS = ("split", "ground_truth", "prediction", "metrics", "videos")


def _identity(head: dict) -> dict:
    """What makes two evaluations the same one: split, ground truth, prediction (absolute
    paths), metrics, videos, and each metric's rules."""
    ev = head.get("evaluation") or {}
    gt = ev.get("ground_truth") or {}
    pred = ev.get("prediction") or {}
    rules = {m: {k: v for k, v in c.items() if k in ("void_rule", "window_spans_k", "gt_instances")}
             for m, c in (head.get("conventions") or {}).items() if isinstance(c, dict)}
    return {"split": ev.get("split"), "ground truth": gt.get("json_absolute") if isinstance(gt, dict) else gt,
            "prediction": pred.get("absolute") if isinstance(pred, dict) else pred,
            "metrics": ev.get("metrics"), "videos": ev.get("videos"), "rules": rules}


def _shown(key: str, value: object) -> str:
    if key == "videos" and isinstance(value, list):
        from . import video_ranges

        return video_ranges(value)
    if key == "rules" and isinstance(value, dict):
        return ", ".join(f"{m} {r}" for m, r in value.items() if r) or "none"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def check_reports_folder(out: Path, head: dict, replace: bool = False) -> None:
    """Refuse (``VpsError``) to write into ``out`` when it holds the reports of a different
    evaluation than ``head`` describes, unless ``replace``."""
    present = [name for name in REPORT_NAMES if (out / name).exists()]
    if replace or not present:
        return
    hint = "give another --out folder, or --replace to replace them"
    path = out / "results.json"
    try:
        old = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        old = None
    if not isinstance(old, dict) or not isinstance(old.get("evaluation"), dict):
        raise VpsError(out / present[0], f"reports of an unknown evaluation are there; {hint}")
    was, now = _identity(old), _identity(head)
    for key in now:
        if was.get(key) != now[key]:
            raise VpsError(path, f"holds another evaluation ({key} {_shown(key, was.get(key))}, "
                           f"not {_shown(key, now[key])}); {hint}")


def replace_files(folder: Path, files: dict[str, bytes], stale: tuple[str, ...] = ()) -> list[Path]:
    """Put ``files`` (name -> bytes) into ``folder`` all or nothing, and remove the ``stale``
    names it does not write.

    Everything is written under temporary names first (a failure there, e.g. a full disk,
    removes them and leaves the folder as it was); only then are the files renamed into place,
    in the order given.
    """
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            path = folder / name
            tmp = part_path(path)
            parts.append((tmp, path))
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
            except OSError as exc:
                raise VpsError(path, f"cannot write it ({exc.strerror or exc}); the reports there are unchanged") from None
    except BaseException:
        for tmp, _ in parts:
            tmp.unlink(missing_ok=True)
        raise
    for name in stale:
        if name not in files:
            (folder / name).unlink(missing_ok=True)
    for tmp, path in parts:
        os.replace(tmp, path)
    return [path for _, path in parts]


def write_reports(results: dict, out: Path, categories: CategorySet | None = None) -> list[Path]:
    """Write ``vpq-{k}.txt``, ``vpq-final.txt`` (when VPQ was computed) and ``results.json``.

    The set is replaced all or nothing: every file is written to a temporary name first, then
    reports of an earlier run that this one does not write are removed and the new ones renamed
    into place, ``results.json`` last.
    """
    out = Path(out)
    files: dict[str, bytes] = {}
    if "vpq" in results:
        for k in result_spans(results["vpq"]):
            files[f"vpq-{k}.txt"] = vpq_span_text(results["vpq"][k], categories).encode()
        files["vpq-final.txt"] = vpq_final_text(results["vpq"]).encode()
    files["results.json"] = (json.dumps(results, indent=2, sort_keys=False) + "\n").encode()
    return replace_files(out, files, stale=REPORT_NAMES)


def format_table(results: dict) -> str:
    """A readable summary: VPQ per span and final (All/Things/Stuff), then STQ, AQ and IoU
    (percent; IoU is STQ's segmentation term, named as deeplab2 names it)."""
    lines = []
    if "vpq" in results:
        vpq = results["vpq"]
        head = "".join(f"  {title:^19s}" for _, title in _GROUP_TITLES)
        sub = "".join(f"  {'PQ':>5s} {'SQ':>6s} {'RQ':>6s}" for _ in _GROUP_TITLES)
        lines += ["VPQ (%)", f"{'':8s}{head}", f"{'k':>6s}  {sub}"]
        for k in [*result_spans(vpq), "final"]:
            row = "".join(f"  {100 * vpq[str(k)][g]['pq']:5.1f} {100 * vpq[str(k)][g]['sq']:6.1f} "
                          f"{100 * vpq[str(k)][g]['rq']:6.1f}" for g, _ in _GROUP_TITLES)
            lines.append(f"{k:>6}  {row}")
    if "stq" in results:
        s = results["stq"]
        if lines:
            lines.append("")
        rule = ((results.get("conventions") or {}).get("stq") or {}).get("void_rule")
        title = "STQ (%)" + (f", void rule '{rule}'" if rule else "")
        lines += [title, f"{'STQ':>6s} {'AQ':>6s} {'IoU':>6s}",
                  f"{100 * s['stq']:6.1f} {100 * s['aq']:6.1f} {100 * s['iou']:6.1f}"]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return f" {100 * value:6.1f}" if value is not None else f" {'-':>6s}"


def class_spans(vpq: dict, category: str) -> list[dict | None]:
    """A category's record at each span of VPQ results (``results["vpq"]``); None at a span where
    it has no TP, FP or FN (where VPQ does not count it)."""
    spans = [vpq[k]["per_class"][category] for k in result_spans(vpq)]
    return [c if c["tp"] + c["fp"] + c["fn"] > 0 else None for c in spans]


def class_means(vpq: dict, category: str) -> dict[str, float] | None:
    """A category's PQ, SQ and RQ averaged over the spans where it is counted (its VPQ and the
    like); None where it is counted at no span."""
    counted = [c for c in class_spans(vpq, category) if c is not None]
    if not counted:
        return None
    return {m: sum(c[m] for c in counted) / len(counted) for m in ("pq", "sq", "rq")}


def _present(results: dict, category: str) -> bool:
    """Whether VPQ counts ``category`` at some span or STQ gives it an IoU, in ``results``."""
    vpq, stq = results.get("vpq"), results.get("stq")
    return ((vpq is not None and class_means(vpq, category) is not None)
            or (stq is not None and stq["per_class_iou"].get(category) is not None))


def listed_categories(results: Sequence[dict]) -> tuple[list[str], int]:
    """The categories (ids as results key them, in report order) that per-category tables of
    ``results`` list, and how many they leave out; ``results``: those of one evaluation, of one
    prediction or several on the same ground truth.

    Every category when the benchmark's profile ``lists_absent_categories`` (Cityscapes-VPS,
    KITTI-STEP); else (VIPSeg) those present: counted by VPQ at some span or given an IoU by STQ
    in one of ``results``, that is, found in the ground truth or a prediction (a predicted
    category lying on unlabelled pixels only is neither, and is left out too).
    """
    first = results[0]
    vpq = first.get("vpq")
    ids = list(vpq[result_spans(vpq)[0]]["per_class"]) if vpq is not None else list(first["stq"]["per_class_iou"])
    if get_profile((first.get("evaluation") or {}).get("benchmark")).lists_absent_categories:
        return ids, 0
    shown = [cid for cid in ids if any(_present(r, cid) for r in results)]
    return shown, len(ids) - len(shown)


def left_out_line(left: int, predictions: int = 1) -> str:
    """The line saying that ``left`` categories absent from the ground truth and the
    ``predictions`` are not listed."""
    where = "both the ground truth and the prediction" if predictions == 1 else \
        "the ground truth and every prediction"
    return f"{plural(left, 'category', 'categories')} absent from {where} {'is' if left == 1 else 'are'} not listed"


def format_per_class(results: dict) -> str:
    """Per category: VPQ (the mean of its PQ over the spans, then its PQ at each k) when VPQ was
    computed, and STQ's IoU of the category when STQ was (percent).

    A category with no TP, FP or FN at a span shows ``-`` there and is left out of its mean; a
    category with no pixel in the GT or prediction has no IoU (``-``). Names and thing/stuff are
    those of the benchmark's profile (``results["evaluation"]["benchmark"]``, default Cityscapes-VPS).
    The categories are those :func:`listed_categories` lists (the name column as wide as their
    longest name); a last line says how many it leaves out, if any.
    """
    vpq = results.get("vpq")
    stq = results.get("stq")
    by_id = {c.id: c for c in get_profile(results.get("evaluation", {}).get("benchmark")).categories}
    ids, left = listed_categories([results])
    width = max([14, *(len(by_id[int(c)].name) for c in ids if int(c) in by_id)])
    head = f"{'id':>3s}  {'category':{width}s} {'':5s}"
    titles = []
    if vpq is not None:
        head += f" {'VPQ':>6s}" + "".join(f" {f'k={k}':>6s}" for k in result_spans(vpq))
        titles.append("VPQ")
    if stq is not None:
        head += f" {'IoU':>6s}"
        titles.append("STQ's IoU")
    lines = [f"Per category (%): {' and '.join(titles)}", head]
    for cid in ids:
        category = by_id.get(int(cid))
        name = category.name if category is not None else ""
        kind = "" if category is None else ("thing" if category.isthing else "stuff")
        cells = ""
        if vpq is not None:
            means = class_means(vpq, cid)
            cells += _pct(means["pq"] if means else None)
            cells += "".join(_pct(c["pq"] if c else None) for c in class_spans(vpq, cid))
        if stq is not None:
            cells += _pct(stq["per_class_iou"].get(cid))
        lines.append(f"{int(cid):3d}  {name:{width}s} {kind:5s}{cells}")
    if left:
        lines.append(f"({left_out_line(left)})")
    return "\n".join(lines)


def format_per_video(results: dict) -> str:
    """Per video: its final VPQ (All, Things, Stuff) and PQ at each k when VPQ was computed, and
    its STQ, AQ and IoU when STQ was (percent)."""
    vpq = (results.get("vpq") or {}).get("per_video")
    stq = (results.get("stq") or {}).get("per_sequence")
    spans = result_spans(results["vpq"]) if vpq is not None else []
    width = max([5, *(len(v) for v in (*(vpq or ()), *(stq or ())))])
    head = f"{'video':>{width}s}"
    if vpq is not None:
        head += f" {'VPQ':>6s} {'Things':>6s} {'Stuff':>6s}" + "".join(f" {f'k={k}':>6s}" for k in spans)
    if stq is not None:
        head += f" {'STQ':>6s} {'AQ':>6s} {'IoU':>6s}"
    lines = ["Per video (%)", head]
    for video in sorted(set(vpq or ()) | set(stq or ())):
        cells = ""
        if vpq is not None:
            v = vpq[video]
            cells += "".join(_pct(v["final"][g]) for g, _ in _GROUP_TITLES)
            cells += "".join(_pct(v["spans"][k]["pq"]) for k in spans)
        if stq is not None:
            q = stq[video]
            cells += _pct(q["stq"]) + _pct(q["aq"]) + _pct(q["iou"])
        lines.append(f"{video:>{width}s}{cells}")
    return "\n".join(lines)
