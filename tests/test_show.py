"""`vpskit show` end to end on a synthetic prepared split: picture sizes, each pixel its
segment's colour blended on the frame, colours that follow tracks and matched predictions,
error maps that agree with the score, the same bytes every time, and the command line (the
rules on hand-made arrays are in test_overlay.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vpskit
from vpskit import naming
from vpskit.categories import CATEGORY_BY_ID
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.evaluation import evaluate
from vpskit.pngio import id2rgb, read_png, rgb2id, write_png
from vpskit.visualize import overlay as ov
from vpskit.visualize.colours import track_colour
from vpskit.visualize.sheets import caption_height, cell_origins
from vpskit.visualize.showing import MP4_HINT, SHEET_COLUMNS, error_panels

W, H = 64, 32
XOR = 0x5A5A5A


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A prepared train and val split (1 and 2 videos) of synthetic 64x32 frames."""
    base = tmp_path_factory.mktemp("show")
    down = base / "down"
    vpskit.synthesize(down, videos=4, size=(W, H), seed=0, as_zip=True, jobs=1, progress=False,
                      splits={"train": 1, "val": 2, "test": 1})
    vpskit.prepare(base / "root", down / "leftImg8bit_sequence_trainvaltest.zip", down / "gtFine_trainvaltest.zip",
                   release=down / "cityscapes-vps-dataset-1.0.zip", splits="train,val", jobs=1, progress=False)
    return base / "root"


@pytest.fixture(scope="module")
def renamed(root, tmp_path_factory) -> Path:
    """The val ground truth as a prediction whose every segment id is another (id XOR 0x5A5A5A)."""
    pred = tmp_path_factory.mktemp("renamed")
    gt = json.loads((root / naming.panoptic_gt_json("val")).read_text())
    anns = []
    for ann in gt["annotations"]:
        ids = rgb2id(read_png(root / "val" / "panoptic_video" / ann["file_name"]))
        write_png(pred / "pan_pred" / naming.pan_pred_file(ann["image_id"]), id2rgb(np.where(ids > 0, ids ^ XOR, 0)))
        anns.append({"image_id": ann["image_id"], "segments_info": [
            {"id": s["id"] ^ XOR, "category_id": s["category_id"]} for s in ann["segments_info"]]})
    (pred / "pred.json").write_text(json.dumps({"annotations": anns}))
    return pred


@pytest.fixture(scope="module")
def noisy(root, tmp_path_factory) -> Path:
    """A prediction of the val split with track switches, confusions, misses and false positives."""
    out = tmp_path_factory.mktemp("noisy") / "pred"
    vpskit.perturb(root, out, split="val", seed=1, switch=0.5, confuse=0.3, drop=0.2, false_positive=0.3,
                   erode=1, jobs=1, progress=False)
    return out


def gt_video(root: Path, video: int) -> list[dict]:
    """The GT annotations of a val video, in image-id order."""
    gt = json.loads((root / naming.panoptic_gt_json("val")).read_text())
    return sorted((a for a in gt["annotations"] if naming.video_of(a["image_id"]) == video),
                  key=lambda a: a["image_id"])


def tiles(sheet: np.ndarray, count: int, cols: int, w: int = W, h: int = H) -> list[np.ndarray]:
    """The pictures of a contact sheet (without their caption bands)."""
    cap = caption_height(h)
    _, origins = cell_origins(count, cols, w, h + cap)
    return [sheet[y + cap:y + cap + h, x:x + w] for x, y in origins]


def blend(frame_rgb: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The documented overlay rule, recomputed: (frame * 128 + colour * 128 + 128) >> 8."""
    return ((frame_rgb.astype(np.int64) * 128 + np.asarray(colour, np.int64) * 128 + 128) >> 8).astype(np.uint8)


def interior(ids: np.ndarray) -> np.ndarray:
    """Pixels whose 4 neighbours (inside the picture) hold the same id."""
    same = np.ones(ids.shape, dtype=bool)
    same[1:] &= ids[1:] == ids[:-1]
    same[:-1] &= ids[:-1] == ids[1:]
    same[:, 1:] &= ids[:, 1:] == ids[:, :-1]
    same[:, :-1] &= ids[:, :-1] == ids[:, 1:]
    return same


def expected_colours(anns: list[dict], video: int) -> dict[int, tuple[int, int, int]]:
    """The palette rule, recomputed: stuff and crowd their category colour, GT thing tracks the
    colour sequence of the video in id order."""
    first: dict[int, dict] = {}
    for ann in anns:
        for s in ann["segments_info"]:
            first.setdefault(s["id"], s)
    tracks = sorted(i for i, s in first.items() if CATEGORY_BY_ID[s["category_id"]].isthing and not s["iscrowd"])
    colours = {i: CATEGORY_BY_ID[s["category_id"]].color for i, s in first.items()}
    colours |= {t: track_colour(naming.video_name(video), n) for n, t in enumerate(tracks)}
    return colours


# --------------------------------------------------------------------------- sizes and colours


def test_contact_sheet_pixels_are_segment_colours_blended_on_the_frame(root, tmp_path):
    out = vpskit.show(tmp_path / "gt.png", root=root, split="val", video=1)
    sheet = read_png(out)
    anns = gt_video(root, 1)
    (sw, sh), _ = cell_origins(6, SHEET_COLUMNS, W, H + caption_height(H))
    assert sheet.shape == (sh, sw, 3)
    colours = expected_colours(anns, 1)
    assert len({colours[i] for i in colours}) >= 10
    seen: dict[int, set] = {}
    for ann, tile in zip(anns, tiles(sheet, 6, SHEET_COLUMNS), strict=True):
        iid = naming.parse_image_id(ann["image_id"])
        rgb = read_png(root / "val" / "img" / naming.image_file(iid))
        ids = rgb2id(read_png(root / "val" / "panoptic_video" / ann["file_name"]))
        lut_ids = np.array(sorted(colours), dtype=np.uint32)
        lut = np.array([colours[i] for i in lut_ids.tolist()], dtype=np.uint8)
        painted = lut[np.searchsorted(lut_ids, np.where(ids == 0, lut_ids[0], ids))]
        void = ids == 0
        inside = interior(ids) & ~void
        assert inside.sum() > 0.3 * ids.size
        # every interior pixel: its segment's colour blended on the frame; void: the frame
        assert np.array_equal(tile[inside], blend(rgb, painted)[inside])
        assert np.array_equal(tile[void], rgb[void])
        # the rest are outlines: the segment's colour at half brightness
        edge = ~inside & ~void
        assert edge.any() and np.array_equal(tile[edge], painted[edge] // 2)
        for sid in np.unique(ids[inside]).tolist():
            seen.setdefault(sid, set()).add(ann["image_id"])
    # some tracks are in several frames: they kept one colour there (checked above, per frame)
    things = {s["id"] for a in anns for s in a["segments_info"] if CATEGORY_BY_ID[s["category_id"]].isthing}
    assert sum(1 for sid in things if len(seen.get(sid, ())) >= 3) >= 3


def test_matched_predicted_tracks_take_their_gt_colours(root, renamed, tmp_path):
    gt = read_png(vpskit.show(tmp_path / "gt.png", root=root, split="val", video=1))
    pred = read_png(vpskit.show(tmp_path / "pred.png", root=root, split="val", video=1, pred=renamed))
    # other ids, same tubes: every prediction matches its GT segment and takes its colour
    for a, b in zip(tiles(gt, 6, SHEET_COLUMNS), tiles(pred, 6, SHEET_COLUMNS), strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(gt, pred)  # the captions say which is which


def test_unmatched_predicted_tracks_get_colours_no_gt_segment_has(root, noisy):
    from vpskit.visualize.videos import load_video

    pics = load_video(root, "val", 1, noisy, 1.0)
    try:
        gt_colours = {tuple(c) for c in pics.gt_palette.colours[1:].tolist()}
        matched = pics.match.matched_gt_of()
        pal = pics.pred_palette
        unmatched = [i for i, t in enumerate(pal.track) if t and int(pal.ids[i]) not in matched]
        assert unmatched, "the noisy prediction has unmatched tracks"
        for i in unmatched:
            assert tuple(pal.colours[i].tolist()) not in gt_colours
        for i, sid in enumerate(pal.ids.tolist()):
            if pal.track[i] and sid in matched:
                assert pal.colour_of(sid) == pics.gt_palette.colour_of(matched[sid])
                assert pal.labels[i] == pics.gt_palette.labels[int(pics.gt_palette.positions(np.array([matched[sid]]))[0])]
        assert len({tuple(c) for c in pal.colours[pal.track].tolist()}) == len(set(pal.ids[pal.track].tolist()))
    finally:
        pics.images.close()


def test_gif_has_every_frame_of_the_snippet(root, noisy, tmp_path, capsys):
    out = vpskit.show(tmp_path / "v.gif", root=root, split="val", video=1, pred=noisy, errors=True)
    with Image.open(out) as im:
        assert im.n_frames == 30
        assert im.size == (3 * W, H + caption_height(H))
    assert "annotated frames only" not in capsys.readouterr().out
    # train has no img_all: the annotated frames only, and it says so
    out = vpskit.show(tmp_path / "t.gif", root=root, split="train", video=2, labels=True)
    with Image.open(out) as im:
        assert im.n_frames == 6 and im.size == (W, H + caption_height(H))
    assert "annotated frames only" in capsys.readouterr().out


def test_scale_shrinks_and_error_panels_are_the_sheet_rows(root, noisy, tmp_path):
    sheet = read_png(vpskit.show(tmp_path / "e.png", root=root, split="val", video=1, pred=noisy, errors=True,
                                 scale=0.5))
    w, h = W // 2, H // 2
    panels = error_panels(noisy, root=root, split="val", video=1, scale=0.5)
    assert [p.shape for p in panels] == [(h, 3 * w, 3)] * 6
    assert all(p.dtype == np.uint8 for p in panels)
    for got, want in zip(tiles(sheet, 6, 1, 3 * w, h), panels, strict=True):
        assert np.array_equal(got, want)
    # the error map of the noisy prediction holds errors, that of a perfect one none
    kinds = {tuple(c) for p in panels for c in p[:, 2 * w:].reshape(-1, 3).tolist()}
    assert tuple(ov.ERROR_KINDS[ov.WRONG_CATEGORY][1]) in kinds and tuple(ov.ERROR_KINDS[ov.MISSED][1]) in kinds


def test_a_perfect_prediction_has_a_clean_error_map(root, renamed):
    res = evaluate(renamed, root=root, split="val", jobs=1)
    assert res["vpq"]["final"]["all"]["pq"] == 1.0
    for span in (0, 15):
        for p in error_panels(renamed, root=root, split="val", video=1, span=span, scale=1.0):
            err = p[:, 2 * W:].reshape(-1, 3)
            good = (err == ov.ERROR_KINDS[ov.CORRECT][1]).all(1) | (err == ov.ERROR_KINDS[ov.NEUTRAL][1]).all(1)
            assert good.all()


# --------------------------------------------------------------------------- determinism


def test_same_bytes_every_time_and_from_a_zip(root, noisy, tmp_path):
    zipped = shutil.make_archive(str(tmp_path / "root"), "zip", root.parent, root.name)
    for name, kw in [("a.png", {}), ("b.png", {"errors": True, "labels": True}),
                     ("c.gif", {"errors": True, "scale": 0.5}), ("d.gif", {"labels": True})]:
        one = vpskit.show(tmp_path / "1" / name, root=root, split="val", video=4, pred=noisy, **kw).read_bytes()
        two = vpskit.show(tmp_path / "2" / name, root=root, split="val", video=4, pred=noisy, **kw).read_bytes()
        three = vpskit.show(tmp_path / "3" / name, root=zipped, split="val", video=4, pred=noisy, **kw).read_bytes()
        assert one == two == three
    assert not list(tmp_path.rglob("*.part"))


# --------------------------------------------------------------------------- command line


def test_cli_both_forms(root, noisy, tmp_path, capsys):
    assert main(["show", str(root), "--split", "val", "--video", "1", "--out", str(tmp_path / "gt.png"),
                 "--labels"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'gt.png'}"
    assert main(["show", str(noisy), "--root", str(root), "--split", "val", "--video", "0004", "--out",
                 str(tmp_path / "e.png"), "--errors", "--span", "5", "--scale", "0.5"]) == 0
    (width, _), _ = cell_origins(6, 1, 3 * W // 2, H // 2 + caption_height(H // 2))
    assert read_png(tmp_path / "e.png").shape[1] == width  # one row per frame
    assert main(["show", str(noisy), "--root", str(root), "--video", "1", "--out", str(tmp_path / "p.png")]) == 0
    assert read_png(tmp_path / "p.png").shape == read_png(tmp_path / "gt.png").shape


def _fails(args: list[str], capsys) -> str:
    try:
        code = main(args)
    except SystemExit as exc:  # a usage error, from argparse
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vpskit") and "Traceback" not in err
    return err


def test_cli_bad_inputs_are_one_line(root, noisy, tmp_path, capsys):
    out = str(tmp_path / "x.png")
    err = _fails(["show", str(root), "--video", "7", "--out", out], capsys)
    assert "--video: not in the ground truth: 0007; the ground truth has 2 videos: 1, 4" in err
    assert "--errors: needs a prediction" in _fails(["show", str(root), "--video", "1", "--out", out, "--errors"],
                                                     capsys)
    assert "unknown picture type '.jpg'" in _fails(["show", str(root), "--video", "1", "--out",
                                                    str(tmp_path / "x.jpg")], capsys)
    assert "no such file or folder" in _fails(["show", str(tmp_path / "nope"), "--root", str(root), "--video", "1",
                                               "--out", out], capsys)
    _fails(["show", str(root), "--video", "1", "--out", out, "--span", "7"], capsys)
    _fails(["show", str(root), "--video", "1", "--out", out, "--scale", "0"], capsys)
    # a missing and a damaged RGB frame: named
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    anns = gt_video(root, 1)
    frame_png = broken / "val" / "img" / naming.image_file(naming.parse_image_id(anns[2]["image_id"]))
    frame_png.write_bytes(frame_png.read_bytes()[:60])
    err = _fails(["show", str(broken), "--video", "1", "--out", out], capsys)
    assert str(frame_png) in err and "PNG" in err
    frame_png.unlink()
    err = _fails(["show", str(broken), "--video", "1", "--out", out], capsys)
    assert str(frame_png) in err and "RGB frame not found" in err
    # a damaged img_all frame fails the .gif, not the .png
    shutil.copy(root / "val" / "img" / frame_png.name, frame_png)
    first = naming.parse_image_id(anns[0]["image_id"])
    raw = broken / "val" / "img_all" / naming.frame_file(naming.FrameKey(first.city, first.seq, first.first_frame + 1))
    raw.write_bytes(b"not a png")
    assert main(["show", str(broken), "--video", "1", "--out", out]) == 0
    gif = tmp_path / "x.gif"
    err = _fails(["show", str(broken), "--video", "1", "--out", str(gif)], capsys)
    assert str(raw) in err and "not a PNG" in err
    assert not gif.exists() and not list(tmp_path.glob(".*.part"))


def test_mp4_has_every_frame(root, tmp_path, capsys):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    assert main(["show", str(root), "--video", "1", "--out", str(tmp_path / "v.mp4"), "--labels"]) == 0
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "v.mp4"))
    assert frames == 30
    again = vpskit.show(tmp_path / "again.mp4", root=root, video=1, labels=True)
    assert again.read_bytes() == (tmp_path / "v.mp4").read_bytes()


def test_mp4_without_an_encoder_says_how_to_get_one(root, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    with pytest.raises(VpsError, match="imageio-ffmpeg"):
        vpskit.show(tmp_path / "v.mp4", root=root, video=1)
    err = _fails(["show", str(root), "--video", "1", "--out", str(tmp_path / "v.mp4")], capsys)
    assert MP4_HINT in err and not (tmp_path / "v.mp4").exists()


def test_show_is_a_plain_function_of_the_api():
    import inspect

    params = inspect.signature(vpskit.show).parameters
    assert {"out", "root", "split", "video", "pred", "errors", "labels", "span", "scale"} <= set(params)
    assert vpskit.show.__doc__ and callable(error_panels)
