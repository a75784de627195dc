"""What the synthetic dataset writers share: the context sent to their workers, JSON and
reproducible zip writing, the frame size check, and replacing the output of an earlier run."""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import pngio
from ..coco_instances import json_bytes
from ..errors import VpsError

FRAME_COMPRESS_LEVEL = 1
"""zlib level of the frame images (large, and only looked at): fast to encode."""

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Context:
    """What every worker of a writer gets: the output folder, the frame size and the seed."""

    root: str
    width: int
    height: int
    seed: int


def write_json(path: Path, obj: object) -> None:
    """Write ``obj`` as the JSON of the release files, atomically."""
    pngio.atomic_write_bytes(path, json_bytes(obj))


def zip_tree(src: Path, top: str, dest: Path) -> None:
    """Zip folder ``src/top`` into ``dest`` with members under ``top/``, reproducibly."""
    entries: list[tuple[str, Path | None]] = []
    for dirpath, dirnames, filenames in os.walk(src / top):
        dirnames.sort()
        rel = Path(dirpath).relative_to(src).as_posix()
        entries.append((rel + "/", None))
        for name in sorted(filenames):
            entries.append((f"{rel}/{name}", Path(dirpath) / name))
    entries.sort(key=lambda e: e[0])
    with pngio.writing(dest) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3
            if path is None:
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
                continue
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


def clear_previous(out: Path, names: tuple[str, ...], marker: str) -> None:
    """Remove the outputs ``names`` of an earlier run into ``out`` (one that left ``marker``);
    refuse to touch anything else."""
    present = [n for n in names if (out / n).exists()]
    if not present:
        return
    if not (out / marker).is_file():
        raise VpsError(out, f"already holds {', '.join(present)}, not written by vpskit synth "
                       "(choose an empty or new folder)")
    for name in present:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def parse_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` as (width, height) integers, or ``VpsError`` if it is not a frame size vpskit writes."""
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise VpsError("size", f"expected (width, height), got {size!r}") from None
    if w < 64 or h < 32 or w > 16384 or h > 16384:
        raise VpsError("size", f"{w}x{h} is outside 64x32 … 16384x16384")
    return w, h
