"""Point -> district/county lookup over the bundled regions file."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import shape

from locator.geo.regions import DEFAULT_REGIONS_PATH, LOCATE_COLUMNS, Regions, load_regions

# Hebei's bounding box in WGS-84 degrees (113.46-119.87 E, 36.05-42.62 N), a little wider.
MIN_LON, MIN_LAT, MAX_LON, MAX_LAT = 113.3, 35.9, 120.0, 42.8

# City centres from research/data.md §4.2 (written there as lat, lon), plus county seats.
KNOWN = [
    # (lat, lon, district_code, district_name, county_code or None)
    (38.0428, 114.5149, "130100", "石家庄市", None),
    (39.6305, 118.1802, "130200", "唐山市", None),
    (39.9354, 119.6005, "130300", "秦皇岛市", None),
    (36.6256, 114.5391, "130400", "邯郸市", None),
    (37.0706, 114.5044, "130500", "邢台市", None),
    (38.8739, 115.4646, "130600", "保定市", None),
    (40.8244, 114.8875, "130700", "张家口市", None),
    (40.9515, 117.9634, "130800", "承德市", None),
    (38.3045, 116.8388, "130900", "沧州市", None),
    (39.5380, 116.6838, "131000", "廊坊市", None),
    (37.7390, 115.6709, "131100", "衡水市", None),
    (39.00, 115.93, "133100", "雄安新区", None),
    (38.5162, 114.9904, "130682", "定州市", "130682"),
    (37.9430, 115.2180, "130181", "辛集市", "130181"),
    # 廊坊's 北三县 exclave between Beijing and Tianjin.
    (39.9826, 117.0782, "131000", "廊坊市", "131082"),  # 三河
    (39.8860, 116.9890, "131000", "廊坊市", "131028"),  # 大厂
    (39.7613, 117.0063, "131000", "廊坊市", "131024"),  # 香河
    # 雄安新区's three counties, no longer 保定's.
    (39.0430, 115.8616, "133100", "雄安新区", "130629"),  # 容城
    (38.9360, 115.9350, "133100", "雄安新区", "130632"),  # 安新
    (38.9900, 116.1050, "133100", "雄安新区", "130638"),  # 雄县
]

OUTSIDE = {
    "Beijing, Tiananmen": (116.3975, 39.9087),
    "Tianjin": (117.20, 39.13),
    "Bohai sea": (119.5, 39.0),
    "Jinan, Shandong": (117.00, 36.65),
    "Zhengzhou, Henan": (113.65, 34.76),
    "Taiyuan, Shanxi": (112.55, 37.87),
    "Hohhot, Inner Mongolia": (111.75, 40.84),
    "Shenyang, Liaoning": (123.43, 41.80),
}


@pytest.fixture(scope="module")
def regions() -> Regions:
    return load_regions()


@pytest.fixture(scope="module")
def oracle():
    """Counties read straight from the file (no GeoPandas, no index), in code order."""
    with DEFAULT_REGIONS_PATH.open(encoding="utf-8") as f:
        features = json.load(f)["features"]
    counties = sorted(
        (f["properties"] for f in features if f["properties"]["level"] == "county"),
        key=lambda p: p["code"],
    )
    geoms = {
        f["properties"]["code"]: shape(f["geometry"])
        for f in features
        if f["properties"]["level"] == "county"
    }
    shapely.prepare(list(geoms.values()))  # speed only; the predicate is unchanged

    def locate(lon: float, lat: float) -> dict | None:
        point = shapely.Point(lon, lat)
        for props in counties:  # lowest code first, so it wins on a shared border
            if geoms[props["code"]].covers(point):
                return {
                    "county_code": props["code"],
                    "county_name": props["name"],
                    "district_code": props["district_code"],
                    "district_name": props["district_name"],
                }
        return None

    return locate


def test_frames_follow_the_contract(regions):
    assert list(regions.districts.columns) == ["code", "name", "geometry"]
    assert list(regions.counties.columns) == [
        "code",
        "name",
        "district_code",
        "district_name",
        "geometry",
    ]
    assert len(regions.districts) == 14 and len(regions.counties) == 167
    assert regions.districts.index.tolist() == list(range(14))
    assert regions.districts["code"].is_monotonic_increasing
    assert regions.counties["code"].is_monotonic_increasing
    assert regions.districts.crs.to_epsg() == 4326 == regions.counties.crs.to_epsg()
    assert regions.districts.total_bounds[0] > 100  # x is longitude


def test_district_names(regions):
    names = regions.district_names()
    assert len(names) == 14
    assert names["133100"] == "雄安新区" and names["130682"] == "定州市"
    assert names["130181"] == "辛集市" and names["130100"] == "石家庄市"


@pytest.mark.parametrize(("lat", "lon", "district_code", "district_name", "county_code"), KNOWN)
def test_known_points(regions, lat, lon, district_code, district_name, county_code):
    found = regions.locate_one(lon, lat)
    assert found is not None
    assert (found["district_code"], found["district_name"]) == (district_code, district_name)
    if county_code is not None:
        assert found["county_code"] == county_code
    assert found["county_code"] in set(regions.counties["code"])


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE.values(), ids=OUTSIDE.keys())
def test_outside_hebei_is_none(regions, lon, lat):
    assert regions.locate_one(lon, lat) is None


def test_the_sea_point_is_really_offshore(regions):
    # Guard that "Bohai sea" above is not a near miss of the coast: > 30 km from Hebei.
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    province = shapely.union_all(regions.districts.to_crs("EPSG:32650").geometry.to_numpy())
    point = shapely.Point(to_metric.transform(*OUTSIDE["Bohai sea"]))
    assert shapely.distance(province, point) > 30_000


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None])
def test_not_a_number_is_outside(regions, bad):
    result = regions.locate([bad, 114.5149], [38.0428, bad])
    assert result.to_dict("records") == [dict.fromkeys(LOCATE_COLUMNS)] * 2
    assert regions.locate_one(bad, 38.0428) is None


def test_locate_returns_one_row_per_point_with_none_outside(regions):
    lon = [114.5149, 116.3975, 115.2180]
    lat = [38.0428, 39.9087, 37.9430]
    result = regions.locate(lon, lat)
    assert list(result.columns) == list(LOCATE_COLUMNS)
    assert result.index.tolist() == [0, 1, 2]
    assert result["district_name"].tolist() == ["石家庄市", None, "辛集市"]
    assert result.iloc[1].tolist() == [None] * 4
    assert {str(dtype) for dtype in result.dtypes} == {"object"}


def test_locate_keeps_a_series_index(regions):
    lon = pd.Series([116.3975, 114.5149], index=[10, 20])
    lat = pd.Series([39.9087, 38.0428], index=[10, 20])
    assert regions.locate(lon, lat)["district_code"].to_dict() == {10: None, 20: "130100"}


def test_locate_empty_and_mismatched_input(regions):
    empty = regions.locate([], [])
    assert len(empty) == 0 and list(empty.columns) == list(LOCATE_COLUMNS)
    with pytest.raises(ValueError, match="equally long"):
        regions.locate([114.5, 115.0], [38.0])


def test_vectorised_equals_per_point(regions):
    rng = np.random.default_rng(20240601)
    lon = rng.uniform(MIN_LON, MAX_LON, 300)
    lat = rng.uniform(MIN_LAT, MAX_LAT, 300)
    result = regions.locate(lon, lat)
    expected = [regions.locate_one(x, y) for x, y in zip(lon, lat, strict=True)]
    assert result.notna().all(axis=1).sum() > 100  # most of the box is Hebei
    for row, one in zip(result.to_dict("records"), expected, strict=True):
        assert row == (one if one is not None else dict.fromkeys(LOCATE_COLUMNS))


def test_shared_border_vertex_goes_to_the_lowest_code(regions):
    # Every vertex of 容城县's outline that 安新县 also touches: both counties (and at a
    # junction a third) contain it; the answer is the lowest code, whatever the order.
    counties = regions.counties.set_index("code").geometry
    shared = [
        xy
        for xy in shapely.get_coordinates(counties["130629"])
        if counties["130632"].intersects(shapely.Point(xy))
    ]
    assert len(shared) > 10
    result = regions.locate([x for x, _ in shared], [y for _, y in shared])
    for (x, y), code in zip(shared, result["county_code"], strict=True):
        holders = sorted(c for c, g in counties.items() if g.intersects(shapely.Point(x, y)))
        assert len(holders) >= 2 and code == holders[0]


def test_load_regions_is_cached_per_resolved_path(tmp_path):
    assert load_regions() is load_regions(DEFAULT_REGIONS_PATH)
    assert load_regions() is load_regions(str(DEFAULT_REGIONS_PATH))
    copy = tmp_path / "regions.geojson"
    shutil.copyfile(DEFAULT_REGIONS_PATH, copy)
    other = load_regions(copy)
    assert other is not load_regions() and other is load_regions(tmp_path / "." / copy.name)
    assert other.locate_one(114.5149, 38.0428)["county_code"] == "130102"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="geodata build"):
        load_regions(tmp_path / "nope.geojson")


points = st.lists(
    st.tuples(
        st.floats(MIN_LON, MAX_LON, allow_nan=False),
        st.floats(MIN_LAT, MAX_LAT, allow_nan=False),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(points)
@example([(115.76263, 38.96464)])  # 容城/安新/徐水 junction: three counties hold it
@example([(114.48649, 38.04291)])  # 长安/桥西/新华 junction in 石家庄's centre
@example([(117.0782, 39.9826), (116.3975, 39.9087)])  # 三河 exclave, Beijing
def test_locate_agrees_with_a_loop_over_counties(regions, oracle, points):
    result = regions.locate([x for x, _ in points], [y for _, y in points])
    for row, (x, y) in zip(result.to_dict("records"), points, strict=True):
        expected = oracle(x, y)
        assert row == (expected if expected is not None else dict.fromkeys(LOCATE_COLUMNS))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_border_vertices_agree_with_the_loop(regions, oracle, data):
    # Random vertices of the county outlines: every one lies on a border, most shared.
    vertices = shapely.get_coordinates(regions.counties.geometry.to_numpy())
    picks = data.draw(st.lists(st.integers(0, len(vertices) - 1), min_size=1, max_size=20))
    xy = vertices[picks]
    result = regions.locate(xy[:, 0], xy[:, 1])
    for row, (x, y) in zip(result.to_dict("records"), xy, strict=True):
        assert row == oracle(float(x), float(y))
