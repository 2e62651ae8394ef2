"""Coverage engine against independent computations on small hand-made geographies."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from locator.coverage import engine as coverage
from locator.coverage import h3cache
from locator.errors import BadRequest
from locator.geo.regions import Regions

GEOD = Geod(ellps="WGS84")
TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
TO_WGS84 = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
CENTRE = (115.0, 38.0)  # lon, lat: in Hebei, 2 degrees west of UTM 50N's central meridian
HALF_M = 10_000.0  # the test district is a 20 km x 20 km square (in UTM metres)
POPULATION = {"990100": 100_000}


def to_wgs84(geom):
    return shapely.transform(shapely.segmentize(geom, 250.0),
                             lambda xy: np.column_stack(TO_WGS84.transform(xy[:, 0], xy[:, 1])))


def metric_xy(dx_m: float, dy_m: float) -> tuple[float, float]:
    cx, cy = TO_METRIC.transform(*CENTRE)
    return cx + dx_m, cy + dy_m


def lonlat(dx_m: float, dy_m: float) -> tuple[float, float]:
    return TO_WGS84.transform(*metric_xy(dx_m, dy_m))


@pytest.fixture(scope="module")
def square():
    """One district, a square split at x = 0 into a west and an east county."""
    cx, cy = metric_xy(0, 0)
    west = to_wgs84(shapely.box(cx - HALF_M, cy - HALF_M, cx, cy + HALF_M))
    east = to_wgs84(shapely.box(cx, cy - HALF_M, cx + HALF_M, cy + HALF_M))
    # the two halves share exactly the same segmentized edge, as a coverage should
    district = shapely.union_all([west, east])
    districts = gpd.GeoDataFrame({"code": ["990100"], "name": ["测试市"]},
                                 geometry=[district], crs="EPSG:4326")
    counties = gpd.GeoDataFrame(
        {"code": ["990101", "990102"], "name": ["西区", "东区"],
         "district_code": ["990100"] * 2, "district_name": ["测试市"] * 2},
        geometry=[west, east], crs="EPSG:4326")
    return Regions(districts=districts, counties=counties)


def sites(points, kind="station", status="active"):
    """Station records at (dx, dy) metre offsets from CENTRE."""
    rows = []
    for i, (dx, dy) in enumerate(points):
        lon, lat = lonlat(dx, dy)
        rows.append({"id": f"T{i}", "kind": kind, "status": status, "lon": lon, "lat": lat,
                     "county_code": "990101" if dx < 0 else "990102",
                     "district_code": "990100", "synthetic": False})
    return pd.DataFrame(rows, columns=["id", "kind", "status", "lon", "lat", "county_code",
                                       "district_code", "synthetic"])


def engine(regions, points, **kw):
    return coverage.CoverageEngine(sites(points, **kw), regions, population=POPULATION)


def geodesic_area_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0]) / 1e6


def circle_km2(r_m: float) -> float:
    return math.pi * r_m**2 / 1e6


# --------------------------------------------------------------------------------------
# Service areas are geodesic circles


@pytest.mark.parametrize("lon,lat", [(113.5, 36.1), (113.5, 42.5), (117.0, 39.0),
                                     (119.8, 40.0)])
def test_service_area_is_a_geodesic_circle(lon, lat):
    """Scale-corrected UTM buffer vs pyproj.Geod: radius and area, at Hebei's corners."""
    r = 1000.0
    polygon = coverage.service_areas([lon], [lat], r)[0]
    ring = np.asarray(polygon.exterior.coords)
    vlon, vlat = TO_WGS84.transform(ring[:, 0], ring[:, 1])
    d = GEOD.inv(np.full(len(vlon), lon), np.full(len(vlat), lat), vlon, vlat)[2]
    # vertices sit on a circle slightly larger than R so that the polygon's area is right
    assert d.min() > r and d.max() < r * 1.0009
    assert d.max() - d.min() < 0.01  # round to the centimetre: no projection distortion
    assert geodesic_area_km2(to_wgs84(polygon)) == pytest.approx(circle_km2(r), rel=2e-4)


def test_plain_utm_buffer_would_be_off():
    """Why the scale factor is applied: at 113.5 E a plain UTM buffer is 0.08 % short."""
    x, y = TO_METRIC.transform(113.5, 36.1)
    ring = np.asarray(shapely.Point(x, y).buffer(1000.0, quad_segs=64).exterior.coords)
    vlon, vlat = TO_WGS84.transform(ring[:, 0], ring[:, 1])
    d = GEOD.inv(np.full(len(vlon), 113.5), np.full(len(vlat), 36.1), vlon, vlat)[2]
    assert d.max() < 999.3
    assert coverage.scale_factor(113.5, 36.1)[0] > 1.0007


# --------------------------------------------------------------------------------------
# Area figures on hand-made cases


def test_one_station_in_a_square_district(square):
    figures = engine(square, [(-5000, 0)]).figures(1000)
    west, east = figures.counties.iloc[0], figures.counties.iloc[1]
    assert west["covered_km2"] == pytest.approx(circle_km2(1000), rel=1e-3)
    assert east["covered_km2"] == 0 and east["share_area"] == 0
    assert west["area_km2"] == pytest.approx(geodesic_area_km2(square.counties.geometry[0]),
                                             rel=1e-9)
    # the square is 20 km on a side in UTM, where lengths are k = 0.9999 times geodesic
    k = coverage.scale_factor(*CENTRE)[0]
    assert figures.province["area_km2"] == pytest.approx(400 / k**2, rel=1e-4)
    assert figures.province["covered_km2"] == pytest.approx(circle_km2(1000), rel=1e-3)
    assert figures.province["share_area"] == pytest.approx(
        circle_km2(1000) / figures.province["area_km2"], rel=1e-3)
    assert (west["stations"], east["stations"]) == (1, 0)
    assert figures.province["stations"] == 1
    assert figures.province["stations_per_10k"] == pytest.approx(0.1)
    district = figures.summary("990100")
    assert district["covered_km2"] == pytest.approx(figures.province["covered_km2"])


@pytest.mark.parametrize("d_m", [0.0, 300.0, 1000.0, 1999.0, 2500.0])
def test_two_overlapping_circles(square, d_m):
    r = 1000.0
    figures = engine(square, [(-5000, 0), (-5000 + d_m, 0)]).figures(1000)
    lens = 0.0
    if d_m < 2 * r:
        lens = 2 * r**2 * math.acos(d_m / (2 * r)) - d_m / 2 * math.sqrt(4 * r**2 - d_m**2)
    expected = (2 * math.pi * r**2 - lens) / 1e6
    assert figures.province["covered_km2"] == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize("a_m", [0.0, 250.0, 600.0, 999.0])
def test_a_station_near_a_county_border_is_split(square, a_m):
    """A station a metres west of the border covers a circular segment of the east county."""
    r = 1000.0
    figures = engine(square, [(-a_m - 1e-6, 0)]).figures(1000)
    segment = (r**2 * math.acos(a_m / r) - a_m * math.sqrt(r**2 - a_m**2)) / 1e6
    west, east = figures.counties.iloc[0], figures.counties.iloc[1]
    assert east["covered_km2"] == pytest.approx(segment, rel=5e-3, abs=1e-4)
    assert west["covered_km2"] + east["covered_km2"] == pytest.approx(circle_km2(r), rel=1e-3)
    assert (west["stations"], east["stations"]) == (1, 0)


def test_radius_scales_the_area(square):
    e = engine(square, [(-5000, 0)])
    for r in coverage.RADII_M:
        assert e.figures(r).province["covered_km2"] == pytest.approx(circle_km2(r), rel=1e-3)


def test_a_circle_is_clipped_at_the_district_edge(square):
    """A station at the outer corner covers a quarter circle."""
    figures = engine(square, [(-HALF_M + 1e-3, -HALF_M + 1e-3)]).figures(2000)
    assert figures.province["covered_km2"] == pytest.approx(circle_km2(2000) / 4, rel=2e-3)


def test_only_active_stations_count(square):
    rooms = sites([(-5000, 0)], kind="mother_room")
    closed = sites([(5000, 0)], status="temporarily_closed")
    removed = sites([(5000, 5000)], status="removed")
    e = coverage.CoverageEngine(pd.concat([rooms, closed, removed], ignore_index=True),
                                square, population=POPULATION)
    figures = e.figures(1000)
    assert figures.province["stations"] == 0
    assert figures.province["covered_km2"] == 0 and figures.province["share_demand"] == 0
    assert np.isinf(e.distance_m()).all()
    assert e.suggest(1000, n=2)["demand_added"].gt(0).all()


def test_no_sites_at_all(square):
    e = coverage.CoverageEngine(sites([]), square, population=POPULATION)
    f = e.figures(500)
    assert f.province["covered_km2"] == 0 and f.province["stations_per_10k"] == 0
    assert e.gaps(500)["share_uncovered"].eq(1).all()


@pytest.mark.parametrize("bad", [0, 99, 5001, -1000, 1000.5, "1000", None, True, float("nan")])
def test_bad_radius_is_refused(bad):
    with pytest.raises(BadRequest):
        coverage.check_radius(bad)


def test_unknown_district_is_refused(square):
    with pytest.raises(BadRequest):
        engine(square, []).figures(1000).summary("130100")
    with pytest.raises(BadRequest):
        engine(square, []).suggest(1000, district="130100")


# --------------------------------------------------------------------------------------
# Demand on the H3 grid


def test_grid_spreads_the_population_evenly(square):
    grid = coverage.demand_grid(square, POPULATION)
    assert grid.population.sum() == pytest.approx(100_000)
    assert np.ptp(grid.population) == 0
    assert len(np.unique(grid.cell)) == len(grid)
    # every cell centre is in the county it is assigned to
    inside = shapely.contains_xy(square.counties.geometry.to_numpy()[grid.county],
                                 grid.lon, grid.lat)
    assert inside.all()
    # about 400 km² of res-8 cells of ~0.53 km² each
    assert grid.area_km2.sum() == pytest.approx(400, rel=0.02)
    assert coverage.demand_grid(square, POPULATION) is grid  # cached


def brute_nearest(lon, lat, slon, slat):
    """The slow obvious oracle: every point against every station with Geod.inv."""
    out = np.full(len(lon), np.inf)
    for i in range(len(lon)):
        if len(slon):
            out[i] = GEOD.inv(np.full(len(slon), lon[i]), np.full(len(slat), lat[i]),
                              slon, slat)[2].min()
    return out


def test_demand_share_against_the_slow_oracle(square):
    rng = np.random.default_rng(7)
    points = rng.uniform(-HALF_M, HALF_M, size=(40, 2))
    e = engine(square, points)
    grid = e.grid
    oracle = brute_nearest(grid.lon, grid.lat, e.lon, e.lat)
    np.testing.assert_allclose(e.distance_m(), oracle, rtol=0, atol=1e-6)
    for r in coverage.RADII_M:
        expected = grid.population[oracle <= r].sum() / grid.population.sum()
        assert e.figures(r).province["share_demand"] == pytest.approx(expected, abs=1e-12)
        np.testing.assert_array_equal(e.covered(r), oracle <= r)
    # with uniform density, the demand share estimates the area share (sampling noise only)
    f = e.figures(2000).province
    assert f["share_demand"] == pytest.approx(f["share_area"], abs=0.03)


lon_st = st.floats(114.85, 115.15, allow_nan=False)
lat_st = st.floats(37.88, 38.12, allow_nan=False)
QUERY = np.column_stack([np.linspace(114.8, 115.2, 60), np.linspace(37.85, 38.15, 60)])


@given(stations=st.lists(st.tuples(lon_st, lat_st), max_size=25),
       radius=st.sampled_from([100, 500, 1000, 2000, 5000]))
@example(stations=[], radius=1000)
@example(stations=[(float(QUERY[3, 0]), float(QUERY[3, 1]))], radius=100)  # on a point
@example(stations=[(115.0, 38.0), (115.0, 38.0)], radius=500)  # duplicates
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_nearest_and_covered_match_brute_force(stations, radius):
    slon = np.array([s[0] for s in stations], dtype=float)
    slat = np.array([s[1] for s in stations], dtype=float)
    oracle = brute_nearest(QUERY[:, 0], QUERY[:, 1], slon, slat)
    dist, pos = coverage.nearest_station_m(QUERY[:, 0], QUERY[:, 1], slon, slat)
    np.testing.assert_allclose(dist, oracle, rtol=0, atol=1e-6)
    if len(slon):
        again = GEOD.inv(QUERY[:, 0], QUERY[:, 1], slon[pos], slat[pos])[2]
        np.testing.assert_allclose(again, oracle, rtol=0, atol=1e-6)
    mask = coverage.covered_mask(QUERY[:, 0], QUERY[:, 1], slon, slat, radius)
    np.testing.assert_array_equal(mask, oracle <= radius)


def test_points_outside_the_safe_box_fall_back_to_brute_force():
    lon, lat = np.array([100.0, 115.0]), np.array([30.0, 38.0])
    slon, slat = np.array([115.01, 101.0]), np.array([38.0, 30.0])
    dist, _ = coverage.nearest_station_m(lon, lat, slon, slat)
    np.testing.assert_allclose(dist, brute_nearest(lon, lat, slon, slat), atol=1e-6)


# --------------------------------------------------------------------------------------
# Greedy suggestions and gaps


def test_greedy_on_an_obvious_case():
    """A heavy cluster and a light one 10 km apart: one site each, heavy first."""
    heavy = [(0.0, 0.0), (200.0, 0.0), (0.0, 200.0), (-200.0, -100.0), (150.0, 150.0)]
    light = [(10_000.0, 0.0), (10_100.0, 0.0)]
    xy = np.array(heavy + light)
    weight = np.array([10.0] * 5 + [1.0] * 2)
    picks, gains, counts = coverage.greedy_sites(
        xy[:, 0], xy[:, 1], np.ones(len(xy)), weight, np.arange(len(xy)), 1000, 5)
    assert list(gains) == [50.0, 2.0]  # then nothing is left to cover
    assert picks[0] in range(5) and picks[1] in (5, 6)
    assert list(counts) == [5, 2]


def test_greedy_prefers_the_site_that_covers_two_clusters():
    """Two clusters 1.6 km apart: a site midway covers both; a site in either covers one."""
    xy = np.array([(0.0, 0.0), (1600.0, 0.0), (800.0, 0.0)])
    weight = np.array([5.0, 5.0, 0.0])
    picks, gains, _ = coverage.greedy_sites(xy[:, 0], xy[:, 1], np.ones(3), weight,
                                            np.arange(3), 1000, 3)
    assert list(picks) == [2] and list(gains) == [10.0]


def test_greedy_ties_go_to_the_smaller_tiebreak():
    xy = np.array([(0.0, 0.0), (5000.0, 0.0), (10_000.0, 0.0)])
    picks, _, _ = coverage.greedy_sites(xy[:, 0], xy[:, 1], np.ones(3), np.ones(3),
                                        np.arange(3), 1000, 3,
                                        tiebreak=np.array([3.0, 1.0, 2.0]))
    assert list(picks) == [1, 2, 0]


def naive_greedy(lon, lat, weight, candidates, radius_m, n):
    """Plain greedy with geodesic distances: recompute every gain at every step."""
    weight = weight.copy()
    cover = {c: np.flatnonzero(GEOD.inv(np.full(len(lon), lon[c]), np.full(len(lat), lat[c]),
                                        lon, lat)[2] <= radius_m) for c in candidates}
    picks, gains = [], []
    for _ in range(n):
        best = max(candidates, key=lambda c: (weight[cover[c]].sum(), -c))
        gain = weight[cover[best]].sum()
        if gain <= 0:
            break
        picks.append(best)
        gains.append(gain)
        weight[cover[best]] = 0
    return picks, gains


def test_greedy_matches_plain_greedy_with_geodesic_distances():
    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.normal(0, 2500, 300), rng.normal(0, 2500, 300)])
    lon, lat = np.array([lonlat(dx, dy) for dx, dy in xy]).T
    x, y = TO_METRIC.transform(lon, lat)
    weight = rng.integers(1, 4, 300).astype(float) * 10  # integers: exact sums, clean ties
    weight[:20] = 0
    candidates = np.arange(20, 300)
    picks, gains, _ = coverage.greedy_sites(x, y, coverage.scale_factor(lon, lat), weight,
                                            candidates, 1000, 8)
    expect_picks, expect_gains = naive_greedy(lon, lat, weight, candidates, 1000, 8)
    assert list(picks) == expect_picks
    np.testing.assert_allclose(gains, expect_gains)


def test_suggestions_fill_the_gaps_they_report(square):
    e = engine(square, [(-5000, 0)])
    before = e.figures(1000).province["share_demand"]
    s = e.suggest(1000, n=3)
    assert len(s) == 3 and (s["demand_added"].diff().dropna() <= 1e-9).all()
    assert s["share_demand_after"].is_monotonic_increasing
    added = s["demand_added"].sum() / e.grid.population.sum()
    assert s["share_demand_after"].iloc[-1] == pytest.approx(before + added)
    # after building them, the coverage engine agrees with what was promised
    lons, lats = s["lon"].to_numpy(), s["lat"].to_numpy()
    more = pd.concat([sites([(-5000, 0)]), pd.DataFrame({
        "id": [f"S{i}" for i in range(3)], "kind": "station", "status": "active",
        "lon": lons, "lat": lats, "county_code": "990101", "district_code": "990100",
        "synthetic": False})], ignore_index=True)
    after = coverage.CoverageEngine(more, square, population=POPULATION).figures(1000)
    assert after.province["share_demand"] == pytest.approx(s["share_demand_after"].iloc[-1])


def test_gaps_are_ranked_by_unmet_demand(square):
    e = engine(square, [(-5000, 0), (5000, 5000)])
    gaps = e.gaps(1000, n=50)
    assert list(gaps["rank"]) == list(range(1, len(gaps) + 1))
    assert gaps["unmet_demand"].is_monotonic_decreasing
    unmet = (e.grid.population * ~e.covered(1000)).sum()
    assert gaps["unmet_demand"].sum() == pytest.approx(unmet)  # every gap is listed
    assert ((gaps["share_uncovered"] > 0) & (gaps["share_uncovered"] <= 1)).all()
    oracle = brute_nearest(gaps["lon"].to_numpy(), gaps["lat"].to_numpy(), e.lon, e.lat)
    np.testing.assert_allclose(gaps["nearest_station_m"], oracle, atol=1e-6)


def test_planar_order_is_not_trusted():
    """East of the point a station is 60,000 m away in UTM, west 60,010 m; on the ellipsoid
    the western one is nearer (scale grows westward of 117 E). Pinned regression case for
    the candidate margin in nearest_station_m."""
    east, west = (115.6831487990832, 38.009636557557954), (114.31713020312728, 37.98639781296091)
    dist, pos = coverage.nearest_station_m([115.0], [38.0], [east[0], west[0]],
                                           [east[1], west[1]])
    assert pos[0] == 1
    assert dist[0] == pytest.approx(GEOD.inv(115.0, 38.0, *west)[2], abs=1e-6)


def test_grid_cells_are_kept_on_disk(square, tmp_path):
    fresh = h3cache.grid_cells(square, 8, tmp_path)
    files = list(tmp_path.glob("h3grid-*.npz"))
    assert len(files) == 1
    again = h3cache.grid_cells(square, 8, tmp_path)
    for k in ("cell", "county", "lon", "lat"):
        np.testing.assert_array_equal(fresh[k], again[k])
    files[0].write_bytes(b"not a zip")  # damaged: rebuilt, not trusted
    np.testing.assert_array_equal(h3cache.grid_cells(square, 8, tmp_path)["cell"],
                                  fresh["cell"])
    assert h3cache.grid_cells(square, 7, tmp_path)["cell"].size < fresh["cell"].size


def test_an_uploaded_population_grid_replaces_the_proxy(square):
    import h3

    e = engine(square, [(-5000, 0)])
    near, far = lonlat(-5000, 100), lonlat(8000, 8000)
    table = pd.DataFrame({"lon": [near[0], far[0], 100.0], "lat": [near[1], far[1], 30.0],
                          "weight": ["300", "100", "50"]})
    grid, dropped = coverage.with_population_table(e.grid, table)
    assert dropped == 50 and grid.population.sum() == 400 and not grid.coarse_proxy
    assert len(grid) == len(e.grid) and grid.population is not e.grid.population
    uploaded = coverage.CoverageEngine(e.sites, square, demand=grid)
    assert uploaded.figures(1000).province["share_demand"] == pytest.approx(0.75)
    demand = uploaded.report(1000)["demand"]
    assert demand["coarse_proxy"] is False and demand["source"] == "uploaded-grid"
    # H3 cells: a finer one counts in its parent, a coarser one is spread over its children
    cell = h3.latlng_to_cell(near[1], near[0], 8)
    fine, coarse = h3.cell_to_children(cell, 10)[0], h3.cell_to_parent(cell, 6)
    grid, dropped = coverage.with_population_table(
        e.grid, pd.DataFrame({"h3": [fine, coarse], "weight": [10, 70]}))
    assert grid.population.sum() + dropped == pytest.approx(80)
    here = int(np.flatnonzero(e.grid.cell == h3.str_to_int(cell))[0])
    assert grid.population[here] == pytest.approx(10 + 70 / 49)


@pytest.mark.parametrize("table", [
    {"lon": [115.0], "lat": [38.0]},                              # no weight
    {"lon": [115.0], "lat": [38.0], "weight": ["-1"]},
    {"lon": [115.0], "lat": [38.0], "weight": ["nan"]},
    {"lon": ["x"], "lat": [38.0], "weight": ["1"]},
    {"lon": [115.0], "lat": [95.0], "weight": ["1"]},
    {"h3": ["not-a-cell"], "weight": ["1"]},
    {"cell": ["8831aa5e5bfffff"], "weight": ["1"]},               # neither h3 nor lon/lat
])
def test_bad_population_tables_are_refused(square, table):
    with pytest.raises(BadRequest):
        coverage.with_population_table(engine(square, []).grid, pd.DataFrame(table))
