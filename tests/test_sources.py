import pickle
import zipfile

import pytest

from vpskit import sources
from vpskit.errors import VpsError
from vpskit.parallel import map_videos

MEMBERS = {
    "frankfurt/frankfurt_000000_000001_leftImg8bit.png": b"one",
    "frankfurt/frankfurt_000000_000002_leftImg8bit.png": b"two" * 100,
    "lindau/lindau_000003_000007_leftImg8bit.png": b"three",
}


def make_tree(root, prefix="leftImg8bit_sequence/val"):
    for rel, data in MEMBERS.items():
        p = root / prefix / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "leftImg8bit_sequence" / "train" / "x").mkdir(parents=True)
    (root / "leftImg8bit_sequence" / "train" / "x" / "other.png").write_bytes(b"train")


def make_zip(path, prefix="leftImg8bit_sequence/val/", extra=()):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("leftImg8bit_sequence/train/x/other.png", b"train")
        for rel, data in MEMBERS.items():
            zf.writestr(prefix + rel, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in extra:
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("depth", ["", "downloads/", "a/b/"])
def test_folder_and_zip_give_same_bytes(tmp_path, depth):
    folder = tmp_path / "folder"
    make_tree(folder / depth)
    z = make_zip(tmp_path / "seq.zip", prefix=depth + "leftImg8bit_sequence/val/")
    src_dir, src_zip = sources.open_images(folder), sources.open_images(z)
    assert src_zip.is_zip and not src_dir.is_zip
    assert src_dir.names() == src_zip.names() == sorted(MEMBERS)
    for rel, data in MEMBERS.items():
        assert src_dir.read(rel) == src_zip.read(rel) == data
        assert src_dir.exists(rel) and src_zip.exists(rel)


def test_the_val_folder_itself_is_accepted(tmp_path):
    make_tree(tmp_path)
    src = sources.open_images(tmp_path / "leftImg8bit_sequence" / "val")
    assert src.read("lindau/lindau_000003_000007_leftImg8bit.png") == b"three"


def test_missing_member_and_missing_anchor(tmp_path):
    z = make_zip(tmp_path / "seq.zip")
    src = sources.open_images(z)
    with pytest.raises(VpsError, match="seq.zip:leftImg8bit_sequence/val/munster/nope.png"):
        src.read("munster/nope.png")
    with pytest.raises(VpsError, match="no 'gtFine/val' folder"):
        sources.open_gtfine(z)
    with pytest.raises(VpsError, match="no such file or folder"):
        sources.open_gtfine(tmp_path / "absent")
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(VpsError, match="junk.zip: not a readable zip"):
        sources.open_images(tmp_path / "junk.zip")


def test_traversal_is_refused(tmp_path):
    (tmp_path / "secret.txt").write_bytes(b"secret")
    make_tree(tmp_path / "d")
    z = make_zip(tmp_path / "evil.zip", extra=[("leftImg8bit_sequence/val/../../secret.txt", b"x")])
    for src in (sources.open_images(tmp_path / "d"), sources.open_images(z)):
        for bad in ("../../../secret.txt", "/etc/passwd", "frankfurt/../../x"):
            with pytest.raises(VpsError):
                src.read(bad)
        assert all(".." not in n for n in src.names())


def test_zip_central_directory_is_read_once(tmp_path, monkeypatch):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(10_000):
            zf.writestr(f"gtFine/val/frankfurt/frankfurt_{i:06d}_000019_gtFine_labelIds.png", b"%d" % i)
    calls = []
    real = zipfile.ZipFile._RealGetContents

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", counting)
    src = sources.open_gtfine(path)
    assert len(src.names()) == 10_000
    for i in (0, 4321, 9999):
        assert src.read(f"frankfurt/frankfurt_{i:06d}_000019_gtFine_labelIds.png") == b"%d" % i
    # One read to index, one handle opened for member reads, reused afterwards.
    assert len(calls) == 2
    clone = pickle.loads(pickle.dumps(src))
    assert clone.read("frankfurt/frankfurt_000007_000019_gtFine_labelIds.png") == b"7"
    assert len(calls) == 3  # the clone opens its own handle but does not re-index


def _read_member(src, rel):
    return src.read(rel)


def test_zip_source_works_from_several_processes(tmp_path):
    src = sources.open_images(make_zip(tmp_path / "seq.zip"))
    rels = sorted(MEMBERS) * 3
    assert map_videos(_read_member, rels, context=src, jobs=2) == [MEMBERS[r] for r in rels]
