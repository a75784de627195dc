"""The 19 Cityscapes-VPS categories (SPEC §3) and the full Cityscapes label table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOID = 255
"""Category id of void pixels in label maps."""


@dataclass(frozen=True)
class Category:
    """One Cityscapes-VPS category (id = Cityscapes train id)."""

    id: int
    name: str
    supercategory: str
    isthing: bool
    cityscapes_id: int
    color: tuple[int, int, int]

    def to_json(self) -> dict:
        """The category record of the Cityscapes-VPS JSON files."""
        return {
            "id": self.id,
            "name": self.name,
            "supercategory": self.supercategory,
            "isthing": int(self.isthing),
            "color": list(self.color),
        }


@dataclass(frozen=True)
class Label:
    """One row of the Cityscapes label table (cityscapesScripts ``labels.py``)."""

    name: str
    id: int
    train_id: int
    category: str
    has_instances: bool
    ignore_in_eval: bool
    color: tuple[int, int, int]


# name, id, trainId, category, hasInstances, ignoreInEval, color
LABELS: tuple[Label, ...] = tuple(
    Label(*row)
    for row in (
        ("unlabeled", 0, 255, "void", False, True, (0, 0, 0)),
        ("ego vehicle", 1, 255, "void", False, True, (0, 0, 0)),
        ("rectification border", 2, 255, "void", False, True, (0, 0, 0)),
        ("out of roi", 3, 255, "void", False, True, (0, 0, 0)),
        ("static", 4, 255, "void", False, True, (0, 0, 0)),
        ("dynamic", 5, 255, "void", False, True, (111, 74, 0)),
        ("ground", 6, 255, "void", False, True, (81, 0, 81)),
        ("road", 7, 0, "flat", False, False, (128, 64, 128)),
        ("sidewalk", 8, 1, "flat", False, False, (244, 35, 232)),
        ("parking", 9, 255, "flat", False, True, (250, 170, 160)),
        ("rail track", 10, 255, "flat", False, True, (230, 150, 140)),
        ("building", 11, 2, "construction", False, False, (70, 70, 70)),
        ("wall", 12, 3, "construction", False, False, (102, 102, 156)),
        ("fence", 13, 4, "construction", False, False, (190, 153, 153)),
        ("guard rail", 14, 255, "construction", False, True, (180, 165, 180)),
        ("bridge", 15, 255, "construction", False, True, (150, 100, 100)),
        ("tunnel", 16, 255, "construction", False, True, (150, 120, 90)),
        ("pole", 17, 5, "object", False, False, (153, 153, 153)),
        ("polegroup", 18, 255, "object", False, True, (153, 153, 153)),
        ("traffic light", 19, 6, "object", False, False, (250, 170, 30)),
        ("traffic sign", 20, 7, "object", False, False, (220, 220, 0)),
        ("vegetation", 21, 8, "nature", False, False, (107, 142, 35)),
        ("terrain", 22, 9, "nature", False, False, (152, 251, 152)),
        ("sky", 23, 10, "sky", False, False, (70, 130, 180)),
        ("person", 24, 11, "human", True, False, (220, 20, 60)),
        ("rider", 25, 12, "human", True, False, (255, 0, 0)),
        ("car", 26, 13, "vehicle", True, False, (0, 0, 142)),
        ("truck", 27, 14, "vehicle", True, False, (0, 0, 70)),
        ("bus", 28, 15, "vehicle", True, False, (0, 60, 100)),
        ("caravan", 29, 255, "vehicle", True, True, (0, 0, 90)),
        ("trailer", 30, 255, "vehicle", True, True, (0, 0, 110)),
        ("train", 31, 16, "vehicle", True, False, (0, 80, 100)),
        ("motorcycle", 32, 17, "vehicle", True, False, (0, 0, 230)),
        ("bicycle", 33, 18, "vehicle", True, False, (119, 11, 32)),
        ("license plate", -1, -1, "vehicle", False, True, (0, 0, 142)),
    )
)

LABEL_BY_ID: dict[int, Label] = {lab.id: lab for lab in LABELS}
LABEL_BY_NAME: dict[str, Label] = {lab.name: lab for lab in LABELS}

CATEGORIES: tuple[Category, ...] = tuple(
    Category(
        id=lab.train_id,
        name=lab.name,
        supercategory=lab.category,
        isthing=lab.has_instances,
        cityscapes_id=lab.id,
        color=lab.color,
    )
    for lab in sorted(
        (lab for lab in LABELS if 0 <= lab.train_id < 255), key=lambda lab: lab.train_id
    )
)
CATEGORY_BY_ID: dict[int, Category] = {c.id: c for c in CATEGORIES}
THING_IDS: frozenset[int] = frozenset(c.id for c in CATEGORIES if c.isthing)
STUFF_IDS: frozenset[int] = frozenset(c.id for c in CATEGORIES if not c.isthing)
NUM_CATEGORIES = len(CATEGORIES)

assert [c.id for c in CATEGORIES] == list(range(19))


def pack_color(color: tuple[int, int, int] | list[int]) -> int:
    """Pack an RGB triple as ``R + 256*G + 256**2*B``."""
    r, g, b = (int(v) for v in color[:3])
    return r + 256 * g + 65536 * b


PACKED_COLOR_TO_CATEGORY: dict[int, int] = {pack_color(c.color): c.id for c in CATEGORIES}
"""Packed category color -> category id (the 19 colors are distinct)."""

assert len(PACKED_COLOR_TO_CATEGORY) == NUM_CATEGORIES

# Lookup tables indexed by category id (0..255): 1 where a thing / a stuff category.
IS_THING_LUT = np.zeros(256, dtype=bool)
IS_THING_LUT[sorted(THING_IDS)] = True
IS_STUFF_LUT = np.zeros(256, dtype=bool)
IS_STUFF_LUT[sorted(STUFF_IDS)] = True


def categories_json() -> list[dict]:
    """The category table as written in every Cityscapes-VPS JSON."""
    return [c.to_json() for c in CATEGORIES]
