"""One writer at a time on a Cityscapes-VPS folder: two runs on one ROOT, stale and killed holders."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from test_prepare_e2e import parts, snapshot
from vpskit.cli import main
from vpskit.locking import LOCK_NAME, root_lock

ROUNDS = 5

HOLD = """
import sys, time
from vpskit.locking import root_lock
with root_lock(sys.argv[1], shared=sys.argv[2] == "shared"):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture(scope="module")
def download(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("lockdl")
    assert main(["synth", str(base), "--videos", "6", "--size", "128x64", "--zip", "--jobs", "1"]) == 0
    return base


def inputs(download: Path) -> list[str]:
    return [str(download / "leftImg8bit_sequence_trainvaltest.zip"), str(download / "gtFine_trainvaltest.zip"),
            "--release", str(download / "cityscapes-vps-dataset-1.0.zip")]


@pytest.fixture(scope="module")
def reference(download, tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("lockref") / "cityscapes_vps"
    assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
    return snapshot(root)


def busy_line(root: Path, pid: int) -> str:
    return (f"vpskit: error: {root}: another vpskit run (pid {pid}) is preparing this folder; "
            "wait for it or stop it")


def prepare_cmd(root: Path, download: Path, jobs: int = 1) -> list[str]:
    return [sys.executable, "-m", "vpskit", "prepare", str(root), *inputs(download),
            "--jobs", str(jobs), "--no-progress"]


def test_two_prepares_on_one_root(download, reference, tmp_path):
    refused = 0
    for i in range(ROUNDS):
        root = tmp_path / f"round{i}"
        # in-process and on a pool of workers (whose forked copies must not hold the lock)
        procs = [subprocess.Popen(prepare_cmd(root, download, jobs=1 + (i + k) % 2), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for k in range(2)]
        results = [(p.pid, p.wait(timeout=300), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        codes = sorted(code for _, code, _ in results)
        assert codes in ([0, 0], [0, 2]), results
        for pid, code, err in results:
            assert "Traceback" not in err and ".part" not in err, err
            if code == 2:
                refused += 1
                other = next(p for p, _, _ in results if p != pid)
                assert err.splitlines() == [busy_line(root, other)], err
            else:
                assert err == "", err
        assert not (root / LOCK_NAME).exists()
        assert not parts(root)
        assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
        assert snapshot(root) == reference
    # Both start together and a run lasts far longer than starting one: they do meet.
    assert refused >= 1, "the two runs never overlapped"
    assert main(["verify", str(tmp_path / "round0"), "--jobs", "1", "--no-progress"]) == 0


def hold(root: Path, shared: bool = False) -> subprocess.Popen:
    """A process holding ROOT's lock until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(root), "shared" if shared else "exclusive"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def kill_9(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL: nothing of the holder runs any more
    proc.wait()
    proc.stdout.close()


def test_a_held_root_is_not_touched_and_a_killed_holder_is_taken_over(download, reference, tmp_path, capsys):
    root = tmp_path / "cityscapes_vps"
    assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
    # what a re-run would repair: a stale temporary file, a missing frame, a missing JSON
    stale = root / "val" / "img" / ".left.png.part"
    stale.write_bytes(b"x")
    frame = sorted((root / "train" / "img").iterdir())[0]
    frame.unlink()
    (root / "panoptic_gt_val_city_vps.json").unlink()
    holder = hold(root)
    try:
        before = snapshot(root)
        line = busy_line(root, holder.pid)
        for argv in (["prepare", str(root), *inputs(download)],
                     ["fetch", str(root), inputs(download)[0], "--split", "train"],
                     ["merge", str(root), inputs(download)[1], "--split", "train"],
                     ["panoptic", str(root), "--split", "val"],
                     ["video", str(root), "--split", "val"],
                     ["verify", str(root)]):
            capsys.readouterr()
            assert main([*argv, "--jobs", "1", "--no-progress"]) == 2, argv
            assert capsys.readouterr().err.splitlines() == [line], argv
        assert snapshot(root) == before
        assert (root / LOCK_NAME).read_text().split() == [str(holder.pid), socket.gethostname()]
    finally:
        kill_9(holder)
    # the lock file stays behind, naming a dead process: the next run takes it over
    assert (root / LOCK_NAME).exists()
    assert main(["prepare", str(root), *inputs(download), "--jobs", "2", "--no-progress"]) == 0
    assert snapshot(root) == reference
    assert not stale.exists()


def test_a_lock_file_of_a_dead_process_is_taken_over(download, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    root.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    (root / LOCK_NAME).write_text(f"{dead.stdout.strip()} {socket.gethostname()}\n")
    assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
    assert snapshot(root) == reference


def test_a_holder_killed_while_its_forked_child_lives_is_taken_over(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    # The holder forks a child (as a pool of workers does), then dies by SIGKILL; the child,
    # which inherited the open lock file, lives on.
    script = """
import os, signal, sys, time
from vpskit.locking import root_lock
with root_lock(sys.argv[1]):
    child = os.fork()
    if child == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    child = int(proc.stdout.strip())
    try:
        os.kill(child, 0)  # still alive
        with root_lock(root):
            assert (root / LOCK_NAME).read_text().split()[0] == str(os.getpid())
        assert not (root / LOCK_NAME).exists()
    finally:
        os.kill(child, signal.SIGKILL)


def test_verify_shares_the_lock_and_keeps_writers_out(download, reference, tmp_path, capsys):
    root = tmp_path / "cityscapes_vps"
    assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
    reader = hold(root, shared=True)
    try:
        capsys.readouterr()
        assert main(["verify", str(root), "--jobs", "1", "--no-progress"]) == 0
        assert capsys.readouterr().out.rstrip().endswith("verify: OK")
        assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [f"vpskit: error: {root}: a vpskit verify is reading this folder; "
                                    "wait for it or stop it"]
    finally:
        kill_9(reader)
    assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
    assert snapshot(root) == reference


def test_a_nested_command_shares_its_callers_lock(download, reference, tmp_path):
    root = tmp_path / "cityscapes_vps"
    root.mkdir()
    with root_lock(root):
        assert main(["prepare", str(root), *inputs(download), "--jobs", "1", "--no-progress"]) == 0
        assert (root / LOCK_NAME).read_text().split()[0] == str(os.getpid())
    assert snapshot(root) == reference
