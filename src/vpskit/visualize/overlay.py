"""Pure functions on arrays that draw one frame: segment colours blended on the RGB frame,
outlines, labels, and the error map of a prediction.

Everything works on *position maps*: each pixel holds the position of its segment id in a
:class:`~vpskit.visualize.colours.Palette` (0 = void), so a frame is coloured by indexing a
small table, never by a mask per segment.

- Overlay: a pixel of a segment is ``(frame + colour + 1) >> 1`` per channel (half frame, half
  colour, rounded half up); void pixels show the frame as it is.
- Outlines: a pixel of a segment whose 4-neighbour belongs to another segment or to void is the
  segment's colour at half brightness, not blended (so a boundary between two segments is
  2 pixels wide, one on each side; between a segment and void, 1).
- Error map of frame i, in the VPQ window that holds it (see :func:`window_of`): each pixel is
  one of :data:`ERROR_KINDS`, from the tube matching of that window.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..evaluation.metrics.vpq import WindowMatch

NEUTRAL, CORRECT, WRONG_CATEGORY, WRONG_TRACK, MISSED, ON_VOID = range(6)
ERROR_KINDS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("GT void, predicted void", (28, 28, 28)),
    ("correct", (46, 125, 70)),
    ("wrong category", (235, 50, 50)),
    ("wrong track", (255, 190, 0)),
    ("predicted void on a labelled pixel", (60, 120, 255)),
    ("prediction on GT void", (225, 80, 225)),
)
"""Name and colour of each error kind, indexed by its code (NEUTRAL … ON_VOID)."""
ERROR_COLOURS = np.array([c for _, c in ERROR_KINDS], dtype=np.uint8)
LABEL_TEXT = (255, 255, 255)
LABEL_STROKE = (0, 0, 0)


# --------------------------------------------------------------------------- sizes


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``(width, height)`` times ``scale``, rounded, at least 1 pixel each."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def shrink_ids(ids: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An id map resized to ``size`` (width, height) by nearest neighbour (pixel centres)."""
    h, w = ids.shape
    if (w, h) == tuple(size):
        return ids
    rows = ((2 * np.arange(size[1]) + 1) * h) // (2 * size[1])
    cols = ((2 * np.arange(size[0]) + 1) * w) // (2 * size[0])
    return ids[rows[:, None], cols[None, :]]


def shrink_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB frame resized to ``size`` (width, height), each pixel the mean of the area it covers."""
    if (rgb.shape[1], rgb.shape[0]) == tuple(size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize(tuple(size), Image.Resampling.BOX))


# --------------------------------------------------------------------------- overlay


def blend(frame: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """``(frame + colours + 1) >> 1`` per channel of two uint8 arrays (computed without widening)."""
    return (frame | colours) - ((frame ^ colours) >> 1)


def boundaries(pos: np.ndarray) -> np.ndarray:
    """Pixels of a segment (position not 0) whose 4-neighbour holds another position."""
    edge = np.zeros(pos.shape, dtype=bool)
    d = pos[1:, :] != pos[:-1, :]
    edge[1:, :] |= d
    edge[:-1, :] |= d
    d = pos[:, 1:] != pos[:, :-1]
    edge[:, 1:] |= d
    edge[:, :-1] |= d
    edge &= pos != 0
    return edge


def paint(frame: np.ndarray, pos: np.ndarray, colours: np.ndarray, *, outlines: bool = True) -> np.ndarray:
    """The frame (h, w, 3) with each segment's colour (``colours[pos]``) blended on it, void
    (position 0) left as it is, and with ``outlines`` the boundaries drawn at half brightness."""
    painted = np.take(colours, pos, axis=0)
    out = blend(frame, painted)
    # pixel rows of the flattened images, by flat index (much faster than a 2-D boolean mask)
    flat_out, flat_frame, flat_painted = out.reshape(-1, 3), frame.reshape(-1, 3), painted.reshape(-1, 3)
    void = np.flatnonzero(pos == 0)
    flat_out[void] = flat_frame[void]
    if outlines:
        edge = np.flatnonzero(boundaries(pos))
        flat_out[edge] = flat_painted[edge] >> 1
    return out


def _run_depth(pos: np.ndarray) -> np.ndarray:
    """Per pixel, how many pixels its row run of equal positions goes on to the nearer end."""
    h, w = pos.shape
    flat = pos.reshape(-1)
    idx = np.arange(flat.size)
    start = np.ones(flat.size, dtype=bool)
    start[1:] = flat[1:] != flat[:-1]
    start[::w] = True
    end = np.ones(flat.size, dtype=bool)
    end[:-1] = start[1:]
    end[w - 1::w] = True
    first = np.maximum.accumulate(np.where(start, idx, 0))
    last = np.minimum.accumulate(np.where(end, idx, flat.size)[::-1])[::-1]
    return np.minimum(idx - first, last - idx).reshape(h, w)


def label_points(pos: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where to write each segment's label: for every position 1 … count-1 present in ``pos``,
    the pixel of the segment deepest inside it (farthest from the segment's edge, or the
    picture's, along its row and column), of those the nearest to the segment's centroid.
    Returns ``(positions, ys, xs, areas)``."""
    h, w = pos.shape
    flat = pos.reshape(-1).astype(np.intp)
    area = np.bincount(flat, minlength=count)
    ys, xs = np.divmod(np.arange(flat.size), w)
    safe = np.maximum(area, 1)
    cy = np.bincount(flat, weights=ys, minlength=count) / safe
    cx = np.bincount(flat, weights=xs, minlength=count) / safe
    dist = (ys - cy[flat]) ** 2 + (xs - cx[flat]) ** 2
    depth = np.minimum(_run_depth(pos), _run_depth(np.ascontiguousarray(pos.T)).T).reshape(-1)
    key = depth - dist / (dist.max(initial=0.0) + 1.0)  # depth first, then nearness (< 1)
    best = np.full(count, -np.inf)
    np.maximum.at(best, flat, key)
    hits = np.flatnonzero(key == best[flat])
    present, first = np.unique(flat[hits], return_index=True)
    at = hits[first]
    keep = present != 0
    return present[keep], at[keep] // w, at[keep] % w, area[present[keep]]


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at ``size`` pixels (its bitmap font where Pillow has no FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1, or built without FreeType
        return ImageFont.load_default()


def label_size(height: int) -> int:
    """Font size of the labels on a picture ``height`` pixels high."""
    return max(10, min(28, height // 30))


def draw_labels(image: np.ndarray, pos: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """``image`` with each segment's label (``labels[position]``) written at its
    :func:`label_points` point, white with a black outline; segments of fewer pixels than the
    square of the font size are left unlabelled."""
    size = label_size(image.shape[0])
    present, ys, xs, areas = label_points(pos, len(labels))
    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    f = font(size)
    for p, y, x, a in zip(present.tolist(), ys.tolist(), xs.tolist(), areas.tolist(), strict=True):
        if a >= size * size and labels[p]:
            draw.text((x, y), labels[p], fill=LABEL_TEXT, font=f, anchor="mm", stroke_width=1,
                      stroke_fill=LABEL_STROKE)
    return np.asarray(img)


# --------------------------------------------------------------------------- errors


def window_of(index: int, count: int, span: int, frames: int | None = None) -> range:
    """The annotated frames of the VPQ window of span ``span`` (n = ``frames``, default
    Cityscapes-VPS's span/5 + 1) shown for frame ``index`` of ``count``: the window starting at
    ``min(index, count - n)``, or all the frames when there are fewer than n."""
    n = span // 5 + 1 if frames is None else frames
    if count < n:
        return range(count)
    start = min(index, count - n)
    return range(start, start + n)


def _tube_index(tube_ids: np.ndarray, ids: np.ndarray, *, strict: bool = True) -> np.ndarray:
    """Index (int32) of each id in the sorted ``tube_ids``, -1 for void (0) and, unless
    ``strict`` (then ``ValueError``), for an id not there."""
    if tube_ids.size == 0:
        if strict and ids.any():
            raise ValueError("an id map holds a segment the window does not list")
        return np.full(ids.shape, -1, dtype=np.int32)
    idx = np.minimum(np.searchsorted(tube_ids, ids), tube_ids.size - 1).astype(np.int32)
    found = tube_ids[idx] == ids
    if strict and not (found | (ids == 0)).all():
        raise ValueError("an id map holds a segment the window does not list")
    idx[~found] = -1
    return idx


def error_kinds(gt_ids: np.ndarray, pred_ids: np.ndarray, match: WindowMatch) -> np.ndarray:
    """The error kind (uint8 code, see :data:`ERROR_KINDS`) of every pixel of one frame, given
    its GT and predicted id maps and the tube matching of a window holding it.

    A pixel labelled in the GT and predicted is *correct* when the categories agree and either
    the GT segment is crowd or the predicted segment is matched to that GT segment in the window;
    *wrong category* when the categories differ; *wrong track* when they agree but the predicted
    segment is matched to another GT segment, or to none, in the window.
    """
    return tube_error_kinds(_tube_index(match.g_ids, gt_ids), _tube_index(match.p_ids, pred_ids), match)


def error_kinds_at(gt_pos: np.ndarray, gt_ids: np.ndarray, pred_pos: np.ndarray, pred_ids: np.ndarray,
                   match: WindowMatch) -> np.ndarray:
    """:func:`error_kinds` of position maps: the id of a pixel is ``gt_ids[gt_pos]`` (and
    ``pred_ids[pred_pos]``), looked up in the window's tubes once per id, not per pixel."""
    gi = np.take(_tube_index(match.g_ids, gt_ids, strict=False), gt_pos)
    pi = np.take(_tube_index(match.p_ids, pred_ids, strict=False), pred_pos)
    return tube_error_kinds(gi, pi, match)


def tube_error_kinds(gi: np.ndarray, pi: np.ndarray, match: WindowMatch) -> np.ndarray:
    """:func:`error_kinds` given each pixel's GT and predicted tube (index into ``match.g_ids``
    and ``match.p_ids``; -1 for void)."""
    # Index -1 (void) picks the last entry of each table: the void entry appended to it.
    g_cat = np.take(np.append(match.g_pos, -1).astype(np.int32), gi)
    g_crowd = np.take(np.append(match.g_crowd, False), gi)
    p_cat = np.take(np.append(match.p_pos, -2).astype(np.int32), pi)
    p_match = np.full(match.p_ids.size + 1, -2, dtype=np.int32)
    p_match[match.match_p] = match.match_g
    kinds = np.full(gi.shape, CORRECT, dtype=np.uint8)
    kinds[~g_crowd & (np.take(p_match, pi) != gi)] = WRONG_TRACK
    kinds[g_cat != p_cat] = WRONG_CATEGORY
    g_void, p_void = gi < 0, pi < 0
    kinds[p_void] = MISSED
    kinds[g_void] = ON_VOID
    kinds[g_void & p_void] = NEUTRAL
    return kinds


def error_image(kinds: np.ndarray) -> np.ndarray:
    """The (h, w, 3) picture of an error-kind map: each pixel its kind's colour."""
    return np.take(ERROR_COLOURS, kinds, axis=0)
