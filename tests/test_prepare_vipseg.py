"""VIPSeg preparation agrees with the official conversion (change2_720p.py,
create_panoptic_video_labels.py, splitjson.py) run on the same synthetic download, as recorded in
fixtures/vipseg_reference.json: same files, pixels and JSON up to the random thing colours."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image

from vpskit.errors import VpsError
from vpskit.pngio import read_png
from vpskit.preparation.vipseg import VideoSegments, check_raw_values, convert_frame, target_size
from vpskit.preparation.vipseg_run import prepare_vipseg
from vpskit.profiles.vipseg import categories_json
from vpskit.synth.vipseg import PREDICTION_KINDS, synthesize_vipseg, write_predictions

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "vipseg_reference.json").read_text())


def _sha(arr: np.ndarray) -> str:
    return hashlib.sha256(arr.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("vipseg")
    synthesize_vipseg(root / "VIPSeg", **FIXTURE["synth"])
    summary = prepare_vipseg(root / "VIPSeg", root / "VIPSeg_720P", jobs=2, progress=False)
    synth = FIXTURE["synth"]
    assert (summary.prepared, summary.skipped) == (synth["videos"] + synth["test_videos"], 0)
    assert summary.images == (synth["videos"] + synth["test_videos"]) * synth["frames"]
    assert summary.masks == synth["videos"] * synth["frames"]
    doc = json.loads((root / "VIPSeg_720P" / "panoptic_gt_VIPSeg.json").read_text())
    return root, doc


def _frame_facts(out: Path, video: str, image: dict, annotation: dict, order: dict[int, int]) -> dict:
    """The facts the fixture records of one frame (see the fixture's 'about')."""
    stem = image["id"]
    pan = read_png(out / "panomasksRGB" / video / image["file_name"]).astype(np.uint32)
    pan = pan[..., 0] + 256 * pan[..., 1] + 65536 * pan[..., 2]
    keys = np.array(sorted(order), np.uint32)
    numbers = np.array([order[k] for k in sorted(order)] + [0], np.uint32)
    at = np.searchsorted(keys, pan)
    assert ((pan == 0) | (keys[np.minimum(at, len(keys) - 1)] == pan)).all(), "an id the JSON does not list"
    canonical = np.where(pan == 0, 0, numbers[at]).astype(np.uint32)
    mask = read_png(out / "panomasks" / video / f"{stem}.png")
    jpeg = (out / "images" / video / f"{stem}.jpg").read_bytes()
    with Image.open(out / "images" / video / f"{stem}.jpg") as im:
        size, mean = list(im.size), np.array(im).reshape(-1, 3).mean(0)
    return {"canonical_sha256": _sha(canonical.astype("<u4")), "mask_shape": list(mask.shape),
            "mask_dtype": str(mask.dtype), "mask_sha256": _sha(mask.astype("<u2")),
            "mask_values": [int(v) for v in np.unique(mask)], "jpeg_size": size,
            "jpeg_sha256": hashlib.sha256(jpeg).hexdigest(), "jpeg_mean": mean}


def test_prepare_agrees_with_the_official_conversion(prepared):
    root, doc = prepared
    out = root / "VIPSeg_720P"
    ref = FIXTURE["prepare"]
    assert list(doc) == ref["top_keys"]
    assert doc["categories"] == categories_json()
    assert [v["video_id"] for v in doc["videos"]] == list(ref["videos"])
    for split, videos in ref["splits"].items():
        part = json.loads((out / f"panoptic_gt_VIPSeg_{split}.json").read_text())
        assert [v["video_id"] for v in part["videos"]] == videos
        assert [a["video_id"] for a in part["annotations"]] == videos
    same_pillow = PIL.__version__ == FIXTURE["reference"]["pillow"]
    for video, ann in zip(doc["videos"], doc["annotations"], strict=True):
        order: dict[int, int] = {}
        for image, annotation, expected in zip(video["images"], ann["annotations"], ref["videos"][video["video_id"]],
                                               strict=True):
            assert image == expected["image"] and annotation["file_name"] == expected["file_name"]
            for s in annotation["segments_info"]:
                order.setdefault(s["id"], len(order) + 1)
            segments = [[order[s["id"]], s["category_id"], s["iscrowd"], s["area"]]
                        for s in annotation["segments_info"]]
            assert segments == [e[:4] for e in expected["segments"]]
            fixed = [(s["id"], e[4]) for s, e in zip(annotation["segments_info"], expected["segments"], strict=True)
                     if e[4] is not None]
            assert all(a == b for a, b in fixed)
            facts = _frame_facts(out, video["video_id"], image, annotation, order)
            for key in ("canonical_sha256", "mask_shape", "mask_dtype", "mask_sha256", "mask_values", "jpeg_size"):
                assert facts[key] == expected[key], (video["video_id"], image["id"], key)
            if same_pillow:
                assert facts["jpeg_sha256"] == expected["jpeg_sha256"]
            assert np.abs(facts["jpeg_mean"] - np.array(expected["jpeg_mean"])).max() < 1.0
    # the official script skips the test videos' images (it returns before saving them); vpskit resizes them
    test_videos = (root / "VIPSeg" / "test.txt").read_text().split()
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(ref["image_folders"] + test_videos)
    assert not (out / "panomasks" / test_videos[0]).exists()
    assert len(list((out / "images" / test_videos[0]).iterdir())) == FIXTURE["synth"]["frames"]


def test_from_a_zip_resumed_and_deterministic(prepared, tmp_path):
    root, doc = prepared
    with zipfile.ZipFile(tmp_path / "VIPSeg.zip", "w") as zf:
        for path in sorted((root / "VIPSeg").rglob("*")):
            if path.is_file() and (path.parent.name in ("VIPSeg", doc["videos"][-1]["video_id"])):
                zf.write(path, path.relative_to(root).as_posix())
    out = tmp_path / "out"
    first = prepare_vipseg(tmp_path / "VIPSeg.zip", out, jobs=1, progress=False)
    assert (first.prepared, first.masks) == (1, FIXTURE["synth"]["frames"])
    part = json.loads((out / "panoptic_gt_VIPSeg.json").read_text())
    assert part["videos"] == doc["videos"][-1:] and part["annotations"] == doc["annotations"][-1:]
    again = prepare_vipseg(tmp_path / "VIPSeg.zip", out, jobs=1, progress=False)
    assert (again.prepared, again.skipped) == (0, 1)
    assert json.loads((out / "panoptic_gt_VIPSeg.json").read_text()) == part
    video = doc["videos"][-1]["video_id"]
    (out / "panomasksRGB" / video / doc["videos"][-1]["images"][3]["file_name"]).unlink()
    resumed = prepare_vipseg(tmp_path / "VIPSeg.zip", out, jobs=1, progress=False)
    assert (resumed.prepared, resumed.skipped) == (1, 0)
    assert json.loads((out / "panoptic_gt_VIPSeg.json").read_text()) == part
    for ann in doc["annotations"]:
        ids = {}
        for a in ann["annotations"]:
            for s in a["segments_info"]:
                assert ids.setdefault(s["id"], s["category_id"]) == s["category_id"]


def test_target_size_and_raw_value_rules():
    assert target_size(1920, 1080) == (1280, 720)
    assert target_size(100, 72) == (1000, 720)
    assert target_size(853, 480) == (1279, 720)
    check_raw_values(np.array([0, 1, 61, 124, 300, 6100, 6199, 12499]), "m.png")
    for value, why in ((150, r"category 0 \(wall\) is stuff"), (2205, r"category 21 \(building\) is stuff"),
                       (12600, "category 125 does not exist")):
        with pytest.raises(VpsError, match=f"invalid raw mask value {value}: {why}"):
            check_raw_values(np.array([0, 1, value]), "m.png")


def test_convert_frame_lists_segments_in_raw_value_order():
    mask = np.array([[0, 6101, 6101], [23, 6100, 61]], np.uint16)
    rgb, info = convert_frame(mask, VideoSegments(), "m.png")
    assert [(s["category_id"], s["area"]) for s in info] == [(22, 1), (60, 1), (60, 1), (60, 2)]
    rgb = rgb.astype(np.int64)
    pan = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
    assert pan[0, 0] == 0 and pan[0, 1] == pan[0, 2] and len({int(v) for v in pan.ravel()}) == 5
    r, g, b = categories_json()[22]["color"]
    assert info[0]["id"] == r + 256 * g + 65536 * b, "a stuff segment's id is its category's colour"


def test_invalid_and_missing_masks_are_refused(tmp_path):
    plan = synthesize_vipseg(tmp_path / "dl", videos=1, frames=2, test_videos=0, invalid=True)
    video = plan[0].name
    with pytest.raises(VpsError, match=rf"{plan[0].frames[-1]}\.png: invalid raw mask value 150"):
        prepare_vipseg(tmp_path / "dl", tmp_path / "out", jobs=1, progress=False)
    clean = synthesize_vipseg(tmp_path / "dl2", videos=1, frames=2, test_videos=0)
    (tmp_path / "dl2" / "panomasks" / video / f"{clean[0].frames[1]}.png").unlink()
    with pytest.raises(VpsError, match=rf"{clean[0].frames[1]}\.png: mask missing"):
        prepare_vipseg(tmp_path / "dl2", tmp_path / "out2", jobs=1, progress=False)


def test_predictions_are_read_as_the_official_scripts_read_them(prepared, tmp_path):
    root, _ = prepared
    out = root / "VIPSeg_720P"
    gt = json.loads((out / "panoptic_gt_VIPSeg_val.json").read_text())
    for kind in PREDICTION_KINDS:
        write_predictions(out, "val", tmp_path / kind, kind)
        pred = json.loads((tmp_path / kind / "pred.json").read_text())["annotations"]
        assert [p["video_id"] for p in pred] == [v["video_id"] for v in gt["videos"]]
        for p, g in zip(pred, gt["annotations"], strict=True):
            assert len(p["annotations"]) == len(g["annotations"])
            for pa, ga in zip(p["annotations"], g["annotations"], strict=True):
                rgb = read_png(tmp_path / kind / "pan_pred" / p["video_id"] / pa["file_name"]).astype(np.int64)
                ids = set(np.unique(rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]).tolist()) - {0}
                assert ids == {s["id"] for s in pa["segments_info"]}
                if kind == "perfect":
                    assert [(s["id"], s["category_id"]) for s in pa["segments_info"]] == sorted(
                        (s["id"], s["category_id"]) for s in ga["segments_info"])
    assert set(FIXTURE["evaluation"]["predictions"]) == set(PREDICTION_KINDS)


def test_prepare_command_builds_vipseg_and_other_commands_say_what_they_handle(tmp_path, capsys):
    import json

    from vpskit.cli import main

    dl, out = tmp_path / "VIPSeg", tmp_path / "VIPSeg_720P"
    assert main(["synth", "--benchmark", "vipseg", str(dl), "--splits", "1,1,1", "--frames", "2"]) == 0
    capsys.readouterr()
    assert main(["prepare", str(out), str(dl), "--benchmark", "vipseg", "--jobs", "1"]) == 0
    assert capsys.readouterr().out.startswith("VIPSeg: 3 videos prepared, 0 already done; 6 frames, 4 masks")
    val = json.loads((out / "panoptic_gt_VIPSeg_val.json").read_text())
    assert len(val["annotations"]) == 1 and len(val["annotations"][0]["annotations"]) == 2
    assert main(["prepare", str(out), str(dl), "--benchmark", "vipseg", "--jobs", "1"]) == 0
    assert "0 videos prepared, 3 already done" in capsys.readouterr().out
    # one line, exit 2: a missing input
    for argv, message in (
            (["eval", str(tmp_path / "pred"), "--root", str(out)], "pred: no such file or folder"),
            (["prepare", str(out), str(dl), "GTFINE", "--benchmark", "vipseg"], "no GTFINE"),
            (["prepare", str(tmp_path / "cs"), str(dl)], "GTFINE: missing")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
