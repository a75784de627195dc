"""The evaluation's cheaper lookups give what the checked, general ones give: category positions
from a table, segments from records checked once, file names checked once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpskit import naming
from vpskit.errors import VpsError
from vpskit.evaluation.metrics import CategorySet
from vpskit.evaluation.tables import Segments
from vpskit.jsonfields import check_gt_json, check_pred_json


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=30, unique=True),
       st.lists(st.integers(-2**40, 2**40) | st.integers(-3, 305), max_size=40))
def test_category_positions_from_the_table_equal_the_search(ids, queries):
    cats = CategorySet(tuple(ids), tuple(i % 2 == 0 for i in ids))
    assert cats._table is not None
    want = [ids.index(q) if q in ids else -1 for q in queries]
    got = cats.positions(np.array(queries, dtype=np.int64))
    assert got.dtype == np.int64 and got.tolist() == want
    big = CategorySet((*ids, 1 << 20), (*cats.isthing, False))  # too large an id for a table
    assert big._table is None
    assert big.positions(np.array(queries, dtype=np.int64)).tolist() == want
    assert cats.positions(np.zeros((2, 3), dtype=np.int64)).shape == (2, 3)


def test_segments_from_checked_records_equal_from_records():
    records = [{"id": 7, "category_id": 13, "iscrowd": 1, "area": 4}, {"id": 2**24 - 1, "category_id": 0},
               {"id": 3, "category_id": 255, "iscrowd": 0}]
    doc = {"categories": [{"id": 0, "isthing": 0}],
           "annotations": [{"image_id": "a", "file_name": "a.png", "segments_info": records}]}
    check_gt_json(doc, "gt.json")
    fast, slow = Segments.from_checked(records), Segments.from_records(records, "gt.json", with_crowd=True)
    for name in ("ids", "category", "crowd"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype and a.tolist() == b.tolist()
    assert len(Segments.from_checked([])) == 0
    # a prediction's records: no crowd flags, whatever they hold (check_pred_json does not read them)
    pred = [{"id": 7, "category_id": 13, "iscrowd": "yes"}, {"id": 9, "category_id": 0, "iscrowd": 1}]
    check_pred_json({"annotations": [{"segments_info": pred}]}, "pred.json")
    fast, slow = Segments.from_checked(pred, with_crowd=False), Segments.from_records(pred, "p", with_crowd=False)
    for name in ("ids", "category", "crowd"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype and a.tolist() == b.tolist()


@pytest.mark.parametrize(("name", "problem"), [("../x.png", "would leave its folder"), ("/x.png", "absolute path"),
                                                ("a\\b.png", "forbidden character"), ("./.", "names no file")])
def test_file_names_are_refused_every_time(name, problem):
    for where in ("first.json", "second.json"):  # the second answer is the kept one
        with pytest.raises(VpsError, match=f"^{where}: file name .* {problem}"):
            naming.safe_relpath(name, where)
    assert naming.safe_relpath("./a//b.png") == naming.safe_relpath("./a//b.png") == "a/b.png"
