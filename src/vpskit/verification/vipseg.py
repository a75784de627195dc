"""Check a prepared VIPSeg folder (``VIPSeg_720P/``, what ``vpskit prepare --benchmark vipseg`` or
the VIPSeg scripts make) as a user needs it before training or evaluating.

Folder-wide: ``panoVIPSeg_categories.json`` and the ``categories`` of every GT JSON are VIPSeg's 124
(ids, names, thing/stuff, colours); ``panoptic_gt_VIPSeg.json`` and ``panoptic_gt_VIPSeg_{train,val}.json``
are well-formed (``videos``, ``annotations``, ``categories``; one entry per video, the two lists in
the same video order) and each split file holds exactly its split's videos, with the entries of
the whole file; the split lists agree with the folders: every video of a split has its
``images/`` folder (and ``panomasks/``, ``panomasksRGB/`` in train and val), and every folder of
``images/`` belongs to one split. The split lists are ``ROOT/{split}.txt`` when present (the
VIPSeg README puts them there), else those of the download (``--download``), else the videos of
``panoptic_gt_VIPSeg_{split}.json`` (and, for test, the ``images/`` folders no JSON lists).

Per video, on the pool: see :mod:`vpskit.verification.vipseg_video`. One line per problem, naming
the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import VpsError
from ..jsonfields import read_json
from ..naming import parse_splits
from ..parallel import map_videos
from ..preparation.vipseg_run import VipsegDownload
from ..profiles.vipseg import SPLITS, categories_json
from ..text import plural
from .report import VerifyReport
from .vipseg_video import VideoUnit, check_video

__all__ = ["verify_vipseg"]

COLUMNS = ("videos", "images", "panomasks", "panomasksRGB", "segments", "problems")
LABELLED = ("train", "val")
FULL_JSON = "panoptic_gt_VIPSeg.json"
CATEGORIES_JSON = "panoVIPSeg_categories.json"


def _split_json(split: str) -> str:
    return f"panoptic_gt_VIPSeg_{split}.json"


def _category_problems(records: object, where: object) -> list[str]:
    """How ``records`` differ from VIPSeg's categories (one line each, at most a few)."""
    want = categories_json()
    if not isinstance(records, list):
        return [f"{where}: the categories are not a list"]
    if len(records) != len(want):
        return [f"{where}: {len(records)} categories, VIPSeg has {len(want)}"]
    out = []
    for pos, (got, exp) in enumerate(zip(records, want, strict=True)):
        if not isinstance(got, dict) or any(got.get(k) != exp[k] for k in ("id", "name", "isthing", "color")):
            shown = {k: got.get(k) for k in exp} if isinstance(got, dict) else got
            out.append(f"{where}: categories[{pos}] is {shown}, VIPSeg's is {exp}")
    return out[:5] + ([f"{where}: … and {len(out) - 5} more categories differ"] if len(out) > 5 else [])


def _read_doc(path: Path, problems: list[str]) -> dict[str, tuple[dict, dict]] | None:
    """Video -> (``videos`` entry, ``annotations`` entry) of a GT JSON, in its order; its categories
    checked. None (a problem recorded) when it is missing or malformed."""
    try:
        doc = read_json(path)
    except VpsError as exc:
        problems.append(str(exc))
        return None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("videos", "annotations", "categories")):
        problems.append(f"{path}: not a VIPSeg GT JSON (an object with the lists 'videos', 'annotations' and "
                        "'categories')")
        return None
    problems.extend(_category_problems(doc["categories"], path))
    if len(doc["videos"]) != len(doc["annotations"]):
        problems.append(f"{path}: {len(doc['videos'])} videos but {len(doc['annotations'])} annotation entries")
        return None
    out: dict[str, tuple[dict, dict]] = {}
    for pos, (video, ann) in enumerate(zip(doc["videos"], doc["annotations"], strict=True)):
        vid = video.get("video_id") if isinstance(video, dict) else None
        if not isinstance(vid, str) or not isinstance(ann, dict) or ann.get("video_id") != vid:
            problems.append(f"{path}: videos[{pos}] and annotations[{pos}] are not objects with the same "
                            "'video_id' (a string)")
            return None
        if vid in out:
            problems.append(f"{path}: video {vid} is listed twice")
            continue
        out[vid] = (video, ann)
    return out


def _read_list(path: Path, problems: list[str]) -> list[str]:
    try:
        text = path.read_bytes().decode()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: unreadable split list ({exc})")
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def _split_lists(root: Path, download: VipsegDownload | None, docs: dict, folders: list[str],
                 problems: list[str]) -> dict[str, list[str]]:
    """The videos of each split (see the module docstring)."""
    if all((root / f"{s}.txt").is_file() for s in SPLITS):
        return {s: _read_list(root / f"{s}.txt", problems) for s in SPLITS}
    if download is not None:
        try:
            return {s: download.split(s) for s in SPLITS}
        except VpsError as exc:
            problems.append(str(exc))
    lists = {s: list(docs.get(s) or {}) for s in LABELLED}
    known = set(docs.get("all") or {}) | {v for s in LABELLED for v in lists[s]}
    lists["test"] = [v for v in folders if v not in known]
    return lists


def _check_lists(root: Path, lists: dict[str, list[str]], docs: dict, folders: list[str],
                 problems: list[str]) -> None:
    """Split lists against each other, the folders and the JSON files."""
    seen: dict[str, str] = {}
    for split in SPLITS:
        for video in lists[split]:
            if video in seen and seen[video] != split:
                problems.append(f"{root}: video {video} is in both the {seen[video]} and the {split} split")
            seen.setdefault(video, split)
    for video in folders:
        if video not in seen:
            problems.append(f"{root / 'images' / video}: in no split list")
    full = docs.get("all")
    for split in LABELLED:
        doc = docs.get(split)
        if doc is not None and sorted(doc) != sorted(lists[split]):
            extra, lacking = sorted(set(doc) - set(lists[split])), sorted(set(lists[split]) - set(doc))
            problems.append(f"{root / _split_json(split)}: holds {len(doc)} videos, the {split} split "
                            f"{len(lists[split])} ({'extra: ' + ', '.join(extra[:3]) if extra else ''}"
                            f"{'; ' if extra and lacking else ''}{'missing: ' + ', '.join(lacking[:3]) if lacking else ''})")
        if doc is not None and full is not None:
            changed = [v for v in doc if v in full and doc[v] != full[v]]
            if changed:
                problems.append(f"{root / _split_json(split)}: the entries of {plural(len(changed), 'video')} (first: "
                                f"{changed[0]}) differ from those of {FULL_JSON}")
    if full is not None:
        stray = [v for v in full if seen.get(v) not in LABELLED]
        if stray:
            problems.append(f"{root / FULL_JSON}: {plural(len(stray), 'video')} in neither the train nor the val split "
                            f"(first: {stray[0]})")


def _download_counts(download: VipsegDownload) -> dict[str, tuple[int, int]]:
    """Video -> (frames, masks) of the download."""
    masks: dict[str, int] = {}
    for name in download.masks.names():
        video, _, file = name.partition("/")
        if file and "/" not in file and not file.startswith("."):
            masks[video] = masks.get(video, 0) + 1
    return {v: (len(download.frames(v)), masks.get(v, 0)) for v in download.videos()}


def verify_vipseg(root: str | os.PathLike, splits: str | Sequence[str] = SPLITS, *, download: str | os.PathLike | None = None,
                  jobs: int | None = None, progress: bool | None = None) -> VerifyReport:
    """Check a prepared VIPSeg folder (see the module docstring); return a report (``.ok``,
    ``.problems``, ``.table``). ``download``: the VIPSeg download (folder or zip) to count frames
    and masks against and to check the width rule with. ``VpsError`` when ``root`` is not a folder
    or a split is unknown."""
    root = Path(root)
    if not root.is_dir():
        raise VpsError(root, "no such folder")
    order = parse_splits(splits)
    dl = VipsegDownload(download) if download is not None else None
    report = VerifyReport(root, columns=COLUMNS)
    problems: list[str] = []
    try:
        problems.extend(_category_problems(read_json(root / CATEGORIES_JSON), root / CATEGORIES_JSON))
    except VpsError as exc:
        problems.append(str(exc))
    docs = {"all": _read_doc(root / FULL_JSON, problems)}
    docs |= {s: _read_doc(root / _split_json(s), problems) for s in LABELLED if s in order}
    images = root / "images"
    folders = sorted(p.name for p in images.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if images.is_dir() else []
    if not folders:
        problems.append(f"{images}: no video folders")
    lists = _split_lists(root, dl, docs, folders, problems)
    _check_lists(root, lists, docs, folders, problems)
    counts = _download_counts(dl) if dl is not None else {}
    units = []
    json_path = {s: root / (_split_json(s) if docs.get(s) is not None else FULL_JSON) for s in order}
    for split in order:
        doc = docs.get(split) if docs.get(split) is not None else docs.get("all")
        entries = doc or {}
        for video in lists[split]:
            labelled = split in LABELLED
            if labelled and video not in entries and doc is not None:
                problems.append(f"{json_path[split]}: video {video} of the {split} split is not listed")
            units.append(VideoUnit(split, video, labelled, entries.get(video) if labelled else None,
                                   counts.get(video, (0, 0)) if dl is not None else None))
    results = map_videos(check_video, units, context=(root, json_path, dl), jobs=jobs, desc="verify",
                         progress=progress)
    report.problems.extend(problems)
    for split in order:
        report.counts[split] = {"videos": len(lists[split]), "images": 0, "segments": 0, "problems": 0}
        if split in LABELLED:
            report.counts[split] |= {"panomasks": 0, "panomasksRGB": 0}
    for unit, res in zip(units, results, strict=True):
        c = report.counts[unit.split]
        c["images"] += res.images
        c["segments"] += res.segments
        c["problems"] += len(res.problems)
        if unit.labelled:
            c["panomasks"] += res.masks
            c["panomasksRGB"] += res.rgb
        report.problems.extend(res.problems)
    report.counts["folder"] = {"problems": len(problems)}
    return report
