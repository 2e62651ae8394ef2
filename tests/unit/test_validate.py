"""Validation: the coordinate parser (properties), text, services, hours, the duplicate key."""

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from locator.geo.regions import load_regions
from locator.imports.readers import Table
from locator.imports.validate import (
    CoordinateError,
    clean_text,
    name_key,
    normalise_hours,
    parse_coordinate,
    parse_services,
    validate_table,
)

FULL_WIDTH = str.maketrans("0123456789.-+", "０１２３４５６７８９．－＋")


def dms(value: float, axis: str, style: int) -> str:
    hemi = ("E" if value >= 0 else "W") if axis == "lon" else ("N" if value >= 0 else "S")
    a = abs(value)
    d = int(a)
    m = int((a - d) * 60)
    s = (a - d - m / 60) * 3600
    if s >= 59.99995:  # keep seconds printable below 60 after rounding
        s = 0.0
        m += 1
        if m == 60:
            d, m = d + 1, 0
    s_text = f"{s:.4f}"
    zh = {"lon": ("东经", "西经"), "lat": ("北纬", "南纬")}[axis][value < 0]
    return [
        f"{d}°{m}'{s_text}\"{hemi}",
        f"{hemi}{d}°{m}′{s_text}″",
        f"{zh}{d}度{m}分{s_text}秒",
        f"{d}° {m}' {s_text}\" {hemi}",
    ][style]


@settings(deadline=None)
@given(st.floats(-180, 180), st.sampled_from(["lon", "lat"]), st.integers(0, 3))
@example(114.515, "lon", 0)
@example(-0.0, "lat", 1)
@example(38.99999999, "lat", 2)
def test_dms_round_trip(value, axis, style):
    if axis == "lat":
        value = max(-90.0, min(90.0, value / 2))
    text = dms(value, axis, style)
    parsed, got_axis = parse_coordinate(text)
    assert got_axis == axis
    assert abs(parsed - value) < 1e-6


@settings(deadline=None)
@given(st.floats(-180, 180), st.booleans())
@example(114.5149, True)
def test_decimal_round_trip_also_in_full_width(value, full_width):
    text = f"{value:.7f}"
    if full_width:
        text = text.translate(FULL_WIDTH)
    parsed, axis = parse_coordinate(text)
    assert axis is None and abs(parsed - value) < 1e-7


@settings(deadline=None)
@given(st.one_of(st.text(), st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                 st.none(), st.booleans()))
@example("nan")
@example("-inf")
@example("1e309")
@example("1_000.5")
@example("٣٩.٩")
@example("３９．９")
@example("Infinity")
@example("39,9")
@example(float("nan"))
def test_the_parser_never_crashes_and_never_yields_nan(value):
    try:
        parsed, axis = parse_coordinate(value)
    except CoordinateError as e:
        assert e.zh and e.en
        return
    assert math.isfinite(parsed) and axis in (None, "lon", "lat")


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e309", "1e2", "1_000.5",
                                  "٣٩.٩", "39,9", "0x1A", "", "  ", "38°60'", "38°5'60\"",
                                  "N38.5S", "-38.5N"])
def test_odd_forms_python_float_accepts_are_refused(text):
    with pytest.raises(CoordinateError):
        parse_coordinate(text)


def test_text_rules():
    assert clean_text("  裕华路\n驿站\u3000 ", max_length=100) == "裕华路 驿站"
    assert clean_text("e\u0301", max_length=100) == "é"  # NFC
    for bad in ("a\u202eb", "a\u200bb", "a\ufeffb", "a\x00b", "a\ue000b"):
        with pytest.raises(Exception) as e:
            clean_text(bad, max_length=100)
        assert "U+" in e.value.zh
    with pytest.raises(Exception, match="太长"):
        clean_text("长" * 101, max_length=100)
    assert clean_text("=HYPERLINK(\"x\")", max_length=100) == "=HYPERLINK(\"x\")"


@settings(deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=50))
def test_clean_text_output_has_no_invisible_or_control_characters(text):
    import unicodedata

    try:
        out = clean_text(text, max_length=100)
    except Exception:
        return
    assert all(unicodedata.category(c) not in {"Cc", "Cf", "Co", "Cs"} for c in out)
    assert unicodedata.is_normalized("NFC", out) and out == out.strip()


def test_name_key():
    assert name_key("石家庄站 ") == name_key("石家庄站") == name_key("石家庄 · 站")
    assert name_key("ＡＢＣ站") == name_key("abc站")


def test_services_by_label_or_code():
    assert parse_services("饮水、热水,toilet；AED|wifi 冰箱") == (
        ["drinking_water", "hot_water", "toilet", "aed", "wifi", "fridge"], [])
    assert parse_services("") == ([], [])
    assert parse_services("饮水，按摩") == (["drinking_water"], ["按摩"])


@pytest.mark.parametrize(("given_", "expected"), [
    ("全天", "24/7"), ("24小时", "24/7"), ("24/7", "24/7"),
    ("08:00-20:00", "Mo-Su 08:00-20:00"), ("8：00－20：00", "Mo-Su 08:00-20:00"),
    ("08:00~20:00", "Mo-Su 08:00-20:00"), ("周一至周五 08:30-17:30", "Mo-Fr 08:30-17:30"),
    ("工作日 9:00-17:00，周末 10:00-16:00", "Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00"),
    ("Mo-Fr 08:00-18:00; PH off", "Mo-Fr 08:00-18:00; PH off"), ("", ""),
])
def test_opening_hours_are_normalised(given_, expected):
    assert normalise_hours(given_) == expected


@pytest.mark.parametrize("text", ["早上到晚上", "25:00-26:00", "bogus"])
def test_bad_opening_hours(text):
    with pytest.raises(Exception) as e:
        normalise_hours(text)
    assert e.value.code == "bad_opening_hours"


@settings(deadline=None)
@given(st.floats(36.2, 42.5), st.floats(113.6, 119.7))
def test_a_swap_of_any_hebei_point_is_flagged(lat, lon):
    regions = load_regions()
    table = Table("csv", ["名称", "经度", "纬度"], [(2, ["x", f"{lat:.6f}", f"{lon:.6f}"])],
                  header_row=1)
    validation = validate_table(table, datum="wgs84", regions=regions)
    assert [p.code for p in validation.problems] == ["swapped_lat_lon"]


def test_nan_never_passes_a_range_check():
    regions = load_regions()
    table = Table("xlsx", ["名称", "经度", "纬度"],
                  [(2, ["a", float("nan"), 38.0]), (3, ["b", 114.5, float("inf")])],
                  header_row=1)
    codes = [(p.row, p.code) for p in validate_table(table, datum="wgs84",
                                                     regions=regions).problems]
    assert codes == [(2, "bad_coordinate"), (3, "bad_coordinate")]


def test_declared_district_is_checked_against_the_point():
    regions = load_regions()
    rows = [(2, ["a", "114.5149", "38.0428", "石家庄", "长安区"]),
            (3, ["b", "114.5149", "38.0528", "河北省石家庄市", ""]),
            (4, ["c", "115.93", "39.00", "保定市", ""]),  # 雄安新区 is its own district
            (5, ["d", "114.5149", "38.0628", "130100", "桥西"])]
    table = Table("csv", ["名称", "经度", "纬度", "所属地区", "区县"], rows, header_row=1)
    problems = validate_table(table, datum="wgs84", regions=regions).problems
    assert [(p.row, p.column, p.code) for p in problems] == [
        (4, "所属地区", "district_mismatch"), (5, "区县", "district_mismatch")]


def test_a_gis_layers_own_id_attribute_is_not_taken_for_our_id():
    regions = load_regions()
    table = Table("shapefile", ["Id", "名称"], [(1, [0, "甲站"]), (2, [0, "乙站"])],
                  points=[(114.5012, 38.0188), (114.5112, 38.0188)])
    validation = validate_table(table, datum="wgs84", regions=regions)
    assert validation.problems == [] and [r.id for r in validation.rows] == [None, None]
    table.columns[0] = "编号"
    table.rows[0] = (1, ["HB130104-9999", "甲站"])
    problems = validate_table(table, datum="wgs84", regions=regions).problems
    assert [(p.row, p.code) for p in problems] == [(1, "unknown_id")]


def test_geometry_points_are_range_checked_too():
    regions = load_regions()
    table = Table("geojson", ["名称"], [(1, ["a"]), (2, ["b"]), (3, ["c"])],
                  points=[(float("nan"), 38.0), (500.0, 38.0), (114.5012, 38.0188)])
    problems = validate_table(table, datum="wgs84", regions=regions).problems
    assert [(p.row, p.column, p.code) for p in problems] == [
        (1, "geometry", "bad_coordinate"), (2, "geometry", "bad_coordinate")]
