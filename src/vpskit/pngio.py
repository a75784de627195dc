"""PNG files: the one reader of input files (regular files only, bounded by what the file must
be), atomic writes, and the PNG codec of :mod:`vpskit.pngcodec` (decode/encode for the label and
image modes of Cityscapes-VPS, ids <-> RGB), :mod:`vpskit.pngencode` and :mod:`vpskit.pngformat`,
whose public names are all here too."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import VpsError
from .pngcodec import (
    IdStrips,
    decode_gray16_strips,
    decode_id_strips,
    decode_ids,
    decode_png,
    id2rgb,
    open_png,
    rgb2id,
)
from .pngencode import PNG_COMPRESS_LEVEL, encode_ids_png, encode_png, encode_runs_png
from .pngformat import (
    MAX_PIXELS,
    PNG_SIGNATURE,
    PngHeader,
    check_png_pixels,
    check_png_size,
    png_chunks,
    png_header,
    work_buffer,
)

__all__ = [
    "ANY_FILE", "MAX_PIXELS", "PART_SUFFIX", "PNG_COMPRESS_LEVEL", "PNG_SIGNATURE", "IdStrips", "Limit", "PngHeader",
    "atomic_write_bytes", "check_limit", "check_png_pixels", "check_png_size", "decode_gray16_strips",
    "decode_id_strips", "decode_ids", "decode_png",
    "encode_ids_png", "encode_png", "encode_runs_png", "id2rgb", "open_png", "part_path", "png_chunks", "png_header",
    "png_limit", "read_file", "read_png", "rgb2id", "work_buffer", "write_failed", "write_png", "writing",
]

PART_SUFFIX = ".part"

_PNG_SLACK = 1 << 20
"""Bytes a PNG may spend beyond its pixels: chunk headers, zlib overhead, text, an ICC profile."""


@dataclass(frozen=True)
class Limit:
    """The most bytes a read may return, and what the file is expected to be (for the message)."""

    max_bytes: int
    what: str


def png_limit(width: int | None = None, height: int | None = None) -> Limit:
    """How large a PNG of ``width`` x ``height`` can be (of up to :data:`MAX_PIXELS` when unknown).

    8 bytes a pixel (RGBA at 16 bits a channel, the widest PNG pixel, stored uncompressed), a
    filter byte a row, and 1 MiB for everything else.
    """
    if width is None or height is None:
        return Limit(9 * MAX_PIXELS + _PNG_SLACK, f"a PNG of up to {MAX_PIXELS:,} pixels")
    return Limit(8 * width * height + height + _PNG_SLACK, f"a {width}x{height} PNG")


ANY_FILE = Limit(png_limit().max_bytes, "a file vpskit reads")
"""The bound of a read whose expected size is not known (that of the largest PNG vpskit decodes)."""


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _not_regular(path: Path, mode: int) -> VpsError:
    kind = next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")
    link = f", reached through a symbolic link to {os.path.realpath(path)}" if path.is_symlink() else ""
    return VpsError(path, f"not a regular file ({kind}{link})")


def read_file(path: str | os.PathLike, missing: str = "file not found", limit: Limit = ANY_FILE) -> bytes:
    """Bytes of a regular file of at most ``limit.max_bytes``; ``VpsError`` naming it when it is
    missing (message ``missing``), unreadable, larger, or not a regular file (a named pipe, a
    device, a folder, or a symbolic link to one), which is never opened for reading."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        # O_NONBLOCK: should the path become a named pipe after the check, opening it does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise VpsError(path, missing) from None
    except OSError as exc:
        raise VpsError(path, f"cannot read ({exc.strerror})") from None
    with open(fd, "rb") as fh:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _not_regular(path, info.st_mode)
            size = info.st_size
            data = fh.read(limit.max_bytes + 1) if size <= limit.max_bytes else b""
        except OSError as exc:
            raise VpsError(path, f"cannot read ({exc.strerror})") from None
    check_limit(size, limit, path)
    check_limit(len(data), limit, path, exact=False)  # grew while being read
    return data


def check_limit(size: int, limit: Limit, where: object, exact: bool = True) -> None:
    """Refuse ``size`` bytes beyond ``limit`` with one line naming ``where`` (``exact``: ``size``
    is the whole size, not where reading stopped)."""
    if size > limit.max_bytes:
        got = f"{size:,} bytes" if exact else f"over {limit.max_bytes:,} bytes"
        raise VpsError(where, f"{got}, but {limit.what} takes at most {limit.max_bytes:,}")


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG file (see :func:`decode_png`)."""
    return decode_png(read_file(path), path)


def part_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name("." + path.name + PART_SUFFIX)


def write_failed(path: str | os.PathLike, exc: OSError) -> VpsError:
    """The error of writing ``path`` that failed with ``exc`` (a full disk, no permission, …)."""
    return VpsError(path, f"cannot write ({exc.strerror or exc})")


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[Path]:
    """Give the temporary name to write ``path`` under (its folder is created); when the block
    ends, rename it to ``path``.

    Whatever stops the block removes the temporary file, and an ``OSError`` (say, a full disk)
    becomes a ``VpsError`` naming ``path``: ``path`` itself is never left half written.
    """
    path = Path(path)
    tmp = part_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_failed(path, exc) from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary name in the same folder, then rename
    (see :func:`writing`: a failure names ``path`` and leaves no temporary file)."""
    with writing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_png(path: str | os.PathLike, arr: np.ndarray,
              compress_level: int = PNG_COMPRESS_LEVEL) -> None:
    """Encode ``arr`` (see :func:`encode_png`) and write it atomically."""
    atomic_write_bytes(path, encode_png(arr, compress_level=compress_level))
