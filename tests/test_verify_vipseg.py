"""`vpskit verify` on a prepared VIPSeg folder (synth --benchmark vipseg + prepare): a clean folder
passes; each corruption is one line naming the file and the problem, and exit status 1."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vpskit.cli import main
from vpskit.pngio import id2rgb, read_png, rgb2id, write_png
from vpskit.preparation.vipseg_run import prepare_vipseg
from vpskit.synth.vipseg import THINGS, synthesize_vipseg
from vpskit.verification import verify

SPLIT_JSON = ("panoptic_gt_VIPSeg.json", "panoptic_gt_VIPSeg_train.json")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Path]:
    """(download, prepared folder): 2 train, 1 val and 1 test video of 3 frames."""
    base = tmp_path_factory.mktemp("vipseg-verify")
    synthesize_vipseg(base / "VIPSeg", videos=3, frames=3, test_videos=1, val=1)
    prepare_vipseg(base / "VIPSeg", base / "VIPSeg_720P", jobs=1, progress=False)
    return base / "VIPSeg", base / "VIPSeg_720P"


@pytest.fixture
def copy(clean, tmp_path) -> tuple[Path, Path]:
    """A copy of the clean download and prepared folder, to damage."""
    dl, root = tmp_path / "VIPSeg", tmp_path / "VIPSeg_720P"
    shutil.copytree(clean[0], dl)
    shutil.copytree(clean[1], root)
    return dl, root


def _train(root: Path) -> tuple[str, dict]:
    """The first train video and its annotation entry."""
    doc = json.loads((root / "panoptic_gt_VIPSeg_train.json").read_text())
    return doc["videos"][0]["video_id"], doc["annotations"][0]


def _edit_json(root: Path, edit: Callable[[dict], None]) -> None:
    """Apply ``edit`` to the first train annotation entry of both JSON files that hold it."""
    for name in SPLIT_JSON:
        doc = json.loads((root / name).read_text())
        video = _train(root)[0]
        edit(next(a for a in doc["annotations"] if a["video_id"] == video))
        (root / name).write_text(json.dumps(doc))


def _run(root: Path, *extra: str, capsys) -> tuple[int, list[str]]:
    code = main(["verify", str(root), "--jobs", "1", *extra])
    err = capsys.readouterr().err
    return code, [line.strip() for line in err.splitlines()[1:]]


def test_clean_folder_passes_with_counts(clean, capsys):
    dl, root = clean
    assert main(["verify", str(root), "--jobs", "1", "--download", str(dl)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("verify: OK")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:-1]}
    assert rows["train"][:4] == ["2", "6", "6", "6"]
    assert rows["val"][:4] == ["1", "3", "3", "3"]
    assert rows["test"][:4] == ["1", "3", "-", "-"]
    report = verify(root, jobs=1, progress=False)  # found from panomasksRGB/, no --benchmark needed
    assert report.ok and report.counts["train"]["segments"] > 2 * 3


def _frame(root: Path, top: str, suffix: str = ".png", index: int = 0) -> Path:
    video, ann = _train(root)
    return root / top / video / (ann["annotations"][index]["file_name"][:-4] + suffix)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _recolour(root: Path) -> tuple[Path, str]:
    """Give a thing segment of the last frame that an earlier frame has too a new id (in the PNG and
    the JSON): its raw value then has two ids in the video."""
    path = _frame(root, "panomasksRGB", index=2)
    ids = rgb2id(read_png(path))
    _, ann = _train(root)
    earlier = {s["id"] for a in ann["annotations"][:2] for s in a["segments_info"]}
    seg = next(s for s in ann["annotations"][2]["segments_info"] if s["category_id"] in THINGS and s["id"] in earlier)
    r, g, b = seg["id"] & 255, (seg["id"] >> 8) & 255, seg["id"] >> 16
    new = (r ^ 1) + 256 * g + 65536 * b
    ids[ids == seg["id"]] = new
    write_png(path, id2rgb(ids))

    def edit(a: dict) -> None:
        for s in a["annotations"][2]["segments_info"]:
            if s["id"] == seg["id"]:
                s["id"] = new
    _edit_json(root, edit)
    return path, f"has segment id {new} here but {seg['id']} elsewhere in the video"


def _set_area(root: Path) -> tuple[Path, str]:
    seg = _train(root)[1]["annotations"][0]["segments_info"][0]

    def edit(a: dict) -> None:
        a["annotations"][0]["segments_info"][0]["area"] += 5
    _edit_json(root, edit)
    return _frame(root, "panomasksRGB"), f"segment id {seg['id']}: area {seg['area'] + 5} in the JSON, {seg['area']} pixels"


def _drop_segment(root: Path) -> tuple[Path, str]:
    seg = _train(root)[1]["annotations"][0]["segments_info"][1]

    def edit(a: dict) -> None:
        del a["annotations"][0]["segments_info"][1]
    _edit_json(root, edit)
    return _frame(root, "panomasksRGB"), f"segment id {seg['id']} ({seg['area']} pixels) is not in the JSON"


def _wrong_category(root: Path) -> tuple[Path, str]:
    seg = _train(root)[1]["annotations"][0]["segments_info"][0]

    def edit(a: dict) -> None:
        a["annotations"][0]["segments_info"][0]["category_id"] = 999
    _edit_json(root, edit)
    return _frame(root, "panomasksRGB"), f"segment id {seg['id']}: unknown category 999"


def _other_category(root: Path) -> tuple[Path, str]:
    seg = _train(root)[1]["annotations"][0]["segments_info"][0]
    other = (seg["category_id"] + 1) % 124

    def edit(a: dict) -> None:
        a["annotations"][0]["segments_info"][0]["category_id"] = other
    _edit_json(root, edit)
    return _frame(root, "panomasksRGB"), f"category {other} in the JSON, but its raw value"


def _invalid_raw(root: Path) -> tuple[Path, str]:
    path = _frame(root, "panomasks")
    mask = read_png(path)
    mask[0, :2] = 12600
    write_png(path, mask)
    return path, "invalid raw mask value 12600: category 125 does not exist"


def _rgb_mask(root: Path) -> tuple[Path, str]:
    path = _frame(root, "panomasks")
    mask = read_png(path)
    write_png(path, np.stack([(mask & 255).astype(np.uint8)] * 3, axis=-1))
    return path, "expected an 8- or 16-bit grayscale PNG, found bit depth 8, colour type 2"


def _gray_segments(root: Path) -> tuple[Path, str]:
    path = _frame(root, "panomasksRGB")
    write_png(path, read_png(path)[..., 0])
    return path, "expected an 8-bit RGB PNG, found bit depth 8, colour type 0"


def _truncated_png(root: Path) -> tuple[Path, str]:
    path = _frame(root, "panomasksRGB", index=2)
    _truncate(path)
    return path, ""


def _truncated_jpeg(root: Path) -> tuple[Path, str]:
    path = _frame(root, "images", ".jpg")
    _truncate(path)
    return path, "not a whole JPEG file"


def _small_image(root: Path) -> tuple[Path, str]:
    path = _frame(root, "images", ".jpg")
    out = io.BytesIO()
    Image.new("RGB", (320, 180)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path, "image is 320x180, expected Wx720"


def _missing_rgb(root: Path) -> tuple[Path, str]:
    path = _frame(root, "panomasksRGB", index=1)
    path.unlink()
    return path, "missing (its image exists)"


def _bad_json(root: Path) -> tuple[Path, str]:
    path = root / "panoptic_gt_VIPSeg_val.json"
    _truncate(path)
    return path, "unreadable JSON"


def _categories(root: Path) -> tuple[Path, str]:
    path = root / "panoVIPSeg_categories.json"
    cats = json.loads(path.read_text())
    cats[60]["isthing"] = 0
    path.write_text(json.dumps(cats))
    return path, "categories[60] is {'id': 60, 'name': 'person', 'isthing': 0"


def _stray_video(root: Path) -> tuple[Path, str]:
    """A video folder that the split lists (the download's, copied next to the folders as the VIPSeg
    README lays them out) do not name."""
    shutil.copytree(root / "images" / _train(root)[0], root / "images" / "9_stray")
    for split in ("train", "val", "test"):
        shutil.copy(root.parent / "VIPSeg" / f"{split}.txt", root)
    return root / "images" / "9_stray", "in no split list"


def _split_lists(root: Path) -> tuple[Path, str]:
    """Split lists in ROOT that lack a train video: its folder is in no split and the train JSON
    holds a video the list does not."""
    video = _train(root)[0]
    doc = json.loads((root / "panoptic_gt_VIPSeg.json").read_text())
    names = {s: [v["video_id"] for v in json.loads((root / f"panoptic_gt_VIPSeg_{s}.json").read_text())["videos"]]
             for s in ("train", "val")}
    test = sorted({p.name for p in (root / "images").iterdir()} - {v["video_id"] for v in doc["videos"]})
    for split, videos in (names | {"test": test}).items():
        (root / f"{split}.txt").write_text("".join(f"{v}\n" for v in videos if v != video))
    return root / "images" / video, "in no split list"


def _unlisted_video(root: Path) -> tuple[Path, str]:
    """A train video (of the split lists in ROOT) that neither GT JSON lists."""
    video = _train(root)[0]
    for split in ("train", "val", "test"):
        shutil.copy(root.parent / "VIPSeg" / f"{split}.txt", root)
    for name in SPLIT_JSON:
        doc = json.loads((root / name).read_text())
        for key in ("videos", "annotations"):
            doc[key] = [v for v in doc[key] if v["video_id"] != video]
        (root / name).write_text(json.dumps(doc))
    return root / "panoptic_gt_VIPSeg_train.json", f"video {video} of the train split is not listed"


CORRUPTIONS = [_recolour, _set_area, _drop_segment, _wrong_category, _other_category, _invalid_raw, _rgb_mask,
               _gray_segments, _truncated_png, _truncated_jpeg, _small_image, _missing_rgb, _bad_json,
               _categories, _stray_video, _split_lists, _unlisted_video]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_each_corruption_is_reported_naming_the_file(copy, corrupt, capsys):
    _, root = copy
    path, message = corrupt(root)
    code, lines = _run(root, capsys=capsys)
    assert code == 1, lines
    hits = [line for line in lines if line.startswith(f"{path}:") and message in line]
    assert hits, (path, message, lines)
    assert all(line.startswith(str(root)) for line in lines), lines


def test_download_counts_and_width_rule(copy, capsys):
    dl, root = copy
    video = _train(root)[0]
    frames = sorted((dl / "imgs" / video).iterdir())
    frames[-1].unlink()
    (dl / "panomasks" / video / (frames[-1].stem + ".png")).unlink()
    first = frames[0]
    with Image.open(first) as img:
        w, h = img.size
    Image.new("RGB", (w + h, h)).save(first, "JPEG")
    code, lines = _run(root, "--download", str(dl), capsys=capsys)
    assert code == 1
    assert any(line.startswith(f"{root / 'images' / video}: 3 frames, the download has 2") for line in lines), lines
    assert any(line.startswith(f"{root / 'panomasks' / video}: 3 masks, the download has 2") for line in lines), lines
    width = int(720 * (w + h) / h)
    image = root / "images" / video / (first.stem + ".jpg")
    assert any(line.startswith(f"{image}: image is ") and f"expected {width}x720 (width int(720 * w / h)" in line
               for line in lines), lines
    assert len(lines) == 3, lines
    # without the download, the same folder is clean
    assert _run(root, capsys=capsys)[0] == 0


def test_bad_arguments_are_one_line(copy, tmp_path, capsys):
    _, root = copy
    assert main(["verify", str(root), "--splits", "dev"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["verify", str(tmp_path / "none"), "--benchmark", "vipseg"]) == 2
    assert "no such folder" in capsys.readouterr().err
    cs = tmp_path / "cs"
    cs.mkdir()
    assert main(["verify", str(cs), "--download", str(root)]) == 2
    err = capsys.readouterr().err
    assert "--download: only for VIPSeg" in err and err.count("\n") == 1


def test_zipped_download_and_missing_test_images(copy, tmp_path, capsys):
    """A zipped download is read as a folder is; a test video without images (as the official
    change2_720p.py leaves it) is one line that says why."""
    dl, root = copy
    archive = shutil.make_archive(str(tmp_path / "VIPSeg"), "zip", tmp_path, "VIPSeg")
    assert _run(root, "--download", archive, capsys=capsys) == (0, [])
    test_video = (dl / "test.txt").read_text().split()[0]
    shutil.rmtree(root / "images" / test_video)
    code, lines = _run(root, "--download", archive, "--splits", "test", capsys=capsys)
    assert code == 1
    assert lines == [f"{root / 'images' / test_video}: missing folder (the official change2_720p.py resizes no "
                     "test video; vpskit prepare --benchmark vipseg does)"]
