"""What the values of an outside format mean: which category a value is (``--categories``), which
values are void, which instance value is "no instance", and what instance 0 of a thing is."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..categories import CATEGORY_BY_ID, IS_THING_LUT, LABELS, NUM_CATEGORIES
from ..errors import VpsError
from ..jsonfields import need_object, read_json

SCHEMES = ("trainid", "labelid")
"""Named category numberings: Cityscapes train ids (the Cityscapes-VPS ids 0 … 18) and
Cityscapes label ids (7 … 33; the labels that are not Cityscapes-VPS categories are void)."""
THING_ZERO = ("crowd", "object")
DEFAULT_THING_ZERO = "crowd"
VOID = -1
"""Category of a void pixel in the decoded category maps."""


def _scheme(name: str) -> dict[int, int | None]:
    if name == "trainid":
        return {c: c for c in range(NUM_CATEGORIES)}
    return {lab.id: (lab.train_id if lab.train_id < 255 else None) for lab in LABELS if lab.id >= 0}


def read_mapping(path: str | os.PathLike) -> dict[int, int | None]:
    """A category mapping file: a JSON object from each value (an integer, as a string key) to a
    Cityscapes-VPS category id (0 … 18) or ``null`` (void)."""
    doc = need_object(read_json(path), path, "the file")
    return mapping_of(doc, path)


def mapping_of(doc: Mapping[object, object], where: object) -> dict[int, int | None]:
    """A value → category id (or None: void) mapping, checked."""
    out: dict[int, int | None] = {}
    for key, cat in doc.items():
        try:
            value = int(key)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise VpsError(where, f"key {key!r} is not an integer value") from None
        if cat is not None and (isinstance(cat, bool) or not isinstance(cat, int) or cat not in CATEGORY_BY_ID):
            raise VpsError(where, f"value {value}: {cat!r} is not a Cityscapes-VPS category id "
                           f"(0 … {NUM_CATEGORIES - 1}) or null (void)")
        if value in out:
            raise VpsError(where, f"value {value} is mapped twice")
        out[value] = cat
    if not any(c is not None for c in out.values()):
        raise VpsError(where, "maps no value to a category")
    return out


@dataclass(frozen=True)
class LabelRules:
    """How category and instance values are read and written.

    ``mapping``: value → Cityscapes-VPS category id, or None for void; ``void``: more values
    that are void; ``no_instance``: the instance value of pixels that belong to no object
    (stuff, and a thing's crowd regions); ``thing_zero``: whether instance 0 of a thing is a
    crowd region (``crowd``) or an object (``object``, which wins over a ``no_instance`` of 0);
    ``scheme`` names the numbering in messages.
    """

    mapping: Mapping[int, int | None]
    void: tuple[int, ...] = (255,)
    no_instance: int = 0
    thing_zero: str = DEFAULT_THING_ZERO
    scheme: str = "trainid"
    _codes: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.thing_zero not in THING_ZERO:
            raise VpsError("--thing-zero", f"{self.thing_zero!r} is not one of {', '.join(THING_ZERO)}")
        if not self.void or any(isinstance(v, bool) or not isinstance(v, int) for v in self.void):
            raise VpsError("--void", f"{self.void!r} is not a list of integer values")
        for v in self.void:
            if self.mapping.get(v) is not None:
                raise VpsError("--void", f"value {v} is category {self.mapping[v]} "
                               f"({CATEGORY_BY_ID[self.mapping[v]].name}) in {self.scheme}")
        if isinstance(self.no_instance, bool) or not isinstance(self.no_instance, int) or self.no_instance < 0:
            raise VpsError("--no-instance", f"{self.no_instance!r} is not a non-negative integer")
        codes = np.full(NUM_CATEGORIES, -1, dtype=np.int64)
        for value, cat in sorted(self.mapping.items(), reverse=True):
            if cat is not None:
                codes[cat] = value  # the smallest value of each category wins
        object.__setattr__(self, "_codes", codes)

    @classmethod
    def make(cls, categories: str | os.PathLike | Mapping[int, int | None] = "trainid",
             void: int | Iterable[int] = (255,), no_instance: int = 0,
             thing_zero: str = DEFAULT_THING_ZERO) -> LabelRules:
        """Rules from the options of ``convert``/``export``: ``categories`` is ``"trainid"``,
        ``"labelid"``, a mapping file (see :func:`read_mapping`) or a mapping."""
        if isinstance(categories, Mapping):
            mapping, scheme = mapping_of(categories, "categories"), "the mapping given"
        elif str(categories) in SCHEMES:
            mapping, scheme = _scheme(str(categories)), str(categories)
        elif str(categories).lower().endswith(".json") or os.path.isfile(categories):
            mapping, scheme = read_mapping(categories), str(categories)
        else:
            raise VpsError("--categories", f"{str(categories)!r} is neither {' nor '.join(SCHEMES)} "
                           "nor a JSON mapping file")
        voids = (void,) if isinstance(void, int) else tuple(void)
        return cls(mapping, voids, no_instance, thing_zero, scheme)

    def categories(self, values: np.ndarray, where: str) -> np.ndarray:
        """Category id (0 … 18, or :data:`VOID`) of each value; ``VpsError`` for a value that is
        neither a category nor void. Meant for few values (one per run of pixels)."""
        distinct, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
        out = np.empty(distinct.size, dtype=np.int64)
        for i, value in enumerate(distinct.tolist()):
            if value in self.void:
                out[i] = VOID
            elif value in self.mapping:
                cat = self.mapping[value]
                out[i] = VOID if cat is None else cat
            else:
                known = "; ".join((f"{self.scheme}: " + _describe(self.mapping), f"void: {', '.join(map(str, self.void))}"))
                raise VpsError(where, f"unknown category value {value} ({known})")
        return out[inverse.reshape(-1)]

    def codes(self, category: np.ndarray, where: str) -> np.ndarray:
        """The value of each category id (:data:`VOID`: the first void value) for writing."""
        category = np.asarray(category, dtype=np.int64)
        table = np.concatenate((self._codes, [self.void[0]]))  # index -1 (void) is the last
        out = table[category]
        missing = out < 0
        if missing.any():
            cat = int(category[np.flatnonzero(missing)[0]])
            raise VpsError(where, f"category {cat} ({CATEGORY_BY_ID[cat].name}) has no value in {self.scheme}")
        return out

    def value_of(self, category: int) -> int | None:
        """The value written for category id ``category`` (None: the numbering has none)."""
        value = int(self._codes[category])
        return value if value >= 0 else None

    def crowd(self, category: np.ndarray, instance: np.ndarray) -> np.ndarray:
        """Where a thing pixel belongs to no object: its instance is 0 and ``thing_zero`` is
        ``"crowd"``, or it is a non-zero ``no_instance`` (with ``thing_zero == "object"``,
        instance 0 is an object even when ``no_instance`` is 0)."""
        none = instance == 0 if self.thing_zero == "crowd" else np.zeros(np.shape(instance), dtype=bool)
        if self.no_instance != 0:
            none |= instance == self.no_instance
        return IS_THING_LUT[np.asarray(category) & 0xFF] & (np.asarray(category) >= 0) & none

    def next_instance(self, previous: int) -> int:
        """The instance value of the object after the one numbered ``previous`` (0: the first):
        objects are numbered from 1 up, skipping the values that mean no object."""
        value = previous + 1
        while value == self.no_instance or (value == 0 and self.thing_zero == "crowd"):
            value += 1
        return value

def _describe(mapping: Mapping[int, int | None]) -> str:
    values = sorted(v for v, c in mapping.items() if c is not None)
    if values == list(range(values[0], values[-1] + 1)):
        return f"categories are {values[0]} … {values[-1]}"
    return "categories are " + ", ".join(map(str, values[:24])) + (" …" if len(values) > 24 else "")
