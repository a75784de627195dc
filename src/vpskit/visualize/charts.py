"""The report page's charts and pictures as self-contained data URIs.

Charts are drawn with matplotlib (no pyplot, so no global figure state) as SVG whose text is
drawn as paths (no font needed to view them), with a fixed hash salt and no date: the same
numbers give the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np

from ..evaluation.report import result_spans
from ..pngio import encode_png

GROUP_STYLES = (("all", "All", "#1f4e79"), ("things", "Things", "#c0392b"), ("stuff", "Stuff", "#2e8b57"))
"""VPQ groups as the page shows them: results key, title, colour."""
LINE_STYLES = ("-", "--", ":", "-.")
"""One line style per prediction (cycled), so predictions differ while groups keep their colour."""
_SVG_RC = {"svg.hashsalt": "vpskit-report", "svg.fonttype": "path", "font.family": "DejaVu Sans",
           "font.size": 9.0, "axes.spines.top": False, "axes.spines.right": False}


def data_uri(data: bytes, mime: str) -> str:
    """``data:`` URI of ``data`` (base64)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_uri(image: np.ndarray) -> str:
    """PNG ``data:`` URI of an (H, W, 3) uint8 image."""
    return data_uri(encode_png(np.asarray(image, dtype=np.uint8)), "image/png")


def vpq_by_span_svg(series: Sequence[tuple[str, dict]]) -> bytes:
    """SVG chart of VPQ^k against k (All, Things, Stuff) for each ``(name, results["vpq"])``."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_SVG_RC):
        fig = Figure(figsize=(6.4, 3.2))
        ax = fig.add_subplot()
        spans = [int(k) for k in result_spans(series[0][1])] if series else []
        for i, (name, vpq) in enumerate(series):
            style = LINE_STYLES[i % len(LINE_STYLES)]
            for key, title, colour in GROUP_STYLES:
                values = [100 * vpq[str(k)][key]["pq"] for k in spans]
                label = title if len(series) == 1 else f"{title}: {name}"
                ax.plot(spans, values, style, marker="o", markersize=4, color=colour, label=label, clip_on=False)
        ax.set_xticks(spans, [f"k = {k}" for k in spans])
        ax.set_xlabel("window span k")
        ax.set_ylabel("VPQ$^k$ (%)")
        ax.set_ylim(0, 100)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()
