"""Small HTML builders of the report page: escaped text, number cells, tables.

A number cell carries its exact value in ``data-v`` (``repr`` of the float, or the integer), so
that sorting and checks use the value and not its rounded text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence


def esc(value: object) -> str:
    """``value`` as HTML text (escaped, quotes too)."""
    return html.escape(str(value), quote=True)


def pct(value: float | None, *, bar: bool = False, cls: str = "") -> str:
    """A ``<td>`` with ``value`` (a fraction) as a percentage, one decimal; ``bar``: a bar behind
    it as long as the value; None: a dash."""
    extra = f" {cls}" if cls else ""
    if value is None:
        return f'<td class="num na{extra}" data-v="">–</td>'
    text = f"{100 * value:.1f}"
    if not bar:
        return f'<td class="num{extra}" data-v="{value!r}">{text}</td>'
    width = f"{100 * min(1.0, max(0.0, value)):.1f}"
    return (f'<td class="num bar{extra}" data-v="{value!r}"><span class="b" style="width:{width}%"></span>'
            f'<span class="t">{text}</span></td>')


def delta(value: float | None) -> str:
    """A ``<td>`` with a difference of fractions in percentage points, signed and coloured."""
    if value is None:
        return '<td class="num na" data-v="">–</td>'
    cls = "up" if value > 0 else "down" if value < 0 else "same"
    return f'<td class="num {cls}" data-v="{value!r}">{100 * value:+.1f}</td>'


def count(value: int) -> str:
    """A ``<td>`` with an integer."""
    return f'<td class="num" data-v="{int(value)}">{int(value)}</td>'


def text(value: object, cls: str = "", sort: object | None = None) -> str:
    """A ``<td>`` with text; ``sort``: the value it sorts by (default: the text)."""
    attrs = f' class="{cls}"' if cls else ""
    if sort is not None:
        attrs += f' data-v="{esc(sort)}"'
    return f"<td{attrs}>{esc(value)}</td>"


def table(headers: Sequence[str], rows: Iterable[str], *, ident: str = "", sortable: bool = False,
          cls: str = "", head_rows: Sequence[str] = (), caption: str = "") -> str:
    """A ``<table>``: ``headers`` (escaped) as the last head row after ``head_rows`` (raw HTML
    ``<tr>``s), ``rows`` as raw ``<tr>``s; ``sortable``: a click on a header sorts the rows."""
    classes = " ".join(c for c in (cls, "sortable" if sortable else "") if c)
    attrs = (f' id="{esc(ident)}"' if ident else "") + (f' class="{classes}"' if classes else "")
    rows = list(rows)
    numeric = _numeric_cells(rows[0]) if rows else []
    head = "".join(head_rows) + "<tr>" + "".join(
        f'<th class="num">{esc(h)}</th>' if i < len(numeric) and numeric[i] else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)) + "</tr>"
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table{attrs}>{cap}<thead>{head}</thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


_CELL = re.compile(r"<t[dh](?:\s[^>]*)?>")


def _numeric_cells(tr: str) -> list[bool]:
    """Per cell of the raw ``<tr>`` ``tr``: whether it is a number cell (class ``num``), so that
    its column's header is aligned as its numbers are."""
    return ["num" in re.findall(r'class="([^"]*)"', cell)[0].split() if 'class="' in cell else False
            for cell in _CELL.findall(tr)]


def row(cells: Iterable[str], **data: object) -> str:
    """A ``<tr>`` of ``cells`` with ``data-*`` attributes (``key="x"`` → ``data-key="x"``)."""
    attrs = "".join(f' data-{k.replace("_", "-")}="{esc(v)}"' for k, v in data.items())
    return f"<tr{attrs}>" + "".join(cells) + "</tr>"
