"""What the managers' coverage page shows: its tables and its map layers, compactly.

No Flask here: :mod:`locator.coverage.web` parses the request, calls
:func:`coverage_view` (the figures, for the HTML), :meth:`MapPayloads.get` (the map's
layers as one JSON document) or :func:`suggestion_rows` (the suggested sites, fetched
last because they are the slowest to compute) and renders.

The map payload is small on purpose: the distance-to-nearest grid is sent as one
dissolved (multi)polygon per distance class rather than one hexagon per cell, with
coordinates rounded to 1e-4 degrees (about 10 m; an H3 resolution-8 edge is about 460 m),
county outlines are simplified as a coverage (neighbours keep sharing their edges), and
stations are plain ``[lon, lat, id, name]`` rows. For the province the grid is drawn with
H3 resolution-7 cells (about 5 km²) classed by the distance at their centre, which is the
centre of one of the engine's resolution-8 cells (the same distances, sampled one in
seven): 350,000 hexagons would not draw in a browser. Every coordinate is WGS-84
(EPSG:4326) unless the basemap is GCJ-02, in which case the payload is shifted into it
(DESIGN.md §3); lengths are geodesic metres.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import h3.api.numpy_int as h3n
import numpy as np
import shapely

from locator.coverage.engine import DEFAULT_RADIUS_M, CoverageEngine, DemandGrid
from locator.coverage.geodesy import TO_METRIC
from locator.geo import datum as datums
from locator.geo.index import METRIC_CRS
from locator.jsonio import dumps

__all__ = [
    "DISTANCE_CLASSES_M", "PROVINCE_GRID_RESOLUTION", "CoverageView", "MapPayload",
    "MapPayloads", "coverage_view", "demand_key", "distance_classes", "map_layers",
    "suggestion_rows",
]

#: Upper bounds of the distance classes of the grid, geodesic metres; a fourth class
#: holds the cells farther than the last one (or with no active station at all).
DISTANCE_CLASSES_M = (500, 1000, 2000)
#: H3 resolution at which the province's grid is drawn (districts use the engine's own).
PROVINCE_GRID_RESOLUTION = 7
#: Simplification tolerances (EPSG:32650 metres) of the drawn county and district outlines
#: and of the covered areas: about a pixel or less at the zoom that shows the whole area.
_OUTLINE_TOLERANCE_M = {"district": 100.0, "province": 600.0}
_COVERED_TOLERANCE_M = {"district": 25.0, "province": 250.0}
_POLYGON_DIGITS = 4  # ~10 m
_POINT_DIGITS = 5  # ~1 m


# --------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class CoverageView:
    """The figures of one area at one radius, ready for a template.

    Attributes
    ----------
    report : dict
        :meth:`CoverageEngine.report` of the area (headline figures; ``counties`` and,
        for the province, ``districts``: rows with ``stations``, ``population``,
        ``stations_per_10k``, ``area_km2``, ``covered_km2``, ``share_area``,
        ``population_covered``, ``share_demand``; ratios are None when undefined).
    coarse_proxy : bool
        True when the population is the census proxy (label it "粗略估算").
    demand_note : str
        What the population figures are.
    """

    report: dict
    coarse_proxy: bool
    demand_note: str
    radius_m: int
    district: str | None
    version: int
    synthetic: bool


def coverage_view(engine: CoverageEngine, radius_m: int = DEFAULT_RADIUS_M,
                  district: str | None = None) -> CoverageView:
    """Figures of the province (``district`` None) or one district at ``radius_m``.

    The suggested sites are not part of it: at 2 km for the province the greedy search
    costs about ten seconds of CPU the first time, so the page fetches them
    (:func:`suggestion_rows`) after it has drawn.

    Parameters
    ----------
    engine : CoverageEngine
        The coverage engine of the current data and demand.
    radius_m : int
        Service radius, geodesic metres.
    district : str, optional
        Union district code; the province when None.

    Returns
    -------
    CoverageView

    Raises
    ------
    locator.errors.BadRequest
        For a radius or district the engine does not know.
    """
    report = engine.report(radius_m, district)
    grid = engine.grid
    return CoverageView(report=report, coarse_proxy=grid.coarse_proxy, demand_note=grid.note,
                        radius_m=int(radius_m), district=district, version=engine.version,
                        synthetic=engine.synthetic)


def suggestion_rows(engine: CoverageEngine, radius_m: int = DEFAULT_RADIUS_M,
                    district: str | None = None, *, n: int = 10,
                    display_datum: str = "wgs84") -> dict:
    """Suggested new sites of an area (greedy maximal coverage, :meth:`CoverageEngine.suggest`).

    Parameters
    ----------
    engine : CoverageEngine
        The coverage engine of the current data and demand.
    radius_m : int
        Service radius, geodesic metres.
    district : str, optional
        Union district code; the province when None.
    n : int
        How many sites.
    display_datum : {"wgs84", "gcj02"}
        Datum of the basemap (for ``map_lon``/``map_lat``).

    Returns
    -------
    dict
        ``suggestions``: rows, best first, with ``rank``, ``lon``, ``lat`` (WGS-84),
        ``map_lon``, ``map_lat`` (the same in ``display_datum``, for drawing),
        ``county_name``, ``district_name``, ``demand_added`` (persons, whole) and
        ``share_demand_after`` (0..1, None when undefined); and ``coarse_proxy``,
        ``radius_m``, ``district_code``, ``version``.
    """
    picks = engine.suggest(radius_m, district, n)
    lon = picks["lon"].to_numpy(dtype=np.float64)
    lat = picks["lat"].to_numpy(dtype=np.float64)
    map_lon, map_lat = _points(lon, lat, display_datum)
    rows = []
    for i, r in enumerate(picks.to_dict("records")):
        share = float(r["share_demand_after"])
        rows.append({
            "rank": int(r["rank"]), "lon": round(float(r["lon"]), _POINT_DIGITS),
            "lat": round(float(r["lat"]), _POINT_DIGITS), "map_lon": map_lon[i],
            "map_lat": map_lat[i], "county_name": str(r["county_name"]),
            "district_name": str(r["district_name"]),
            "demand_added": int(round(float(r["demand_added"]))),
            "share_demand_after": round(share, 4) if np.isfinite(share) else None,
        })
    return {"suggestions": rows, "coarse_proxy": bool(engine.grid.coarse_proxy),
            "radius_m": int(radius_m), "district_code": district, "version": engine.version}


# --------------------------------------------------------------------------------------
# Map layers

_DEMAND_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DEMAND_LOCK = threading.Lock()


def demand_key(grid: DemandGrid) -> str:
    """A short fingerprint of a demand grid's population (cells and weights).

    Two engines of the same data version can carry different demand (the census proxy,
    an uploaded grid): anything cached from one must not be served for the other.

    Parameters
    ----------
    grid : DemandGrid

    Returns
    -------
    str
        12 hex digits of a SHA-256 over the source, the cells and their weights; computed
        once per grid object.
    """
    with _DEMAND_LOCK:
        key = _DEMAND_KEYS.get(grid)
        if key is None:
            digest = hashlib.sha256(grid.source.encode())
            digest.update(np.ascontiguousarray(grid.cell).tobytes())
            digest.update(np.ascontiguousarray(grid.population, dtype=np.float64).tobytes())
            key = digest.hexdigest()[:12]
            _DEMAND_KEYS[grid] = key
        return key


def distance_classes(distance_m: np.ndarray) -> np.ndarray:
    """Class of each distance: 0 for ≤ 500 m, 1 for ≤ 1 km, 2 for ≤ 2 km, 3 beyond (or
    no station; ``inf``). Bounds are inclusive, as the engine's coverage is.

    Parameters
    ----------
    distance_m : numpy.ndarray
        Geodesic metres.

    Returns
    -------
    numpy.ndarray of int
        0..3 per distance (see :data:`DISTANCE_CLASSES_M`).

    Examples
    --------
    >>> distance_classes(np.array([0.0, 500.0, 500.1, 2000.0, np.inf])).tolist()
    [0, 0, 1, 2, 3]
    """
    return np.searchsorted(np.asarray(DISTANCE_CLASSES_M, dtype=np.float64),
                           np.asarray(distance_m, dtype=np.float64), side="left")


def _grid_cells(engine: CoverageEngine, district: str | None):
    """(H3 cells to draw, their distance class, their resolution) for an area."""
    g = engine.grid
    if district is not None:
        pos = g.select(district)
        return g.cell[pos], distance_classes(engine.distance_m(pos)), g.resolution
    res = min(PROVINCE_GRID_RESOLUTION, g.resolution)
    parents = np.unique(g.parents(res))
    centres = np.fromiter((h3n.cell_to_center_child(int(p), g.resolution) for p in parents),
                          dtype=np.uint64, count=len(parents))
    order = np.argsort(g.cell)
    i = np.clip(np.searchsorted(g.cell, centres, sorter=order), 0, max(len(order) - 1, 0))
    found = g.cell[order[i]] == centres if len(order) else np.zeros(0, dtype=bool)
    distance = engine.distance_m()[order[i[found]]]
    return parents[found], distance_classes(distance), res


def _to_display(geom, display_datum: str, digits: int):
    """A WGS-84 geometry shifted into the basemap's datum and rounded."""
    def shift(xy):
        if display_datum != "wgs84" and len(xy):
            x, y = datums.from_wgs84(xy[:, 0], xy[:, 1], display_datum)
            xy = np.column_stack([x, y])
        return np.round(xy, digits)

    return shapely.transform(geom, shift)


def _geometry_json(geom, display_datum: str, digits: int = _POLYGON_DIGITS) -> dict | None:
    import json

    if geom is None or geom.is_empty:
        return None
    return json.loads(shapely.to_geojson(_to_display(geom, display_datum, digits)))


def _points(lon, lat, display_datum: str) -> tuple[list[float], list[float]]:
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if display_datum != "wgs84" and len(lon):
        lon, lat = datums.from_wgs84(lon, lat, display_datum)
    return (np.round(lon, _POINT_DIGITS).tolist(), np.round(lat, _POINT_DIGITS).tolist())


def _metric(geoms: np.ndarray) -> np.ndarray:
    import geopandas as gpd

    return gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(METRIC_CRS).to_numpy()


def _wgs84(geoms: np.ndarray) -> np.ndarray:
    import geopandas as gpd

    return gpd.GeoSeries(geoms, crs=METRIC_CRS).to_crs("EPSG:4326").to_numpy()


def map_layers(engine: CoverageEngine, radius_m: int = DEFAULT_RADIUS_M,
               district: str | None = None, *, display_datum: str = "wgs84") -> dict:
    """The coverage page's map layers of one area at one radius, as JSON-ready data.

    Parameters
    ----------
    engine : CoverageEngine
        The coverage engine of the current data version.
    radius_m : int
        Service radius, geodesic metres.
    district : str, optional
        Union district code; the province when None.
    display_datum : {"wgs84", "gcj02"}
        Datum of the basemap: every coordinate is shifted into it.

    Returns
    -------
    dict
        ``bounds`` ``[west, south, east, north]`` of the area; ``counties`` and
        ``districts`` (FeatureCollections of outlines with ``name``); ``grid`` (one
        feature per distance class ``c`` 0..3, see :func:`distance_classes`, dissolved
        H3 cells of ``grid_resolution``); ``covered`` (the area's part within
        ``radius_m`` of an active station, a geometry or None); ``stations`` (rows
        ``[lon, lat, id, name]``: the area's active stations and those outside whose
        service area reaches in); ``classes_m``, ``radius_m``, ``datum``,
        ``version`` and ``synthetic``.
    """
    engine.check_district(district)
    figures = engine.figures(radius_m)
    level = "province" if district is None else "district"
    rows = figures.county_rows(district)
    counties = engine.regions.counties.loc[rows.index]
    county_metric = _metric(counties.geometry.to_numpy())
    districts = engine.regions.districts
    if district is not None:
        districts = districts[districts["code"] == district]
    cells, classes, resolution = _grid_cells(engine, district)
    # simplified per county, then merged: 3x cheaper than simplifying the merged shape
    covered = shapely.union_all(shapely.simplify(figures.covered.loc[rows.index].to_numpy(),
                                                 _COVERED_TOLERANCE_M[level]))
    covered = _wgs84(np.array([covered], dtype=object))[0]
    w, s, e, n = shapely.total_bounds(counties.geometry.to_numpy())
    (w, e), (s, n) = _points([w, e], [s, n], display_datum)
    return {
        "bounds": [w, s, e, n], "radius_m": int(radius_m), "classes_m": list(DISTANCE_CLASSES_M),
        "grid_resolution": int(resolution), "datum": display_datum,
        "counties": _outlines(counties["name"], county_metric, level, display_datum),
        "districts": _outlines(districts["name"], _metric(districts.geometry.to_numpy()),
                               level, display_datum),
        "grid": _grid_collection(cells, classes, display_datum),
        "covered": _geometry_json(covered, display_datum),
        "stations": _station_rows(engine, district, county_metric, radius_m, display_datum),
        "version": engine.version, "synthetic": engine.synthetic,
    }


def _outlines(names, metric: np.ndarray, level: str, display_datum: str) -> dict:
    """Outlines (EPSG:32650 in) simplified as a coverage, as a FeatureCollection."""
    outlines = _wgs84(shapely.coverage_simplify(metric, _OUTLINE_TOLERANCE_M[level]))
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": str(name)},
         "geometry": _geometry_json(geom, display_datum)}
        for name, geom in zip(names, outlines, strict=True)]}


def _grid_collection(cells: np.ndarray, classes: np.ndarray, display_datum: str) -> dict:
    """One feature per distance class: its H3 cells dissolved."""
    grid = []
    for c in range(len(DISTANCE_CLASSES_M) + 1):
        mine = cells[classes == c]
        if len(mine) == 0:
            continue
        shape = shapely.geometry.shape(h3n.cells_to_h3shape(mine).__geo_interface__)
        grid.append({"type": "Feature", "properties": {"c": c, "cells": int(len(mine))},
                     "geometry": _geometry_json(shape, display_datum)})
    return {"type": "FeatureCollection", "features": grid}


def _station_rows(engine: CoverageEngine, district: str | None, county_metric: np.ndarray,
                  radius_m: int, display_datum: str) -> list[list]:
    """``[lon, lat, id, name]`` of the area's active stations and of those outside it
    whose service area reaches in."""
    stations = engine.stations
    if district is not None and len(stations):
        area = shapely.union_all(county_metric)
        x, y = TO_METRIC.transform(stations["lon"].to_numpy(), stations["lat"].to_numpy())
        near = shapely.dwithin(area, shapely.points(x, y), radius_m * 1.01)
        stations = stations[(stations["district_code"] == district).to_numpy() | near]
    slon, slat = _points(stations["lon"], stations["lat"], display_datum)
    return [[a, b, str(i), str(n)] for a, b, i, n in
            zip(slon, slat, stations["id"], stations["name"], strict=True)]


@dataclass(frozen=True)
class MapPayload:
    """One serialised map payload: JSON safe inside HTML too (``<``, ``>``, ``&``
    escaped), its gzip and an ETag."""

    body: bytes
    gzipped: bytes
    etag: str


class MapPayloads:
    """The map payloads a worker served lately, serialised and gzipped once.

    Keyed by data version, demand fingerprint, area, radius and datum; the oldest is
    dropped beyond ``size`` entries. Safe to share between threads; two threads asking
    for the same payload compute it once.
    """

    def __init__(self, size: int = 12):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict = {}

    def stamp(self, engine: CoverageEngine) -> str:
        """What a payload's URL carries so that browsers may cache it for good.

        Parameters
        ----------
        engine : CoverageEngine

        Returns
        -------
        str
            ``<data version>-<demand_key>``.
        """
        return f"{engine.version}-{demand_key(engine.grid)}"

    def get(self, engine: CoverageEngine, radius_m: int = DEFAULT_RADIUS_M,
            district: str | None = None, *, display_datum: str = "wgs84") -> MapPayload:
        """The payload of :func:`map_layers` for these arguments, built once.

        Parameters
        ----------
        engine : CoverageEngine
            The coverage engine of the current data and demand.
        radius_m : int
            Service radius, geodesic metres.
        district : str, optional
            Union district code; the province when None.
        display_datum : {"wgs84", "gcj02"}
            Datum of the basemap.

        Returns
        -------
        MapPayload
        """
        key = (self.stamp(engine), district, int(radius_m), display_datum)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                hit = self._items.get(key)
            if hit is None:
                data = map_layers(engine, radius_m, district, display_datum=display_datum)
                body = dumps(data).encode("utf-8")
                hit = MapPayload(body, gzip.compress(body, 6, mtime=0),
                                 hashlib.sha256(body).hexdigest()[:20])
                with self._lock:
                    self._items[key] = hit
                    while len(self._items) > self.size:
                        self._items.popitem(last=False)
                    self._building.pop(key, None)
            return hit
