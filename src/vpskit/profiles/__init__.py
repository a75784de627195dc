"""Benchmark profiles: everything in which one benchmark differs from another, as data.

A :class:`Profile` holds a benchmark's categories, how its ground truth and predictions encode
labels, which frames are annotated, its VPQ windows, its STQ conventions and the reference
implementations the metrics agree with. Code that depends on the benchmark asks the profile
(:func:`get_profile`) instead of branching on the benchmark's name.

Each benchmark is one module of this package exposing ``PROFILE``; :data:`BENCHMARKS` lists
them, and :func:`detect_benchmark` recognises a benchmark from the files of a dataset folder
or zip.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import VpsError

__all__ = ["BENCHMARKS", "DEFAULT_BENCHMARK", "Profile", "ProfileCategory", "Reference", "WindowSet",
           "available_benchmarks", "detect_benchmark", "get_profile"]


@dataclass(frozen=True)
class Reference:
    """A public implementation (repository, file, commit) a vpskit metric agrees with."""

    repository: str
    file: str
    commit: str

    def to_json(self) -> dict:
        """``{"repository", "file", "commit"}`` as ``results.json`` records it."""
        return {"repository": self.repository, "file": self.file, "commit": self.commit}


@dataclass(frozen=True)
class WindowSet:
    """A named set of VPQ windows: ``frames`` consecutive annotated frames per window, named
    ``spans`` (the ``k`` of ``vpq-{k}.txt``), and where the set comes from."""

    name: str
    frames: tuple[int, ...]
    spans: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class ProfileCategory:
    """One category of a benchmark: id as written in label maps, name, thing or stuff."""

    id: int
    name: str
    isthing: bool


@dataclass(frozen=True)
class Profile:
    """What defines one benchmark (see the module docstring).

    ``stq_label_divisor``: the panoptic label the STQ reference is fed is
    ``category * stq_label_divisor + instance`` (deeplab2's ``label_bit_shift`` 16 for both
    benchmarks so far). ``stq_things`` are the categories whose instances are tracks for STQ's association term
    (for Cityscapes-VPS the thing categories; KITTI-STEP tracks only person and car).
    ``vpq_spans`` are the window spans k of VPQ and ``vpq_window_frames`` the annotated frames
    each window holds (empty: the benchmark has no VPQ in vpskit yet). ``markers`` are paths,
    relative to a dataset root, whose presence identifies the benchmark.
    """

    name: str
    title: str
    categories: tuple[ProfileCategory, ...]
    void: int
    gt_encoding: str
    pred_encoding: str
    annotated_frames: str
    stq_reference: Reference
    stq_label_divisor: int
    stq_things: tuple[int, ...]
    stq_instance_zero: str
    vpq_spans: tuple[int, ...] = ()
    vpq_window_frames: tuple[int, ...] = ()
    vpq_final: str = ""
    vpq_reference: Reference | None = None
    markers: tuple[str, ...] = ()
    layout: str = "panoptic-json"
    """How the ground truth is stored: ``"panoptic-json"`` (segment-id PNGs described by a COCO-style
    panoptic JSON) or ``"category-instance"`` (one PNG per frame holding category and instance)."""
    extra_conventions: dict = field(default_factory=dict)
    """Further STQ conventions ``results.json`` states for this benchmark (beyond the defaults)."""
    vpq_conventions: dict = field(default_factory=dict)
    """Further VPQ conventions ``results.json`` states for this benchmark (e.g. how its labels
    become tubes)."""
    commands: tuple[str, ...] = ("synth", "prepare", "verify", "eval", "convert", "show", "report", "compare")
    """The vpskit commands that handle this benchmark so far."""
    gt_json: str = ""
    """``layout="video-json"``: the ground-truth JSON of a split in the root (``{split}`` replaced)."""
    gt_png_dir: str = ""
    """``layout="video-json"``: the folder of the root holding ``{video}/{frame}.png`` segment-id PNGs."""
    vpq_window_sets: tuple[WindowSet, ...] = ()
    """Named VPQ window sets a user may choose (``--vpq-windows``); the first is the default and
    matches :attr:`vpq_spans` / :attr:`vpq_window_frames`."""
    stq_gt_instances: dict = field(default_factory=dict)
    """How STQ numbers the ground truth's segments, when the benchmark's reference does it its
    own way (``--stq-gt-instances``): name -> meaning; the first is the default."""
    lists_absent_categories: bool = True
    """Whether per-category tables (``eval --per-class``, the report page) list every category,
    one absent from the ground truth and the predictions as "–"; False: only the categories
    present, and a line saying how many were left out (for many categories, most of them absent
    from any one evaluation)."""

    def with_windows(self, name: str | None) -> Profile:
        """This profile with the VPQ window set ``name`` (None: the default); ``VpsError`` for a
        name the benchmark does not have."""
        if name is None:
            return self
        for ws in self.vpq_window_sets:
            if ws.name == name:
                return replace(self, vpq_spans=ws.spans, vpq_window_frames=ws.frames)
        known = ", ".join(ws.name for ws in self.vpq_window_sets) or "none"
        raise VpsError("--vpq-windows", f"{self.title} has no window set {name!r} (its sets: {known})")

    def window_set(self) -> WindowSet | None:
        """The window set whose windows this profile holds (None if the benchmark names none)."""
        return next((ws for ws in self.vpq_window_sets if ws.frames == self.vpq_window_frames), None)

    def gt_instances(self, name: str | None) -> str | None:
        """The STQ ground-truth numbering ``name`` (None: the default; None too when the benchmark
        has no such choice); ``VpsError`` for a name the benchmark does not have."""
        if name is None:
            return next(iter(self.stq_gt_instances), None)
        if name not in self.stq_gt_instances:
            known = ", ".join(self.stq_gt_instances) or "none"
            raise VpsError("--stq-gt-instances", f"{self.title} has no numbering {name!r} (its choices: {known})")
        return name

    @property
    def category_ids(self) -> tuple[int, ...]:
        """Category ids in report order."""
        return tuple(c.id for c in self.categories)

    @property
    def thing_flags(self) -> tuple[bool, ...]:
        """Per category (in :attr:`category_ids` order): thing for the metrics."""
        return tuple(c.isthing for c in self.categories)

    @property
    def has_vpq(self) -> bool:
        """Whether vpskit computes VPQ for this benchmark."""
        return bool(self.vpq_spans) and self.vpq_reference is not None

    def require(self, command: str) -> Profile:
        """``self``, or ``VpsError`` (one line) if ``command`` does not handle this benchmark yet."""
        if command not in self.commands:
            raise VpsError("--benchmark", f"{command} does not handle {self.title} yet (for {self.title}: "
                           f"{', '.join(self.commands)})")
        return self

    def evaluation_fields(self) -> dict:
        """Entries this benchmark adds to ``results.json``'s ``evaluation`` (none for the default
        benchmark, whose results name no benchmark, as before profiles existed)."""
        return {} if self.name == DEFAULT_BENCHMARK else {"benchmark": self.name}


DEFAULT_BENCHMARK = "cityscapes-vps"
BENCHMARKS: dict[str, str] = {"cityscapes-vps": "cityscapes_vps", "kitti-step": "kitti_step", "vipseg": "vipseg"}
"""Benchmark name → module of this package holding its ``PROFILE``."""


def available_benchmarks() -> tuple[str, ...]:
    """The names of :data:`BENCHMARKS` whose profile module is present."""
    return tuple(name for name, module in BENCHMARKS.items()
                 if importlib.util.find_spec(f"{__name__}.{module}") is not None)


def get_profile(name: str | None = None) -> Profile:
    """The profile of benchmark ``name`` (None: Cityscapes-VPS); ``VpsError`` for an unknown one."""
    name = DEFAULT_BENCHMARK if name is None else name
    if name not in available_benchmarks():
        raise VpsError("--benchmark", f"unknown benchmark {name!r} (known: {', '.join(available_benchmarks())})")
    return importlib.import_module(f"{__name__}.{BENCHMARKS[name]}").PROFILE


def _zip_names(path: Path) -> tuple[list[str], set[str]] | None:
    """The member names of zip ``path`` and every folder above one (None when ``path`` is not a
    readable zip: whoever reads it says what is wrong)."""
    from ..zips import open_zip

    try:
        with open_zip(path) as zf:
            names = zf.namelist()
    except VpsError:
        return None
    folders = set()
    for parent in {name.rstrip("/").rpartition("/")[0] for name in names}:
        while parent:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    return names, folders


def _holds(root: Path, marker: str, zipped: tuple[list[str], set[str]] | None) -> bool:
    """Whether folder ``root`` holds ``marker``; zip ``root`` (its ``zipped`` names and folders),
    at any depth."""
    if zipped is None:
        return (root / marker).exists()
    tail = "/" + marker.strip("/")
    return any(f"/{p.rstrip('/')}".endswith(tail) for group in (zipped[1], zipped[0]) for p in group)


def detect_benchmark(root: str | os.PathLike | None, given: str | None = None) -> Profile:
    """The profile of ``given``, else the benchmark whose markers ``root`` holds.

    ``root`` is a folder (markers directly in it) or a zip (markers at any depth in it, as the
    readers of a zipped dataset find its folders). A root with the markers of no benchmark is
    Cityscapes-VPS; one with the markers of several is refused (give ``--benchmark``).
    """
    if given is not None:
        return get_profile(given)
    if root is None or not (Path(root).is_dir() or Path(root).is_file()):
        return get_profile(DEFAULT_BENCHMARK)
    zipped = (_zip_names(Path(root)) or ([], set())) if Path(root).is_file() else None
    found = [p for p in (get_profile(n) for n in available_benchmarks())
             if p.markers and all(_holds(Path(root), m, zipped) for m in p.markers)]
    if len(found) > 1:
        raise VpsError(root, "holds the files of several benchmarks ("
                       + ", ".join(p.name for p in found) + "): give --benchmark")
    return found[0] if found else get_profile(DEFAULT_BENCHMARK)
