"""Counting the pixels of every (GT id, predicted id) pair of a frame's two id maps.

:class:`PairCounter` finds the runs of equal ids along the rows of both maps and counts each
run's pair once; :class:`IdIndex` places ids among the ones a frame's JSON lists.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable

import numpy as np

from ..runs import strip_runs

ID_BITS = 24
"""Segment ids are 24-bit (R + 256 G + 256² B); a pair key is ``gt_id << 24 | pred_id``."""
ID_MASK = (1 << ID_BITS) - 1
VOID_ID = 0
IdMap = np.ndarray | Iterable[np.ndarray]
"""An id map: a 2-D array, or an iterable of its strips of rows, top to bottom."""
_SMALL_BITS = 8
"""Bits of a side's position in :meth:`PairCounter.count_both`'s keys for a frame of few ids."""


class IdIndex:
    """Position of each segment id in a sorted list of known ids, void (0) first.

    Built from one frame's JSON segments; looks up the ids met in its PNG, telling which are
    unknown.
    """

    _LUT_BITS = 16

    def __init__(self, ids: np.ndarray, lut: np.ndarray | None = None) -> None:
        known = _distinct(np.asarray(ids, dtype=np.uint32))
        known = known[known != VOID_ID]
        self.ids = np.concatenate((np.zeros(1, dtype=np.uint32), known))
        """Sorted known ids, void first."""
        self._buffer = lut
        self._lut: np.ndarray | None | bool = False  # False: not made yet

    @property
    def lut(self) -> np.ndarray | None:
        """Position by the low 16 bits of an id, or None when two known ids share them (made on
        first use, in the table given to the constructor when there is one)."""
        if self._lut is False:
            self._lut = None
            low = self.ids & np.uint32((1 << self._LUT_BITS) - 1)
            if _distinct(low).size == low.size:
                # The low 16 bits tell the ids apart: a table of 2**16 positions finds them. Entries
                # left over from earlier frames are harmless, every lookup is checked against ``ids``.
                lut = self._buffer
                if lut is None or lut.size != 1 << self._LUT_BITS:
                    lut = np.zeros(1 << self._LUT_BITS, dtype=np.intp)
                lut[low] = np.arange(self.ids.size)
                self._lut = lut
        return self._lut

    def __len__(self) -> int:
        return int(self.ids.size)

    def positions(self, values: np.ndarray) -> tuple[np.ndarray, int | None]:
        """Positions of ``values`` (uint32 ids) in :attr:`ids`, and the first value not there (or None)."""
        lut = self.lut
        if lut is not None:
            pos = lut[values & np.uint32((1 << self._LUT_BITS) - 1)]
        else:
            pos = np.searchsorted(self.ids, values)
        np.minimum(pos, self.ids.size - 1, out=pos)
        bad = self.ids[pos] != values
        if bad.any():
            return pos, int(values[int(np.argmax(bad))])
        return pos, None


class PairCounter:
    """Counts the pixels of every (GT id, predicted id) pair of frames, GT first, then prediction.

    :meth:`set_gt` keeps only where the GT runs of equal ids start along the rows, so the decoded
    GT image can be freed before the prediction is decoded; :meth:`count` then merges those runs
    with the prediction's. The work buffers (two booleans per pixel) are reused frame after frame.
    Ids are the low 24 bits of each value: raw RGBX pixels can be passed as they are.
    """

    dense_limit: int | None = None
    """Largest (GT ids x predicted ids) table counted directly, beyond which the pairs met are
    sorted instead (None: 65,536 plus four per run of the frame)."""

    def __init__(self) -> None:
        self._gt_change = np.zeros(0, dtype=bool)
        self._change = np.zeros(0, dtype=bool)
        self._luts: list[np.ndarray | None] = [None, None]
        self._tables: list[np.ndarray] = []
        self.shape: tuple[int, ...] | None = None
        self._gt_index: IdIndex | None = None
        self._gt_run_pos = np.zeros(0, dtype=np.intp)

    def index(self, ids: np.ndarray, side: int) -> IdIndex:
        """An :class:`IdIndex` of ``ids`` reusing this counter's lookup table ``side`` (0 GT, 1 prediction)."""
        if self._luts[side] is None:
            self._luts[side] = np.zeros(1 << IdIndex._LUT_BITS, dtype=np.intp)
        return IdIndex(ids, self._luts[side])

    def set_gt(self, gt_ids: np.ndarray, index: IdIndex) -> int | None:
        """Take a GT id map; returns the first id of it that ``index`` does not know (or None)."""
        a = np.ascontiguousarray(gt_ids, dtype=np.uint32).reshape(-1)
        self.shape = tuple(gt_ids.shape)
        if self._gt_change.size != a.size:
            self._gt_change = np.empty(a.size, dtype=bool)
            self._change = np.empty(a.size, dtype=bool)
        self._gt_index = index
        if a.size == 0:
            self._gt_run_pos = np.zeros(0, dtype=np.intp)
            return None
        change = self._gt_change
        change[0] = True
        np.not_equal(a[1:], a[:-1], out=change[1:])
        run_ids = a[np.flatnonzero(change)] & np.uint32(ID_MASK)
        self._gt_run_pos, missing = index.positions(run_ids)
        return missing

    def count(self, pred_ids: np.ndarray, index: IdIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
        """Pair counts against the GT last set: ``(gt, pred, count, missing)``.

        ``gt``/``pred``/``count`` are sorted by (gt, pred) with no zero counts; ``missing`` is the
        first predicted id ``index`` does not know (the counts are then empty), or None. The shape
        must be the GT's.
        """
        assert self._gt_index is not None and self.shape is not None
        b = np.ascontiguousarray(pred_ids, dtype=np.uint32).reshape(-1)
        if tuple(pred_ids.shape) != self.shape:
            raise ValueError("id maps of different sizes")
        gt_index = self._gt_index
        if b.size == 0:
            empty = np.zeros(0, dtype=np.uint32)
            return empty, empty.copy(), np.zeros(0, dtype=np.int64), None
        change = self._change
        change[0] = True
        np.not_equal(b[1:], b[:-1], out=change[1:])
        np.logical_or(change, self._gt_change, out=change)
        starts = np.flatnonzero(change)
        gt_run = np.cumsum(self._gt_change[starts]) - 1
        pred_pos, missing = index.positions(b[starts] & np.uint32(ID_MASK))
        if missing is not None:
            empty = np.zeros(0, dtype=np.uint32)
            return empty, empty.copy(), np.zeros(0, dtype=np.int64), missing
        lengths = np.diff(starts, append=b.size)
        return (*self._tally(gt_index, self._gt_run_pos[gt_run], index, pred_pos, lengths), None)

    def count_both(self, gt_ids: IdMap, gt_index: IdIndex, pred_ids: IdMap, index: IdIndex
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None, int | None]:
        """Pair counts of a GT and a predicted id map held at once: ``(gt, pred, count,
        gt_missing, pred_missing)``, as :meth:`count` gives them after :meth:`set_gt`.

        ``gt_missing`` is the first GT id ``gt_index`` does not know, else ``pred_missing`` the
        first predicted id ``index`` does not know (the counts are then empty), or both None.
        Only the low 24 bits of each value are the id: the top byte may be anything (see
        ``exact`` in :func:`vpskit.pngio.decode_ids`). Either map may also be given a strip of
        rows at a time (:class:`vpskit.pngcodec.IdStrips`: strips of the same heights, taken in
        step). The runs of both maps are found in one go, so this costs less than
        :meth:`set_gt` and :meth:`count`.
        """
        if tuple(pred_ids.shape) != tuple(gt_ids.shape):
            raise ValueError("id maps of different sizes")
        self.shape = tuple(gt_ids.shape)
        self._gt_index = None
        empty = np.zeros(0, dtype=np.uint32)
        starts, gt_values, values = self._runs(gt_ids, pred_ids)
        if not starts.size:
            return empty, empty.copy(), np.zeros(0, dtype=np.int64), None, None
        lengths = np.diff(starts, append=int(np.prod(self.shape)))
        if self.dense_limit is None and max(len(gt_index), len(index)) < 1 << _SMALL_BITS:
            return self._tally_small(gt_index, gt_values, index, values, lengths)
        gt_pos, gt_missing = gt_index.positions(gt_values)
        pred_pos, pred_missing = (None, None) if gt_missing is not None else index.positions(values)
        if gt_missing is not None or pred_missing is not None:
            return empty, empty.copy(), np.zeros(0, dtype=np.int64), gt_missing, pred_missing
        return (*self._tally(gt_index, gt_pos, index, pred_pos, lengths), None, None)

    @staticmethod
    def _runs(gt_ids: IdMap, pred_ids: IdMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the runs of equal (GT id, predicted id) along the rows start (in raster order;
        a strip always starts one) and the two ids of each."""
        maps = [np.ascontiguousarray(m, dtype=np.uint32) if isinstance(m, np.ndarray) else m
                for m in (gt_ids, pred_ids)]
        starts, (gt_values, values) = strip_runs(*maps)
        mask = np.uint32(ID_MASK)
        gt_values &= mask
        values &= mask
        return starts, gt_values, values

    def _tally_small(self, gt_index: IdIndex, gt_values: np.ndarray, index: IdIndex, values: np.ndarray,
                     lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None, int | None]:
        """:meth:`count_both` from the ids of each run, for at most 255 known ids a side: each
        side's position + 1 (0: unknown) from a table indexed by the whole 24-bit id, one
        ``gt << 8 | pred`` key per run, one count per key."""
        if not self._tables:
            # Anonymous memory: zero pages, of which only those holding a known id are ever
            # touched (np.zeros would clear 16 MiB a table when the allocator reuses memory).
            self._tables = [np.frombuffer(mmap.mmap(-1, 1 << ID_BITS), dtype=np.uint8) for _ in range(2)]
        g_table, p_table = self._tables
        g_table[gt_index.ids] = np.arange(1, len(gt_index) + 1)
        p_table[index.ids] = np.arange(1, len(index) + 1)
        try:
            keys = g_table.take(gt_values).astype(np.intp)
            keys <<= _SMALL_BITS
            keys |= p_table.take(values)
        finally:
            g_table[gt_index.ids] = 0
            p_table[index.ids] = 0
        side = 1 << _SMALL_BITS
        counts = np.bincount(keys, weights=lengths, minlength=(len(gt_index) + 1) * side)
        empty = np.zeros(0, dtype=np.uint32)
        if counts[:side].any():
            return empty, empty.copy(), np.zeros(0, dtype=np.int64), int(gt_values[np.argmax(keys < side)]), None
        if counts[::side].any():
            missing = int(values[np.argmax((keys & (side - 1)) == 0)])
            return empty, empty.copy(), np.zeros(0, dtype=np.int64), None, missing
        keys = np.flatnonzero(counts)
        return (gt_index.ids[(keys >> _SMALL_BITS) - 1], index.ids[(keys & (side - 1)) - 1],
                counts[keys].astype(np.int64), None, None)

    def _tally(self, gt_index: IdIndex, gt_pos: np.ndarray, index: IdIndex, pred_pos: np.ndarray,
               lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(gt, pred, count)`` of runs of ``lengths`` pixels whose ids sit at ``gt_pos`` in
        ``gt_index`` and ``pred_pos`` in ``index``."""
        n_pred = len(index)
        keys = gt_pos * n_pred + pred_pos
        limit = (1 << 16) + 4 * lengths.size if self.dense_limit is None else self.dense_limit
        if len(gt_index) * n_pred <= limit:
            counts = np.bincount(keys, weights=lengths, minlength=len(gt_index) * n_pred)
            keys = np.flatnonzero(counts)
            counts = counts[keys]
        else:
            keys, inverse = np.unique(keys, return_inverse=True)
            counts = np.bincount(inverse.reshape(-1), weights=lengths, minlength=keys.size)
        gt_pos, pred_pos = np.divmod(keys, n_pred)
        return gt_index.ids[gt_pos], index.ids[pred_pos], counts.astype(np.int64)


def pair_counts(gt_ids: np.ndarray, pred_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel count of every (GT id, predicted id) pair of two equally shaped id maps.

    Returns ``(gt, pred, count)`` sorted by (gt, pred). Only the low 24 bits of each value are
    the id (the top byte is ignored, so raw RGBX pixels can be passed as they are).
    """
    a = np.asarray(gt_ids, dtype=np.uint32)
    b = np.asarray(pred_ids, dtype=np.uint32)
    if a.shape != b.shape:
        raise ValueError("id maps of different sizes")
    counter = PairCounter()
    mask = np.uint32(ID_MASK)
    counter.set_gt(a, counter.index(np.bitwise_and(a, mask).reshape(-1), 0))
    g, p, c, _ = counter.count(b, counter.index(np.bitwise_and(b, mask).reshape(-1), 1))
    return g, p, c


def pair_counts_slow(gt_ids: np.ndarray, pred_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`pair_counts` computed the obvious way (for tests)."""
    a = np.asarray(gt_ids, dtype=np.uint64).ravel() & np.uint64(ID_MASK)
    b = np.asarray(pred_ids, dtype=np.uint64).ravel() & np.uint64(ID_MASK)
    keys = (a << np.uint64(ID_BITS)) | b
    uniq, counts = np.unique(keys, return_counts=True)
    return ((uniq >> np.uint64(ID_BITS)).astype(np.uint32), (uniq & np.uint64(ID_MASK)).astype(np.uint32),
            counts.astype(np.int64))


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` without its masked-array check)."""
    v = np.sort(values, kind="stable")
    if v.size:
        v = v[np.concatenate(([True], v[1:] != v[:-1]))]
    return v
