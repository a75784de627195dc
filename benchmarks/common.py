"""What the benchmark scripts share: a working folder, and a prepared split at full resolution."""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vpskit import naming

WIDTH, HEIGHT = 2048, 1024


@contextlib.contextmanager
def work_folder(work: Path | None) -> Iterator[Path]:
    """``work`` (created if needed, kept afterwards), or a temporary folder removed at the end."""
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="vpskit-bench-") as tmp:
        yield Path(tmp)


def prepared_split(work: Path, videos: int, split: str = "train") -> Path:
    """``work/cityscapes_vps``, a prepared root whose ``split`` has ``videos`` synthetic videos at
    2048x1024 (made once: an earlier run's is kept)."""
    from vpskit.preparation import prepare
    from vpskit.synth import synthesize

    down, root = work / "download", work / "cityscapes_vps"
    if not (root / naming.panoptic_gt_json(split)).is_file():
        synthesize(down, videos=videos, size=(WIDTH, HEIGHT), seed=0, splits={split: videos}, progress=False)
        prepare(root, down / "leftImg8bit_sequence", down / "gtFine", release=down / "cityscapes_vps",
                splits=split, progress=False)
    return root


PEAK = r"""
import json, resource, sys, time
from pathlib import Path
def peak_kb():
    # This process's own high-water mark (VmHWM: ru_maxrss would include the launching
    # process's, kept across exec) and that of its finished worker processes.
    with open("/proc/self/status") as fh:
        own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
def done(seconds, **more):
    time.sleep(0.05)
    print(json.dumps({"seconds": seconds, "rss_kb": peak_kb(), **more}))
"""
"""Code a measured script starts with: ``done(seconds, ...)`` prints its result and peak RSS."""


def run_fresh(python: str, code: str, *args: object, cwd: Path | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; its JSON output (``seconds``, ``rss_kb``, …)."""
    proc = subprocess.run([python, "-c", code, *map(str, args)], capture_output=True, text=True, check=False,
                          cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def round_ratios(slow: list[dict], fast: list[dict]) -> str:
    """``slow``'s seconds over ``fast``'s, round by round (the runs of one round ran one after the
    other, so a change of load between rounds cancels out): their median and range."""
    ratios = sorted(a["seconds"] / b["seconds"] for a, b in zip(slow, fast, strict=True))
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
    return f"round by round {median:.2f}x (median; {ratios[0]:.2f}-{ratios[-1]:.2f}x)"
