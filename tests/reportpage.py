"""Reading the report page back in tests: its tables (cells with their exact ``data-v`` values),
the attributes of every element, and a small synthetic split with two noisy predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import vpskit


@dataclass
class Cell:
    text: str
    attrs: dict[str, str]
    html_class: str = ""

    @property
    def value(self) -> float | None:
        """The exact value of a number cell (None for a dash)."""
        v = self.attrs.get("data-v")
        return None if v in (None, "") else float(v)


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[Cell] = field(default_factory=list)
    lost: list[tuple[str, int]] = field(default_factory=list)
    lost_text: list[str] = field(default_factory=list)


@dataclass
class Table:
    headers: list[str] = field(default_factory=list)
    header_classes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    classes: str = ""

    def column(self, header: str) -> list[Cell]:
        i = self.headers.index(header)
        return [r.cells[i] for r in self.rows]

    def by(self, key: str) -> dict[str, Row]:
        """Rows by their ``data-{key}`` attribute."""
        return {r.attrs[f"data-{key}"]: r for r in self.rows}


class Page(HTMLParser):
    """Tables by id (the last head row's headers, body rows and cells) and every start tag."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, Table] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._table: Table | None = None
        self._section = ""
        self._row: Row | None = None
        self._cell: Cell | None = None
        self._head_row: list[str] | None = None
        self._head_classes: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "table":
            self._table = Table(classes=a.get("class", ""))
            self.tables[a.get("id", f"table{len(self.tables)}")] = self._table
        elif tag == "thead":
            self._section = "head"
        elif tag == "tbody":
            self._section = "body"
        elif tag == "tr" and self._table is not None:
            if self._section == "head":
                self._head_row = []
                self._head_classes = []
            else:
                self._row = Row(a)
                self._table.rows.append(self._row)
        elif tag in ("td", "th") and self._table is not None:
            self._cell = Cell("", a, a.get("class", ""))
        elif tag == "li" and self._row is not None and "data-track" in a:
            self._row.lost.append((a["data-video"], int(a["data-track"])))
            self._row.lost_text.append("")
            self._in_lost = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._in_lost = False
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self._cell.text = self._cell.text.strip()
            if self._section == "head" and self._head_row is not None:
                self._head_row.append(self._cell.text)
                self._head_classes.append(self._cell.html_class)
            elif self._row is not None:
                self._row.cells.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._section == "head" and self._table is not None:
            self._table.headers = self._head_row or []
            self._table.header_classes = self._head_classes

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data
        if getattr(self, "_in_lost", False) and self._row is not None:
            self._row.lost_text[-1] += data


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def make_split(base: Path, val: int = 2, size: tuple[int, int] = (256, 128)) -> tuple[Path, Path, Path]:
    """A prepared val split of ``val`` synthetic videos at ``size`` and two noisy predictions of
    it: (root, prediction with many errors, prediction with few)."""
    down = base / "down"
    vpskit.synthesize(down, videos=val + 2, size=size, seed=0, as_zip=True, jobs=1, progress=False,
                      splits={"train": 1, "val": val, "test": 1})
    root = base / "root"
    vpskit.prepare(root, down / "leftImg8bit_sequence_trainvaltest.zip", down / "gtFine_trainvaltest.zip",
                   release=down / "cityscapes-vps-dataset-1.0.zip", splits="val", jobs=1, progress=False)
    noisy, better = base / "noisy", base / "better"
    vpskit.perturb(root, noisy, split="val", seed=0, jobs=1, progress=False, switch=0.3, drop=0.1,
                   confuse=0.1, erode=1, false_positive=0.2)
    vpskit.perturb(root, better, split="val", seed=1, jobs=1, progress=False, switch=0.1, drop=0.05)
    return root, noisy, better
