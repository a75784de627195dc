"""Tests of the synthetic Cityscapes-VPS generator, checked by the independent spec_validator."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from spec_validator import SpecViolation, majority_color, validate_inputs
from vpskit import synth
from vpskit.cli import main
from vpskit.errors import VpsError

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SIZE = "256x128"
ZIPS = ("cityscapes-vps-dataset-1.0.zip", "gtFine_trainvaltest.zip",
        "leftImg8bit_sequence_trainvaltest.zip")
TREES = ("cityscapes_vps", "gtFine", "leftImg8bit_sequence")


def _run(out: Path, *extra: str) -> None:
    assert main(["synth", str(out), "--videos", "6", "--size", SIZE, *extra]) == 0


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != synth.MARKER}


@pytest.fixture(scope="module")
def folder_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "folder"
    _run(out, "--jobs", "2")
    return out


@pytest.fixture(scope="module")
def zip_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "zip"
    _run(out, "--zip", "--jobs", "1")
    return out


# ---------------------------------------------------------------------------------------------
# End to end: the validator accepts both forms
# ---------------------------------------------------------------------------------------------
def test_folder_output_follows_spec(folder_out: Path):
    inv = validate_inputs(folder_out)
    assert set(inv.forms.values()) == {"folder"}
    assert sorted(p.name for p in folder_out.iterdir()) == [synth.MARKER, *TREES]
    assert inv.size == (256, 128)
    assert inv.videos == {"train": [1, 3, 5, 6], "val": [2], "test": [4]}
    assert inv.frames == 180 and inv.gtfine_frames == 6 and inv.label_pairs == 25
    assert all(n > 0 for n in inv.instance_annotations.values())


def test_zip_output_follows_spec(zip_out: Path):
    inv = validate_inputs(zip_out)
    assert set(inv.forms.values()) == {"zip"}
    # No loose trees, no staging folder.
    assert sorted(p.name for p in zip_out.iterdir()) == [synth.MARKER, *ZIPS]


def test_zip_members_are_reproducible_and_pngs_stored(zip_out: Path):
    for name, top in zip(ZIPS, ("cityscapes_vps/", "gtFine/val/", "leftImg8bit_sequence/val/"),
                         strict=True):
        with zipfile.ZipFile(zip_out / name) as zf:
            infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(n.startswith(top) or top.startswith(n) for n in names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos if i.filename.endswith(".png"))


def test_zip_holds_the_same_files_as_the_folders(folder_out: Path, zip_out: Path):
    # Also shows that --jobs 1 (zip run) and --jobs 2 (folder run) give the same bytes.
    folder = _files(folder_out)
    zipped = {}
    for name in ZIPS:
        with zipfile.ZipFile(zip_out / name) as zf:
            zipped.update({i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()})
    assert zipped.keys() == folder.keys()
    assert all(zipped[k] == folder[k] for k in folder)


def test_same_arguments_give_byte_identical_output(tmp_path: Path, folder_out: Path, zip_out: Path):
    _run(tmp_path / "again", "--jobs", "1")
    assert _files(tmp_path / "again") == _files(folder_out)
    _run(tmp_path / "zip2", "--zip", "--jobs", "2")
    assert _files(tmp_path / "zip2") == _files(zip_out)


def test_another_seed_gives_other_scenes(tmp_path: Path, folder_out: Path):
    synth.synthesize(tmp_path, videos=6, size=(256, 128), seed=1, jobs=1)
    a, b = _files(tmp_path), _files(folder_out)
    frames = [k for k in a if k.endswith("_leftImg8bit.png") and k in b]
    assert frames and sum(a[k] != b[k] for k in frames) > len(frames) // 2


def test_rerun_replaces_earlier_output(tmp_path: Path):
    out = tmp_path / "o"
    synth.synthesize(out, videos=4, size=(128, 64), jobs=1)
    synth.synthesize(out, videos=3, size=(128, 64), jobs=1, as_zip=True)
    assert sorted(p.name for p in out.iterdir()) == [synth.MARKER, *ZIPS]
    synth.synthesize(out, videos=2, size=(128, 64), jobs=1)
    inv = validate_inputs(out, require_features=False)  # nothing stale from the 4-video run
    assert inv.videos == {"train": [1], "val": [2], "test": []}


def test_refuses_a_folder_with_other_inputs(tmp_path: Path):
    (tmp_path / "gtFine" / "val").mkdir(parents=True)
    (tmp_path / "gtFine" / "val" / "keep.txt").write_text("not ours")
    assert main(["synth", str(tmp_path), "--videos", "1", "--size", "64x32"]) == 2
    assert (tmp_path / "gtFine" / "val" / "keep.txt").read_text() == "not ours"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_feature_with_two_small_videos(tmp_path: Path, seed: int):
    synth.synthesize(tmp_path, videos=2, size=(128, 64), seed=seed, jobs=1)
    validate_inputs(tmp_path)


def test_release_json_id_types(folder_out: Path):
    rel = folder_out / "cityscapes_vps"
    pan = json.loads((rel / "panoptic_im_val_city_vps.json").read_text())
    assert all(isinstance(im["id"], str) for im in pan["images"])
    allinfo = json.loads((rel / "im_all_info_test_city_vps.json").read_text())
    assert all(isinstance(im["id"], int) for im in allinfo["images"])
    assert len({im["id"] for im in allinfo["images"]}) == 30
    inst = json.loads((rel / "instances_train_city_vps_rle.json").read_text())
    image_ids = {im["id"] for im in inst["images"]}
    assert {a["image_id"] for a in inst["annotations"]} <= image_ids
    # Caravans and trailers (no Cityscapes-VPS category) are never annotated.
    assert not any(a["inst_id"] // 1000 in (29, 30) for a in inst["annotations"])


def test_synthesize_result_describes_output(tmp_path: Path):
    res = synth.synthesize(tmp_path / "o", videos=3, size=(128, 64), seed=3, jobs=1)
    assert res.videos == {"train": [1], "val": [2], "test": [3]}
    assert res.frames == 90 and res.gtfine_frames == 3 and res.vps_labels == 10
    assert [p.name for p in res.paths] == ["leftImg8bit_sequence", "gtFine", "cityscapes_vps"]
    assert "3 (train 1, val 1, test 1)" in res.summary()
    validate_inputs(tmp_path / "o", require_features=False)


# ---------------------------------------------------------------------------------------------
# The validator can fail
# ---------------------------------------------------------------------------------------------
def _first(root: Path, pattern: str) -> Path:
    return sorted(root.rglob(pattern))[0]


def _rename_frame(root: Path) -> None:
    p = _first(root, "*_leftImg8bit.png")
    city, seq, frame = p.name.split("_")[:3]
    p.rename(p.with_name(f"{city}_{seq}_{int(frame) + 100:06d}_leftImg8bit.png"))


def _rgb_colour_file(root: Path) -> None:
    p = _first(root / "gtFine", "*_gtFine_color.png")
    Image.open(p).convert("RGB").save(p)


def _rgb_cls_file(root: Path) -> None:
    p = _first(root / "cityscapes_vps", "*_final_mask.png")
    Image.open(p).convert("RGB").save(p)


def _inconsistent_instance(root: Path) -> None:
    p = _first(root / "gtFine", "*_gtFine_instanceIds.png")
    arr = np.array(Image.open(p)).astype(np.uint16)
    arr[0, 0] = 26001 if arr[0, 0] != 26001 else 24001
    Image.frombuffer("I;16", arr.shape[::-1], arr.tobytes(), "raw", "I;16", 0, 1).save(p)


def _labelids_16bit(root: Path) -> None:
    p = _first(root / "gtFine", "*_gtFine_labelIds.png")
    arr = np.array(Image.open(p)).astype(np.uint16)
    Image.frombuffer("I;16", arr.shape[::-1], arr.tobytes(), "raw", "I;16", 0, 1).save(p)


def _missing_inst(root: Path) -> None:
    sorted((root / "cityscapes_vps" / "train" / "inst").iterdir())[0].unlink()


def _wrong_index(root: Path) -> None:
    p = root / "cityscapes_vps" / "panoptic_im_val_city_vps.json"
    obj = json.loads(p.read_text())
    im = obj["images"][0]
    iid = im["id"]
    bad = iid[:5] + f"{int(iid[5:9]) + 6:04d}" + iid[9:]
    im["id"], im["file_name"] = bad, im["file_name"].replace(iid, bad)
    p.write_text(json.dumps(obj))


def _shifted_rle(root: Path) -> None:
    p = root / "cityscapes_vps" / "instances_train_city_vps_rle.json"
    obj = json.loads(p.read_text())
    a = obj["annotations"][0]
    m = mask_utils.decode({"size": a["segmentation"]["size"],
                           "counts": a["segmentation"]["counts"].encode()})
    rle = mask_utils.encode(np.asfortranarray(np.roll(m, 1, axis=1)))
    a["segmentation"]["counts"] = rle["counts"].decode()
    p.write_text(json.dumps(obj))


def _moved_polygon(root: Path) -> None:
    p = _first(root / "gtFine", "*_gtFine_polygons.json")
    poly = json.loads(p.read_text())
    road = next(o for o in poly["objects"] if o["label"] == "road")
    road["polygon"] = [[x + 8, y] for x, y in road["polygon"]]
    p.write_text(json.dumps(poly))


def _categories_changed(root: Path) -> None:
    p = root / "cityscapes_vps" / "im_all_info_val_city_vps.json"
    obj = json.loads(p.read_text())
    obj["categories"][13]["color"] = [0, 0, 143]
    p.write_text(json.dumps(obj))


@pytest.mark.parametrize(("corrupt", "reason"), [
    (_rename_frame, "_leftImg8bit.png: missing"),
    (_rgb_colour_file, "_gtFine_color.png: PNG bit depth 8 colour type 2, expected rgba"),
    (_rgb_cls_file, "_final_mask.png: PNG bit depth 8 colour type 2, expected rgba"),
    (_inconsistent_instance, "_gtFine_instanceIds.png: an instance id disagrees with labelIds"),
    (_labelids_16bit, "_gtFine_labelIds.png: PNG bit depth 16 colour type 0, expected gray8"),
    (_missing_inst, "0 files, expected 1"),
    (_wrong_index, r"breaks \(video-1\)\*6 \+ j"),
    (_shifted_rle, "mask is not inst =="),
    (_categories_changed, "'categories' differ"),
    (_moved_polygon, "polygons do not rasterise to the labelIds image"),
])
def test_validator_rejects_a_corrupted_tree(tmp_path: Path, folder_out: Path, corrupt, reason):
    root = tmp_path / "copy"
    shutil.copytree(folder_out, root)
    corrupt(root)
    with pytest.raises(SpecViolation) as exc:
        validate_inputs(root)
    assert re.search(reason, exc.value.problems[0]), exc.value.problems[0]


def test_validator_requires_every_scene_feature(tmp_path: Path, folder_out: Path):
    # Turn every polegroup into a pole, consistently in all gtFine files: still SPEC-valid,
    # but the polegroup case is no longer exercised.
    root = tmp_path / "copy"
    shutil.copytree(folder_out, root)
    for p in sorted((root / "gtFine").rglob("*_gtFine_labelIds.png")):
        lab = np.array(Image.open(p))
        Image.fromarray(np.where(lab == 18, 17, lab).astype(np.uint8)).save(p)
        q = p.with_name(p.name.replace("labelIds.png", "instanceIds.png"))
        inst = np.array(Image.open(q)).astype(np.uint16)
        inst[inst == 18] = 17
        Image.frombuffer("I;16", inst.shape[::-1], inst.tobytes(), "raw", "I;16", 0, 1).save(q)
        j = p.with_name(p.name.replace("labelIds.png", "polygons.json"))
        poly = json.loads(j.read_text())
        for obj in poly["objects"]:
            obj["label"] = "pole" if obj["label"] == "polegroup" else obj["label"]
        j.write_text(json.dumps(poly))
    inv = validate_inputs(root, require_features=False)
    assert inv.features["polegroup"] == 0
    with pytest.raises(SpecViolation, match="polegroup"):
        validate_inputs(root)


# ---------------------------------------------------------------------------------------------
# Units: splits, instance annotations
# ---------------------------------------------------------------------------------------------
def test_split_assignment_golden():
    assert synth.split_assignment(1) == ["val"]
    assert synth.split_assignment(2) == ["train", "val"]
    assert synth.split_assignment(3) == ["train", "val", "test"]
    assert synth.split_assignment(6) == ["train", "val", "train", "test", "train", "train"]
    assert synth.split_assignment(12) == ["train"] * 4 + ["val"] + ["train"] * 3 + ["test"] + ["train"] * 3
    assert synth.split_counts(500) == {"train": 400, "val": 50, "test": 50}  # the real benchmark
    assert synth.split_counts(15) == {"train": 11, "val": 2, "test": 2}
    assert synth.split_counts(14) == {"train": 12, "val": 1, "test": 1}


def test_explicit_split_counts():
    # 8,2,2 is the 4:1:1 split of 12 videos that earlier versions made (and reference fixtures used)
    assert synth.split_assignment(12, {"train": 8, "val": 2, "test": 2}) == [
        "train", "val", "train", "test", "train", "train", "train", "val", "train", "train", "test", "train"]
    assert synth.split_assignment(3, {"val": 3}) == ["val"] * 3
    for bad, text in (({"train": 2, "val": 2}, "add up to 4, not to the 3 videos"),
                      ({"train": 2, "dev": 1}, "unknown split 'dev'"),
                      ({"train": 4, "val": -1}, "non-negative integers")):
        with pytest.raises(VpsError, match=text):
            synth.split_assignment(3, bad)


@given(st.integers(3, 600))
def test_split_assignment_8_1_1_and_interleaved(n):
    s = synth.split_assignment(n)
    counts = {k: s.count(k) for k in ("train", "val", "test")}
    assert counts == synth.split_counts(n)
    assert sum(counts.values()) == n and all(counts.values())
    assert abs(counts["val"] - n / 10) <= 0.5 or counts["val"] == 1
    assert counts["val"] == counts["test"]
    if n >= 6:
        train = [i for i, x in enumerate(s) if x == "train"]
        assert train[-1] - train[0] + 1 > len(train)  # not one contiguous range


@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))
def test_split_assignment_gives_the_counts_asked(train, val, test):
    n = train + val + test
    s = synth.split_assignment(n, {"train": train, "val": val, "test": test})
    assert (s.count("train"), s.count("val"), s.count("test")) == (train, val, test)


def test_plan_videos_distinct_snippets():
    plans = synth.plan_videos(12, seed=5)
    assert [p.video for p in plans] == list(range(1, 13))
    assert len({(p.city, p.seq) for p in plans}) == 12
    assert {p.city for p in plans} == {"frankfurt", "lindau", "munster"}
    iids = plans[4].image_ids()
    assert [i.index for i in iids] == list(range(25, 31))
    assert [i.frame - plans[4].first_frame for i in iids] == [4, 9, 14, 19, 24, 29]


CAR, PERSON, RIDER, BIKE = (0, 0, 142), (220, 20, 60), (255, 0, 0), (119, 11, 32)
ROAD, BLACK, CARAVAN = (128, 64, 128), (0, 0, 0), (0, 0, 90)


def test_instance_annotations_golden():
    inst = np.array([[7, 26000, 26000, 0],
                     [7, 26000, 25003, 25003],
                     [24, 24, 25003, 25003],
                     [29001, 26005, 26005, 0]], dtype=np.uint16)
    rgb = np.array([[ROAD, CAR, CAR, BLACK],
                    [ROAD, CAR, RIDER, BIKE],
                    [PERSON, PERSON, RIDER, BIKE],
                    [CARAVAN, BLACK, CAR, BLACK]], dtype=np.uint8)
    anns = synth.instance_annotations(rgb, inst)
    # 26000: car (k = 0). 25003: rider 2 vs bicycle 2, tie -> smaller packed colour
    # (rider 255 < bicycle 119 + 256*11 + 65536*32). 26005: black 1 vs car 1, tie -> black,
    # void, not annotated. 29001: caravan colour, not a category. 24: crowd, not an object.
    assert [(a["inst_id"], a["category_id"]) for a in anns] == [(25003, 12), (26000, 13)]
    rider, car = anns
    assert car["area"] == 3 and car["bbox"] == [1.0, 0.0, 2.0, 2.0]
    assert rider["area"] == 4 and rider["bbox"] == [2.0, 1.0, 2.0, 2.0]
    assert rider["iscrowd"] == 0 and isinstance(rider["segmentation"]["counts"], str)
    m = mask_utils.decode({"size": [4, 4], "counts": car["segmentation"]["counts"].encode()})
    assert m.tolist() == [[0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


PALETTE = [CAR, PERSON, RIDER, BIKE, ROAD, BLACK, CARAVAN]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_instance_annotations_match_obvious_masks(h, w, seed):
    rng = np.random.default_rng(seed)
    values = np.array([0, 24, 26000, 26001, 24005, 33000, 29000])
    inst = values[rng.integers(0, len(values), (h, w))].astype(np.uint16)
    rgb = np.array(PALETTE, dtype=np.uint8)[rng.integers(0, len(PALETTE), (h, w))]
    anns = synth.instance_annotations(rgb, inst)
    thing = {CAR: 13, PERSON: 11, RIDER: 12, BIKE: 18}
    expected = []
    for v in sorted(set(inst[inst >= 1000].tolist())):
        cat = thing.get(majority_color(rgb, inst == v))
        if cat is not None:
            expected.append((v, cat))
    assert [(a["inst_id"], a["category_id"]) for a in anns] == expected
    for a in anns:
        m = mask_utils.decode({"size": [h, w], "counts": a["segmentation"]["counts"].encode()})
        assert np.array_equal(m.astype(bool), inst == a["inst_id"])
        assert a["area"] == int((inst == a["inst_id"]).sum())


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def test_cli_help_explains_output(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("leftImg8bit_sequence", "gtFine", "cityscapes_vps", "--zip", "--size", "instanceIds"):
        assert word in text


def test_cli_bad_arguments(tmp_path: Path, capsys):
    assert main(["synth", str(tmp_path / "a"), "--videos", "0"]) == 2
    assert "videos: must be between 1 and 1666" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "a"), "--videos", "1667"]) == 2  # index 10002
    assert main(["synth", str(tmp_path / "b"), "--size", "16x16"]) == 2
    assert main(["synth", str(tmp_path / "b"), "--seed", "-1"]) == 2
    with pytest.raises(SystemExit):
        main(["synth", str(tmp_path / "c"), "--size", "big"])
    (tmp_path / "file").write_text("x")
    assert main(["synth", str(tmp_path / "file"), "--size", "64x32"]) == 2


def test_cli_prints_summary(tmp_path: Path, capsys):
    assert main(["synth", str(tmp_path / "s"), "--videos", "2", "--size", "64x32", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "videos: 2 (train 1, val 1, test 0)" in out and str(tmp_path / "s") in out


def test_cli_explicit_splits(tmp_path: Path, capsys):
    assert main(["synth", str(tmp_path / "s"), "--splits", "0,2,1", "--size", "64x32", "--jobs", "1"]) == 0
    release = tmp_path / "s" / "cityscapes_vps"

    def videos_of(split: str) -> list[str]:
        listed = json.loads((release / f"panoptic_im_{split}_city_vps.json").read_text())["images"]
        return sorted({im["file_name"][:4] for im in listed})

    assert [videos_of(s) for s in ("train", "val", "test")] == [[], ["0001", "0003"], ["0002"]]
    assert not (release / "train").exists() or not any((release / "train").rglob("*.png"))
    assert main(["synth", str(tmp_path / "t"), "--splits", "1,1,1", "--videos", "4"]) == 2
    assert "--splits: 3 videos in all, but --videos says 4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["synth", str(tmp_path / "t"), "--splits", "1,1"])
    assert not (tmp_path / "t").exists()


def test_frames_look_like_scenes(folder_out: Path):
    # Frame colours follow the labels: the sky region of a frame is blue-ish, the road purple-ish.
    name = sorted((folder_out / "gtFine").rglob("*_gtFine_labelIds.png"))[0]
    lab = np.array(Image.open(name))
    frame_name = name.name.replace("_gtFine_labelIds.png", "_leftImg8bit.png")
    frame = np.array(Image.open(io.BytesIO(_first(folder_out, frame_name).read_bytes())))
    sky = frame[lab == 23].astype(int).mean(axis=0)
    assert sky[2] > sky[0] + 40
    assert frame.std() > 20
