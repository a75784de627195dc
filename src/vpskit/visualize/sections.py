"""The sections of the report page, as HTML strings, from the scored predictions."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING

from ..evaluation import video_ranges
from ..evaluation.report import (
    class_means,
    class_spans,
    left_out_line,
    listed_categories,
    result_spans,
)
from ..text import plural
from .charts import GROUP_STYLES, data_uri
from .html import count, delta, esc, pct, row, table, text

if TYPE_CHECKING:
    from .page import Scored
    from .scoring import Benchmark


def headline_rows(spans: list[str]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Headline rows of VPQ windows named ``spans``: key (``data-key`` of the row), title, path
    into the results."""
    return (
        ("vpq.final.all.pq", "VPQ (final, All)", ("vpq", "final", "all", "pq")),
        ("vpq.final.things.pq", "VPQ Things", ("vpq", "final", "things", "pq")),
        ("vpq.final.stuff.pq", "VPQ Stuff", ("vpq", "final", "stuff", "pq")),
        *((f"vpq.{k}.all.pq", f"VPQ at k = {k} (All)", ("vpq", k, "all", "pq")) for k in spans),
        ("stq.stq", "STQ", ("stq", "stq")),
        ("stq.aq", "AQ (STQ's association term)", ("stq", "aq")),
        ("stq.iou", "IoU (STQ's segmentation term)", ("stq", "iou")),
    )


def video_sort(video: str) -> int | str:
    """The value a video's row sorts by: its number (Cityscapes-VPS, KITTI-STEP), else its name."""
    return int(video) if video.isdigit() else video


def windows_text(results: dict) -> str:
    """What the window spans k of the results stand for, in words."""
    conv = results["conventions"]["vpq"]
    pairs = ", ".join(f"k = {k}: {n}" for k, n in zip(conv["window_spans_k"], conv["window_frames"], strict=True))
    return f"a window k holds consecutive annotated frames ({pairs})"


def at(results: dict, path: tuple[str, ...]) -> float:
    """The value at ``path`` in ``results``."""
    value: object = results
    for key in path:
        value = value[key]  # type: ignore[index]
    return float(value)  # type: ignore[arg-type]


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _categories(bench: Benchmark) -> dict[str, tuple[str, bool]]:
    return {str(int(r["id"])): (str(r.get("name", r["id"])), bool(int(r.get("isthing", 0))))
            for r in bench.category_records}


Listed = tuple[list[str], str]
"""The categories the per-category tables list, and the note their captions end with (empty
when none is left out)."""


def listed(scored: list[Scored]) -> Listed:
    """The categories the per-category tables of the page list (the same for every prediction:
    :func:`~vpskit.evaluation.report.listed_categories` of them all) and the caption note saying
    how many are left out."""
    ids, left = listed_categories([s.results for s in scored])
    return ids, f"; {left_out_line(left, len(scored))}" if left else ""


def _ground_truth(ev: dict) -> str:
    """Where the ground truth of the results is: its JSON, folder or zip."""
    gt = ev["ground_truth"]
    found = gt.get("json") or gt.get("zip") or gt.get("folder") or ""
    return f"{found} ({gt['folder']})" if "zip" in gt and "folder" in gt else found


def _videos_text(videos: list[str]) -> str:
    """Numbered videos as ranges (``2, 8-10``), named ones (VIPSeg) by name."""
    return video_ranges(videos) if all(v.isdigit() for v in videos) else ", ".join(videos)


def run_section(scored: list[Scored]) -> str:
    """What was evaluated and by which rules (the head of ``results.json``)."""
    first = scored[0].results
    ev, conv = first["evaluation"], first["conventions"]
    vpq_ref, stq_conv = conv["vpq"]["agrees_with"], conv["stq"]
    rows = [
        ("vpskit", first["vpskit"]["version"]),
        ("benchmark", ev.get("benchmark", "cityscapes-vps")),
        ("split", ev["split"] if ev["split"] is not None else "(ground truth given by file)"),
        ("ground truth", _ground_truth(ev)),
        ("videos", f"{len(ev['videos'])}: {_videos_text(ev['videos'])}"),
        ("frames", ev["frames"]),
        ("VPQ", f"windows k = {', '.join(map(str, conv['vpq']['window_spans_k']))} "
                f"(of {', '.join(map(str, conv['vpq']['window_frames']))} consecutive annotated frames); final: "
                f"{conv['vpq']['final']}; agrees with {vpq_ref['repository']} {vpq_ref['file']} "
                f"@ {vpq_ref['commit'][:12]}"),
        ("STQ", f"void rule '{stq_conv['void_rule']}': {stq_conv['void_rule_meaning']}; agrees with "
                f"{stq_conv['agrees_with']['repository']} {stq_conv['agrees_with']['file']} "
                f"@ {stq_conv['agrees_with']['commit'][:12]}"),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    for i, one in enumerate(scored):
        given = one.results["evaluation"]["prediction"]["given"]
        saved = data_uri((json.dumps(one.results, indent=2, sort_keys=False) + "\n").encode(), "application/json")
        body += (f"<tr><th>prediction {esc(one.name)}</th><td>{esc(given)} · <a id=\"results-{i}\" "
                 f'download="results.json" href="{saved}">its results.json</a></td></tr>')
    return f'<section id="run"><h2>Run</h2><table class="meta">{body}</table></section>'


def headline_section(scored: list[Scored], chart: str) -> str:
    """Final VPQ (All, Things, Stuff), VPQ at each k, STQ, AQ, IoU; side by side, with the
    difference to the first prediction; beside them ``chart`` (VPQ against k, a data URI)."""
    base = scored[0].results
    headers = ["", *(s.name for s in scored), *(f"Δ {s.name} − {scored[0].name}" for s in scored[1:])]
    rows = []
    for key, title, path in headline_rows(result_spans(base["vpq"])):
        cells = [f"<th>{esc(title)}</th>", *(pct(at(s.results, path)) for s in scored)]
        cells += [delta(at(s.results, path) - at(base, path)) for s in scored[1:]]
        rows.append(row(cells, key=key))
    return (f'<section id="headline"><h2>Headline (%)</h2><div class="side">'
            f'{table(headers, rows, ident="headline-table")}<figure><img class="chart" id="vpq-k-chart" src="{chart}" width="640" height="320" '
            f'alt="VPQ against the window span k, All, Things and Stuff">'
            f"<figcaption>VPQ<sup>k</sup> against the window span k: {esc(windows_text(base))}, and a "
            "track must keep its identity through all of them. "
            "k = 0 is image-level PQ.</figcaption></figure></div></section>")


def vpq_table(one: Scored, i: int) -> str:
    """VPQ per span and final: PQ, SQ, RQ and counted categories of All, Things, Stuff."""
    vpq = one.results["vpq"]
    top = "<tr><th></th>" + "".join(f'<th colspan="4">{esc(t)}</th>' for _, t, _ in GROUP_STYLES) + "</tr>"
    headers = ["k", *(m for _ in GROUP_STYLES for m in ("PQ", "SQ", "RQ", "N"))]
    rows = []
    for k in (*result_spans(vpq), "final"):
        cells = [f"<th>{esc(k)}</th>"]
        for g, _, _ in GROUP_STYLES:
            r = vpq[k][g]
            cells += [pct(r["pq"]), pct(r["sq"]), pct(r["rq"]), count(r["n"])]
        rows.append(row(cells, k=k))
    return table(headers, rows, ident=f"vpq-{i}", head_rows=[top], caption="VPQ (%) per window span")


def class_table(one: Scored, i: int, cats: dict[str, tuple[str, bool]], shown: Listed) -> str:
    """Per category of ``shown``: VPQ, SQ, RQ (means over the spans) with bars, PQ at each k, STQ's IoU."""
    vpq, ious = one.results["vpq"], one.results["stq"]["per_class_iou"]
    spans = result_spans(vpq)
    headers = ["id", "category", "kind", "VPQ", "SQ", "RQ", *(f"PQ k={k}" for k in spans), "IoU (STQ)"]
    rows = []
    for cid in shown[0]:
        name, thing = cats.get(cid, (cid, False))
        means = class_means(vpq, cid) or {}
        cells = [count(int(cid)), text(name), text("thing" if thing else "stuff")]
        cells += [pct(means.get(m), bar=True) for m in ("pq", "sq", "rq")]
        cells += [pct(c["pq"] if c else None) for c in class_spans(vpq, cid)]
        cells.append(pct(ious.get(cid), bar=True))
        rows.append(row(cells, category=cid))
    return table(headers, rows, ident=f"classes-{i}", sortable=True, cls="classes",
                 caption="Per category (%): VPQ, SQ and RQ are means over the spans where the "
                 f"category has a TP, FP or FN; – where it has none{shown[1]}")


def video_table(one: Scored, i: int) -> str:
    """Per video: final VPQ (All, Things, Stuff), STQ, AQ, IoU, TP/FP/FN at the shortest and the
    longest window span."""
    per_video, per_seq = one.results["vpq"]["per_video"], one.results["stq"]["per_sequence"]
    first, last = result_spans(one.results["vpq"])[0], result_spans(one.results["vpq"])[-1]
    headers = ["video", "VPQ", "Things", "Stuff", "STQ", "AQ", "IoU", f"TP k={first}", f"FP k={first}",
               f"FN k={first}", f"TP k={last}", f"FP k={last}", f"FN k={last}"]
    rows = []
    for video in sorted(per_video):
        v, s = per_video[video], per_seq[video]
        cells = [text(video, sort=video_sort(video)), *(pct(v["final"][g], bar=g == "all") for g, _, _ in GROUP_STYLES),
                 pct(s["stq"], bar=True), pct(s["aq"]), pct(s["iou"])]
        for k in (first, last):
            cells += [count(v["spans"][k][m]) for m in ("tp", "fp", "fn")]
        rows.append(row(cells, video=video))
    return table(headers, rows, ident=f"videos-{i}", sortable=True, cls="videos",
                 caption="Per video (%); click a header to sort")


def tracking_table(one: Scored, i: int, cats: dict[str, tuple[str, bool]]) -> str:
    """Per category: tube TP / FP / FN at each k, GT tracks, and the tracks matched at the
    shortest span but lost at the longest (video and track id)."""
    vpq = one.results["vpq"]
    spans = result_spans(vpq)
    last = spans[-1]
    headers = ["category", *(f"k={k} TP / FP / FN" for k in spans), "GT tracks", f"lost by k={last}",
               "where (video: track, as show --labels names it)"]
    rows = []
    for cid in vpq[spans[0]]["per_class"]:
        per_k = [vpq[k]["per_class"][cid] for k in spans]
        tracks = one.tracks.get(int(cid), 0)
        if not tracks and not any(c["tp"] + c["fp"] + c["fn"] for c in per_k):
            continue
        lost = one.lost.get(int(cid), [])
        cells = [text(cats.get(cid, (cid, False))[0])]
        cells += [f'<td class="num tfn"><span class="tp">{c["tp"]}</span> / <span class="fp">{c["fp"]}'
                  f'</span> / <span class="fn">{c["fn"]}</span></td>' for c in per_k]
        cells += [count(tracks), count(len(lost))]
        name = cats.get(cid, (cid, False))[0]
        items = "".join(f'<li class="lost" data-video="{esc(v)}" data-track="{t}" title="GT segment id {t}">'
                        f'{esc(v)}: {esc(name)}{"" if n is None else f" {n}"}</li>' for v, t, n in lost)
        cells.append(f'<td class="where"><ul>{items}</ul></td>' if items else "<td></td>")
        rows.append(row(cells, category=cid))
    return table(headers, rows, ident=f"tracking-{i}", cls="tracking",
                 caption=f"Where tracking breaks: tubes per window span, and the GT tracks matched in "
                 f"every k={spans[0]} window (well segmented) but unmatched in a k={last} window (identity lost)")


def worst_section(one: Scored, i: int, worst: int, thumbnails: bool, legend: str) -> str:
    """The worst videos by final VPQ: GT | prediction | error thumbnails of each annotated frame."""
    if worst == 0:
        return ""
    shown = min(worst, len(one.results["vpq"]["per_video"]))
    title = f"<h3>The {plural(shown, 'video')} with the lowest final VPQ</h3>"
    if not thumbnails:
        return title + "<p class=\"note\">Thumbnails need the prepared dataset's frames: give --root.</p>"
    per_video, per_seq = one.results["vpq"]["per_video"], one.results["stq"]["per_sequence"]
    parts = [title, legend]
    for video, uris in one.worst:
        v = per_video[video]
        parts.append(f'<figure class="worst" data-video="{esc(video)}"><figcaption>video {esc(video)}: VPQ '
                     f"{100 * v['final']['all']:.1f}, STQ {100 * per_seq[video]['stq']:.1f}, AQ "
                     f"{100 * per_seq[video]['aq']:.1f}</figcaption>")
        parts.append('<div class="frames">')
        parts += [f'<img class="thumb" src="{u}" title="annotated frame {j + 1}" alt="video {esc(video)}, '
                  f'annotated frame {j + 1}: ground truth, prediction, errors">' for j, u in enumerate(uris)]
        parts.append("</div></figure>")
    return "".join(parts)


def error_legend(span: int, every_frame: bool = False) -> str:
    """The colours of the error maps and what each means (as the overlay draws them); ``span``:
    the window span whose matching judges them; ``every_frame``: a benchmark whose every frame is
    annotated (its thumbnails: 6 frames spread over the video)."""
    from .overlay import ERROR_KINDS

    short = "; in a video shorter than that window, the longest window it holds" if every_frame else ""

    items = "".join(f'<span><span class="sw" style="background:rgb{colour}"></span>{esc(name)}</span>'
                    for name, colour in ERROR_KINDS)
    return (f'<div class="legend" id="error-legend"><strong>Error map:</strong>{items}</div>'
            '<p class="note">Each picture: ground truth | prediction | errors, one per annotated frame'
            f'{" (6 spread over the video)" if every_frame else ""}. '
            f"The errors of a frame are judged by VPQ's matching in the k = {span} window starting at it (or the last such "
            f"window{short}); a predicted track matched to a ground-truth track takes its colour.</p>")


def prediction_section(one: Scored, i: int, cats: dict[str, tuple[str, bool]], shown: Listed, worst: int,
                       thumbnails: bool, legend: str) -> str:
    """Everything about one prediction (``shown``: the categories its per-category table lists)."""
    return (f'<section id="pred-{i}" class="prediction"><h2>{esc(one.name)}</h2>'
            f"{vpq_table(one, i)}{class_table(one, i, cats, shown)}{video_table(one, i)}"
            f"{tracking_table(one, i, cats)}{worst_section(one, i, worst, thumbnails, legend)}</section>")


def render_page(scored: list[Scored], bench: Benchmark, *, chart: str, comparison: dict | None,
                thumbnails: bool, worst: int) -> str:
    """The whole HTML page; ``chart``: the VPQ-against-k chart's data URI."""
    cats, shown = _categories(bench), listed(scored)
    split = scored[0].results["evaluation"]["split"] or "ground truth"
    title = f"vpskit report: {split}, {' vs '.join(s.name for s in scored)}"
    every_frame = bench.profile.layout != "panoptic-json"
    legend = error_legend(bench.longest_span, every_frame) if thumbnails and worst else ""
    nav = ['<a href="#run">Run</a>', '<a href="#headline">Headline</a>']
    if comparison is not None:
        nav.append('<a href="#compare">Comparison</a>')
    nav += [f'<a href="#pred-{i}">{esc(s.name)}</a>' for i, s in enumerate(scored)]
    body = [run_section(scored), headline_section(scored, chart)]
    if comparison is not None:
        from .comparison import comparison_section

        body.append(comparison_section(comparison, cats, shown))
    body += [prediction_section(s, i, cats, shown, worst, thumbnails, legend) for i, s in enumerate(scored)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{esc(title)}</title><style>{_asset("page.css")}</style>'
            f"</head><body><header><h1>{esc(title)}</h1><nav>{' · '.join(nav)}</nav></header><main>\n"
            + "\n".join(body)
            + f"\n</main><footer>Made by vpskit {esc(scored[0].results['vpskit']['version'])}; "
            "numbers as in results.json (percent).</footer>"
            f"<script>{_asset('page.js')}</script></body></html>\n")
