import numpy as np
import pytest

from vpskit import pngio
from vpskit.errors import VpsError


@pytest.mark.parametrize("shape,dtype,high", [
    ((9, 13, 3), np.uint8, 256), ((9, 13, 4), np.uint8, 256),
    ((9, 13), np.uint8, 256), ((9, 13), np.uint16, 65536),
])
def test_round_trip_each_mode(tmp_path, shape, dtype, high):
    arr = np.random.default_rng(0).integers(0, high, size=shape).astype(dtype)
    path = tmp_path / "x.png"
    pngio.write_png(path, arr)
    back = pngio.read_png(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert not list(tmp_path.glob(".*.part"))


def test_sixteen_bit_values_above_255_survive(tmp_path):
    arr = np.array([[0, 255, 256], [1000, 18999, 65535]], dtype=np.uint16)
    pngio.write_png(tmp_path / "p.png", arr)
    np.testing.assert_array_equal(pngio.read_png(tmp_path / "p.png"), arr)


def test_encoding_is_deterministic():
    arr = np.random.default_rng(1).integers(0, 256, size=(32, 32, 3)).astype(np.uint8)
    assert pngio.encode_png(arr) == pngio.encode_png(arr.copy())


def test_rgb_id_round_trip_and_values():
    rgb = np.array([[[1, 2, 3], [0, 0, 0]], [[255, 255, 255], [142, 0, 0]]], dtype=np.uint8)
    ids = pngio.rgb2id(rgb)
    assert ids.tolist() == [[1 + 2 * 256 + 3 * 65536, 0], [2**24 - 1, 142]]
    np.testing.assert_array_equal(pngio.id2rgb(ids), rgb)
    with pytest.raises(ValueError):
        pngio.id2rgb(np.array([2**24]))


def test_truncated_png_names_the_file(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, size=(40, 40, 3)).astype(np.uint8)
    data = pngio.encode_png(arr)
    bad = tmp_path / "bad.png"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(VpsError, match="bad.png"):
        pngio.read_png(bad)
    (tmp_path / "text.png").write_bytes(b"not a png at all")
    with pytest.raises(VpsError, match="text.png"):
        pngio.read_png(tmp_path / "text.png")
    with pytest.raises(VpsError, match="missing.png: file not found"):
        pngio.read_png(tmp_path / "missing.png")


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "f.bin"
    pngio.atomic_write_bytes(path, b"first")
    pngio.atomic_write_bytes(path, b"second")
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.bin"]
