"""`vpskit verify` on a prepared small dataset, then on damaged copies of it."""

import json
import shutil

import numpy as np
import pytest

from test_prepare_tree import build_download
from vpskit.cli import main
from vpskit.pngio import decode_png, encode_png, id2rgb, rgb2id
from vpskit.preparation import prepare
from vpskit.verification import verify


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    base = tmp_path_factory.mktemp("verify")
    dl = build_download(base / "dl")
    root = base / "cityscapes_vps"
    prepare(root, dl["images"], dl["gtfine"], release=dl["release"], jobs=1, progress=False)
    return root


@pytest.fixture
def root(prepared, tmp_path):
    copy = tmp_path / "cityscapes_vps"
    shutil.copytree(prepared, copy)
    return copy


def test_good_dataset(prepared, capsys):
    report = verify(prepared, jobs=1)
    assert report.ok, report.problems
    assert report.counts["train"]["img"] == 12 and report.counts["val"]["img_all"] == 60
    assert report.counts["test"]["img_all"] == 30 and report.counts["val"]["panoptic_video"] == 12
    assert main(["verify", str(prepared), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "panoptic_video" in out and "verify: OK" in out


def only(report, *words):
    assert not report.ok
    hits = [p for p in report.problems if all(w in p for w in words)]
    assert hits, report.problems
    return hits


def test_missing_and_truncated_frames(root, capsys):
    victim = sorted((root / "val" / "img").iterdir())[0]
    victim.unlink()
    half = sorted((root / "test" / "img_all").iterdir())[5]
    half.write_bytes(half.read_bytes()[:-20])
    report = verify(root, jobs=1)
    only(report, victim.name, "missing")
    only(report, half.name, "truncated")
    assert report.counts["val"]["img"] == 11 and report.counts["test"]["img_all"] == 29
    assert main(["verify", str(root), "--splits", "val,test"]) == 1
    captured = capsys.readouterr()
    assert victim.name in captured.err and "2 problem(s)" in captured.err


def test_wrong_size_and_extra_file(root):
    victim = sorted((root / "train" / "labelmap").iterdir())[2]
    victim.write_bytes(encode_png(np.zeros((3, 3), dtype=np.uint8)))
    (root / "train" / "img" / "stray.png").write_bytes(b"x")
    report = verify(root, splits="train", jobs=1)
    only(report, victim.name, "3x3")
    only(report, "train/img", "not listed")


def test_area_category_and_missing_segment_in_json(root):
    path = root / "panoptic_gt_val_city_vps.json"
    doc = json.loads(path.read_text())
    segs = doc["annotations"][0]["segments_info"]
    segs[0]["area"] += 1
    segs[1]["category_id"] = 42
    dropped = segs.pop(2)
    path.write_text(json.dumps(doc))
    report = verify(root, splits=["val"], jobs=1)
    only(report, "JSON says")
    only(report, "unknown category 42")
    only(report, f"segment {dropped['id']} is in the image but not in the JSON")


def test_thing_colour_reused_in_another_video(root):
    path = root / "panoptic_gt_train_city_vps.json"
    doc = json.loads(path.read_text())
    first_video = [a for a in doc["annotations"] if a["image_id"].startswith("0001")]
    other = [a for a in doc["annotations"] if a["image_id"].startswith("0002")][0]
    thing = next(s for s in first_video[0]["segments_info"] if s["category_id"] == 13)
    target = next(s for s in other["segments_info"] if s["category_id"] == 13)
    png = root / "train" / "panoptic_video" / other["file_name"]
    ids = rgb2id(decode_png(png.read_bytes()))
    ids[ids == target["id"]] = thing["id"]
    png.write_bytes(encode_png(id2rgb(ids)))
    target["id"] = thing["id"]
    path.write_text(json.dumps(doc))
    report = verify(root, splits="train", jobs=1)
    only(report, f"thing segment {thing['id']} is used in videos 1 and 2")


def test_unreadable_json_and_bad_file_name(root):
    (root / "panoptic_gt_train_city_vps.json").write_text("{")
    path = root / "panoptic_im_val_city_vps.json"
    doc = json.loads(path.read_text())
    doc["images"][0]["file_name"] = "../../etc/passwd"
    path.write_text(json.dumps(doc))
    report = verify(root, splits="train,val", jobs=1)
    only(report, "panoptic_gt_train_city_vps.json", "unreadable JSON")
    only(report, "panoptic_im_val_city_vps.json", "'..'")


def test_panoptic_video_not_matching_panoptic_inst(root):
    victim = sorted((root / "val" / "panoptic_inst").iterdir())[0]
    pan = decode_png(victim.read_bytes())
    values = sorted(set(pan.ravel().tolist()) - {255})
    merged = pan.copy()
    merged[pan == values[1]] = values[0]  # two segments of the video frame now share one value
    victim.write_bytes(encode_png(merged))
    report = verify(root, splits="val", jobs=1)
    only(report, victim.name, "one colour per panoptic_inst value")


def test_category_records_are_checked_for_ids_things_and_colours(root):
    path = root / "panoptic_gt_val_city_vps.json"
    doc = json.loads(path.read_text())
    # as the original preparation scripts write them: more keys, a misspelt name
    for cat in doc["categories"]:
        cat.update(instance_eval=cat["isthing"], trainid=cat["id"], ori_id=0)
    doc["categories"][8]["name"] = "vegitation"
    path.write_text(json.dumps(doc))
    assert verify(root, splits=["val"], jobs=1).ok
    doc["categories"][13]["color"] = [0, 0, 143]
    path.write_text(json.dumps(doc))
    only(verify(root, splits=["val"], jobs=1), "'categories' [13] is not category 13 'car'")
    doc["categories"].pop()
    path.write_text(json.dumps(doc))
    only(verify(root, splits=["val"], jobs=1), "'categories' has 18 records")


def test_labelmap_and_panoptic_inst_must_be_stage_3_of_their_labels(root):
    labelmaps = sorted((root / "train" / "labelmap").iterdir())
    victim = labelmaps[1]
    sem = decode_png(victim.read_bytes())
    sem[0, :3] = np.where(sem[0, :3] == 0, 1, 0)
    victim.write_bytes(encode_png(sem))
    pans = sorted((root / "train" / "panoptic_inst").iterdir())
    # another frame's panoptic_inst: right size and format, wrong content
    pans[3].write_bytes(pans[4].read_bytes())
    report = verify(root, splits="train", jobs=1)
    only(report, f"labelmap/{victim.name}: 3 pixels differ from what stage 3 makes of cls/{victim.name}")
    only(report, f"panoptic_inst/{pans[3].name}:", "pixels differ from what stage 3 makes")
    assert len([p for p in report.problems if "stage 3" in p]) == 2
