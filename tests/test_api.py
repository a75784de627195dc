"""The public API: plain functions with their parameters, whatever the import order."""

import inspect
import subprocess
import sys

import pytest

import vpskit


def test_public_api_is_plain_functions_in_any_import_order():
    code = (
        "import vpskit.evaluation.loading, vpskit.preparation.runner, vpskit.verification\n"
        "import inspect, types, vpskit\n"
        "from vpskit.evaluation import evaluate\n"
        "from vpskit.preparation import prepare\n"
        "from vpskit.verification import verify\n"
        "assert vpskit.evaluate is evaluate and vpskit.prepare is prepare and vpskit.verify is verify\n"
        "for f in (vpskit.evaluate, vpskit.prepare, vpskit.verify, vpskit.make_submission):\n"
        "    assert isinstance(f, types.FunctionType), f\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("name", "params"), [
    ("evaluate", ["pred", "root", "split", "gt_json", "gt_dir", "out", "metrics", "jobs", "progress",
                  "videos", "stq_void"]),
    ("prepare", ["root", "images", "gtfine", "release", "splits", "jobs"]),
    ("verify", ["root", "splits", "jobs"]),
    ("make_submission", ["pred", "root", "split", "out", "jobs"]),
    ("synthesize", ["out", "videos", "size", "seed"]),
    ("report", ["preds", "root", "split", "out", "names", "gt_json", "gt_dir", "jobs", "progress", "videos",
                "stq_void", "worst", "reps", "seed"]),
])
def test_signatures_show_the_parameters(name, params):
    sig = inspect.signature(getattr(vpskit, name))
    assert set(params) <= set(sig.parameters), (name, list(sig.parameters))
    assert getattr(vpskit, name).__doc__


def test_no_module_is_callable():
    import vpskit.evaluation
    import vpskit.preparation
    import vpskit.verification

    for mod in (vpskit.evaluation, vpskit.preparation, vpskit.verification):
        assert not callable(mod)


def test_version_is_the_package_version():
    from importlib import metadata

    assert vpskit.__version__ == metadata.version("vpskit")


def test_functions_raise_vpserror_on_bad_input(tmp_path):
    with pytest.raises(vpskit.VpsError, match="no such folder"):
        vpskit.verify(tmp_path / "absent")
    with pytest.raises(vpskit.VpsError):
        vpskit.evaluate(tmp_path / "absent", gt_json=tmp_path / "gt.json", gt_dir=tmp_path)
