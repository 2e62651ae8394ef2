"""The nearest engine against a slow obvious oracle: geodesic brute force over every site."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from locator.demo.generate import DEFAULT_DEMO_PATH
from locator.geo import hours
from locator.geo.index import SiteIndex
from locator.geo.regions import load_regions
from locator.store.store import demo_rows

GEOD = Geod(ellps="WGS84")
TZ = hours.TZ


@lru_cache(maxsize=1)
def demo_index() -> SiteIndex:
    rows = pd.DataFrame(demo_rows(DEFAULT_DEMO_PATH))
    return SiteIndex(rows, version=1)


def oracle(index: SiteIndex, lon, lat, k, *, kind=None, services=(), open_at=None,
           include_closed=False):
    """Geodesic distance to every site, filter by brute force, sort by (distance, position)."""
    rows = plain_rows(index)
    keep = np.array([
        pos for pos, (status, row_kind, row_services, row_hours) in enumerate(rows)
        if (include_closed or status == "active")
        and (kind is None or row_kind == kind)
        and set(services) <= row_services
        and (open_at is None or hours.open_at(row_hours, open_at) is True)
    ], dtype=np.int64)
    _, _, d = GEOD.inv(np.full(len(keep), lon), np.full(len(keep), lat),
                       index.lon[keep], index.lat[keep])
    d = np.atleast_1d(d)
    order = sorted(range(len(keep)), key=lambda i: (d[i], keep[i]))[:k]
    return keep[order], d[order]


def plain_rows(index: SiteIndex):
    cached = getattr(index, "_oracle_rows", None)
    if cached is None:
        s = index.sites
        cached = list(zip(s["status"], s["kind"], map(set, s["services"]),
                          s["opening_hours"], strict=True))
        index._oracle_rows = cached
    return cached


def assert_same(index, lon, lat, k=5, **filters):
    got = index.nearest(lon, lat, k=k, **filters)
    want_pos, want_d = oracle(index, lon, lat, k, **filters)
    assert list(got.positions) == list(want_pos)
    np.testing.assert_allclose(got.distance_m, want_d, rtol=0, atol=1e-6)


# --- query points ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def district_borders():
    r = load_regions()
    return shapely.union_all(shapely.boundary(r.districts.geometry.values))


@st.composite
def near_border(draw):
    """A point within ~2 km of a district border (or the province edge)."""
    line = district_borders()
    t = draw(st.floats(0, 1))
    p = shapely.line_interpolate_point(line, t, normalized=True)
    dx = draw(st.floats(-0.02, 0.02))
    dy = draw(st.floats(-0.018, 0.018))
    return shapely.get_x(p) + dx, shapely.get_y(p) + dy


anywhere_in_hebei_bbox = st.tuples(st.floats(113.4, 119.9), st.floats(36.0, 42.7))
langfang_exclave = st.tuples(st.floats(116.75, 117.25), st.floats(39.70, 40.10))
outside = st.sampled_from(
    [
        (116.3975, 39.9087),  # Beijing, Tiananmen
        (117.20, 39.13),  # Tianjin
        (119.5, 39.0),  # Bohai sea
        (121.47, 31.23),  # Shanghai (outside the planar margin: brute-force path)
        (-0.1276, 51.5072),  # London
        (113.0, 34.75),  # Zhengzhou, Henan
    ]
)
@st.composite
def near_a_site(draw):
    """Where couriers are: within about a kilometre of a site, often in a dense city."""
    index = demo_index()
    pos = draw(st.integers(0, len(index) - 1))
    return (index.lon[pos] + draw(st.floats(-0.012, 0.012)),
            index.lat[pos] + draw(st.floats(-0.009, 0.009)))


queries = st.one_of(anywhere_in_hebei_bbox, near_border(), langfang_exclave, outside,
                    near_a_site())


@settings(max_examples=300, deadline=None)
@given(queries, st.integers(1, 50))
@example((114.5149, 38.0428), 5)  # 石家庄 centre
@example((116.9, 39.95), 50)  # 廊坊 exclave, k at its maximum
@example((117.20, 39.13), 5)  # Tianjin
def test_top_k_equals_brute_force(point, k):
    assert_same(demo_index(), *point, k=k)


@settings(max_examples=150, deadline=None)
@given(
    queries,
    st.integers(1, 10),
    st.sampled_from([None, "station", "mother_room"]),
    st.sampled_from(
        [(), ("toilet",), ("aed",), ("hot_water", "phone_charging"), ("nursing_room", "fridge")]
    ),
    st.booleans(),
)
def test_filtered_top_k_equals_brute_force(point, k, kind, services, include_closed):
    assert_same(
        demo_index(), *point, k=k, kind=kind, services=services, include_closed=include_closed
    )


OPEN_TIMES = [
    dt.datetime(2026, 11, 30, 3, 0, tzinfo=TZ),  # Monday, 03:00 — most sites shut
    dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ),  # Wednesday morning
    dt.datetime(2026, 10, 1, 10, 0, tzinfo=TZ),  # National Day (a public holiday)
    dt.datetime(2026, 11, 28, 22, 30, tzinfo=TZ),  # Saturday night
]


@settings(max_examples=60, deadline=None)
@given(queries, st.integers(1, 8), st.sampled_from(OPEN_TIMES))
def test_open_now_top_k_equals_brute_force(point, k, when):
    assert_same(demo_index(), *point, k=k, open_at=when)


def test_result_reports_open_state_at_the_query_time():
    index = demo_index()
    when = OPEN_TIMES[0]
    res = index.nearest(114.5149, 38.0428, k=50, open_at=when)
    assert res.open_now == [True] * 50
    night = dt.datetime(2026, 12, 2, 3, 0, tzinfo=TZ)  # Wednesday 03:00: most are closed
    unfiltered = index.nearest(114.5149, 38.0428, k=50, at=night)
    states = [hours.open_at(index.hours[p], night) for p in unfiltered.positions]
    assert unfiltered.open_now == states
    assert False in states and True in states


def test_max_distance_keeps_only_sites_within_range():
    res = demo_index().nearest(114.5149, 38.0428, k=50, max_distance_m=1500)
    assert not res.beyond_range and len(res.positions) >= 1
    assert (res.distance_m <= 1500).all()


def test_nothing_in_range_returns_the_nearest_flagged():
    # the Bohai sea: nothing within 2 km
    res = demo_index().nearest(119.5, 39.0, k=3, max_distance_m=2000)
    assert res.beyond_range and len(res.positions) == 3
    assert (res.distance_m > 2000).all()
    want, _ = oracle(demo_index(), 119.5, 39.0, 3)
    assert list(res.positions) == list(want)


def test_k_bounds():
    with pytest.raises(ValueError):
        demo_index().nearest(115.0, 38.0, k=0)
    with pytest.raises(ValueError):
        demo_index().nearest(115.0, 38.0, k=51)


def test_removed_sites_never_appear_and_closed_only_on_request():
    sites = pd.DataFrame(demo_rows(DEFAULT_DEMO_PATH)).head(300).copy()
    sites.loc[0, "status"] = "removed"
    sites.loc[1, "status"] = "temporarily_closed"
    index = SiteIndex(sites)
    ids = set(index.sites["id"])
    removed_id = sites.loc[0, "id"]
    assert removed_id not in ids
    closed_pos = int(np.flatnonzero(index.sites["id"] == sites.loc[1, "id"])[0])
    lon, lat = index.lon[closed_pos], index.lat[closed_pos]
    assert closed_pos not in index.nearest(lon, lat, k=5).positions
    assert index.nearest(lon, lat, k=1, include_closed=True).positions[0] == closed_pos


def test_empty_index_and_impossible_filters():
    empty = SiteIndex(pd.DataFrame(demo_rows(DEFAULT_DEMO_PATH)).head(0))
    assert len(empty.nearest(115.0, 38.0).positions) == 0
    res = demo_index().nearest(
        115.0, 38.0, kind="station", services=("nursing_room", "aed", "repair_tools")
    )
    want, _ = oracle(
        demo_index(),
        115.0,
        38.0,
        5,
        kind="station",
        services=("nursing_room", "aed", "repair_tools"),
    )
    assert list(res.positions) == list(want)
