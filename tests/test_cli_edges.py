"""Edges a new user meets: --version, unknown splits, empty lists, plurals, summaries."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from vpskit.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"vpskit {metadata.version('vpskit')}\n"


def _one_line_error(argv, capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # a usage error found by the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("argv", [
    ["eval", "PRED", "--root", "ROOT", "--split", "foo"],
    ["verify", "ROOT", "--splits", "val,foo"],
    ["fetch", "ROOT", "IMAGES", "--split", "foo"],
    ["prepare", "ROOT", "IMAGES", "GTFINE", "--splits", "foo"],
    ["submission", "PRED", "--root", "ROOT", "--split", "foo"],
])
def test_an_unknown_split_lists_the_known_ones(argv, tmp_path, capsys):
    (tmp_path / "ROOT").mkdir()
    (tmp_path / "PRED").mkdir()
    argv = [str(tmp_path / a) if a in ("ROOT", "PRED", "IMAGES", "GTFINE") else a for a in argv]
    line = _one_line_error(argv, capsys)
    assert "'foo'" in line and re.search(r"train'?, '?val'?, '?test", line), line


def test_usage_errors_are_one_line(capsys):
    line = _one_line_error(["eval"], capsys)
    assert line.startswith("vpskit eval: error:") and "PRED" in line and "vpskit eval --help" in line


@pytest.mark.parametrize("splits", [",", " , ", ""])
def test_an_empty_split_list_checks_nothing_and_says_so(splits, tmp_path, capsys):
    line = _one_line_error(["verify", str(tmp_path), "--splits", splits], capsys)
    assert line == "vpskit: error: --splits: no split given (known: train, val, test)"


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    base = tmp_path_factory.mktemp("edges")
    assert main(["synth", str(base), "--videos", "10", "--size", "64x32", "--zip", "--jobs", "1",
                 "--no-progress"]) == 0
    return base


def test_prepare_summary_counts_videos_and_files(downloads, tmp_path, capsys):
    root = tmp_path / "root"
    capsys.readouterr()
    assert main(["prepare", str(root), str(downloads / "leftImg8bit_sequence_trainvaltest.zip"),
                 str(downloads / "gtFine_trainvaltest.zip"), "--release",
                 str(downloads / "cityscapes-vps-dataset-1.0.zip"), "--jobs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("release"))
    # 8 train + 1 val video carry cls/inst labels; the JSON files are files, not a video
    assert row.split()[2] == "9", row
    assert not re.search(r"\b1 (videos|files|frames|segments)\b", out)
    # one video: singular words
    capsys.readouterr()
    assert main(["fetch", str(root), str(downloads / "leftImg8bit_sequence_trainvaltest.zip"),
                 "--split", "val", "--jobs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "in 1 video," in out and "1 video already complete" in out, out


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    # `vpskit … | head`: the reader has gone away while a command prints
    import io

    import vpskit.cli as cli

    class ClosedPipe(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    real = cli.build_parser

    def with_printing_command():
        parser = real()
        parser.set_defaults(func=lambda args: print("a long table"))
        return parser

    monkeypatch.setattr(cli, "build_parser", with_printing_command)
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main([]) == 141
    assert capsys.readouterr().err == ""
