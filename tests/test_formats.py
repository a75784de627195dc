"""Each outside format by hand: a few 8x8 frames with known objects convert to the expected
segment ids, categories and areas (files written here with Pillow/numpy, not with the format
modules, so that a bug shared by a decoder and its encoder cannot hide)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convertcases import read_prediction, tiny_root
from vpskit import naming, pngio
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.formats import VideoTracks, cat_ins, divisor, kitti_step, two_channel

ROAD, SKY, PERSON, CAR, VOID = 0, 10, 11, 13, 255

# (category, instance, rows, columns, first frame): drawn in this order, later on top.
# Video 1: car 5 from frame 0, person 2 from frame 1, car 7 from frame 2, a car crowd region.
# Video 2: cars 9 and 7 both new in frame 0 (numbered by increasing instance), car 5 from frame 3.
SCENES = {
    1: [(CAR, 5, (3, 5), "moving", 0), (PERSON, 2, (6, 8), (0, 2), 1), (CAR, 7, (6, 8), (5, 8), 2),
        (CAR, 0, (2, 3), (6, 8), 0)],
    2: [(CAR, 9, (3, 5), "moving", 0), (CAR, 7, (6, 8), (0, 2), 0), (CAR, 5, (6, 8), (5, 8), 3)],
}
# Expected segment id of each (video, category, instance): c + 1 + 256·k, k per category and video.
EXPECTED = {(1, CAR, 5): 14 + 256, (1, PERSON, 2): 12 + 256, (1, CAR, 7): 14 + 512, (1, CAR, 0): 14,
            (2, CAR, 7): 14 + 256, (2, CAR, 9): 14 + 512, (2, CAR, 5): 14 + 768}


def scene(video: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category, instance and expected segment-id maps of frame ``t`` of ``video``."""
    cat = np.full((8, 8), ROAD, np.int64)
    inst = np.zeros((8, 8), np.int64)
    ids = np.full((8, 8), ROAD + 1, np.int64)
    cat[0:2], ids[0:2] = SKY, SKY + 1
    cat[0, 0:2], ids[0, 0:2] = VOID, 0
    for c, i, rows, cols, first in SCENES[video]:
        if t < first:
            continue
        cols = (t % 4, t % 4 + 3) if cols == "moving" else cols
        region = (slice(*rows), slice(*cols))
        cat[region], inst[region], ids[region] = c, i, EXPECTED[(video, c, i)]
    return cat, inst, ids


def expected_segments(ids: np.ndarray) -> list[dict]:
    values, counts = np.unique(ids, return_counts=True)
    return [{"id": int(v), "category_id": int(v % 256) - 1, "iscrowd": int(v == CAR + 1), "area": int(n)}
            for v, n in zip(values, counts, strict=True) if v]


def _png(arr: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    if mode == "I;16":
        Image.frombytes("I;16", (arr.shape[1], arr.shape[0]), arr.astype("<u2").tobytes()).save(buf, "PNG")
    else:
        Image.fromarray(arr.astype(np.uint8), mode).save(buf, "PNG")
    return buf.getvalue()


def _check(out: Path, ids: list[naming.ImageId], expected_ids: dict[str, np.ndarray] | None = None) -> None:
    infos, got = read_prediction(out)
    assert sorted(infos) == sorted(str(i) for i in ids)
    for iid in ids:
        want = expected_ids[str(iid)] if expected_ids else scene(iid.video, iid.position)[2]
        assert np.array_equal(got[str(iid)], want), iid
        assert infos[str(iid)] == expected_segments(want), iid


def _convert(src: Path, out: Path, root: Path, fmt: str, *extra: str) -> str:
    assert main(["convert", str(src), str(out), "--from", fmt, "--root", str(root), "--split", "val",
                 "--jobs", "1", *extra]) == 0
    return str(out)


def test_cat_ins_by_image_id(tmp_path, capsys):
    ids = tiny_root(tmp_path / "root")
    src = tmp_path / "src"
    src.mkdir()
    for iid in ids:
        cat, inst, _ = scene(iid.video, iid.position)
        (src / f"{iid}_cat.png").write_bytes(_png(cat, "L"))  # 8-bit categories
        (src / f"{iid}_ins.png").write_bytes(_png(inst, "I;16"))  # 16-bit instances
    (src / "README.txt").write_text("other endings are ignored")
    _convert(src, tmp_path / "out", tmp_path / "root", "cat-ins")
    _check(tmp_path / "out", ids)
    assert "12 frames of 2 videos" in capsys.readouterr().out


def test_2ch_by_raw_name_skips_frames_that_are_not_annotated(tmp_path, capsys):
    ids = tiny_root(tmp_path / "root")
    src = tmp_path / "src" / "frankfurt"
    src.mkdir(parents=True)
    for iid in ids:
        cat, inst, _ = scene(iid.video, iid.position)
        rgb = np.stack([cat, np.full_like(cat, 99), inst], axis=-1)  # instance in channel 2
        (src / f"{iid.key}_leftImg8bit.png").write_bytes(_png(rgb, "RGB"))
    for frame in (0, 1, 2):  # frames of the snippet that carry no annotation
        (src / f"frankfurt_000001_{frame:06d}_leftImg8bit.png").write_bytes(_png(np.zeros((8, 8, 3)), "RGB"))
    _convert(tmp_path / "src", tmp_path / "out", tmp_path / "root", "2ch", "--instance-channel", "2")
    _check(tmp_path / "out", ids)
    assert "skipped 3 frames that are not annotated in val" in capsys.readouterr().out


def test_divisor_by_video_folders_npy_and_32_bit_png(tmp_path):
    ids = tiny_root(tmp_path / "root")
    src = tmp_path / "src"
    for iid in ids:
        cat, inst, _ = scene(iid.video, iid.position)
        values = cat * 1000 + inst
        folder = src / f"{iid.video:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        offset = naming.ANNOTATED_OFFSETS[iid.position]
        if iid.video == 1:
            np.save(folder / f"{offset:06d}.npy", values.astype(np.int32))
        else:  # RGBA packing the 32-bit value, little end first
            rgba = values.astype("<u4").view(np.uint8).reshape(8, 8, 4)
            (folder / f"{offset}_panoptic.png").write_bytes(_png(rgba, "RGBA"))
    _convert(src, tmp_path / "out", tmp_path / "root", "divisor")
    _check(tmp_path / "out", ids)


def test_kitti_step_from_a_zip(tmp_path):
    ids = tiny_root(tmp_path / "root")
    src = tmp_path / "kitti.zip"
    with zipfile.ZipFile(src, "w") as zf:
        for iid in ids:
            cat, inst, _ = scene(iid.video, iid.position)
            wide = inst * 257  # instance ids past 255 (order kept): G = B = instance
            rgb = np.stack([cat, wide >> 8, wide & 0xFF], axis=-1)
            zf.writestr(f"predictions/{iid}.png", _png(rgb, "RGB"))
    _convert(src, tmp_path / "out", tmp_path / "root", "kitti-step")
    _check(tmp_path / "out", ids)


def test_coco_panoptic_links_only_tracked_segments(tmp_path):
    ids = tiny_root(tmp_path / "root")
    src = tmp_path / "src"
    (src / "preds").mkdir(parents=True)
    anns, expected = [], {}
    for n, iid in enumerate(ids):
        cat, inst, want = scene(iid.video, iid.position)
        seg = np.zeros((8, 8), np.int64)
        info = []
        # ids change from frame to frame; stuff gets two segments of one category
        keys = sorted({(int(c), int(i)) for c, i in zip(cat.ravel(), inst.ravel(), strict=True) if c != VOID})
        for k, (c, i) in enumerate(keys):
            sid = 1000 * (n + 1) + 10 * k + 1
            seg[(cat == c) & (inst == i)] = sid
            rec = {"id": sid, "category_id": c, "iscrowd": int(c == CAR and i == 0)}
            if c == PERSON:
                pass  # no track key: the person is an object of its frame only
            elif c == CAR and i:
                rec["track_id" if i != 7 else "instance_id"] = i
            info.append(rec)
        seg[0, 2:] = 1000 * (n + 1) + 999  # sky split in two segments
        info.append({"id": 1000 * (n + 1) + 999, "category_id": SKY, "iscrowd": 0})
        (src / "preds" / f"{iid.key}_leftImg8bit.png").write_bytes(_png(pngio.id2rgb(seg), "RGB"))
        anns.append({"image_id": n, "file_name": f"{iid.key}_leftImg8bit.png", "segments_info": info})
        # the person, untracked, is a new object (k = 1, 2, …) in each frame it is in
        expected[str(iid)] = np.where(want == PERSON + 1 + 256, PERSON + 1 + 256 * iid.position, want)
    (src / "preds.json").write_text(json.dumps({"annotations": anns[::-1], "categories": []}))
    _convert(src, tmp_path / "out", tmp_path / "root", "coco-panoptic")
    _check(tmp_path / "out", ids, expected)


def test_labelid_numbering_and_thing_zero_object(tmp_path):
    ids = tiny_root(tmp_path / "root", videos=1)
    src = tmp_path / "src"
    src.mkdir()
    label_of = {ROAD: 7, SKY: 23, PERSON: 24, CAR: 26, VOID: 0}
    for iid in ids:
        cat, inst, _ = scene(iid.video, iid.position)
        labels = np.vectorize(label_of.get)(cat)
        labels[7, 7] = 4  # 'static': a Cityscapes label that is no category, so void
        rgb = np.stack([labels, inst >> 8, inst & 0xFF], axis=-1)
        (src / f"{iid}.png").write_bytes(_png(rgb, "RGB"))
    _convert(src, tmp_path / "out", tmp_path / "root", "kitti-step", "--categories", "labelid", "--thing-zero", "object")
    infos, got = read_prediction(tmp_path / "out")
    first = got[str(ids[0])]
    assert first[7, 7] == 0
    # instance 0 of a car is now an object, numbered before car 5 (by increasing instance)
    assert first[2, 7] == CAR + 1 + 256 and first[3, 0] == CAR + 1 + 256 * 2
    assert {s["iscrowd"] for a in infos.values() for s in a} == {0}


def test_video_tracks_in_memory_matches_the_command(tmp_path):
    """What a training loop does without files: the same PNG bytes and records as convert."""
    ids = tiny_root(tmp_path / "root", videos=1)
    src = tmp_path / "src"
    src.mkdir()
    tracks = VideoTracks()
    frames = {}
    for iid in ids:
        cat, inst, _ = scene(iid.video, iid.position)
        (src / f"{iid}_cat.png").write_bytes(_png(cat, "L"))
        (src / f"{iid}_ins.png").write_bytes(_png(inst, "I;16"))
        frames[str(iid)] = tracks.frame(cat, inst)
    _convert(src, tmp_path / "out", tmp_path / "root", "cat-ins")
    infos, _ = read_prediction(tmp_path / "out")
    for image_id, frame in frames.items():
        assert frame.png() == (tmp_path / "out" / "pan_pred" / f"{image_id}.png").read_bytes()
        assert frame.segments_info == infos[image_id]
        assert np.array_equal(pngio.rgb2id(frame.rgb), frame.ids)
    assert tracks.tracks == {(CAR, 5): 270, (PERSON, 2): 268, (CAR, 7): 526}


def test_video_tracks_refuses_what_ids_cannot_hold():
    tracks = VideoTracks(thing_zero="object")
    cat = np.full((256, 256), CAR)
    inst = np.arange(256 * 256).reshape(256, 256)
    with pytest.raises(VpsError, match="more than 65535 objects of car in one video"):
        tracks.frame(cat, inst, "f")
    with pytest.raises(VpsError, match="unknown category value 19"):
        VideoTracks().frame(np.full((2, 2), 19), None, "f")
    with pytest.raises(VpsError, match="not integers"):
        VideoTracks().frame(np.zeros((2, 2)), None, "f")
    with pytest.raises(VpsError, match="instance id -1"):
        VideoTracks().frame(np.full((2, 2), CAR), np.full((2, 2), -1), "f")


@pytest.mark.parametrize(("module", "args", "limit"), [
    (cat_ins, (), "instance id 65536 is past what the format holds"),
    (two_channel, (1,), "instance id 256 is past what the format holds"),
    (kitti_step, (), "instance id 65536 is past what the format holds"),
    (divisor, (1000,), "instance id 1000 is past what the format holds"),
])
def test_encoders_round_trip_and_refuse_what_they_cannot_hold(module, args, limit):
    cat, inst, _ = scene(2, 4)
    encoded = module.encode(cat, inst, *args)
    parts = encoded if isinstance(encoded, tuple) else (encoded,)
    got_cat, got_inst = module.decode(*parts, *args)
    assert np.array_equal(got_cat, cat) and np.array_equal(got_inst, inst)
    big = {cat_ins: 65536, two_channel: 256, kitti_step: 65536, divisor: 1000}[module]
    with pytest.raises(VpsError, match=limit):
        module.encode(cat, np.full_like(inst, big), *args, where="f")


@pytest.mark.parametrize(("stem", "frame"), [
    ("0005_0025_frankfurt_000000_001736_cat", "0005_0025_frankfurt_000000_001736"),
    ("deep/er/0005_0025_frankfurt_000000_001736", "0005_0025_frankfurt_000000_001736"),
    ("frankfurt_000000_001736_leftImg8bit", "frankfurt_000000_001736"),
    ("0003/frankfurt_000000_001736-pred", "frankfurt_000000_001736"),  # the name wins over the folder
    ("0003/000019", "video 3 frame 19"),
    ("val/7/4_panoptic", "video 7 frame 4"),
])
def test_output_names(stem, frame):
    assert str(naming.parse_output_name(stem)) == frame


@pytest.mark.parametrize(("stem", "problem"), [
    ("0003/000030", "a snippet has frames 0 … 29"),
    ("preds/000004", "names no frame"),
    ("0005_0031_frankfurt_000000_001736", "does not belong to video 5"),
    ("frankfurt_0000_001736", "names no frame"),
])
def test_output_names_refused(stem, problem):
    with pytest.raises(VpsError, match=problem):
        naming.parse_output_name(stem)


def test_coco_panoptic_bad_input(tmp_path, capsys):
    ids = tiny_root(tmp_path / "root", videos=1)
    src = tmp_path / "src"
    src.mkdir()
    anns = []
    for iid in ids:
        seg = np.full((8, 8), 3, np.int64)
        seg[0, 0] = 4
        (src / f"{iid}.png").write_bytes(_png(pngio.id2rgb(seg), "RGB"))
        anns.append({"image_id": str(iid), "file_name": f"{iid}.png",
                     "segments_info": [{"id": 3, "category_id": ROAD}]})
    (src / "p.json").write_text(json.dumps({"annotations": anns}))
    args = ["convert", str(src), str(tmp_path / "out"), "--from", "coco-panoptic", "--root", str(tmp_path / "root")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"vpskit: error: {src / f'{ids[0]}.png'}: segment id 4 of the PNG is not in its "
                   f"segments_info ({src / 'p.json'}: annotations[0])\n")
    anns[1] = dict(anns[0])
    (src / "p.json").write_text(json.dumps({"annotations": anns}))
    assert main(args) == 2
    assert "two annotations for frame" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
