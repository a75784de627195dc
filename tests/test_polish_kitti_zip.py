"""A KITTI-STEP dataset zipped as a whole (``images/`` and ``panoptic_maps/`` at some depth):
``verify`` checks it as it checks the folder, each problem naming ``zip:member``; every command
that takes a root finds the benchmark in the zip without ``--benchmark``, with the same output
as with it."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from kitti_step_cases import SYNTH_ARGS, write_prediction, zip_folder
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.formats.kitti_step import decode, encode
from vpskit.pngio import read_png, write_png
from vpskit.profiles import detect_benchmark

ARC = "data/KITTI_STEP/"
SPLITS = ("--splits", "train,val")  # the synthetic set has no test sequence


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The synthetic KITTI-STEP folder, a noisy prediction of its val split, and the folder zipped."""
    base = tmp_path_factory.mktemp("polish_kitti_zip")
    root = base / "kitti"
    assert main(["synth", str(root), *SYNTH_ARGS, "--jobs", "1"]) == 0
    write_prediction(root / "panoptic_maps" / "val", base / "noisy", "noisy")
    return root, base / "noisy", zip_folder(root, base / "kitti-step.zip", ARC)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def _problems(err: str) -> list[str]:
    return [line[2:] for line in err.splitlines() if line.startswith("  ")]


def test_verify_reads_the_zip_as_the_folder(kitti, capsys):
    root, _, zipped = kitti
    folder = _run(capsys, "verify", str(root), *SPLITS, "--jobs", "1")
    assert folder[0] == 0 and folder[1].endswith("verify: OK\n")
    assert _run(capsys, "verify", str(zipped), *SPLITS, "--jobs", "1") == folder
    assert _run(capsys, "verify", str(zipped), *SPLITS, "--jobs", "2", "--benchmark", "kitti-step") == folder


def test_verify_finds_the_folders_problems_in_the_zip(kitti, tmp_path, capsys):
    root, _, _ = kitti
    bad = shutil.copytree(root, tmp_path / "bad")
    maps = bad / "panoptic_maps" / "val" / "0002"
    cat, inst = decode(read_png(maps / "000003.png"))
    cat[2, 3] = 77
    write_png(maps / "000003.png", encode(cat, inst))
    (bad / "images" / "val" / "0001" / "000004.png").unlink()
    (maps / "notes.txt").write_text("not a frame")
    (bad / "images" / "train" / "0000" / "000001.png").write_bytes(b"not a png")
    code, out, err = _run(capsys, "verify", str(bad), *SPLITS, "--jobs", "1")
    assert code == 1 and len(_problems(err)) == 4
    zipped = zip_folder(bad, tmp_path / "bad.zip", ARC)
    zcode, zout, zerr = _run(capsys, "verify", str(zipped), *SPLITS, "--jobs", "1")
    assert (zcode, zout) == (code, out)
    assert _problems(zerr) == [p.replace(str(bad), f"{zipped}:{ARC[:-1]}") for p in _problems(err)]
    assert any(f"{zipped}:{ARC}panoptic_maps/val/0002/000003.png: category values 77" in p for p in _problems(zerr))


def test_a_corrupted_member_is_one_problem(kitti, tmp_path, capsys):
    root, _, _ = kitti
    zipped = zip_folder(root, tmp_path / "stored.zip", ARC, method=zipfile.ZIP_STORED)
    member = f"{ARC}panoptic_maps/val/0001/000002.png"
    data = (root / "panoptic_maps" / "val" / "0001" / "000002.png").read_bytes()
    raw = bytearray(zipped.read_bytes())
    at = raw.find(data) + len(data) // 2
    raw[at] ^= 0xFF
    zipped.write_bytes(bytes(raw))
    code, out, err = _run(capsys, "verify", str(zipped), *SPLITS, "--jobs", "1")
    assert code == 1 and "verify: 1 problem(s):" in err
    assert _problems(err) == [f"{zipped}:{member}: cannot read zip member (Bad CRC-32 for file '{member}')"]


def test_zips_that_are_no_kitti_step_dataset(kitti, tmp_path, capsys):
    root, _, _ = kitti
    twice = zip_folder(root, tmp_path / "twice.zip", "a/", {"b/panoptic_maps/val/0001/000000.png": b"x"})
    no_kitti = zip_folder(root / "images" / "val", tmp_path / "frames.zip", "frames/")
    for zipped, words in ((twice, ["twice.zip", "several places", "a/, b/"]),
                          (no_kitti, ["frames.zip", "no panoptic_maps/{split}/ or images/{split}/ folder"])):
        code, _, err = _run(capsys, "verify", str(zipped), "--benchmark", "kitti-step")
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("vpskit: error:"), err
        assert all(w in err for w in words), err


def test_the_benchmark_is_found_in_a_zip(kitti, tmp_path):
    root, _, zipped = kitti
    assert detect_benchmark(zipped).name == "kitti-step"
    assert detect_benchmark(zip_folder(root / "images", tmp_path / "images.zip", "images/")).name == "cityscapes-vps"
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("not a zip")
    assert detect_benchmark(not_zip).name == "cityscapes-vps"  # its reader says what is wrong
    both = zip_folder(root, tmp_path / "both.zip", "", {"x/panomasksRGB/v/0.png": b"x"})
    with pytest.raises(VpsError, match="several benchmarks"):
        detect_benchmark(both)


def _same_with_and_without_benchmark(capsys, args: list[str], written: Path | None = None) -> tuple[str, bytes]:
    """Run ``args`` without and with ``--benchmark kitti-step``: the same exit 0 and stdout, and
    the same bytes at ``written``; returns both."""
    found = []
    for extra in ([], ["--benchmark", "kitti-step"]):
        code, out, err = _run(capsys, *args, *extra)
        assert code == 0, err
        found.append((out, written.read_bytes() if written is not None and written.is_file() else b""))
    assert found[0] == found[1]
    return found[0]


def test_every_command_finds_the_benchmark_in_the_zip(kitti, tmp_path, capsys):
    root, pred, zipped = kitti
    out = tmp_path / "eval"
    _, results = _same_with_and_without_benchmark(
        capsys, ["eval", str(pred), "--root", str(zipped), "--out", str(out), "--jobs", "1"], out / "results.json")
    assert json.loads(results)["evaluation"]["benchmark"] == "kitti-step"
    _same_with_and_without_benchmark(capsys, ["verify", str(zipped), *SPLITS, "--jobs", "1"])
    page = tmp_path / "page.html"
    _, html = _same_with_and_without_benchmark(capsys, ["report", str(pred), "--root", str(zipped), "--out", str(page),
                                                        "--worst", "1", "--jobs", "1"], page)
    assert html.count(b'class="thumb"') == 6  # the worst sequence's frames, read from the zip
    _, compared = _same_with_and_without_benchmark(
        capsys, ["compare", str(pred), str(root / "panoptic_maps" / "val"), "--root", str(zipped), "--reps", "20",
                 "--out", str(tmp_path / "compare.json"), "--jobs", "1"], tmp_path / "compare.json")
    assert json.loads(compared)["evaluation"]["benchmark"] == "kitti-step"
    converted = tmp_path / "converted"
    for extra in ([], ["--benchmark", "kitti-step"]):
        shutil.rmtree(converted, ignore_errors=True)
        assert main(["convert", str(pred), str(converted), "--from", "kitti-step", "--root", str(zipped),
                     "--jobs", "1", "--no-progress", *extra]) == 0
        assert sorted(p.relative_to(converted).as_posix() for p in converted.rglob("*.png")) == \
            sorted(p.relative_to(pred).as_posix() for p in pred.rglob("*.png"))
    sheet = tmp_path / "sheet.png"
    _same_with_and_without_benchmark(capsys, ["show", str(pred), "--root", str(zipped), "--video", "2",
                                              "--errors", "--out", str(sheet)], sheet)
    assert main(["show", str(pred), "--root", str(root), "--video", "2", "--errors",
                 "--out", str(tmp_path / "folder.png")]) == 0
    assert (tmp_path / "folder.png").read_bytes() == sheet.read_bytes()
