"""Faults during a run on a pool of workers: the caller killed, a worker killed, Ctrl-C.

Each test runs ``python -m vpskit prepare --jobs 2`` (or a small script on ``map_videos``) in
its own session and watches its processes through /proc.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from test_prepare_e2e import parts, snapshot
from vpskit.cli import main

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

WAIT = 30.0
"""Upper bound for anything to start or finish on a loaded machine."""


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, start time, CPU ticks) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12])


_SEEN: dict[int, int] = {}
"""Every process the tests started or saw below one of them, ended at teardown if still there."""


def descendants(pid: int) -> dict[int, int]:
    """Every process below ``pid``: pid -> start time (to tell a reused pid)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) is not None:
            children.setdefault(st[1], []).append((int(name), st[2]))
    found, todo = {}, [pid]
    while todo:
        for child, start in children.get(todo.pop(), []):
            found[child] = start
            todo.append(child)
    _SEEN.update(found)
    return found


@pytest.fixture(autouse=True)
def _no_leftovers():
    """A failing test leaves no process behind."""
    yield
    for pid in alive(_SEEN):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _SEEN.clear()


def alive(procs: dict[int, int]) -> list[int]:
    """The processes of ``procs`` still running (zombies count as gone)."""
    return [p for p, start in procs.items() if (st := _stat(p)) is not None and st[2] == start and st[0] != "Z"]


def wait_for(condition, what: str, timeout: float = WAIT, step: float = 0.005):
    """Poll until ``condition()`` is truthy; return its value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def busy_worker(proc: subprocess.Popen) -> int | None:
    """A worker of ``proc`` that is computing and has done some work already."""
    for pid in descendants(proc.pid):
        st = _stat(pid)
        if st is not None and st[0] == "R" and st[3] >= 2:
            return pid
    return None


def wait_busy(proc: subprocess.Popen) -> int | None:
    """Wait for a busy worker of ``proc`` (None if ``proc`` ends first)."""
    found = wait_for(lambda: busy_worker(proc) or proc.poll() is not None, "a busy worker")
    return None if found is True else found


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    dl = tmp_path_factory.mktemp("faults") / "dl"
    assert main(["synth", str(dl), "--videos", "6", "--size", "384x192", "--jobs", "2", "--no-progress"]) == 0
    return dl


@pytest.fixture(scope="module")
def reference(download, tmp_path_factory):
    root = tmp_path_factory.mktemp("faults-ref") / "vps"
    assert main(prepare_args(download, root)[3:] + ["--jobs", "1"]) == 0
    return snapshot(root)


def prepare_args(dl: Path, root: Path) -> list[str]:
    return [sys.executable, "-m", "vpskit", "prepare", str(root), str(dl / "leftImg8bit_sequence"),
            str(dl / "gtFine"), "--release", str(dl / "cityscapes_vps"), "--no-progress"]


def start(cmd: list[str], **kw) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)
    if (st := _stat(proc.pid)) is not None:
        _SEEN[proc.pid] = st[2]
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, list[str]]:
    _, err = proc.communicate(timeout=WAIT)
    return proc.returncode, err.splitlines()


def test_killing_the_caller_ends_its_workers(download, tmp_path):
    proc = start(prepare_args(download, tmp_path / "vps") + ["--jobs", "2"])
    assert wait_busy(proc) is not None
    workers = descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    proc.wait()
    wait_for(lambda: not alive(workers), f"workers {sorted(workers)} to exit", timeout=5)
    print(f"workers gone {time.monotonic() - killed:.2f} s after the kill")
    # Nobody holds the caller's pipe any more (`vpskit prepare … | tee` ends).
    assert proc.stderr.read() == ""


@pytest.mark.parametrize("variant", ["fork", "forkserver", "watchdog"])
def test_workers_exit_when_the_caller_dies(tmp_path, variant):
    """With either start method, and by the watchdog alone where the kernel does not help."""
    (tmp_path / "napper.py").write_text(textwrap.dedent("""
        import os, pathlib, time

        def nap(flags, x):
            pathlib.Path(flags, str(os.getpid())).touch()
            time.sleep(x)
    """))
    flags = tmp_path / "started"
    flags.mkdir()
    script = textwrap.dedent(f"""
        import threading, time
        import napper
        import vpskit.parallel as parallel
        if {variant!r} == "forkserver":  # another thread runs: the pool starts through a fork server
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        if {variant!r} == "watchdog":
            parallel._die_with_parent = lambda: None
        parallel.map_videos(napper.nap, [60] * 4, context={str(flags)!r}, jobs=2)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    proc = start([sys.executable, "-c", script], env=env)
    wait_for(lambda: len(list(flags.iterdir())) >= 2 or proc.poll() is not None, "two busy workers")
    running = descendants(proc.pid)
    assert {int(f.name) for f in flags.iterdir()} <= set(running)
    servers = [p for p in running if "multiprocessing.forkserver import main" in _cmdline(p)
               and (_stat(p) or "01")[1] == proc.pid]
    assert len(servers) == (variant == "forkserver"), [_cmdline(p) for p in running]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_for(lambda: not alive(running), f"{sorted(running)} to exit", timeout=5)
    # The pipe is closed (nobody is left to write); at most multiprocessing's resource tracker
    # has said that it removed the semaphores of the killed pool.
    assert "Traceback" not in proc.stderr.read()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


LOST = re.compile(r"vpskit: error: videos? [\w/]+(, [\w/]+)*( and \d+ more)?: lost: a worker process ended "
                  r"abruptly \(killed, or out of memory\?\); re-run to finish")


def test_a_killed_worker_is_one_line_and_a_rerun_finishes(download, reference, tmp_path):
    for attempt in range(3):
        root = tmp_path / f"vps{attempt}"
        proc = start(prepare_args(download, root) + ["--jobs", "2"])
        worker = wait_busy(proc)
        if worker is not None:
            os.kill(worker, signal.SIGKILL)
        code, err = finish(proc)
        if code != 0:  # else the kill came too late (the run had ended): try again
            break
    assert code == 2, err
    assert len(err) == 1 and LOST.fullmatch(err[0]), err
    assert snapshot(root) != reference
    rerun = subprocess.run(prepare_args(download, root) + ["--jobs", "2"], capture_output=True, text=True,
                           timeout=WAIT)
    assert rerun.returncode == 0, rerun.stderr
    assert snapshot(root) == reference
    assert not parts(root)


def _soon(delay: float):
    def when(proc: subprocess.Popen) -> bool:
        time.sleep(delay)
        return True
    return when


def _pool_starts(proc: subprocess.Popen) -> bool:
    wait_for(lambda: descendants(proc.pid) or proc.poll() is not None, "the first worker", step=0.001)
    return True


def _workers_busy(proc: subprocess.Popen) -> bool:
    return wait_busy(proc) is not None


@pytest.mark.parametrize("when", [_soon(0.3), _pool_starts, _workers_busy],
                         ids=["imports", "pool-start", "work"])
def test_ctrl_c_is_one_line_and_exit_130(download, tmp_path, when):
    """Ctrl-C reaches every process of the terminal's group, as a terminal sends it."""
    proc = start(prepare_args(download, tmp_path / "vps") + ["--jobs", "2"])
    when(proc)
    assert proc.poll() is None, "the run ended before the signal"
    workers = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    code, err = finish(proc)
    assert (code, err) == (130, ["vpskit: interrupted"])
    wait_for(lambda: not alive(workers), "the workers to exit", timeout=5)
