"""The report page's comparison of predictions: each against the first, with the paired
bootstrap intervals of :func:`vpskit.visualize.stats.compare_accumulators`."""

from __future__ import annotations

from ..text import plural
from .html import delta, esc, pct, row, table, text
from .sections import Listed, video_sort
from .stats import metric_label

FEW_VIDEOS = 10
"""Below this many videos the page warns that the bootstrap intervals are rough."""


def _interval(low: float, high: float) -> str:
    return (f'<td class="num" data-v="{low!r}" data-low="{low!r}" data-high="{high!r}">'
            f"[{100 * low:+.1f}, {100 * high:+.1f}]</td>")


def _verdict(item: dict, a: str, b: str) -> str:
    if not item["excludes_zero"]:
        return '<td class="verdict" data-v="0">no: 0 inside</td>'
    high, low, cls = (b, a, "up") if item["delta"] > 0 else (a, b, "down")
    return f'<td class="verdict sig {cls}" data-v="1">yes: {esc(high)} &gt; {esc(low)}</td>'


def interval_table(pair: dict, j: int) -> str:
    """Each metric of A and B, B − A and its 95 % interval, and whether it excludes 0."""
    a, b = pair["a"], pair["b"]
    headers = ["metric", a, b, f"Δ {b} − {a}", "95 % interval of Δ", "interval excludes 0"]
    rows = []
    for key, item in pair["metrics"].items():
        cells = [f"<th>{esc(metric_label(key))}</th>", pct(item["a"]), pct(item["b"]), delta(item["delta"]),
                 _interval(*item["interval"]), _verdict(item, a, b)]
        rows.append(row(cells, metric=key, excludes_zero=int(item["excludes_zero"])))
    return table(headers, rows, ident=f"intervals-{j}", cls="intervals",
                 caption="Percent and percentage points; a difference whose interval excludes 0 is "
                 "more than the luck of which videos the split holds")


def class_delta_table(pair: dict, j: int, cats: dict[str, tuple[str, bool]], shown: Listed) -> str:
    """Per category of ``shown``: VPQ (mean PQ over the spans) and STQ's IoU of A and B, and B − A."""
    a, b = pair["a"], pair["b"]
    headers = ["category", f"VPQ {a}", f"VPQ {b}", "Δ VPQ", f"IoU {a}", f"IoU {b}", "Δ IoU"]
    rows = []
    for cid in shown[0]:
        item = pair["per_class"][cid]
        pq, iou = item["pq"]["final"], item["iou"]
        cells = [text(cats.get(cid, (item["name"], False))[0]), pct(pq["a"]), pct(pq["b"]), delta(pq["delta"]),
                 pct(iou["a"]), pct(iou["b"]), delta(iou["delta"])]
        rows.append(row(cells, category=cid))
    return table(headers, rows, ident=f"class-deltas-{j}", sortable=True, cls="deltas",
                 caption=f"Per category (%); click a header to sort{shown[1]}")


def video_delta_table(pair: dict, j: int) -> str:
    """Per video: final VPQ and STQ of A and B, and B − A."""
    a, b = pair["a"], pair["b"]
    headers = ["video", f"VPQ {a}", f"VPQ {b}", "Δ VPQ", f"STQ {a}", f"STQ {b}", "Δ STQ"]
    rows = []
    for video, item in pair["per_video"].items():
        cells = [text(video, sort=video_sort(video))]
        for metric in ("vpq", "stq"):
            cells += [pct(item[metric]["a"]), pct(item[metric]["b"]), delta(item[metric]["delta"])]
        rows.append(row(cells, video=video))
    return table(headers, rows, ident=f"video-deltas-{j}", sortable=True, cls="deltas",
                 caption="Per video (%); click a header to sort")


def comparison_section(comparison: dict, cats: dict[str, tuple[str, bool]], shown: Listed) -> str:
    """Every prediction against the first: intervals, per-class (of the categories ``shown``)
    and per-video deltas."""
    c = comparison["comparison"]
    parts = ['<section id="compare"><h2>Comparison with ' + esc(c["baseline"]) + "</h2>",
             f"<p>{esc(c['method'].capitalize())}: {c['reps']} resamples of the {c['videos']} videos "
             f"(the {esc(c['unit'])} is the unit: its frames and tracks are resampled together), seed "
             f"{c['seed']}, {round(100 * c['level'])} % percentile intervals. An interval says how much "
             "a difference depends on which videos the split holds, not how the models would compare "
             "on other data.</p>"]
    if c["videos"] < FEW_VIDEOS:
        parts.append(f'<p class="note warn">Only {plural(c["videos"], "video")}: a resample can hold few distinct '
                     "videos, and the intervals are rough.</p>")
    for j, pair in enumerate(comparison["pairs"], start=1):
        parts.append(f"<h3>{esc(pair['b'])} against {esc(pair['a'])}</h3>")
        parts += [interval_table(pair, j), class_delta_table(pair, j, cats, shown), video_delta_table(pair, j)]
    parts.append("</section>")
    return "".join(parts)
