"""Preparation of synthetic Cityscapes-VPS downloads: zips and folders, any --jobs, same bytes."""

import pytest

from test_prepare_e2e import parts, snapshot
from vpskit.cli import main
from vpskit.preparation import prepare
from vpskit.synth import synthesize
from vpskit.verification import verify

SIZE = (256, 128)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth")
    synthesize(base / "zips", videos=6, size=SIZE, seed=3, as_zip=True, jobs=1, progress=False)
    synthesize(base / "folders", videos=6, size=SIZE, seed=3, as_zip=False, jobs=1, progress=False)
    return base


def test_zips_and_folders_any_jobs_same_bytes(downloads, tmp_path):
    z = downloads / "zips"
    a = tmp_path / "a" / "cityscapes_vps"
    assert main(["prepare", str(a), str(z / "leftImg8bit_sequence_trainvaltest.zip"),
                 str(z / "gtFine_trainvaltest.zip"), "--release",
                 str(z / "cityscapes-vps-dataset-1.0.zip"), "--jobs", "2", "--no-progress"]) == 0
    f = downloads / "folders"
    b = tmp_path / "b" / "cityscapes_vps"
    summary = prepare(b, f, f, release=f, jobs=1, progress=False)
    assert [r.stage for r in summary.reports][:2] == ["release", "fetch"]
    assert snapshot(a) == snapshot(b)
    assert not parts(a) and not parts(b)
    report = verify(a, jobs=2)
    assert report.ok, report.problems
    assert report.counts["val"]["img_all"] == 30 * report.counts["val"]["videos"]
    assert report.counts["train"]["panoptic_video"] == 6 * report.counts["train"]["videos"]
