"""Stages 3 and 4 in one pass (`prepare --jobs 1`): the frames stage 3 makes reach stage 4 in
memory, with the same outputs, reports and resume behaviour as the two stages one after the
other on a pool of workers."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from test_prepare_tree import build_download
from vpskit.cli import main
from vpskit.pngio import decode_png, encode_png, rgb2id
from vpskit.preparation import assign_colors
from vpskit.preparation import video as video_mod
from vpskit.preparation.video import TrackColors


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_prepare(root: Path, dl: dict, *extra: str) -> int:
    return main(["prepare", str(root), str(dl["images"]), str(dl["gtfine"]),
                 "--release", str(dl["release"]), "--no-progress", *extra])


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    return build_download(tmp_path_factory.mktemp("dl"), size=(96, 48))


def test_a_videos_colours_depend_only_on_the_videos_before_it():
    # Crowded enough (rider: 29,791 colours) that hash candidates collide and the box scan runs.
    pairs = [(v, 12000 + k) for v in range(1, 16) for k in range(0, 1000, 1 + v % 3)]
    pairs += [(v, x) for v in range(1, 16) for x in (0, 10, 11, 255, 13000 + v)]
    whole = assign_colors("train", pairs)
    for last in (1, 7, 14):
        prefix = assign_colors("train", [p for p in pairs if p[0] <= last])
        assert prefix == {p: c for p, c in whole.items() if p[0] <= last}
    colors = TrackColors("train")
    given = {}
    for v in range(1, 16):
        given.update({(v, x): c for x, c in colors.add(v, [x for w, x in pairs if w == v]).items()})
    assert given == whole
    with pytest.raises(ValueError, match="video 15 given after video 15"):
        colors.add(15, [13000])


def test_jobs_1_reads_no_frame_it_made_and_equals_the_pool(download, tmp_path, monkeypatch, capsys):
    reads = []
    real = video_mod.read_pan_runs
    monkeypatch.setattr(video_mod, "read_pan_runs", lambda *a: reads.append(a[2]) or real(*a))
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_prepare(one, download, "--jobs", "1") == 0
    table_one = capsys.readouterr().out
    assert reads == []
    assert run_prepare(two, download, "--jobs", "2") == 0
    table_two = capsys.readouterr().out
    assert snapshot(one) == snapshot(two)
    frames = sum(1 for s in ("train", "val") for _ in (one / s / "panoptic_inst").iterdir())
    assert frames == 24  # 4 labelled videos

    def counts(table: str) -> list[list[str]]:  # every column but the seconds
        return [line.split()[:-1] for line in table.splitlines()[2:]]
    assert counts(table_one) == counts(table_two)
    video_row = next(r for r in counts(table_one) if r[0] == "video")
    assert video_row[2:] == ["4", "0", str(frames), str(frames + 2)]


def test_a_panoptic_inst_frame_already_there_is_what_stage_4_colours(download, tmp_path):
    roots = []
    for jobs in ("1", "2"):
        root = tmp_path / f"jobs{jobs}"
        assert run_prepare(root, download, "--jobs", jobs, "--splits", "val") == 0
        # A hand-made panoptic_inst frame (stage 3 keeps it), its labelmap and the JSON missing.
        name = sorted((root / "val" / "panoptic_inst").iterdir())[2].name
        pan_path = root / "val" / "panoptic_inst" / name
        pan = decode_png(pan_path.read_bytes())
        assert not (pan == 13777).any()
        pan[:8, :8] = 13777
        pan_path.write_bytes(encode_png(pan))
        (root / "val" / "labelmap" / name).unlink()
        (root / "panoptic_gt_val_city_vps.json").unlink()
        assert run_prepare(root, download, "--jobs", jobs, "--splits", "val") == 0
        assert (decode_png(pan_path.read_bytes()) == pan).all()
        ids = rgb2id(decode_png((root / "val" / "panoptic_video" / name).read_bytes()))
        doc = json.loads((root / "panoptic_gt_val_city_vps.json").read_text())
        info = next(a["segments_info"] for a in doc["annotations"] if a["file_name"] == name)
        assert [(s["category_id"], s["area"]) for s in info if s["id"] == int(ids[0, 0])] == [(13, 64)]
        assert np.count_nonzero(ids == ids[0, 0]) == 64
        roots.append(root)
    assert snapshot(roots[0]) == snapshot(roots[1])


def test_cls_alpha_and_rgb_cls_change_nothing(download, tmp_path):
    """Stage 3 reads a colour label's pixels as words whose top byte is not the colour's (the
    alpha, or the next pixel's red): varying alpha, or no alpha at all, gives the same tree."""
    rng = np.random.default_rng(3)
    roots = []
    for kind in ("rgba", "alpha", "rgb"):
        base = tmp_path / kind
        shutil.copytree(download["base"], base)
        dl = {k: base / Path(v).relative_to(download["base"]) for k, v in download.items()}
        labels = [*Path(dl["release"]).glob("*/cls/*.png"), *Path(dl["gtfine"]).rglob("*_color.png")]
        assert len(labels) == 24
        for p in labels:
            arr = decode_png(p.read_bytes())
            assert arr.shape[2] == 4
            if kind == "alpha":
                arr[..., 3] = rng.integers(0, 256, arr.shape[:2], dtype=np.uint8)
            p.write_bytes(encode_png(arr if kind != "rgb" else arr[..., :3].copy()))
        roots.append(tmp_path / f"out-{kind}")
        assert run_prepare(roots[-1], dl, "--jobs", "1", "--splits", "train,val") == 0
    outputs = [{k: v for k, v in snapshot(r).items() if "/cls/" not in k} for r in roots]
    assert outputs[0] == outputs[1] == outputs[2]
    things = [s for a in json.loads(outputs[0]["panoptic_gt_val_city_vps.json"])["annotations"]
              for s in a["segments_info"] if s["category_id"] >= 11]
    assert len(things) >= 6


def test_categories_of_packed_colours():
    from vpskit.categories import CATEGORIES, pack_color
    from vpskit.preparation.panoptic import categories_of

    colors = [pack_color(c.color) for c in CATEGORIES]
    others = [0, 1, (1 << 24) - 1, colors[0] + 1, colors[-1] - 1, min(colors) - 1, max(colors) + 1]
    got = categories_of(np.array(colors + others, dtype=np.uint32).reshape(-1, 1))
    assert got.dtype == np.uint8 and got.shape == (len(colors) + len(others), 1)
    assert got.ravel().tolist() == [c.id for c in CATEGORIES] + [255] * len(others)
    assert categories_of(np.zeros(0, dtype=np.int64)).shape == (0,)


def test_thing_value_table_is_the_rule():
    from vpskit.preparation.video import THING_VALUE_LUT, is_thing_value

    assert THING_VALUE_LUT.tolist() == [is_thing_value(v) for v in range(1 << 16)]
    assert THING_VALUE_LUT[[11, 18, 11000, 18999, 13042]].all()
    assert not THING_VALUE_LUT[[0, 10, 19, 255, 999, 10999, 19000, 65535]].any()
