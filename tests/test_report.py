"""`vpskit report`: what the page says is what the evaluation computed, it is the same bytes on
every run, it needs no network, and bad input is one line."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest

import vpskit
from reportpage import Page, make_split, read_page
from vpskit.categories import categories_json
from vpskit.cli import main
from vpskit.evaluation import evaluate_videos
from vpskit.evaluation.metrics.vpq import SPANS

WORST = 2


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path, Path]:
    return make_split(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def one(data, tmp_path_factory) -> tuple[Path, Page, dict]:
    """The page of the noisy prediction, written by the command line, and its results."""
    root, noisy, _ = data
    out = tmp_path_factory.mktemp("page") / "report.html"
    assert main(["report", str(noisy), "--root", str(root), "--split", "val", "--out", str(out),
                 "--worst", str(WORST), "--jobs", "1"]) == 0
    return out, read_page(out), vpskit.evaluate(noisy, root=root, split="val", jobs=1)


def pct(value: float) -> str:
    return f"{100 * value:.1f}"


def check(cell, value: float) -> None:
    """The cell holds ``value`` exactly and shows it in percent."""
    assert cell.value == value and cell.text == pct(value), (cell, value)


def test_the_command_prints_the_path_it_wrote(data, tmp_path, capsys):
    root, noisy, _ = data
    out = tmp_path / "sub" / "page.html"
    assert main(["report", str(noisy), "--root", str(root), "--out", str(out), "--worst", "0",
                 "--jobs", "1"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert not list(out.parent.glob(".*"))  # no temporary file left


def test_headline_numbers_are_the_evaluations(one):
    _, page, results = one
    rows = page.tables["headline-table"].by("key")
    assert len(rows) == 3 + len(SPANS) + 3
    for key, row in rows.items():
        value = results
        for part in key.split("."):
            value = value[part]
        check(row.cells[1], value)
    # the most important one, spelled out
    check(rows["vpq.final.all.pq"].cells[1], results["vpq"]["final"]["all"]["pq"])
    assert 0 < results["vpq"]["final"]["all"]["pq"] < 1


def test_the_page_carries_results_json(one):
    import json

    _, page, results = one
    link = next(a for t, a in page.tags if t == "a" and a.get("id") == "results-0")
    assert link["download"] == "results.json" and link["href"].startswith("data:application/json;base64,")
    assert json.loads(base64.b64decode(link["href"].split(",", 1)[1])) == results


def test_vpq_per_span_table(one):
    _, page, results = one
    rows = page.tables["vpq-0"].by("k")
    assert list(rows) == ["0", "5", "10", "15", "final"]
    for k, row in rows.items():
        for g, group in enumerate(("all", "things", "stuff")):
            want = results["vpq"][k][group]
            for m, metric in enumerate(("pq", "sq", "rq")):
                check(row.cells[1 + 4 * g + m], want[metric])
            assert row.cells[4 + 4 * g].value == want["n"]


def test_per_class_table(one):
    _, page, results = one
    table = page.tables["classes-0"]
    assert "sortable" in table.classes
    vpq = results["vpq"]
    rows = table.by("category")
    assert list(rows) == list(vpq["0"]["per_class"])
    counted = 0
    for cid, row in rows.items():
        cells = dict(zip(table.headers, row.cells, strict=True))
        spans = [vpq[str(k)]["per_class"][cid] for k in SPANS]
        live = [c for c in spans if c["tp"] + c["fp"] + c["fn"]]
        for metric, header in (("pq", "VPQ"), ("sq", "SQ"), ("rq", "RQ")):
            if live:
                assert cells[header].value == pytest.approx(np.mean([c[metric] for c in live]), abs=1e-15)
            else:
                assert cells[header].value is None and cells[header].text == "–"
        for k, c in zip(SPANS, spans, strict=True):
            if c["tp"] + c["fp"] + c["fn"]:
                check(cells[f"PQ k={k}"], c["pq"])
                counted += 1
        iou = results["stq"]["per_class_iou"][cid]
        assert cells["IoU (STQ)"].value == iou
    assert counted > 20


def test_number_columns_have_their_headers_aligned_with_them(one):
    _, page, _ = one
    checked = 0
    for name, table in page.tables.items():
        if not table.rows or len(table.rows[0].cells) != len(table.headers):
            continue
        for header, cls, cell in zip(table.headers, table.header_classes, table.rows[0].cells, strict=True):
            assert ("num" in cls.split()) == ("num" in cell.html_class.split()), (name, header)
            checked += "num" in cls.split()
    assert checked > 20


def test_per_video_table(one):
    _, page, results = one
    table = page.tables["videos-0"]
    assert "sortable" in table.classes
    rows = table.by("video")
    assert sorted(rows) == sorted(results["vpq"]["per_video"]) and len(rows) == 2
    for video, row in rows.items():
        cells = dict(zip(table.headers, row.cells, strict=True))
        v, s = results["vpq"]["per_video"][video], results["stq"]["per_sequence"][video]
        check(cells["VPQ"], v["final"]["all"])
        check(cells["Things"], v["final"]["things"])
        check(cells["Stuff"], v["final"]["stuff"])
        for metric in ("stq", "aq", "iou"):
            check(cells[{"stq": "STQ", "aq": "AQ", "iou": "IoU"}[metric]], s[metric])
        for k in ("0", "15"):
            for m in ("tp", "fp", "fn"):
                assert cells[f"{m.upper()} k={k}"].value == v["spans"][k][m]


def test_tracking_table_counts_and_the_lost_tracks_recounted(data, one):
    root, noisy, _ = data
    _, page, results = one
    table = page.tables["tracking-0"]
    rows = table.by("category")
    # a recount of the GT tracks and of those lost, straight from the track matches
    vpq, _ = evaluate_videos(noisy, root=root, split="val", jobs=1, tracks=True)
    want_lost: dict[str, list[tuple[str, int]]] = {}
    want_tracks: dict[str, int] = {}
    for video, state in vpq.videos.items():
        m = state.tracks
        for i, (track, cat) in enumerate(zip(m.ids.tolist(), m.category.tolist(), strict=True)):
            want_tracks[str(cat)] = want_tracks.get(str(cat), 0) + 1
            if m.matched[0, i] == m.present[0, i] > 0 and m.matched[3, i] < m.present[3, i]:
                want_lost.setdefault(str(cat), []).append((video, track))
    assert sum(map(len, want_lost.values())) >= 2  # the noisy prediction switches tracks
    assert {cid: sorted(r.lost) for cid, r in rows.items() if r.lost} == {c: sorted(v) for c, v in want_lost.items()}
    # each lost track is named as `show --labels` names it: its number among the video's thing tracks
    names = {str(c["id"]): c["name"] for c in categories_json()}
    isthing = {str(c["id"]): bool(c["isthing"]) for c in categories_json()}
    for cid, r in rows.items():
        for (video, track), shown in zip(r.lost, r.lost_text, strict=True):
            m = vpq.videos[video].tracks
            things = [t for t, c in zip(m.ids.tolist(), m.category.tolist(), strict=True) if isthing[str(c)]]
            assert shown == f"{video}: {names[cid]} {things.index(track) + 1}"
    for cid, row in rows.items():
        cells = dict(zip(table.headers, row.cells, strict=True))
        assert cells["GT tracks"].value == want_tracks.get(cid, 0)
        assert cells["lost by k=15"].value == len(want_lost.get(cid, []))
        for k in SPANS:
            c = results["vpq"][str(k)]["per_class"][cid]
            assert cells[f"k={k} TP / FP / FN"].text == f"{c['tp']} / {c['fp']} / {c['fn']}"
    assert set(want_tracks) <= set(rows)


def test_the_page_is_self_contained(one):
    path, page, _ = one
    text = path.read_text()
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, name, value[:60])
        assert not (tag == "link" and attrs.get("rel") == "stylesheet")
        assert not (tag == "script" and "src" in attrs)
    assert "@import" not in text and "url(" not in text.replace("url(#", "")
    assert not re.search(r"(?<![\w.])(?:https?:)?//[a-z]", text.split("<script>")[1])
    # the chart is an SVG that draws its text as paths: no font to fetch
    chart = next(a["src"] for t, a in page.tags if t == "img" and a.get("id") == "vpq-k-chart")
    svg = base64.b64decode(chart.split(",", 1)[1]).decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<text" not in svg and "@font-face" not in svg


def test_the_same_inputs_give_the_same_bytes(data, one, tmp_path):
    root, noisy, _ = data
    path, _, _ = one
    again = vpskit.report(noisy, root=root, split="val", out=tmp_path / "again.html", worst=WORST, jobs=2,
                          progress=False)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("args", "message"), [
    (["--names", "a,b"], "--names: 2 names for 1 predictions"),
    (["--worst", "-1"], "--worst: must be 0 or more, got -1"),
    (["--split", "test"], "--split: 'test' has no public labels"),
])
def test_bad_input_is_one_line_and_writes_nothing(data, tmp_path, capsys, args, message):
    root, noisy, _ = data
    out = tmp_path / "page.html"
    capsys.readouterr()
    assert main(["report", str(noisy), "--root", str(root), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vpskit: error: ") and message in err, err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_missing_prediction_is_named(data, tmp_path, capsys):
    root, _, _ = data
    capsys.readouterr()
    assert main(["report", str(tmp_path / "absent"), "--root", str(root), "--out", str(tmp_path / "p.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "absent") in err
    assert not (tmp_path / "p.html").exists()


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    for option in ("--root", "--split", "--out", "--names", "--worst", "--jobs", "--reps", "--seed", "--videos"):
        assert option in out


def test_two_predictions_side_by_side_with_bootstrap_intervals(data, tmp_path):
    from vpskit.visualize.stats import METRICS, compare_accumulators

    root, noisy, better = data
    out = vpskit.report([noisy, better], root=root, out=tmp_path / "two.html", names=["A", "B"], worst=0,
                        reps=200, seed=3, jobs=1, progress=False)
    page = read_page(out)
    accs = [("A", *evaluate_videos(noisy, root=root, jobs=1)), ("B", *evaluate_videos(better, root=root, jobs=1))]
    want = compare_accumulators(accs, reps=200, seed=3)["pairs"][0]
    a, b = (vpskit.evaluate(p, root=root, jobs=1) for p in (noisy, better))
    # side by side, with B - A
    head = page.tables["headline-table"]
    assert head.headers == ["", "A", "B", "Δ B − A"]
    row = head.by("key")["vpq.final.all.pq"]
    check(row.cells[1], a["vpq"]["final"]["all"]["pq"])
    check(row.cells[2], b["vpq"]["final"]["all"]["pq"])
    assert row.cells[3].value == b["vpq"]["final"]["all"]["pq"] - a["vpq"]["final"]["all"]["pq"]
    # the intervals of every metric, VPQ and STQ among them, and where they exclude 0
    rows = page.tables["intervals-1"].by("metric")
    assert list(rows) == [key for key, _ in METRICS] and {"vpq", "stq"} <= set(rows)
    marked = 0
    for key, got in rows.items():
        item = want["metrics"][key]
        low, high = item["interval"]
        cell = got.cells[4]
        assert (float(cell.attrs["data-low"]), float(cell.attrs["data-high"])) == (low, high)
        assert cell.text == f"[{100 * low:+.1f}, {100 * high:+.1f}]"
        assert got.cells[3].value == item["delta"]
        assert got.attrs["data-excludes-zero"] == str(int(low > 0 or high < 0))
        assert got.cells[5].text == ("yes: B > A" if low > 0 else "yes: A > B" if high < 0 else "no: 0 inside")
        marked += low > 0
    assert marked >= 1 and rows["vpq"].cells[2].value > rows["vpq"].cells[1].value
    # deltas per class and per video
    classes = page.tables["class-deltas-1"].by("category")
    for cid, item in want["per_class"].items():
        assert classes[cid].cells[3].value == item["pq"]["final"]["delta"]
        assert classes[cid].cells[6].value == item["iou"]["delta"]
    videos = page.tables["video-deltas-1"].by("video")
    assert sorted(videos) == sorted(want["per_video"])
    for video, item in want["per_video"].items():
        assert videos[video].cells[3].value == item["vpq"]["delta"]
        assert videos[video].cells[6].value == item["stq"]["delta"]
    assert "Only 2 videos: a resample can hold few distinct videos" in out.read_text()
    # and each prediction's own sections
    assert {"classes-0", "classes-1", "videos-0", "videos-1", "tracking-0", "tracking-1"} <= set(page.tables)


def test_without_root_there_are_no_thumbnails_and_the_page_says_why(data, tmp_path):
    root, noisy, _ = data
    out = vpskit.report(noisy, gt_json=root / "panoptic_gt_val_city_vps.json", gt_dir=root / "val" / "panoptic_video",
                        out=tmp_path / "p.html", jobs=1, progress=False)
    text = out.read_text()
    assert "Thumbnails need the prepared dataset's frames: give --root." in text
    assert 'class="thumb"' not in text
    assert read_page(out).tables["headline-table"].rows


def test_the_worst_videos_are_shown_as_the_error_panels(data, one):
    import io

    from PIL import Image

    from vpskit.visualize.showing import error_panels

    root, noisy, _ = data
    _, page, results = one
    per_video = results["vpq"]["per_video"]
    worst = sorted(per_video, key=lambda v: (per_video[v]["final"]["all"], v))[:WORST]
    figures = [a["data-video"] for t, a in page.tags if t == "figure" and "data-video" in a]
    assert figures == worst
    thumbs = [a["src"] for t, a in page.tags if t == "img" and a.get("class") == "thumb"]
    assert len(thumbs) == 6 * len(worst)
    legend = [a for t, a in page.tags if t == "div" and a.get("id") == "error-legend"]
    assert len(legend) == 1
    for v, video in enumerate(worst):
        want = error_panels(noisy, root=root, split="val", video=video, span=15, scale=1.0)  # 256 px < 320
        for j, panel in enumerate(want):
            src = thumbs[6 * v + j]
            assert src.startswith("data:image/png;base64,")
            got = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))
            assert got.shape == (128, 3 * 256, 3) and np.array_equal(got, panel)


def test_missing_frames_are_named_with_the_way_out(data, tmp_path, capsys):
    import shutil

    root, noisy, _ = data
    bare = tmp_path / "root"
    shutil.copytree(root, bare)
    shutil.rmtree(bare / "val" / "img")
    out = tmp_path / "p.html"
    capsys.readouterr()
    assert main(["report", str(noisy), "--root", str(bare), "--out", str(out), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bare / "val" / "img") in err and "--worst 0 leaves them out" in err
    assert not out.exists()
    assert main(["report", str(noisy), "--root", str(bare), "--out", str(out), "--worst", "0", "--jobs", "1"]) == 0
