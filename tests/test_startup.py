"""Start-up: the parser and every command's --help load none of the heavy libraries."""

import json
import subprocess
import sys

import pytest

from vpskit import choices, formats
from vpskit.evaluation.metrics import stq, vpq
from vpskit.profiles import get_profile

HEAVY = ("numpy", "PIL", "matplotlib", "tqdm", "pycocotools", "zlib_ng", "pyspng")

# Runs the command line as `vpskit` does, then lists the heavy top-level modules it imported.
_PROBE = (
    "import json, sys\n"
    "from vpskit.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))\n"
    "sys.stderr.write('\\nHEAVY ' + json.dumps(heavy) + '\\n')\n"
)


def _heavy_imports(*argv: str) -> tuple[list[str], str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], input=json.dumps(HEAVY),
                          capture_output=True, text=True, timeout=120)
    line = proc.stderr.rsplit("\nHEAVY ", 1)[1]
    return json.loads(line), proc.stdout


@pytest.mark.parametrize("argv", [["--help"], [], ["eval", "--help"], ["prepare", "--help"],
                                  ["convert", "--help"], ["export", "--help"], ["show", "--help"],
                                  ["report", "--help"], ["compare", "--help"], ["synth", "--help"]])
def test_help_imports_no_heavy_library(argv):
    heavy, out = _heavy_imports(*argv)
    assert heavy == []
    assert out.startswith("usage: vpskit")


def test_the_probe_sees_a_heavy_import():
    # the same probe on a command that does real work: it must report numpy, or the test above proves nothing
    heavy, _ = _heavy_imports("eval", "/nonexistent-pred", "--root", "/nonexistent-root", "--jobs", "1")
    assert "numpy" in heavy


def test_the_offered_choices_are_what_the_code_implements():
    assert tuple(formats.MAPS) == choices.MAP_FORMATS
    assert (*formats.MAPS, formats.COCO_PANOPTIC) == formats.NAMES
    assert (*formats.NAMES, formats.COCO_INSTANCES) == formats.EXPORT_NAMES
    assert stq.VOID_RULES == choices.VOID_RULES and stq.DEFAULT_VOID_RULE in stq.VOID_RULES
    assert vpq.SPANS == get_profile("cityscapes-vps").vpq_spans == choices.CITYSCAPES_VPS_SPANS


def test_the_version_is_the_installed_packages():
    from importlib import metadata

    from vpskit import _version

    assert _version.__version__ == metadata.version("vpskit") == _version._from_metadata()
    assert _version._from_dist_info() == metadata.version("vpskit")
