"""Predictions made from the ground truth with chosen, counted errors (``vpskit perturb``).

:func:`perturb` reads the ground truth of a prepared split and writes ``OUT/pred.json`` and
``OUT/pan_pred/{image_id}.png`` (the format ``vpskit eval`` reads) plus ``OUT/perturb.json``,
which records the settings and counts every error made. The rules are in
:mod:`vpskit.perturbation.rules`:

- ``drop``: each thing track is missed with this probability; its pixels become void.
- ``switch``: each thing track takes a new segment id from one of its frames on.
- ``confuse``: each thing track and stuff segment gets another category of the same kind.
- ``erode``: every segment loses the pixels within this many pixels of another segment or of
  void (they become void), but always keeps more than half its area.
- ``false_positive``: each thing track gets a ghost (a spurious track of its category, its
  shape moved sideways by its width) on the stuff beside it.

Per video, with choices seeded by ``(seed, video)``: the same arguments give the same bytes
whatever the number of workers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import naming
from ..errors import VpsError
from ..evaluation.loading import (
    PAN_PRED_DIR,
    PRED_JSON,
    GroundTruth,
    load_ground_truth,
    open_ground_truth,
)
from ..parallel import map_videos
from ..pngio import PART_SUFFIX, atomic_write_bytes, decode_ids, id2rgb, write_png
from ..text import plural
from .rules import Errors, Labels, perturb_frame, plan_video, video_segments

__all__ = ["NOISY", "PERTURB_JSON", "Errors", "format_summary", "perturb", "perturb_ground_truth",
           "write_noisy_prediction"]

PERTURB_JSON = "perturb.json"
NOISY = Errors(drop=0.1, switch=0.2, confuse=0.1, erode=1, false_positive=0.1)
"""The errors of the demo's "noisy model": some of every kind."""

_TOTALS = ("videos", "frames", "tracks", "segments", "pixels")
_COUNTS = {
    "drop": ("tracks", "segments", "pixels"),
    "switch": ("tracks",),
    "confuse": ("tracks", "stuff_segments", "segments"),
    "erode": ("pixels", "segments_eroded_less"),
    "false_positive": ("tracks", "segments", "pixels"),
}


@dataclass(frozen=True)
class _Context:
    gt: GroundTruth
    out: Path
    errors: Errors
    seed: int
    stuff_categories: np.ndarray


def _empty_counts() -> dict:
    return {"ground_truth": dict.fromkeys(_TOTALS, 0), **{k: dict.fromkeys(v, 0) for k, v in _COUNTS.items()}}


def _perturb_video(ctx: _Context, item: tuple[str, str]) -> tuple[list[dict], dict]:
    """Write the PNGs of one video; return its annotations and its counts."""
    _, video = item
    gt = ctx.gt
    frames = gt.videos[video]
    segments = video_segments([f.segments for f in frames])
    plan = plan_video(segments, gt.categories, ctx.errors, ctx.seed, int(video))
    counts = _empty_counts()
    totals = counts["ground_truth"]
    totals["videos"], totals["frames"], totals["tracks"] = 1, len(frames), plan.tracks
    counts["drop"]["tracks"] = len(plan.dropped)
    counts["switch"]["tracks"] = len(plan.switches)
    counts["confuse"]["tracks"], counts["confuse"]["stuff_segments"] = plan.confused_tracks, plan.confused_stuff
    ghosts_seen: set[int] = set()
    annotations = []
    for j, frame in enumerate(frames):
        where = gt.describe(frame)
        gt_ids = decode_ids(gt.read_png(frame), where)
        labels = Labels.of(gt_ids, frame.segments.ids)
        if labels.unknown is not None:
            raise VpsError(where, f"segment id {labels.unknown} is in the PNG but not in the ground-truth JSON's "
                           "segments_info")
        del gt_ids
        pred, category, fc = perturb_frame(labels, frame.segments, j, plan, ctx.stuff_categories, ctx.errors.erode)
        del labels
        name = naming.pan_pred_file(frame.image_id)
        write_png(ctx.out / PAN_PRED_DIR / name, id2rgb(pred.ids)[pred.index])
        areas = pred.areas()
        annotations.append({"image_id": frame.image_id, "file_name": name, "segments_info": [
            {"id": i, "category_id": category[i], "area": int(areas[pred.ids == i].sum())}
            for i in sorted({int(i) for i in pred.ids[areas > 0].tolist()} - {0})]})
        ghosts_seen.update(g for _, g, _ in plan.ghosts if g in category)
        totals["segments"] += fc["segments"]
        totals["pixels"] += fc["pixels"]
        counts["drop"]["segments"] += fc["dropped"]
        counts["drop"]["pixels"] += fc["dropped_pixels"]
        counts["confuse"]["segments"] += fc["confused"]
        counts["erode"]["pixels"] += fc["eroded_pixels"]
        counts["erode"]["segments_eroded_less"] += fc["eroded_less"]
        counts["false_positive"]["segments"] += fc["false_positive"]
        counts["false_positive"]["pixels"] += fc["false_positive_pixels"]
    counts["false_positive"]["tracks"] = len(ghosts_seen)
    return annotations, counts


def _add(total: dict, part: dict) -> None:
    for kind, values in part.items():
        for key, n in values.items():
            total[kind][key] += n


def _claim_out(out: Path) -> None:
    """Make ``out`` ready for a new prediction: absent, empty, or an earlier perturb output
    (whose ``pred.json`` is removed first, so that it never looks complete meanwhile)."""
    if out.exists() and not out.is_dir():
        raise VpsError(out, "exists and is not a folder")
    if out.is_dir() and not (out / PERTURB_JSON).is_file() and any(out.iterdir()):
        raise VpsError(out, f"is not empty and holds no earlier 'vpskit perturb' output (no {PERTURB_JSON}); "
                       "choose another OUT")
    try:
        (out / PRED_JSON).unlink(missing_ok=True)
    except OSError as exc:
        raise VpsError(out / PRED_JSON, f"cannot remove the earlier prediction ({exc.strerror or exc})") from None


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Remove the files of ``folder`` not named in ``keep`` (PNGs of an earlier run, temporary files)."""
    for p in folder.iterdir():
        if p.name not in keep and p.is_file() and (p.suffix == ".png" or p.name.endswith(PART_SUFFIX)):
            p.unlink()


def perturb_ground_truth(gt: GroundTruth, out: str | os.PathLike, errors: Errors | None = None, *, seed: int = 0,
                         split: str | None = None, jobs: int | None = None,
                         progress: bool | None = None) -> dict:
    """Write the perturbed prediction of ground truth ``gt`` into ``out``; return what
    ``perturb.json`` holds (see :func:`perturb`)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise VpsError("--seed", f"must be a non-negative integer, got {seed!r}")
    errors = errors or Errors()
    out = Path(out)
    _claim_out(out)
    stuff = [c for c, t in zip(gt.categories.ids, gt.categories.isthing, strict=True) if not t]
    ctx = _Context(gt, out, errors, seed, np.array(stuff, dtype=np.int64))
    items = [(split or "ground truth", v) for v in sorted(gt.videos)]
    results = map_videos(_perturb_video, items, context=ctx, jobs=jobs, desc="perturb", progress=progress)
    counts = _empty_counts()
    annotations: list[dict] = []
    per_video = {}
    for (_, video), (anns, c) in zip(items, results, strict=True):
        annotations.extend(anns)
        _add(counts, c)
        per_video[video] = {k: v for k, v in c.items() if k != "ground_truth"}
    _remove_stale(out / PAN_PRED_DIR, {a["file_name"] for a in annotations})
    from .._version import __version__

    record = {"vpskit": {"version": __version__}, "split": split, "ground_truth": gt.json_where,
              "seed": seed, "errors": errors.as_dict(), "counts": counts, "per_video": per_video}
    atomic_write_bytes(out / PERTURB_JSON, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
    atomic_write_bytes(out / PRED_JSON, (json.dumps({"annotations": annotations}) + "\n").encode())
    return record


def perturb(
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    split: str = "val",
    seed: int = 0,
    drop: float = 0.0,
    switch: float = 0.0,
    confuse: float = 0.0,
    erode: int = 0,
    false_positive: float = 0.0,
    jobs: int | None = None,
    progress: bool | None = None,
) -> dict:
    """Write a prediction of ``split`` made from the ground truth in ``root`` with chosen errors.

    ``root`` is a prepared Cityscapes-VPS folder (or a zip of one). ``out`` receives
    ``pred.json`` (written last), ``pan_pred/{image_id}.png`` and ``perturb.json``; it must be
    absent, empty, or an earlier output of this function, which is replaced. Errors, each drawn
    independently per video from ``seed``:

    - ``drop``: probability that a thing track is missed (its pixels become void);
    - ``switch``: probability that a thing track takes a new id from one of its frames on (a
      track seen in one frame only cannot switch);
    - ``confuse``: probability that a thing track or a stuff segment gets another category of
      the same kind (thing for thing, stuff for stuff), in every frame;
    - ``erode``: pixels each segment is eroded by (the pixels become void); a segment always
      keeps more than half its area, so erosion lowers SQ and never RQ;
    - ``false_positive``: probability that a thing track gets a ghost: a spurious track of its
      category, its shape moved sideways by its width, on stuff pixels only.

    Returns what ``perturb.json`` holds: ``seed``, ``errors`` (the settings), ``counts`` (the
    ground truth's ``videos``, ``frames``, ``tracks``, ``segments``, ``pixels``, and per kind of
    error the tracks, segments and pixels it touched; a segment counts once per frame it is in)
    and the same counts ``per_video``. Bad input raises ``VpsError``.
    """
    errors = Errors(drop=drop, switch=switch, confuse=confuse, erode=erode, false_positive=false_positive)
    naming.check_split(split, labelled=True)
    gt = open_ground_truth(root, split, None, None)
    return perturb_ground_truth(gt, out, errors, seed=seed, split=split, jobs=jobs, progress=progress)


def write_noisy_prediction(gt_json: str | os.PathLike, gt_dir: str | os.PathLike, out_dir: str | os.PathLike,
                           seed: int = 0, jobs: int | None = 1) -> Path:
    """Write a "noisy model" prediction (:data:`NOISY`) of the ground truth ``gt_json`` +
    ``gt_dir`` (its panoptic PNGs) into ``out_dir``; return ``out_dir``."""
    gt = load_ground_truth(Path(gt_json), Path(gt_dir))
    perturb_ground_truth(gt, out_dir, NOISY, seed=seed, jobs=jobs, progress=False)
    return Path(out_dir)


def format_summary(record: dict, out: str | os.PathLike) -> str:
    """What a perturbation made, in a few lines (``record`` as :func:`perturb` returns it)."""
    c, e = record["counts"], record["errors"]
    t = c["ground_truth"]
    lines = [f"{plural(t['frames'], 'frame')} of {plural(t['videos'], 'video')} "
             f"({plural(t['tracks'], 'thing track')}, {plural(t['segments'], 'segment')}), seed {record['seed']}:"]
    rows = []
    if e["drop"]:
        d = c["drop"]
        rows.append((f"drop {e['drop']:g}", f"{d['tracks']} of {t['tracks']} tracks missed: "
                     f"{plural(d['segments'], 'segment')}, {d['pixels']:,} pixels void"))
    if e["switch"]:
        rows.append((f"switch {e['switch']:g}", f"{plural(c['switch']['tracks'], 'track')} switched identity"))
    if e["confuse"]:
        d = c["confuse"]
        rows.append((f"confuse {e['confuse']:g}", f"{plural(d['tracks'], 'thing track')} and "
                     f"{plural(d['stuff_segments'], 'stuff segment')} change category: "
                     f"{plural(d['segments'], 'segment')}"))
    if e["erode"]:
        d = c["erode"]
        less = f" ({d['segments_eroded_less']} eroded less, to keep more than half)" if d["segments_eroded_less"] else ""
        rows.append((f"erode {e['erode']} px", f"{d['pixels']:,} of {t['pixels']:,} pixels void{less}"))
    if e["false_positive"]:
        d = c["false_positive"]
        rows.append((f"false-positive {e['false_positive']:g}", f"{plural(d['tracks'], 'spurious track')}: "
                     f"{plural(d['segments'], 'segment')}, {d['pixels']:,} pixels"))
    if not rows:
        rows.append(("no errors", "the prediction is the ground truth"))
    width = max(len(a) for a, _ in rows)
    lines += [f"  {a:<{width}}  {b}" for a, b in rows]
    lines.append(f"wrote {Path(out) / PRED_JSON}, {Path(out) / PAN_PRED_DIR}/ and {Path(out) / PERTURB_JSON}")
    return "\n".join(lines)
