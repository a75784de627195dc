"""What the benchmark scripts share: a working folder, and a prepared split at full resolution."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vpskit import naming

WIDTH, HEIGHT = 2048, 1024


@contextlib.contextmanager
def work_folder(work: Path | None) -> Iterator[Path]:
    """``work`` (created if needed, kept afterwards), or a temporary folder removed at the end."""
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="vpskit-bench-") as tmp:
        yield Path(tmp)


def prepared_split(work: Path, videos: int, split: str = "train") -> Path:
    """``work/cityscapes_vps``, a prepared root whose ``split`` has ``videos`` synthetic videos at
    2048x1024 (made once: an earlier run's is kept)."""
    from vpskit.preparation import prepare
    from vpskit.synth import synthesize

    down, root = work / "download", work / "cityscapes_vps"
    if not (root / naming.panoptic_gt_json(split)).is_file():
        synthesize(down, videos=videos, size=(WIDTH, HEIGHT), seed=0, splits={split: videos}, progress=False)
        prepare(root, down / "leftImg8bit_sequence", down / "gtFine", release=down / "cityscapes_vps",
                splits=split, progress=False)
    return root
