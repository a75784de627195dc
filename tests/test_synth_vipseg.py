"""The synthetic VIPSeg download: the raw layout and mask encoding of the real one."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from vpskit.profiles.vipseg import raw_category
from vpskit.synth.vipseg import INVALID_VALUES, synthesize_vipseg


def _tree_digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_layout_and_encoding(tmp_path):
    plan = synthesize_vipseg(tmp_path, videos=3, frames=4, test_videos=1)
    assert [s.split for s in plan] == ["train", "train", "val", "test"]
    for split in ("train", "val", "test"):
        listed = (tmp_path / f"{split}.txt").read_text().splitlines()
        assert listed == [s.name for s in plan if s.split == split]
    things = 0
    for spec in plan:
        assert len(spec.name.split("_", 1)[1]) == 11
        jpgs = sorted(p.stem for p in (tmp_path / "imgs" / spec.name).iterdir())
        assert jpgs == list(spec.frames) and len(set(spec.frames)) == 4
        masks_dir = tmp_path / "panomasks" / spec.name
        assert masks_dir.is_dir() == (spec.split != "test")
        for name in spec.frames if spec.split != "test" else ():
            with Image.open(tmp_path / "imgs" / spec.name / f"{name}.jpg") as im:
                assert (im.format, im.mode, im.size) == ("JPEG", "RGB", spec.size)
            with Image.open(masks_dir / f"{name}.png") as im:
                assert im.mode == "I;16" and im.size == spec.size
                mask = np.array(im)
            values = [int(v) for v in np.unique(mask)]
            assert 0 in values or name == spec.frames[0]
            for v in values:
                cat = raw_category(v)
                if cat is not None and cat[1] is not None:
                    things += 1
                    assert cat[0] in {2, 4, 8, 10} | set(range(41, 124))
    assert things > 10
    last_val = [s for s in plan if s.split == "val"][-1]
    first = np.array(Image.open(tmp_path / "panomasks" / last_val.name / f"{last_val.frames[0]}.png"))
    assert all(v == 0 or v > 124 for v in np.unique(first).tolist()), "the last val video starts without stuff"


def test_deterministic_and_invalid_values_only_when_asked(tmp_path):
    synthesize_vipseg(tmp_path / "a", videos=2, frames=3, test_videos=0)
    synthesize_vipseg(tmp_path / "b", videos=2, frames=3, test_videos=0)
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    plan = synthesize_vipseg(tmp_path / "c", videos=2, frames=3, test_videos=0, invalid=True)
    for spec in plan:
        values = set()
        for name in spec.frames:
            values |= set(np.unique(np.array(Image.open(tmp_path / "c" / "panomasks" / spec.name / f"{name}.png"))))
        clean = set()
        for name in spec.frames:
            clean |= set(np.unique(np.array(Image.open(tmp_path / "a" / "panomasks" / spec.name / f"{name}.png"))))
        assert set(INVALID_VALUES) <= values and not set(INVALID_VALUES) & clean


def test_cli_writes_replaces_and_refuses(tmp_path, capsys):
    from vpskit.cli import main

    out = tmp_path / "dl"
    assert main(["synth", "--benchmark", "vipseg", str(out), "--splits", "2,1,1", "--frames", "3"]) == 0
    assert "train 2, val 1, test 1; 3 frames" in capsys.readouterr().out
    lists = {s: (out / f"{s}.txt").read_text().split() for s in ("train", "val", "test")}
    assert [len(v) for v in lists.values()] == [2, 1, 1]
    assert sorted(p.name for p in (out / "imgs").iterdir()) == sorted(sum(lists.values(), []))
    assert sorted(p.name for p in (out / "panomasks").iterdir()) == sorted(lists["train"] + lists["val"])
    assert all(len(list((out / "imgs" / v).iterdir())) == 3 for v in lists["train"])
    assert main(["synth", "--benchmark", "vipseg", str(out), "--videos", "1", "--frames", "2"]) == 0
    assert len(list((out / "imgs").iterdir())) == 2, "the earlier run's videos are gone"
    (tmp_path / "foreign" / "imgs").mkdir(parents=True)
    for args, message in (([str(tmp_path / "foreign")], "already holds imgs, not written by vpskit synth"),
                          ([str(out), "--zip"], "--zip: VIPSeg is written as a folder"),
                          ([str(out), "--size", "64x48"], "--size: VIPSeg frames come in several sizes"),
                          ([str(out), "--videos", "3", "--splits", "1,1,1"], "give --videos or --splits")):
        assert main(["synth", "--benchmark", "vipseg", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_label_numbers_file_is_written(tmp_path):
    synthesize_vipseg(tmp_path, videos=1, frames=1, test_videos=0)
    assert hashlib.sha256((tmp_path / "label_num_dic_final.json").read_bytes()).hexdigest() == (
        "5342d178c358a54f226a332748bf75b0555e4afabcbdfdc49417f11ababfa0fb")
