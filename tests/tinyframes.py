"""Tiny hand-written frames for the metric tests."""

import numpy as np

from vpskit.evaluation.tables import FrameTable, PairCounter, Segments, check_gt, frame_table


def segs(*records, crowd=()) -> Segments:
    """Segments from (id, category) pairs; ids in ``crowd`` are crowd."""
    return Segments.from_records([{"id": i, "category_id": c, "iscrowd": int(i in crowd)} for i, c in records],
                                 "test", with_crowd=True)


def frame(gt, pred, gt_segs, pred_segs) -> FrameTable:
    """The table of one frame given as nested lists of GT and predicted ids."""
    counter = PairCounter()
    check_gt(counter, np.asarray(gt, np.uint32), gt_segs)
    return frame_table(counter, np.asarray(pred, np.uint32), gt_segs, pred_segs)
