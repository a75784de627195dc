import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpskit import naming
from vpskit.errors import VpsError
from vpskit.naming import FrameKey, ImageId

cities = st.sampled_from(["frankfurt", "lindau", "munster", "bad_honnef"])


def test_image_id_examples_from_spec():
    iid = naming.parse_image_id("0005_0025_frankfurt_000000_001736")
    assert iid == ImageId(5, 25, "frankfurt", 0, 1736)
    assert iid.position == 0  # (5-1)*6 + 1 = 25 is the first annotated frame of video 5
    assert iid.first_frame == 1736 - 4
    last = naming.parse_image_id("0500_3000_munster_000173_000029")
    assert last.video == 500 and last.position == 5 and last.first_frame == 0
    assert naming.video_of("0500_3000_munster_000173_000029") == 500


@given(video=st.integers(1, 9999), pos=st.integers(0, 5), city=cities,
       seq=st.integers(0, 999999), frame=st.integers(0, 999999))
def test_image_id_round_trip(video, pos, city, seq, frame):
    iid = naming.make_image_id(video, pos, FrameKey(city, seq, frame))
    if iid.index > 9999:
        return
    assert naming.parse_image_id(str(iid)) == iid
    assert iid.position == pos
    assert len(str(iid).split("_")[0]) == 4


@pytest.mark.parametrize("bad", [
    "5_25_frankfurt_000000_001736",         # not zero-padded
    "0005_0025_frankfurt_000000_01736",     # frame with 5 digits
    "0005_0025_Frankfurt_000000_001736",    # capital letter
    "0005_0031_frankfurt_000000_001736",    # index of video 6, not 5
    "0000_0001_frankfurt_000000_001736",    # no video 0
    "0005_0025_frankfurt_000000_001736.png",
    "",
    "../0005_0025_frankfurt_000000_001736",
])
def test_image_id_rejects_malformed(bad):
    with pytest.raises(VpsError):
        naming.parse_image_id(bad)


def test_gtfine_frame_and_file_names():
    key = FrameKey("lindau", 12, 19)
    iid20 = naming.make_image_id(3, naming.GTFINE_POSITION, key)
    iid5 = naming.make_image_id(3, 0, FrameKey("lindau", 12, 4))
    assert str(iid20) == "0003_0016_lindau_000012_000019"
    assert iid20.is_gtfine_frame and not iid5.is_gtfine_frame
    assert naming.image_file(iid20) == "0003_0016_lindau_000012_000019_leftImg8bit.png"
    assert naming.image_file(iid5) == "0003_0013_lindau_000012_000004_newImg8bit.png"
    assert naming.cls_file(iid20) == "0003_0016_lindau_000012_000019_gtFine_color.png"
    assert naming.inst_file(iid20) == "0003_0016_lindau_000012_000019_gtFine_instanceIds.png"
    assert naming.cls_file(iid5) == "0003_0013_lindau_000012_000004_final_mask.png"
    assert naming.frame_file(key) == "lindau_000012_000019_leftImg8bit.png"
    assert naming.frame_relpath(key) == "lindau/lindau_000012_000019_leftImg8bit.png"
    assert naming.gtfine_file(key, "instanceIds") == "lindau_000012_000019_gtFine_instanceIds.png"
    assert naming.gtfine_file(key, "polygons") == "lindau_000012_000019_gtFine_polygons.json"
    assert naming.pan_pred_file(iid5) == "0003_0013_lindau_000012_000004.png"


@given(city=cities, seq=st.integers(0, 999999), frame=st.integers(0, 999999),
       kind=st.sampled_from(naming.GTFINE_KINDS))
def test_raw_names_round_trip(city, seq, frame, kind):
    key = FrameKey(city, seq, frame)
    assert naming.parse_frame_file(naming.frame_file(key)) == key
    assert naming.parse_gtfine_file(naming.gtfine_file(key, kind)) == (key, kind)


def test_image_id_of_file_and_pan_pred():
    for name in ("0003_0016_lindau_000012_000019_gtFine_color.png",
                 "0003_0016_lindau_000012_000019_final_mask.png",
                 "0003_0016_lindau_000012_000019_newImg8bit.png"):
        assert str(naming.image_id_of_file(name)) == "0003_0016_lindau_000012_000019"
    assert str(naming.parse_pan_pred_file("0003_0016_lindau_000012_000019.png")) == \
        "0003_0016_lindau_000012_000019"
    for bad in ("lindau_000012_000019_leftImg8bit.png", "0003_0016_lindau_000012_000019.jpg",
                "x0003_0016_lindau_000012_000019_final_mask.png"):
        with pytest.raises(VpsError):
            naming.image_id_of_file(bad)
    with pytest.raises(VpsError):
        naming.parse_frame_file("lindau_12_19_leftImg8bit.png")


def test_json_names():
    assert naming.panoptic_im_json("train") == "panoptic_im_train_city_vps.json"
    assert naming.im_all_info_json("val") == "im_all_info_val_city_vps.json"
    assert naming.instances_json("val") == "instances_val_city_vps_rle.json"
    assert naming.panoptic_gt_json("val") == "panoptic_gt_val_city_vps.json"


@pytest.mark.parametrize("name,expected", [
    ("a.png", "a.png"), ("sub/a.png", "sub/a.png"), ("./a.png", "a.png"),
])
def test_safe_relpath_accepts(name, expected):
    assert naming.safe_relpath(name) == expected


@pytest.mark.parametrize("name", [
    "../a.png", "sub/../../a.png", "/etc/passwd", "C:\\x.png", "C:x.png", "a\\..\\b.png",
    "", ".", "a\x00.png", 5, None,
])
def test_safe_relpath_rejects(name):
    with pytest.raises(VpsError):
        naming.safe_relpath(name, "pred.json")
