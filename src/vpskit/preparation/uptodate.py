"""Whether a file already in ROOT is the one its source gives now, and forgetting what the later
stages made from a file that is about to be replaced.

Together they make a re-run with a corrected input repair ROOT: a copied file that differs from
its source is copied again, and the outputs derived from it are deleted first, so that the
stages that follow make them again (deleting before replacing keeps this true after a
``kill -9`` in between).
"""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path

from ..errors import VpsError
from ..naming import SPLITS, image_id_of_file, panoptic_gt_json, panoptic_im_json
from ..sources import Source
from .common import files_by_image_id, output_dir

DERIVED_FOLDERS = ("labelmap", "panoptic_inst", "panoptic_video")
"""Stage-3 and stage-4 folders, whose files are named after the frame's ``cls`` label."""

LABEL_FOLDERS = ("cls", "inst")

_CHUNK = 1 << 20


def file_crc32(path: str | os.PathLike) -> int:
    """CRC-32 of a file's bytes (as a zip directory records it)."""
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def same_as_source(dst: Path, source: Source, rel: str, *, content: bool) -> bool:
    """Whether ``dst`` holds member ``rel`` of ``source``: it exists with the same size and,
    with ``content``, the same CRC-32.

    A ``dst`` whose member is missing from ``source`` counts as current (there is nothing to
    compare it with; a stage that needs the member says so when it reads it).
    """
    try:
        size = dst.stat().st_size
    except FileNotFoundError:
        return False
    want = source.member_size(rel)
    if want is None:
        return True
    if size != want:
        return False
    return not content or file_crc32(dst) == source.member_crc32(rel)


def derived_of(root: Path, rel: str) -> list[Path]:
    """The files in ROOT that stages 3 and 4 made from ROOT's file ``rel`` (which exist now).

    A ``{split}/cls`` or ``{split}/inst`` label: that frame's ``labelmap``, ``panoptic_inst`` and
    ``panoptic_video`` files. ``panoptic_im_{split}_city_vps.json``: the split's
    ``panoptic_gt_{split}_city_vps.json``. Anything else: nothing.
    """
    root = Path(root)
    parts = rel.split("/")
    if len(parts) == 1:
        return [root / panoptic_gt_json(s) for s in SPLITS
                if rel == panoptic_im_json(s) and (root / panoptic_gt_json(s)).exists()]
    if len(parts) != 3 or parts[1] not in LABEL_FOLDERS:
        return []
    try:
        iid = image_id_of_file(parts[2])
    except VpsError:
        return []
    found = []
    for folder in DERIVED_FOLDERS:
        out_dir = output_dir(root, parts[0], folder)
        found += [out_dir / name for name in files_by_image_id(out_dir).get(iid, [])]
    return found


def forget_derived(root: Path, rel: str) -> int:
    """Delete :func:`derived_of` ``rel`` (before ``rel`` is replaced); return how many files."""
    removed = 0
    for path in derived_of(root, rel):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed
