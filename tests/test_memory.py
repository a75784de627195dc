"""vpskit.memory: freed image-sized blocks stay in the process (glibc), unless the user says otherwise."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vpskit import memory

_FAULTS = r"""
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from vpskit.memory import keep_freed_blocks
    assert keep_freed_blocks()
def frame():
    # a frame's image-sized buffers (decoded inputs, work arrays, outputs: 5 of 8 MB here),
    # alive together, then all freed
    held = [np.ones(1 << 21, np.uint32) for _ in range(5)]
    del held
frame()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    frame()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"})
    return int(out.stdout)


def test_the_users_own_thresholds_are_kept(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert memory.keep_freed_blocks() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_image_buffer_is_reused_instead_of_faulted_in_again(monkeypatch):
    # a Dask nanny started earlier in this process leaves MALLOC_TRIM_THRESHOLD_ in the environment
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    if not memory.keep_freed_blocks():
        pytest.skip("not glibc")
    kept, given_back = _faults("keep"), _faults("default")
    # 20 frames of 5 x 2048 pages: by default glibc gives much of it back after each frame
    # (more than twice its largest block is free) and those pages fault in again
    assert given_back > 20 * 1000
    assert kept < 1000
