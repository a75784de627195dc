"""End-to-end evaluation: `vpskit eval` and `vpskit.evaluation.evaluate` on small generated splits."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from vpskit import naming, pngio
from vpskit.categories import categories_json, pack_color
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate, evaluate_videos
from vpskit.perturbation import write_noisy_prediction

H, W = 16, 32
ROAD, SIDEWALK, CAR, PERSON = 0, 1, 13, 11
ROAD_ID, SIDE_ID = pack_color((128, 64, 128)), pack_color((244, 35, 232))


def write_split(root: Path, videos=(1, 2), frames=naming.ANNOTATED_PER_VIDEO, seed=0) -> None:
    """A small prepared split under ``root``: sky-free street with two moving cars and a crowd."""
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    gt_dir = root / "val" / "panoptic_video"
    for v in videos:
        car_ids = [pack_color((10 + v, 0, 142)), pack_color((20 + v, 0, 142))]
        person_crowd = pack_color((220, 20 + v, 60))
        for j in range(frames):
            iid = naming.make_image_id(v, j, naming.FrameKey("frankfurt", v, naming.ANNOTATED_OFFSETS[j]))
            ids = np.full((H, W), ROAD_ID, np.uint32)
            ids[: H // 2] = SIDE_ID
            x = 2 + 3 * j + int(rng.integers(0, 2))
            ids[4:10, x:x + 6] = car_ids[0]
            ids[9:14, 20:26 - j % 2] = car_ids[1]
            ids[0:3, 26:31] = person_crowd
            ids[14:, :3] = 0  # void
            segs = []
            for sid, cat, crowd in ((SIDE_ID, SIDEWALK, 0), (ROAD_ID, ROAD, 0), (car_ids[0], CAR, 0),
                                    (car_ids[1], CAR, 0), (person_crowd, PERSON, 1)):
                segs.append({"id": int(sid), "category_id": cat, "iscrowd": crowd,
                             "area": int(np.count_nonzero(ids == sid))})
            name = naming.cls_file(iid)
            pngio.write_png(gt_dir / name, pngio.id2rgb(ids))
            images.append({"id": str(iid), "file_name": naming.image_file(iid), "width": W, "height": H})
            annotations.append({"image_id": str(iid), "file_name": name, "segments_info": segs})
    gt = {"images": images, "annotations": annotations, "categories": categories_json()}
    (root / naming.panoptic_gt_json("val")).write_text(json.dumps(gt))


def gt_args(root: Path) -> list[str]:
    return ["--gt-json", str(root / naming.panoptic_gt_json("val")), "--gt-dir", str(root / "val" / "panoptic_video")]


def write_perfect(root: Path, pred: Path, *, keyed: str = "image_id") -> None:
    """The GT copied as a prediction (crowd regions become ordinary segments)."""
    gt = json.loads((root / naming.panoptic_gt_json("val")).read_text())
    anns = []
    for ann in gt["annotations"]:
        shutil.copy(root / "val" / "panoptic_video" / ann["file_name"],
                    _mkdir(pred / "pan_pred") / naming.pan_pred_file(ann["image_id"]))
        a = {"segments_info": [{"id": s["id"], "category_id": s["category_id"]} for s in ann["segments_info"]]}
        if keyed == "image_id":
            a["image_id"] = ann["image_id"]
        elif keyed == "file_name":
            a["file_name"] = naming.pan_pred_file(ann["image_id"])
        anns.append(a)
    (pred / "pred.json").write_text(json.dumps({"annotations": anns}))


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


@pytest.fixture()
def split(tmp_path) -> Path:
    root = tmp_path / "cityscapes_vps"
    write_split(root)
    return root


def scores(res: dict) -> dict:
    """The metric part of a results dict (without what describes the evaluation)."""
    return {k: v for k, v in res.items() if k in ("vpq", "stq")}


def all_ones(res: dict) -> bool:
    vpq = res["vpq"]
    ok = all(vpq[k][g][m] == 1.0 for k in ("0", "5", "10", "15", "final") for g in ("all", "things", "stuff")
             for m in ("pq", "sq", "rq"))
    s = res["stq"]
    return ok and s["stq"] == s["aq"] == s["iou"] == 1.0


def test_cli_perfect_prediction_scores_one_and_writes_reports(split, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_perfect(split, pred)
    assert main(["eval", str(pred), *gt_args(split)]) == 0
    out = capsys.readouterr().out
    assert "VPQ" in out and "STQ" in out and "100.0" in out
    res = json.loads((pred / "results.json").read_text())
    assert all_ones(res)
    # road, sidewalk, car; person has only a crowd region, and the person predicted on it is ignored
    assert res["vpq"]["0"]["all"]["n"] == 3
    assert sorted(res["stq"]["per_sequence"]) == ["0001", "0002"]
    assert (pred / "vpq-final.txt").read_text() == "vpq_all:100.0000\nvpq_thing:100.0000\nvpq_stuff:100.0000\n"
    text = (pred / "vpq-5.txt").read_text().splitlines()
    assert text[:6] == [
        "=" * 48,
        "          |    PQ     SQ     RQ    N",
        "-" * 38,
        "All       | 100.0  100.0  100.0     3",
        "Things    | 100.0  100.0  100.0     1",
        "Stuff     | 100.0  100.0  100.0     2",
    ]
    assert text[6] == "IDX |    PQ    SQ    RQ    IoU      TP      FP      FN"
    # road: 5 windows per video x 2 videos, IoU sum 10
    assert text[7] == "   0 | 100.0 100.0 100.0   10.0      10       0       0"
    assert text[7 + 13] == "  13 | 100.0 100.0 100.0   20.0      20       0       0"
    assert text[7 + 2] == "   2 |   0.0   0.0   0.0    0.0       0       0       0"
    assert text[7 + 11] == "  11 |   0.0   0.0   0.0    0.0       0       0       0"
    assert len(text) == 7 + 19


def test_root_and_split_and_out(split, tmp_path):
    pred = tmp_path / "pred"
    write_perfect(split, pred)
    out = tmp_path / "reports"
    assert main(["eval", str(pred), "--root", str(split), "--split", "val", "--out", str(out),
                 "--metrics", "vpq"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res) == ["vpskit", "evaluation", "conventions", "vpq"] and (out / "vpq-15.txt").is_file()
    assert not (pred / "results.json").exists()


def test_a_png_missing_from_a_zip_or_submission_is_named_inside_it(split, tmp_path):
    pred = tmp_path / "pred"
    write_perfect(split, pred)
    pngs = sorted((pred / "pan_pred").iterdir())
    gone = pngs[3].name
    z = tmp_path / "pred.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(pred / "pred.json", "run1/pred.json")
        for f in pngs:
            if f.name != gone:
                zf.write(f, "run1/pan_pred/" + f.name)
    with pytest.raises(VpsError) as err:
        evaluate(z, root=split, jobs=1)
    assert str(err.value) == f"{z}:run1/pan_pred/{gone}: missing: no prediction PNG for this frame"
    inner = tmp_path / "pan_pred.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        for f in pngs:
            if f.name != gone:
                zf.write(f, "preds/" + f.name)
    sub = tmp_path / "submission.zip"
    with zipfile.ZipFile(sub, "w") as zf:
        zf.write(pred / "pred.json", "pred.json")
        zf.write(inner, "pan_pred.zip")
    with pytest.raises(VpsError) as err:
        evaluate(sub, root=split, jobs=1)
    assert str(err.value) == (f"{sub}:pan_pred.zip:preds/{gone}: "
                              "missing: no prediction PNG for this frame")


def test_ground_truth_from_a_zip_of_the_prepared_folder(split, tmp_path):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    ref = scores(evaluate(pred, root=split, jobs=1))
    z = tmp_path / "gt.zip"
    members = sorted(f for f in split.rglob("*") if f.is_file())
    with zipfile.ZipFile(z, "w") as zf:
        for f in members:
            zf.write(f, "shared/cityscapes_vps/" + f.relative_to(split).as_posix())
    assert scores(evaluate(pred, root=z, jobs=1)) == ref
    assert main(["eval", str(pred), "--root", str(z), "--jobs", "2", "--out", str(tmp_path / "r")]) == 0
    assert scores(json.loads((tmp_path / "r" / "results.json").read_text())) == ref
    gone = next(f for f in members if f.suffix == ".png")
    with zipfile.ZipFile(z, "w") as zf:
        for f in members:
            if f != gone:
                zf.write(f, f.relative_to(split).as_posix())
    with pytest.raises(VpsError) as err:
        evaluate(pred, root=z, jobs=1)
    assert str(err.value) == f"{z}:{gone.relative_to(split).as_posix()}: ground-truth PNG not found"
    with pytest.raises(VpsError, match="no panoptic_gt_train_city_vps.json inside the zip"):
        evaluate(pred, root=z, split="train")
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(split / naming.panoptic_gt_json("val"), naming.panoptic_gt_json("val"))
    with pytest.raises(VpsError, match="no val/panoptic_video/ folder inside the zip"):
        evaluate(pred, root=z)


def test_zip_and_submission_and_matching_modes_agree(split, tmp_path):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred, seed=3)
    ref = scores(evaluate(pred, root=split))
    assert 0 < ref["vpq"]["final"]["all"]["pq"] < 1 and 0 < ref["stq"]["stq"] < 1
    # a zip of the folder (one level down)
    z = tmp_path / "pred.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(pred.rglob("*")):
            if f.is_file():
                zf.write(f, "model_out/" + f.relative_to(pred).as_posix())
    assert scores(evaluate(z, root=split)) == ref
    # a test-server submission: pred.json + pan_pred.zip
    inner = tmp_path / "pan_pred.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        for f in sorted((pred / "pan_pred").iterdir()):
            zf.write(f, "pan_pred/" + f.name)
    sub = tmp_path / "submission.zip"
    with zipfile.ZipFile(sub, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(pred / "pred.json", "pred.json")
        zf.write(inner, "pan_pred.zip")
    assert scores(evaluate(sub, root=split)) == ref
    assert main(["eval", str(sub), "--root", str(split), "--jobs", "1"]) == 0
    # by default in a folder named after the zip, beside it
    assert scores(json.loads((tmp_path / "submission-reports" / "results.json").read_text())) == ref
    # annotations by position (no image_id, no file_name) and by file_name only
    data = json.loads((pred / "pred.json").read_text())
    for mode in ("position", "file_name"):
        anns = []
        for a in data["annotations"]:
            b = {"segments_info": a["segments_info"]}
            if mode == "file_name":
                b["file_name"] = a["file_name"]
            anns.append(b)
        if mode == "file_name":
            anns.reverse()
        (pred / "pred.json").write_text(json.dumps({"annotations": anns}))
        assert scores(evaluate(pred, root=split)) == ref, mode


def test_jobs_and_video_split_give_identical_results(split, tmp_path):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    one = evaluate(pred, root=split, jobs=1)
    assert evaluate(pred, root=split, jobs=2) == one
    v1, s1 = evaluate_videos(pred, root=split, videos=["0001"], jobs=1)
    v2, s2 = evaluate_videos(pred, root=split, videos=["0002"], jobs=1)
    assert {"vpq": v2.merge(v1).result(), "stq": s2.merge(s1).result()} == scores(one)


def test_some_videos_only_need_predictions_for_those(split, tmp_path):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    vpq, stq = evaluate_videos(pred, root=split, videos=["0002"], jobs=1)
    want = {"vpq": vpq.result(), "stq": stq.result()}
    assert list(want["stq"]["per_sequence"]) == ["0002"]
    # the frames of video 1 gone from the prediction: keyed annotations, then by position
    data = json.loads((pred / "pred.json").read_text())
    for a in data["annotations"]:
        if a["image_id"].startswith("0001"):
            (pred / "pan_pred" / naming.pan_pred_file(a["image_id"])).unlink()
    kept = [a for a in data["annotations"] if a["image_id"].startswith("0002")]
    (pred / "pred.json").write_text(json.dumps({"annotations": kept}))
    for videos in (["0002"], [2], "2", 2, [range(2, 5)]):
        assert scores(evaluate(pred, root=split, videos=videos, jobs=1)) == want
    with pytest.raises(VpsError, match="missing frame: no annotation for image 0001_"):
        evaluate(pred, root=split, jobs=1)
    (pred / "pred.json").write_text(json.dumps({"annotations": [{"segments_info": a["segments_info"]}
                                                                for a in kept]}))
    assert scores(evaluate(pred, root=split, videos=[2], jobs=1)) == want
    assert main(["eval", str(pred), "--root", str(split), "--videos", "2-2", "--out", str(tmp_path / "r")]) == 0
    assert scores(json.loads((tmp_path / "r" / "results.json").read_text())) == want
    with pytest.raises(VpsError, match="videos: not in the ground truth: 0003; the ground truth has "
                       "2 videos: 1-2$"):
        evaluate(pred, root=split, videos=[2, 3])
    with pytest.raises(VpsError, match="videos: no video in 3-2000000000; the ground truth has 2 videos: 1-2$"):
        evaluate(pred, root=split, videos=[range(3, 2_000_000_001)])
    with pytest.raises(VpsError, match="6 annotations without image_id or file_name, but the split "
                       r"has 12 frames \(matching by position"):
        evaluate(pred, root=split, videos=[1, 2])
    # by position over the whole ground truth, scored on one video
    full = tmp_path / "full"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", full)
    data = json.loads((full / "pred.json").read_text())
    (full / "pred.json").write_text(json.dumps({"annotations": [{"segments_info": a["segments_info"]}
                                                                for a in data["annotations"]]}))
    assert scores(evaluate(full, root=split, videos=[2], jobs=1)) == want
    with pytest.raises(VpsError, match=r"5 annotations .* has 12 frames \(6 in the videos asked for\)"):
        (full / "pred.json").write_text(json.dumps({"annotations": [{"segments_info": a["segments_info"]}
                                                                    for a in data["annotations"][:5]]}))
        evaluate(full, root=split, videos=[2], jobs=1)


def test_video_list_argument():
    from vpskit.cli.evaluate import video_list

    assert video_list("3, 1-2,2,10-12") == [3, range(1, 3), 2, range(10, 13)]
    assert video_list("1-2000000000") == [range(1, 2_000_000_001)]  # never expanded
    for bad in ("", "a", "0", "5-3", "1-", "-2"):
        with pytest.raises(argparse.ArgumentTypeError):
            video_list(bad)


def test_noisy_prediction_is_deterministic_and_imperfect(split, tmp_path):
    gt_json, gt_dir = split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video"
    a = write_noisy_prediction(gt_json, gt_dir, tmp_path / "a", seed=1)
    b = write_noisy_prediction(gt_json, gt_dir, tmp_path / "b", seed=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len(files) == 14 and Path("perturb.json") in files and Path("pred.json") in files  # + 12 PNGs
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    c = write_noisy_prediction(gt_json, gt_dir, tmp_path / "c", seed=2)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files)
    res = evaluate(a, root=split)
    totals = {m: sum(res["vpq"][k]["per_class"][c][m] for k in ("0", "5", "10", "15")
                     for c in res["vpq"][k]["per_class"]) for m in ("tp", "fp", "fn")}
    assert min(totals.values()) > 0
    assert res["vpq"]["final"]["all"]["pq"] < 1.0


# --------------------------------------------------------------------------- bad predictions


def _edit_png(pred: Path, image_id: str, fn) -> None:
    path = pred / "pan_pred" / naming.pan_pred_file(image_id)
    ids = pngio.rgb2id(pngio.read_png(path))
    pngio.write_png(path, pngio.id2rgb(fn(ids)))


def _edit_json(pred: Path, fn) -> None:
    data = json.loads((pred / "pred.json").read_text())
    fn(data["annotations"])
    (pred / "pred.json").write_text(json.dumps(data))


def _first(split: Path) -> tuple[str, int]:
    ann = json.loads((split / naming.panoptic_gt_json("val")).read_text())["annotations"][0]
    return ann["image_id"], ann["segments_info"][2]["id"]


def _paint_new_id(ids):
    ids = ids.copy()
    ids[0, 0] = 4242
    return ids


def _remove_segment(ids, sid):
    ids = ids.copy()
    ids[ids == sid] = 0
    return ids


BAD = {
    "png id not in json": (lambda p, iid, sid: _edit_png(p, iid, _paint_new_id),
                           r"pan_pred/{iid}\.png: segment id 4242 \(RGB 146,16,0\) is in the PNG but not in .*pred\.json"),
    "json segment not in png": (lambda p, iid, sid: _edit_png(p, iid, lambda ids: _remove_segment(ids, sid)),
                                r"pred\.json: {iid}: segment id {sid} .* is in segments_info but not in the PNG"),
    "unknown category": (lambda p, iid, sid: _edit_json(p, lambda a: a[0]["segments_info"][2].update(category_id=77)),
                         r"pred\.json: {iid}: segment id {sid} has unknown category_id 77"),
    "missing png": (lambda p, iid, sid: (p / "pan_pred" / naming.pan_pred_file(iid)).unlink(),
                    r"pan_pred/{iid}\.png: missing"),
    "missing annotation": (lambda p, iid, sid: _edit_json(p, lambda a: a.pop(0)),
                           r"pred\.json: missing frame: no annotation for image {iid}"),
    "size mismatch": (lambda p, iid, sid: _edit_png(p, iid, lambda ids: ids[:, :-1]),
                      r"pan_pred/{iid}\.png: size 31x16 differs from the ground truth's 32x16"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_prediction_is_one_line_and_exit_2(case, split, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_perfect(split, pred)
    iid, sid = _first(split)
    edit, pattern = BAD[case]
    edit(pred, iid, sid)
    assert main(["eval", str(pred), *gt_args(split), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(pattern.format(iid=iid, sid=sid), lines[0]), lines[0]


def test_bad_prediction_reported_from_a_worker_process(split, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_perfect(split, pred)
    iid, sid = _first(split)
    _edit_png(pred, iid, _paint_new_id)
    assert main(["eval", str(pred), *gt_args(split), "--jobs", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "segment id 4242" in err[0]


def test_missing_ground_truth_arguments(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    assert "give --root" in capsys.readouterr().err


# --------------------------------------------------------------------------- decoding


def test_each_png_is_decoded_once(split, tmp_path, monkeypatch):
    from vpskit.evaluation import loading

    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    calls: list[str] = []
    real = loading.decode_ids_raw

    def counting(data, where, *buffer):
        calls.append(str(where))
        return real(data, where, *buffer)

    monkeypatch.setattr(loading, "decode_ids_raw", counting)
    evaluate(pred, root=split, jobs=1)
    assert len(calls) == len(set(calls)) == 2 * 2 * naming.ANNOTATED_PER_VIDEO


@pytest.mark.parametrize("reader", ["read_plain", "read_spng", "read_pillow"])
def test_decoded_ids_equal_rgb2id(reader, tmp_path, monkeypatch):
    from vpskit import pngcodec
    from vpskit.evaluation import loading

    if reader == "read_spng":
        pytest.importorskip("pyspng")
    # this reader first (it must take every PNG below), Pillow for what it leaves
    monkeypatch.setattr(pngcodec, "READERS", (getattr(pngcodec, reader), pngcodec.read_pillow))
    rng = np.random.default_rng(7)
    for h, w in ((1, 1), (3, 5), (17, 33)):
        ids = rng.integers(0, 2**24, size=(h, w)).astype(np.uint32)
        rgb = pngio.id2rgb(ids)
        data = pngio.encode_png(rgb)
        np.testing.assert_array_equal(pngio.decode_ids(data, "x"), ids)
        strips = [strip.copy() for strip in loading.decode_ids_raw(data, "x")]
        np.testing.assert_array_equal(np.concatenate(strips) & 0xFFFFFF, ids)
        rgba = np.concatenate([rgb, rng.integers(0, 256, size=(h, w, 1), dtype=np.uint8)], axis=2)
        np.testing.assert_array_equal(pngio.decode_ids(pngio.encode_png(rgba), "x"), ids)
    with pytest.raises(Exception, match="expected an RGB panoptic PNG"):
        pngio.decode_ids(pngio.encode_png(np.zeros((2, 2), np.uint8)), "gray.png")
    with pytest.raises(Exception, match="corrupt or truncated"):
        pngio.decode_ids(data[: len(data) // 2], "cut.png")
    with pytest.raises(Exception, match="corrupt or truncated"):
        list(loading.decode_ids_raw(data[: len(data) // 2], "cut.png"))


def test_palette_panoptic_pngs_decode_to_their_colours_and_16_bit_ones_are_refused():
    from PIL import Image

    from vpskit.evaluation import loading

    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, size=(5, 3), dtype=np.uint8)
    index = rng.integers(0, 5, size=(6, 9)).astype(np.uint8)
    img = Image.fromarray(index, "P")
    img.putpalette(colours.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, "PNG")
    np.testing.assert_array_equal(pngio.decode_ids(buf.getvalue(), "p.png"), pngio.rgb2id(colours[index]))
    strips = [strip.copy() for strip in loading.decode_ids_raw(buf.getvalue(), "p.png")]
    np.testing.assert_array_equal(np.concatenate(strips) & 0xFFFFFF, pngio.rgb2id(colours[index]))
    # a 16-bit-per-channel RGB PNG (Pillow would silently keep the high bytes)
    h, w = 2, 3
    rows = b"".join(b"\0" + np.full(3 * w, 0x1234, ">u2").tobytes() for _ in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in ((b"IHDR", ihdr), (b"IDAT", zlib.compress(rows)), (b"IEND", b"")))
    assert Image.open(io.BytesIO(png)).mode == "RGB"
    with pytest.raises(VpsError, match="deep.png: 16 bits per channel"):
        pngio.decode_ids(png, "deep.png")
    with pytest.raises(VpsError, match="deep.png: 16 bits per channel"):
        loading.decode_ids_raw(png, "deep.png")


def test_vpskit_evaluate_is_the_function_after_the_package_is_imported(split, tmp_path):
    import vpskit
    import vpskit.evaluation.report  # noqa: F401

    pred = tmp_path / "pred"
    write_perfect(split, pred)
    assert all_ones(vpskit.evaluate(pred, root=split, jobs=1))


def test_per_class_table():
    from vpskit.evaluation.report import format_per_class

    def cls(pq, tp, fp=0, fn=0):
        return {"pq": pq, "sq": 0.0, "rq": 0.0, "iou": 0.0, "tp": tp, "fp": fp, "fn": fn}

    per_k = {"0": {"0": cls(0.5, 1), "13": cls(0.0, 0)}, "5": {"0": cls(0.7, 2), "13": cls(0.0, 0, fp=1)},
             "10": {"0": cls(0.6, 1), "13": cls(0.0, 0)}, "15": {"0": cls(0.8, 3), "13": cls(0.0, 0)}}
    text = format_per_class({"vpq": {k: {"per_class": v} for k, v in per_k.items()}}).splitlines()
    assert text[0] == "Per category (%): VPQ"
    assert text[1].split() == ["id", "category", "VPQ", "k=0", "k=5", "k=10", "k=15"]
    assert text[2].split() == ["0", "road", "stuff", "65.0", "50.0", "70.0", "60.0", "80.0"]
    assert text[3].split() == ["13", "car", "thing", "0.0", "-", "0.0", "-", "-"]
    assert len(text) == 4


def test_cli_prints_the_per_class_table_on_request(split, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_perfect(split, pred)
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1"]) == 0
    assert "Per category" not in capsys.readouterr().out
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1", "--per-class"]) == 0
    rows = {line.split()[1]: line.split()[2:] for line in capsys.readouterr().out.splitlines()
            if line[:3].strip().isdigit()}
    # VPQ, PQ at each k, then STQ's IoU
    assert rows["road"] == ["stuff", "100.0", "100.0", "100.0", "100.0", "100.0", "100.0"]
    assert rows["car"] == ["thing", "100.0", "100.0", "100.0", "100.0", "100.0", "100.0"]
    assert rows["sky"] == ["stuff", "-", "-", "-", "-", "-", "-"]
    # STQ alone: its per-category IoU, with a header saying so
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1", "--per-class", "--metrics", "stq",
                 "--out", str(tmp_path / "stq")]) == 0
    out = capsys.readouterr().out
    assert "Per category (%): STQ's IoU" in out
    rows = {line.split()[1]: line.split()[2:] for line in out.splitlines() if line[:3].strip().isdigit()}
    assert rows["road"] == ["stuff", "100.0"] and rows["sky"] == ["stuff", "-"]


def test_cli_prints_per_video_tables(split, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1", "--per-video"]) == 0
    out = capsys.readouterr().out
    res = json.loads((pred / "results.json").read_text())
    table = out.split("Per video (%)")[1].split("\n\n")[0]
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:]}
    assert sorted(rows) == ["0001", "0002"]
    for video, cells in rows.items():
        v, q = res["vpq"]["per_video"][video], res["stq"]["per_sequence"][video]
        want = [v["final"]["all"], v["final"]["things"], v["final"]["stuff"],
                *(v["spans"][k]["pq"] for k in ("0", "5", "10", "15")), q["stq"], q["aq"], q["iou"]]
        assert cells == [f"{100 * x:.1f}" for x in want]
    # each video's own VPQ is what scoring that video alone gives
    for video in ("0001", "0002"):
        alone = evaluate(pred, root=split, videos=[video], jobs=1)
        assert res["vpq"]["per_video"][video]["final"]["all"] == alone["vpq"]["final"]["all"]["pq"]
        assert res["stq"]["per_sequence"][video] == alone["stq"]["per_sequence"][video]
        assert sum(res["vpq"]["per_video"][video]["spans"]["0"][m] for m in ("tp", "fp", "fn")) == sum(
            c[m] for c in alone["vpq"]["0"]["per_class"].values() for m in ("tp", "fp", "fn"))


# --------------------------------------------------------------------------- the reports


def test_results_json_says_what_was_evaluated(split, tmp_path):
    import vpskit

    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    out = tmp_path / "r"
    assert main(["eval", str(pred), "--root", str(split), "--out", str(out), "--jobs", "1"]) == 0
    first = (out / "results.json").read_bytes()
    res = json.loads(first)
    assert res["vpskit"] == {"version": vpskit.__version__}
    ev = res["evaluation"]
    assert ev["split"] == "val" and ev["metrics"] == ["vpq", "stq"]
    assert ev["videos"] == ["0001", "0002"] and ev["frames"] == 12
    assert ev["ground_truth"]["json"] == str(split / naming.panoptic_gt_json("val"))
    assert ev["prediction"] == {"given": str(pred), "absolute": str(pred.resolve())}
    vpq, stq = res["conventions"]["vpq"], res["conventions"]["stq"]
    assert vpq["agrees_with"]["repository"] == "mcahny/vps" and len(vpq["agrees_with"]["commit"]) == 40
    assert vpq["window_spans_k"] == [0, 5, 10, 15] and vpq["window_frames"] == [1, 2, 3, 4]
    assert stq["agrees_with"]["repository"] == "google-research/deeplab2" and len(stq["agrees_with"]["commit"]) == 40
    assert stq["void_rule"] == "class"
    assert "time" not in json.dumps(res).lower()
    # the same evaluation again: the same bytes
    assert main(["eval", str(pred), "--root", str(split), "--out", str(out), "--jobs", "2"]) == 0
    assert (out / "results.json").read_bytes() == first


def test_a_different_evaluation_never_replaces_the_reports(split, tmp_path, capsys):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1"]) == 0
    names = ["vpq-0.txt", "vpq-5.txt", "vpq-10.txt", "vpq-15.txt", "vpq-final.txt", "results.json"]
    full = {n: (pred / n).read_bytes() for n in names}
    capsys.readouterr()
    for extra, what in ((["--videos", "2"], "videos 1-2, not 2"),
                        (["--stq-void", "miss"], "rules"),
                        (["--metrics", "vpq"], "metrics vpq,stq, not vpq")):
        assert main(["eval", str(pred), "--root", str(split), "--jobs", "1", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "holds another evaluation" in err[0] and what in err[0], err
        assert "--replace" in err[0] and "--out" in err[0]
        assert {n: (pred / n).read_bytes() for n in names} == full
    # elsewhere, or with --replace, it is written; a VPQ-less evaluation removes the VPQ reports
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1", "--videos", "2",
                 "--out", str(tmp_path / "v2")]) == 0
    assert json.loads((tmp_path / "v2" / "results.json").read_text())["evaluation"]["videos"] == ["0002"]
    assert {n: (pred / n).read_bytes() for n in names} == full
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1", "--metrics", "stq", "--replace"]) == 0
    reports = sorted(p.name for p in pred.iterdir() if p.is_file() and p.name not in ("pred.json", "perturb.json"))
    assert reports == ["results.json"]
    # reports of unknown origin are not replaced either
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "vpq-final.txt").write_text("vpq_all:1.0\n")
    assert main(["eval", str(pred), "--root", str(split), "--out", str(tmp_path / "old")]) == 2
    assert "reports of an unknown evaluation" in capsys.readouterr().err
    assert (tmp_path / "old" / "vpq-final.txt").read_text() == "vpq_all:1.0\n"


def test_reports_are_replaced_all_or_nothing(split, tmp_path, monkeypatch, capsys):
    from vpskit.evaluation import report

    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1"]) == 0
    before = {p.name: p.read_bytes() for p in pred.iterdir() if p.is_file()}
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred, seed=7)
    real_open = open
    calls = []

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith(".part"):
            calls.append(path)
            if len(calls) == 4:  # the fourth report cannot be written: the disk is full
                raise OSError(28, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(report, "open", failing_open, raising=False)
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vpq-15.txt" in err[0] and "No space left on device" in err[0]
    after = {p.name: p.read_bytes() for p in pred.iterdir() if p.is_file()}
    remade = ("pred.json", "perturb.json")  # by the second prediction
    assert after == {n: b for n, b in before.items() if n not in remade} | {n: after[n] for n in remade}
    assert not list(pred.glob(".*.part"))


@pytest.mark.parametrize("damage", ["truncated", "garbled", "not_png"])
def test_a_corrupt_prediction_png_is_one_plain_line(split, tmp_path, capsys, damage):
    pred = tmp_path / "pred"
    write_noisy_prediction(split / naming.panoptic_gt_json("val"), split / "val" / "panoptic_video", pred)
    png = sorted((pred / "pan_pred").iterdir())[3]
    data = bytearray(png.read_bytes())
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "garbled":
        data[60:80] = b"\x00" * 20
    else:
        data = bytearray(b"garbage")
    png.write_bytes(bytes(data))
    assert main(["eval", str(pred), "--root", str(split), "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vpskit: error: {png}: "), err
    assert " object at 0x" not in err[0] and "<" not in err[0]
    assert ("not a PNG" if damage == "not_png" else "corrupt or truncated PNG") in err[0]
