"""Zip files read defensively: every member read of every zip vpskit opens goes through
:class:`GuardedZip`.

A member Python's zipfile cannot read (encrypted, compressed with a method it lacks, a bad CRC,
truncated data) is one ``VpsError`` naming the zip and the member, never a traceback. A member
is read no further than a bound given by what it must be (see :class:`vpskit.pngio.Limit`):
the size its directory entry declares is checked first, and reading stops at the bound
whatever that entry says. A zip stored inside a zip (a submission's ``pan_pred.zip``) is read
in place, without being copied anywhere (:func:`open_nested`).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO

from .errors import VpsError
from .pngio import Limit, check_limit

try:
    import bz2
except ImportError:  # pragma: no cover - Python built without bz2
    bz2 = None  # type: ignore[assignment]
try:
    import lzma
except ImportError:  # pragma: no cover - Python built without lzma
    lzma = None  # type: ignore[assignment]

METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
"""Compression methods vpskit reads (bzip2 and LZMA too where Python has them)."""
if bz2 is not None:
    METHODS[zipfile.ZIP_BZIP2] = "bzip2"
if lzma is not None:
    METHODS[zipfile.ZIP_LZMA] = "lzma"
_METHOD_NAMES = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard",
                 95: "xz", 98: "ppmd", 99: "AES encryption"}

_ENCRYPTED, _PATCHED, _STRONG_ENCRYPTION = 1 << 0, 1 << 5, 1 << 6

READ_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, RuntimeError,
    NotImplementedError, ValueError, struct.error,
) + ((lzma.LZMAError,) if lzma is not None else ())
"""What zipfile raises on a damaged zip or member (bz2 raises OSError)."""

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why zipfile cannot read member ``info`` (encryption, compression method), or None."""
    if info.flag_bits & (_ENCRYPTED | _STRONG_ENCRYPTION) or info.compress_type == 99:
        return "encrypted (vpskit reads no password-protected zip members; zip it again without a password)"
    if info.flag_bits & _PATCHED:
        return "compressed patched data, which vpskit cannot read"
    if info.compress_type not in METHODS:
        name = _METHOD_NAMES.get(info.compress_type, "unknown")
        return (f"compressed with method {info.compress_type} ({name}), which vpskit cannot read "
                f"(it reads {', '.join(sorted(METHODS.values()))}; zip it again with one of those)")
    return None


class GuardedZip(zipfile.ZipFile):
    """A zip opened for reading whose member reads fail with one ``VpsError`` naming zip and member.

    ``label`` is how the zip is named in messages. :meth:`open` (and so ``read``) refuses a
    member it cannot read before touching its data; :meth:`read_member` also bounds what a
    member may inflate to.
    """

    def __init__(self, file: str | os.PathLike | IO[bytes], label: str, *,
                 keep: tuple[object, ...] = ()) -> None:
        self.label = label
        self._keep = keep  # what the file object belongs to (an outer zip), closed with this one
        try:
            super().__init__(file)
        except READ_ERRORS as exc:
            raise VpsError(label, f"not a readable zip ({exc})") from None

    def where(self, member: str | zipfile.ZipInfo) -> str:
        """``zip:member`` for messages."""
        name = member.filename if isinstance(member, zipfile.ZipInfo) else member
        return f"{self.label}:{name}"

    def info(self, member: str | zipfile.ZipInfo) -> zipfile.ZipInfo:
        """The directory entry of ``member``; ``VpsError`` when there is none."""
        if isinstance(member, zipfile.ZipInfo):
            return member
        try:
            return self.getinfo(member)
        except KeyError:
            raise VpsError(self.where(member), "missing from the zip") from None

    def open(self, name: str | zipfile.ZipInfo, mode: str = "r", pwd: bytes | None = None, *,
             force_zip64: bool = False) -> IO[bytes]:
        """A member opened for reading, once it is known that zipfile can read it."""
        if mode != "r":
            raise ValueError("GuardedZip is read-only")
        info = self.info(name)
        problem = member_problem(info)
        if problem is not None:
            raise VpsError(self.where(info), problem)
        try:
            return super().open(info, "r")
        except READ_ERRORS as exc:
            raise VpsError(self.where(info), f"cannot read zip member ({exc})") from None

    def read_member(self, member: str | zipfile.ZipInfo, limit: Limit) -> bytes:
        """The bytes of a member of at most ``limit``: refused from its declared size, and read
        no further than the bound whatever that size says (so a zip bomb is never inflated)."""
        info = self.info(member)
        where = self.where(info)
        check_limit(info.file_size, limit, where)
        try:
            with self.open(info) as fh:
                data = fh.read(limit.max_bytes + 1)
        except READ_ERRORS as exc:
            raise VpsError(where, f"cannot read zip member ({exc})") from None
        check_limit(len(data), limit, where, exact=False)
        return data

    def close(self) -> None:
        """Close the zip, and the outer zip it is read from, if any."""
        super().close()
        for item in self._keep:
            close = getattr(item, "close", None)
            if close is not None:
                close()
        self._keep = ()


def one_place(path: str | os.PathLike, places: set[str], missing: str, several: str, hint: str) -> str:
    """The one member prefix (``""`` or ending in ``/``) of ``places`` where zip ``path`` holds
    what is looked for; ``VpsError`` naming the zip with ``missing`` when there is none, or with
    ``several``, up to three of them and ``hint`` when there are several."""
    if not places:
        raise VpsError(path, missing)
    if len(places) > 1:
        shown = ", ".join(p or "the top level" for p in sorted(places)[:3])
        raise VpsError(path, f"{several} ({shown}): {hint}")
    return next(iter(places))


def open_zip(path: str | os.PathLike, label: str | None = None) -> GuardedZip:
    """Zip ``path`` for reading (``label``: how messages name it; default the path)."""
    return GuardedZip(path, str(path) if label is None else label)


class _MemberFile(io.RawIOBase):
    """A seekable read-only file of ``size`` bytes read from the file at ``path`` (subclasses
    say how, in ``readinto``)."""

    def __init__(self, path: str | os.PathLike, size: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._size, self._pos = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class _Slice(_MemberFile):
    """Bytes ``start … start+length`` of a file, as a seekable read-only file of its own."""

    def __init__(self, path: str | os.PathLike, start: int, length: int) -> None:
        super().__init__(path, length)
        self._start = start

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = max(0, min(len(buffer), self._size - self._pos))
        data = os.pread(self._fd, n, self._start + self._pos) if n else b""
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


class _Inflated(_MemberFile):
    """The inflated bytes of a deflated member, as a seekable read-only file.

    The inflater's state is kept at (at most 256) points along the way, so a backward seek
    resumes from the nearest one instead of inflating again from the start, as zipfile's own
    member reader does: reading the members of a deflated zip-in-a-zip in any order costs about
    one pass over it.
    """

    _IN, _OUT = 1 << 16, 1 << 18

    def __init__(self, path: str | os.PathLike, start: int, compressed: int, size: int) -> None:
        super().__init__(path, size)
        self._start, self._compressed = start, compressed
        self._every = max(1 << 20, size // 256)
        self._saved = [(0, 0, zlib.decompressobj(-15))]  # (output offset, input offset, inflater)
        self._resume(0)

    def _resume(self, pos: int) -> None:
        """Continue inflating from the last saved point at or before ``pos``."""
        out, fed, inflater = max((p for p in self._saved if p[0] <= pos), key=lambda p: p[0])
        self._out, self._fed, self._inflater = out, fed, inflater.copy()
        self._tail, self._buf = b"", b""

    def _produce(self) -> None:
        """Inflate the next piece into the buffer (it ends at output offset ``self._out``)."""
        data = self._tail
        if not data:
            n = min(self._IN, self._compressed - self._fed)
            data = os.pread(self._fd, n, self._start + self._fed) if n > 0 else b""
            self._fed += len(data)
        self._buf = self._inflater.decompress(data, self._OUT)
        self._tail = self._inflater.unconsumed_tail
        if not self._buf and not self._tail and not data:
            raise EOFError("compressed data ends early")
        self._out += len(self._buf)
        if self._out - self._saved[-1][0] >= self._every:
            self._saved.append((self._out, self._fed - len(self._tail), self._inflater.copy()))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` (short only at the end of the member: zipfile takes a short read of a
        header for a truncated file)."""
        n = max(0, min(len(buffer), self._size - self._pos))
        done = 0
        if n and self._pos < self._out - len(self._buf):
            self._resume(self._pos)
        while done < n:
            while self._out <= self._pos:
                self._produce()
            at = self._pos - (self._out - len(self._buf))
            piece = self._buf[at:at + n - done]
            buffer[done:done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done


def _data_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Where the data of member ``info`` starts in the file (after its local header)."""
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        head = fh.read(_LOCAL_HEADER.size)
    if len(head) != _LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local file header")
    fields = _LOCAL_HEADER.unpack(head)
    return info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]


def open_nested(path: str | os.PathLike, member: str, label: str | None = None) -> GuardedZip:
    """The zip stored as ``member`` of zip ``path``, read in place: a stored member as a slice
    of the outer file, a deflated one inflated as it is read (seekable, see :class:`_Inflated`),
    another method through zipfile's member reader (which inflates again from the start on a
    backward seek). Nothing is extracted or copied."""
    path = Path(path)
    outer = open_zip(path, label)
    try:
        info = outer.info(member)
        where = outer.where(info)
        problem = member_problem(info)
        if problem is not None:
            raise VpsError(where, problem)
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                fileobj: IO[bytes] = _Slice(path, _data_offset(path, info), info.compress_size)
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                fileobj = _Inflated(path, _data_offset(path, info), info.compress_size, info.file_size)
            else:
                fileobj = outer.open(info)
        except READ_ERRORS as exc:
            raise VpsError(where, f"cannot read zip member ({exc})") from None
        try:
            return GuardedZip(fileobj, where, keep=(fileobj, outer))
        except VpsError:
            fileobj.close()
            raise
    except BaseException:
        outer.close()
        raise
