from vpskit import categories as C


def test_nineteen_categories_match_spec_table():
    assert [c.name for c in C.CATEGORIES] == [
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
        "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
        "motorcycle", "bicycle"]
    assert [c.cityscapes_id for c in C.CATEGORIES] == [
        7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33]
    assert sorted(C.THING_IDS) == list(range(11, 19))
    assert C.CATEGORY_BY_ID[13].color == (0, 0, 142)
    assert C.CATEGORY_BY_ID[6].color == (250, 170, 30)
    assert C.categories_json()[11] == {"id": 11, "name": "person", "supercategory": "human",
                                       "isthing": 1, "color": [220, 20, 60]}


def test_label_table_shared_colours():
    assert len([lab for lab in C.LABELS if 0 <= lab.id <= 33]) == 34
    assert C.LABEL_BY_NAME["polegroup"].color == C.LABEL_BY_NAME["pole"].color
    assert C.LABEL_BY_NAME["license plate"].color == C.LABEL_BY_NAME["car"].color
    assert C.LABEL_BY_NAME["dynamic"].color == (111, 74, 0)
    assert C.LABEL_BY_NAME["ground"].color == (81, 0, 81)
    blacks = {lab.name for lab in C.LABELS if lab.color == (0, 0, 0)}
    assert blacks == {"unlabeled", "ego vehicle", "rectification border", "out of roi", "static"}
    with_instances = {lab.name for lab in C.LABELS if lab.has_instances}
    assert with_instances == {"person", "rider", "car", "truck", "bus", "caravan", "trailer",
                              "train", "motorcycle", "bicycle"}


def test_packed_colour_lookup():
    assert C.pack_color((128, 64, 128)) == 128 + 256 * 64 + 65536 * 128
    assert C.PACKED_COLOR_TO_CATEGORY[C.pack_color((0, 0, 142))] == 13
    assert C.pack_color((0, 0, 90)) not in C.PACKED_COLOR_TO_CATEGORY  # caravan is not a category
    assert C.IS_THING_LUT[11] and not C.IS_THING_LUT[10] and not C.IS_THING_LUT[255]
    assert C.IS_STUFF_LUT[0] and C.IS_STUFF_LUT[10] and not C.IS_STUFF_LUT[11]
