"""The README, the specification and the project metadata stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from vpskit.cli import main
from vpskit.evaluation.metrics.stq import mean_iou

REPO = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/specification.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", path.read_text(), re.M)}


@pytest.mark.parametrize("doc", DOCS)
def test_relative_links_and_anchors_resolve(doc):
    source = REPO / doc
    for target in LINK.findall(source.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        path = (source.parent / file).resolve() if file else source
        assert path.is_file(), f"{doc}: link to missing file {target}"
        if anchor:
            assert anchor in _anchors(path), f"{doc}: link to missing anchor {target}"


def test_slug_follows_github():
    assert _slug("### `vpskit submission` — check a test-split prediction".lstrip("# ")) == (
        "vpskit-submission--check-a-test-split-prediction")
    assert _slug("4. The four stages") == "4-the-four-stages"


def test_citation_matches_the_package():
    pyproject = (REPO / "pyproject.toml").read_text()
    cff = (REPO / "CITATION.cff").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(rf"^version: {re.escape(version)}$", cff, re.M)
    assert re.search(r'^license = "Apache-2.0"$', pyproject, re.M)
    assert re.search(r"^license: Apache-2.0$", cff, re.M)
    assert "Apache License" in (REPO / "LICENSE").read_text()[:200]
    for title in ("Video Panoptic Segmentation", "STEP: Segmenting and Tracking Every Pixel",
                  "The Cityscapes Dataset for Semantic Urban Scene Understanding"):
        assert title in cff


def test_the_stq_void_example_of_the_specification():
    # GT road, road, car, car; prediction road, void, car, car (rows GT, columns pred, void last).
    road, car, void = 0, 13, 19
    confusion = np.zeros((20, 20), np.int64)
    for gt, pred in ((road, road), (road, void), (car, car), (car, car)):
        confusion[gt, pred] += 1
    spec = (REPO / "docs/specification.md").read_text()
    aq = 1.0  # the car track is found exactly
    for rule, sq, stq in (("class", "0.5", "0.7071"), ("miss", "0.75", "0.8660")):
        got = mean_iou(confusion, rule)
        assert f"{got:.4g}" == sq and f"{np.sqrt(aq * got):.4f}" == stq
        assert f"**{sq}**" in spec and f"**{stq}**" in spec


def test_split_sizes_are_stated_with_the_typo_named():
    for doc in DOCS:
        text = (REPO / doc).read_text()
        assert "400 / 50 / 50 videos" in text and "2,400 / 300 / 300" in text
        assert "2400/600/600" in text and "typo" in text


@pytest.mark.parametrize(("command", "words"), [
    ("demo", ("1. synth", "2. prepare", "3. verify", "4. predict", "5. eval", "6. report")),
    ("submission", ("PRED/submission.zip when PRED is a folder",)),
    ("synth", ("8:1:1", "400/50/50", "--splits")),
])
def test_help_texts(command, words, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert " ".join(word.split()) in text, word
