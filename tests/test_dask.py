"""The per-video work on a real Dask cluster (a scheduler and two worker processes on loopback)."""

import json
import re
import socket
import threading
import time

import distributed
import pytest

from test_parallel import _fail_on_three, check_bar_moves
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.parallel import CONNECT_TIMEOUT, map_videos, use_scheduler
from vpskit.perturbation import write_noisy_prediction


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            pids = client.run(lambda: __import__("os").getpid())
        assert len(set(pids.values())) == 2  # two worker processes
        yield cluster.scheduler_address


@pytest.fixture(autouse=True)
def _local_afterwards():
    yield
    use_scheduler(None)


def test_prepare_and_eval_on_a_dask_cluster(scheduler, tmp_path):
    down = tmp_path / "down"
    assert main(["synth", str(down), "--videos", "3", "--size", "128x64", "--zip", "--jobs", "1"]) == 0
    zips = [str(down / "leftImg8bit_sequence_trainvaltest.zip"), str(down / "gtFine_trainvaltest.zip"),
            "--release", str(down / "cityscapes-vps-dataset-1.0.zip")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["prepare", str(local), *zips, "--jobs", "1", "--no-progress"]) == 0
    assert main(["--scheduler", scheduler, "prepare", str(remote), *zips, "--no-progress"]) == 0
    assert _tree(remote) == _tree(local)
    pred = write_noisy_prediction(local / "panoptic_gt_val_city_vps.json", local / "val" / "panoptic_video",
                                  tmp_path / "pred", seed=1)
    # Both scored against the same tree (the two trees are equal), so that even the paths agree.
    assert main(["--scheduler", scheduler, "eval", str(pred), "--root", str(local),
                 "--out", str(tmp_path / "r-remote"), "--no-progress"]) == 0
    use_scheduler(None)
    assert main(["eval", str(pred), "--root", str(local), "--out", str(tmp_path / "r-local"),
                 "--jobs", "1", "--no-progress"]) == 0
    reports = _tree(tmp_path / "r-remote")
    assert "results.json" in reports and "vpq-final.txt" in reports
    assert reports == _tree(tmp_path / "r-local")
    assert json.loads(reports["results.json"])["vpq"]


def test_bar_moves_on_the_cluster(scheduler, tmp_path, monkeypatch):
    check_bar_moves(tmp_path, monkeypatch, scheduler=scheduler)


def test_first_error_on_the_cluster(scheduler):
    with pytest.raises(VpsError, match="^video 0003: broken$"):
        map_videos(_fail_on_three, [1, 2, 3, 4, 5], scheduler=scheduler)


def _listener(reply: bytes | None):
    """A loopback port where something that is not a scheduler answers ``reply`` (None: silence)."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply is not None:
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("kind", "reason", "bound"), [
    ("refused", r"Connection refused", 3),
    ("silent", rf"no reply within {CONNECT_TIMEOUT:g} s", CONNECT_TIMEOUT + 3),
    ("other", r"the reply is not Dask's: \w+", 3),
])
def test_no_scheduler_there_is_one_line_within_seconds(tmp_path, capsys, kind, reason, bound):
    server = None
    if kind == "refused":
        address = f"tcp://127.0.0.1:{_free_port()}"
    else:
        server = _listener(None if kind == "silent" else b"HTTP/1.1 400 Bad Request\r\n\r\n")
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        start = time.monotonic()
        code = main(["--scheduler", address, "synth", str(tmp_path / "s"), "--videos", "1",
                     "--size", "64x32", "--no-progress"])
        seconds = time.monotonic() - start
    finally:
        if server is not None:
            server.close()
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(err) == 1 and re.fullmatch(
        rf"vpskit: error: --scheduler {re.escape(address)}: no Dask scheduler answers there \({reason}\)",
        err[0]), err
    assert seconds < bound, seconds
