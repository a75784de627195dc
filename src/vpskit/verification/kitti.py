"""Check a KITTI-STEP folder: ``images/{split}/{seq:04d}/{frame:06d}.png`` and, for the labelled
splits, ``panoptic_maps/{split}/{seq:04d}/{frame:06d}.png`` (8-bit RGB, R = category,
G·256 + B = instance).

Per sequence (in parallel): frames numbered 000000, 000001, … without gaps; a panoptic map for
every image and an image for every map, of the same size, one size per sequence; maps that are
8-bit RGB PNGs whose categories are 0-18 or void (255) and whose instance ids are only on the
tracked categories (person, car). One line per problem, naming the file.

ROOT may also be a zip of such a folder (as packed for download: ``images/`` and
``panoptic_maps/`` at any depth inside it): the same checks, each problem naming ``zip:member``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import VpsError
from ..parallel import map_videos
from ..pngio import decode_png, png_header, read_file
from ..profiles import Profile
from ..profiles.kitti_step import IMAGES_DIR, LABELLED_SPLITS, MAPS_DIR, SPLITS
from ..sources import Source
from ..text import plural
from ..zips import one_place, open_zip
from .report import VerifyReport

COLUMNS = ("sequences", "images", "maps", "tracks", "problems")
_SEQUENCE = re.compile(r"\d{4}")
_FRAME = re.compile(r"(\d{6})\.png")


@dataclass(frozen=True)
class _Unit:
    split: str
    sequence: str


@dataclass
class _Result:
    images: int = 0
    maps: int = 0
    tracks: int = 0
    problems: list[str] = field(default_factory=list)


class _Tree:
    """The KITTI-STEP root being checked, a folder or the folder of a zip holding ``images/`` and
    ``panoptic_maps/``: listings, reads and names for messages by path relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.source: Source | None = None
        self._folders: dict[str, dict[str, str]] = {}
        if root.is_file():
            self.source = Source(root, "", prefix=_zip_root(root))
            for name in self.source.names():
                parts = name.split("/")
                for i in range(len(parts)):
                    self._folders.setdefault("/".join(parts[:i]), {})[parts[i]] = "folder" if i < len(parts) - 1 else "file"

    def where(self, rel: str) -> str:
        """How messages name ``rel`` (a path, or ``zip:member``)."""
        return self.source.describe(rel) if self.source is not None else str(self.root / rel)

    def entries(self, rel: str) -> dict[str, str]:
        """Name → ``"folder"``, ``"file"`` (a regular one) or ``"other"``, of what folder ``rel``
        holds (empty when there is no such folder)."""
        if self.source is not None:
            return self._folders.get(rel, {})
        folder = self.root / rel
        if not folder.is_dir():
            return {}
        return {p.name: "folder" if p.is_dir() else "file" if p.is_file() else "other" for p in folder.iterdir()}

    def read(self, rel: str) -> bytes:
        """The bytes of file ``rel``; ``VpsError`` naming it when missing or unreadable."""
        return self.source.read(rel) if self.source is not None else read_file(self.root / rel)


def _zip_root(path: Path) -> str:
    """The member prefix of the folder of zip ``path`` holding ``images/`` or ``panoptic_maps/``."""
    found = set()
    with open_zip(path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            for i in range(len(parts) - 2):
                if parts[i] in (IMAGES_DIR, MAPS_DIR) and parts[i + 1] in SPLITS:
                    found.add("".join(f"{p}/" for p in parts[:i]))
                    break
    return one_place(path, found, f"no {MAPS_DIR}/{{split}}/ or {IMAGES_DIR}/{{split}}/ folder inside the zip (a "
                     "KITTI-STEP zip holds the folder that holds them)",
                     "KITTI-STEP folders in several places inside the zip", "zip one dataset")


def _listing(tree: _Tree, folder: str, res: _Result) -> dict[int, str]:
    """Frame number → file name of the frames in ``folder``; other entries are problems."""
    frames: dict[int, str] = {}
    for name, kind in sorted(tree.entries(folder).items()):
        m = _FRAME.fullmatch(name)
        if m is None or kind != "file":
            res.problems.append(f"{tree.where(f'{folder}/{name}')}: unexpected {'folder' if kind == 'folder' else 'file'} "
                                "(expected frames named 000000.png, 000001.png, …)")
            continue
        frames[int(m.group(1))] = name
    return frames


def _image_size(tree: _Tree, rel: str, res: _Result) -> tuple[int, int] | None:
    try:
        header = png_header(tree.read(rel), tree.where(rel))
    except VpsError as exc:
        res.problems.append(str(exc))
        return None
    return header.width, header.height


def check_map(rgb: np.ndarray, tracked: Sequence[int], categories: int, void: int) -> tuple[list[str], set[int]]:
    """Problems of one decoded panoptic map (what is wrong, without the file) and its tracks
    (``category * 65536 + instance`` of instance ids != 0)."""
    problems = []
    cat = rgb[..., 0]
    inst = (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    counts = np.bincount(cat.reshape(-1), minlength=256)
    bad = [c for c in np.flatnonzero(counts).tolist() if c >= categories and c != void]
    if bad:
        problems.append(f"category values {', '.join(map(str, bad))} (R channel: {plural(int(counts[bad].sum()), 'pixel')}) "
                        f"are neither a category (0-{categories - 1}) nor void ({void})")
    labelled = inst != 0
    on_untracked = labelled & ~np.isin(cat, list(tracked))
    if on_untracked.any():
        cats = np.flatnonzero(np.bincount(cat[on_untracked], minlength=256)).tolist()
        problems.append(f"instance ids on {plural(int(on_untracked.sum()), 'pixel')} of untracked categories "
                        f"{', '.join(map(str, cats))} (only {', '.join(map(str, tracked))} have instances)")
    ids = np.unique(cat[labelled & ~on_untracked].astype(np.int64) * 65536 + inst[labelled & ~on_untracked])
    return problems, set(ids.tolist())


def _check_sequence(ctx: tuple[_Tree, Profile], unit: _Unit) -> _Result:
    tree, profile = ctx
    res = _Result()
    img_dir = f"{IMAGES_DIR}/{unit.split}/{unit.sequence}"
    map_dir = f"{MAPS_DIR}/{unit.split}/{unit.sequence}"
    images = _listing(tree, img_dir, res)
    labelled = unit.split in LABELLED_SPLITS
    maps = _listing(tree, map_dir, res) if labelled else {}
    res.images, res.maps = len(images), len(maps)
    numbers = sorted(set(images) | set(maps))
    if numbers and numbers != list(range(numbers[-1] + 1)):
        gaps = sorted(set(range(numbers[-1] + 1)) - set(numbers))
        res.problems.append(f"{tree.where(img_dir)}: frames {', '.join(f'{g:06d}' for g in gaps[:5])}"
                            f"{' …' if len(gaps) > 5 else ''} missing (frames are numbered from 000000 without gaps)")
    tracks: set[int] = set()
    sizes: set[tuple[int, int]] = set()
    for n in numbers:
        name = f"{n:06d}.png"
        img_size = _image_size(tree, f"{img_dir}/{name}", res) if n in images else None
        if n not in images:
            res.problems.append(f"{tree.where(f'{img_dir}/{name}')}: missing (its panoptic map exists)")
        if labelled and n not in maps:
            res.problems.append(f"{tree.where(f'{map_dir}/{name}')}: missing (its image exists)")
            continue
        if not labelled:
            if img_size is not None:
                sizes.add(img_size)
            continue
        path = tree.where(f"{map_dir}/{name}")
        try:
            data = tree.read(f"{map_dir}/{name}")
            header = png_header(data, path)
            if header.bit_depth != 8 or header.color_type != 2:
                res.problems.append(f"{path}: expected an 8-bit RGB PNG, found bit depth {header.bit_depth}, "
                                    f"colour type {header.color_type}")
                continue
            rgb = decode_png(data, path)
        except VpsError as exc:
            res.problems.append(str(exc))
            continue
        size = (rgb.shape[1], rgb.shape[0])
        sizes.add(size)
        if img_size is not None and img_size != size:
            res.problems.append(f"{path}: size {size[0]}x{size[1]} differs from its image's {img_size[0]}x{img_size[1]}")
        found, ids = check_map(rgb, profile.stq_things, len(profile.categories), profile.void)
        res.problems.extend(f"{path}: {p}" for p in found)
        tracks |= ids
    if len(sizes) > 1:
        shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes))
        res.problems.append(f"{tree.where(map_dir if labelled else img_dir)}: frames of several sizes ({shown})")
    res.tracks = len(tracks)
    return res


def _sequences(tree: _Tree, split: str) -> list[str]:
    names: set[str] = set()
    for top in (IMAGES_DIR, MAPS_DIR):
        names |= {n for n, kind in tree.entries(f"{top}/{split}").items() if kind == "folder" and _SEQUENCE.fullmatch(n)}
    return sorted(names)


def verify_category_instance(root: str | os.PathLike, profile: Profile, splits: str | Sequence[str] = SPLITS, *,
                             jobs: int | None = None, progress: bool | None = None) -> VerifyReport:
    """Check a KITTI-STEP folder or zip (see the module docstring); return a report (``.ok``,
    ``.problems``, ``.table``). ``VpsError`` when ``root`` is neither, or a zip holding no such
    folder (or several), or a split is unknown."""
    root = Path(root)
    if not (root.is_dir() or root.is_file()):
        raise VpsError(root, "no such folder or zip")
    order = [s.strip() for s in splits.split(",")] if isinstance(splits, str) else list(splits)
    unknown = [s for s in order if s not in SPLITS]
    if unknown or not order:
        raise VpsError("--splits", f"unknown split {unknown[0] if unknown else ''!r} (known: {', '.join(SPLITS)})")
    tree = _Tree(root)
    report = VerifyReport(root, columns=COLUMNS)
    units = []
    for split in order:
        seqs = _sequences(tree, split)
        report.counts[split] = {"sequences": len(seqs), "images": 0, "tracks": 0, "problems": 0}
        if split in LABELLED_SPLITS:
            report.counts[split]["maps"] = 0
        if not seqs:
            report.problems.append(f"{tree.where(f'{IMAGES_DIR}/{split}')}: no sequence folders (0000, 0001, …)")
            report.counts[split]["problems"] += 1
        units += [_Unit(split, s) for s in seqs]
    try:
        results = map_videos(_check_sequence, units, context=(tree, profile), jobs=jobs, desc="verify",
                             progress=progress)
    finally:
        if tree.source is not None:
            tree.source.close()
    for unit, res in zip(units, results, strict=True):
        counts = report.counts[unit.split]
        counts["images"] += res.images
        counts["tracks"] += res.tracks
        if unit.split in LABELLED_SPLITS:
            counts["maps"] += res.maps
        counts["problems"] += len(res.problems)
        report.problems.extend(res.problems)
    return report
