"""VIPSeg (Miao et al., CVPR 2022): 124 categories (58 things), every frame annotated, VPQ over the
windows of the official ``eval_vpq_vspw.py``, STQ as its ``eval_stq_vspw.py`` computes it.

Facts read from the public VIPSeg repository (:data:`REPOSITORY` at :data:`COMMIT`):

- the download holds ``imgs/{video}/{frame}.jpg``, ``panomasks/{video}/{frame}.png`` (no masks for
  the test videos) and the split lists ``train.txt``, ``val.txt``, ``test.txt`` (one video a line);
- a raw mask value ``v`` is void when 0, the stuff-style label of category ``v - 1`` when
  ``1 <= v <= 124``, and instance ``v % 100`` of category ``v // 100 - 1`` when ``v >= 125``
  (:func:`raw_category`);
- ``change2_720p.py`` resizes every frame to height 720 and width ``int(720 * w / h)``: images
  bilinearly, masks nearest-neighbour;
- ``create_panoptic_video_labels.py`` turns each video's masks into COCO-style RGB segment ids
  (``panomasksRGB/``) and ``panoptic_gt_VIPSeg.json``; one segment per distinct raw value in the
  video, the same id in every frame; a stuff segment's colour is its category's colour, a thing
  segment's colour is its category's colour for the first one, else a random colour within 30 of
  it (panopticapi's ``IdGenerator``), so thing segment ids differ from run to run;
- ``splitjson.py`` splits that JSON into ``panoptic_gt_VIPSeg_{train,val}.json`` by the lists.
"""

from __future__ import annotations

from . import Profile, ProfileCategory, Reference, WindowSet

REPOSITORY = "VIPSeg-Dataset/VIPSeg-Dataset"
COMMIT = "92e1459db13d80c8e96e167c7c2e8ef2c9ee9a2e"

CATEGORY_TABLE: tuple[tuple[int, str, int, tuple[int, int, int]], ...] = (
    (0, 'wall', 0, (120, 120, 120)),
    (1, 'ceiling', 0, (180, 120, 120)),
    (2, 'door', 1, (6, 230, 230)),
    (3, 'stair', 0, (80, 50, 50)),
    (4, 'ladder', 1, (4, 200, 3)),
    (5, 'escalator', 0, (120, 120, 80)),
    (6, 'Playground_slide', 0, (140, 140, 140)),
    (7, 'handrail_or_fence', 0, (204, 5, 255)),
    (8, 'window', 1, (230, 230, 230)),
    (9, 'rail', 0, (4, 250, 7)),
    (10, 'goal', 1, (224, 5, 255)),
    (11, 'pillar', 0, (235, 255, 7)),
    (12, 'pole', 0, (150, 5, 61)),
    (13, 'floor', 0, (120, 120, 70)),
    (14, 'ground', 0, (8, 255, 51)),
    (15, 'grass', 0, (255, 6, 82)),
    (16, 'sand', 0, (143, 255, 140)),
    (17, 'athletic_field', 0, (204, 255, 4)),
    (18, 'road', 0, (255, 51, 7)),
    (19, 'path', 0, (204, 70, 3)),
    (20, 'crosswalk', 0, (0, 102, 200)),
    (21, 'building', 0, (61, 230, 250)),
    (22, 'house', 0, (255, 6, 51)),
    (23, 'bridge', 0, (11, 102, 255)),
    (24, 'tower', 0, (255, 7, 71)),
    (25, 'windmill', 0, (255, 9, 224)),
    (26, 'well_or_well_lid', 0, (9, 7, 230)),
    (27, 'other_construction', 0, (220, 220, 220)),
    (28, 'sky', 0, (255, 9, 92)),
    (29, 'mountain', 0, (112, 9, 255)),
    (30, 'stone', 0, (8, 255, 214)),
    (31, 'wood', 0, (7, 255, 224)),
    (32, 'ice', 0, (255, 184, 6)),
    (33, 'snowfield', 0, (10, 255, 71)),
    (34, 'grandstand', 0, (255, 41, 10)),
    (35, 'sea', 0, (7, 255, 255)),
    (36, 'river', 0, (224, 255, 8)),
    (37, 'lake', 0, (102, 8, 255)),
    (38, 'waterfall', 0, (255, 61, 6)),
    (39, 'water', 0, (255, 194, 7)),
    (40, 'billboard_or_Bulletin_Board', 0, (255, 122, 8)),
    (41, 'sculpture', 1, (0, 255, 20)),
    (42, 'pipeline', 0, (255, 8, 41)),
    (43, 'flag', 1, (255, 5, 153)),
    (44, 'parasol_or_umbrella', 1, (6, 51, 255)),
    (45, 'cushion_or_carpet', 0, (235, 12, 255)),
    (46, 'tent', 1, (160, 150, 20)),
    (47, 'roadblock', 1, (0, 163, 255)),
    (48, 'car', 1, (140, 140, 140)),
    (49, 'bus', 1, (250, 10, 15)),
    (50, 'truck', 1, (20, 255, 0)),
    (51, 'bicycle', 1, (31, 255, 0)),
    (52, 'motorcycle', 1, (255, 31, 0)),
    (53, 'wheeled_machine', 0, (255, 224, 0)),
    (54, 'ship_or_boat', 1, (153, 255, 0)),
    (55, 'raft', 1, (0, 0, 255)),
    (56, 'airplane', 1, (255, 71, 0)),
    (57, 'tyre', 0, (0, 235, 255)),
    (58, 'traffic_light', 0, (0, 173, 255)),
    (59, 'lamp', 0, (31, 0, 255)),
    (60, 'person', 1, (11, 200, 200)),
    (61, 'cat', 1, (255, 82, 0)),
    (62, 'dog', 1, (0, 255, 245)),
    (63, 'horse', 1, (0, 61, 255)),
    (64, 'cattle', 1, (0, 255, 112)),
    (65, 'other_animal', 1, (0, 255, 133)),
    (66, 'tree', 0, (255, 0, 0)),
    (67, 'flower', 0, (255, 163, 0)),
    (68, 'other_plant', 0, (255, 102, 0)),
    (69, 'toy', 0, (194, 255, 0)),
    (70, 'ball_net', 0, (0, 143, 255)),
    (71, 'backboard', 0, (51, 255, 0)),
    (72, 'skateboard', 1, (0, 82, 255)),
    (73, 'bat', 0, (0, 255, 41)),
    (74, 'ball', 1, (0, 255, 173)),
    (75, 'cupboard_or_showcase_or_storage_rack', 0, (10, 0, 255)),
    (76, 'box', 1, (173, 255, 0)),
    (77, 'traveling_case_or_trolley_case', 1, (0, 255, 153)),
    (78, 'basket', 1, (255, 92, 0)),
    (79, 'bag_or_package', 1, (255, 0, 255)),
    (80, 'trash_can', 0, (255, 0, 245)),
    (81, 'cage', 0, (255, 0, 102)),
    (82, 'plate', 1, (255, 173, 0)),
    (83, 'tub_or_bowl_or_pot', 1, (255, 0, 20)),
    (84, 'bottle_or_cup', 1, (255, 184, 184)),
    (85, 'barrel', 1, (0, 31, 255)),
    (86, 'fishbowl', 1, (0, 255, 61)),
    (87, 'bed', 1, (0, 71, 255)),
    (88, 'pillow', 1, (255, 0, 204)),
    (89, 'table_or_desk', 1, (0, 255, 194)),
    (90, 'chair_or_seat', 1, (0, 255, 82)),
    (91, 'bench', 1, (0, 10, 255)),
    (92, 'sofa', 1, (0, 112, 255)),
    (93, 'shelf', 0, (51, 0, 255)),
    (94, 'bathtub', 0, (0, 194, 255)),
    (95, 'gun', 1, (0, 122, 255)),
    (96, 'commode', 1, (0, 255, 163)),
    (97, 'roaster', 1, (255, 153, 0)),
    (98, 'other_machine', 0, (0, 255, 10)),
    (99, 'refrigerator', 1, (255, 112, 0)),
    (100, 'washing_machine', 1, (143, 255, 0)),
    (101, 'Microwave_oven', 1, (82, 0, 255)),
    (102, 'fan', 1, (163, 255, 0)),
    (103, 'curtain', 0, (255, 235, 0)),
    (104, 'textiles', 0, (8, 184, 170)),
    (105, 'clothes', 0, (133, 0, 255)),
    (106, 'painting_or_poster', 1, (0, 255, 92)),
    (107, 'mirror', 1, (184, 0, 255)),
    (108, 'flower_pot_or_vase', 1, (255, 0, 31)),
    (109, 'clock', 1, (0, 184, 255)),
    (110, 'book', 0, (0, 214, 255)),
    (111, 'tool', 0, (255, 0, 112)),
    (112, 'blackboard', 0, (92, 255, 0)),
    (113, 'tissue', 0, (0, 224, 255)),
    (114, 'screen_or_television', 1, (112, 224, 255)),
    (115, 'computer', 1, (70, 184, 160)),
    (116, 'printer', 1, (163, 0, 255)),
    (117, 'Mobile_phone', 1, (153, 0, 255)),
    (118, 'keyboard', 1, (71, 255, 0)),
    (119, 'other_electronic_product', 0, (255, 0, 163)),
    (120, 'fruit', 0, (255, 204, 0)),
    (121, 'food', 0, (255, 0, 143)),
    (122, 'instrument', 1, (0, 255, 235)),
    (123, 'train', 1, (133, 255, 0)),
)
"""``panoVIPSeg_categories.json``: (id, name, isthing, colour) of the 124 categories. Category 6
(Playground_slide, stuff) and 48 (car, thing) share a colour."""

RAW_VOID = 0
"""Raw mask value of unlabelled pixels."""
RAW_STUFF_MAX = 124
"""Largest raw value read as a plain category label (``category + 1``)."""
RAW_THING_DIVISOR = 100
"""A raw value ``>= 125`` is ``(category + 1) * 100 + instance``."""
TARGET_HEIGHT = 720
"""Height of every prepared frame; the width is ``int(720 * w / h)``."""
SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Split lists of the download (``{split}.txt``); the test videos have no masks."""

NFRAMES: tuple[int, ...] = (1, 2, 4, 6, 8)
"""Frames per VPQ window in ``eval_vpq_vspw.py``: every run of that many consecutive frames."""
SPANS: tuple[int, ...] = tuple((n - 1) * 5 for n in NFRAMES)
"""The names ``eval_vpq_vspw.py`` gives its windows (``vpq-{k}.txt``): ``(frames - 1) * 5``."""

PAPER_NFRAMES: tuple[int, ...] = (1, 2, 4, 6)
"""Frames per VPQ window of the numbers in the VIPSeg paper: the maintainers' answer in
VIPSeg-Dataset issue #7 ("[1,2,4,6] is used for VPQ evaluation ... we only report the results of
[1,2,4,6] in our paper"); the 8-frame window of ``eval_vpq_vspw.py`` was left out as too slow."""
WINDOW_SETS: tuple[WindowSet, ...] = (
    WindowSet("official", NFRAMES, SPANS, f"{REPOSITORY} ClipPanoFCN/eval_vpq_vspw.py at {COMMIT[:12]}: "
              "nframes in [1, 2, 4, 6, 8]"),
    WindowSet("paper", PAPER_NFRAMES, tuple((n - 1) * 5 for n in PAPER_NFRAMES),
              f"the VIPSeg paper's windows, as its authors state them in {REPOSITORY} issue #7"),
)
"""The VPQ window sets ``eval --vpq-windows`` offers (the first is the default)."""
GT_JSON = "panoptic_gt_VIPSeg_{split}.json"
GT_PNG_DIR = "panomasksRGB"
GT_INSTANCES = {
    "from-0": "as eval_stq_vspw.py: a video's ground-truth segments, stuff included, are numbered 0, 1, \u2026 "
              "in the order its JSON first lists them; a thing segment numbered 0 is a crowd region (no track, "
              "predicted pixels on it left out of AQ)",
    "from-1": "numbered 1, 2, \u2026 instead: every thing segment is a track (no crowd region)",
}
"""STQ's ground-truth numberings (``eval --stq-gt-instances``); ``from-0`` is the official one, on
which published numbers depend."""

STQ_BIT_SHIFT = 16
"""``eval_stq_vspw.py`` encodes labels as ``(category << 16) + instance``."""
STQ_OFFSET = 1 << 24
STQ_IGNORE = 255
"""Category (and instance) of pixels in no listed segment."""


def categories_json() -> list[dict]:
    """The content of ``panoVIPSeg_categories.json``: ``{"id", "name", "isthing", "color"}`` per
    category, in id order."""
    return [{"id": i, "name": name, "isthing": thing, "color": list(colour)} for i, name, thing, colour in CATEGORY_TABLE]


def label_numbers() -> dict[str, str]:
    """The content of the download's ``label_num_dic_final.json``: category name -> raw value
    (``id + 1``) as text, with ``"others": "0"`` (void) after ``window``."""
    out: dict[str, str] = {}
    for i, name, _, _ in CATEGORY_TABLE:
        out[name] = str(i + 1)
        if name == "window":
            out["others"] = "0"
    return out


def raw_category(value: int) -> tuple[int, int | None] | None:
    """``(category id, instance or None)`` of a raw mask value, None for void (the rule of
    ``create_panoptic_video_labels.py``; it does not check that the category exists)."""
    if value == RAW_VOID:
        return None
    if value <= RAW_STUFF_MAX:
        return value - 1, None
    return value // RAW_THING_DIVISOR - 1, value % RAW_THING_DIVISOR


PROFILE = Profile(
    commands=("synth", "prepare", "verify", "eval", "convert", "show", "report", "compare"),
    name="vipseg",
    title="VIPSeg",
    categories=tuple(ProfileCategory(i, name, bool(thing)) for i, name, thing, _ in CATEGORY_TABLE),
    void=STQ_IGNORE,
    gt_encoding="panomasksRGB/{video}/{frame}.png: RGB, segment id = R + 256 G + 256\u00b2 B (0 void), one id "
                "per object in the whole video; categories in panoptic_gt_VIPSeg_{split}.json",
    pred_encoding="pred.json ({'annotations': [{'video_id', 'annotations': [{'segments_info'}, ...]}]}, "
                  "frames in GT order) + pan_pred/{video}/{frame}.png: RGB, segment id = R + 256 G + 256\u00b2 B",
    annotated_frames="every frame of every video",
    stq_reference=Reference(REPOSITORY, "ClipPanoFCN/eval_stq_vspw.py", COMMIT),
    stq_label_divisor=1 << STQ_BIT_SHIFT,
    stq_things=tuple(i for i, _, thing, _ in CATEGORY_TABLE if thing),
    stq_instance_zero="every segment of a video, stuff included, is numbered 0, 1, \u2026 in the order the "
                      "video's JSON first lists it; a thing segment numbered 0 is a crowd region, not a track",
    vpq_spans=SPANS,
    vpq_window_frames=NFRAMES,
    vpq_final="mean of VPQ over the window sizes",
    vpq_reference=Reference(REPOSITORY, "ClipPanoFCN/eval_vpq_vspw.py", COMMIT),
    markers=("panomasksRGB",),
    layout="video-json",
    gt_json=GT_JSON,
    gt_png_dir=GT_PNG_DIR,
    vpq_window_sets=WINDOW_SETS,
    stq_gt_instances=GT_INSTANCES,
    lists_absent_categories=False,
    extra_conventions={
        "label_encoding": "category << 16 | instance, 255 for pixels in no listed segment (void)",
        "things": "the 58 categories with isthing 1",
    },
)
