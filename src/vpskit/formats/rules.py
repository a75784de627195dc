"""What the values of an outside format mean: which category a value is (``--categories``), which
values are void, which instance value is "no instance", and what instance 0 of a thing is."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..categories import CATEGORIES, LABELS
from ..errors import VpsError
from ..jsonfields import need_object, read_json

if TYPE_CHECKING:
    from ..profiles import Profile

SCHEMES = ("trainid", "labelid")
"""Named category numberings of the Cityscapes categories: Cityscapes train ids (the
Cityscapes-VPS and KITTI-STEP ids 0 … 18) and Cityscapes label ids (7 … 33; the labels that are
not Cityscapes-VPS categories are void). Other benchmarks have ``id``: their own category ids."""
OWN_IDS = "id"
THING_ZERO = ("crowd", "object")
DEFAULT_THING_ZERO = "crowd"
VOID = -1
"""Category of a void pixel in the decoded category maps."""


@dataclass(frozen=True)
class CategoryTable:
    """The categories values are read into: ids 0 … n-1 with their names and thing flags (things
    are the categories whose instances are objects), the benchmark's title for messages, and the
    named numberings (``--categories``) it offers, the first the default."""

    title: str
    names: tuple[str, ...]
    things: tuple[bool, ...]
    schemes: tuple[str, ...]
    is_thing: np.ndarray = field(init=False, repr=False, compare=False)
    """256 flags: ``is_thing[c]`` for a category id ``c`` (False past the table)."""

    def __post_init__(self) -> None:
        lut = np.zeros(256, dtype=bool)
        lut[: len(self.things)] = self.things
        object.__setattr__(self, "is_thing", lut)

    @property
    def size(self) -> int:
        """Number of categories."""
        return len(self.names)

    @classmethod
    def of_profile(cls, profile: Profile) -> CategoryTable:
        """The categories of a benchmark profile (ids 0 … n-1 in order); the Cityscapes
        numberings when its categories are the Cityscapes ones, else its own ids."""
        ids = [c.id for c in profile.categories]
        if ids != list(range(len(ids))) or len(ids) > 255:
            raise VpsError(profile.title, "category ids are not 0 … n-1 (n < 256)")
        names = tuple(c.name for c in profile.categories)
        schemes = SCHEMES if names == CITYSCAPES.names else (OWN_IDS,)
        return cls(profile.title, names, tuple(c.isthing for c in profile.categories), schemes)

    def scheme(self, name: str) -> dict[int, int | None]:
        """The value → category mapping of a numbering this table offers."""
        if name == "labelid":
            return {lab.id: (lab.train_id if lab.train_id < 255 else None) for lab in LABELS if lab.id >= 0}
        return {c: c for c in range(self.size)}


CITYSCAPES = CategoryTable("Cityscapes-VPS", tuple(c.name for c in CATEGORIES), tuple(c.isthing for c in CATEGORIES),
                           SCHEMES)
"""The 19 Cityscapes-VPS categories (8 things)."""


def read_mapping(path: str | os.PathLike, table: CategoryTable = CITYSCAPES) -> dict[int, int | None]:
    """A category mapping file: a JSON object from each value (an integer, as a string key) to a
    category id of ``table`` (Cityscapes-VPS: 0 … 18) or ``null`` (void)."""
    doc = need_object(read_json(path), path, "the file")
    return mapping_of(doc, path, table)


def mapping_of(doc: Mapping[object, object], where: object,
               table: CategoryTable = CITYSCAPES) -> dict[int, int | None]:
    """A value → category id (or None: void) mapping, checked against ``table``."""
    out: dict[int, int | None] = {}
    for key, cat in doc.items():
        try:
            value = int(key)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise VpsError(where, f"key {key!r} is not an integer value") from None
        if cat is not None and (isinstance(cat, bool) or not isinstance(cat, int) or not 0 <= cat < table.size):
            raise VpsError(where, f"value {value}: {cat!r} is not a {table.title} category id "
                           f"(0 … {table.size - 1}) or null (void)")
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
    ``scheme`` names the numbering in messages; ``table`` the categories (and which are things).
    """

    mapping: Mapping[int, int | None]
    void: tuple[int, ...] = (255,)
    no_instance: int = 0
    thing_zero: str = DEFAULT_THING_ZERO
    scheme: str = "trainid"
    table: CategoryTable = CITYSCAPES
    _codes: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.thing_zero not in THING_ZERO:
            raise VpsError("--thing-zero", f"{self.thing_zero!r} is not one of {', '.join(THING_ZERO)}")
        if not self.void or any(isinstance(v, bool) or not isinstance(v, int) for v in self.void):
            raise VpsError("--void", f"{self.void!r} is not a list of integer values")
        for v in self.void:
            if self.mapping.get(v) is not None:
                raise VpsError("--void", f"value {v} is category {self.mapping[v]} "
                               f"({self.table.names[self.mapping[v]]}) in {self.scheme}")
        if isinstance(self.no_instance, bool) or not isinstance(self.no_instance, int) or self.no_instance < 0:
            raise VpsError("--no-instance", f"{self.no_instance!r} is not a non-negative integer")
        codes = np.full(self.table.size, -1, dtype=np.int64)
        for value, cat in sorted(self.mapping.items(), reverse=True):
            if cat is not None:
                codes[cat] = value  # the smallest value of each category wins
        object.__setattr__(self, "_codes", codes)

    @classmethod
    def make(cls, categories: str | os.PathLike | Mapping[int, int | None] | None = "trainid",
             void: int | Iterable[int] = (255,), no_instance: int = 0,
             thing_zero: str = DEFAULT_THING_ZERO, table: CategoryTable = CITYSCAPES) -> LabelRules:
        """Rules from the options of ``convert``/``export``: ``categories`` is a numbering of
        ``table`` (``"trainid"`` or ``"labelid"`` for the Cityscapes categories, ``"id"`` for
        others; None: the table's first), a mapping file (see :func:`read_mapping`) or a mapping."""
        if categories is None:
            categories = table.schemes[0]
        if isinstance(categories, Mapping):
            mapping, scheme = mapping_of(categories, "categories", table), "the mapping given"
        elif str(categories) in table.schemes:
            mapping, scheme = table.scheme(str(categories)), str(categories)
        elif str(categories).lower().endswith(".json") or os.path.isfile(categories):
            mapping, scheme = read_mapping(categories, table), str(categories)
        else:
            raise VpsError("--categories", f"{str(categories)!r} is neither {' nor '.join(table.schemes)} "
                           f"nor a JSON mapping file (for {table.title})")
        voids = (void,) if isinstance(void, int) else tuple(void)
        return cls(mapping, voids, no_instance, thing_zero, scheme, table)

    def categories(self, values: np.ndarray, where: str) -> np.ndarray:
        """Category id (0 … 18 for Cityscapes-VPS, or :data:`VOID`) of each value; ``VpsError`` for a value that is
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
            raise VpsError(where, f"category {cat} ({self.table.names[cat]}) has no value in {self.scheme}")
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
        return self.table.is_thing[np.asarray(category) & 0xFF] & (np.asarray(category) >= 0) & none

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
