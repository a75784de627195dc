import importlib
import subprocess
import sys

import vpskit


def test_public_api_is_callable_in_any_import_order():
    code = (
        "import vpskit.evaluate.loading, vpskit.prepare.runner, vpskit.verify\n"
        "import vpskit\n"
        "from vpskit.evaluate import evaluate\n"
        "from vpskit.prepare import prepare\n"
        "from vpskit.verify import verify\n"
        "assert callable(vpskit.evaluate) and callable(vpskit.prepare) and callable(vpskit.verify)\n"
        "assert vpskit.synthesize.__module__ == 'vpskit.synth'\n"
        "assert vpskit.evaluate.evaluate is evaluate and vpskit.prepare.prepare is prepare\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_calling_the_module_calls_the_function(tmp_path):
    import pytest

    for name in ("prepare", "verify", "evaluate"):
        mod = importlib.import_module(f"vpskit.{name}")
        assert getattr(vpskit, name) is mod
    with pytest.raises(vpskit.VpsError, match="no such folder"):
        vpskit.verify(tmp_path / "absent")
    with pytest.raises(vpskit.VpsError):
        vpskit.evaluate(tmp_path / "absent", gt_json=tmp_path / "gt.json", gt_dir=tmp_path)
