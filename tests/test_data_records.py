"""`vpskit.data.records` (detectron2-style dataset dicts) round-trip the ground-truth JSON, and
`register_detectron2` registers them with detectron2's catalogs (a stand-in module with the real
API shape here, detectron2 not being installable), or says in one line that it cannot."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from datacases import build_root, pixels, zip_root
from vpskit import naming
from vpskit.data import metadata, records, register_detectron2
from vpskit.errors import VpsError


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build_root(tmp_path_factory.mktemp("records"))


@pytest.mark.parametrize("split", ["train", "val"])
def test_records_round_trip_the_ground_truth(folder, split):
    gt = json.loads((folder / naming.panoptic_gt_json(split)).read_text())
    listed = json.loads((folder / naming.panoptic_im_json(split)).read_text())["images"]
    recs = records(folder, split)
    assert [r["image_id"] for r in recs] == [a["image_id"] for a in gt["annotations"]] == sorted(
        im["id"] for im in listed)
    for rec, ann in zip(recs, gt["annotations"], strict=True):
        assert rec["segments_info"] == ann["segments_info"]
        iid = naming.parse_image_id(ann["image_id"])
        assert rec["video_id"] == iid.video and rec["frame_idx"] == naming.ANNOTATED_OFFSETS[iid.position]
        assert rec["file_name"] == str(folder.resolve() / split / "img" / naming.image_file(iid))
        assert rec["pan_seg_file_name"] == str(folder.resolve() / split / "panoptic_video" / ann["file_name"])
        assert rec["sem_seg_file_name"] == str(folder.resolve() / split / "labelmap" / ann["file_name"])
        assert pixels(Path(rec["file_name"])).shape == (rec["height"], rec["width"], 3)
        assert Path(rec["pan_seg_file_name"]).is_file() and Path(rec["sem_seg_file_name"]).is_file()
    # the records are copies: changing one changes nothing of the next call's
    recs[0]["segments_info"][0]["id"] = -1
    assert records(folder, split)[0]["segments_info"] == gt["annotations"][0]["segments_info"]


def test_records_of_the_test_split_have_no_labels(folder):
    recs = records(folder, "test")
    assert len(recs) == 6
    assert set(recs[0]) == {"file_name", "height", "width", "image_id", "video_id", "frame_idx"}


def test_records_refuse_a_zip(folder, tmp_path):
    with pytest.raises(VpsError, match="records name files on disk: extract the zip"):
        records(zip_root(folder, tmp_path / "root.zip"), "val")


class _Metadata(types.SimpleNamespace):
    def set(self, **kwargs):
        for key, value in kwargs.items():
            assert getattr(self, key, value) == value, f"metadata {key} set twice"
            setattr(self, key, value)
        return self


def _fake_detectron2(monkeypatch) -> types.SimpleNamespace:
    """detectron2.data with DatasetCatalog.register(name, func) and MetadataCatalog.get(name).set(...)."""
    functions: dict = {}
    metas: dict = {}

    def register(name, func):
        assert callable(func) and name not in functions, name
        functions[name] = func

    data = types.ModuleType("detectron2.data")
    data.DatasetCatalog = types.SimpleNamespace(register=register, get=lambda name: functions[name]())
    data.MetadataCatalog = types.SimpleNamespace(get=lambda name: metas.setdefault(name, _Metadata(name=name)))
    top = types.ModuleType("detectron2")
    top.data = data
    monkeypatch.setitem(sys.modules, "detectron2", top)
    monkeypatch.setitem(sys.modules, "detectron2.data", data)
    return types.SimpleNamespace(functions=functions, metas=metas, data=data)


def test_register_detectron2_registers_records_and_metadata(folder, monkeypatch):
    fake = _fake_detectron2(monkeypatch)
    names = register_detectron2(folder)
    assert names == ["cityscapes_vps_train", "cityscapes_vps_val"]
    for split, name in zip(("train", "val"), names, strict=True):
        assert fake.data.DatasetCatalog.get(name) == records(folder, split)
        meta = fake.metas[name]
        assert meta.panoptic_json == str(folder.resolve() / naming.panoptic_gt_json(split))
        assert meta.thing_dataset_id_to_contiguous_id == {i: i for i in range(11, 19)}
        assert meta.stuff_dataset_id_to_contiguous_id == {i: i for i in range(11)}
        assert meta.ignore_label == 255 and len(meta.stuff_classes) == 19 and meta.stuff_classes[13] == "car"
        assert vars(meta) == {"name": name, **metadata(folder, split)}
    assert register_detectron2(folder, ["test"], name="vps_{split}_x") == ["vps_test_x"]
    assert len(fake.data.DatasetCatalog.get("vps_test_x")) == 6
    assert not {"panoptic_json", "panoptic_root", "evaluator_type"} & set(vars(fake.metas["vps_test_x"]))


def test_register_detectron2_without_detectron2_is_one_line(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "detectron2", None)
    monkeypatch.setitem(sys.modules, "detectron2.data", None)
    with pytest.raises(VpsError) as exc:
        register_detectron2(folder)
    message = str(exc.value)
    assert message.startswith("register_detectron2: detectron2 cannot be imported (")
    assert "vpskit.data.records(root, split)" in message and "\n" not in message


def test_register_detectron2_checks_the_root_first(tmp_path, monkeypatch):
    fake = _fake_detectron2(monkeypatch)
    with pytest.raises(VpsError, match="no such file or folder"):
        register_detectron2(tmp_path / "absent")
    assert not fake.functions
