"""The coverage page's core (map layers, download cache) on the hand-made square district."""

from __future__ import annotations

import json
import threading

import h3.api.numpy_int as h3n
import numpy as np
import openpyxl
import pytest
import shapely
from pyproj import Geod

from locator.coverage import engine as coverage
from locator.coverage import page as coverage_page
from locator.exports import downloads
from locator.geo import datum
from tests.unit.test_coverage import POPULATION, square  # noqa: F401 (fixture)
from tests.unit.test_exports import XSS, hostile_sites

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def engine(square):  # noqa: F811
    return coverage.CoverageEngine(hostile_sites(), square, population=POPULATION, version=3)


def brute_classes(engine, lon, lat):
    s = engine.stations
    d = np.array([GEOD.inv(np.full(len(s), x), np.full(len(s), y), s["lon"], s["lat"])[2].min()
                  for x, y in zip(lon, lat, strict=True)])
    return coverage_page.distance_classes(d)


@pytest.mark.parametrize(("distance", "expected"), [
    (0.0, 0), (499.99, 0), (500.0, 0), (500.01, 1), (1000.0, 1), (1999.9, 2), (2000.0, 2),
    (2000.5, 3), (np.inf, 3)])
def test_distance_classes_include_their_upper_bound(distance, expected):
    assert coverage_page.distance_classes(np.array([distance])).tolist() == [expected]


def test_district_grid_classes_against_brute_force(engine):
    layers = coverage_page.map_layers(engine, 1000, "990100")
    g = engine.grid
    expected = np.bincount(brute_classes(engine, g.lon, g.lat), minlength=4)
    got = np.zeros(4, dtype=int)
    for f in layers["grid"]["features"]:
        got[f["properties"]["c"]] = f["properties"]["cells"]
        # the dissolved outline covers exactly its cells' hexagons
        mine = [c for c, k in zip(g.cell, coverage_page.distance_classes(engine.distance_m()),
                                  strict=True) if k == f["properties"]["c"]]
        hexes = shapely.union_all([shapely.Polygon(np.asarray(h3n.cell_to_boundary(c))[:, ::-1])
                                   for c in mine])
        drawn = shapely.geometry.shape(f["geometry"])
        assert drawn.area == pytest.approx(hexes.area, rel=0.01)
        # (rounding to 1e-4 degrees moves each edge by up to ~8 m)
        assert shapely.symmetric_difference(drawn, hexes).area < 0.03 * hexes.area
    assert got.tolist() == expected.tolist()
    assert layers["grid_resolution"] == 8


def test_province_grid_is_sampled_at_coarser_cells(engine):
    layers = coverage_page.map_layers(engine, 1000, None)
    assert layers["grid_resolution"] == coverage_page.PROVINCE_GRID_RESOLUTION
    cells = sum(f["properties"]["cells"] for f in layers["grid"]["features"])
    parents = np.unique(engine.grid.parents(7))
    assert 0 < cells <= len(parents)
    # each coarse cell is classed by the distance at its centre
    centres = np.array([h3n.cell_to_latlng(int(p)) for p in parents])
    present = np.isin([h3n.cell_to_center_child(int(p), 8) for p in parents], engine.grid.cell)
    expected = np.bincount(brute_classes(engine, centres[present, 1], centres[present, 0]),
                           minlength=4)
    got = np.zeros(4, dtype=int)
    for f in layers["grid"]["features"]:
        got[f["properties"]["c"]] = f["properties"]["cells"]
    assert got.tolist() == expected.tolist()


def test_layers_hold_the_area_and_stations(engine):
    layers = coverage_page.map_layers(engine, 1000, "990100")
    assert [f["properties"]["name"] for f in layers["counties"]["features"]] == ["西区", "东区"]
    assert len(layers["stations"]) == 6  # active stations; the mother room is not one
    assert XSS in {row[3] for row in layers["stations"]}
    covered = shapely.geometry.shape(layers["covered"])
    figures = engine.figures(1000).summary("990100")
    # the drawn covered area, simplified and rounded, is the engine's within a few per cent
    area_km2 = abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(covered))[0]) / 1e6
    assert area_km2 == pytest.approx(figures["covered_km2"], rel=0.03)
    w, s, e, n = layers["bounds"]
    assert w < 115.0 < e and s < 38.0 < n


def test_gcj02_basemap_shifts_every_coordinate(engine):
    plain = coverage_page.map_layers(engine, 1000, "990100")
    shifted = coverage_page.map_layers(engine, 1000, "990100", display_datum="gcj02")
    assert shifted["datum"] == "gcj02"
    lon, lat = np.array([r[0] for r in plain["stations"]]), np.array(
        [r[1] for r in plain["stations"]])
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    assert np.allclose([r[0] for r in shifted["stations"]], glon, atol=2e-5)
    assert np.allclose([r[1] for r in shifted["stations"]], glat, atol=2e-5)
    a = shapely.geometry.shape(plain["counties"]["features"][0]["geometry"]).centroid
    b = shapely.geometry.shape(shifted["counties"]["features"][0]["geometry"]).centroid
    gx, gy = datum.wgs84_to_gcj02(a.x, a.y)
    assert (b.x, b.y) == pytest.approx((gx, gy), abs=2e-4)
    assert (b.x - a.x) > 1e-3  # a real shift (hundreds of metres), not a no-op


def test_suggestions_are_the_engine_picks(engine):
    body = coverage_page.suggestion_rows(engine, 1000, "990100", n=3)
    picks = engine.suggest(1000, "990100", 3)
    assert [s["rank"] for s in body["suggestions"]] == [1, 2, 3]
    assert [s["demand_added"] for s in body["suggestions"]] == [round(v) for v in
                                                               picks["demand_added"]]
    assert body["coarse_proxy"] is True and body["version"] == 3


def test_payloads_are_made_once_and_escape_html(engine):
    cache = coverage_page.MapPayloads(size=2)
    first = cache.get(engine, 1000, "990100")
    assert cache.get(engine, 1000, "990100") is first
    assert b"<img" not in first.body and json.loads(first.body)["version"] == 3
    cache.get(engine, 2000, "990100")
    cache.get(engine, 500, "990100")
    assert cache.get(engine, 1000, "990100") is not first  # dropped: only two are kept


def test_demand_key_follows_the_population(engine, square):  # noqa: F811
    other = coverage.CoverageEngine(hostile_sites(), square, population={"990100": 5})
    assert coverage_page.demand_key(engine.grid) != coverage_page.demand_key(other.grid)
    assert coverage_page.demand_key(engine.grid) == coverage_page.demand_key(engine.grid)


# --------------------------------------------------------------------------------------
# The download cache


def test_concurrent_writers_leave_one_complete_file(engine, tmp_path):
    """Two workers (two caches: no shared lock) write the same file at once."""
    caches = [downloads.DownloadCache(tmp_path), downloads.DownloadCache(tmp_path)]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def fetch(cache):
        try:
            barrier.wait()
            d = cache.coverage(engine, "xlsx", radius_m=1000, district="990100")
            with d.file:
                results.append(d.file.read())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=fetch, args=(c,)) for c in caches * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == [
        f"coverage-v3-{coverage_page.demand_key(engine.grid)}-990100-1000.xlsx"]
    for i, data in enumerate(results):
        path = tmp_path.parent / f"read-{i}.xlsx"
        path.write_bytes(data)
        wb = openpyxl.load_workbook(path, read_only=True)
        assert "区县" in wb.sheetnames
        wb.close()


def test_older_versions_are_pruned_newer_ones_kept(engine, square, tmp_path):  # noqa: F811
    cache = downloads.DownloadCache(tmp_path)
    newer = coverage.CoverageEngine(hostile_sites(), square, population=POPULATION, version=4)
    older = coverage.CoverageEngine(hostile_sites(), square, population=POPULATION, version=2)
    cache.coverage(engine, "csv", district="990100").file.close()
    cache.stations(engine.sites, 3, "csv", regions=square).file.close()
    cache.coverage(newer, "csv", district="990100").file.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n.split("-")[1] for n in names] == ["v4", "v3"]  # coverage v3 gone, stations kept
    cache.coverage(older, "csv", district="990100").file.close()  # a slower worker
    assert any(n.startswith("coverage-v4-") for n in (p.name for p in tmp_path.iterdir()))


@pytest.mark.parametrize(("call", "status"), [
    (lambda c, e: c.coverage(e, "docx", district="990100"), 400),
    (lambda c, e: c.coverage(e, "csv", district="130100"), 400),
    (lambda c, e: c.coverage(e, "csv", radius_m=50, district="990100"), 400),
    (lambda c, e: c.stations(e.sites, 3, "pdf", regions=e.regions), 400),
])
def test_bad_requests_name_no_file(engine, tmp_path, call, status):
    with pytest.raises(Exception) as info:
        call(downloads.DownloadCache(tmp_path), engine)
    assert getattr(info.value, "status", None) == status
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_names_come_from_validated_values(engine, tmp_path):
    d = downloads.DownloadCache(tmp_path).coverage(engine, "geojson", district="990100")
    d.file.close()
    assert d.name == "测试市-驿站覆盖-1000米.geojson"
    assert d.ascii_name == "coverage-990100-1000m.geojson"
    assert d.mimetype == "application/geo+json" and d.size > 0


def test_the_page_core_never_imports_flask():
    from pathlib import Path

    from tests.unit.test_architecture import imported_modules

    for module in (coverage_page, downloads):
        name = Path(module.__file__).name
        bad = {m for m in imported_modules(Path(module.__file__))
               if m.split(".")[0] in {"flask", "werkzeug", "flask_login"}
               or m.startswith("locator.web")}
        assert not bad, (name, bad)
