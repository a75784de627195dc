"""Re-running `vpskit prepare` with a corrected input repairs ROOT: files copied from a bad input
are copied again and what the later stages made of them is made again."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from test_prepare_e2e import build_paths, first, parts, snapshot
from test_prepare_tree import build_download, zip_folder
from vpskit.cli import main
from vpskit.pngio import decode_png, encode_png
from vpskit.preparation import prepare
from vpskit.verification import verify


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    return build_download(tmp_path_factory.mktemp("repairdl"))


@pytest.fixture(scope="module")
def reference(download, tmp_path_factory):
    root = tmp_path_factory.mktemp("repairref") / "cityscapes_vps"
    assert run(root, download) == 0
    return snapshot(root)


def run(root: Path, dl: dict, *extra: str) -> int:
    return main(["prepare", str(root), str(dl["images"]), str(dl["gtfine"]), "--release", str(dl["release"]),
                 "--jobs", "1", "--no-progress", *extra])


def inputs(base: Path, as_zip: bool) -> dict:
    """The download below ``base`` as folders, or zipped as users get it."""
    tree = build_paths(base)
    if not as_zip:
        return tree
    return {"images": zip_folder(tree["images"].parent, base, base.parent / f"{base.name}-images.zip"),
            "gtfine": zip_folder(tree["gtfine"].parent, base, base.parent / f"{base.name}-gtfine.zip"),
            "release": zip_folder(tree["release"], base, base.parent / f"{base.name}-release.zip")}


def with_text(data: bytes, text: str) -> bytes:
    """The same PNG pixels with a text chunk: other bytes, the same length for texts of one length."""
    info = PngImagePlugin.PngInfo()
    info.add_text("note", text)
    with Image.open(io.BytesIO(data)) as img:
        buf = io.BytesIO()
        img.save(buf, format="PNG", pnginfo=info, compress_level=6)
    return buf.getvalue()


# -- bad inputs: each returns (exit code of the run with it, text its error line names) ------
def truncated_release_inst(dl):
    path = first(dl["release"] / "val" / "inst", "*.png")
    path.write_bytes(path.read_bytes()[:-20])
    return 2, path.name


def other_release_inst(dl):
    # a whole PNG of the right size, but another frame's objects: the run succeeds, wrongly
    a, b = sorted((dl["release"] / "train" / "inst").glob("0001_*.png"))[:2]
    a.write_bytes(b.read_bytes())
    return 0, None


def same_size_release_label(dl):
    path = first(dl["release"] / "val" / "cls", "*.png")
    good = path.read_bytes()
    path.write_bytes(with_text(good, "aaaa"))
    return 0, None


def other_gtfine_color(dl):
    # the 20th frame's colours painted over with another thing colour: a valid label, other outputs
    path = first(dl["gtfine"], "*_gtFine_color.png")
    arr = decode_png(path.read_bytes())
    arr[arr[..., 2] == 142] = (0, 0, 70, 255)  # car -> truck
    path.write_bytes(encode_png(arr))
    return 0, None


def other_frame(dl):
    path = first(dl["images"], "*_000104_leftImg8bit.png")  # video 1, 5th frame
    w, h = Image.open(path).size
    path.write_bytes(encode_png(np.zeros((h, w, 3), dtype=np.uint8)))
    return 0, None


@pytest.mark.parametrize("as_zip", [True, False], ids=["zips", "folders"])
@pytest.mark.parametrize("breaker", [truncated_release_inst, other_release_inst, same_size_release_label,
                                     other_gtfine_color, other_frame])
def test_rerun_with_the_corrected_input_repairs_root(download, reference, tmp_path, capsys, breaker, as_zip):
    bad_base = tmp_path / "bad"
    shutil.copytree(download["base"], bad_base)
    code, named = breaker(build_paths(bad_base))
    bad, good = inputs(bad_base, as_zip), inputs(download["base"], as_zip)
    root = tmp_path / "cityscapes_vps"
    capsys.readouterr()
    assert run(root, bad) == code
    err = capsys.readouterr().err
    if code:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and named in lines[0] and "truncated" in lines[0], err
        assert not (root / "val" / "inst" / named).exists(), "a broken label was unpacked"
    else:
        assert snapshot(root) != reference, "the broken input changed nothing: the test tests nothing"
    assert run(root, good) == 0
    assert snapshot(root) == reference
    assert not parts(root)
    assert verify(root, jobs=1).ok


def test_a_damaged_copy_in_root_is_replaced(download, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    assert run(root, download) == 0
    # an unpacked release label, a merged gtFine label and a fetched frame, cut short
    # (a full disk under an older version, a copy gone wrong)
    damaged = [first(root / "val" / "inst", "*.png"), first(root / "train" / "cls", "*_gtFine_color.png"),
               first(root / "val" / "img_all", "*.png")]
    for path in damaged:
        path.write_bytes(path.read_bytes()[:-20])
    summary = prepare(root, download["images"], download["gtfine"], release=download["release"], jobs=1,
                      progress=False)
    assert snapshot(root) == reference
    written = {r.stage: r.written for r in summary.reports}
    assert (written["release"], written["fetch"], written["merge"]) == (1, 1, 1)
    assert written["panoptic"] == 2 * 2  # labelmap and panoptic_inst of the two relabelled frames
    release = summary.reports[0]
    assert release.videos - release.skipped == 1, release


def test_a_changed_frame_list_rebuilds_the_ground_truth_json(download, reference, tmp_path):
    bad_base = tmp_path / "bad"
    shutil.copytree(download["base"], bad_base)
    bad = build_paths(bad_base)
    path = bad["release"] / "panoptic_im_val_city_vps.json"
    doc = json.loads(path.read_text())
    renamed = doc["images"][0]["file_name"].replace("_newImg8bit", "_leftImg8bit")
    assert renamed != doc["images"][0]["file_name"]
    doc["images"][0]["file_name"] = renamed
    path.write_text(json.dumps(doc))
    root = tmp_path / "cityscapes_vps"
    assert run(root, bad) == 0
    assert renamed in (root / "panoptic_gt_val_city_vps.json").read_text()
    assert run(root, download) == 0
    got = snapshot(root)
    # the frame fetched under the wrong name stays (vpskit deletes no file it does not replace)
    assert got.pop(f"val/img/{renamed}") == reference[f"val/img/{renamed.replace('_leftImg8bit', '_newImg8bit')}"]
    assert got == reference
