"""The JSON files vpskit reads: one safe parser, and every field checked where the file is read.

:func:`parse_json` (and :func:`read_json`, :func:`read_json_member`) turn bytes into Python
objects or raise ``VpsError`` naming the file: not UTF-8/16/32 JSON, nested deeper than the
parser's recursion limit, ``NaN``/``Infinity`` (not JSON, though Python writes them), or more
than :data:`JSON_LIMIT`. The field checkers below then hold the rules of each kind of file:
the ground-truth JSON (:func:`check_gt_json`), ``pred.json`` (:func:`check_pred_json`), and the
pieces the release image lists share (:func:`int_field`, :func:`str_field`, :func:`need_list`).
A value of the wrong type, out of range, or repeated where it must be unique is one line naming
the file, the annotation and the segment. Integers are JSON integers: ``true``, ``2.9`` and
``3.0`` are not integers.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple

from .errors import VpsError
from .pngio import Limit, check_limit, read_file
from .zips import GuardedZip

JSON_LIMIT = Limit(256 << 20, "a JSON file")
"""Largest JSON file read (256 MiB). The biggest real ones are far smaller (a pred.json of every
annotated frame of Cityscapes-VPS with 200 segments each is about 23 MB); parsing 256 MiB
already takes seconds and a few GB of Python objects, so anything larger is refused up front,
from its size, before it is read."""
SEGMENT_ID_MAX = (1 << 24) - 1
"""Segment ids are RGB colours (R + 256 G + 256² B); 0 is void."""
CATEGORY_ID_MAX = (1 << 31) - 1
MAX_IMAGE_SIDE = 1 << 16
"""Largest width or height a JSON may give (Cityscapes frames are 2048x1024)."""
MAX_AREA = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE

_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
               float: "a number", type(None): "null"}


# --------------------------------------------------------------------------- parsing


class _NotJson(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` met by the parser."""


_CONSTANT = re.compile(rb"(?:^|[:,\[])\s*(-?Infinity|NaN)")


def _reject_constant(name: str) -> object:
    raise _NotJson(name)


def _constant_problem(name: str, data: bytes) -> str:
    """Where the first ``NaN``/``Infinity`` outside a string probably is, for the message."""
    found = _CONSTANT.search(data)
    if found is None:
        return f"{name} is not a JSON number"
    pos = found.start(1)
    line, column = data.count(b"\n", 0, pos) + 1, pos - data.rfind(b"\n", 0, pos)
    return f"{name} is not a JSON number: line {line} column {column}"


def parse_json(data: bytes, where: object) -> object:
    """The JSON value of ``data``; ``VpsError`` naming ``where`` when it is not strict JSON."""
    check_limit(len(data), JSON_LIMIT, where)
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise VpsError(where, "unreadable JSON (nested too deeply)") from None
    except _NotJson as exc:
        raise VpsError(where, f"unreadable JSON ({_constant_problem(str(exc), data)})") from None
    except UnicodeDecodeError as exc:
        raise VpsError(where, f"unreadable JSON (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise VpsError(where, "empty file" if not data.strip() else f"unreadable JSON ({exc})") from None
    except ValueError:  # Python refuses integers of more than sys.get_int_max_str_digits() digits
        raise VpsError(where, f"unreadable JSON (an integer of more than {sys.get_int_max_str_digits()} "
                       "digits)") from None


def read_json(path: str | os.PathLike) -> object:
    """The JSON value of a file (see :func:`parse_json`) of at most :data:`JSON_LIMIT`."""
    return parse_json(read_file(path, limit=JSON_LIMIT), Path(path))


def read_json_member(zf: GuardedZip, member: str, where: object) -> object:
    """The JSON value of a zip member of at most :data:`JSON_LIMIT` (a member that would inflate
    beyond it is refused without being inflated whole)."""
    return parse_json(zf.read_member(member, JSON_LIMIT), where)


# --------------------------------------------------------------------------- fields


def show(value: object) -> str:
    """``value`` for a one-line message: scalars as JSON spells them (shortened), containers by size."""
    if isinstance(value, (list, dict)):
        n = len(value)
        what = ("a list of {} item", "an object of {} key")[isinstance(value, dict)].format(n)
        return what if n == 1 else what + "s"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]} ({len(text)} characters)"


def label(value: str) -> str:
    """A name taken from a JSON, as it may appear in a message (printable and short, else quoted)."""
    return value if value.isprintable() and 0 < len(value) <= 80 else show(value)


def _describe(value: object) -> str:
    """``value`` with its JSON type: ``a number 2.9``, ``a list of 3 items``, ``true``."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return f"{_JSON_TYPES[type(value)]} {show(value)}"
    return show(value)


def _absent(doc: dict, key: str, where: object, required: bool, noun: str) -> bool:
    """Whether ``key`` is missing from ``doc`` (``VpsError`` naming ``noun`` if it is ``required``)."""
    if key in doc:
        return False
    if required:
        raise VpsError(where, f"no {noun}")
    return True


def need_object(value: object, where: object, what: str) -> dict:
    """``value`` if it is a JSON object, else ``VpsError``."""
    if not isinstance(value, dict):
        raise VpsError(where, f"{what} is {_describe(value)}, not an object")
    return value


def _typed(doc: dict, key: str, where: object, required: bool, kinds: tuple[type, ...], noun: str) -> object:
    """``doc[key]`` checked to be a JSON value of one of ``kinds`` (None when absent and not ``required``)."""
    if _absent(doc, key, where, required, noun):
        return None
    value = doc[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = " or ".join(_JSON_TYPES[k] for k in kinds)
        raise VpsError(where, f"'{key}' is {_describe(value)}, not {wanted}")
    return value


def need_list(doc: dict, key: str, where: object, *, required: bool = True) -> list | None:
    """``doc[key]`` if it is a list (None when absent and not ``required``), else ``VpsError``."""
    return _typed(doc, key, where, required, (list,), f"'{key}' list")  # type: ignore[return-value]


def str_field(doc: dict, key: str, where: object, *, required: bool = True) -> str | None:
    """``doc[key]`` checked to be a string (None when absent and not ``required``)."""
    return _typed(doc, key, where, required, (str,), f"'{key}'")  # type: ignore[return-value]


def id_field(doc: dict, key: str, where: object, *, required: bool = True) -> str | int | None:
    """``doc[key]`` checked to be a string or an integer, as image ids are in the wild."""
    return _typed(doc, key, where, required, (str, int), f"'{key}'")  # type: ignore[return-value]


def is_int(value: object) -> bool:
    """Whether ``value`` is a JSON integer (not a boolean, not a number with a fraction or exponent)."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_field(doc: dict, key: str, where: object, *, lo: int, hi: int, required: bool = True,
              what: str | None = None) -> int | None:
    """``doc[key]`` checked to be an integer in ``lo … hi`` (None when absent and not ``required``)."""
    what = what or f"'{key}'"
    if _absent(doc, key, where, required, what):
        return None
    value = doc[key]
    if not is_int(value):
        raise VpsError(where, f"{what} {show(value)} is not an integer")
    if not lo <= value <= hi:
        rule = "is negative" if lo == 0 and value < 0 else f"is outside {lo} … {hi}"
        raise VpsError(where, f"{what} {show(value)} {rule}")
    return value


class SegmentRecord(NamedTuple):
    """One checked ``segments_info`` record."""

    id: int
    category_id: int
    iscrowd: bool | None
    area: int | None
    """None: not given (or not read: a prediction's)."""


def segment_records(records: object, where: object, *, gt: bool) -> list[SegmentRecord]:
    """The ``segments_info`` records of one frame, checked.

    Every record has an ``id`` in 1 … 2**24-1 (0 is void) listed once, and a non-negative integer
    ``category_id``. With ``gt``, ``iscrowd`` (0 or 1) and ``area`` (a pixel count) are checked
    when present; a prediction's other keys are not read.
    """
    if not isinstance(records, list):
        raise VpsError(where, f"'segments_info' is {_describe(records)}, not a list")
    out: list[SegmentRecord] = []
    seen: set[int] = set()
    for pos, rec in enumerate(records):
        checked = _plain_record(rec, seen, gt) or _segment_record(rec, pos, where, seen, gt)
        seen.add(checked.id)
        out.append(checked)
    return out


def _plain_record(rec: object, seen: set[int], gt: bool) -> SegmentRecord | None:
    """A well-formed record recognised in a few exact type tests (the parser makes no subclasses,
    and ``bool`` is not ``int`` here), or None: then :func:`_segment_record` looks at it in detail."""
    if type(rec) is not dict:
        return None
    sid, cat = rec.get("id"), rec.get("category_id")
    if not (type(sid) is int and type(cat) is int and 0 < sid <= SEGMENT_ID_MAX and sid not in seen
            and 0 <= cat <= CATEGORY_ID_MAX):
        return None
    if not gt:
        return SegmentRecord(sid, cat, None, None)
    crowd, area = rec.get("iscrowd"), rec.get("area")
    if type(crowd) is int and type(area) is int and 0 <= crowd <= 1 and 0 <= area <= MAX_AREA:
        return SegmentRecord(sid, cat, bool(crowd), area)
    return None


def _segment_record(rec: object, pos: int, where: object, seen: set[int], gt: bool) -> SegmentRecord:
    """One ``segments_info`` record checked field by field (``seen``: the ids before it)."""
    rec = need_object(rec, where, f"segments_info[{pos}]")
    if "id" not in rec:
        raise VpsError(where, f"segments_info[{pos}] has no 'id'")
    sid = rec["id"]
    if not is_int(sid):
        raise VpsError(where, f"segment id {show(sid)} is not an integer")
    if not 0 < sid <= SEGMENT_ID_MAX:
        raise VpsError(where, f"segment id {show(sid)} is outside 1 … 2**24-1 (0 is void)")
    if sid in seen:
        raise VpsError(where, f"segment id {sid} is listed twice")
    at = f"segment id {sid}:"
    cat = int_field(rec, "category_id", where, lo=0, hi=CATEGORY_ID_MAX, what=f"{at} 'category_id'")
    assert cat is not None
    crowd = area = None
    if gt:
        crowd = int_field(rec, "iscrowd", where, lo=0, hi=1, required=False, what=f"{at} 'iscrowd'")
        area = int_field(rec, "area", where, lo=0, hi=MAX_AREA, required=False, what=f"{at} 'area'")
    return SegmentRecord(sid, cat, None if crowd is None else bool(crowd), area)


# --------------------------------------------------------------------------- ground truth


def check_categories(records: list, where: object) -> list[dict]:
    """``categories`` records: objects with a unique ``id`` (non-negative integer), ``isthing``
    0 or 1 (default 0), and, when given, a ``color`` of three integers 0 … 255."""
    seen: set[int] = set()
    for pos, rec in enumerate(records):
        at = f"categories[{pos}]"
        rec = need_object(rec, where, at)
        cid = int_field(rec, "id", where, lo=0, hi=CATEGORY_ID_MAX, what=f"{at}: 'id'")
        if cid in seen:
            raise VpsError(where, f"{at}: category id {cid} is listed twice")
        seen.add(cid)  # type: ignore[arg-type]
        int_field(rec, "isthing", where, lo=0, hi=1, required=False, what=f"{at}: 'isthing'")
        color = rec.get("color")
        if "color" in rec and not (isinstance(color, list) and len(color) == 3
                                   and all(is_int(c) and 0 <= c <= 255 for c in color)):
            raise VpsError(where, f"{at}: 'color' {show(color)} is not three integers 0 … 255")
    return records


def check_gt_json(doc: object, where: str) -> dict:
    """A ground-truth JSON (``panoptic_gt_{split}_city_vps.json``) with every field vpskit reads
    checked; returned as it is.

    ``categories`` (see :func:`check_categories`, at least one), ``images`` (optional: ``id`` a
    string or integer, ``file_name`` a string), ``annotations`` (``image_id`` and ``file_name``
    strings, each image annotated once, ``segments_info`` as :func:`segment_records` with
    ``gt``). Whether segment categories are known is for the caller: evaluation knows them from
    ``categories``, ``verify`` from the Cityscapes-VPS table.
    """
    doc = need_object(doc, where, "the file")
    cats = need_list(doc, "categories", where)
    assert cats is not None
    if not cats:
        raise VpsError(where, "'categories' is empty")
    check_categories(cats, where)
    for pos, img in enumerate(need_list(doc, "images", where, required=False) or []):
        at = f"images[{pos}]"
        img = need_object(img, where, at)
        id_field(img, "id", f"{where}: {at}")
        str_field(img, "file_name", f"{where}: {at}")
    anns = need_list(doc, "annotations", where)
    assert anns is not None
    seen: set[str] = set()
    for pos, ann in enumerate(anns):
        at = f"{where}: annotations[{pos}]"
        ann = need_object(ann, where, f"annotations[{pos}]")
        image_id = str_field(ann, "image_id", at)
        assert image_id is not None
        at = f"{where}: {label(image_id)}"
        if image_id in seen:
            raise VpsError(at, "a second annotation of this image")
        seen.add(image_id)
        str_field(ann, "file_name", at)
        if "segments_info" not in ann:
            raise VpsError(at, "no 'segments_info' list")
        segment_records(ann["segments_info"], at, gt=True)
    return doc


# --------------------------------------------------------------------------- predictions


def check_pred_json(doc: object, where: str) -> dict:
    """A ``pred.json`` with every field vpskit reads checked; returned as it is.

    ``annotations``: objects with an optional ``image_id`` (string or integer), an optional
    ``file_name`` (string) and ``segments_info`` as :func:`segment_records` (without ``gt``).
    Whether categories are known is for the caller, who knows them.
    """
    doc = need_object(doc, where, "the file")
    anns = need_list(doc, "annotations", where)
    assert anns is not None
    for pos, ann in enumerate(anns):
        ann = need_object(ann, where, f"annotations[{pos}]")
        at = f"{where}: annotations[{pos}]"
        image_id = id_field(ann, "image_id", at, required=False)
        file_name = str_field(ann, "file_name", at, required=False)
        if isinstance(image_id, str):
            at = f"{where}: {label(image_id)}"
        elif file_name is not None:
            at = f"{where}: {label(file_name)}"
        if "segments_info" not in ann:
            raise VpsError(at, "no 'segments_info' list")
        segment_records(ann["segments_info"], at, gt=False)
    return doc
