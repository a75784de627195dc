"""vpskit.runs.pixel_runs, the one run-finder of stage 3/4 and of the prediction formats
(formats.tracks.Runs), against the obvious loop over pixels."""

import numpy as np
import pytest

from vpskit.formats.tracks import Runs
from vpskit.runs import pixel_runs


def obvious(maps, row_width=None):
    flat = [np.asarray(m).reshape(-1).tolist() for m in maps]
    starts = [i for i in range(len(flat[0]))
              if i == 0 or (row_width and i % row_width == 0) or any(f[i] != f[i - 1] for f in flat)]
    ends = starts[1:] + [len(flat[0])]
    return starts, [e - s for s, e in zip(starts, ends, strict=True)]


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (6, 11), (13, 64)])
def test_runs_equal_the_obvious_loop(shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    a = rng.integers(0, 3, size=shape).astype(np.uint32)
    b = np.repeat(rng.integers(0, 2, size=(shape[0], 1)), shape[1], axis=1).astype(np.int64)
    for maps in ((a,), (a, b), (b, a.astype(">u2"))):
        for width in (None, shape[1]):
            starts, lengths = pixel_runs(*maps, row_width=width)
            assert (starts.tolist(), lengths.tolist()) == obvious(maps, width)
    runs = Runs(a, b)
    assert (runs.starts.tolist(), runs.lengths.tolist()) == obvious((a, b), shape[1])
    np.testing.assert_array_equal(runs.paint(runs.values(a)), a)


def test_big_endian_maps_give_the_runs_of_their_values():
    v = np.array([[1, 1, 256, 256, 1, 257]], dtype=np.uint16)
    assert pixel_runs(v.astype(">u2"))[0].tolist() == pixel_runs(v)[0].tolist() == [0, 2, 4, 5]
    assert pixel_runs(np.zeros((0, 4), dtype=np.uint8))[0].size == 0
