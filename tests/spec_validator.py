"""An independent checker of the three Cityscapes-VPS inputs (SPEC §1), from the files alone.

Every expectation is re-derived here from the specification: file-name patterns, the image-id
index formula, the annotated frame offsets, PNG modes (read from the PNG header), the colour ↔
label-id ↔ instance-id coding, and the release JSON contents. Only the public Cityscapes label
table (``vpskit.categories.LABELS``, a transcription of cityscapesScripts' ``labels.py``) is taken
from the package; no naming or generator helper is used.

Use::

    from spec_validator import validate_inputs
    inventory = validate_inputs(folder)   # raises SpecViolation listing every problem

``folder`` holds the inputs as a user has them: ``leftImg8bit_sequence/``, ``gtFine/`` and
``cityscapes_vps/`` folders, or the zips ``leftImg8bit_sequence_trainvaltest.zip``,
``gtFine_trainvaltest.zip`` and ``cityscapes-vps-dataset-1.0.zip``.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image, ImageDraw

from vpskit.categories import LABELS

# ---------------------------------------------------------------------------------------------
# What SPEC §1 and §3 say
# ---------------------------------------------------------------------------------------------
SPEC_CATEGORIES = [  # id, name, Cityscapes id, colour, thing (SPEC §3)
    (0, "road", 7, (128, 64, 128), False), (1, "sidewalk", 8, (244, 35, 232), False),
    (2, "building", 11, (70, 70, 70), False), (3, "wall", 12, (102, 102, 156), False),
    (4, "fence", 13, (190, 153, 153), False), (5, "pole", 17, (153, 153, 153), False),
    (6, "traffic light", 19, (250, 170, 30), False), (7, "traffic sign", 20, (220, 220, 0), False),
    (8, "vegetation", 21, (107, 142, 35), False), (9, "terrain", 22, (152, 251, 152), False),
    (10, "sky", 23, (70, 130, 180), False), (11, "person", 24, (220, 20, 60), True),
    (12, "rider", 25, (255, 0, 0), True), (13, "car", 26, (0, 0, 142), True),
    (14, "truck", 27, (0, 0, 70), True), (15, "bus", 28, (0, 60, 100), True),
    (16, "train", 31, (0, 80, 100), True), (17, "motorcycle", 32, (0, 0, 230), True),
    (18, "bicycle", 33, (119, 11, 32), True),
]
THING_COLOR_TO_CAT = {c[3]: c[0] for c in SPEC_CATEGORIES if c[4]}
VPS_THING_LABEL_IDS = {c[2] for c in SPEC_CATEGORIES if c[4]}
CAT_OF_LABEL = {c[2]: c[0] for c in SPEC_CATEGORIES}
INSTANCE_LABEL_IDS = {24, 25, 26, 27, 28, 29, 30, 31, 32, 33}  # SPEC §1b: classes with instances
BLACK, DYNAMIC, GROUND, POLE = (0, 0, 0), (111, 74, 0), (81, 0, 81), (153, 153, 153)
VOID_COLORS = {BLACK, DYNAMIC, GROUND}

LABEL_COLOR = {lab.id: tuple(lab.color) for lab in LABELS if 0 <= lab.id <= 33}
LABEL_ID_BY_NAME = {lab.name: lab.id for lab in LABELS if 0 <= lab.id <= 33}
LABEL_COLORS = set(LABEL_COLOR.values())

ANNOTATED_OFFSETS = (4, 9, 14, 19, 24, 29)  # 5th, 10th, …, 30th frame; the 20th (j = 4) is gtFine
GTFINE_J = 4  # 1-based j = 4 is the 20th frame
SPLITS = ("train", "val", "test")
LABELLED = ("train", "val")

CITY = r"[a-z]+(?:_[a-z]+)*"
FRAME_RE = re.compile(rf"^({CITY})_(\d{{6}})_(\d{{6}})_leftImg8bit\.png$")
GTFINE_RE = re.compile(rf"^({CITY})_(\d{{6}})_(\d{{6}})_gtFine_(color|labelIds|instanceIds)\.png$"
                       rf"|^({CITY})_(\d{{6}})_(\d{{6}})_gtFine_(polygons)\.json$")
IMAGE_ID_RE = re.compile(rf"^(\d{{4}})_(\d{{4}})_({CITY})_(\d{{6}})_(\d{{6}})$")
ANNOTATED_NAME_RE = re.compile(rf"^(\d{{4}}_\d{{4}}_{CITY}_\d{{6}}_\d{{6}})_(leftImg8bit|newImg8bit)\.png$")
LABEL_FILE_RE = re.compile(rf"^(\d{{4}}_\d{{4}}_{CITY}_\d{{6}}_\d{{6}})_([A-Za-z0-9_]+)\.png$")

RELEASE_JSONS = (
    [f"panoptic_im_{s}_city_vps.json" for s in SPLITS]
    + [f"im_all_info_{s}_city_vps.json" for s in ("val", "test")]
    + [f"instances_{s}_city_vps_rle.json" for s in LABELLED]
)
INPUTS = {  # top folder inside the input -> zip name of the real download
    "leftImg8bit_sequence": "leftImg8bit_sequence_trainvaltest.zip",
    "gtFine": "gtFine_trainvaltest.zip",
    "cityscapes_vps": "cityscapes-vps-dataset-1.0.zip",
}
FEATURES = ("k0_object", "crowd_region", "void_black", "void_dynamic", "void_ground",
            "polegroup", "caravan_or_trailer", "mixed_colour_object", "void_majority_object",
            "object_entering", "object_leaving", "track_over_all_frames", "other_colour_wins",
            "shared_panoptic_value", "void_colours_compete_separately")
"""Cases the scenes must show: ``other_colour_wins`` is an object whose majority colour is a
thing category other than its instance label's; ``shared_panoptic_value`` two objects of one
VPS frame that stage 3 gives the same value (category*1000 + k);
``void_colours_compete_separately`` an object that keeps its thing category although void colours
cover more than half of it, each of them less than the thing colour."""


class SpecViolation(AssertionError):
    """The inputs break SPEC §1; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:40]
        more = f"\n… and {len(problems) - 40} more" if len(problems) > 40 else ""
        super().__init__(f"{len(problems)} problem(s):\n" + "\n".join(shown) + more)
        self.problems = problems


@dataclass
class Inventory:
    """What a valid set of inputs holds."""

    forms: dict[str, str]                  # input top folder -> "folder" or "zip"
    size: tuple[int, int]                  # width, height
    videos: dict[str, list[int]]           # split -> video numbers
    frames: int
    gtfine_frames: int
    label_pairs: int
    instance_annotations: dict[str, int]
    features: dict[str, int] = field(default_factory=dict)  # feature -> how many times seen


# ---------------------------------------------------------------------------------------------
# Reading folders and zips
# ---------------------------------------------------------------------------------------------
class _Input:
    """Files of one input under its top folder, from a folder or a zip."""

    def __init__(self, root: Path, top: str) -> None:
        folder, zpath = root / top, root / INPUTS[top]
        self.top = top
        self.form = ""
        self.files: dict[str, object] = {}
        if folder.is_dir() and zpath.exists():
            raise SpecViolation([f"{root}: both {top}/ and {INPUTS[top]} present"])
        if folder.is_dir():
            self.form = "folder"
            for dirpath, _dirs, names in os.walk(folder):
                for name in names:
                    full = Path(dirpath) / name
                    self.files[full.relative_to(root).as_posix()] = full
        elif zpath.is_file():
            self.form = "zip"
            self._zip = zipfile.ZipFile(zpath)
            for info in self._zip.infolist():
                if not info.filename.endswith("/"):
                    self.files[info.filename] = info
        else:
            raise SpecViolation([f"{root}: neither {top}/ nor {INPUTS[top]}"])

    def close(self) -> None:
        if self.form == "zip":
            self._zip.close()

    def read(self, name: str) -> bytes:
        ref = self.files[name]
        if isinstance(ref, Path):
            return ref.read_bytes()
        return self._zip.read(ref)


def _png_header(data: bytes) -> tuple[int, int, int, int]:
    """Width, height, bit depth and colour type from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
    return w, h, depth, ctype


PNG_KINDS = {  # (bit depth, colour type)
    "rgb": (8, 2), "rgba": (8, 6), "gray8": (8, 0), "gray16": (16, 0),
}


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        arr = np.array(img)
    return arr.astype(np.int64) if arr.ndim == 2 else arr


# ---------------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []
        self.features = dict.fromkeys(FEATURES, 0)
        self.inputs: list[_Input] = []

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def png(self, src: _Input, name: str, kind: str, size: tuple[int, int] | None) -> np.ndarray | None:
        try:
            data = src.read(name)
            w, h, depth, ctype = _png_header(data)
        except (ValueError, struct.error, KeyError, zipfile.BadZipFile) as exc:
            self.fail(name, f"unreadable PNG ({exc})")
            return None
        if (depth, ctype) != PNG_KINDS[kind]:
            self.fail(name, f"PNG bit depth {depth} colour type {ctype}, expected {kind}")
            return None
        if size is not None and (w, h) != size:
            self.fail(name, f"size {w}x{h}, expected {size[0]}x{size[1]}")
            return None
        return _decode(data)

    # -- release JSON ---------------------------------------------------------------------
    def load_json(self, src: _Input, name: str) -> dict | None:
        rel = f"cityscapes_vps/{name}"
        if rel not in src.files:
            self.fail(rel, "missing")
            return None
        try:
            obj = json.loads(src.read(rel))
        except ValueError as exc:
            self.fail(rel, f"not JSON ({exc})")
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("images"), list):
            self.fail(rel, "no 'images' list")
            return None
        cats = obj.get("categories")
        want = [(c[0], c[1], int(c[4]), list(c[3])) for c in SPEC_CATEGORIES]
        got = None
        if isinstance(cats, list):
            try:
                got = [(c["id"], c["name"], c["isthing"], list(c["color"])) for c in cats]
            except (KeyError, TypeError):
                got = None
            if got is not None and not all("supercategory" in c for c in cats):
                got = None
        if got != want:
            self.fail(rel, "'categories' differ from the table of SPEC §3")
        for im in obj["images"]:
            if not isinstance(im, dict) or not {"id", "file_name", "width", "height"} <= set(im):
                self.fail(rel, f"image record without id/file_name/width/height: {im!r}"[:200])
                return None
        return obj

    def run(self) -> Inventory:
        root = self.root
        images, gtfine, release = self.inputs = [_Input(root, t) for t in INPUTS]
        for src in (images, gtfine, release):
            for name in src.files:
                if not name.startswith(src.top + "/"):
                    self.fail(name, f"outside the {src.top}/ folder")
        # 1. The annotated frames of each video, from panoptic_im_*.
        jsons = {n: self.load_json(release, n) for n in RELEASE_JSONS}
        if any(v is None for v in jsons.values()):
            raise SpecViolation(self.problems)
        videos: dict[int, dict] = {}   # video -> {split, city, seq, f0, ids: {j: image id}}
        sizes: set[tuple[int, int]] = set()
        for split in SPLITS:
            rel = f"panoptic_im_{split}_city_vps.json"
            for im in jsons[rel]["images"]:
                self.annotated_image(rel, split, im, videos, sizes)
        if len(sizes) != 1:
            self.fail("panoptic_im_*", f"expected one image size, found {sorted(sizes)}")
            raise SpecViolation(self.problems)
        size = sizes.pop()
        for v, info in sorted(videos.items()):
            if sorted(info["ids"]) != [1, 2, 3, 4, 5, 6]:
                self.fail(f"video {v:04d}", f"annotated frames j = {sorted(info['ids'])}, expected 1…6")
        numbers = sorted(videos)
        if numbers != list(range(1, len(numbers) + 1)):
            self.fail("panoptic_im_*", f"videos are not numbered 1…N: {numbers[:10]}…")
        spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for v, info in videos.items():
            spans.setdefault((info["city"], info["seq"]), []).append((info["f0"], v))
        for (city, seq), starts in spans.items():
            starts.sort()
            for (a, va), (b, vb) in zip(starts, starts[1:], strict=False):
                if b < a + 30:
                    self.fail(f"videos {va:04d}, {vb:04d}", f"{city}_{seq:06d} frames overlap")
        by_split = {s: sorted(v for v, i in videos.items() if i["split"] == s) for s in SPLITS}
        if len(videos) >= 3 and not all(by_split.values()):
            self.fail("splits", f"an empty split among {({s: len(v) for s, v in by_split.items()})}")
        # 2. im_all_info_{val,test}: all 30 frames of every video of the split.
        for split in ("val", "test"):
            rel = f"im_all_info_{split}_city_vps.json"
            want = {self.frame_name(videos[v], t) for v in by_split[split] for t in range(30)}
            got = []
            for im in jsons[rel]["images"]:
                if not isinstance(im["id"], (int, str)) or isinstance(im["id"], bool):
                    self.fail(rel, f"id {im['id']!r} is neither int nor string")
                if (im["width"], im["height"]) != size:
                    self.fail(rel, f"{im['file_name']}: size differs from the annotated frames")
                got.append(im["file_name"])
            if len(got) != len(set(got)):
                self.fail(rel, "repeated file_name")
            if set(got) != want:
                self.fail(rel, f"file names differ from the 30 frames of each {split} video: "
                          f"{len(set(got) - want)} extra, {len(want - set(got))} missing")
        # 3. Raw frames: 30 per video, RGB, the size of the JSON.
        frames_want = {f"leftImg8bit_sequence/val/{i['city']}/{self.frame_name(i, t)}"
                       for i in videos.values() for t in range(30)}
        self.same_set("leftImg8bit_sequence", set(images.files), frames_want)
        for name in sorted(set(images.files) & frames_want):
            self.png(images, name, "rgb", size)
        # 4. gtFine: the 20th frame of every video, four files, strictly consistent.
        gt_want = {}
        for v, info in videos.items():
            key = self.key_name(info, 19)
            for kind in ("color", "labelIds", "instanceIds"):
                gt_want[f"gtFine/val/{info['city']}/{key}_gtFine_{kind}.png"] = (v, kind)
            gt_want[f"gtFine/val/{info['city']}/{key}_gtFine_polygons.json"] = (v, "polygons")
        self.same_set("gtFine", set(gtfine.files), set(gt_want))
        for name in gtfine.files:
            base = name.rsplit("/", 1)[-1]
            if not GTFINE_RE.match(base) or name.split("/")[2] != base.split("_")[0]:
                self.fail(name, "not a gtFine file name in its city folder")
        labels: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}  # (video, j) -> rgb, inst
        for v, info in sorted(videos.items()):
            got = self.gtfine_frame(gtfine, info, size)
            if got is not None:
                labels[(v, GTFINE_J)] = got
        # 5. Release labels: cls/inst for the five other annotated frames of train/val videos.
        self.release_labels(release, videos, by_split, size, labels)
        # 6. Tracks and scene features over each labelled video.
        for v in by_split["train"] + by_split["val"]:
            self.video_tracks(v, labels)
        # 7. COCO instance annotations.
        n_inst = {}
        for split in LABELLED:
            rel = f"instances_{split}_city_vps_rle.json"
            n_inst[split] = self.instances(rel, jsons[rel], videos, by_split[split], labels, size)
        if self.problems:
            raise SpecViolation(self.problems)
        return Inventory(
            forms={s.top: s.form for s in (images, gtfine, release)}, size=size,
            videos=by_split, frames=len(frames_want), gtfine_frames=len(videos),
            label_pairs=sum(5 for s in LABELLED for _ in by_split[s]),
            instance_annotations=n_inst, features=self.features,
        )

    # -- pieces ---------------------------------------------------------------------------
    @staticmethod
    def key_name(info: dict, offset: int) -> str:
        return f"{info['city']}_{info['seq']:06d}_{info['f0'] + offset:06d}"

    def frame_name(self, info: dict, offset: int) -> str:
        return f"{self.key_name(info, offset)}_leftImg8bit.png"

    def same_set(self, where: str, got: set[str], want: set[str]) -> None:
        for name in sorted(want - got)[:20]:
            self.fail(name, "missing")
        for name in sorted(got - want)[:20]:
            self.fail(name, f"unexpected file in {where}")

    def annotated_image(self, rel: str, split: str, im: dict, videos: dict, sizes: set) -> None:
        m = ANNOTATED_NAME_RE.match(str(im["file_name"]))
        if m is None:
            self.fail(rel, f"file_name {im['file_name']!r} is not {{image_id}}_leftImg8bit/newImg8bit.png")
            return
        iid, suffix = m.groups()
        if isinstance(im["id"], str) and im["id"] != iid:
            self.fail(rel, f"id {im['id']!r} differs from the file name's {iid}")
        video, index, city, seq, frame = IMAGE_ID_RE.match(iid).groups()
        video, index, seq, frame = int(video), int(index), int(seq), int(frame)
        j = index - (video - 1) * 6
        if video < 1 or not 1 <= j <= 6:
            self.fail(rel, f"{iid}: index {index} breaks (video-1)*6 + j, j = 1…6")
            return
        if suffix != ("leftImg8bit" if j == GTFINE_J else "newImg8bit"):
            self.fail(rel, f"{iid}: frame j={j} named _{suffix}")
        f0 = frame - ANNOTATED_OFFSETS[j - 1]
        info = videos.setdefault(video, {"split": split, "city": city, "seq": seq, "f0": f0,
                                         "ids": {}})
        if (info["split"], info["city"], info["seq"], info["f0"]) != (split, city, seq, f0):
            self.fail(rel, f"{iid}: not the snippet of video {video:04d} "
                      f"({info['split']} {info['city']}_{info['seq']:06d} from {info['f0']})")
            return
        if j in info["ids"]:
            self.fail(rel, f"{iid}: frame j={j} of video {video:04d} listed twice")
        info["ids"][j] = iid
        if not all(isinstance(im[k], int) and im[k] > 0 for k in ("width", "height")):
            self.fail(rel, f"{iid}: width/height not positive integers")
        else:
            sizes.add((im["width"], im["height"]))

    def gtfine_frame(self, gtfine: _Input, info: dict, size: tuple[int, int]):
        base = f"gtFine/val/{info['city']}/{self.key_name(info, 19)}_gtFine_"
        names = {k: base + k + ".png" for k in ("color", "labelIds", "instanceIds")}
        if not all(n in gtfine.files for n in names.values()):
            return None
        color = self.png(gtfine, names["color"], "rgba", size)
        lab = self.png(gtfine, names["labelIds"], "gray8", size)
        inst = self.png(gtfine, names["instanceIds"], "gray16", size)
        if color is None or lab is None or inst is None:
            return None
        if (color[..., 3] != 255).any():
            self.fail(names["color"], "alpha is not 255 everywhere")
        if lab.max() > 33:
            self.fail(names["labelIds"], f"label id {lab.max()} > 33")
            return None
        table = np.zeros((34, 3), dtype=np.uint8)
        for lid, col in LABEL_COLOR.items():
            table[lid] = col
        bad = (color[..., :3] != table[lab]).any(axis=2)
        if bad.any():
            y, x = np.argwhere(bad)[0]
            self.fail(names["color"], f"colour {tuple(color[y, x, :3])} at ({x},{y}) is not the "
                      f"colour of label {lab[y, x]}")
        obj = inst >= 1000
        has_inst = np.isin(lab, sorted(INSTANCE_LABEL_IDS))
        if (obj & ((inst // 1000) != lab)).any() or (obj & ~has_inst).any():
            self.fail(names["instanceIds"], "an instance id disagrees with labelIds")
        if (~obj & (inst != lab)).any():
            self.fail(names["instanceIds"], "a value < 1000 is not the pixel's label id")
        # The polygons rasterise (in order, later on top) to the label ids.
        pname = base + "polygons.json"
        if pname in gtfine.files:
            self.polygons(gtfine, pname, lab, size)
        # Features of the strictly consistent frame.
        rgb = [tuple(c) for c in np.unique(color[..., :3].reshape(-1, 3), axis=0)]
        self.features["void_black"] += int(BLACK in rgb)
        self.features["void_dynamic"] += int(DYNAMIC in rgb)
        self.features["void_ground"] += int(GROUND in rgb)
        self.features["polegroup"] += int((lab == 18).any())
        return color[..., :3], inst

    def polygons(self, gtfine: _Input, name: str, lab: np.ndarray, size: tuple[int, int]) -> None:
        try:
            poly = json.loads(gtfine.read(name))
            assert (poly["imgWidth"], poly["imgHeight"]) == size
            img = Image.new("L", size, 0)
            draw = ImageDraw.Draw(img)
            for obj in poly["objects"]:
                label = obj["label"]
                if label not in LABEL_ID_BY_NAME and label.endswith("group"):
                    label = label[: -len("group")]
                draw.polygon([tuple(p) for p in obj["polygon"]], fill=LABEL_ID_BY_NAME[label])
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            self.fail(name, f"not a polygons file of this frame ({exc!r})")
            return
        if (np.array(img) != lab).any():
            self.fail(name, "the polygons do not rasterise to the labelIds image")

    def release_labels(self, release: _Input, videos: dict, by_split: dict, size, labels) -> None:
        want: dict[str, tuple[int, int, str]] = {}
        for split in LABELLED:
            for v in by_split[split]:
                for j, iid in videos[v]["ids"].items():
                    if j != GTFINE_J:
                        want[f"cityscapes_vps/{split}/cls/{iid}_final_mask.png"] = (v, j, "cls")
        inst_files: dict[str, list[str]] = {}
        allowed = {f"cityscapes_vps/{n}" for n in RELEASE_JSONS} | set(want)
        for name in sorted(release.files):
            parts = name.split("/")
            if len(parts) == 4 and parts[1] in LABELLED and parts[2] == "inst":
                m = LABEL_FILE_RE.match(parts[3])
                if m:
                    inst_files.setdefault(f"{parts[1]}/{m.group(1)}", []).append(name)
                    continue
            if name not in allowed:
                self.fail(name, "unexpected file in the release")
        for name in sorted(set(want) - set(release.files)):
            self.fail(name, "missing")
        for name, (v, j, _) in sorted(want.items()):
            split = videos[v]["split"]
            iid = videos[v]["ids"][j]
            insts = inst_files.pop(f"{split}/{iid}", [])
            if len(insts) != 1:
                self.fail(f"cityscapes_vps/{split}/inst/{iid}_*.png", f"{len(insts)} files, expected 1")
                continue
            if name not in release.files:
                continue
            cls = self.png(release, name, "rgba", size)
            inst = self.png(release, insts[0], "gray16", size)
            if cls is None or inst is None:
                continue
            if (cls[..., 3] != 255).any():
                self.fail(name, "alpha is not 255 everywhere")
            colors = {tuple(c) for c in np.unique(cls[..., :3].reshape(-1, 3), axis=0)}
            if colors - LABEL_COLORS:
                self.fail(name, f"colours outside the label table: {sorted(colors - LABEL_COLORS)[:3]}")
            vals = np.unique(inst)
            small = vals[vals < 1000]
            big = vals[vals >= 1000]
            if (small > 33).any() or not np.isin(big // 1000, sorted(INSTANCE_LABEL_IDS)).all():
                self.fail(insts[0], f"values that are not Cityscapes instance ids: {vals[:8]}")
            labels[(v, j)] = (cls[..., :3], inst)
            self.vps_frame_features(cls[..., :3], inst)
        for key, names in sorted(inst_files.items()):
            for n in names:
                self.fail(n, f"inst file without a cls file ({key})")

    def vps_frame_features(self, rgb: np.ndarray, inst: np.ndarray) -> None:
        values: list[int] = []  # stage-3 panoptic values of the thing objects of the frame
        for v in np.unique(inst[inst >= 1000]).tolist():
            mask = inst == v
            cols, counts = np.unique(rgb[mask].reshape(-1, 3), axis=0, return_counts=True)
            cols = [tuple(int(x) for x in c) for c in cols]
            if sum(c in THING_COLOR_TO_CAT for c in cols) >= 2:
                self.features["mixed_colour_object"] += 1
            top = majority_color(rgb, mask)
            if top in VOID_COLORS and v // 1000 in VPS_THING_LABEL_IDS:
                self.features["void_majority_object"] += 1
            cat = THING_COLOR_TO_CAT.get(top)
            void = sum(int(n) for c, n in zip(cols, counts, strict=True) if c in VOID_COLORS)
            if cat is not None and 2 * void > int(mask.sum()):
                self.features["void_colours_compete_separately"] += 1
            if cat is not None:
                values.append(cat * 1000 + v % 1000)
                if v // 1000 in VPS_THING_LABEL_IDS and cat != CAT_OF_LABEL[v // 1000]:
                    self.features["other_colour_wins"] += 1
        self.features["shared_panoptic_value"] += len(values) - len(set(values))

    def video_tracks(self, v: int, labels: dict) -> None:
        frames = [labels.get((v, j)) for j in range(1, 7)]
        if any(f is None for f in frames):
            return
        present = [set(np.unique(inst[inst >= 1000]).tolist()) for _, inst in frames]
        allf = set.intersection(*present)
        self.features["track_over_all_frames"] += len(allf)
        if not allf:
            self.fail(f"video {v:04d}", "no instance id persists over its six annotated frames")
        self.features["object_entering"] += len(set.union(*present[1:]) - present[0])
        self.features["object_leaving"] += len(set.union(*present[:-1]) - present[-1])
        for rgb, inst in frames:
            self.features["k0_object"] += int(((inst >= 1000) & (inst % 1000 == 0)).any())
            crowd = (inst < 1000) & np.isin(inst, sorted(INSTANCE_LABEL_IDS))
            self.features["crowd_region"] += int(crowd.any())
            cara = np.unique(inst[(inst // 1000 == 29) | (inst // 1000 == 30)]).tolist()
            for val in cara:
                if majority_color(rgb, inst == val) not in THING_COLOR_TO_CAT:
                    self.features["caravan_or_trailer"] += 1

    def instances(self, rel: str, obj: dict, videos: dict, vids: list[int], labels: dict,
                  size: tuple[int, int]) -> int:
        frame_of: dict[str, tuple[int, int]] = {}
        for v in vids:
            for j, iid in videos[v]["ids"].items():
                frame_of[f"{iid}_{'leftImg8bit' if j == GTFINE_J else 'newImg8bit'}.png"] = (v, j)
        image_by_id = {}
        for im in obj["images"]:
            if im["file_name"] not in frame_of:
                self.fail(rel, f"image {im['file_name']!r} is not an annotated frame of the split")
                continue
            image_by_id[im["id"]] = frame_of[im["file_name"]]
        if set(frame_of) != {im["file_name"] for im in obj["images"]}:
            self.fail(rel, "images differ from the annotated frames of the split")
        anns = obj.get("annotations")
        if not isinstance(anns, list):
            self.fail(rel, "no 'annotations' list")
            return 0
        ids = [a.get("id") for a in anns]
        if len(set(ids)) != len(ids):
            self.fail(rel, "annotation ids repeat")
        seen: dict[tuple[int, int], set[int]] = {}
        need = {"id", "image_id", "category_id", "inst_id", "segmentation", "area", "bbox", "iscrowd"}
        for a in anns:
            if not need <= set(a):
                self.fail(rel, f"annotation {a.get('id')} lacks {sorted(need - set(a))}")
                continue
            frame = image_by_id.get(a["image_id"])
            if frame is None or frame not in labels:
                self.fail(rel, f"annotation {a['id']}: image_id {a['image_id']!r} unknown or unlabelled")
                continue
            rgb, inst = labels[frame]
            seg = a["segmentation"]
            if not isinstance(seg.get("counts"), str) or seg.get("size") != [size[1], size[0]]:
                self.fail(rel, f"annotation {a['id']}: segmentation is not an RLE with str counts")
                continue
            mask = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)
            want = inst == a["inst_id"]
            if a["inst_id"] < 1000 or not np.array_equal(mask, want):
                self.fail(rel, f"annotation {a['id']}: mask is not inst == {a['inst_id']}")
                continue
            seen.setdefault(frame, set()).add(a["inst_id"])
            ys, xs = np.nonzero(mask)
            box = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                   float(ys.max() - ys.min() + 1)]
            if a["area"] != int(mask.sum()) or [float(x) for x in a["bbox"]] != box:
                self.fail(rel, f"annotation {a['id']}: area/bbox do not match the mask")
            cat = THING_COLOR_TO_CAT.get(majority_color(rgb, mask))
            if a["category_id"] != cat or a["iscrowd"] != 0:
                self.fail(rel, f"annotation {a['id']}: category_id {a['category_id']} / iscrowd "
                          f"{a['iscrowd']}, the majority colour gives {cat}")
        # Every object whose majority colour is a thing colour is annotated, once per frame.
        for v in vids:
            for j in range(1, 7):
                if (v, j) not in labels:
                    continue
                rgb, inst = labels[(v, j)]
                things = {val for val in np.unique(inst[inst >= 1000]).tolist()
                          if majority_color(rgb, inst == val) in THING_COLOR_TO_CAT}
                if things != seen.get((v, j), set()):
                    self.fail(rel, f"video {v:04d} frame j={j}: annotated objects "
                              f"{sorted(seen.get((v, j), set()))} != thing objects {sorted(things)}")
        return len(anns)


def majority_color(rgb: np.ndarray, mask: np.ndarray) -> tuple[int, int, int]:
    """Most frequent colour under ``mask``; ties go to the smallest ``R + 256 G + 256² B``."""
    px = rgb[mask].reshape(-1, 3).astype(np.int64)
    packed = px[:, 0] + 256 * px[:, 1] + 65536 * px[:, 2]
    vals, counts = np.unique(packed, return_counts=True)
    best = int(vals[np.argmax(counts)])  # argmax takes the first, i.e. smallest, of equal counts
    return best & 255, (best >> 8) & 255, best >> 16


def validate_inputs(folder: str | os.PathLike, *, require_features: bool = True) -> Inventory:
    """Check the three inputs in ``folder`` against SPEC §1; raise :class:`SpecViolation`.

    With ``require_features`` the scenes must also show every case the preparation rules
    distinguish (see ``FEATURES``), each at least once.
    """
    checker = _Checker(Path(folder))
    try:
        inventory = checker.run()
    finally:
        for src in checker.inputs:
            src.close()
    if require_features:
        missing = [f for f in FEATURES if not inventory.features[f]]
        if missing:
            raise SpecViolation([f"scene feature never seen: {f}" for f in missing])
    return inventory
