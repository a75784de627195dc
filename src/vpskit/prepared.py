"""A prepared Cityscapes-VPS root (what ``vpskit prepare`` writes), given as a folder or as a zip
holding one, read in place: its JSON files and the files of each split, by relative path.

A zip is searched for the split's ``panoptic_im_{split}_city_vps.json`` (the shallowest one);
the folder holding it is the root. A :class:`PreparedRoot` can be pickled to worker processes:
each process opens its own zip handle on first use (see :class:`vpskit.sources.Source`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import naming
from .errors import VpsError
from .jsonfields import JSON_LIMIT, check_gt_json, id_field, parse_json
from .naming import FrameKey, ImageId
from .pngio import Limit, png_header, png_limit
from .preparation.common import (
    AnnotatedFrame,
    RawFrame,
    annotated_frames,
    files_by_image_id,
    json_images,
    raw_frames,
)
from .sources import Source
from .zips import open_zip

ROOT_ANCHOR = "cityscapes_vps"


@dataclass(frozen=True)
class ListedFrame:
    """A frame of ``im_all_info_{split}_city_vps.json``: its id there and its place in a video."""

    id: str | int
    """The ``id`` the JSON gives (kept as it is: string or integer)."""
    key: FrameKey
    file_name: str
    width: int | None
    height: int | None
    video: int
    offset: int
    """0-based position in the video's 30-frame snippet."""


class PreparedRoot:
    """The prepared root at ``path`` (a folder, or a zip holding one), for ``split``'s files."""

    def __init__(self, path: str | os.PathLike, split: str) -> None:
        self.path = Path(path)
        self.split = naming.check_split(split)
        if self.path.is_dir():
            self.source = Source(self.path, ROOT_ANCHOR, prefix="")
        elif self.path.is_file():
            self.source = Source(self.path, ROOT_ANCHOR, prefix=self._zip_prefix())
        else:
            raise VpsError(self.path, "no such file or folder")

    def _zip_prefix(self) -> str:
        wanted = naming.panoptic_im_json(self.split)
        with open_zip(self.path) as zf:
            found = sorted((i.filename for i in zf.infolist()
                            if not i.is_dir() and PurePosixPath(i.filename).name == wanted),
                           key=lambda m: (m.count("/"), m))
        if not found:
            raise VpsError(self.path, f"no {wanted} inside the zip (not a prepared Cityscapes-VPS root)")
        return found[0][: -len(wanted)]

    @property
    def is_zip(self) -> bool:
        """Whether the root is read from a zip."""
        return self.source.is_zip

    def describe(self, rel: str) -> str:
        """Where file ``rel`` of the root is, for messages."""
        return self.source.describe(rel)

    def exists(self, rel: str) -> bool:
        """Whether file ``rel`` exists in the root."""
        return self.source.exists(rel)

    def read(self, rel: str, limit: Limit) -> bytes:
        """Bytes of file ``rel`` of at most ``limit``."""
        return self.source.read(rel, limit=limit)

    def read_json(self, name: str) -> object:
        """The parsed JSON file ``name`` of the root."""
        return parse_json(self.source.read(name, limit=JSON_LIMIT), self.describe(name))

    def local_path(self, rel: str) -> Path | None:
        """The path on disk of file ``rel`` (None in a zip)."""
        return self.source.local_path(rel)

    def close(self) -> None:
        """Close this process's zip handle, if one is open."""
        self.source.close()

    # -- the split's lists ----------------------------------------------------------------
    def annotated_frames(self) -> list[AnnotatedFrame]:
        """The annotated frames of ``panoptic_im_{split}_city_vps.json``, in image-id order."""
        name = naming.panoptic_im_json(self.split)
        return annotated_frames(self.describe(name), self.read_json(name))

    def ground_truth(self) -> dict | None:
        """``panoptic_gt_{split}_city_vps.json`` with its fields checked, or None when the split
        has no public labels."""
        if self.split not in naming.LABELLED_SPLITS:
            return None
        name = naming.panoptic_gt_json(self.split)
        return check_gt_json(self.read_json(name), self.describe(name))

    def listed_frames(self, frames: list[AnnotatedFrame]) -> list[ListedFrame]:
        """The frames of ``im_all_info_{split}_city_vps.json``, each placed in the video of the
        annotated ``frames`` whose snippet holds it; in video, then snippet order."""
        name = naming.im_all_info_json(self.split)
        where = self.describe(name)
        if self.split not in ("val", "test"):
            raise VpsError(f"split {self.split!r}", f"lists no frames besides the annotated ones "
                           f"(only val and test have {name} and img_all/)")
        doc = self.read_json(name)
        listed = raw_frames(where, doc)  # checks every file_name first
        ids = {entry["file_name"]: id_field(entry, "id", f"{where}: images[{i}]")
               for i, entry in enumerate(json_images(where, doc))}
        owner: dict[FrameKey, tuple[int, int]] = {}
        for f in frames:
            first = f.iid.first_frame
            for t in range(naming.FRAMES_PER_SNIPPET):
                owner.setdefault(FrameKey(f.iid.city, f.iid.seq, first + t), (f.iid.video, t))
        out = []
        for raw in listed:
            place = owner.get(raw.key)
            if place is None:
                raise VpsError(where, f"frame {raw.file_name} belongs to no video of "
                               f"{naming.panoptic_im_json(self.split)}")
            out.append(_listed(raw, ids[raw.file_name], *place))
        return sorted(out, key=lambda f: (f.video, f.offset))

    def label_files(self, folder: str) -> dict[ImageId, list[str]]:
        """Files of ``{split}/{folder}`` named after an image id, grouped by it (hidden files and
        other names ignored)."""
        if not self.is_zip:
            return files_by_image_id(self.path / self.split / folder)
        prefix = f"{self.split}/{folder}/"
        out: dict[ImageId, list[str]] = {}
        for rel in self.source.names():
            name = rel[len(prefix):]
            if not rel.startswith(prefix) or "/" in name or name.startswith("."):
                continue
            try:
                out.setdefault(naming.image_id_of_file(name), []).append(name)
            except VpsError:
                continue
        return out

    def image_size(self, rel: str, width: int | None, height: int | None) -> tuple[int, int]:
        """(width, height) of PNG ``rel``: as the JSON gives it, else from the PNG's header."""
        if width and height:
            return width, height
        header = png_header(self.read(rel, png_limit()), self.describe(rel))
        return header.width, header.height

    def __repr__(self) -> str:
        return f"PreparedRoot({str(self.path)!r}, split={self.split!r})"


def _listed(raw: RawFrame, frame_id: str | int, video: int, offset: int) -> ListedFrame:
    return ListedFrame(frame_id, raw.key, raw.file_name, raw.width, raw.height, video, offset)


def frame_offset(iid: ImageId) -> int:
    """0-based position of an annotated frame in its video's 30-frame snippet."""
    return naming.ANNOTATED_OFFSETS[iid.position]
