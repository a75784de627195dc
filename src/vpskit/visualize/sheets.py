"""Pictures put together: a caption band above a picture, a grid of captioned cells (the
contact sheet), and the legend of the error map.

Layout: cells of equal size on a dark background, :data:`GAP` pixels apart and from the edges;
a cell is a caption band :func:`caption_height` pixels high above its picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .overlay import ERROR_KINDS, font, label_size

GAP = 4
"""Pixels between cells, and around them."""
BACKGROUND = (36, 36, 36)
TEXT = (235, 235, 235)


def caption_height(picture_height: int) -> int:
    """Height of the caption band above a picture ``picture_height`` pixels high."""
    return label_size(picture_height) + 6


def captioned(picture: np.ndarray, text: str) -> np.ndarray:
    """``picture`` under a band holding ``text`` (cut at the picture's width)."""
    h, w = picture.shape[:2]
    band = Image.new("RGB", (w, caption_height(h)), BACKGROUND)
    size = label_size(h)
    ImageDraw.Draw(band).text((2, 3), text, fill=TEXT, font=font(size))
    return np.concatenate([np.asarray(band), picture], axis=0)


def cell_origins(count: int, cols: int, cell_w: int, cell_h: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """``(sheet width, height)`` of a grid of ``count`` cells of ``cell_w`` x ``cell_h`` in
    ``cols`` columns (row by row), and the top-left corner (x, y) of each cell."""
    cols = max(1, min(cols, count))
    rows = -(-count // cols)
    origins = [(GAP + (i % cols) * (cell_w + GAP), GAP + (i // cols) * (cell_h + GAP)) for i in range(count)]
    return (GAP + cols * (cell_w + GAP), GAP + rows * (cell_h + GAP)), origins


def grid(cells: Sequence[np.ndarray], cols: int, footer: np.ndarray | None = None) -> np.ndarray:
    """Cells (all of one size) laid out in ``cols`` columns; ``footer`` (no wider than the
    grid) below them."""
    cell_h, cell_w = cells[0].shape[:2]
    (w, h), origins = cell_origins(len(cells), cols, cell_w, cell_h)
    extra = footer.shape[0] + GAP if footer is not None else 0
    sheet = np.empty((h + extra, w, 3), dtype=np.uint8)
    sheet[...] = BACKGROUND
    for (x, y), cell in zip(origins, cells, strict=True):
        sheet[y:y + cell_h, x:x + cell_w] = cell
    if footer is not None:
        sheet[h:h + footer.shape[0], GAP:GAP + footer.shape[1]] = footer
    return sheet


def legend(width: int, picture_height: int) -> np.ndarray:
    """The error map's legend: a swatch and the name of each kind, flowed into rows at most
    ``width`` pixels wide (text at the size of captions of pictures ``picture_height`` high)."""
    size = label_size(picture_height)
    f = font(size)
    row_h = size + 6
    entries = [(name, colour, size + 6 + int(f.getlength(name)) + 2 * size) for name, colour in ERROR_KINDS]
    rows: list[list[tuple[str, tuple[int, int, int], int]]] = [[]]
    used = 0
    for entry in entries:
        if rows[-1] and used + entry[2] > width:
            rows.append([])
            used = 0
        rows[-1].append(entry)
        used += entry[2]
    img = Image.new("RGB", (max(1, width), row_h * len(rows)), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(rows):
        x, y = 0, r * row_h
        for name, colour, advance in row:
            draw.rectangle((x, y + 3, x + size - 1, y + 2 + size), fill=colour, outline=TEXT)
            draw.text((x + size + 4, y + 3), name, fill=TEXT, font=f)
            x += advance
    return np.asarray(img)
