"""COCO instance annotations: `vpskit export --to coco-instances` regenerates the release's
`instances_{split}_city_vps_rle.json` byte for byte from a prepared root (folder or zip), and
`vpskit verify` reports a shipped file that differs, by image and object."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from datacases import build_root, pixels, zip_root
from spec_validator import majority_color
from vpskit import naming
from vpskit.categories import CATEGORIES
from vpskit.cli import main
from vpskit.coco_instances import MAX_DIFFERENCES, compare

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

THING_COLOR = {c.color: c.id for c in CATEGORIES if c.isthing}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("instances")
    build_root(base)
    zip_root(base / "cityscapes_vps", base / "prepared.zip")
    return base


def _export(root: Path, split: str, out: Path, *extra: str) -> int:
    return main(["export", str(root), "--split", split, "--to", "coco-instances", str(out), "--jobs", "1", *extra])


@pytest.mark.parametrize("kind", ["folder", "zip"])
@pytest.mark.parametrize("split", ["train", "val"])
def test_export_regenerates_the_shipped_file_byte_for_byte(base, kind, split, tmp_path, capsys):
    root = base / "cityscapes_vps" if kind == "folder" else base / "prepared.zip"
    assert _export(root, split, tmp_path) == 0
    name = naming.instances_json(split)
    made = (tmp_path / name).read_bytes()
    assert made == (base / "down" / "cityscapes_vps" / name).read_bytes()  # the synthetic release's
    doc = json.loads(made)
    videos = {naming.image_id_of_file(im["file_name"]).video for im in doc["images"]}
    assert len(videos) == 2 and len(doc["images"]) == 12 and len(doc["annotations"]) > 20
    out = capsys.readouterr().out
    assert "1 file in coco-instances for 12 frames of 2 videos" in out


def test_regenerated_objects_are_the_labels_objects(base, tmp_path):
    """Checked here against the prepared cls/inst PNGs, decoded by Pillow, without vpskit's rules."""
    root = base / "cityscapes_vps"
    assert _export(root, "val", tmp_path) == 0
    doc = json.loads((tmp_path / naming.instances_json("val")).read_text())
    names = {im["id"]: im["file_name"] for im in doc["images"]}
    by_image: dict[int, list[dict]] = {}
    for a in doc["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    seen: dict[tuple[int, int], int] = {}  # (video, inst_id) -> frames annotated
    for image_id, file_name in names.items():
        iid = naming.image_id_of_file(file_name)
        rgb = pixels(root / "val" / "cls" / naming.cls_file(iid))[..., :3]
        inst = pixels(root / "val" / "inst" / naming.inst_file(iid)).astype(np.int64)
        want = {}
        for v in sorted(set(inst[inst >= 1000].tolist())):
            cat = THING_COLOR.get(majority_color(rgb, inst == v))
            if cat is not None:
                want[v] = cat
        anns = by_image.get(image_id, [])
        assert [(a["inst_id"], a["category_id"]) for a in anns] == sorted(want.items())
        for a in anns:
            mask = mask_utils.decode({"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()})
            assert np.array_equal(mask.astype(bool), inst == a["inst_id"])
            seen[iid.video, a["inst_id"]] = seen.get((iid.video, a["inst_id"]), 0) + 1
    assert max(seen.values()) == 6  # inst_id follows an object over its video's frames


# --------------------------------------------------------------------------- verify


def _tampered_root(base: Path, tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "cityscapes_vps"
    shutil.copytree(base / "cityscapes_vps", root)
    return root, json.loads((root / naming.instances_json("val")).read_text())


def test_verify_accepts_the_shipped_file(base, capsys):
    assert main(["verify", str(base / "cityscapes_vps"), "--splits", "train,val", "--jobs", "1"]) == 0
    assert "verify: OK" in capsys.readouterr().out


def test_verify_reports_a_tampered_file_by_image_and_object(base, tmp_path, capsys):
    root, doc = _tampered_root(base, tmp_path)
    anns, names = doc["annotations"], {im["id"]: im["file_name"] for im in doc["images"]}
    first_image = anns[0]["image_id"]
    same_image = [a for a in anns if a["image_id"] == first_image]
    assert len(same_image) >= 4
    a, b, c, d = same_image[:4]
    old_inst = a["inst_id"]
    a["inst_id"] = 26999                                 # an object that is not there, and one missing
    b["category_id"] = 11 if b["category_id"] != 11 else 12
    c["segmentation"] = d["segmentation"]                # another object's mask
    last = anns[-1]
    anns.remove(last)                                    # an object missing from another image
    dropped = doc["images"].pop(5)                       # an image missing from 'images'
    (root / naming.instances_json("val")).write_text(json.dumps(doc))
    assert main(["verify", str(root), "--splits", "val", "--jobs", "1"]) == 1
    out = capsys.readouterr().err
    path = root / naming.instances_json("val")
    at = f"{path}: image {names[first_image]} (id {first_image})"
    expected = {
        f"{at}: object inst_id 26999 is no object of the frame's labels",
        f"{at}: object inst_id {b['inst_id']}: category_id {b['category_id']}, the labels give",
        f"{at}: object inst_id {c['inst_id']}: mask differs from the labels' in",
        f"{path}: image {dropped['file_name']} is missing from 'images'",
        f"{path}: image {names[last['image_id']]} (id {last['image_id']}): object inst_id {last['inst_id']} (",
        f"{at}: object inst_id {old_inst} (",
    }
    lines = [line.strip() for line in out.splitlines() if str(path) in line]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    assert len(lines) == len(expected) + 1  # the annotations of the dropped image name an unknown id
    assert any("annotations of image ids not in 'images'" in line for line in lines)


def test_verify_caps_the_list(base, tmp_path, capsys):
    root, doc = _tampered_root(base, tmp_path)
    doc["annotations"] = []
    (root / naming.instances_json("val")).write_text(json.dumps(doc))
    assert main(["verify", str(root), "--splits", "val", "--jobs", "1"]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "instances_val" in line]
    assert len(lines) == MAX_DIFFERENCES + 1 and "more differences" in lines[-1]


def test_verify_reads_a_broken_file_as_one_line(base, tmp_path, capsys):
    root, _ = _tampered_root(base, tmp_path)
    (root / naming.instances_json("val")).write_text('{"images": 3}')
    assert main(["verify", str(root), "--splits", "val", "--jobs", "1"]) == 1
    out = capsys.readouterr().err
    assert "instances_val_city_vps_rle.json: not a COCO document with 'images' and 'annotations' lists" in out
    (root / naming.instances_json("val")).unlink()  # absent: nothing to compare
    assert main(["verify", str(root), "--splits", "val", "--jobs", "1"]) == 0


def test_compare_names_malformed_records():
    made = {"images": [{"id": 1, "file_name": "a.png"}],
            "annotations": [{"image_id": 1, "inst_id": 26000, "category_id": 13, "area": 1, "bbox": [0.0] * 4,
                             "segmentation": {"size": [1, 1], "counts": "01"}}]}
    shipped = {"images": [{"id": 1, "file_name": "a.png"}],
               "annotations": [{"image_id": 1, "inst_id": 26000, "category_id": 13, "segmentation": [[0, 0]]},
                               {"image_id": [1], "inst_id": 3}]}
    got = compare(shipped, made, "F")
    assert got == ["F: annotations[1] is not an annotation with an 'image_id' and an 'inst_id'",
                   "F: image a.png (id 1): object inst_id 26000: segmentation is not an RLE mask of 1x1"]


# --------------------------------------------------------------------------- errors


def test_export_errors_are_one_line(base, tmp_path, capsys):
    root = base / "cityscapes_vps"
    assert _export(root, "val", tmp_path / "a", "--divisor", "7") == 2
    assert _export(root, "test", tmp_path / "b") == 2
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    victim = sorted((broken / "val" / "inst").iterdir())[3]
    victim.unlink()
    assert _export(broken, "val", tmp_path / "c") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("vpskit: error: --divisor: does not apply to coco-instances (its values are the "
                      "release's: category ids and instance ids as the labels give them)")
    assert err[1] == "vpskit: error: split 'test': has no public labels (only train and val have)"
    iid = naming.image_id_of_file(victim.name)
    assert err[2] == f"vpskit: error: {broken / 'val' / 'inst'}: no label file for image {iid}"
    assert len(err) == 3 and not (tmp_path / "c").exists()
