"""Hostile files and zips: whatever is wrong with a file or zip member vpskit reads, the command
says so in one line, never hangs, and never holds more memory than the file may need.

Zips (every zip vpskit opens: the three downloads, a prediction zip, a ``--root`` zip, a
submission and the ``pan_pred.zip`` inside it): a member flagged encrypted, compressed with a
method zipfile lacks (AES, zstandard), with a bad CRC, or a zip bomb (hundreds of MB of zeros
in a few hundred KB, with its true size declared or a false one). Files: a named pipe and a
symbolic link to ``/dev/zero`` where a PNG should be, a PNG whose header promises 11000x11000
pixels. Inputs that decode but cannot be right: 8-bit instance ids, instance values that are
no Cityscapes id, frames whose pixel data is garbled behind valid chunk CRCs.

Each run must exit 2 (``verify``: 1, with the problem listed) with one stderr line naming the
file (zip and member), no traceback, nothing written outside its output folder or to the
temporary folder (a submission's inner zip is read in place), and everything written before
unchanged.
Runs that could hang or exhaust memory run in a subprocess with a timeout and an address-space
limit, and report their peak memory (VmHWM).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from test_prepare_tree import build_zips, zip_folder
from vpskit import naming
from vpskit.cli import main
from vpskit.errors import VpsError
from vpskit.pngio import ANY_FILE, PNG_SIGNATURE, check_png_pixels, decode_png, encode_png
from vpskit.preparation import prepare
from vpskit.zips import _data_offset, _Inflated, open_nested

JOBS = ("--jobs", "1", "--no-progress")
SIZE = (64, 32)
BOMB_BYTES = 400 << 20
"""A member of 400 MiB of zeros: about 400 KB deflated."""
MEMORY_CAP_MB = 250
"""Peak memory a refused bomb may cost (Python, numpy and Pillow alone take about 70 MB)."""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    return build_zips(tmp_path_factory.mktemp("hostile-zips"), SIZE)


@pytest.fixture(scope="module")
def prepared(zips, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile-root") / "cityscapes_vps"
    prepare(root, zips["images"], zips["gtfine"], release=zips["release"], jobs=1, progress=False)
    return root


@pytest.fixture(scope="module")
def prediction(prepared, tmp_path_factory) -> Path:
    """The val ground truth as a prediction folder (scores 1)."""
    pred = tmp_path_factory.mktemp("hostile-pred") / "pred"
    gt = json.loads((prepared / naming.panoptic_gt_json("val")).read_text())
    (pred / "pan_pred").mkdir(parents=True)
    anns = []
    for ann in gt["annotations"]:
        shutil.copy(prepared / "val" / "panoptic_video" / ann["file_name"],
                    pred / "pan_pred" / naming.pan_pred_file(ann["image_id"]))
        anns.append({"image_id": ann["image_id"],
                     "segments_info": [{"id": s["id"], "category_id": s["category_id"]}
                                       for s in ann["segments_info"]]})
    (pred / "pred.json").write_text(json.dumps({"annotations": anns}))
    return pred


@pytest.fixture(autouse=True)
def no_stray_temporaries(tmp_path, monkeypatch):
    """Nothing goes to the temporary folder: each test gets its own (``tempfile.tempdir`` here,
    ``TMPDIR`` in subprocesses), which must stay empty. (The system's own is shared with other
    processes, so a new ``vpskit-*`` there would prove nothing about this test.)"""
    tmp = tmp_path / "system-tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    yield
    assert not [p for p in tmp.iterdir() if not p.name.startswith("pymp-")]  # multiprocessing's


# --------------------------------------------------------------------------- helpers


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def one_line(err: str, *words: str) -> str:
    """The single stderr line; it must name every word given."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "DecompressionBomb" not in err, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


RUNNER = """
import os, sys
from vpskit.cli import main
code = main(sys.argv[1:])
with open('/proc/self/status') as fh:
    hwm = next(line for line in fh if line.startswith('VmHWM')).split()[1]
with open(os.environ['HOSTILE_HWM'], 'w') as fh:
    fh.write(hwm)
sys.exit(code)
"""


def _limit_address_space() -> None:
    cap = 4 << 30  # a regression fails with MemoryError here instead of taking the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def run_subprocess(tmp_path: Path, *argv: str, timeout: float = 120) -> tuple[int, str, float]:
    """Run the command line in a fresh process: (exit code, stderr, peak memory in MB)."""
    hwm = tmp_path / "hwm.txt"
    env = {**os.environ, "HOSTILE_HWM": str(hwm), "TMPDIR": os.environ["TMPDIR"]}
    proc = subprocess.run([sys.executable, "-c", RUNNER, *map(str, argv)], capture_output=True,
                          text=True, timeout=timeout, env=env, preexec_fn=_limit_address_space)
    peak = int(hwm.read_text()) / 1024 if hwm.exists() else float("nan")
    print(f"{argv[0]}: exit {proc.returncode}, peak memory {peak:.0f} MB: {proc.stderr.strip()}")
    return proc.returncode, proc.stderr, peak


def patch_member(path: Path, name: str, *, flags: int = 0, method: int | None = None,
                 crc_xor: int = 0, file_size: int | None = None) -> None:
    """Edit member ``name``'s local header and central directory entry in place: OR ``flags``
    into its flag bits, set its compression method, XOR its CRC, declare another size."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(name).header_offset
    eocd = data.rfind(b"PK\x05\x06")
    count, _, offset = struct.unpack_from("<HII", data, eocd + 10)
    entries = [(local, 6)]  # (header offset, offset of its flag field)
    pos = offset
    for _ in range(count):
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46:pos + 46 + n].decode() == name:
            entries.append((pos, 8))
        pos += 46 + n + m + k
    assert len(entries) == 2, f"{name} not in the central directory"
    for start, flag_at in entries:
        fields = dict(zip(("flags", "method", "time", "date", "crc", "csize", "usize"),
                          struct.unpack_from("<HHHHIII", data, start + flag_at), strict=True))
        fields["flags"] |= flags
        fields["method"] = fields["method"] if method is None else method
        fields["crc"] ^= crc_xor
        fields["usize"] = fields["usize"] if file_size is None else file_size
        struct.pack_into("<HHHHIII", data, start + flag_at, *fields.values())
    path.write_bytes(bytes(data))


def replace_member(src: Path, dst: Path, name: str, data: bytes | None = None, zeros: int = 0) -> None:
    """Copy zip ``src`` to ``dst`` with member ``name`` holding ``data`` (deflated), or ``zeros``
    zero bytes written in 1 MiB pieces (a zip bomb made without holding it in memory)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info, zin.read(info))
                continue
            new = zipfile.ZipInfo(name, date_time=info.date_time)
            new.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(new, "w") as fh:
                if data is not None:
                    fh.write(data)
                block = bytes(1 << 20)
                for _ in range(zeros >> 20):
                    fh.write(block)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def handmade_png(width: int, height: int, idat: bytes, bit_depth: int = 8, color_type: int = 2,
                 interlace: int = 0) -> bytes:
    """A PNG whose chunks (and CRCs) are all valid, whatever ``idat`` holds."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def copy_root(prepared: Path, tmp_path: Path) -> Path:
    root = tmp_path / "out" / "cityscapes_vps"
    shutil.copytree(prepared, root)
    return root


def member_of(zip_path: Path, suffix: str) -> str:
    with zipfile.ZipFile(zip_path) as zf:
        return sorted(n for n in zf.namelist() if n.endswith(suffix))[0]


def output_of(root: Path, zip_path: Path, member: str) -> Path:
    """The file of ROOT that is a byte copy of ``member``."""
    with zipfile.ZipFile(zip_path) as zf:
        data = zf.read(member)
    found = [p for p in root.rglob("*.png") if p.read_bytes() == data]
    assert found, member
    return found[0]


def prepare_args(root: Path, images: Path, gtfine: Path, release: Path) -> list:
    return ["prepare", root, images, gtfine, "--release", release, *JOBS]


# --------------------------------------------------------------------------- 2. zips


ZIP_DEFECTS = {
    # name: (zip, member suffix, patch, words of the message)
    "encrypted frame": ("images", "_000304_leftImg8bit.png", {"flags": 1}, ["encrypted"]),
    "AES frame": ("images", "_000104_leftImg8bit.png", {"method": 99, "flags": 1}, ["encrypted"]),
    "zstandard label": ("gtfine", "_gtFine_instanceIds.png", {"method": 93}, ["method 93 (zstandard)"]),
    "bad CRC label": ("gtfine", "_gtFine_color.png", {"crc_xor": 0xFF}, ["cannot read zip member", "CRC"]),
    "bad CRC release JSON": ("release", "panoptic_im_val_city_vps.json", {"crc_xor": 1}, ["CRC"]),
    "encrypted release label": ("release", "_final_mask.png", {"flags": 1}, ["encrypted"]),
}


@pytest.mark.parametrize("case", sorted(ZIP_DEFECTS))
def test_a_download_member_zipfile_cannot_read_is_one_line(zips, prepared, tmp_path, capsys, case):
    which, suffix, patch, words = ZIP_DEFECTS[case]
    broken = dict(zips)
    broken[which] = tmp_path / zips[which].name
    shutil.copy(zips[which], broken[which])
    member = member_of(broken[which], suffix)
    root = copy_root(prepared, tmp_path)
    if not member.endswith(".json"):
        output_of(root, zips[which], member).unlink()  # the output that needs the member
    before = snapshot(root)
    patch_member(broken[which], member, **patch)
    outside = set(tmp_path.rglob("*"))
    code, err = run_cli(capsys, *prepare_args(root, broken["images"], broken["gtfine"], broken["release"]))
    assert code == 2
    one_line(err, f"{broken[which]}:{member}: ", *words)
    after = snapshot(root)
    assert {k: after.get(k) for k in before} == before
    assert not [p for p in set(tmp_path.rglob("*")) - outside if root not in p.parents and p != root]


@pytest.mark.parametrize("declared", ["true size", "false size"])
def test_a_zip_bomb_member_is_refused_without_inflating_it(zips, prepared, tmp_path, declared):
    member = member_of(zips["images"], "_000109_leftImg8bit.png")
    bomb = tmp_path / "leftImg8bit_sequence_trainvaltest.zip"
    replace_member(zips["images"], bomb, member, zeros=BOMB_BYTES)
    assert bomb.stat().st_size < zips["images"].stat().st_size + (1 << 20)
    if declared == "false size":  # the directory says 2 KB: reading must still stop there
        patch_member(bomb, member, file_size=2048)
    root = copy_root(prepared, tmp_path)
    output_of(root, zips["images"], member).unlink()
    before = snapshot(root)
    code, err, peak = run_subprocess(tmp_path, "fetch", root, bomb, "--split", "train", *JOBS)
    assert code == 2
    words = ["419,430,400 bytes", "a 64x32 PNG takes at most"] if declared == "true size" else ["CRC"]
    one_line(err, f"{bomb}:{member}: ", *words)
    assert peak < MEMORY_CAP_MB
    assert snapshot(root) == before


def _submission(pred: Path, out: Path, inner_method: int) -> Path:
    """``pred`` packed as ``out`` (pred.json + pan_pred.zip), the inner zip stored or deflated."""
    inner = out.with_name("pan_pred.zip")
    zip_folder(pred / "pan_pred", pred / "pan_pred", inner)
    with zipfile.ZipFile(out, "w") as zf:
        zf.write(pred / "pred.json", "pred.json", compress_type=zipfile.ZIP_DEFLATED)
        zf.write(inner, "pan_pred.zip", compress_type=inner_method)
    inner.unlink()
    return out


@pytest.mark.parametrize("inner_method,jobs", [(zipfile.ZIP_STORED, "1"), (zipfile.ZIP_DEFLATED, "2")],
                         ids=["stored", "deflated"])
def test_a_submission_is_scored_without_copying_its_inner_zip(prepared, prediction, tmp_path, inner_method,
                                                             jobs, capsys, monkeypatch):
    sub = _submission(prediction, tmp_path / "submission.zip", inner_method)

    def refusing(real):
        def call(*args, **kwargs):  # multiprocessing's own (pymp-*) are not vpskit's
            assert str(kwargs.get("prefix", "")).startswith("pym"), "vpskit asked for a temporary file"
            return real(*args, **kwargs)
        return call

    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, refusing(getattr(tempfile, name)))
    code, err = run_cli(capsys, "eval", sub, "--root", prepared, "--split", "val", "--out", tmp_path / "r",
                        "--jobs", jobs, "--no-progress")
    assert code == 0, err
    res = json.loads((tmp_path / "r" / "results.json").read_text())
    assert res["vpq"]["final"]["all"]["pq"] == 1.0 and res["stq"]["stq"] == 1.0


def test_a_prediction_member_zipfile_cannot_read_is_one_line(prepared, prediction, tmp_path, capsys):
    # a submission whose pan_pred.zip member is AES-encrypted
    sub = _submission(prediction, tmp_path / "submission.zip", zipfile.ZIP_STORED)
    patch_member(sub, "pan_pred.zip", method=99, flags=1)
    code, err = run_cli(capsys, "eval", sub, "--root", prepared, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{sub}:pan_pred.zip: encrypted")
    # a PNG inside the inner zip flagged encrypted: named as zip, inner zip and member
    inner = tmp_path / "pan_pred.zip"
    zip_folder(prediction / "pan_pred", prediction / "pan_pred", inner)
    png = member_of(inner, ".png")
    patch_member(inner, png, flags=1)
    sub2 = tmp_path / "sub2.zip"
    with zipfile.ZipFile(sub2, "w") as zf:
        zf.write(prediction / "pred.json", "pred.json")
        zf.write(inner, "pan_pred.zip")
    code, err = run_cli(capsys, "eval", sub2, "--root", prepared, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{sub2}:pan_pred.zip:{png}: encrypted")
    # a prediction zip with a bad CRC
    pz = zip_folder(prediction, prediction.parent, tmp_path / "pred.zip")
    png = member_of(pz, ".png")
    patch_member(pz, png, crc_xor=0xFFFF)
    code, err = run_cli(capsys, "eval", pz, "--root", prepared, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{pz}:{png}: cannot read zip member", "CRC")
    assert not list(tmp_path.glob("*.txt")) and not (prediction / "results.json").exists()


def test_a_deflated_inner_zip_is_read_in_place_in_any_order(tmp_path):
    """Seeks within a deflated zip-in-a-zip resume from saved inflater states: every order of
    reads gives the members' bytes, and random seeks give the inner zip's bytes."""
    rng = np.random.default_rng(3)
    members = {f"{i:03d}.png": rng.integers(0, 256, int(rng.integers(1, 120_000)), dtype=np.uint8).tobytes()
                for i in range(60)}
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    outer = tmp_path / "submission.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "pan_pred.zip", compress_type=zipfile.ZIP_DEFLATED)
    names = sorted(members)
    for order in (names, names[::-1], list(rng.permutation(names))):
        with open_nested(outer, "pan_pred.zip") as zf:
            assert [zf.read_member(n, ANY_FILE) for n in order] == [members[n] for n in order]
    whole = inner.read_bytes()
    with zipfile.ZipFile(outer) as zf:
        info = zf.getinfo("pan_pred.zip")
    with _Inflated(outer, _data_offset(outer, info), info.compress_size, info.file_size) as fh:
        assert len(fh._saved) == 1  # nothing saved before reading
        for start in rng.integers(0, len(whole), 300).tolist():
            fh.seek(start)
            assert fh.read(5000) == whole[start:start + 5000]
        assert len(fh._saved) > 2


def test_a_damaged_inner_zip_stream_is_one_line(prepared, prediction, tmp_path, capsys):
    sub = _submission(prediction, tmp_path / "submission.zip", zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(sub) as zf:
        info = zf.getinfo("pan_pred.zip")
    data = bytearray(sub.read_bytes())
    middle = _data_offset(sub, info) + info.compress_size // 2
    data[middle:middle + 64] = bytes(range(64))
    sub.write_bytes(bytes(data))
    code, err = run_cli(capsys, "eval", sub, "--root", prepared, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{sub}:pan_pred.zip: ")


def test_a_truncated_download_zip_is_one_line(zips, tmp_path, capsys):
    cut = tmp_path / zips["images"].name
    cut.write_bytes(zips["images"].read_bytes()[:-100])
    code, err = run_cli(capsys, *prepare_args(tmp_path / "root", cut, zips["gtfine"], zips["release"]))
    assert code == 2
    one_line(err, f"{cut}: not a readable zip")


def test_a_root_zip_member_zipfile_cannot_read_is_one_line(prepared, prediction, tmp_path, capsys):
    rz = zip_folder(prepared, prepared.parent, tmp_path / "root.zip")
    png = sorted(n for n in zipfile.ZipFile(rz).namelist() if "/val/panoptic_video/" in n)[0]
    patch_member(rz, png, flags=1)
    code, err = run_cli(capsys, "eval", prediction, "--root", rz, "--split", "val", "--out", tmp_path / "r", *JOBS)
    assert code == 2
    one_line(err, f"{rz}:{png}: encrypted")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- 3. files


def _broken_prediction(prediction: Path, tmp_path: Path, make) -> tuple[Path, Path]:
    pred = tmp_path / "pred"
    shutil.copytree(prediction, pred)
    victim = sorted((pred / "pan_pred").iterdir())[3]
    victim.unlink()
    make(victim)
    return pred, victim


@pytest.mark.parametrize("kind", ["named pipe", "link to /dev/zero"])
def test_a_prediction_png_that_is_no_regular_file_is_refused(prepared, prediction, tmp_path, kind):
    make = os.mkfifo if kind == "named pipe" else (lambda p: p.symlink_to("/dev/zero"))
    pred, victim = _broken_prediction(prediction, tmp_path, make)
    code, err, peak = run_subprocess(tmp_path, "eval", pred, "--root", prepared, "--split", "val", *JOBS,
                                     timeout=60)
    assert code == 2
    words = ["a named pipe"] if kind == "named pipe" else ["a character device", "/dev/zero"]
    one_line(err, f"{victim}: not a regular file", *words)
    assert peak < MEMORY_CAP_MB
    assert not (pred / "results.json").exists()


def test_a_frame_that_is_a_named_pipe_is_refused(tmp_path):
    from test_prepare_tree import build_download

    dl = build_download(tmp_path / "dl", SIZE, {1: "train"})
    frame = sorted(dl["images"].rglob("*_000109_leftImg8bit.png"))[0]
    frame.unlink()
    os.mkfifo(frame)
    root = tmp_path / "out" / "cityscapes_vps"
    code, err, _ = run_subprocess(tmp_path, "prepare", root, dl["images"], dl["gtfine"], "--release",
                                  dl["release"], "--splits", "train", *JOBS, timeout=60)
    assert code == 2
    one_line(err, f"{frame}: not a regular file (a named pipe)")


def test_a_png_promising_11000x11000_pixels_is_refused_before_decoding(prepared, prediction, zips, tmp_path):
    huge = handmade_png(11000, 11000, zlib.compress(bytes(11001 * 4)))
    # as a prediction: compared with the ground truth's size from its header
    pred, victim = _broken_prediction(prediction, tmp_path, lambda p: p.write_bytes(huge))
    code, err, peak = run_subprocess(tmp_path, "eval", pred, "--root", prepared, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{victim}: size 11000x11000 differs from the ground truth's 64x32")
    assert peak < MEMORY_CAP_MB
    # as a release colour label: compared with the size the JSON gives before stage 3 decodes it
    member = member_of(zips["release"], "_final_mask.png")
    release = tmp_path / "release.zip"
    replace_member(zips["release"], release, member, huge)
    root = tmp_path / "out" / "cityscapes_vps"
    code, err, peak = run_subprocess(tmp_path, *prepare_args(root, zips["images"], zips["gtfine"], release))
    assert code == 2
    one_line(err, f"{root}/{member.split('/', 1)[1]}: size 11000x11000 differs from the JSON's 64x32")
    assert peak < MEMORY_CAP_MB


# --------------------------------------------------------------------------- 4. wrong but decodable


def test_8bit_instance_ids_are_refused_wherever_they_enter(zips, prepared, tmp_path, capsys):
    eight_bit = encode_png(np.full((SIZE[1], SIZE[0]), 26, dtype=np.uint8))
    # a gtFine instanceIds label: refused by merge, before it is copied
    member = member_of(zips["gtfine"], "_gtFine_instanceIds.png")
    gtfine = tmp_path / "gtFine_trainvaltest.zip"
    replace_member(zips["gtfine"], gtfine, member, eight_bit)
    root = copy_root(prepared, tmp_path)
    copied = output_of(root, zips["gtfine"], member)
    copied.unlink()
    before = snapshot(root)
    code, err = run_cli(capsys, *prepare_args(root, zips["images"], gtfine, zips["release"]))
    assert code == 2
    one_line(err, f"{gtfine}:{member}: 8-bit grayscale PNG, but an instance-id label must be 16-bit grayscale")
    assert snapshot(root) == before and not copied.exists()
    # a release inst label: refused when the release is unpacked
    member = sorted(n for n in zipfile.ZipFile(zips["release"]).namelist() if "/val/inst/" in n)[0]
    release = tmp_path / "release.zip"
    replace_member(zips["release"], release, member, eight_bit)
    code, err = run_cli(capsys, *prepare_args(tmp_path / "fresh", zips["images"], zips["gtfine"], release))
    assert code == 2
    one_line(err, f"{release}:{member}: 8-bit grayscale PNG")
    # one put in ROOT by hand: refused by stage 3
    target = root / "val" / "inst" / Path(member).name
    target.write_bytes(eight_bit)
    for folder in ("labelmap", "panoptic_inst"):
        for p in (root / "val" / folder).glob(Path(member).name.split("_")[0] + "_*"):
            p.unlink()
    code, err = run_cli(capsys, "panoptic", root, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{target}: 8-bit grayscale PNG")


def test_instance_values_that_are_no_cityscapes_id_are_refused(prepared, tmp_path, capsys):
    root = copy_root(prepared, tmp_path)
    target = sorted((root / "val" / "inst").iterdir())[0]
    inst = np.full((SIZE[1], SIZE[0]), 7, dtype=np.uint16)
    inst[5, 9] = 500  # neither a label id (< 34) nor labelId*1000+k
    target.write_bytes(encode_png(inst))
    image_id = target.name[:len("0001_0001_frankfurt_000001_000104")]
    for folder in ("labelmap", "panoptic_inst"):
        for p in (root / "val" / folder).glob(image_id + "*"):
            p.unlink()
    code, err = run_cli(capsys, "panoptic", root, "--split", "val", *JOBS)
    assert code == 2
    one_line(err, f"{target}: value 500 at x=9, y=5 is not an instance id")


def _garbled(width: int, height: int, short: bool) -> bytes:
    """A PNG of ``width`` x ``height`` with valid chunk CRCs: half its rows (``short``), or a
    deflate stream that is not one."""
    if short:
        return handmade_png(width, height, zlib.compress(bytes((1 + 3 * width) * (height // 2))))
    return handmade_png(width, height, b"\x78\x9c" + bytes(range(7, 250, 3)))


def test_verify_decodes_every_frame_it_counts(prepared, tmp_path, capsys):
    root = copy_root(prepared, tmp_path)
    bad_zlib = sorted((root / "train" / "img").iterdir())[2]
    bad_zlib.write_bytes(_garbled(*SIZE, short=False))
    short = sorted((root / "test" / "img_all").iterdir())[7]
    short.write_bytes(_garbled(*SIZE, short=True))
    code, err = run_cli(capsys, "verify", root, *JOBS)
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == "verify: 2 problem(s):" and len(lines) == 3, err
    assert lines[1].startswith(f"  {bad_zlib}: corrupt or truncated PNG"), lines
    assert lines[2].startswith(f"  {short}: corrupt or truncated PNG"), lines


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


@pytest.mark.parametrize("width,height", [(1, 1), (5, 3), (13, 9), (64, 32)])
def test_pixel_check_knows_interlaced_pngs(width, height):
    """Adam7 rows are counted pass by pass: a whole interlaced PNG passes (and Pillow decodes it
    to the same pixels); one missing its last row does not."""
    arr = np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    rows = [b"\0" + row.tobytes() for x0, y0, dx, dy in ADAM7 for row in arr[y0::dy, x0::dx] if row.size]
    whole = handmade_png(width, height, zlib.compress(b"".join(rows)), interlace=1)
    assert check_png_pixels(whole, "x").interlace == 1
    np.testing.assert_array_equal(decode_png(whole), arr)
    with pytest.raises(VpsError, match="corrupt or truncated PNG"):
        check_png_pixels(handmade_png(width, height, zlib.compress(b"".join(rows[:-1])), interlace=1), "x")
