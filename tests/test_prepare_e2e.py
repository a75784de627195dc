"""End-to-end runs of `vpskit prepare` and the stage commands on a small hand-built download."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_prepare_tree import build_download, build_zips
from vpskit.cli import main
from vpskit.pngio import decode_png, encode_png, rgb2id


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (symlinks followed) by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def parts(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.part")]


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    return build_download(tmp_path_factory.mktemp("dl"))


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    return build_zips(tmp_path_factory.mktemp("zips"))


@pytest.fixture(scope="module")
def reference(download, tmp_path_factory):
    root = tmp_path_factory.mktemp("ref") / "cityscapes_vps"
    code = main(["prepare", str(root), str(download["images"]), str(download["gtfine"]),
                 "--release", str(download["release"]), "--jobs", "1"])
    assert code == 0
    return snapshot(root)


def run_prepare(root, dl, *extra):
    return main(["prepare", str(root), str(dl["images"]), str(dl["gtfine"]),
                 "--release", str(dl["release"]), *extra])


def test_layout_and_counts(reference):
    names = list(reference)
    assert sum(n.startswith("train/img/") for n in names) == 12
    assert sum(n.startswith("val/img/") for n in names) == 12
    assert sum(n.startswith("val/img_all/") for n in names) == 60
    assert sum(n.startswith("test/img_all/") for n in names) == 30
    for split in ("train", "val"):
        for folder in ("cls", "inst", "labelmap", "panoptic_inst", "panoptic_video"):
            assert sum(n.startswith(f"{split}/{folder}/") for n in names) == 12, (split, folder)
        assert f"panoptic_gt_{split}_city_vps.json" in names
    assert not any(n.startswith("test/cls") or n.startswith("test/panoptic") for n in names)
    # merge copies the gtFine files byte for byte under the image-id name
    gt = [n for n in names if n.startswith("val/cls/") and n.endswith("_gtFine_color.png")]
    assert len(gt) == 2


def test_video_json_matches_images(reference):
    doc = json.loads(reference["panoptic_gt_val_city_vps.json"])
    ids = [im["id"] for im in doc["images"]]
    assert ids == sorted(ids) == [a["image_id"] for a in doc["annotations"]]
    track_ids: dict[int, set] = {}
    for ann in doc["annotations"]:
        arr = decode_png(reference[f"val/panoptic_video/{ann['file_name']}"])
        pan = decode_png(reference[f"val/panoptic_inst/{ann['file_name']}"])
        ids_png, areas = np.unique(rgb2id(arr), return_counts=True)
        got = {int(i): int(a) for i, a in zip(ids_png, areas, strict=True) if i}
        assert got == {s["id"]: s["area"] for s in ann["segments_info"]}
        # one colour per pan value, one pan value per colour
        pairs = set(zip(rgb2id(arr).ravel().tolist(), pan.ravel().tolist(), strict=True))
        assert len({p[0] for p in pairs}) == len(pairs) == len({p[1] for p in pairs})
        for s in ann["segments_info"]:
            if s["category_id"] >= 11:
                track_ids.setdefault(s["id"], set()).add(ann["image_id"][:4])
    # the car with k = 0 and the car k = video are tracks over all six frames of a video
    assert all(len(v) == 1 for v in track_ids.values())


def test_zip_inputs_and_jobs_give_identical_bytes(zips, reference, tmp_path):
    root = tmp_path / "z" / "cityscapes_vps"
    assert run_prepare(root, zips, "--jobs", "2") == 0
    assert snapshot(root) == reference
    assert not parts(root)


def test_rerun_skips_and_keeps_bytes(download, reference, tmp_path, capsys):
    root = tmp_path / "cityscapes_vps"
    assert run_prepare(root, download, "--jobs", "2") == 0
    assert snapshot(root) == reference
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert run_prepare(root, download, "--jobs", "2") == 0
    out = capsys.readouterr().out
    assert all(line.split()[5] == "0" for line in out.splitlines()[2:]), out
    assert mtimes == {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_interrupted_outputs_are_completed(download, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    assert run_prepare(root, download, "--jobs", "1", "--splits", "val") == 0
    # What a kill leaves: a missing stage-4 JSON, missing outputs of every stage, stale .part files.
    (root / "panoptic_gt_val_city_vps.json").unlink()
    for folder in ("img", "img_all", "labelmap", "panoptic_video", "cls"):
        victim = sorted((root / "val" / folder).iterdir())[3]
        victim.unlink()
        (victim.parent / f".{victim.name}.part").write_bytes(b"half")
    (root / ".panoptic_gt_val_city_vps.json.part").write_bytes(b"{")
    assert run_prepare(root, download, "--jobs", "2") == 0
    assert snapshot(root) == reference
    assert not parts(root)


def test_stage_commands_one_by_one(download, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    shutil.copytree(download["release"], root)
    for split in ("train", "val", "test"):
        assert main(["fetch", str(root), str(download["images"]), "--split", split, "--jobs", "1"]) == 0
    for split in ("train", "val"):
        assert main(["merge", str(root), str(download["gtfine"]), "--split", split]) == 0
        assert main(["panoptic", str(root), "--split", split]) == 0
        assert main(["video", str(root), "--split", split]) == 0
    got = snapshot(root)
    assert {k: v for k, v in got.items() if k in reference} == reference


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_links(download, reference, tmp_path, link):
    root = tmp_path / "cityscapes_vps"
    assert run_prepare(root, download, "--link", link, "--splits", "val,test", "--jobs", "1") == 0
    got = snapshot(root)
    assert all(reference[k] == v for k, v in got.items())
    assert {k for k in got if k.startswith(("val/", "test/"))} == \
        {k for k in reference if k.startswith(("val/", "test/"))}
    img = next((root / "val" / "img_all").iterdir())
    assert img.is_symlink() if link == "symlink" else img.stat().st_nlink >= 2


# -- bad inputs: one line, exit 2, nothing good damaged, nothing outside ROOT -------------
def copy_download(download, tmp_path):
    base = tmp_path / "dl"
    shutil.copytree(download["base"], base)
    return build_paths(base)


def build_paths(base):
    return {"images": base / "leftImg8bit_sequence" / "val", "gtfine": base / "gtFine" / "val",
            "release": base / "cityscapes_vps", "base": base}


def first(folder: Path, pattern: str) -> Path:
    return sorted(folder.rglob(pattern))[0]


def break_missing_frame(dl):
    path = first(dl["images"], "*_000119_leftImg8bit.png")  # video 1, 20th frame
    path.unlink()
    return path.name, "file not found", "train/img"


def break_truncated_frame(dl):
    path = first(dl["images"], "*_000304_leftImg8bit.png")  # video 3, 5th frame
    path.write_bytes(path.read_bytes()[:-30])
    return path.name, "truncated", "val/img"


def break_size_mismatch(dl):
    path = first(dl["release"] / "val" / "inst", "*.png")
    path.write_bytes(encode_png(np.zeros((5, 7), dtype=np.uint16)))
    return path.name, "differs from its cls", "val/labelmap"


def break_corrupt_label(dl):
    path = first(dl["gtfine"], "*_gtFine_color.png")
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF
    path.write_bytes(bytes(data))
    return path.name, "corrupt", "train/cls"


def break_json(dl):
    path = dl["release"] / "panoptic_im_val_city_vps.json"
    path.write_text('{"images": [')
    return path.name, "unreadable JSON", "val/img"


def _edit_json(dl, value):
    path = dl["release"] / "panoptic_im_val_city_vps.json"
    doc = json.loads(path.read_text())
    doc["images"][2]["file_name"] = value
    path.write_text(json.dumps(doc))
    return path.name


def break_dotdot(dl):
    return _edit_json(dl, "../../../escaped_leftImg8bit.png"), "'..'", "val/img"


def break_absolute(dl):
    return _edit_json(dl, "/tmp/escaped_leftImg8bit.png"), "absolute path", "val/img"


@pytest.mark.parametrize("breaker", [break_missing_frame, break_truncated_frame, break_size_mismatch,
                                     break_corrupt_label, break_json, break_dotdot, break_absolute])
def test_bad_input_one_line_exit_2(download, reference, tmp_path, capsys, breaker):
    dl = copy_download(download, tmp_path)
    root = tmp_path / "out" / "cityscapes_vps"
    assert run_prepare(root, dl, "--jobs", "1") == 0
    before = snapshot(root)
    name, problem, folder = breaker(dl)
    # the output that needs the broken input is gone; the others must stay as they were
    shutil.rmtree(root / folder)
    for key in [k for k in before if k.startswith(folder + "/")]:
        del before[key]
    # a release that changed is unpacked again: take the broken files
    for src in dl["release"].rglob("*"):
        dst = root / src.relative_to(dl["release"])
        if src.is_file() and dst.exists() and src.read_bytes() != dst.read_bytes():
            dst.write_bytes(src.read_bytes())
            before[src.relative_to(dl["release"]).as_posix()] = src.read_bytes()
    capsys.readouterr()
    outside = set(tmp_path.rglob("*"))
    code = run_prepare(root, dl, "--jobs", "2", "--no-progress")
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert name in lines[0] and problem in lines[0], lines[0]
    assert "Traceback" not in err
    after = snapshot(root)
    assert {k: after.get(k) for k in before} == before
    assert not parts(root)
    new = {p for p in set(tmp_path.rglob("*")) - outside if root not in p.parents}
    assert not new
    assert not Path("/tmp/escaped_leftImg8bit.png").exists()


def test_test_split_has_no_labels(download, tmp_path, capsys):
    code = main(["merge", str(tmp_path), str(download["gtfine"]), "--split", "test"])
    assert code == 2
    assert "no public labels" in capsys.readouterr().err


def test_kill_9_then_rerun_is_identical(tmp_path):
    dl = build_download(tmp_path / "dl", size=(128, 64))
    cmd = [sys.executable, "-m", "vpskit", "prepare", None, str(dl["images"]), str(dl["gtfine"]),
           "--release", str(dl["release"]), "--jobs", "1", "--no-progress"]
    ref = tmp_path / "ref"
    cmd[4] = str(ref)
    subprocess.run(cmd, check=True, capture_output=True)
    expected = snapshot(ref)
    interrupted = 0
    # Kill when a given share of the outputs exists, from the release files to the last JSON.
    pngs = sum(1 for k in expected if k.endswith(".png"))
    for i, share in enumerate((0.1, 0.35, 0.6, 0.8, 0.95)):
        root = tmp_path / f"run{i}"
        cmd[4] = str(root)
        cmd[-2] = str(1 + i % 2)  # in-process and on a pool of workers
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        while proc.poll() is None and (
                not root.exists() or sum(1 for _ in root.rglob("*.png")) < share * pngs):
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        interrupted += snapshot(root) != expected
        assert main(["prepare", str(root), str(dl["images"]), str(dl["gtfine"]),
                     "--release", str(dl["release"]), "--jobs", "1", "--no-progress"]) == 0
        assert snapshot(root) == expected, share
        assert not parts(root)
    assert interrupted >= 3, f"only {interrupted} runs were stopped before the end"


def test_stale_video_frame_is_recoloured(download, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    assert run_prepare(root, download, "--jobs", "1", "--splits", "val") == 0
    # a frame coloured by another assignment (as when the split's videos changed)
    victim = sorted((root / "val" / "panoptic_video").iterdir())[1]
    arr = decode_png(victim.read_bytes())
    victim.write_bytes(encode_png(arr[..., ::-1].copy()))
    (root / "panoptic_gt_val_city_vps.json").unlink()
    assert run_prepare(root, download, "--jobs", "1", "--splits", "val") == 0
    assert (root / "val" / "panoptic_video" / victim.name).read_bytes() == \
        reference[f"val/panoptic_video/{victim.name}"]
    assert (root / "panoptic_gt_val_city_vps.json").read_bytes() == \
        reference["panoptic_gt_val_city_vps.json"]


def test_links_from_a_zip_are_copies(zips, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    assert run_prepare(root, zips, "--link", "symlink", "--splits", "test", "--jobs", "1") == 0
    frames = sorted((root / "test" / "img_all").iterdir())
    assert len(frames) == 30 and not any(p.is_symlink() for p in frames)
    assert all(reference[f"test/img_all/{p.name}"] == p.read_bytes() for p in frames)
