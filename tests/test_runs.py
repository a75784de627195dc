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


def test_runs_of_maps_taken_a_strip_at_a_time():
    """strip_runs over strips (each overwritten by the next, as the PNG strip readers give them)
    finds the runs of the whole maps, cut where strips end, and each map's value at each start."""
    from vpskit.runs import strip_runs

    rng = np.random.default_rng(4)
    a = np.repeat(rng.integers(0, 3, size=(9, 4)), 3, axis=1).astype(np.uint32)
    b = np.repeat(rng.integers(0, 2, size=(9, 6)), 2, axis=1).astype(">u2")

    def strips(m, rows, buf):
        for y in range(0, m.shape[0], rows):
            part = m[y:y + rows]
            buf[:part.size] = part.reshape(-1)
            yield buf[:part.size].reshape(part.shape)

    whole, (va, vb) = strip_runs(a, b)
    assert whole.tolist() == run_starts_of(a, b)
    for rows in (1, 2, 4, 9):
        starts, (sa, sb) = strip_runs(strips(a, rows, np.empty(a.size, a.dtype)), strips(b, rows, np.empty(b.size, b.dtype)))
        cut = sorted(set(whole.tolist()) | set(range(0, a.size, rows * a.shape[1])))
        assert starts.tolist() == cut
        np.testing.assert_array_equal(sa, a.reshape(-1)[starts])
        np.testing.assert_array_equal(sb, b.reshape(-1)[starts])
    one = np.empty(a.size, np.uint32)
    with pytest.raises(ValueError, match="share a buffer"):
        strip_runs(strips(a, 3, one), strips(a, 3, one))


def run_starts_of(*maps):
    flat = [m.reshape(-1).astype(np.int64) for m in maps]
    return [i for i in range(flat[0].size) if i == 0 or any(f[i] != f[i - 1] for f in flat)]
