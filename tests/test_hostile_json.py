"""Hostile JSON: whatever is wrong with a JSON vpskit reads, the command says so in one line.

File kinds, each through the commands that read it: the release image lists
(``panoptic_im_val``, ``im_all_info_val``) through ``vpskit prepare``, ``vpskit fetch`` and
``vpskit submission``; the ground-truth JSON through ``vpskit eval --gt-json`` and ``vpskit
verify``; ``pred.json`` through ``vpskit eval`` and ``vpskit submission``. Defects: nesting
200,000 levels deep, NaN, Infinity, 10**20, 2.9 and ``true`` where an integer is read, a segment
id listed twice in a frame (same and other category), and values of the wrong type. Each run
must exit 2 with one stderr line naming the file and the defect, no traceback, and every file
written before (the prepared folder, earlier reports, an earlier submission.zip) unchanged.
``verify`` lists problems instead (exit 1): the defect must be its one problem line.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from test_prepare_tree import build_download
from vpskit import naming
from vpskit.cli import main
from vpskit.preparation import prepare

SPLIT = "val"
DEEP = "@deep@"
DEPTH = 200_000
BIG = 10**20
JOBS = ("--jobs", "1", "--no-progress")


def dumps(doc: object) -> str:
    """JSON text of ``doc`` as Python writes it (NaN and Infinity spelt out); the string
    :data:`DEEP` becomes a list nested :data:`DEPTH` levels deep."""
    return json.dumps(doc).replace(json.dumps(DEEP), "[" * DEPTH + "]" * DEPTH)


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file below ``path`` (or the file ``path``) by relative path."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A prepared dataset, a perfect val prediction scored once (reports in its folder) and packed
    once (submission.zip), and the val GT JSON scored once from a copy of its own."""
    base = tmp_path_factory.mktemp("hostile")
    dl = build_download(base / "dl")
    root = base / "cityscapes_vps"
    prepare(root, dl["images"], dl["gtfine"], release=dl["release"], jobs=1, progress=False)
    pred = base / "pred"
    (pred / "pan_pred").mkdir(parents=True)
    gt = json.loads((root / naming.panoptic_gt_json(SPLIT)).read_text())
    anns = []
    for ann in gt["annotations"]:
        shutil.copy(root / SPLIT / "panoptic_video" / ann["file_name"],
                    pred / "pan_pred" / naming.pan_pred_file(ann["image_id"]))
        anns.append({"image_id": ann["image_id"], "file_name": naming.pan_pred_file(ann["image_id"]),
                     "segments_info": [{"id": s["id"], "category_id": s["category_id"]} for s in ann["segments_info"]]})
    (pred / "pred.json").write_text(json.dumps({"annotations": anns}))
    gt_json = base / "gt" / naming.panoptic_gt_json(SPLIT)
    gt_json.parent.mkdir()
    shutil.copy(root / naming.panoptic_gt_json(SPLIT), gt_json)
    w = {"base": base, "root": root, "images": dl["images"], "gtfine": dl["gtfine"], "release": dl["release"],
         "pred": pred, "gt_json": gt_json, "gt_reports": base / "gt-reports", "submission": base / "submission.zip"}
    assert main(["eval", str(pred), "--root", str(root), "--split", SPLIT, *JOBS]) == 0
    assert main(_gt_eval(w)) == 0
    assert main(_submission(w)) == 0
    assert (pred / "results.json").is_file() and (w["gt_reports"] / "results.json").is_file()
    return w


def _gt_eval(w: dict[str, Path]) -> list[str]:
    return ["eval", str(w["pred"]), "--gt-json", str(w["gt_json"]), "--gt-dir",
            str(w["root"] / SPLIT / "panoptic_video"), "--out", str(w["gt_reports"]), *JOBS]


def _submission(w: dict[str, Path]) -> list[str]:
    return ["submission", str(w["pred"]), "--root", str(w["root"]), "--split", SPLIT,
            "--out", str(w["submission"]), *JOBS]


# --------------------------------------------------------------------------- defects
# Each defect edits a parsed JSON in place (or returns another document); the text is then
# written with :func:`dumps`. Each comes with the words the error line must contain.

Edit = Callable[[dict], object]


def _parent(doc: dict, path: tuple):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _set(path: tuple, value: object) -> Edit:
    return lambda doc: _parent(doc, path).__setitem__(path[-1], value)


def _drop(path: tuple) -> Edit:
    return lambda doc: _parent(doc, path).__delitem__(path[-1])


def _duplicate_segment(other_category: bool) -> Edit:
    def edit(doc: dict) -> None:
        segs = doc["annotations"][0]["segments_info"]
        copy = dict(segs[0])
        if other_category:
            copy["category_id"] = next(s["category_id"] for s in segs if s["category_id"] != copy["category_id"])
        segs.append(copy)
    return edit


def _same_file_name(doc: dict) -> None:
    doc["images"][1]["file_name"] = doc["images"][0]["file_name"]


IMAGE = ("images", 1)
RELEASE_DEFECTS: dict[str, tuple[Edit, str]] = {
    "deep nesting": (_set((*IMAGE, "width"), DEEP), "unreadable JSON (nested too deeply)"),
    "NaN": (_set((*IMAGE, "width"), float("nan")), "NaN is not a JSON number: line 1 column"),
    "Infinity": (_set((*IMAGE, "height"), float("inf")), "Infinity is not a JSON number: line 1 column"),
    "-Infinity": (_set((*IMAGE, "height"), -float("inf")), "-Infinity is not a JSON number: line 1 column"),
    "10**20": (_set((*IMAGE, "width"), BIG), f"images[1]: 'width' {BIG} is outside 1 … 65536"),
    "2.9": (_set((*IMAGE, "width"), 2.9), "images[1]: 'width' 2.9 is not an integer"),
    "true": (_set((*IMAGE, "height"), True), "images[1]: 'height' true is not an integer"),
    "zero width": (_set((*IMAGE, "width"), 0), "images[1]: 'width' 0 is outside 1 … 65536"),
    "negative height": (_set((*IMAGE, "height"), -4), "images[1]: 'height' -4 is outside 1 … 65536"),
    "file_name a number": (_set((*IMAGE, "file_name"), 7), "images[1]: 'file_name' is an integer 7, not a string"),
    "a number, not an object": (lambda doc: 3, "the file is an integer 3, not an object"),
    "images an object": (_set(("images",), {}), "'images' is an object of 0 keys, not a list"),
    "image a list": (_set(IMAGE, [1, 2]), "images[1] is a list of 2 items, not an object"),
    "image listed twice": (_same_file_name, "is listed twice"),
}

SEGMENT = ("annotations", 0, "segments_info", 0)
SEGMENT_DEFECTS: dict[str, tuple[Edit, str]] = {  # in the GT JSON and in pred.json
    "deep nesting": (_set((*SEGMENT, "category_id"), DEEP), "unreadable JSON (nested too deeply)"),
    "NaN id": (_set((*SEGMENT, "id"), float("nan")), "NaN is not a JSON number: line 1 column"),
    "Infinity id": (_set((*SEGMENT, "id"), float("inf")), "Infinity is not a JSON number: line 1 column"),
    "Infinity category": (_set((*SEGMENT, "category_id"), float("inf")), "Infinity is not a JSON number: line 1 column"),
    "10**20 id": (_set((*SEGMENT, "id"), BIG), f"segment id {BIG} is outside 1 … 2**24-1"),
    "10**20 category": (_set((*SEGMENT, "category_id"), BIG), f"'category_id' {BIG} is outside 0 …"),
    "2.9 id": (_set((*SEGMENT, "id"), 2.9), "segment id 2.9 is not an integer"),
    "true id": (_set((*SEGMENT, "id"), True), "segment id true is not an integer"),
    "true category": (_set((*SEGMENT, "category_id"), True), "'category_id' true is not an integer"),
    "id 0": (_set((*SEGMENT, "id"), 0), "segment id 0 is outside 1 … 2**24-1 (0 is void)"),
    "negative id": (_set((*SEGMENT, "id"), -3), "segment id -3 is outside 1 … 2**24-1"),
    "id too large for RGB": (_set((*SEGMENT, "id"), 1 << 24), f"segment id {1 << 24} is outside 1 … 2**24-1"),
    "duplicate id": (_duplicate_segment(False), "is listed twice"),
    "duplicate id, other category": (_duplicate_segment(True), "is listed twice"),
    "no id": (_drop((*SEGMENT, "id")), "segments_info[0] has no 'id'"),
    "segment a string": (_set(SEGMENT, "x"), "segments_info[0] is a string 'x', not an object"),
    "segments_info an object": (_set(("annotations", 0, "segments_info"), {}),
                                "'segments_info' is an object of 0 keys, not a list"),
    "file_name a list": (_set(("annotations", 0, "file_name"), ["a"]), "'file_name' is a list of 1 item, not a string"),
    "annotation a list": (_set(("annotations", 0), []), "annotations[0] is a list of 0 items, not an object"),
    "annotations a string": (_set(("annotations",), "none"), "'annotations' is a string 'none', not a list"),
    "a list, not an object": (lambda doc: [doc], "the file is a list of 1 item, not an object"),
}
GT_DEFECTS: dict[str, tuple[Edit, str]] = {
    **SEGMENT_DEFECTS,
    "true iscrowd": (_set((*SEGMENT, "iscrowd"), True), "'iscrowd' true is not an integer"),
    "iscrowd 2": (_set((*SEGMENT, "iscrowd"), 2), "'iscrowd' 2 is outside 0 … 1"),
    "negative area": (_set((*SEGMENT, "area"), -1), "'area' -1 is negative"),
    "image_id a number": (_set(("annotations", 0, "image_id"), 5), "'image_id' is an integer 5, not a string"),
    "image listed twice": (lambda doc: doc["annotations"].append(doc["annotations"][0]),
                           "a second annotation of this image"),
    "isthing true": (_set(("categories", 3, "isthing"), True), "categories[3]: 'isthing' true is not an integer"),
    "category id 2.9": (_set(("categories", 3, "id"), 2.9), "categories[3]: 'id' 2.9 is not an integer"),
    "no categories": (_drop(("categories",)), "no 'categories' list"),
}
PRED_DEFECTS: dict[str, tuple[Edit, str]] = {
    **SEGMENT_DEFECTS,
    "image_id 2.9": (_set(("annotations", 0, "image_id"), 2.9),
                     "'image_id' is a number 2.9, not a string or an integer"),
    "file_name a number": (_set(("annotations", 0, "file_name"), 7), "'file_name' is an integer 7, not a string"),
    "no annotations": (lambda doc: {"predictions": doc["annotations"]}, "no 'annotations' list"),
}
SOME = ("deep nesting", "NaN", "10**20", "true", "images an object")
"""The release defects also run through the slower `prepare` and `verify` (all run through `fetch`)."""


# --------------------------------------------------------------------------- commands
# Each command names the file it breaks (relative to the world) and how it is run; it returns the
# folders whose files must stay as they were.


def _prepare(w: dict[str, Path], tmp_path: Path) -> tuple[list[str], list[Path]]:
    root = tmp_path / "fresh" / "cityscapes_vps"
    return (["prepare", str(root), str(w["images"]), str(w["gtfine"]), "--release", str(w["release"]),
             "--splits", SPLIT, *JOBS], [w["root"], w["release"]])


def _fetch(w: dict[str, Path], tmp_path: Path) -> tuple[list[str], list[Path]]:
    return ["fetch", str(w["root"]), str(w["images"]), "--split", SPLIT, *JOBS], [w["root"]]


def _submit(w: dict[str, Path], tmp_path: Path) -> tuple[list[str], list[Path]]:
    return _submission(w), [w["root"], w["pred"], w["submission"]]


def _eval(w: dict[str, Path], tmp_path: Path) -> tuple[list[str], list[Path]]:
    return ["eval", str(w["pred"]), "--root", str(w["root"]), "--split", SPLIT, *JOBS], [w["root"], w["pred"]]


def _eval_gt(w: dict[str, Path], tmp_path: Path) -> tuple[list[str], list[Path]]:
    return _gt_eval(w), [w["root"], w["pred"], w["gt_reports"]]


def _verify(w: dict[str, Path], tmp_path: Path) -> tuple[list[str], list[Path]]:
    return ["verify", str(w["root"]), "--splits", SPLIT, *JOBS], [w["root"]]


PANOPTIC_IM = ("release", naming.panoptic_im_json(SPLIT))
PANOPTIC_IM_ROOT = ("root", naming.panoptic_im_json(SPLIT))
IM_ALL_INFO = ("release", naming.im_all_info_json(SPLIT))
IM_ALL_INFO_ROOT = ("root", naming.im_all_info_json(SPLIT))
GT = ("gt_json", None)
GT_ROOT = ("root", naming.panoptic_gt_json(SPLIT))
PRED = ("pred", "pred.json")

RUNS = {  # file broken, command, defects
    "panoptic_im via prepare": (PANOPTIC_IM, _prepare, {k: RELEASE_DEFECTS[k] for k in SOME}),
    "panoptic_im via fetch": (PANOPTIC_IM_ROOT, _fetch, RELEASE_DEFECTS),
    "panoptic_im via submission": (PANOPTIC_IM_ROOT, _submit, RELEASE_DEFECTS),
    "im_all_info via prepare": (IM_ALL_INFO, _prepare, {k: RELEASE_DEFECTS[k] for k in SOME}),
    "im_all_info via fetch": (IM_ALL_INFO_ROOT, _fetch, RELEASE_DEFECTS),
    "panoptic_im via verify": (PANOPTIC_IM_ROOT, _verify, {k: RELEASE_DEFECTS[k] for k in SOME}),
    "im_all_info via verify": (IM_ALL_INFO_ROOT, _verify, {k: RELEASE_DEFECTS[k] for k in SOME}),
    "GT JSON via eval --gt-json": (GT, _eval_gt, GT_DEFECTS),
    "GT JSON via verify": (GT_ROOT, _verify, GT_DEFECTS),
    "pred.json via eval": (PRED, _eval, PRED_DEFECTS),
    "pred.json via submission": (PRED, _submit, PRED_DEFECTS),
}
CASES = [(run, defect) for run, (_, _, defects) in RUNS.items() for defect in defects]


def _file(w: dict[str, Path], where: tuple[str, str | None]) -> Path:
    folder, name = where
    return w[folder] if name is None else w[folder] / name


@contextlib.contextmanager
def broken(path: Path, text: str):
    """``path`` holds ``text`` inside the block, its own bytes again after it."""
    good = path.read_bytes()
    path.write_text(text)
    try:
        yield
    finally:
        path.write_bytes(good)


@pytest.mark.parametrize(("run", "defect"), CASES, ids=[f"{r}: {d}" for r, d in CASES])
def test_malformed_json_is_one_line_naming_the_file(world, tmp_path, capsys, run, defect):
    where, command, defects = RUNS[run]
    edit, words = defects[defect]
    path = _file(world, where)
    doc = json.loads(path.read_text())
    replaced = edit(doc)
    if replaced is not None:
        doc = replaced
    args, kept = command(world, tmp_path)
    before = {folder: snapshot(folder) for folder in kept}
    capsys.readouterr()
    with broken(path, dumps(doc)):
        code = main(args)
        broken_bytes = path.read_bytes()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    if command is _verify:  # verify lists problems: the broken JSON is the only one
        assert code == 1, err
        assert lines[0] == "verify: 1 problem(s):", err
        lines = [line.strip() for line in lines[1:]]
    else:
        assert code == 2, err
        assert lines[0].startswith("vpskit: error: "), err
    assert len(lines) == 1, err
    assert path.name in lines[0] and words in lines[0], lines[0]
    for folder, files in before.items():
        after = snapshot(folder)
        if folder in path.parents:  # the broken file itself is restored after the run
            files[path.relative_to(folder).as_posix()] = broken_bytes
            after[path.relative_to(folder).as_posix()] = broken_bytes
        assert after == files, folder
    if command is _prepare:  # the release was unpacked, no frame was fetched
        fresh = tmp_path / "fresh" / "cityscapes_vps"
        assert (fresh / where[1]).is_file() and not (fresh / SPLIT / "img").exists()


def test_messages_name_the_frame_and_segment(world, tmp_path, capsys):
    """The line names the frame (image id) and the segment a defect is in."""
    path = world["pred"] / "pred.json"
    doc = json.loads(path.read_text())
    ann = doc["annotations"][4]
    sid = ann["segments_info"][1]["id"]
    ann["segments_info"][1]["category_id"] = 2.5
    with broken(path, json.dumps(doc)):
        assert main(_eval(world, tmp_path)[0]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"vpskit: error: {path}: {ann['image_id']}: segment id {sid}: 'category_id' 2.5 is not an integer"


def test_deep_nesting_in_a_fresh_interpreter(world):
    """Run as a user does (``python -m vpskit``, the default recursion limit): one line, exit 2."""
    path = world["pred"] / "pred.json"
    doc = json.loads(path.read_text())
    _set((*SEGMENT, "id"), DEEP)(doc)
    with broken(path, dumps(doc)):
        proc = subprocess.run([sys.executable, "-m", "vpskit", *_eval(world, world["base"])[0]],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"vpskit: error: {path}: unreadable JSON (nested too deeply)"


def test_a_json_over_the_size_limit_is_refused(world, tmp_path, capsys, monkeypatch):
    from vpskit import jsonfields
    from vpskit.pngio import Limit

    path = world["pred"] / "pred.json"
    limit = max(path.stat().st_size, world["gt_json"].stat().st_size)
    monkeypatch.setattr(jsonfields, "JSON_LIMIT", Limit(limit, "a JSON file"))
    with broken(path, path.read_text() + " " * (limit + 1 - path.stat().st_size)):
        assert main(_eval(world, tmp_path)[0]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"vpskit: error: {path}: {limit + 1:,} bytes, but a JSON file takes at most {limit:,}"


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "empty file"),
    (b" \n", "empty file"),
    (b"\xff\xfe\xfd", "unreadable JSON (not UTF-8 text"),
    (b'{"annotations": [1' + b"1" * 5000 + b"]}", "unreadable JSON (an integer of more than 4300 digits)"),
    (b'{"annotations":\n  [NaN]}', "unreadable JSON (NaN is not a JSON number: line 2 column 4)"),
    # 1e400 is read as an infinite float: a number, never an integer
    (b'{"annotations": [{"segments_info": [{"id": 1e400, "category_id": 0}]}]}',
     "annotations[0]: segment id inf is not an integer"),
])
def test_undecodable_pred_json_in_a_zip(world, tmp_path, capsys, data, problem):
    """pred.json read from a zip of the prediction folder: the line names the zip and the member."""
    import zipfile

    pred = tmp_path / "pred.zip"
    with zipfile.ZipFile(pred, "w") as zf:
        zf.writestr("pred/pred.json", data)
        for png in sorted((world["pred"] / "pan_pred").iterdir()):
            zf.write(png, f"pred/pan_pred/{png.name}")
    assert main(["eval", str(pred), "--root", str(world["root"]), "--split", SPLIT, *JOBS]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"vpskit: error: {pred}:pred/pred.json: ") and problem in err, err
    assert "\n" not in err
