"""map_pipeline: two steps per item on the workers, an ordered step in the caller between them;
and prepare's stages 3 + 4 on it, byte-identical to the two stages run one after the other."""

import os
import signal
from pathlib import Path

import pytest

from test_dask import scheduler  # noqa: F401 - the fixture: a Dask cluster of two worker processes
from test_prepare_fused import snapshot
from test_prepare_tree import build_download
from vpskit.errors import VpsError
from vpskit.parallel import use_scheduler
from vpskit.pipeline import map_pipeline
from vpskit.preparation import stage_fetch, stage_merge, stage_panoptic, stage_video, unpack_release
from vpskit.preparation.runner import stage_panoptic_video


def square(log: str, x: int) -> int:
    with open(log, "a") as f:
        f.write(f"F {x}\n")
    return x * x


def plus_pid(log: str, arg: tuple[int, int]) -> tuple[int, int]:
    with open(log, "a") as f:
        f.write(f"T {arg[0]}\n")
    return arg[0] + arg[1], os.getpid()


def boom_at_7(log: str, x: int) -> int:
    if x == 7:
        raise ValueError("seven")
    return x


def killed_at_5(log: str, x: int) -> int:
    if x == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_results_in_order_and_between_sees_the_items_in_order(tmp_path, jobs):
    log = str(tmp_path / "log")
    seen = []

    def between(item, r):
        seen.append((item, r))
        return None if item % 4 == 0 else (item, r + 1000 * len(seen))  # depends on the order

    out = map_pipeline(square, between, plus_pid, range(1, 21), context=log, jobs=jobs, progress=False)
    assert seen == [(i, i * i) for i in range(1, 21)]
    assert [r for r, _ in out] == [i * i for i in range(1, 21)]
    assert [u[0] if u else None for _, u in out] == [
        None if i % 4 == 0 else i + i * i + 1000 * i for i in range(1, 21)]
    pids = {u[1] for _, u in out if u}
    assert (os.getpid() in pids) == (jobs == 1) and len(pids) <= jobs
    if jobs > 1:  # second steps run while first steps are still to come, not after all of them
        lines = Path(log).read_text().split()
        steps = [lines[i] for i in range(0, len(lines), 2)]
        assert steps.index("T") < len(steps) - 1 - steps[::-1].index("F")


def test_on_a_dask_cluster_as_on_local_processes(scheduler, tmp_path):  # noqa: F811
    log = str(tmp_path / "log")
    seen: list[list[int]] = []

    def between(item, r):
        if item == 0:
            seen.append([])
        seen[-1].append(item)
        return None if item == 3 else (item, r + len(seen[-1]))  # depends on the order

    local = map_pipeline(square, between, plus_pid, range(12), context=log, jobs=2, progress=False)
    use_scheduler(scheduler)
    try:
        remote = map_pipeline(square, between, plus_pid, range(12), context=log, jobs=1, progress=False)
        with pytest.raises(ValueError, match="seven"):
            map_pipeline(boom_at_7, lambda i, r: (i, r), plus_pid, range(12), context=log, progress=False)
    finally:
        use_scheduler(None)
    assert seen == [list(range(12)), list(range(12))]
    assert [(r, u and u[0]) for r, u in remote] == [(r, u and u[0]) for r, u in local]
    # the second steps ran on the cluster's workers (which of its two workers Dask picks for such
    # short tasks is its choice: it may give them all to one)
    pids = {u[1] for _, u in remote if u}
    assert pids and os.getpid() not in pids


def test_an_error_in_a_step_or_in_between_stops_the_run(tmp_path):
    log = str(tmp_path / "log")
    with pytest.raises(ValueError, match="seven"):
        map_pipeline(boom_at_7, lambda i, r: (i, r), plus_pid, range(12), context=log, jobs=2, progress=False)

    def between(item, r):
        if item == 3:
            raise VpsError("video 3", "bad")
        return item, r

    with pytest.raises(VpsError, match="video 3: bad"):
        map_pipeline(square, between, plus_pid, range(12), context=log, jobs=2, progress=False)


def test_a_killed_worker_names_its_item(tmp_path):
    with pytest.raises(VpsError, match=r"^videos? (\d, )*5(, \d)*: lost: a worker process ended abruptly"):
        map_pipeline(killed_at_5, lambda i, r: (i, r), plus_pid, range(8), context=str(tmp_path / "log"),
                     jobs=2, progress=False)


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    return build_download(tmp_path_factory.mktemp("dl"), size=(96, 48))


@pytest.mark.parametrize("jobs", [1, 2])
def test_prepare_stages_3_and_4_in_one_pass_equal_the_two_stages(download, tmp_path, jobs):
    roots = {}
    for way in ("one pass", "two stages"):
        root = roots[way] = tmp_path / way.replace(" ", "-")
        unpack_release(root, download["release"], jobs=1, progress=False)
        stage_fetch(root, download["images"], ["train", "val", "test"], jobs=1, progress=False)
        stage_merge(root, download["gtfine"], ["train", "val"], jobs=1, progress=False)
        if way == "one pass":
            panoptic, video = stage_panoptic_video(root, ["train", "val"], jobs=jobs, progress=False)
        else:
            panoptic = stage_panoptic(root, ["train", "val"], jobs=jobs, progress=False)
            video = stage_video(root, ["train", "val"], jobs=jobs, progress=False)
        assert (panoptic.videos, panoptic.frames, panoptic.written) == (4, 24, 48)
        assert (video.videos, video.frames, video.written) == (4, 24, 26)
    assert snapshot(roots["one pass"]) == snapshot(roots["two stages"])
