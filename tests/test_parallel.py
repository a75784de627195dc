import io
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from vpskit.errors import VpsError
from vpskit.parallel import default_jobs, map_videos


def _square_plus(ctx, x):
    return x * x + ctx


def _fail_on_three(ctx, x):
    if x == 3:
        raise VpsError(f"video {x:04d}", "broken")
    return x


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_in_item_order(jobs):
    items = list(range(20, 0, -1))
    assert map_videos(_square_plus, items, context=7, jobs=jobs) == [x * x + 7 for x in items]


@pytest.mark.parametrize("jobs", [1, 2])
def test_first_error_is_raised_with_its_message(jobs):
    with pytest.raises(VpsError, match="^video 0003: broken$"):
        map_videos(_fail_on_three, [1, 2, 3, 4, 5], jobs=jobs)


def _log_start(log, x):
    with open(log, "a") as f:
        f.write(f"{x}\n")
    time.sleep(0.05)
    return 10 * x


@pytest.mark.parametrize(("cost", "first_two"), [(None, {1, 5}), (lambda x: x, {6, 5})])
def test_the_costliest_items_start_first_and_the_results_keep_the_order(tmp_path, cost, first_two):
    log = tmp_path / "log"
    items = [1, 5, 2, 6, 3, 4]
    assert map_videos(_log_start, items, context=str(log), jobs=2, cost=cost) == [10 * x for x in items]
    started = [int(x) for x in log.read_text().split()]
    assert sorted(started) == sorted(items)
    assert started[0] in first_two
    # Items are handed out in this order, one at a time per worker: all but the one a stalled
    # worker holds (a busy machine) start before any later item.
    order = items if cost is None else sorted(items, key=cost, reverse=True)
    for i, x in enumerate(started):
        assert x in order[:i + 2], (started, order)


def test_empty_and_defaults():
    assert map_videos(_square_plus, [], context=0) == []
    assert default_jobs() >= 1


class _Terminal(io.StringIO):
    """Stands for stderr: keeps when each bar was drawn; flags (a file) once one shows 1 or 2 of 3."""

    def __init__(self, flag: Path) -> None:
        super().__init__()
        self.flag = flag
        self.draws: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.draws.append((time.monotonic(), text))
        if re.search(r"\b[12]/3\b", text):
            self.flag.touch()
        return super().write(text)


def _last_waits_for_the_bar(folder, x):
    """Items 0 and 1 return at once; item 2 waits until the bar has moved (at most 3 s)."""
    if x == 2:
        end = time.monotonic() + 3
        while not (Path(folder) / "flag").exists() and time.monotonic() < end:
            time.sleep(0.01)
        (Path(folder) / "end").write_text(repr(time.monotonic()))
    return x


def check_bar_moves(tmp_path, monkeypatch, **options) -> None:
    """The bar of a run of three items shows 1/3 or 2/3 before the last item ends."""
    terminal = _Terminal(tmp_path / "flag")
    monkeypatch.setattr(sys, "stderr", terminal)
    assert map_videos(_last_waits_for_the_bar, [0, 1, 2], context=str(tmp_path), progress=True,
                      desc="test", **options) == [0, 1, 2]
    slow_end = float((tmp_path / "end").read_text())
    moved = [t for t, text in terminal.draws if re.search(r"\b[12]/3\b", text)]
    assert moved and moved[0] < slow_end, terminal.draws


@pytest.mark.parametrize("jobs", [1, 2])
def test_bar_moves_as_each_item_finishes(tmp_path, monkeypatch, jobs):
    check_bar_moves(tmp_path, monkeypatch, jobs=jobs)


def _killed_on_three(ctx, item):
    split, video = item
    if video == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.3)
    return video


def test_a_dead_worker_names_the_videos_it_lost():
    items = [("val", v) for v in range(1, 7)]
    with pytest.raises(VpsError) as err:
        map_videos(_killed_on_three, items, jobs=2)
    message = str(err.value)
    assert re.fullmatch(r"videos? [\w/, ]+: lost: a worker process ended abruptly \(killed, or out of "
                        r"memory\?\); re-run to finish", message), message
    assert "val/0003" in message and "val/0006" not in message


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_synth_shows_its_bar(tmp_path, capsys, jobs):
    from vpskit.cli import main

    argv = ["synth", str(tmp_path / "s"), "--videos", "2", "--size", "64x32", "--jobs", jobs]
    assert main(argv + ["--progress"]) == 0
    bar = capsys.readouterr().err
    assert re.search(r"synth:\s+50%.*\b1/2\b", bar) and re.search(r"\b2/2\b", bar), bar
    assert main(argv + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""
