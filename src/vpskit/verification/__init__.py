"""Check a prepared folder of any benchmark against what the procedure promises (SPEC §2):
:func:`verify`, which returns a :class:`VerifyReport`.

The modules: :mod:`~vpskit.verification.cityscapes` (a Cityscapes-VPS folder: its JSON files and
folders) and :mod:`~vpskit.verification.cityscapes_video` (each of its videos, on the pool);
:mod:`~vpskit.verification.vipseg` and :mod:`~vpskit.verification.vipseg_video` likewise for
VIPSeg; :mod:`~vpskit.verification.kitti` for KITTI-STEP; :mod:`~vpskit.verification.report` (the
report every benchmark returns).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import VpsError
from ..locking import holding_lock
from ..naming import SPLITS
from ..profiles import detect_benchmark
from .cityscapes import verify_cityscapes_vps
from .report import COLUMNS, MAX_LISTED, VerifyReport

__all__ = ["COLUMNS", "MAX_LISTED", "VerifyReport", "verify"]


@holding_lock(shared=True)
def verify(root: str | os.PathLike, splits: str | Sequence[str] = SPLITS, *, jobs: int | None = None,
           progress: bool | None = None, benchmark: str | None = None,
           download: str | os.PathLike | None = None) -> VerifyReport:
    """Check the prepared splits of ``root``; return a report (``.ok``, ``.problems``, ``.table``).

    Holds ROOT's lock shared: it refuses (``VpsError``) to check a folder a run is preparing,
    and a run started meanwhile refuses to change it. ``benchmark`` (None: found from ``root``,
    see :func:`vpskit.profiles.detect_benchmark`): a KITTI-STEP folder or zip is checked by
    :func:`vpskit.verification.kitti.verify_category_instance`, a VIPSeg folder by
    :func:`vpskit.verification.vipseg.verify_vipseg` (``download``: the VIPSeg download to
    compare with; only for VIPSeg), a Cityscapes-VPS folder by
    :func:`vpskit.verification.cityscapes.verify_cityscapes_vps`.
    """
    root = Path(root)
    profile = detect_benchmark(root, benchmark).require("verify")
    if not root.is_dir() and not (root.is_file() and profile.layout == "category-instance"):  # a KITTI-STEP zip
        raise VpsError(root, "no such folder")
    if profile.name == "vipseg":
        from .vipseg import verify_vipseg

        return verify_vipseg(root, splits, download=download, jobs=jobs, progress=progress)
    if download is not None:
        raise VpsError("--download", f"only for VIPSeg (this is {profile.title})")
    if profile.layout == "category-instance":
        from .kitti import verify_category_instance

        return verify_category_instance(root, profile, splits, jobs=jobs, progress=progress)
    return verify_cityscapes_vps(root, splits, jobs=jobs, progress=progress)
