"""`vpskit convert --benchmark vipseg|kitti-step` end to end on synthetic ground truth: the ground
truth re-expressed in every source format converts into the benchmark's prediction format, which
`vpskit eval` scores perfect and whose labels equal the ground truth's; a perturbed prediction
scores what the same prediction written directly scores; bad inputs are one line, exit 2, and
leave OUT as it was."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from convertcases import tree
from kitti_step_cases import SYNTH_ARGS, write_prediction
from vpskit import pngio
from vpskit.cli import main
from vpskit.formats import MAPS, NAMES, FormatOptions
from vpskit.formats import kitti_step as kitti_format
from vpskit.preparation.vipseg_run import prepare_vipseg
from vpskit.profiles.vipseg import CATEGORY_TABLE
from vpskit.synth.vipseg import synthesize_vipseg, write_predictions

VIPSEG_THINGS = np.zeros(256, dtype=bool)
VIPSEG_THINGS[[i for i, _, thing, _ in CATEGORY_TABLE if thing]] = True
KITTI_TRACKED = np.zeros(256, dtype=bool)
KITTI_TRACKED[[11, 13]] = True

# A frame in memory: (its name "{video}/{frame}", category map, instance map, segment ids, segments_info)
Frame = tuple[str, np.ndarray, np.ndarray, np.ndarray, list[dict]]


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def vipseg(tmp_path_factory) -> Path:
    """A prepared synthetic VIPSeg_720P (2 val videos of 8 frames: the longest VPQ window)."""
    base = tmp_path_factory.mktemp("convert-vipseg")
    synthesize_vipseg(base / "VIPSeg", videos=3, frames=8, test_videos=0, val=2)
    prepare_vipseg(base / "VIPSeg", base / "VIPSeg_720P", jobs=1, progress=False)
    return base / "VIPSeg_720P"


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> Path:
    """A synthetic KITTI-STEP folder (the reference agreement's: 3 val sequences of 6-8 frames)."""
    base = tmp_path_factory.mktemp("convert-kitti")
    assert main(["synth", str(base / "KITTI"), *SYNTH_ARGS, "--no-progress"]) == 0
    return base / "KITTI"


def _video_json_frames(folder: Path, doc: dict, png_dir: str) -> list[Frame]:
    """Every frame of a VIPSeg-style JSON (ground truth or prediction): categories from its
    segments_info, instances numbered per video (1, 2, … per thing segment id, 0 elsewhere)."""
    frames: list[Frame] = []
    for video in doc["annotations"]:
        name, numbers = video["video_id"], {}
        for ann in video["annotations"]:
            ids = pngio.rgb2id(pngio.read_png(folder / png_dir / name / ann["file_name"]))
            table = {s["id"]: s["category_id"] for s in ann["segments_info"]}
            values, inverse = np.unique(ids, return_inverse=True)
            cats = np.array([table.get(v, 255) for v in values.tolist()], dtype=np.int64)
            inst = np.array([numbers.setdefault(v, len(numbers) + 1) if VIPSEG_THINGS[c] and v else 0
                             for v, c in zip(values.tolist(), cats.tolist(), strict=True)], dtype=np.int64)
            info = [s | ({"track_id": s["id"]} if VIPSEG_THINGS[s["category_id"]] else {}) for s in ann["segments_info"]]
            frames.append((f"{name}/{ann['file_name'][:-4]}", cats.astype(np.uint8)[inverse].reshape(ids.shape),
                           inst.astype(np.uint16)[inverse].reshape(ids.shape), ids, info))
    return frames


def _vipseg_gt(root: Path) -> list[Frame]:
    return _video_json_frames(root, json.loads((root / "panoptic_gt_VIPSeg_val.json").read_text()), "panomasksRGB")


def _maps_frames(folder: Path) -> list[Frame]:
    """Every frame of a folder of KITTI-STEP maps ({seq}/{frame}.png); segment ids packing the
    category and instance, person/car crowd regions (instance 0) iscrowd."""
    frames: list[Frame] = []
    for png in sorted(folder.glob("*/*.png")):
        cat, inst = kitti_format.decode(pngio.read_png(png))
        cat, inst = cat.astype(np.int64), inst.astype(np.int64)
        ids = np.where(cat == 255, 0, cat * 65536 + inst + 1)
        info = [{"id": int(i), "category_id": int((i - 1) // 65536), "iscrowd": int(KITTI_TRACKED[(i - 1) // 65536]
                                                                                     and (i - 1) % 65536 == 0)}
                | ({"track_id": int((i - 1) % 65536)} if KITTI_TRACKED[(i - 1) // 65536] and (i - 1) % 65536 else {})
                for i in np.unique(ids).tolist() if i]
        frames.append((f"{png.parent.name}/{png.stem}", cat, inst, ids, info))
    return frames


def _write_source(frames: list[Frame], fmt: str, src: Path, video_ids: bool = False) -> Path:
    """The frames in source format ``fmt``: SRC/{video}/{frame}{ending} (coco-panoptic: a JSON
    and SRC/panoptic/{video}/{frame}.png, each annotation's file_name {video}/{frame}.png, or
    {frame}.png beside a video_id with ``video_ids``)."""
    if fmt == "coco-panoptic":
        anns = []
        for name, _, _, ids, info in frames:
            pngio.write_png(src / "panoptic" / f"{name}.png", pngio.id2rgb(ids.astype(np.uint32)))
            video, frame = name.split("/")
            anns.append({"file_name": f"{frame}.png", "video_id": video, "segments_info": info} if video_ids
                        else {"file_name": f"{name}.png", "segments_info": info})
        (src / "panoptic.json").write_text(json.dumps({"annotations": anns}))
        return src
    fmt_ = MAPS[fmt]
    for name, cat, inst, _, _ in frames:
        arrays = fmt_.encode(cat, inst, FormatOptions(), name)
        for role, endings in fmt_.files:
            pngio.write_png(src / f"{name}{endings[0]}", arrays[role])
    return src


def _convert(src: Path, out: Path, fmt: str, root: Path, benchmark: str | None, *more: str) -> None:
    bench = ["--benchmark", benchmark] if benchmark else []
    assert main(["convert", str(src), str(out), "--from", fmt, "--root", str(root), "--split", "val",
                 *bench, "--jobs", "1", "--no-progress", *more]) == 0


def _scores(pred: Path, root: Path, out: Path) -> dict:
    assert main(["eval", str(pred), "--root", str(root), "--split", "val", "--jobs", "1", "--out", str(out),
                 "--no-progress"]) == 0
    res = json.loads((out / "results.json").read_text())
    return {"vpq": {k: v for k, v in res["vpq"].items() if k != "per_video"},
            "stq": {k: res["stq"][k] for k in ("stq", "aq", "iou", "per_sequence")}}


def _assert_perfect(scores: dict) -> None:
    windows = [k for k in scores["vpq"] if k != "final"]
    assert len(windows) >= 4
    for k in [*windows, "final"]:
        assert scores["vpq"][k]["all"]["pq"] == 1.0 and scores["vpq"][k]["things"]["n"] > 0, k
    assert scores["stq"]["stq"] == 1.0 and scores["stq"]["aq"] == 1.0 and scores["stq"]["iou"] == 1.0


def _assert_same_partition(gt: list[Frame], pred_ids: dict[str, np.ndarray]) -> None:
    """Per video, one predicted segment id per ground-truth segment and the reverse."""
    videos: dict[str, set[int]] = {}
    for name, _, _, ids, _ in gt:
        packed = ids.astype(np.int64) << 32 | pred_ids[name].astype(np.int64)
        videos.setdefault(name.split("/")[0], set()).update(np.unique(packed).tolist())
    for video, pairs in videos.items():
        assert len({p >> 32 for p in pairs}) == len({p & 0xFFFFFFFF for p in pairs}) == len(pairs), video


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", NAMES)
def test_vipseg_ground_truth_round_trip(vipseg, fmt, tmp_path):
    gt = _vipseg_gt(vipseg)
    src = _write_source(gt, fmt, tmp_path / "src")
    pred = tmp_path / "pred"
    _convert(src, pred, fmt, vipseg, "vipseg")
    _assert_perfect(_scores(pred, vipseg, tmp_path / "scores"))
    # the layout the VIPSeg scripts read: per video, its frames in the ground truth's order
    doc = json.loads((pred / "pred.json").read_text())
    gt_doc = json.loads((vipseg / "panoptic_gt_VIPSeg_val.json").read_text())
    assert [v["video_id"] for v in doc["annotations"]] == [v["video_id"] for v in gt_doc["videos"]]
    for video, gt_video in zip(doc["annotations"], gt_doc["videos"], strict=True):
        assert [a["file_name"] for a in video["annotations"]] == [i["file_name"] for i in gt_video["images"]]
    got = {name: (cat, ids) for name, cat, _, ids, _ in _video_json_frames(pred, doc, "pan_pred")}
    for name, cat, _, _, _ in gt:
        assert np.array_equal(got[name][0], cat), name  # every pixel's category, void included
    _assert_same_partition(gt, {name: ids for name, (_, ids) in got.items()})
    # segment ids: category + 1 in the red channel, objects c + 1 + 256 k
    for _, _, _, _, info in _video_json_frames(pred, doc, "pan_pred"):
        for s in info:
            assert (s["id"] & 0xFF) - 1 == s["category_id"]
            assert (s["id"] >= 256) == bool(VIPSEG_THINGS[s["category_id"]])


@pytest.mark.parametrize("fmt", NAMES)
def test_kitti_step_ground_truth_round_trip(kitti, fmt, tmp_path):
    gt_folder = kitti / "panoptic_maps" / "val"
    gt = _maps_frames(gt_folder)
    src = gt_folder if fmt == "kitti-step" else _write_source(gt, fmt, tmp_path / "src")
    pred = tmp_path / "pred"
    _convert(src, pred, fmt, kitti, None)  # the benchmark found from --root
    _assert_perfect(_scores(pred, kitti, tmp_path / "scores"))
    assert sorted(p.relative_to(pred).as_posix() for p in pred.glob("*/*.png")) == \
        sorted(p.relative_to(gt_folder).as_posix() for p in gt_folder.glob("*/*.png"))
    assert not (pred / "pred.json").exists() and not list(pred.glob(".*"))
    got = {name: (cat, inst, ids) for name, cat, inst, ids, _ in _maps_frames(pred)}
    for name, cat, inst, _, _ in gt:
        assert np.array_equal(got[name][0], cat), name  # R: the category, exactly
        assert np.array_equal(got[name][1] == 0, inst == 0), name  # instance 0 where the ground truth's is
    _assert_same_partition(gt, {name: ids for name, (_, _, ids) in got.items()})
    objects = {int(i) for _, inst, _ in got.values() for i in np.unique(inst)} - {0}
    assert objects and objects == set(range(1, max(objects) + 1))  # objects numbered 1, 2, …


# --------------------------------------------------------------------------- perturbed predictions


@pytest.mark.parametrize("kind", ["noisy", "switched", "void"])
def test_vipseg_perturbed_scores_as_written_directly(vipseg, kind, tmp_path):
    direct = tmp_path / "direct"
    write_predictions(vipseg, "val", direct, kind)
    frames = _video_json_frames(direct, json.loads((direct / "pred.json").read_text()), "pan_pred")
    src = _write_source(frames, "cat-ins", tmp_path / "src")
    _convert(src, tmp_path / "pred", "cat-ins", vipseg, "vipseg")
    ours = _scores(tmp_path / "pred", vipseg, tmp_path / "s1")
    theirs = _scores(direct, vipseg, tmp_path / "s2")
    assert ours == theirs
    assert theirs["vpq"]["final"]["all"]["pq"] < 0.99


@pytest.mark.parametrize("case", ["noisy", "switched", "void", "crowd", "stuff_ids"])
def test_kitti_step_perturbed_scores_as_written_directly(kitti, case, tmp_path):
    direct = tmp_path / "direct"
    write_prediction(kitti / "panoptic_maps" / "val", direct, case)
    src = _write_source(_maps_frames(direct), "divisor", tmp_path / "src")
    _convert(src, tmp_path / "pred", "divisor", kitti, "kitti-step")
    ours = _scores(tmp_path / "pred", kitti, tmp_path / "s1")
    theirs = _scores(direct, kitti, tmp_path / "s2")
    assert ours == theirs
    assert theirs["stq"]["stq"] < 0.99 or theirs["vpq"]["final"]["all"]["pq"] < 0.99


def test_same_bytes_whatever_jobs(vipseg, kitti, tmp_path):
    vsrc = _write_source(_vipseg_gt(vipseg), "2ch", tmp_path / "vsrc")
    ksrc = kitti / "panoptic_maps" / "val"
    for bench, src, fmt, root in (("vipseg", vsrc, "2ch", vipseg), ("kitti-step", ksrc, "kitti-step", kitti)):
        outs = []
        for jobs, name in (("1", "a"), ("2", "b"), ("2", "b")):
            assert main(["convert", str(src), str(tmp_path / bench / name), "--from", fmt, "--root", str(root),
                         "--benchmark", bench, "--jobs", jobs, "--no-progress"]) == 0
            outs.append(tree(tmp_path / bench / name))
        assert outs[0] == outs[1] == outs[2] and len(outs[0]) > 10, bench


def _zip(folder: Path, dest: Path, inside: str) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{inside}/{p.relative_to(folder).as_posix()}")
    return dest


def test_zips_and_coco_video_ids_give_the_same_bytes(vipseg, kitti, tmp_path):
    gt = _vipseg_gt(vipseg)
    runs = {}
    for name, src, fmt in (
            ("cat-ins", _write_source(gt, "cat-ins", tmp_path / "ci"), "cat-ins"),
            ("cat-ins zip", _zip(tmp_path / "ci", tmp_path / "ci.zip", "model/out"), "cat-ins"),
            ("coco", _write_source(gt, "coco-panoptic", tmp_path / "coco"), "coco-panoptic"),
            ("coco video_id", _write_source(gt, "coco-panoptic", tmp_path / "cv", video_ids=True), "coco-panoptic")):
        _convert(src, tmp_path / "out" / name, fmt, vipseg, "vipseg")
        runs[name] = tree(tmp_path / "out" / name)
    assert runs["cat-ins"] == runs["cat-ins zip"] and runs["coco"] == runs["coco video_id"]
    assert len(runs["coco"]) == len(gt) + 1
    maps = kitti / "panoptic_maps" / "val"
    kitti_zip = _zip(kitti, tmp_path / "kitti.zip", "KITTI-STEP")
    _convert(maps, tmp_path / "k1", "kitti-step", kitti, "kitti-step")
    _convert(_zip(maps, tmp_path / "src.zip", "val"), tmp_path / "k2", "kitti-step", kitti_zip, "kitti-step")
    assert tree(tmp_path / "k1") == tree(tmp_path / "k2") and len(tree(tmp_path / "k1")) > 10


# --------------------------------------------------------------------------- bad input


def _refused(capsys, argv: list[str], *words: str) -> None:
    """``vpskit ARGV`` exits 2 with one line of error (no traceback) that holds each of ``words``."""
    capsys.readouterr()
    code = main(argv)
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("vpskit: error: ") and all(w in lines[0] for w in words), lines[0]


def _last(src: Path, ending: str) -> Path:
    return sorted(src.rglob(f"*{ending}"))[-1]


def _rewrite(path: Path, fn) -> None:
    pngio.write_png(path, fn(pngio.read_png(path)))


VIPSEG_BREAKAGES = {
    "missing frame": (lambda s: _last(s, "_cat.png").unlink(), "missing frame"),
    "two files for one frame": (lambda s: shutil.copytree(_last(s, "_cat.png").parent, s / "again" /
                                                          _last(s, "_cat.png").parent.name), "two files for frame"),
    "not in a video folder": (lambda s: shutil.copy(_last(s, "_cat.png"), s / "00000001_cat.png"),
                              "cannot tell which frame this is"),
    "unknown category": (lambda s: _rewrite(_last(s, "_cat.png"), lambda a: np.where(a == 255, 124, a).astype(np.uint8)),
                         "unknown category value 124"),
    "size": (lambda s: _rewrite(_last(s, "_ins.png"), lambda a: a[:, :-1].copy()), "differs from the frame's"),
}
KITTI_BREAKAGES = {
    "missing frame": (lambda s: _last(s, ".png").unlink(), "missing frame"),
    "two files for one frame": (lambda s: shutil.copy(_last(s, ".png"), _last(s, ".png").parent /
                                                      f"{int(_last(s, '.png').stem)}.png"),
                                "two files for frame"),
    "unknown category": (lambda s: _rewrite(_last(s, ".png"), lambda a: np.where(a == 255, 19, a).astype(np.uint8)),
                         "unknown category value 19"),
    "size": (lambda s: _rewrite(_last(s, ".png"), lambda a: a[1:].copy()), "differs from the frame's"),
    "not a sequence folder": (lambda s: shutil.copytree(_last(s, ".png").parent, s / "seq"),
                              "cannot tell which frame this is"),
}


@pytest.mark.parametrize("bench,breakage", [("vipseg", b) for b in VIPSEG_BREAKAGES]
                         + [("kitti-step", b) for b in KITTI_BREAKAGES])
def test_bad_input_is_one_line_and_leaves_out_as_it_was(vipseg, kitti, bench, breakage, capsys, tmp_path):
    if bench == "vipseg":
        root, fmt, (damage, message) = vipseg, "cat-ins", VIPSEG_BREAKAGES[breakage]
        src = _write_source(_vipseg_gt(vipseg), fmt, tmp_path / "src")
    else:
        root, fmt, (damage, message) = kitti, "kitti-step", KITTI_BREAKAGES[breakage]
        src = shutil.copytree(kitti / "panoptic_maps" / "val", tmp_path / "src")
    out = tmp_path / "out"
    _convert(src, out, fmt, root, bench)
    before = tree(out)
    damage(src)
    for target in (out, tmp_path / "fresh"):
        _refused(capsys, ["convert", str(src), str(target), "--from", fmt, "--root", str(root),
                          "--benchmark", bench, "--jobs", "2", "--no-progress"], message, str(src))
    assert tree(out) == before
    assert not (tmp_path / "fresh").exists()


def test_usage_errors_name_the_benchmark(vipseg, kitti, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"1": 124}))
    cases = (([vipseg, "--categories", "trainid"], "neither id nor a JSON mapping file (for VIPSeg)"),
             ([vipseg, "--categories", mapping], "124 is not a VIPSeg category id (0 … 123)"),
             ([kitti, "--split", "test"], "no KITTI-STEP ground truth of split 'test'"),
             ([vipseg, "--split", "test"], "panoptic_gt_VIPSeg_test.json: not found"))
    for (root, *more), message in cases:
        _refused(capsys, ["convert", str(src), str(tmp_path / "o"), "--from", "2ch", "--root", str(root),
                          *map(str, more)], message)
    assert not (tmp_path / "o").exists()


def test_help_states_the_layouts(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("--benchmark", "OUT/pan_pred/{video}/{frame}.png", "OUT/{seq:04d}/{frame:06d}.png",
                  "SRC/1622_4dOzamcDxJO/00000026_cat.png", "SRC/0002/000013.png", "VIPSeg's 0 … 123"):
        assert words in text, words
