import json

import pytest

from vpskit.cli import main


def test_demo_runs_end_to_end_and_reruns(tmp_path, capsys):
    base = tmp_path / "demo"
    args = ["demo", str(base), "--videos", "3", "--size", "256x128", "--jobs", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[5/6] eval" in out and "STQ" in out and "final" in out
    # it ends with the report page, whose path it prints
    page = base / "prediction" / "report.html"
    assert "[6/6] report" in out and f"The report page: {page}\n" in out
    # the prediction is made by perturb, which says what it did and records it
    record = json.loads((base / "prediction" / "perturb.json").read_text())
    assert record["split"] == "val" and all(record["errors"].values())
    assert f"of {record['counts']['ground_truth']['tracks']} tracks missed" in out and "switched identity" in out
    results = json.loads((base / "prediction" / "results.json").read_text())
    final = results["vpq"]["final"]["all"]["pq"]
    assert 0.0 < final < 1.0  # a noisy model: neither perfect nor useless
    assert 0.0 < results["stq"]["stq"] < 1.0
    for k in ("0", "5", "10", "15", "final"):
        assert (base / "prediction" / f"vpq-{k}.txt").is_file()
    assert (base / "cityscapes_vps" / "panoptic_gt_val_city_vps.json").is_file()
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and f"{100 * final:.1f}" in text
    assert text.count('class="thumb"') == 6  # the one val video's annotated frames
    first = (base / "prediction" / "results.json").read_bytes()
    first_page = page.read_bytes()
    # A second run replaces the first and gives the same scores and the same page.
    assert main(args) == 0
    assert (base / "prediction" / "results.json").read_bytes() == first
    assert page.read_bytes() == first_page


def test_demo_refuses_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("precious")
    assert main(["demo", str(tmp_path), "--videos", "3", "--size", "256x128"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds no earlier vpskit demo" in err[0]
    assert (tmp_path / "mine.txt").read_text() == "precious"


@pytest.mark.parametrize("argv", [["demo", "--help"], ["--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "vpskit" in capsys.readouterr().out


def test_demo_splits_score_several_val_videos():
    from vpskit.cli.demo import demo_splits

    assert demo_splits(12) == {"train": 4, "val": 6, "test": 2}  # the default
    assert demo_splits(3) == {"train": 1, "val": 1, "test": 1}
    for n in range(3, 40):
        counts = demo_splits(n)
        assert sum(counts.values()) == n and min(counts.values()) >= 1
