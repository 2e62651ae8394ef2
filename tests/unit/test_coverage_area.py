"""The fast union area (Voronoi pieces, exact disc areas) against a slow polygon union."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyproj import Proj

from locator.coverage import areas, geodesy
from locator.coverage import engine as coverage
from tests.unit.test_coverage import HALF_M, POPULATION, lonlat, square  # noqa: F401


def oracle_km2(regions, points_m, radius_m):
    """Per county: union of fine 1,024-gons (area-matched) clipped to the county, planar
    area over k² at each county's representative point — shapely.union_all, nothing of
    ours but the scale factor."""
    lon, lat = np.array([lonlat(dx, dy) for dx, dy in points_m]).reshape(-1, 2).T
    counties = regions.counties.to_crs("EPSG:32650").geometry.to_numpy()
    if len(lon) == 0:
        return np.zeros(len(counties))
    x, y = geodesy.TO_METRIC.transform(lon, lat)
    n = 1024
    factor = math.sqrt(2 * math.pi / (n * math.sin(2 * math.pi / n)))
    k = coverage.scale_factor(lon, lat)
    union = shapely.union_all(shapely.buffer(shapely.points(x, y), radius_m * k * factor,
                                             quad_segs=n // 4))
    rep = regions.counties.geometry.representative_point()
    kc = coverage.scale_factor(rep.x.to_numpy(), rep.y.to_numpy())
    return np.array([shapely.intersection(union, c).area for c in counties]) / kc**2 / 1e6


def county_of(dx, dy):
    """The county code the store would derive for a point (None outside both)."""
    if abs(dx) > HALF_M or abs(dy) > HALF_M:
        return None
    return "990101" if dx < 0 else "990102"


def figures_km2(regions, points_m, radius_m):
    rows = []
    for i, (dx, dy) in enumerate(points_m):
        lon, lat = lonlat(dx, dy)
        rows.append({"id": f"T{i}", "kind": "station", "status": "active", "lon": lon,
                     "lat": lat, "county_code": county_of(dx, dy), "synthetic": False})
    sites = pd.DataFrame(rows, columns=["id", "kind", "status", "lon", "lat", "county_code",
                                        "synthetic"])
    engine = coverage.CoverageEngine(sites, regions, population=POPULATION)
    return engine.figures(radius_m).counties["covered_km2"].to_numpy()


offset = st.floats(-HALF_M - 3000, HALF_M + 3000, allow_nan=False)
near_border = st.floats(-1500, 1500, allow_nan=False)


@given(points=st.lists(st.tuples(st.one_of(offset, near_border), offset), max_size=30),
       radius=st.sampled_from([100, 500, 1000, 2000, 5000]))
@example(points=[], radius=1000)
@example(points=[(0.0, 0.0)], radius=1000)                        # on the county border
@example(points=[(-300.0, 0.0), (-300.0, 0.0), (200.0, 50.0)], radius=1000)  # duplicate
@example(points=[(-2000.0, 0.0), (0.0, 0.0), (2000.0, 0.0)], radius=2000)   # collinear
@example(points=[(-HALF_M, -HALF_M), (HALF_M + 500, 0.0)], radius=2000)     # outside edge
@example(points=[(-5000.0 + i * 10.0, 3.0 * i) for i in range(25)], radius=500)  # a crowd
@example(points=[(HALF_M + 150.0, 0.0), (-3000.0, 0.0)], radius=100)  # near, reaches nothing
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_union_area_matches_a_polygon_union(square, points, radius):  # noqa: F811
    fast = figures_km2(square, points, radius)
    slow = oracle_km2(square, points, radius)
    np.testing.assert_allclose(fast, slow, rtol=2e-4, atol=2e-6)


def test_scale_factor_matches_proj():
    """Snyder's series (scale_factor) against PROJ's own factors over SAFE_BOUNDS."""
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(110.5, 123.5, 20_000), rng.uniform(34.0, 46.0, 20_000)
    ref = np.asarray(Proj("EPSG:32650").get_factors(lon, lat).meridional_scale)
    np.testing.assert_allclose(coverage.scale_factor(lon, lat), ref, rtol=0, atol=4e-9)


def test_disc_triangle_area_sums_to_known_shapes():
    """A disc against a square around its centre, and a square that cuts it."""
    c = np.zeros(4)
    box = np.array([(-2, -2), (2, -2), (2, 2), (-2, 2), (-2, -2)], dtype=float)
    a, b = box[:-1], box[1:]
    inside = areas.disc_triangle_area(c, c, np.ones(4), a[:, 0], a[:, 1], b[:, 0],
                                          b[:, 1]).sum()
    assert inside == pytest.approx(math.pi, abs=1e-12)  # the square holds the unit disc
    half = np.array([(0, -2), (2, -2), (2, 2), (0, 2), (0, -2)], dtype=float)
    a, b = half[:-1], half[1:]
    assert areas.disc_triangle_area(c, c, np.ones(4), a[:, 0], a[:, 1], b[:, 0],
                                        b[:, 1]).sum() == pytest.approx(math.pi / 2, abs=1e-12)
    small = np.array([(0.1, 0.1), (0.3, 0.1), (0.3, 0.4), (0.1, 0.4), (0.1, 0.1)])
    a, b = small[:-1], small[1:]
    assert areas.disc_triangle_area(c, c, np.ones(4), a[:, 0], a[:, 1], b[:, 0],
                                        b[:, 1]).sum() == pytest.approx(0.06, abs=1e-12)


def test_covered_geometry_is_built_on_demand_and_agrees(square):  # noqa: F811
    rng = np.random.default_rng(5)
    points = rng.uniform(-HALF_M, HALF_M, size=(30, 2))
    rows = [{"id": f"T{i}", "kind": "station", "status": "active",
             "lon": lonlat(dx, dy)[0], "lat": lonlat(dx, dy)[1],
             "county_code": "990101" if dx < 0 else "990102", "synthetic": False}
            for i, (dx, dy) in enumerate(points)]
    engine = coverage.CoverageEngine(pd.DataFrame(rows), square, population=POPULATION)
    figures = engine.figures(1000)
    assert "covered" not in figures.__dict__  # not computed for the figures
    rep = square.counties.geometry.representative_point()
    kc = coverage.scale_factor(rep.x.to_numpy(), rep.y.to_numpy())
    polygon_km2 = figures.covered.area.to_numpy() / kc**2 / 1e6
    np.testing.assert_allclose(polygon_km2, figures.counties["covered_km2"], rtol=2e-4)


def test_real_counties_against_their_polygon_union():
    """Stations around 石家庄's many county borders and along 廊坊's exclave: the fast areas
    against the per-county polygon union (CoverageFigures.covered, the old method)."""
    from locator.geo.regions import load_regions

    regions = load_regions()
    rng = np.random.default_rng(11)
    centres = np.array([(114.5149, 38.0428), (116.95, 39.95), (115.2180, 37.9430)])
    pick = centres[rng.integers(0, len(centres), 400)]
    lon = pick[:, 0] + rng.normal(0, 0.15, 400)
    lat = pick[:, 1] + rng.normal(0, 0.12, 400)
    found = regions.locate(lon, lat)
    sites = pd.DataFrame({"id": [f"S{i}" for i in range(400)], "kind": "station",
                          "status": "active", "lon": lon, "lat": lat,
                          "county_code": found["county_code"], "synthetic": False})
    engine = coverage.CoverageEngine(sites, regions)
    figures = engine.figures(2000)
    rep = regions.counties.geometry.representative_point()
    kc = coverage.scale_factor(rep.x.to_numpy(), rep.y.to_numpy())
    polygon_km2 = figures.covered.area.to_numpy() / kc**2 / 1e6
    fast = figures.counties["covered_km2"].to_numpy()
    assert (fast > 0).sum() > 20  # many counties, many borders
    np.testing.assert_allclose(fast, polygon_km2, rtol=1e-3, atol=1e-3)
