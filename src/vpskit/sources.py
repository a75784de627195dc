"""Read members of a Cityscapes download given as a folder or a zip, by relative path.

A zip's central directory is indexed once; a member is read without extracting anything
else. A :class:`Source` can be pickled to worker processes: each process opens its own
file handle on first use, and the index travels with the object.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

from .errors import VpsError
from .naming import safe_relpath
from .pngio import ANY_FILE, Limit, read_file
from .zips import GuardedZip, open_nested, open_zip


class ZipHandle:
    """An open zip file per process: safe to pickle to workers and to use after ``fork``.

    A handle inherited by another process (or unpickled there) is reopened on first use, so
    that processes never share a file position. With ``member``, the zip is the one stored as
    that member of ``path`` (read in place, see :func:`vpskit.zips.open_nested`).
    """

    def __init__(self, path: str | os.PathLike, label: str | None = None, member: str | None = None) -> None:
        self.path = Path(path)
        self.label = str(self.path) if label is None else label
        self.member = member
        self._zip: GuardedZip | None = None
        self._pid: int | None = None

    def open(self) -> GuardedZip:
        """A new open zip (the caller closes it)."""
        if self.member is None:
            return open_zip(self.path, self.label)
        return open_nested(self.path, self.member, self.label)

    def get(self) -> GuardedZip:
        """This process's open zip file."""
        pid = os.getpid()
        if self._zip is None or self._pid != pid:
            self._zip = self.open()
            self._pid = pid
        return self._zip

    def close(self) -> None:
        """Close this process's handle, if it opened one."""
        if self._zip is not None and self._pid == os.getpid():
            self._zip.close()
        self._zip = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_zip": None, "_pid": None}


def _anchor_parts(anchor: str) -> tuple[str, ...]:
    return tuple(p for p in anchor.strip("/").split("/") if p)


class Source:
    """Files below an *anchor* folder (e.g. ``leftImg8bit_sequence/val``) of a folder or a zip.

    The anchor may sit at any depth inside the folder or zip. A folder given may also be the
    anchor folder itself, or end in its last components (such as ``…/val``).
    """

    def __init__(self, path: str | os.PathLike, anchor: str, *, prefix: str | None = None,
                 label: str | None = None, member: str | None = None) -> None:
        """``prefix``: where the anchor folder is, when known, instead of searching for it (a
        folder relative to ``path``, or the member prefix inside the zip, ``""`` or ending in
        ``/``). ``label``: how ``path`` is named in messages (default: the path). ``member``:
        the source is the zip stored as this member of zip ``path`` (read in place)."""
        self.path = Path(path)
        self.anchor = anchor
        self.label = label if label is not None else str(self.path)
        self._zip_index: dict[str, zipfile.ZipInfo] | None = None
        self._zip_prefix = ""
        self._base: Path | None = None
        self._handle = ZipHandle(self.path, self.label, member)
        parts = _anchor_parts(anchor)
        if member is not None:
            self.label = f"{self.label}:{member}"
            self._zip_index = self._index_zip(parts, prefix)
        elif self.path.is_dir():
            self._base = self.path / prefix if prefix is not None else self._find_dir(self.path, parts)
        elif self.path.is_file():
            self._zip_index = self._index_zip(parts, prefix)
        else:
            raise VpsError(self.label, "no such file or folder")

    # -- locating the anchor -------------------------------------------------------------
    def _find_dir(self, root: Path, parts: tuple[str, ...]) -> Path:
        # The path itself ends with the anchor (or its last components, e.g. ".../val").
        resolved = root.resolve().parts
        for n in range(len(parts), 0, -1):
            if resolved[-n:] == parts[-n:]:
                return root
        found: list[Path] = []
        for dirpath, dirnames, _ in os.walk(root):
            dirnames.sort()
            rel = Path(dirpath).relative_to(root)
            if len(rel.parts) > 6:
                dirnames[:] = []
                continue
            if Path(dirpath).parts[-len(parts):] == parts:
                found.append(Path(dirpath))
                dirnames[:] = []
        if not found:
            raise VpsError(root, f"no '{self.anchor}' folder inside")
        if len(found) > 1:
            raise VpsError(root, f"several '{self.anchor}' folders inside: "
                           + ", ".join(str(f) for f in found[:3]))
        return found[0]

    def _index_zip(self, parts: tuple[str, ...], prefix: str | None) -> dict[str, zipfile.ZipInfo]:
        with self._handle.open() as zf:
            infos = zf.infolist()
        names = [info for info in infos if not info.is_dir()]
        if prefix is None:
            prefix = self._find_prefix(names, parts)
        self._zip_prefix = prefix
        index: dict[str, zipfile.ZipInfo] = {}
        for info in names:
            if not info.filename.startswith(prefix):
                continue
            rel = info.filename[len(prefix):]
            try:
                rel = safe_relpath(rel, self.label)
            except VpsError:
                continue  # never expose a member that could escape
            index[rel] = info
        return index

    def _find_prefix(self, names: list[zipfile.ZipInfo], parts: tuple[str, ...]) -> str:
        prefixes: set[str] = set()
        # The anchor must appear whole as a run of path components of the members.
        n = len(parts)
        for info in names:
            comps = info.filename.split("/")
            for i in range(len(comps) - n):
                if tuple(comps[i:i + n]) == parts:
                    prefixes.add("/".join(comps[: i + n]) + "/")
                    break
        if not prefixes:
            raise VpsError(self.label, f"no '{self.anchor}' folder inside the zip")
        if len(prefixes) > 1:
            raise VpsError(self.label, "several '{}' folders inside the zip: {}".format(
                self.anchor, ", ".join(sorted(prefixes)[:3])))
        return prefixes.pop()

    @property
    def is_zip(self) -> bool:
        """Whether this source is a zip file."""
        return self._zip_index is not None

    def describe(self, rel: str) -> str:
        """A human-readable location of member ``rel`` for messages."""
        if self._zip_index is not None:
            info = self._zip_index.get(rel)
            member = info.filename if info is not None else f"{self._zip_prefix}{rel}"
            return f"{self.label}:{member}"
        assert self._base is not None
        return str(self._base / rel)

    def names(self) -> list[str]:
        """Every member below the anchor, as sorted relative POSIX paths."""
        if self._zip_index is not None:
            return sorted(self._zip_index)
        assert self._base is not None
        out = []
        for dirpath, dirnames, filenames in os.walk(self._base):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self._base).as_posix()
            for f in filenames:
                out.append(f if rel == "." else f"{rel}/{f}")
        return sorted(out)

    def exists(self, rel: str) -> bool:
        """Whether member ``rel`` exists."""
        rel = safe_relpath(rel, self.label)
        if self._zip_index is not None:
            return rel in self._zip_index
        assert self._base is not None
        return (self._base / rel).is_file()

    def read(self, rel: str, *, missing: str | None = None, limit: Limit = ANY_FILE) -> bytes:
        """Bytes of member ``rel``, of at most ``limit``; ``VpsError`` when missing (message
        ``missing``), unsafe, unreadable, larger, or not a regular file."""
        rel = safe_relpath(rel, self.label)
        if self._zip_index is not None:
            info = self._zip_index.get(rel)
            if info is None:
                raise VpsError(self.describe(rel), missing or "missing from the zip")
            return self._handle.get().read_member(info, limit)
        assert self._base is not None
        return read_file(self._base / rel, missing or "file not found", limit)

    def member_size(self, rel: str) -> int | None:
        """Size in bytes of member ``rel`` (from the zip's directory), or ``None`` when it is missing."""
        rel = safe_relpath(rel, self.label)
        if self._zip_index is not None:
            info = self._zip_index.get(rel)
            return None if info is None else info.file_size
        assert self._base is not None
        try:
            return (self._base / rel).stat().st_size
        except OSError:
            return None

    def member_crc32(self, rel: str) -> int:
        """CRC-32 of member ``rel`` (a zip's is in its directory; a folder's file is read)."""
        rel = safe_relpath(rel, self.label)
        if self._zip_index is not None:
            info = self._zip_index.get(rel)
            if info is None:
                raise VpsError(self.describe(rel), "missing from the zip")
            return info.CRC
        return zlib.crc32(self.read(rel))

    def close(self) -> None:
        """Close this process's zip handle, if one is open."""
        self._handle.close()

    def local_path(self, rel: str) -> Path | None:
        """The file's path on disk for a folder source (``None`` for a zip)."""
        if self._zip_index is not None:
            return None
        assert self._base is not None
        return self._base / safe_relpath(rel, self.label)

    def __repr__(self) -> str:
        kind = "zip" if self.is_zip else "folder"
        return f"Source({kind} {str(self.path)!r}, anchor={self.anchor!r})"


IMAGES_ANCHOR = "leftImg8bit_sequence/val"
GTFINE_ANCHOR = "gtFine/val"
RELEASE_ANCHOR = "cityscapes_vps"


def open_images(path: str | os.PathLike) -> Source:
    """The ``leftImg8bit_sequence/val`` frames of a Cityscapes download (folder or zip)."""
    return Source(path, IMAGES_ANCHOR)


def open_gtfine(path: str | os.PathLike) -> Source:
    """The ``gtFine/val`` labels of a Cityscapes download (folder or zip)."""
    return Source(path, GTFINE_ANCHOR)


def open_release(path: str | os.PathLike) -> Source:
    """The ``cityscapes_vps`` folder of the Cityscapes-VPS release (folder or zip)."""
    return Source(path, RELEASE_ANCHOR)
