"""A write that fails (a full disk, a file-size limit) is one line naming the file being written,
leaves no temporary file, and a re-run with room to write finishes the job."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from test_prepare_e2e import parts, snapshot
from test_prepare_tree import build_download
from vpskit.errors import VpsError
from vpskit.locking import LOCK_NAME
from vpskit.pngio import atomic_write_bytes, part_path

FRAME_BYTES = 16 * 1024
"""A file-size limit below the size of one 128x64 frame PNG of the test download."""

ZIP_BYTES = 256 * 1024
"""A file-size limit above every file of a 3-video 128x64 synthetic download, below its frames' zip."""


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    return build_download(tmp_path_factory.mktemp("fulldl"), size=(128, 64))


def prepare_cmd(root: Path, dl: dict) -> list[str]:
    return [sys.executable, "-m", "vpskit", "prepare", str(root), str(dl["images"]), str(dl["gtfine"]),
            "--release", str(dl["release"]), "--jobs", "2", "--no-progress"]


@pytest.fixture(scope="module")
def reference(download, tmp_path_factory):
    root = tmp_path_factory.mktemp("fullref") / "cityscapes_vps"
    subprocess.run(prepare_cmd(root, download), check=True, capture_output=True)
    return snapshot(root)


def assert_names_a_file(err: str, root: Path, problem: str) -> Path:
    """``err`` is one line naming a file below ``root`` and ``problem``; return that file."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    match = re.fullmatch(rf"vpskit: error: ({re.escape(str(root))}/\S+): cannot write \({re.escape(problem)}\)",
                         lines[0])
    assert match, lines[0]
    return Path(match.group(1))


def test_a_failed_write_names_the_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "out" / "frame.png"
    path.parent.mkdir()
    path.write_bytes(b"earlier")
    # /dev/full answers every write with ENOSPC, as a full disk does
    part_path(path).symlink_to("/dev/full")
    with pytest.raises(VpsError) as err:
        atomic_write_bytes(path, b"x" * 100_000)
    assert str(err.value) == f"{path}: cannot write (No space left on device)"
    assert sorted(os.listdir(path.parent)) == ["frame.png"]
    assert path.read_bytes() == b"earlier"


def _limit_file_size(limit: int = FRAME_BYTES) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_stops_prepare_naming_the_file(download, reference, tmp_path):
    # works unprivileged anywhere: the kernel refuses writes past RLIMIT_FSIZE with EFBIG
    root = tmp_path / "cityscapes_vps"
    proc = subprocess.run(prepare_cmd(root, download), capture_output=True, text=True,
                          preexec_fn=_limit_file_size)
    assert proc.returncode == 2, proc.stderr
    named = assert_names_a_file(proc.stderr, root, "File too large")
    assert not named.exists()
    assert not parts(root) and not (root / LOCK_NAME).exists()
    subprocess.run(prepare_cmd(root, download), check=True, capture_output=True)
    assert snapshot(root) == reference


def test_synth_zips_past_a_file_size_limit(tmp_path):
    out = tmp_path / "synth"
    proc = subprocess.run([sys.executable, "-m", "vpskit", "synth", str(out), "--videos", "3", "--size", "128x64",
                           "--zip", "--jobs", "1", "--no-progress"], capture_output=True, text=True,
                          preexec_fn=lambda: _limit_file_size(ZIP_BYTES))
    assert proc.returncode == 2, proc.stderr
    named = assert_names_a_file(proc.stderr, out, "File too large")
    assert named.suffix == ".zip" and not named.exists()
    assert not list(out.rglob("*.part"))


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB tmpfs (needs root and mount rights; skipped without them)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_stops_prepare_naming_the_file(download, reference, small_disk):
    root = small_disk / "cityscapes_vps"
    proc = subprocess.run(prepare_cmd(root, download), capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    named = assert_names_a_file(proc.stderr, root, "No space left on device")
    assert not named.exists()
    assert not parts(small_disk) and not (root / LOCK_NAME).exists()
    # room is made: the same command finishes the job
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    subprocess.run(prepare_cmd(root, download), check=True, capture_output=True)
    assert snapshot(root) == reference
