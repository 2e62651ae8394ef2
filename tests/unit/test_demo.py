"""The synthetic demo dataset: the committed file, its generator and the allocation."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import geopandas as gpd
import numpy as np
import opening_hours
import pytest
import shapely
from hypothesis import example, given
from hypothesis import strategies as st
from pyproj import Geod

from locator.demo import generate as demo
from locator.geo.regions import load_regions

PROVINCE_POPULATION = 74_610_235  # 7th census, research/data.md §4.1
VOCABULARY = {  # DESIGN.md §4 / §5, written out independently of the code under test
    "drinking_water",
    "hot_water",
    "heating",
    "air_conditioning",
    "rest_area",
    "toilet",
    "phone_charging",
    "ebike_charging",
    "microwave",
    "first_aid_kit",
    "aed",
    "wifi",
    "repair_tools",
    "reading",
    "nursing_room",
    "fridge",
    "changing_table",
    "lockable_door",
}
AREA_CODES = {
    "130100": "0311",
    "130181": "0311",
    "130200": "0315",
    "130300": "0335",
    "130400": "0310",
    "130500": "0319",
    "130600": "0312",
    "130682": "0312",
    "133100": "0312",
    "130700": "0313",
    "130800": "0314",
    "130900": "0317",
    "131000": "0316",
    "131100": "0318",
}
KEYS = [
    "id",
    "kind",
    "name",
    "address",
    "district_code",
    "district_name",
    "county_code",
    "county_name",
    "lon",
    "lat",
    "source_datum",
    "services",
    "opening_hours",
    "host",
    "phone",
    "status",
    "reopen_date",
    "status_reason",
    "verified_at",
    "updated_at",
    "updated_by",
    "synthetic",
]


@pytest.fixture(scope="module")
def regions():
    return load_regions()


@pytest.fixture(scope="module")
def committed_bytes():
    return demo.DEFAULT_DEMO_PATH.read_bytes()


@pytest.fixture(scope="module")
def collection(committed_bytes):
    return json.loads(committed_bytes)


@pytest.fixture(scope="module")
def records(collection):
    return [f["properties"] for f in collection["features"]]


@pytest.fixture(scope="module")
def generated(regions):
    return demo.generate(regions)


# --- the population table and the allocation ---------------------------------------------


def test_population_table_is_the_province(regions):
    assert sum(d.population for d in demo.DISTRICTS) == PROVINCE_POPULATION
    names = dict(zip(regions.districts["code"], regions.districts["name"], strict=True))
    assert {d.code: d.name for d in demo.DISTRICTS} == names


def test_city_centres_lie_in_their_districts(regions):
    districts = regions.districts.set_index("code").geometry
    for d in demo.DISTRICTS:
        assert districts[d.code].covers(shapely.Point(d.centre_lon, d.centre_lat)), d.name


def test_allocate_pinned():
    assert demo.allocate(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert demo.allocate(7, {"a": 0, "b": 5}) == {"a": 0, "b": 7}
    assert demo.district_allocation()["station"] == {
        "130100": 826,
        "130200": 599,
        "130300": 243,
        "130400": 731,
        "130500": 552,
        "130600": 717,
        "130700": 320,
        "130800": 260,
        "130900": 567,
        "131000": 424,
        "131100": 327,
        "133100": 93,
        "130682": 85,
        "130181": 46,
    }
    assert demo.district_allocation()["mother_room"] == {
        "130100": 28,
        "130200": 21,
        "130300": 8,
        "130400": 25,
        "130500": 19,
        "130600": 25,
        "130700": 11,
        "130800": 9,
        "130900": 20,
        "131000": 15,
        "131100": 11,
        "133100": 3,
        "130682": 3,
        "130181": 2,
    }


@given(
    total=st.integers(0, 20_000),
    weights=st.lists(st.integers(0, 10**8), min_size=1, max_size=20).filter(any),
)
@example(total=5790, weights=[d.population for d in demo.DISTRICTS])
@example(total=200, weights=[d.population for d in demo.DISTRICTS])
@example(total=1, weights=[1, 1])
def test_allocate_sums_exactly_and_stays_within_one_of_the_quota(total, weights):
    keyed = {f"k{i}": w for i, w in enumerate(weights)}
    got = demo.allocate(total, keyed)
    assert list(got) == list(keyed)
    assert sum(got.values()) == total
    s = sum(weights)
    for k, w in keyed.items():
        quota = total * w / s
        assert quota - 1 < got[k] < quota + 1
        assert got[k] in (total * w // s, total * w // s + 1)


# --- the committed file ------------------------------------------------------------------


def test_counts(records, collection):
    kinds = Counter(r["kind"] for r in records)
    assert kinds == {"station": 5790, "mother_room": 200}
    per = Counter((r["district_code"], r["kind"]) for r in records)
    for kind, allocation in demo.district_allocation().items():
        assert {code: per[code, kind] for code in allocation} == allocation
    meta = collection["metadata"]
    assert meta["counts"]["station"] == 5790 and meta["counts"]["mother_room"] == 200
    assert meta["synthetic"] is True and "示例数据" in meta["notice"]
    assert meta["generator"] == "locator.data.demo" and meta["seed"] == demo.DEFAULT_SEED


def test_rfc7946(collection, records):
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    for f in collection["features"]:
        assert f["type"] == "Feature"
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        p = f["properties"]
        assert list(p) == KEYS
        assert (lon, lat) == (p["lon"], p["lat"])
        assert 113 < lon < 120 and 36 < lat < 43
        assert round(lon, 6) == lon and round(lat, 6) == lat
    assert all(r["source_datum"] == "wgs84" for r in records)


def test_ids(records):
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    for r in records:
        assert re.fullmatch(r"HB\d{6}-\d{4}", r["id"])
        assert r["id"][2:8] == r["county_code"]
    # sequences run 0001..n within each county
    seqs: dict[str, list[int]] = {}
    for r in records:
        seqs.setdefault(r["county_code"], []).append(int(r["id"][-4:]))
    for seq in seqs.values():
        assert sorted(seq) == list(range(1, len(seq) + 1))


def test_every_point_is_inside_the_county_it_names(records, regions):
    counties = regions.counties.set_index("code")
    geoms = counties.geometry.loc[[r["county_code"] for r in records]].to_numpy()
    points = shapely.points([r["lon"] for r in records], [r["lat"] for r in records])
    inside = shapely.covers(geoms, points)
    assert inside.all(), [r["id"] for r, ok in zip(records, inside, strict=True) if not ok][:5]
    for r in records:
        c = counties.loc[r["county_code"]]
        assert (c["name"], c["district_code"], c["district_name"]) == (
            r["county_name"],
            r["district_code"],
            r["district_name"],
        )


def test_opening_hours_parse(records):
    values = {r["opening_hours"] for r in records}
    assert "24/7" in values and any("PH" in v for v in values)
    for v in values:
        opening_hours.OpeningHours(v)


def test_services(records):
    stations = [r for r in records if r["kind"] == "station"]
    rooms = [r for r in records if r["kind"] == "mother_room"]
    for r in records:
        assert set(r["services"]) <= VOCABULARY
        assert len(set(r["services"])) == len(r["services"])
    for code in ("drinking_water", "hot_water", "rest_area"):
        assert sum(code in r["services"] for r in stations) > 0.9 * len(stations)
    aed = sum("aed" in r["services"] for r in stations)
    assert 0 < aed < 0.1 * len(stations)
    assert all({"nursing_room", "lockable_door"} <= set(r["services"]) for r in rooms)


def test_names_unique_within_a_county(records):
    seen = Counter((r["county_code"], r["name"]) for r in records)
    assert max(seen.values()) == 1
    mother = [r["name"] for r in records if r["kind"] == "mother_room"]
    assert all("爱心妈妈小屋" in n for n in mother)


def test_addresses_start_with_the_place(records):
    for r in records:
        place = (
            r["county_name"]
            if r["county_name"] == r["district_name"]
            else (r["district_name"] + r["county_name"])
        )
        assert r["address"].startswith(place) and r["address"].endswith("号")


def test_status_and_dates(records):
    reference = dt.date(2026, 11, 1)
    statuses = Counter(r["status"] for r in records)
    assert set(statuses) == {"active", "temporarily_closed"}
    assert 0.002 < statuses["temporarily_closed"] / len(records) < 0.03
    for r in records:
        closed = r["status"] == "temporarily_closed"
        assert (r["reopen_date"] is not None) == closed
        assert (r["status_reason"] is not None) == closed
        if closed:
            assert dt.date.fromisoformat(r["reopen_date"]) > reference
        verified = dt.date.fromisoformat(r["verified_at"])
        assert reference - dt.timedelta(days=366) <= verified < reference
        updated = dt.datetime.fromisoformat(r["updated_at"])
        assert updated.utcoffset() == dt.timedelta(hours=8)
        assert verified <= updated.date() < reference
        assert r["updated_by"] == "demo-generator"
        assert r["synthetic"] is True


def test_phones(records):
    kinds = Counter()
    for r in records:
        phone = r["phone"]
        if phone == "":
            kinds["empty"] += 1
        elif re.fullmatch(r"1[3-9]\d{9}", phone):
            kinds["mobile"] += 1
        else:
            assert re.fullmatch(r"0\d{3}-[2-8]\d{6,7}", phone), phone
            assert phone[:4] == AREA_CODES[r["district_code"]], (phone, r["district_name"])
            kinds["landline"] += 1
    assert kinds["landline"] > 0.7 * len(records) and kinds["mobile"] and kinds["empty"]


def test_stations_concentrate_around_city_centres(records, regions):
    """Within 15 km of the district's centre: far more stations than a uniform spread puts."""
    radius_m = 15_000.0
    geod = Geod(ellps="WGS84")
    centres = {d.code: (d.centre_lon, d.centre_lat) for d in demo.DISTRICTS}
    stations = [r for r in records if r["kind"] == "station"]
    clon = np.array([centres[r["district_code"]][0] for r in stations])
    clat = np.array([centres[r["district_code"]][1] for r in stations])
    lon = np.array([r["lon"] for r in stations])
    lat = np.array([r["lat"] for r in stations])
    _, _, dist_m = geod.inv(clon, clat, lon, lat)
    observed = float(np.mean(dist_m <= radius_m))

    # Uniform spread: each district's stations fall within the disc in proportion to area.
    metric = regions.districts.to_crs(demo.METRIC_CRS).set_index("code").geometry
    centre_xy = gpd.GeoSeries(
        shapely.points([centres[c] for c in metric.index]), index=metric.index, crs=4326
    ).to_crs(demo.METRIC_CRS)
    per = Counter(r["district_code"] for r in stations)
    uniform = sum(
        n * metric[c].intersection(centre_xy[c].buffer(radius_m, 64)).area / metric[c].area
        for c, n in per.items()
    ) / len(stations)
    assert observed > 3 * uniform and observed > uniform + 0.2, (observed, uniform)


# --- determinism ---------------------------------------------------------------------------


def test_generated_records_are_the_committed_file(generated, committed_bytes, records):
    assert generated == records
    assert demo.dumps(generated) == committed_bytes


def test_write_demo_regenerates_the_same_bytes(tmp_path, regions, generated, committed_bytes):
    """A second, independent run: equal bytes, hence equal records (generation is pure)."""
    out = tmp_path / "demo.geojson"
    summary = demo.write_demo(out, regions)
    data = out.read_bytes()
    assert data == committed_bytes
    assert [f["properties"] for f in json.loads(data)["features"]] == generated
    assert summary["bytes"] == len(data)
    assert summary["station"] == 5790 and summary["mother_room"] == 200
