"""The ground truth of any benchmark (Cityscapes-VPS, KITTI-STEP, VIPSeg) as ``report``,
``compare`` and ``show`` need it: the benchmark's profile, its categories with names and colours,
and a prediction scored per video exactly as ``vpskit eval`` scores it (same readers, same
per-video states, same results head)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..categories import CATEGORY_BY_ID
from ..errors import VpsError
from ..evaluation.metrics import STQAccumulator, VPQAccumulator
from ..evaluation.metrics.stq import DEFAULT_VOID_RULE
from ..pngio import png_header
from ..profiles import Profile, detect_benchmark

__all__ = ["Benchmark", "open_benchmark"]

GREY = (128, 128, 128)


@dataclass(frozen=True)
class Benchmark:
    """The ground truth of a split of one benchmark, as given (``root`` + ``split``, or for
    Cityscapes-VPS ``gt_json`` + ``gt_dir``), with its profile and category records
    (``{"id", "name", "isthing", "color"}`` in the profile's or the GT JSON's order)."""

    profile: Profile
    root: str | None
    split: str
    gt_json: str | None
    gt_dir: str | None
    category_records: list[dict]
    stq_gt_instances: str | None = None
    """VIPSeg: STQ's numbering of the ground truth's segments (the profile's default when None)."""

    @property
    def named_split(self) -> str | None:
        """The split results name (None when the ground truth was given by file)."""
        return self.split if self.gt_json is None and self.gt_dir is None else None

    @property
    def longest_span(self) -> int:
        """The span k of the benchmark's longest VPQ window."""
        return self.profile.vpq_spans[-1]

    def frame_width(self) -> int | None:
        """Width of the first ground-truth frame (None when the split has none)."""
        if self.profile.layout == "category-instance":
            from ..evaluation.category_instance import open_maps_ground_truth

            gt = open_maps_ground_truth(self._root(), self.split, self.profile)
            try:
                seq = sorted(gt.videos)[0]
                rel = f"{seq}/{gt.videos[seq][0]}"
                return png_header(gt.source.read(rel), gt.source.describe(rel)).width
            finally:
                gt.source.close()
        gt = self.ground_truth()
        frames = gt.frames
        if not frames:
            return None
        return png_header(gt.read_png(frames[0]), gt.describe(frames[0])).width

    def _root(self) -> str:
        if self.root is None:
            raise VpsError("ground truth", f"give --root, the prepared {self.profile.title} folder")
        return self.root

    def ground_truth(self):  # noqa: ANN201 - GroundTruth (panoptic-json and video-json layouts)
        """The split's :class:`~vpskit.evaluation.loading.GroundTruth` (not for KITTI-STEP)."""
        from ..evaluation.loading import open_ground_truth
        from ..evaluation.video_json import open_video_ground_truth

        if self.profile.layout == "video-json":
            return open_video_ground_truth(self._root(), self.split, self.profile)
        return open_ground_truth(self.root, self.split, self.gt_json, self.gt_dir)

    def score(self, pred: str | os.PathLike, *, videos: object = None, stq_void: str = DEFAULT_VOID_RULE,
              jobs: int | None = None, progress: bool | None = None, tracks: bool = False
              ) -> tuple[dict, VPQAccumulator, STQAccumulator]:
        """Score ``pred`` with VPQ and STQ as ``vpskit eval`` does on this benchmark (with the
        profile's windows and :attr:`stq_gt_instances`): the head of ``results.json`` and the two accumulators, one state per
        video; ``tracks``: the VPQ states also record every GT track's matches."""
        metrics = ("vpq", "stq")
        if self.profile.layout == "category-instance":
            from ..evaluation import _check_stq_void, results_head
            from ..evaluation.category_instance import (
                open_maps_ground_truth,
                select_sequences,
                sequence_states,
            )

            _check_stq_void(stq_void)
            gt = open_maps_ground_truth(self._root(), self.split, self.profile)
            names = select_sequences(gt, videos)  # type: ignore[arg-type]
            head = results_head(self.profile, gt.describe(), names, sum(len(gt.videos[v]) for v in names), pred,
                                self.split, metrics, stq_void)
            vpq, stq = sequence_states(gt, names, pred, metrics, stq_void, jobs, progress, tracks)
        elif self.profile.layout == "video-json":
            from ..evaluation.video_json import video_json_accumulators, video_json_head

            numbering = self.profile.gt_instances(self.stq_gt_instances)
            profile, gt, names, head = video_json_head(self.profile, pred, root=self._root(), split=self.split,
                                                       metrics=metrics, videos=videos, stq_void=stq_void,
                                                       stq_gt_instances=numbering)
            vpq, stq = video_json_accumulators(profile, gt, names, pred, metrics=metrics, stq_void=stq_void,
                                               jobs=jobs, progress=progress, stq_gt_instances=numbering,
                                               tracks=tracks)
        else:
            from ..evaluation import describe_evaluation, evaluate_videos

            vpq, stq = evaluate_videos(pred, root=self.root, split=self.split, gt_json=self.gt_json,
                                       gt_dir=self.gt_dir, jobs=jobs, progress=progress, videos=videos,  # type: ignore[arg-type]
                                       stq_void=stq_void, tracks=tracks)
            assert vpq is not None
            head = describe_evaluation(self.ground_truth(), sorted(vpq.videos), pred, self.named_split, metrics,
                                       stq_void)
        assert vpq is not None and stq is not None
        return head, vpq, stq


def _profile_records(profile: Profile) -> list[dict]:
    """Category records of a profile, colours from the Cityscapes table (KITTI-STEP uses its ids)."""
    out = []
    for c in profile.categories:
        known = CATEGORY_BY_ID.get(c.id)
        out.append({"id": c.id, "name": c.name, "isthing": int(c.isthing),
                    "color": list(known.color) if known is not None else list(GREY)})
    return out


def open_benchmark(root: str | os.PathLike | None, split: str = "val", gt_json: str | os.PathLike | None = None,
                   gt_dir: str | os.PathLike | None = None, benchmark: str | None = None,
                   command: str = "report", vpq_windows: str | None = None,
                   stq_gt_instances: str | None = None) -> Benchmark:
    """The ground truth of ``split``: ``root`` (a prepared folder or zip; its benchmark found from
    its files unless ``benchmark`` names it) or, for Cityscapes-VPS only, ``gt_json`` + ``gt_dir``;
    ``vpq_windows`` and ``stq_gt_instances``: conventions of the benchmark as ``vpskit eval``
    takes them (VIPSeg). ``VpsError`` (one line) for a benchmark without VPQ, a convention it
    does not have, or input ``command`` cannot take."""
    by_file = gt_json is not None or gt_dir is not None
    profile = detect_benchmark(None if by_file else root, benchmark).with_windows(vpq_windows)
    numbering = profile.gt_instances(stq_gt_instances)
    if not profile.has_vpq:
        raise VpsError("--benchmark", f"{command} needs VPQ, which vpskit does not compute for {profile.title}")
    if by_file and profile.layout != "panoptic-json":
        raise VpsError("--gt-json", f"{profile.title}: give --root, the prepared folder (--gt-json and --gt-dir "
                       "are for Cityscapes-VPS)")
    bench = Benchmark(profile, None if root is None else os.fspath(root), split,
                      None if gt_json is None else os.fspath(gt_json), None if gt_dir is None else os.fspath(gt_dir),
                      [], numbering)
    if profile.layout == "category-instance":
        records = _profile_records(profile)
        if root is None:
            raise VpsError("ground truth", f"give --root, the {profile.title} folder holding panoptic_maps/")
        if not Path(root).exists():
            raise VpsError(root, "no such folder or zip")
    else:
        records = list(bench.ground_truth().category_records)
    return Benchmark(bench.profile, bench.root, split, bench.gt_json, bench.gt_dir, records, numbering)
