"""``--release``: unpack the Cityscapes-VPS release's JSON files and label folders into ROOT."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import VpsError
from ..naming import SPLITS, image_id_of_file
from ..pngio import atomic_write_bytes, png_header
from ..sources import Source
from .common import png_size
from .panoptic import check_inst_header
from .uptodate import forget_derived, same_as_source

LABEL_FOLDERS = ("cls", "inst")


@dataclass(frozen=True)
class ReleaseContext:
    """What every unpacking worker needs."""

    root: Path
    source: Source


def wanted(rel: str) -> bool:
    """Whether a release member is unpacked: a JSON at its root or a ``{split}/{cls,inst}/`` PNG."""
    parts = rel.split("/")
    if len(parts) == 1:
        return rel.endswith(".json") and not rel.startswith(".")
    return (len(parts) == 3 and parts[0] in SPLITS and parts[1] in LABEL_FOLDERS
            and parts[2].endswith(".png") and not parts[2].startswith("."))


def plan(source: Source) -> dict[int, list[str]]:
    """Members to unpack, grouped per video (video 0: the JSON files and unnamed members)."""
    out: dict[int, list[str]] = {}
    for rel in source.names():
        if not wanted(rel):
            continue
        video = 0
        if "/" in rel:
            try:
                video = image_id_of_file(rel.rsplit("/", 1)[1]).video
            except VpsError:
                video = 0
        out.setdefault(video, []).append(rel)
    return dict(sorted(out.items()))


def is_done(ctx: ReleaseContext, rel: str) -> bool:
    """Whether member ``rel`` is in ROOT already, byte for byte (same size and CRC-32)."""
    return same_as_source(ctx.root / rel, ctx.source, rel, content=True)


def run_video(ctx: ReleaseContext, unit: tuple[int, tuple[str, ...]]) -> int:
    """Copy the members of one unit into ROOT; return how many were written.

    A label PNG must be a whole PNG (else ``VpsError`` naming the member, before anything of it
    is written). A file already in ROOT is replaced, after the outputs derived from it are deleted.
    """
    _, members = unit
    written = 0
    for rel in members:
        data = ctx.source.read(rel)
        if rel.endswith(".png"):
            png_size(data, ctx.source.describe(rel))
            if rel.split("/")[1] == "inst":
                check_inst_header(png_header(data, ctx.source.describe(rel)), ctx.source.describe(rel))
        dst = ctx.root / rel
        if dst.exists():
            forget_derived(ctx.root, rel)
        atomic_write_bytes(dst, data)
        written += 1
    return written
