import subprocess
import sys

import pytest

from vpskit.cli import build_parser, main

COMMANDS = ["synth", "prepare", "fetch", "merge", "panoptic", "video", "verify", "eval", "submission", "convert", "export", "perturb", "show", "report", "compare", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: vpskit {command}")
    assert len(out.splitlines()) > 5


def test_the_parser_lists_every_command():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_errors_are_one_line_and_debug_anywhere_shows_the_traceback(tmp_path, capsys):
    missing = tmp_path / "absent"
    assert main(["verify", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"vpskit: error: {missing}: no such folder\n"
    from vpskit.errors import VpsError

    with pytest.raises(VpsError):
        main(["verify", str(missing), "--debug"])
    with pytest.raises(VpsError):
        main(["--debug", "verify", str(missing)])


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "vpskit", "verify", str(tmp_path / "absent")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
