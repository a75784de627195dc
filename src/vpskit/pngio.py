"""PNG decode/encode for the label and image modes of Cityscapes-VPS, ids <-> RGB, atomic writes."""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import VpsError

PNG_COMPRESS_LEVEL = 6
"""zlib level of every PNG vpskit writes (fixed, so output bytes are reproducible)."""

PART_SUFFIX = ".part"


def rgb2id(rgb: np.ndarray) -> np.ndarray:
    """Segment ids ``R + 256*G + 256**2*B`` of an (H, W, 3+) uint8 image, as uint32."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an (H, W, 3) array, got shape {rgb.shape}")
    r = rgb[..., 0].astype(np.uint32)
    g = rgb[..., 1].astype(np.uint32)
    b = rgb[..., 2].astype(np.uint32)
    return r | (g << 8) | (b << 16)


def id2rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image of segment ids (inverse of :func:`rgb2id`, ids < 2**24)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 24):
        raise ValueError("segment ids must lie in 0 … 2**24-1")
    ids = ids.astype(np.uint32)
    out = np.empty((*ids.shape, 3), dtype=np.uint8)
    out[..., 0] = ids & 0xFF
    out[..., 1] = (ids >> 8) & 0xFF
    out[..., 2] = (ids >> 16) & 0xFF
    return out


def decode_png(data: bytes, where: object = "PNG") -> np.ndarray:
    """Decode PNG bytes into an array.

    RGB -> (H, W, 3) uint8; RGBA -> (H, W, 4) uint8; 8-bit gray or palette -> (H, W) uint8
    (palette images give their indices); 16-bit gray -> (H, W) uint16.
    A corrupt or truncated file raises ``VpsError`` naming ``where``.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise VpsError(where, f"not a PNG file ({img.format})")
            img.load()
            mode = img.mode
            if mode in ("I;16", "I;16B", "I;16L"):
                arr = np.array(img, dtype=np.uint16)
            elif mode == "I":
                arr = np.array(img)
                if arr.size and (arr.min() < 0 or arr.max() > 0xFFFF):
                    raise VpsError(where, "32-bit PNG values out of the 16-bit range")
                arr = arr.astype(np.uint16)
            elif mode in ("RGB", "RGBA", "L", "P"):
                arr = np.array(img)
            elif mode == "LA":
                arr = np.array(img)[..., 0]
            elif mode == "1":
                arr = np.array(img, dtype=np.uint8)
            else:
                raise VpsError(where, f"unsupported PNG mode {mode}")
    except VpsError:
        raise
    except (OSError, SyntaxError, ValueError, zlib.error, Image.DecompressionBombError) as exc:
        raise VpsError(where, f"corrupt or truncated PNG ({exc})") from None
    return arr


def read_file(path: str | os.PathLike, missing: str = "file not found") -> bytes:
    """Bytes of a file; ``VpsError`` naming it when it is missing (``missing``) or unreadable."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise VpsError(path, missing) from None
    except OSError as exc:
        raise VpsError(path, f"cannot read ({exc.strerror})") from None


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG file (see :func:`decode_png`)."""
    return decode_png(read_file(path), path)


def encode_png(arr: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an array as PNG bytes with fixed settings.

    (H, W, 3) uint8 -> RGB; (H, W, 4) uint8 -> RGBA; (H, W) uint8 -> 8-bit gray;
    (H, W) uint16 -> 16-bit gray. Other dtypes are refused (cast explicitly first).
    ``compress_level`` is the zlib level (0…9; the default is :data:`PNG_COMPRESS_LEVEL`).
    """
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (3, 4):
        img = Image.fromarray(arr, "RGB" if arr.shape[2] == 3 else "RGBA")
    elif arr.dtype == np.uint8 and arr.ndim == 2:
        img = Image.fromarray(arr, "L")
    elif arr.dtype == np.uint16 and arr.ndim == 2:
        img = Image.frombuffer("I;16", (arr.shape[1], arr.shape[0]), arr.astype("<u2").tobytes(), "raw", "I;16", 0, 1)
    else:
        raise ValueError(f"cannot encode an array of dtype {arr.dtype} and shape {arr.shape} as PNG")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def part_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name("." + path.name + PART_SUFFIX)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary name in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def write_png(path: str | os.PathLike, arr: np.ndarray,
              compress_level: int = PNG_COMPRESS_LEVEL) -> None:
    """Encode ``arr`` (see :func:`encode_png`) and write it atomically."""
    atomic_write_bytes(path, encode_png(arr, compress_level=compress_level))
