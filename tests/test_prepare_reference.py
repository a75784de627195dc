"""vpskit prepare agrees with the reference preparation scripts of Cityscapes-VPS.

``fixtures/reference_prepare.json`` records what mcahny/vps ``prepare_data`` (fetch, merge,
panoptic labels, panoptic video labels; commit in the file, run under Pillow 9) wrote for the
synthetic download of ``vpskit synth`` with the parameters stored there, plus three objects per
release label frame whose majority colour is a tie (:func:`paint_ties`). Here the same download
is regenerated (checked against its stored digest), prepared by vpskit, and described the same way:

- every file of the output folder, by relative path;
- ``img``, ``img_all``, ``cls``, ``inst``: which download file each one is a byte copy of;
- ``labelmap``, ``panoptic_inst``: a digest of the decoded pixels;
- ``panoptic_video`` and ``panoptic_gt_{split}_city_vps.json`` up to segment colours (the reference
  draws them at random): each video's segment ids renumbered by first appearance (frames in
  image-id order, pixels in raster order), then a digest of the renumbered maps and every
  segment's (number, category, iscrowd, area); the image records and annotation file names as they are.

Categories are left out: the reference's records carry three more keys (``instance_eval``,
``ori_id``, ``trainid``) and spell category 8 "vegitation"; vpskit writes SPEC §3's table.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from vpskit import naming, pngio
from vpskit.preparation import prepare
from vpskit.synth import synthesize

FIXTURE = Path(__file__).parent / "fixtures" / "reference_prepare.json"
COPIED = ("img", "img_all", "cls", "inst")
DECODED = ("labelmap", "panoptic_inst")
LABELLED = ("train", "val")
REFERENCE_SPLITS = {"train": 8, "val": 2, "test": 2}
"""Videos per split of the download the reference numbers were computed on (12 videos)."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def _pixels(path: Path) -> np.ndarray:
    return np.ascontiguousarray(pngio.read_png(path))


def _pixel_digest(path: Path) -> str:
    arr = _pixels(path)
    return _sha(f"{arr.dtype.str}{arr.shape}".encode() + arr.tobytes())


TIES = (
    ((220, 20, 60), (0, 0, 142)),  # person vs car: person, the smaller packed colour
    ((0, 0, 0), (0, 0, 142)),  # black vs car: black (void), the object is left out
    ((70, 70, 70), (0, 60, 100)),  # building vs bus: building (stuff), the object is left out
)
"""(left, right) colours of the tie objects: 4 pixels of each on each of two rows."""


def paint_ties(down: Path) -> None:
    """Paint the :data:`TIES` objects into the top-left corner of every release label frame.

    Each is one object (bicycle label, k = 900 + row) whose pixels are half one colour, half
    the other, so its majority colour is a tie; the same values recur in every frame of a video.
    """
    release = down / "cityscapes_vps"
    for split in LABELLED:
        for inst_path in sorted((release / split / "inst").glob("*.png")):
            image_id = "_".join(inst_path.name.split("_")[:5])
            (cls_path,) = sorted((release / split / "cls").glob(f"{image_id}_*.png"))
            cls, inst = pngio.read_png(cls_path).copy(), pngio.read_png(inst_path).copy()
            for row, (left, right) in enumerate(TIES):
                y = 2 * row
                inst[y:y + 2, :8] = 33_900 + row
                cls[y:y + 2, :4, :3] = left
                cls[y:y + 2, 4:8, :3] = right
            pngio.write_png(cls_path, cls)
            pngio.write_png(inst_path, inst)


def download_digest(down: Path) -> str:
    """Digest of a synthetic download's content (decoded PNG pixels, parsed JSON), whatever the encoder."""
    h = hashlib.sha256()
    for path in sorted(p for p in down.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(path.relative_to(down).as_posix().encode() + b"\0")
        if path.suffix == ".png":
            h.update(_pixel_digest(path).encode())
        else:
            h.update(json.dumps(json.loads(path.read_text()), sort_keys=True).encode())
    return h.hexdigest()


def output_facts(root: Path, down: Path) -> dict:
    """What an output folder holds, described as the fixture describes the reference's."""
    sources = {}
    for path in sorted(p for p in down.rglob("*.png")):
        sources.setdefault(_sha(path.read_bytes()), path.relative_to(down).as_posix())
    facts: dict = {"files": sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()),
                   "copies": {}, "decoded": {}, "video": {}}
    for rel in facts["files"]:
        parts = rel.split("/")
        if len(parts) == 3 and parts[1] in COPIED:
            facts["copies"][rel] = sources.get(_sha((root / rel).read_bytes()))
        elif len(parts) == 3 and parts[1] in DECODED:
            facts["decoded"][rel] = _pixel_digest(root / rel)
    for split in LABELLED:
        gt = json.loads((root / naming.panoptic_gt_json(split)).read_text())
        anns = {a["image_id"]: a for a in gt["annotations"]}
        numbers: dict[str, dict[int, int]] = {}
        frames = {}
        for image_id in sorted(anns):
            ann = anns[image_id]
            ids = pngio.rgb2id(_pixels(root / split / "panoptic_video" / ann["file_name"])).ravel()
            seen = numbers.setdefault(image_id[:4], {})
            present, first = np.unique(ids, return_index=True)
            for sid in present[np.argsort(first, kind="stable")].tolist():
                if sid != 0 and sid not in seen:
                    seen[sid] = len(seen) + 1
            keys = np.array([0, *seen], dtype=np.int64)
            values = np.array([0, *seen.values()], dtype=np.int32)
            order = np.argsort(keys)
            renumbered = values[order][np.searchsorted(keys[order], ids)]
            segments = sorted([seen[s["id"]], s["category_id"], s["iscrowd"], s["area"]]
                              for s in ann["segments_info"])
            frames[image_id] = {"file_name": ann["file_name"], "map": _sha(renumbered.tobytes()),
                                "segments": _sha(json.dumps(segments).encode())}
        images = [[i["id"], i["file_name"], i["width"], i["height"]] for i in gt["images"]]
        facts["video"][split] = {"images": images, "annotation_order": list(anns), "frames": frames}
    return facts


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, reference) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("prepref")
    params = reference["synth"]
    down = base / "down"
    # The reference ran on the 4:1:1 split that vpskit synth made before it followed the real 8:1:1.
    synthesize(down, videos=params["videos"], size=tuple(params["size"]), seed=params["seed"],
               splits=REFERENCE_SPLITS, progress=False)
    paint_ties(down)
    root = base / "cityscapes_vps"
    prepare(root, down / "leftImg8bit_sequence", down / "gtFine", release=down / "cityscapes_vps",
            jobs=2, progress=False)
    return root, down


def test_the_download_is_the_one_the_reference_saw(prepared, reference):
    _, down = prepared
    assert download_digest(down) == reference["download_digest"], (
        "vpskit synth no longer writes the download the reference numbers were computed on; "
        "run the reference prepare_data on the new download and record its facts again")


def test_prepare_agrees_with_the_reference_scripts(prepared, reference):
    root, down = prepared
    facts = output_facts(root, down)
    want = reference["facts"]
    assert facts["files"] == want["files"]
    assert None not in facts["copies"].values(), "an output that should be a byte copy is not"
    for key in ("copies", "decoded"):
        diff = sorted(k for k in want[key] if facts[key].get(k) != want[key][k])
        assert not diff, f"{key}: {len(diff)} files differ from the reference's, first {diff[0]}"
    for split in LABELLED:
        got, ref = facts["video"][split], want["video"][split]
        assert got["images"] == ref["images"], split
        assert got["annotation_order"] == ref["annotation_order"], split
        diff = sorted(i for i in ref["frames"] if got["frames"].get(i) != ref["frames"][i])
        assert not diff, f"{split}: panoptic_video/JSON of {len(diff)} frames differ, first {diff[0]}"


def test_the_reference_facts_cover_the_rules(reference):
    """The recorded run is not vacuous: every labelled split has frames, copies and segments."""
    want = reference["facts"]
    for split in LABELLED:
        frames = want["video"][split]["frames"]
        assert len(frames) == 6 * len({i[:4] for i in frames}) > 0
        assert sum(k.startswith(f"{split}/labelmap/") for k in want["decoded"]) == len(frames)
    assert sum(k.startswith("val/img_all/") for k in want["copies"]) == 5 * sum(
        k.startswith("val/img/") for k in want["copies"])
    assert len(reference["commit"]) == 40
