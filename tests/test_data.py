"""`vpskit.data` on a synthetic prepared root, from the folder and from a zip of it: items match
the PNGs on disk pixel for pixel, clips stay in their video, track ids follow the ground-truth
JSON, reference frames are in range and reproducible per epoch, and worker processes (a process
pool, a torch DataLoader) give the items an in-process loop gives."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from datacases import build_root, ids_of, pixels, same, zip_root
from vpskit import naming, pngio
from vpskit.categories import CATEGORY_BY_ID
from vpskit.data import VideoPanopticDataset
from vpskit.errors import VpsError


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("data")
    folder = build_root(base)
    return {"folder": folder, "zip": zip_root(folder, base / "prepared.zip")}


@pytest.fixture(scope="module")
def folder(roots) -> Path:
    return roots["folder"]


def _gt(folder: Path, split: str) -> dict:
    return json.loads((folder / naming.panoptic_gt_json(split)).read_text())


def _boxes(ids: np.ndarray, segment: int) -> list[int]:
    ys, xs = np.nonzero(ids == segment)
    if not ys.size:
        return [0, 0, 0, 0]
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


# --------------------------------------------------------------------------- items


@pytest.mark.parametrize("kind", ["folder", "zip"])
@pytest.mark.parametrize("split", ["train", "val"])
def test_items_match_the_pngs_and_the_json(roots, folder, kind, split):
    ds = VideoPanopticDataset(roots[kind], split)
    anns = _gt(folder, split)["annotations"]
    assert len(ds) == len(anns) == 6 * 2
    for item, ann in zip((ds[i] for i in range(len(ds))), anns, strict=True):
        iid = naming.parse_image_id(ann["image_id"])
        name = ann["file_name"]
        assert item["image_id"] == ann["image_id"] and item["video"] == iid.video
        assert item["frame"] == naming.ANNOTATED_OFFSETS[iid.position]
        assert item["file_name"] == naming.image_file(iid)
        image = pixels(folder / split / "img" / item["file_name"])
        assert item["image"].dtype == np.uint8 and np.array_equal(item["image"], image)
        semantic = pixels(folder / split / "labelmap" / name)
        assert item["semantic"].dtype == np.uint8 and np.array_equal(item["semantic"], semantic)
        assert set(np.unique(semantic).tolist()) <= set(range(19)) | {255}
        ids = ids_of(folder / split / "panoptic_video" / name)
        assert item["panoptic"].dtype == np.int32 and np.array_equal(item["panoptic"], ids)
        segs = item["segments"]
        records = sorted(ann["segments_info"], key=lambda r: r["id"])
        assert segs["id"].tolist() == [r["id"] for r in records]
        assert segs["category_id"].tolist() == [r["category_id"] for r in records]
        assert segs["iscrowd"].tolist() == [bool(r["iscrowd"]) for r in records]
        assert segs["area"].tolist() == [r["area"] for r in records] == [int((ids == r["id"]).sum()) for r in records]
        assert segs["isthing"].tolist() == [CATEGORY_BY_ID[r["category_id"]].isthing for r in records]
        assert segs["bbox"].tolist() == [_boxes(ids, r["id"]) for r in records]


@pytest.mark.parametrize("split", ["train", "val"])
def test_track_ids_follow_the_ground_truth_across_frames(folder, split):
    ds = VideoPanopticDataset(folder, split)
    by_video: dict[int, list[dict]] = {}
    for i in range(len(ds)):
        item = ds[i]
        by_video.setdefault(item["video"], []).append(item["segments"])
    objects = 0
    for frames in by_video.values():
        track_of: dict[int, int] = {}   # GT segment id -> track id, over the video
        for segs in frames:
            for sid, tid, thing, crowd in zip(segs["id"].tolist(), segs["track_id"].tolist(),
                                              segs["isthing"].tolist(), segs["iscrowd"].tolist(), strict=True):
                if not thing or crowd:
                    assert tid == 0
                    continue
                assert track_of.setdefault(sid, tid) == tid  # one number per object in the video
        # numbered 1, 2, ... in increasing segment id, as `vpskit show --labels` numbers them
        assert [track_of[sid] for sid in sorted(track_of)] == list(range(1, len(track_of) + 1))
        objects += len(track_of)
        repeated = [sid for sid in track_of if sum(sid in s["id"] for s in frames) > 1]
        assert repeated, "the synthetic videos have objects seen in several frames"
    assert objects > 10


# --------------------------------------------------------------------------- clips


@pytest.mark.parametrize(("clip", "stride"), [(3, 1), (2, 2), (6, 1)])
def test_clips_enumerate_every_clip_and_never_cross_videos(folder, clip, stride):
    single = VideoPanopticDataset(folder, "train")
    ds = VideoPanopticDataset(folder, "train", clip=clip, clip_stride=stride)
    span = (clip - 1) * stride
    assert len(ds) == 2 * (6 - span)
    starts = []
    for i in range(len(ds)):
        item = ds[i]
        frames = [single[single_index] for single_index in _positions(single, item["image_id"])]
        assert {f["video"] for f in frames} == {item["video"]}
        positions = [naming.parse_image_id(x).position for x in item["image_id"]]
        assert positions == list(range(positions[0], positions[0] + span + 1, stride))
        starts.append((item["video"], positions[0]))
        assert item["image"].shape == (clip, 64, 128, 3) and item["panoptic"].shape == (clip, 64, 128)
        for t, frame in enumerate(frames):
            for key in ("image", "semantic", "panoptic"):
                assert np.array_equal(item[key][t], frame[key])
            assert same(item["segments"][t], frame["segments"]) and item["frame"][t] == frame["frame"]
    videos = [video[0].video for video in single.videos]
    assert starts == [(v, s) for v in videos for s in range(6 - span)]


def _positions(single: VideoPanopticDataset, image_ids: list[str]) -> list[int]:
    order = [e.image_id for video in single.videos for e in video]
    return [order.index(i) for i in image_ids]


def test_frames_all_lists_img_all_with_labels_on_annotated_frames(folder):
    info = json.loads((folder / naming.im_all_info_json("val")).read_text())
    ds = VideoPanopticDataset(folder, "val", frames="all")
    annotated = {item["image_id"]: item for item in VideoPanopticDataset(folder, "val")}
    assert len(ds) == len(info["images"]) == 60
    ids = {im["file_name"]: im["id"] for im in info["images"]}
    labelled = 0
    for i in range(len(ds)):
        item = ds[i]
        assert item["image_id"] == ids[item["file_name"]]
        assert item["frame"] == i % 30
        assert np.array_equal(item["image"], pixels(folder / "val" / "img_all" / item["file_name"]))
        if item["frame"] in naming.ANNOTATED_OFFSETS:
            labelled += 1
            same_frame = annotated[item["annotated_id"]]
            assert same_frame["frame"] == item["frame"] and same_frame["video"] == item["video"]
            for key in ("image", "semantic", "panoptic", "segments"):
                assert same(item[key], same_frame[key])
        else:
            assert not {"semantic", "panoptic", "segments", "annotated_id"} & set(item)
    assert labelled == 12
    clips = VideoPanopticDataset(folder, "val", frames="all", clip=2, clip_stride=5)
    item = clips[4]  # frames 4 and 9: both annotated, labels stacked
    assert item["frame"] == [4, 9] and item["semantic"].shape == (2, 64, 128)
    assert not {"semantic", "segments", "annotated_id"} & set(clips[0])  # frames 0 and 5
    mixed = VideoPanopticDataset(folder, "val", frames="all", clip=2)[3]  # frames 3 and 4
    assert mixed["frame"] == [3, 4] and mixed["image"].shape == (2, 64, 128, 3)
    assert "semantic" not in mixed and mixed["segments"][0] is None
    assert same(mixed["segments"][1], annotated[mixed["annotated_id"][1]]["segments"])


def test_test_split_has_images_and_no_labels(folder):
    keys = {"image", "image_id", "file_name", "video", "frame"}
    annotated = VideoPanopticDataset(folder, "test")
    every = VideoPanopticDataset(folder, "test", frames="all")
    assert len(annotated) == 6 and len(every) == 30
    assert set(annotated[5]) == keys and set(every[28]) == keys and set(every[29]) == keys | {"annotated_id"}
    assert every[29]["annotated_id"] == annotated[5]["image_id"]
    assert np.array_equal(every[29]["image"], annotated[5]["image"]) and every[0]["image"].shape == (64, 128, 3)


# --------------------------------------------------------------------------- reference frames


def test_reference_frame_lies_in_the_range_and_is_reproducible_per_epoch(folder):
    plain = VideoPanopticDataset(folder, "train")
    by_id = {plain[i]["image_id"]: plain[i] for i in range(len(plain))}
    drawn = {}
    for lo, hi in ((-1, 1), (-2, 3)):
        ds = VideoPanopticDataset(folder, "train", reference=(lo, hi), seed=3)
        assert len(ds) == 12
        for epoch in (0, 1, 2):
            ds.set_epoch(epoch)
            offsets = []
            for i in range(len(ds)):
                item = ds[i]
                ref, off = item["reference"], item["reference_offset"]
                pos = naming.parse_image_id(item["image_id"]).position
                ref_pos = naming.parse_image_id(ref["image_id"]).position
                assert ref["video"] == item["video"] and off != 0 and lo <= off <= hi and ref_pos == pos + off
                assert same(ref, by_id[ref["image_id"]])
                offsets.append(off)
            drawn[(lo, hi, epoch)] = offsets
            again = VideoPanopticDataset(folder, "train", reference=(lo, hi), seed=3)
            again.set_epoch(epoch)
            assert [again[i]["reference_offset"] for i in reversed(range(len(again)))] == offsets[::-1]
        assert drawn[(lo, hi, 0)] != drawn[(lo, hi, 1)] or drawn[(lo, hi, 1)] != drawn[(lo, hi, 2)]
    assert set(drawn[(-2, 3, 0)]) - {-1, 1}, "a wider range draws wider offsets"
    # only frames with a frame at some offset are items: (2, 3) leaves out each video's last two
    assert len(VideoPanopticDataset(folder, "train", reference=(2, 3))) == 2 * 4


# --------------------------------------------------------------------------- workers


def _items(ds: VideoPanopticDataset) -> list:
    return [ds[i] for i in range(len(ds))]


@pytest.mark.parametrize("kind", ["folder", "zip"])
@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_a_two_process_pool_yields_the_in_process_items(roots, kind, start):
    ds = VideoPanopticDataset(roots[kind], "val", reference=(-1, 1))
    ds.set_epoch(5)
    expected = _items(ds)  # this process has its zip handle open now: forked workers must not share it
    with multiprocessing.get_context(start).Pool(2) as pool:
        got = pool.map(ds.__getitem__, range(len(ds)), chunksize=1)
    assert same(got, expected)


def test_a_pickled_dataset_opens_its_own_zip_handle(roots):
    ds = VideoPanopticDataset(roots["zip"], "val")
    first = ds[0]
    handle = ds.root.source._handle
    assert handle._zip is not None and handle._pid == os.getpid()
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.root.source._handle._zip is None
    assert same(copy[0], first) and copy.root.source._handle._zip is not handle._zip
    handle._pid = -1  # as a forked process sees it: opened by another process
    opened = handle._zip
    assert same(ds[1], _items(copy)[1]) and handle._zip is not opened


def _double_semantic(item: dict) -> dict:
    return {**item, "semantic": item["semantic"].astype(np.int64) * 2, "seen": True}


def test_transform_applies_to_the_whole_item(folder):
    plain = VideoPanopticDataset(folder, "val")
    ds = VideoPanopticDataset(folder, "val", transform=_double_semantic)
    item = ds[2]
    assert item["seen"] and np.array_equal(item["semantic"], plain[2]["semantic"].astype(np.int64) * 2)
    assert np.array_equal(item["image"], plain[2]["image"])


def _as_it_is(item: dict) -> dict:
    return item


def _torch_or_skip():
    try:
        import torch
    except ImportError:
        if os.environ.get("VPSKIT_REQUIRE_TORCH"):
            pytest.fail("torch is required here (VPSKIT_REQUIRE_TORCH) but cannot be imported")
        pytest.skip("torch is not installed (the 'torch' extra; CI installs its CPU wheel)")
    return torch


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_a_torch_dataloader_with_two_workers_yields_the_in_process_items(roots, kind):
    torch = _torch_or_skip()
    from vpskit.data import collate, to_tensors

    ds = VideoPanopticDataset(roots[kind], "val", reference=(-1, 1))
    ds.set_epoch(2)
    expected = _items(ds)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, collate_fn=_as_it_is,
                                         multiprocessing_context="spawn")
    assert same(list(loader), expected)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert [b["image"].shape for b in batches] == [(4, 3, 64, 128)] * 3
    for b, start in zip(batches, range(0, 12, 4), strict=True):
        want = [to_tensors(item) for item in expected[start:start + 4]]
        assert b["image"].dtype == torch.uint8 and b["panoptic"].dtype == torch.int32
        assert torch.equal(b["image"], torch.stack([w["image"] for w in want]))
        assert torch.equal(b["semantic"][1], torch.from_numpy(expected[start + 1]["semantic"]))
        assert b["image_id"] == [item["image_id"] for item in expected[start:start + 4]]
        assert torch.equal(b["segments"][3]["bbox"], torch.from_numpy(expected[start + 3]["segments"]["bbox"]))
        assert torch.equal(b["reference"]["panoptic"][0], torch.from_numpy(expected[start]["reference"]["panoptic"]))
    item = to_tensors(expected[0])
    assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), expected[0]["image"])


def test_data_imports_without_torch_and_says_so_when_asked(folder, monkeypatch):
    code = ("import sys\nimport vpskit.data\nassert 'torch' not in sys.modules\n"
            f"vpskit.data.VideoPanopticDataset({str(folder)!r}, 'val')[0]\nassert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    from vpskit.data import to_tensors

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(VpsError, match=r"^torch: not installed: install vpskit with its 'torch' extra"):
        to_tensors(VideoPanopticDataset(folder, "val")[0])


# --------------------------------------------------------------------------- bad input


def test_bad_arguments_and_files_are_one_line(folder, tmp_path):
    cases = [
        (lambda: VideoPanopticDataset(tmp_path / "absent", "val"), "no such file or folder"),
        (lambda: VideoPanopticDataset(folder, "tain"), "unknown"),
        (lambda: VideoPanopticDataset(folder, "train", frames="all"), "lists no frames besides"),
        (lambda: VideoPanopticDataset(folder, "val", frames="every"), "is not one of"),
        (lambda: VideoPanopticDataset(folder, "val", clip=0), "clip: must be a positive integer"),
        (lambda: VideoPanopticDataset(folder, "val", reference=(1, -1)), "reference: must be a range"),
        (lambda: VideoPanopticDataset(folder, "val", reference=(0, 0)), r"reference: \(0, 0\) holds no offset"),
        (lambda: VideoPanopticDataset(folder, "val", reference=1), "reference: must be a range"),
        (lambda: VideoPanopticDataset(folder, "val", reference=(-1, 1), clip=2), "needs clip=1"),
    ]
    for make, words in cases:
        with pytest.raises(VpsError, match=words) as exc:
            make()
        assert "\n" not in str(exc.value)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "no dataset here")
    with pytest.raises(VpsError, match="no panoptic_im_val_city_vps.json inside the zip"):
        VideoPanopticDataset(tmp_path / "other.zip", "val")


def test_a_damaged_label_is_one_line_naming_it(folder, tmp_path):
    copy = tmp_path / "cityscapes_vps"
    shutil.copytree(folder, copy)
    ds = VideoPanopticDataset(copy, "val")
    name = ds.videos[0][1].labels.panoptic_name
    png = copy / "val" / "panoptic_video" / name
    ids = ids_of(png)
    ids[0, 0] = 0x123456
    pngio.write_png(png, pngio.id2rgb(ids))
    with pytest.raises(VpsError, match=rf"{name}: segment id {0x123456} is not in the ground-truth JSON"):
        ds[1]
    png.write_bytes(png.read_bytes()[:100])
    with pytest.raises(VpsError, match=rf"{name}: corrupt or truncated PNG"):
        ds[1]
    assert ds[0]["image"].shape == (64, 128, 3)
