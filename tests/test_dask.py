"""The per-video work on a Dask cluster gives the same bytes and scores as local processes."""

import json

import pytest

from vpskit.cli import main
from vpskit.parallel import use_scheduler

distributed = pytest.importorskip("dask.distributed")


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_prepare_and_eval_on_a_dask_cluster(tmp_path):
    down = tmp_path / "down"
    assert main(["synth", str(down), "--videos", "3", "--size", "128x64", "--zip", "--jobs", "1"]) == 0
    zips = [str(down / "leftImg8bit_sequence_trainvaltest.zip"), str(down / "gtFine_trainvaltest.zip"),
            "--release", str(down / "cityscapes-vps-dataset-1.0.zip")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["prepare", str(local), *zips, "--jobs", "1", "--no-progress"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        try:
            assert main(["--scheduler", cluster.scheduler_address, "prepare", str(remote), *zips,
                         "--no-progress"]) == 0
            assert _tree(remote) == _tree(local)
            from vpskit.evaluation.noisy import write_noisy_prediction

            pred = write_noisy_prediction(local / "panoptic_gt_val_city_vps.json",
                                          local / "val" / "panoptic_video", tmp_path / "pred", seed=1)
            assert main(["--scheduler", cluster.scheduler_address, "eval", str(pred), "--root", str(remote),
                         "--out", str(tmp_path / "r-remote"), "--no-progress"]) == 0
        finally:
            use_scheduler(None)
    assert main(["eval", str(pred), "--root", str(local), "--out", str(tmp_path / "r-local"),
                 "--jobs", "1", "--no-progress"]) == 0
    remote_res = json.loads((tmp_path / "r-remote" / "results.json").read_text())
    local_res = json.loads((tmp_path / "r-local" / "results.json").read_text())
    assert remote_res == local_res
