"""Coverage for managers: service areas, covered demand, gaps and suggested new sites.

The national target (ACFTU) is a union station within 1 km / a 15-minute walk of outdoor
workers. This module answers "where does that hold, for how many people, and where should
the next stations go" per county, per union district and for the province. It is pure:
no Flask, no store; the web views, the CLI and the export writers call the same functions.

What counts
    **Active stations** (``kind == "station"``, ``status == "active"``). Loving-mother
    rooms are excluded: they serve a different need (lactation, for working mothers) and
    the 1 km target is set for 驿站. Temporarily closed stations do not count either.

Service areas (area figures)
    A geodesic circle of radius ``R`` around each station, built in UTM zone 50N
    (EPSG:32650, :data:`~locator.geo.index.METRIC_CRS`). UTM is conformal, so a small
    geodesic circle is a planar circle of radius ``k * R``, ``k`` the point scale factor
    at the station (0.9996 on 117 E, up to 1.0008 at Hebei's western edge). A plain planar
    buffer of ``R`` would be off by up to 0.08 % in radius and 0.17 % in area at 113.5 E;
    the scale-corrected circle is within 4 mm of ``R`` everywhere in Hebei (measured
    against ``pyproj.Geod.inv`` on 256 boundary vertices, see ``tests/unit/test_coverage``).
    The covered area per county is the area of the union of the circles inside it,
    computed without building the union (:func:`disc_union_area`): each circle is cut by
    its station's Voronoi cell, each piece's area is exact (a disc cut by a polygon,
    Green's theorem), and pieces that may cross a county border are cut by pre-cut county
    tiles; each piece's planar area is divided by ``k**2`` at its station (area scale of a
    conformal map). District and province figures are sums over their counties, which
    partition them; county areas are geodesic (``Geod.geometry_area_perimeter``). For maps,
    the circles are drawn as ``4 * QUAD_SEGS``-gons whose area equals the circle's
    (:func:`service_areas`, boundary within 0.08 % of ``R``), unioned per county and
    clipped to it, on first use (``CoverageFigures.covered``).

Demand (people figures) — a coarse proxy
    The 7th-census resident population of each union district
    (:data:`locator.geo.census.DISTRICTS`) is spread over the district's H3 cells:
    ``URBAN_SHARE`` (60.07 %, Hebei's urban share in 2020) in Gaussian kernels around the
    city centre (sigma 5 km, taking the shares of the urban districts near it) and around
    a stand-in point of each other county (sigma 3 km; an equal share per county), the
    rest in equal shares per cell (see :func:`_spread_population`). Every district keeps
    exactly its census figure. This is a **coarse proxy** — the stand-in points are not
    the real county seats and county populations are not known here — and every output
    says so (:data:`DEMAND_NOTE`). A district whose centre is unknown (a test geography)
    is spread evenly. H3 resolution 8 (cells of 0.48–0.57 km² in Hebei, about 356,000
    of them) is fine enough for a 500 m radius; a cell belongs to the county holding its
    centre. A cell is covered when its centre is within ``R`` geodesic metres of an
    active station (exact, ``pyproj.Geod``), and share of demand covered is the
    population-weighted share of covered cells. Other demand (counted searches, an
    uploaded grid) comes in as a :class:`DemandGrid` over the same cells.

Gaps and suggested sites
    Gaps are H3 resolution-6 areas (about 36 km²) ranked by unmet demand (the population
    of their uncovered resolution-8 cells). Suggested sites come from greedy maximal
    coverage: candidates are uncovered cell centres, and each pick adds the demand of the
    cells within ``R`` not yet covered (lazy greedy, which picks exactly what plain greedy
    picks). Ties (common where demand is spread evenly) go to the candidate nearest an
    existing station (grow the network from its edge), then to the lowest H3 index. With
    the census proxy, suggestions say "the uncovered edges of the proxy's towns"; an
    uploaded population grid makes them meaningful.

Every distance is in metres named ``*_m``; nothing is measured in degrees.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import math
import os
import threading
import weakref
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely
from pyproj import Proj, Transformer

from locator.errors import BadRequest, shown
from locator.geo.census import DISTRICTS
from locator.geo.index import GEOD, METRIC_CRS, S_MAX, SAFE_BOUNDS, geodesic_m
from locator.jsonio import plain

__all__ = [
    "DEFAULT_RADIUS_M", "DEMAND_NOTE", "FIGURE_COLUMNS", "GAP_RESOLUTION", "H3_RESOLUTION",
    "MAX_RADIUS_M", "MIN_RADIUS_M", "PROVINCE_NAME", "RADII_M", "CoverageEngine",
    "CoverageFigures", "DemandGrid", "census_population", "check_radius", "covered_mask",
    "demand_grid", "greedy_sites", "nearest_station_m", "scale_factor", "service_areas",
    "service_stations", "with_population_table",
]

#: Radii offered to managers (metres); 1,000 m is the ACFTU target.
RADII_M = (500, 1000, 2000)
DEFAULT_RADIUS_M = 1000
#: Any radius in this range is accepted by the core and the CLI (metres).
MIN_RADIUS_M, MAX_RADIUS_M = 100, 5000
H3_RESOLUTION = 8
GAP_RESOLUTION = 6
QUAD_SEGS = 16
PROVINCE_NAME = "河北省"
#: The smallest UTM scale factor (on the central meridian); with ``S_MAX`` it bounds the
#: ratio of planar to geodesic length inside ``SAFE_BOUNDS``.
S_MIN = 0.9996

DEMAND_NOTE = (
    "需求为粗略代理：第七次人口普查各地区常住人口，按全省城镇化率 60.07% 分为城镇和乡村两部分；"
    "乡村部分在地区内均摊，城镇部分集中在市中心和各区县代表点附近（高斯分布，σ 5 km / 3 km）。"
    "代表点不是真实的县城位置，结果不是真实人口分布。"
    "Demand is a coarse proxy: each union district's 2020 census population, 60.07 % "
    "(Hebei's urban share) around the city centre and a stand-in point of each county "
    "(Gaussian, sigma 5 km / 3 km), the rest spread evenly; not where people really are."
)
#: Hebei's urban share at the 2020 census: 44,816,486 of 74,610,235 residents live in
#: towns (河北省第七次全国人口普查公报 No. 5, reproduced at lu100.cc/ShuJuXiangGuan/
#: 2418759.html, the source research/data.md gives for the province total).
URBAN_SHARE = 44_816_486 / 74_610_235
#: Spread (metres) of the urban population around a city centre and around a county's
#: stand-in seat; and how far from the centre an urban district (区) counts as the city.
CENTRE_SIGMA_M, SEAT_SIGMA_M, CORE_RADIUS_M = 5_000.0, 3_000.0, 25_000.0

#: Columns of the per-county and per-district tables, in order.
FIGURE_COLUMNS = (
    "code", "name", "district_code", "district_name", "stations", "population",
    "stations_per_10k", "area_km2", "covered_km2", "share_area", "population_covered",
    "share_demand",
)

_N_SIDES = 4 * QUAD_SEGS
# Radius factor giving an n-gon the area of its circle: n/2 r^2 sin(2 pi/n) = pi R^2.
_AREA_FACTOR = math.sqrt(2 * math.pi / (_N_SIDES * math.sin(2 * math.pi / _N_SIDES)))
_PROJ = Proj(METRIC_CRS)
# UTM zone 50N on WGS-84: central meridian, scale on it, second eccentricity squared.
_CENTRAL_MERIDIAN, _K0 = 117.0, 0.9996
_EP2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
_EP2 = _EP2 / (1 - _EP2)
_FORWARD = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


# --------------------------------------------------------------------------------------
# Small pure helpers


def check_radius(radius_m) -> int:
    """Validate a service radius: an integer number of metres within 100..5000.

    Raises
    ------
    locator.errors.BadRequest
        When the radius is not a whole number of metres in range.
    """
    if isinstance(radius_m, bool) or not isinstance(radius_m, int | np.integer) or not (
            MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M):
        raise BadRequest(f"服务半径应是 {MIN_RADIUS_M} 到 {MAX_RADIUS_M} 之间的整数米"
                         f"（radius_m, got {shown(radius_m)}）。", code="bad_parameter")
    return int(radius_m)


def census_population() -> dict[str, int]:
    """Resident population (7th census, 2020) per union district code.

    Returns
    -------
    dict of str to int
        The 14 district codes of :data:`locator.geo.census.DISTRICTS` mapped to persons;
        sums to the province total 74,610,235.
    """
    return {d.code: d.population for d in DISTRICTS}


def scale_factor(lon, lat) -> np.ndarray:
    """Point scale factor ``k`` of UTM zone 50N (EPSG:32650) at WGS-84 points.

    A geodesic length ``L`` near the point is ``k * L`` in the projection; an area ``A``
    is ``k**2 * A``.

    Examples
    --------
    >>> float(scale_factor(117.0, 39.0)[0])
    0.9996
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if lon.size == 0:
        return np.empty(0)
    # Snyder, Map Projections - A Working Manual (1987), eq. 8-11, to the A**6 term: within
    # 4e-9 of PROJ's own factors anywhere in SAFE_BOUNDS (tests/unit/test_coverage.py),
    # and about 50 times faster than Proj.get_factors.
    phi = np.radians(lat)
    a = np.radians(lon - _CENTRAL_MERIDIAN) * np.cos(phi)
    t = np.tan(phi) ** 2
    c = _EP2 * np.cos(phi) ** 2
    a2 = a * a
    return _K0 * (1 + (1 + c) * a2 / 2 + (5 - 4 * t + 42 * c + 13 * c * c - 28 * _EP2)
                  * a2 * a2 / 24 + (61 - 148 * t + 16 * t * t) * a2 * a2 * a2 / 720)


def service_areas(lon, lat, radius_m: float) -> np.ndarray:
    """Geodesic circles of ``radius_m`` around WGS-84 points, as polygons in EPSG:32650.

    Parameters
    ----------
    lon, lat : array_like
        Centres, WGS-84 degrees.
    radius_m : float
        Geodesic radius in metres.

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        One ``4 * QUAD_SEGS``-gon per centre in UTM 50N metres, whose area equals the
        circle's (the planar radius is ``k * radius_m`` times a small area factor).
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.size == 0:
        return np.empty(0, dtype=object)
    x, y = _FORWARD.transform(lon, lat)
    r = radius_m * scale_factor(lon, lat) * _AREA_FACTOR
    return shapely.buffer(shapely.points(x, y), r, quad_segs=QUAD_SEGS)


def service_stations(sites: pd.DataFrame) -> pd.DataFrame:
    """The rows that count for coverage: active stations (not mother rooms, not closed).

    Parameters
    ----------
    sites : pandas.DataFrame
        Station records with at least ``kind``, ``status``, ``lon``, ``lat`` (WGS-84).

    Returns
    -------
    pandas.DataFrame
        The matching rows, index reset, in their original order.
    """
    if len(sites) == 0:
        return sites.iloc[0:0].reset_index(drop=True)
    keep = (sites["kind"] == "station") & (sites["status"] == "active")
    return sites[keep].reset_index(drop=True)


def _inside_safe_bounds(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    w, s, e, n = SAFE_BOUNDS
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def nearest_station_m(lon, lat, station_lon, station_lat) -> tuple[np.ndarray, np.ndarray]:
    """Exact geodesic distance from many points to their nearest station.

    Parameters
    ----------
    lon, lat : array_like
        Query points, WGS-84 degrees.
    station_lon, station_lat : array_like
        Stations, WGS-84 degrees.

    Returns
    -------
    distance_m : numpy.ndarray
        Geodesic metres on the WGS-84 ellipsoid (``inf`` when there are no stations).
    position : numpy.ndarray
        Row of the nearest station (``-1`` when there are none); ties go to the lower row.

    Notes
    -----
    Candidates come from a planar STRtree in UTM 50N: with ``p`` the planar distance to
    the planar-nearest station, the geodesic-nearest one lies within planar distance
    ``p * S_MAX / S_MIN`` (the scale factor stays within ``[S_MIN, S_MAX]`` inside
    ``SAFE_BOUNDS``), and exact geodesic distances rank those. Points or stations outside
    ``SAFE_BOUNDS`` are handled by brute force.
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    slon = np.atleast_1d(np.asarray(station_lon, dtype=np.float64))
    slat = np.atleast_1d(np.asarray(station_lat, dtype=np.float64))
    dist = np.full(len(lon), np.inf)
    pos = np.full(len(lon), -1, dtype=np.int64)
    if len(slon) == 0 or len(lon) == 0:
        return dist, pos
    safe = _inside_safe_bounds(lon, lat)
    if not _inside_safe_bounds(slon, slat).all():
        safe[:] = False
    for i in np.flatnonzero(~safe):
        d = geodesic_m(lon[i], lat[i], slon, slat)
        pos[i] = int(np.argmin(d))
        dist[i] = d[pos[i]]
    q = np.flatnonzero(safe)
    if len(q) == 0:
        return dist, pos
    x, y = _FORWARD.transform(lon[q], lat[q])
    sx, sy = _FORWARD.transform(slon, slat)
    tree = shapely.STRtree(shapely.points(sx, sy))
    points = shapely.points(x, y)
    _, planar = tree.query_nearest(points, return_distance=True, all_matches=False)
    bound = planar * (S_MAX / S_MIN) + 1e-3
    qi, si = tree.query(points, predicate="dwithin", distance=bound)
    d = np.asarray(GEOD.inv(lon[q][qi], lat[q][qi], slon[si], slat[si])[2], dtype=np.float64)
    order = np.lexsort((si, d, qi))
    first = order[np.unique(qi[order], return_index=True)[1]]
    dist[q[qi[first]]] = d[first]
    pos[q[qi[first]]] = si[first]
    return dist, pos


def covered_mask(lon, lat, station_lon, station_lat, radius_m: float) -> np.ndarray:
    """Which points lie within ``radius_m`` geodesic metres of at least one station.

    Parameters
    ----------
    lon, lat : array_like
        Points, WGS-84 degrees.
    station_lon, station_lat : array_like
        Stations, WGS-84 degrees.
    radius_m : float
        Geodesic metres (boundary included).

    Returns
    -------
    numpy.ndarray of bool
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    slon = np.atleast_1d(np.asarray(station_lon, dtype=np.float64))
    slat = np.atleast_1d(np.asarray(station_lat, dtype=np.float64))
    return _covered(lon, lat, None, slon, slat, radius_m)


def _covered(lon, lat, xy, slon, slat, radius_m) -> np.ndarray:
    """``covered_mask`` with optional UTM 50N coordinates of the points (``(x, y)``).

    The planar distance ``p`` between two points inside ``SAFE_BOUNDS`` bounds their
    geodesic distance ``g``: ``p / S_MAX <= g <= p / S_MIN`` (the scale factor stays within
    ``[S_MIN, S_MAX]``). So a point whose planar-nearest station is within ``R * S_MIN`` is
    covered, one with none within ``R * S_MAX`` is not, and only the thin band between
    (a few metres wide) is decided by exact geodesic distances (``pyproj.Geod``).
    """
    out = np.zeros(len(lon), dtype=bool)
    if len(slon) == 0 or len(lon) == 0:
        return out
    if not (_inside_safe_bounds(lon, lat).all() and _inside_safe_bounds(slon, slat).all()):
        for i in range(len(lon)):
            out[i] = bool((geodesic_m(lon[i], lat[i], slon, slat) <= radius_m).any())
        return out
    from scipy.spatial import cKDTree

    x, y = _FORWARD.transform(lon, lat) if xy is None else xy
    sx, sy = _FORWARD.transform(slon, slat)
    stations = cKDTree(np.column_stack([sx, sy]))
    points = np.column_stack([x, y])
    reach = radius_m * S_MAX + 1e-3
    p, _ = stations.query(points, k=1, distance_upper_bound=reach)
    out[p <= radius_m * S_MIN] = True
    band = np.flatnonzero((p > radius_m * S_MIN) & np.isfinite(p))
    if len(band):
        lists = stations.query_ball_point(points[band], reach)
        sizes = np.fromiter((len(c) for c in lists), dtype=np.int64, count=len(lists))
        qi = np.repeat(band, sizes)
        si = np.fromiter((j for c in lists for j in c), dtype=np.int64, count=int(sizes.sum()))
        d = np.asarray(GEOD.inv(slon[si], slat[si], lon[qi], lat[qi])[2])
        out[qi[d <= radius_m]] = True
    return out


# --------------------------------------------------------------------------------------
# Area of a union of geodesic circles, per county, without a polygon union


def _disc_triangle_area(cx, cy, r, ax, ay, bx, by) -> np.ndarray:
    """Signed area of the intersection of the disc (``c``, ``r``) with the triangle
    (``c``, ``a``, ``b``): positive when ``a -> b`` turns counter-clockwise around ``c``.

    Summed over the edges of a polygon (exterior counter-clockwise, holes clockwise) it is
    the area of the disc's intersection with the polygon, exactly (Green's theorem): the
    parts of an edge inside the disc contribute their triangle, the parts outside the
    circular sector they subtend. Every argument is an array (planar metres).
    """
    ax, ay, bx, by = ax - cx, ay - cy, bx - cx, by - cy
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    ad = ax * dx + ay * dy
    disc = ad * ad - dd * (ax * ax + ay * ay - r * r)
    hit = (disc > 0) & (dd > 0)
    root = np.sqrt(np.where(hit, disc, 0.0))
    dd_safe = np.where(dd > 0, dd, 1.0)
    t1 = np.where(hit, np.clip((-ad - root) / dd_safe, 0.0, 1.0), 1.0)
    t2 = np.where(hit, np.clip((-ad + root) / dd_safe, 0.0, 1.0), 1.0)
    p1x, p1y = ax + t1 * dx, ay + t1 * dy
    p2x, p2y = ax + t2 * dx, ay + t2 * dy
    sector1 = np.arctan2(ax * p1y - ay * p1x, ax * p1x + ay * p1y)
    sector2 = np.arctan2(p2x * by - p2y * bx, p2x * bx + p2y * by)
    return 0.5 * (r * r * (sector1 + sector2) + (p1x * p2y - p1y * p2x))


def _segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    """Planar distance from points to segments (arrays, metres)."""
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    return np.hypot(ax + t * dx - px, ay + t * dy - py)


def _ring_edges(geoms: np.ndarray):
    """Edges of every ring of the polygons in ``geoms``, with the sign that orients them
    (exterior counter-clockwise, holes clockwise): ``(owner, sign, ax, ay, bx, by)``,
    ``owner`` the position in ``geoms``. Points and lines in a collection are skipped."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    polygons = shapely.get_type_id(parts) == 3
    parts, part_of = parts[polygons], part_of[polygons]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_of[1:] != ring_of[:-1]  # get_rings gives the exterior ring first
    coords, index = shapely.get_coordinates(rings, return_index=True)
    same = np.flatnonzero(index[1:] == index[:-1])
    ring = index[same]
    ax, ay = coords[same, 0], coords[same, 1]
    bx, by = coords[same + 1, 0], coords[same + 1, 1]
    shoelace = np.bincount(ring, weights=ax * by - ay * bx, minlength=len(rings))
    ring_sign = np.sign(shoelace) * np.where(exterior, 1.0, -1.0)
    return part_of[ring_of[ring]], ring_sign[ring], ax, ay, bx, by


def _cells_edges(cells: np.ndarray):
    """Edges of convex polygons (Voronoi cells): ``(owner, sign, ax, ay, bx, by)``."""
    coords, index = shapely.get_coordinates(cells, return_index=True)
    same = np.flatnonzero(index[1:] == index[:-1])
    owner = index[same]
    ax, ay = coords[same, 0], coords[same, 1]
    bx, by = coords[same + 1, 0], coords[same + 1, 1]
    # GEOS gives the cells in either orientation: the shoelace sum says which.
    sign = np.sign(np.bincount(owner, weights=ax * by - ay * bx, minlength=len(cells)))
    return owner, sign[owner], ax, ay, bx, by


def _ragged(first: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ranges ``first[g] .. first[g] + count[g]``: (positions, group)."""
    group = np.repeat(np.arange(len(first)), count)
    starts = np.cumsum(count) - count
    return np.repeat(first - starts, count) + np.arange(int(count.sum())), group


def _clip_rings(vx, vy, vring, ring_pair, hx0, hy0, hx1, hy1, n_half):
    """Clip rings by convex polygons given as half-planes (Sutherland-Hodgman, all rings
    at once).

    Parameters
    ----------
    vx, vy, vring : numpy.ndarray
        Ring vertices (open rings, consecutive per ring, rings numbered 0..), planar.
    ring_pair : numpy.ndarray
        Pair (clip polygon) of each ring; pairs must be numbered so that ``n_half`` is
        non-increasing, and vertices ordered by pair.
    hx0, hy0, hx1, hy1 : numpy.ndarray, shape (pairs, max half-planes)
        Edges of each clip polygon, counter-clockwise: the inside is on their left.
    n_half : numpy.ndarray
        Half-planes per pair.

    Returns
    -------
    vx, vy, vring : numpy.ndarray
        The clipped rings (a ring may come out empty). For a ring that is not convex the
        output may run back and forth along a clip edge; such stretches cancel in any
        integral over the edges (a closed chain on a line is null), so areas computed
        edge by edge are exact.
    """
    for j in range(int(n_half.max()) if len(n_half) else 0):
        active = int(np.searchsorted(-n_half, -j, side="left"))  # pairs with n_half > j
        cut = int(np.searchsorted(ring_pair[vring], active)) if len(vring) else 0
        if cut == 0:
            break
        x, y, ring = vx[:cut], vy[:cut], vring[:cut]
        pair = ring_pair[ring]
        ax, ay, bx, by = hx0[pair, j], hy0[pair, j], hx1[pair, j], hy1[pair, j]
        side = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        inside = side >= 0
        first = np.r_[True, ring[1:] != ring[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(cut), 0))
        last = np.r_[ring[1:] != ring[:-1], True]
        nxt = np.where(last, start, np.arange(cut) + 1)
        s_in, e_in = inside, inside[nxt]
        crossing = s_in != e_in
        count = crossing.astype(np.int64) + e_in
        edge = np.repeat(np.arange(cut), count)
        second = np.r_[False, edge[1:] == edge[:-1]]
        is_x = crossing[edge] & ~second
        t = side[edge] / np.where(is_x, side[edge] - side[nxt[edge]], 1.0)
        x0, y0, x1, y1 = x[edge], y[edge], x[nxt[edge]], y[nxt[edge]]
        vx = np.r_[np.where(is_x, x0 + t * (x1 - x0), x1), vx[cut:]]
        vy = np.r_[np.where(is_x, y0 + t * (y1 - y0), y1), vy[cut:]]
        vring = np.r_[ring[edge], vring[cut:]]
    return vx, vy, vring


def disc_union_area(x, y, r, scale, county, geometry) -> np.ndarray:
    """Geodesic area covered by a union of discs, per county, without building the union.

    Parameters
    ----------
    x, y : numpy.ndarray
        Disc centres (stations) in UTM 50N metres (EPSG:32650).
    r : numpy.ndarray
        Planar radius of each disc, metres (the geodesic radius times the point scale
        factor: a small geodesic circle is a planar circle in a conformal projection).
    scale : numpy.ndarray
        Point scale factor at each centre; a planar area near it is ``scale**2`` times
        the geodesic area.
    county : numpy.ndarray of int
        Row of the county holding each centre (as the store derived it from the point),
        or -1 when unknown: then it is located here.
    geometry : _CountyGeometry
        The counties in UTM 50N with their boundary samples and tiles.

    Returns
    -------
    numpy.ndarray
        km² per county (geodesic).

    Notes
    -----
    Every point of a union of equal discs lies in the disc of the centre nearest to it, so
    the union is the disjoint union of the pieces ``disc_i ∩ V_i`` (``V_i`` the Voronoi
    cell of centre ``i``), and its area the sum of theirs, each exact from the cell's
    edges (:func:`_disc_triangle_area`). (Radii differ by the scale factor, under 1 cm
    between centres a few km apart: the Voronoi cells stand in for the power diagram.)
    A piece that meets no county boundary lies in its centre's county; one that may is
    cut by the pieces of the other counties and of the outside (``geometry.tiles``) it
    touches, and keeps the rest. Exact for circles, so slightly more exact than a union
    of polygons; the tests compare the two.
    """
    out = np.zeros(len(geometry.metric))
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) == 0:
        return out
    xy = np.column_stack([x, y])
    r = np.asarray(r, dtype=np.float64)
    scale2 = np.asarray(scale, dtype=np.float64) ** 2
    county = np.asarray(county, dtype=np.int64).copy()
    # Exact duplicates add nothing (and would confuse the Voronoi diagram).
    _, first = np.unique(x + 1j * y, return_index=True)
    keep = np.zeros(len(x), dtype=bool)
    keep[first] = True
    piece = np.where(keep, np.pi * r * r, 0.0)  # a lone centre: the whole disc
    # The extent of each piece: the disc's box, within its cell's box.
    lo_x, lo_y, hi_x, hi_y = x - r, y - r, x + r, y + r
    cells = np.full(len(x), None, dtype=object)
    edges = (np.empty(0, np.int64), *(np.empty(0) for _ in range(4)))
    idx = np.flatnonzero(keep)
    if len(idx) >= 2:
        reach = 2 * float(r.max()) + 1e-3
        w, s, e, n = xy[idx].min(axis=0).tolist() + xy[idx].max(axis=0).tolist()
        envelope = shapely.box(w - 4 * reach, s - 4 * reach, e + 4 * reach, n + 4 * reach)
        # A LineString through the centres gives GEOS the sites without 100,000 Points.
        cells[idx] = shapely.get_parts(shapely.voronoi_polygons(
            shapely.linestrings(xy[idx]), extend_to=envelope, ordered=True))
        owner, sign, ax, ay, bx, by = _cells_edges(cells[idx])
        o = idx[owner]
        area = sign * _disc_triangle_area(x[o], y[o], r[o], ax, ay, bx, by)
        piece[idx] = np.bincount(owner, weights=area, minlength=len(idx))
        ccw = sign > 0  # the cells' edges, counter-clockwise, for clipping at borders
        edges = (o, np.where(ccw, ax, bx), np.where(ccw, ay, by), np.where(ccw, bx, ax),
                 np.where(ccw, by, ay))
        bounds = shapely.bounds(cells[idx])
        lo_x[idx] = np.maximum(lo_x[idx], bounds[:, 0])
        lo_y[idx] = np.maximum(lo_y[idx], bounds[:, 1])
        hi_x[idx] = np.minimum(hi_x[idx], bounds[:, 2])
        hi_y[idx] = np.minimum(hi_y[idx], bounds[:, 3])
        # A cell whose edges all stay out of the disc does not cut it: forget it.
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # owner is sorted
        gap = np.minimum.reduceat(_segment_distance(x[o], y[o], ax, ay, bx, by) - r[o],
                                  starts)
        cells[idx[owner[starts][gap >= 0]]] = None
    # Which pieces may meet a county boundary (or the province's edge)? Those with a
    # boundary sample within half their box's diagonal plus half the sample spacing.
    centre = np.column_stack([(lo_x + hi_x) / 2, (lo_y + hi_y) / 2])
    half = np.hypot(hi_x - lo_x, hi_y - lo_y) / 2 + geometry.sample_spacing_m / 2 + 1e-3
    d, _ = geometry.samples.query(centre[keep], k=1, distance_upper_bound=float(half.max()))
    border = np.zeros(len(x), dtype=bool)
    border[keep] = d <= half[keep]
    n_counties = len(out)
    unknown = keep & (county < 0)
    if unknown.any():
        county[unknown] = geometry.locate(x[unknown], y[unknown])
    county[county < 0] = n_counties  # outside Hebei
    inner = keep & ~border
    out = np.bincount(county[inner], weights=piece[inner] / scale2[inner],
                      minlength=n_counties + 1).astype(np.float64)
    b = np.flatnonzero(border)
    if len(b):
        # A border piece is cut by the tiles of every *other* county and of the outside;
        # what they do not take belongs to its centre's county (whichever that is, the
        # pieces of all the others sum to the rest: the tiles cover the plane near Hebei).
        boxes = shapely.box(lo_x[b], lo_y[b], hi_x[b], hi_y[b])
        di, ti = geometry.tiles_tree.query(boxes, predicate="intersects")
        other = geometry.tile_county[ti] != county[b[di]]
        di, ti = di[other], ti[other]
        # ... and only the pieces the disc itself reaches (cheaper than an overlay)
        reach = shapely.dwithin(geometry.tiles[ti], shapely.points(x[b[di]], y[b[di]]),
                                r[b[di]])
        di, ti = di[reach], ti[reach]
        disc = b[di]
        # Cut each tile's rings by the disc's cell (when it has one that cuts it), then
        # integrate the disc over what is left.
        n_half = np.zeros(len(disc), dtype=np.int64)
        e_first = np.zeros(len(disc), dtype=np.int64)
        has_cell = np.not_equal(cells[disc], None)
        if has_cell.any():
            e_owner = edges[0]
            lo = np.searchsorted(e_owner, disc)  # e_owner is sorted (cell order)
            hi = np.searchsorted(e_owner, disc, side="right")
            n_half = np.where(has_cell, hi - lo, 0)
            e_first = lo
        order = np.argsort(-n_half, kind="stable")
        disc, ti, di, n_half, e_first = (a[order] for a in (disc, ti, di, n_half, e_first))
        width = max(int(n_half.max(initial=0)), 1)
        pos, grp = _ragged(e_first, n_half)
        col = pos - np.repeat(e_first, n_half)
        h = [np.zeros((len(disc), width)) for _ in range(4)]
        for k in range(4):
            h[k][grp, col] = edges[k + 1][pos]
        rings, ring_pair = _ragged(geometry.tile_ring_first[ti], geometry.tile_ring_count[ti])
        verts, vring = _ragged(geometry.ring_first[rings], geometry.ring_count[rings])
        vx, vy, vring = _clip_rings(geometry.ring_x[verts], geometry.ring_y[verts], vring,
                                    ring_pair, *h, n_half)
        first = np.r_[True, vring[1:] != vring[:-1]] if len(vring) else np.empty(0, bool)
        start = np.maximum.accumulate(np.where(first, np.arange(len(vring)), 0)) \
            if len(vring) else np.empty(0, np.int64)
        last = np.r_[vring[1:] != vring[:-1], True] if len(vring) else first
        nxt = np.where(last, start, np.arange(len(vring)) + 1)
        owner = ring_pair[vring]
        o = disc[owner]
        area = geometry.ring_sign[rings][vring] * _disc_triangle_area(
            x[o], y[o], r[o], vx, vy, vx[nxt], vy[nxt])
        per_pair = np.bincount(owner, weights=area, minlength=len(disc)) / scale2[disc]
        taken = np.bincount(di, weights=per_pair, minlength=len(b))
        out += np.bincount(geometry.tile_county[ti], weights=per_pair,
                           minlength=n_counties + 1)
        out += np.bincount(county[b], weights=piece[b] / scale2[b] - taken,
                           minlength=n_counties + 1)
    out = out[:n_counties]
    return out / 1e6


# --------------------------------------------------------------------------------------
# The demand grid


@dataclass(frozen=True, eq=False)
class DemandGrid:
    """Population on H3 cells covering a set of counties (a coarse proxy by default).

    Attributes
    ----------
    resolution : int
        H3 resolution of ``cell``.
    cell : numpy.ndarray of uint64
        H3 cell indexes (integer form), one per cell; each cell's centre lies in its county.
    lon, lat : numpy.ndarray
        Cell centres, WGS-84 degrees.
    x, y : numpy.ndarray
        Cell centres in UTM 50N metres (EPSG:32650).
    county : numpy.ndarray of intp
        Row of ``Regions.counties`` holding the cell centre.
    district_code : numpy.ndarray of object
        Union district code of each cell's county.
    population : numpy.ndarray
        Persons per cell.
    note : str
        What the population is (shown with every figure derived from it).
    source : str
        The demand source: ``population`` (the census proxy), ``uploaded`` (a population
        grid), ``searches`` (counted searches) — see :mod:`locator.coverage.demand`.
    coarse_proxy : bool
        True for the census proxy.
    extra : mapping
        More about the source (e.g. the searches' window and beyond-1 km share).
    """

    resolution: int
    cell: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    county: np.ndarray
    district_code: np.ndarray
    population: np.ndarray
    note: str = DEMAND_NOTE
    source: str = "population"
    coarse_proxy: bool = True
    extra: Mapping = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cell)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """STRtree over the cell centres in UTM 50N metres."""
        return shapely.STRtree(shapely.points(self.x, self.y))

    @cached_property
    def area_km2(self) -> np.ndarray:
        """Cell areas, km² (H3's own geodesic area)."""
        return np.fromiter((h3n.cell_area(c, "km^2") for c in self.cell), dtype=np.float64,
                           count=len(self.cell))

    @cached_property
    def scale(self) -> np.ndarray:
        """UTM 50N point scale factor at each cell centre."""
        return scale_factor(self.lon, self.lat)

    def parents(self, resolution: int = GAP_RESOLUTION) -> np.ndarray:
        """H3 parent of every cell at a coarser resolution (cached per resolution)."""
        cache = self.__dict__.setdefault("_parents", {})
        if resolution not in cache:
            cache[resolution] = np.fromiter(
                (h3n.cell_to_parent(c, resolution) for c in self.cell), dtype=np.uint64,
                count=len(self.cell))
        return cache[resolution]

    def select(self, district: str | None) -> np.ndarray:
        """Positions of the cells of one district (all cells when ``district`` is None)."""
        if district is None:
            return np.arange(len(self.cell))
        return np.flatnonzero(self.district_code == district)


def _cells_of(geometry, resolution: int) -> np.ndarray:
    return np.asarray(h3n.geo_to_cells(geometry.__geo_interface__, resolution), dtype=np.uint64)


def _cache_path(regions, resolution: int, cache_dir: Path) -> Path:
    """The cache file of a grid: named by a hash of the county geometries, the resolution
    and the h3 version."""
    digest = hashlib.sha256(f"{resolution}|{h3.__version__}|".encode())
    for code, geom in zip(regions.counties["code"], regions.counties.geometry, strict=True):
        digest.update(str(code).encode() + shapely.to_wkb(geom))
    return Path(cache_dir) / f"h3grid-{digest.hexdigest()[:20]}.npz"


def _save_cells(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: concurrent workers never read a half-written file


def _grid_cells(regions, resolution: int, cache_dir: Path | None) -> dict[str, np.ndarray]:
    """H3 cells of every county with their centres: the slow, population-free part.

    Kept in ``cache_dir`` (see :func:`_cache_path`) when one is given: building it for
    Hebei at resolution 8 costs about 3 s of CPU, reading it back a few milliseconds.
    """
    counties = regions.counties
    path = None if cache_dir is None else _cache_path(regions, resolution, cache_dir)
    if path is not None and path.is_file():
        try:
            with np.load(path) as saved:
                return {k: saved[k] for k in ("cell", "county", "lon", "lat")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged cache file is rebuilt below
    per_county = [_cells_of(g, resolution) for g in counties.geometry]
    cell = np.concatenate(per_county) if per_county else np.empty(0, np.uint64)
    county = np.repeat(np.arange(len(counties)), [len(c) for c in per_county])
    # A centre exactly on a shared border may fall in two counties: keep the first.
    _, first = np.unique(cell, return_index=True)
    first.sort()
    cell, county = cell[first], county[first]
    latlng = np.array([h3n.cell_to_latlng(c) for c in cell], dtype=np.float64).reshape(-1, 2)
    arrays = {"cell": cell, "county": county.astype(np.int32), "lon": latlng[:, 1],
              "lat": latlng[:, 0]}
    if path is not None:
        _save_cells(path, arrays)
    return arrays


def _urban_centres(regions, code: str, own_counties: np.ndarray):
    """Where a district's urban population is put: ``[(x, y, sigma_m, share), ...]`` in
    UTM 50N, or None when the district's city centre is unknown (then it stays uniform).

    Each county-level unit takes an equal share of the urban population around a
    stand-in for its seat — its polygon's representative point, as the demo generator
    uses (the geography has no seat locations) — except urban districts (names ending in
    区) within ``CORE_RADIUS_M`` of the city centre, whose shares go to the centre
    (:data:`locator.geo.census.DISTRICTS`, ±1 km, research/data.md §4.2).
    """
    centre = {d.code: (d.centre_lon, d.centre_lat) for d in DISTRICTS}.get(code)
    if centre is None or len(own_counties) == 0:
        return None
    cx, cy = _FORWARD.transform(*centre)
    rows = regions.counties.iloc[own_counties]
    seats = rows.geometry.representative_point()
    sx, sy = _FORWARD.transform(seats.x.to_numpy(), seats.y.to_numpy())
    share = 1.0 / len(rows)
    core = np.array([name.endswith("区") for name in rows["name"]]) & (
        np.hypot(np.asarray(sx) - cx, np.asarray(sy) - cy) <= CORE_RADIUS_M)
    centres = [(cx, cy, CENTRE_SIGMA_M, share * core.sum())] if core.any() else []
    centres += [(float(a), float(b), SEAT_SIGMA_M, share)
                for a, b in zip(np.asarray(sx)[~core], np.asarray(sy)[~core], strict=True)]
    return centres


def _spread_population(regions, population, district, county, x, y) -> np.ndarray:
    """Persons per cell: each district's figure, ``URBAN_SHARE`` of it in Gaussian kernels
    around its urban centres (each kernel normalised over the district's cells, so the
    district keeps exactly its census figure) and the rest in equal shares per cell."""
    people = np.zeros(len(x))
    for code in np.unique(district):
        mine = np.flatnonzero(district == code)
        total = float(population.get(code, 0.0))
        centres = _urban_centres(regions, code, np.unique(county[mine]))
        if centres is None:
            # Equal shares per cell: a district's cells differ in area by a few per cent
            # at most (H3 res 8 in Hebei), and equal weights make equal gains tie exactly.
            people[mine] = total / len(mine)
            continue
        people[mine] = total * (1 - URBAN_SHARE) / len(mine)
        for cx, cy, sigma, share in centres:
            kernel = np.exp(-((x[mine] - cx) ** 2 + (y[mine] - cy) ** 2) / (2 * sigma**2))
            if kernel.sum() > 0:
                people[mine] += total * URBAN_SHARE * share * kernel / kernel.sum()
    return people


def _build_grid(regions, population: Mapping[str, float], resolution: int,
                cache_dir: Path | None) -> DemandGrid:
    arrays = _grid_cells(regions, resolution, cache_dir)
    cell, county, lon, lat = arrays["cell"], arrays["county"], arrays["lon"], arrays["lat"]
    district = regions.counties["district_code"].to_numpy(dtype=object)[county]
    x, y = _FORWARD.transform(lon, lat)
    people = _spread_population(regions, population, district, county, np.asarray(x),
                                np.asarray(y))
    return DemandGrid(resolution=resolution, cell=cell, lon=lon, lat=lat,
                      x=np.asarray(x), y=np.asarray(y), county=county.astype(np.intp),
                      district_code=district, population=people)


_GRIDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GRIDS_LOCK = threading.Lock()


def demand_grid(regions, population: Mapping[str, float] | None = None,
                resolution: int = H3_RESOLUTION, *,
                cache_dir: str | Path | None = None) -> DemandGrid:
    """The demand grid over every county of ``regions``; cached per regions object.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
        Districts and counties, EPSG:4326.
    population : mapping of str to float, optional
        Persons per union district code; default :func:`census_population`. Spread
        evenly over the district's cells (a coarse proxy).
    resolution : int
        H3 resolution; 8 (about 0.53 km² per cell in Hebei) by default.
    cache_dir : str or pathlib.Path, optional
        A folder where the cells are kept between processes (see :func:`_grid_cells`).

    Returns
    -------
    DemandGrid
        About 356,000 cells for Hebei at resolution 8 (3 s of CPU to build without a
        cache file). Later calls with the same arguments return the same object.
    """
    population = dict(census_population() if population is None else population)
    key = (resolution, tuple(sorted(population.items())))
    with _GRIDS_LOCK:
        grids = _GRIDS.setdefault(regions, {})
        if key not in grids:
            grids[key] = _build_grid(regions, population, resolution,
                                     None if cache_dir is None else Path(cache_dir))
        elif cache_dir is not None:  # built in memory for another folder: leave a copy here
            path = _cache_path(regions, resolution, Path(cache_dir))
            if not path.is_file():
                g = grids[key]
                _save_cells(path, {"cell": g.cell, "county": g.county.astype(np.int32),
                                   "lon": g.lon, "lat": g.lat})
        return grids[key]


UPLOADED_NOTE = (
    "需求为上传的人口网格（每个 H3 网格的人数由上传数据汇总）。"
    "Demand is an uploaded population grid, summed onto H3 cells."
)


def with_population_table(grid: DemandGrid, table: pd.DataFrame, *,
                          note: str = UPLOADED_NOTE) -> tuple[DemandGrid, float]:
    """The same cells carrying a population from a table instead of the census proxy.

    Parameters
    ----------
    grid : DemandGrid
        The grid whose cells receive the population.
    table : pandas.DataFrame
        Column ``weight`` (persons, finite and >= 0) and either ``h3`` (H3 cell indexes as
        hex strings, any resolution) or ``lon`` and ``lat`` (WGS-84 degrees). A point
        counts in the grid cell holding it; a finer cell in its parent at the grid's
        resolution; a coarser cell is spread evenly over its children in the grid.

    Returns
    -------
    grid : DemandGrid
        A copy of ``grid`` with the new ``population`` (``coarse_proxy`` false).
    dropped : float
        Weight that fell outside the grid (outside Hebei): not counted.

    Raises
    ------
    locator.errors.BadRequest
        When a column is missing or a value is not a valid cell, point or weight.
    """
    weight = pd.to_numeric(table.get("weight"), errors="coerce") if "weight" in table else None
    if weight is None or not np.isfinite(weight.to_numpy(dtype=np.float64)).all() or (
            weight < 0).any():
        raise BadRequest("人口网格需要 weight 列（非负数）。", code="bad_population_grid")
    weight = weight.to_numpy(dtype=np.float64)
    res = grid.resolution
    order = np.argsort(grid.cell)
    sorted_cells = grid.cell[order]
    population = np.zeros(len(grid))
    dropped = 0.0

    def add(cells: np.ndarray, w: np.ndarray) -> float:
        i = np.clip(np.searchsorted(sorted_cells, cells), 0, max(len(sorted_cells) - 1, 0))
        hit = (sorted_cells[i] == cells) if len(sorted_cells) else np.zeros(len(cells), bool)
        np.add.at(population, order[i[hit]], w[hit])
        return float(w[~hit].sum())

    if "h3" in table:
        try:
            ids = np.array([h3.str_to_int(str(c).strip()) for c in table["h3"]],
                           dtype=np.uint64)
            valid = all(h3n.is_valid_cell(c) for c in ids)
        except (ValueError, TypeError, h3.H3BaseException):
            valid = False
        if not valid:
            raise BadRequest("h3 列中有无效的 H3 网格编号。", code="bad_population_grid")
        for r in np.unique([h3n.get_resolution(c) for c in ids]):
            mine = np.array([h3n.get_resolution(c) == r for c in ids])
            if r >= res:
                parents = np.array([h3n.cell_to_parent(c, res) for c in ids[mine]],
                                   dtype=np.uint64)
                dropped += add(parents, weight[mine])
            else:
                for c, w in zip(ids[mine], weight[mine], strict=True):
                    children = np.asarray(h3n.cell_to_children(c, res), dtype=np.uint64)
                    i = np.searchsorted(sorted_cells, children)
                    inside = children[(i < len(sorted_cells)) & (sorted_cells[np.minimum(
                        i, len(sorted_cells) - 1)] == children)]
                    if len(inside) == 0:
                        dropped += float(w)
                    else:
                        add(inside, np.full(len(inside), w / len(inside)))
    elif "lon" in table and "lat" in table:
        lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=np.float64)
        lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=np.float64)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or (
                np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
            raise BadRequest("lon/lat 列中有无效坐标。", code="bad_population_grid")
        cells = np.array([h3n.latlng_to_cell(y, x, res) for x, y in zip(lon, lat,
                                                                          strict=True)],
                         dtype=np.uint64)
        dropped += add(cells, weight)
    else:
        raise BadRequest("人口网格需要 h3 列，或 lon 和 lat 列。", code="bad_population_grid")
    return dataclasses.replace(grid, population=population, note=note,
                               source="uploaded-grid", coarse_proxy=False), dropped


# --------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True, eq=False)
class CoverageFigures:
    """Coverage at one radius, per county, per district and for the province.

    Attributes
    ----------
    radius_m : int
        Service radius, geodesic metres.
    counties, districts : pandas.DataFrame
        One row per county / union district, columns :data:`FIGURE_COLUMNS`: ``stations``
        (active stations located in it), ``population`` (persons, the proxy),
        ``stations_per_10k`` (per 10,000 residents), ``area_km2``, ``covered_km2``
        (inside the area and within ``radius_m`` of any active station, including
        stations across its border), ``share_area`` (0..1), ``population_covered`` and
        ``share_demand`` (0..1). Ratios are NaN where the denominator is 0.
    province : dict
        The same figures for the whole province (``code`` is None).
    covered : geopandas.GeoSeries
        Per county (aligned with ``counties``), the covered part, in EPSG:32650: the union
        of the stations' service-area polygons clipped to the county. Built on first use
        (maps and exports need it; the figures do not): about 10 s at 100,000 stations.
    """

    radius_m: int
    counties: pd.DataFrame
    districts: pd.DataFrame
    province: dict
    _covered: Callable[[], gpd.GeoSeries] = dataclasses.field(repr=False, compare=False)

    @cached_property
    def covered(self) -> gpd.GeoSeries:
        """Per county, the covered part as a geometry (EPSG:32650); computed once."""
        return self._covered()

    def summary(self, district: str | None = None) -> dict:
        """The figures of one district, or of the province when ``district`` is None."""
        if district is None:
            return dict(self.province)
        rows = self.districts[self.districts["code"] == district]
        if rows.empty:
            raise BadRequest(f"没有这个地区代码 {shown(district)}（unknown district）。",
                             code="bad_parameter")
        return rows.iloc[0].to_dict()

    def county_rows(self, district: str | None = None) -> pd.DataFrame:
        """Rows of ``counties`` for one district (all when ``district`` is None)."""
        if district is None:
            return self.counties
        return self.counties[self.counties["district_code"] == district]


def _ratios(frame: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        pop = frame["population"].to_numpy(dtype=np.float64)
        area = frame["area_km2"].to_numpy(dtype=np.float64)
        frame["stations_per_10k"] = np.where(pop > 0, frame["stations"] * 1e4 / pop, np.nan)
        frame["share_area"] = np.where(area > 0, frame["covered_km2"] / area, np.nan)
        frame["share_demand"] = np.where(pop > 0, frame["population_covered"] / pop, np.nan)
    return frame


@dataclass(frozen=True, eq=False)
class _CountyGeometry:
    """Counties in UTM 50N with their geodesic areas and area scale factors, and what
    :func:`disc_union_area` needs: points every ``sample_spacing_m`` along their
    boundaries, and the counties cut into pieces of at most ``TILE_M`` square (``tiles``,
    with ``tile_county``)."""

    metric: np.ndarray  # shapely geometries, EPSG:32650
    area_km2: np.ndarray  # geodesic
    scale2: np.ndarray  # k**2 at each county's representative point
    samples: object  # scipy cKDTree over points along every county boundary
    sample_spacing_m: float
    tiles: np.ndarray
    tile_county: np.ndarray
    tiles_tree: shapely.STRtree
    tree: shapely.STRtree  # over ``metric``
    # the tiles' rings, flat: per tile its rings, per ring its (open) vertices, and the
    # sign that makes the ring's edge integral its signed share of the tile's area
    tile_ring_first: np.ndarray
    tile_ring_count: np.ndarray
    ring_first: np.ndarray
    ring_count: np.ndarray
    ring_sign: np.ndarray
    ring_x: np.ndarray
    ring_y: np.ndarray

    def locate(self, x, y) -> np.ndarray:
        """Row of the county holding each planar point (-1 when none; lowest row on a
        shared border)."""
        out = np.full(len(x), -1, dtype=np.int64)
        pi, ci = self.tree.query(shapely.points(x, y), predicate="intersects")
        order = np.lexsort((ci, pi))[::-1]
        out[pi[order]] = ci[order]
        return out


#: Side of the squares the counties are cut into for :func:`disc_union_area`, metres.
TILE_M = 5000.0


def _clip(geometry, boxes: np.ndarray) -> np.ndarray:
    """``geometry`` cut by each box (GEOS's fast rectangle clipping), empty parts dropped."""
    out = [shapely.clip_by_rect(geometry, *b) for b in shapely.bounds(boxes)]
    out = np.asarray(out, dtype=object) if out else np.empty(0, dtype=object)
    return out[~shapely.is_empty(out) & (shapely.area(out) > 0)]


def _grid_boxes(bounds, margin: float = 0.0) -> np.ndarray:
    w, s, e, n = bounds
    xs = np.arange(math.floor((w - margin) / TILE_M) * TILE_M, e + margin, TILE_M)
    ys = np.arange(math.floor((s - margin) / TILE_M) * TILE_M, n + margin, TILE_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    return shapely.box(gx, gy, gx + TILE_M, gy + TILE_M)


def _tiles(metric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counties cut into ``TILE_M`` squares, then the outside of Hebei up to 20 km out
    (owner ``len(metric)``): pieces that together cover the plane near Hebei."""
    pieces, owners = [], []
    for i, county in enumerate(metric):
        boxes = _grid_boxes(county.bounds)
        boxes = boxes[shapely.intersects(county, boxes)]
        inside = shapely.contains_properly(county, boxes)
        for part in (boxes[inside], _clip(county, boxes[~inside])):
            pieces.append(part)
            owners.append(np.full(len(part), i, dtype=np.int64))
    province = shapely.coverage_union_all(metric)
    w, s, e, n = province.bounds
    outside = shapely.difference(shapely.box(w - 2e4, s - 2e4, e + 2e4, n + 2e4), province)
    shapely.prepare(outside)
    boxes = _grid_boxes(outside.bounds)
    part = _clip(outside, boxes[shapely.intersects(outside, boxes)])
    pieces.append(part)
    owners.append(np.full(len(part), len(metric), dtype=np.int64))
    return np.concatenate(pieces), np.concatenate(owners)


def _tile_rings(tiles: np.ndarray):
    parts, part_of = shapely.get_parts(tiles, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    parts, part_of = parts[keep], part_of[keep]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    exterior = np.r_[True, ring_of[1:] != ring_of[:-1]]
    tile_of = part_of[ring_of]
    coords, index = shapely.get_coordinates(rings, return_index=True)
    closing = np.r_[index[1:] != index[:-1], True]  # the repeated first vertex
    same = np.flatnonzero(~closing)
    shoelace = np.bincount(index[same], weights=coords[same, 0] * coords[same + 1, 1]
                           - coords[same, 1] * coords[same + 1, 0], minlength=len(rings))
    sign = np.sign(shoelace) * np.where(exterior, 1.0, -1.0)
    open_coords, open_index = coords[~closing], index[~closing]
    ring_count = np.bincount(open_index, minlength=len(rings))
    ring_first = np.cumsum(ring_count) - ring_count
    tile_ring_count = np.bincount(tile_of, minlength=len(tiles))
    tile_ring_first = np.cumsum(tile_ring_count) - tile_ring_count  # rings are in tile order
    return (tile_ring_first, tile_ring_count, ring_first, ring_count, sign,
            open_coords[:, 0].copy(), open_coords[:, 1].copy())


#: Spacing of the boundary points of :class:`_CountyGeometry`, metres.
SAMPLE_SPACING_M = 200.0


def _boundary_samples(metric: np.ndarray):
    from scipy.spatial import cKDTree

    lines = shapely.segmentize(shapely.boundary(metric), SAMPLE_SPACING_M)
    return cKDTree(shapely.get_coordinates(lines))  # shared borders twice: harmless


_COUNTY_GEOMETRY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _county_geometry(regions) -> _CountyGeometry:
    with _GRIDS_LOCK:
        hit = _COUNTY_GEOMETRY.get(regions)
        if hit is None:
            counties = regions.counties
            metric = counties.to_crs(METRIC_CRS).geometry.to_numpy()
            shapely.prepare(metric)
            oriented = shapely.orient_polygons(counties.geometry.to_numpy())
            area = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in oriented]) / 1e6
            rep = counties.geometry.representative_point()
            k = scale_factor(rep.x.to_numpy(), rep.y.to_numpy())
            tiles, tile_county = _tiles(metric)
            hit = _CountyGeometry(metric, area, k * k, _boundary_samples(metric),
                                  SAMPLE_SPACING_M, tiles, tile_county,
                                  shapely.STRtree(tiles), shapely.STRtree(metric),
                                  *_tile_rings(tiles))
            _COUNTY_GEOMETRY[regions] = hit
        return hit


class CoverageEngine:
    """Coverage analysis of one set of sites (one ``data_version``) over one geography.

    Every method caches its result, so a worker computes the province once per version
    and radius. Safe to share between threads.

    Parameters
    ----------
    sites : pandas.DataFrame
        Station records (``id``, ``kind``, ``status``, ``lon``, ``lat`` WGS-84,
        ``county_code``, ...); only active stations count (:func:`service_stations`).
    regions : locator.geo.regions.Regions
        Districts and counties (EPSG:4326).
    population : mapping of str to float, optional
        Persons per union district code (default: the 2020 census, a coarse proxy).
    resolution : int
        H3 resolution of the demand grid.
    version : int
        The ``data_version`` the sites come from (reported, not used).
    cache_dir : str or pathlib.Path, optional
        Where the demand grid's cells are kept between processes (:func:`demand_grid`).
    demand : DemandGrid, optional
        A ready demand grid over ``regions`` (e.g. :func:`with_population_table`); then
        ``population`` and ``resolution`` are not used.
    areas_from : CoverageEngine, optional
        An engine over the same sites whose covered areas this one reuses (areas do not
        depend on the demand).
    """

    def __init__(self, sites: pd.DataFrame, regions, *,
                 population: Mapping[str, float] | None = None,
                 resolution: int = H3_RESOLUTION, version: int = 0,
                 cache_dir: str | Path | None = None, demand: DemandGrid | None = None,
                 areas_from: CoverageEngine | None = None):
        self.sites = sites
        self._areas_from = areas_from
        self.stations = service_stations(sites)
        self.regions = regions
        self.population = population
        self.resolution = resolution
        self.version = version
        self.cache_dir = cache_dir
        self.synthetic = bool(sites["synthetic"].any()) if (
            len(sites) and "synthetic" in sites) else False
        self.lon = self.stations["lon"].to_numpy(dtype=np.float64)
        self.lat = self.stations["lat"].to_numpy(dtype=np.float64)
        self._lock = threading.RLock()
        self._cache: dict = {} if demand is None else {"grid": demand}
        if demand is not None:
            self.resolution = demand.resolution

    def _cached(self, key, compute):
        with self._lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    @property
    def grid(self) -> DemandGrid:
        """The demand grid (shared by every engine over the same regions)."""
        return self._cached("grid", lambda: demand_grid(
            self.regions, self.population, self.resolution, cache_dir=self.cache_dir))

    def district_codes(self) -> tuple[str, ...]:
        return tuple(self.regions.districts["code"])

    def check_district(self, district: str | None) -> str | None:
        """``district`` if it is a known union district code (or None); else BadRequest."""
        if district is not None and district not in self.district_codes():
            raise BadRequest(f"没有这个地区代码 {shown(district)}（unknown district）。",
                             code="bad_parameter")
        return district

    def buffers(self, radius_m: int) -> np.ndarray:
        """Service areas of the active stations (EPSG:32650 polygons)."""
        radius_m = check_radius(radius_m)
        return self._cached(("buffers", radius_m),
                            lambda: service_areas(self.lon, self.lat, radius_m))

    def covered(self, radius_m: int) -> np.ndarray:
        """Per grid cell: is its centre within ``radius_m`` of an active station."""
        radius_m = check_radius(radius_m)
        g = self.grid
        if self._areas_from is not None and self._areas_from.grid.cell is g.cell:
            return self._areas_from.covered(radius_m)  # the same cells: share
        return self._cached(("covered", radius_m), lambda: _covered(
            g.lon, g.lat, (g.x, g.y), self.lon, self.lat, radius_m))

    def distance_m(self, positions: np.ndarray | None = None) -> np.ndarray:
        """Per grid cell: geodesic metres to the nearest active station (inf if none).

        Parameters
        ----------
        positions : numpy.ndarray of int, optional
            Only these cells (e.g. ``grid.select(district)``); computed directly unless
            the whole grid's distances are cached already. All cells (cached) when None.
        """
        g = self.grid
        if positions is not None and "distance" not in self._cache:
            return nearest_station_m(g.lon[positions], g.lat[positions], self.lon, self.lat)[0]
        everything = self._cached("distance", lambda: nearest_station_m(
            g.lon, g.lat, self.lon, self.lat)[0])
        return everything if positions is None else everything[positions]

    def figures(self, radius_m: int = DEFAULT_RADIUS_M) -> CoverageFigures:
        """Coverage figures at ``radius_m`` (see :class:`CoverageFigures`)."""
        radius_m = check_radius(radius_m)
        return self._cached(("figures", radius_m), lambda: self._figures(radius_m))

    def covered_km2(self, radius_m: int) -> np.ndarray:
        """Per county (rows of ``regions.counties``), the geodesic km² within ``radius_m``
        of an active station (:func:`disc_union_area`); shared with ``areas_from``."""
        radius_m = check_radius(radius_m)
        if self._areas_from is not None:
            return self._areas_from.covered_km2(radius_m)
        return self._cached(("areas", radius_m), lambda: self._covered_km2(radius_m))

    def _covered_km2(self, radius_m: int) -> np.ndarray:
        counties = self.regions.counties
        x, y = _FORWARD.transform(self.lon, self.lat)
        k = scale_factor(self.lon, self.lat)
        code_row = {c: i for i, c in enumerate(counties["code"])}
        own = self.stations["county_code"].map(code_row) if "county_code" in self.stations \
            else pd.Series(np.nan, index=self.stations.index)
        county_of = own.fillna(-1).to_numpy(dtype=np.int64)
        return disc_union_area(np.asarray(x), np.asarray(y), radius_m * k, k, county_of,
                               _county_geometry(self.regions))

    def _figures(self, radius_m: int) -> CoverageFigures:
        counties = self.regions.counties
        geometry = _county_geometry(self.regions)
        g = self.grid
        # The demand share (kd-tree, pyproj) and the areas (GEOS, numpy) release the GIL:
        # on a machine with two cores they run side by side.
        with ThreadPoolExecutor(max_workers=1) as pool:
            cached = self._cache.get(("covered", radius_m))
            if cached is None and self._areas_from is not None and \
                    self._areas_from.grid.cell is g.cell:
                cached = self.covered(radius_m)
            cells = None if cached is not None else pool.submit(
                _covered, g.lon, g.lat, (g.x, g.y), self.lon, self.lat, radius_m)
            covered_km2 = self.covered_km2(radius_m)
            cov = cached if cells is None else self._cache.setdefault(("covered", radius_m),
                                                                      cells.result())
        n = len(counties)
        population = np.bincount(g.county, weights=g.population, minlength=n)
        pop_covered = np.bincount(g.county, weights=g.population * cov, minlength=n)
        code_row = {c: i for i, c in enumerate(counties["code"])}
        station_rows = self.stations["county_code"].map(code_row).dropna().astype(int)
        stations = np.bincount(station_rows.to_numpy(), minlength=n)
        table = pd.DataFrame({
            "code": counties["code"].to_numpy(), "name": counties["name"].to_numpy(),
            "district_code": counties["district_code"].to_numpy(),
            "district_name": counties["district_name"].to_numpy(),
            "stations": stations.astype(np.int64), "population": population,
            "area_km2": geometry.area_km2,
            "covered_km2": covered_km2,
            "population_covered": pop_covered,
        })
        county_table = _ratios(table.copy())[list(FIGURE_COLUMNS)]
        sums = ["stations", "population", "area_km2", "covered_km2", "population_covered"]
        names = self.regions.district_names()
        districts = table.groupby("district_code", sort=True)[sums].sum().reset_index()
        districts.insert(0, "code", districts["district_code"])
        districts.insert(1, "name", districts["code"].map(names))
        districts["district_name"] = districts["name"]
        district_table = _ratios(districts)[list(FIGURE_COLUMNS)].reset_index(drop=True)
        total = {k: table[k].sum() for k in sums}
        province = _ratios(pd.DataFrame([{
            "code": None, "name": PROVINCE_NAME, "district_code": None,
            "district_name": None, **total}]))[list(FIGURE_COLUMNS)].iloc[0].to_dict()
        return CoverageFigures(
            radius_m=radius_m, counties=county_table, districts=district_table,
            province=province,
            _covered=lambda: gpd.GeoSeries(self._covered_geometry(radius_m), crs=METRIC_CRS,
                                           index=county_table.index))

    def _covered_geometry(self, radius_m: int) -> np.ndarray:
        """Per county, the union of the service-area polygons that reach it, clipped to
        it (EPSG:32650). Slow at 100,000 stations; the area figures do not use it."""
        geometry = _county_geometry(self.regions)
        buffers = self.buffers(radius_m)
        out = np.array([shapely.Polygon() for _ in range(len(geometry.metric))],
                       dtype=object)
        if len(buffers):
            tree = shapely.STRtree(buffers)
            for i, county in enumerate(geometry.metric):
                near = tree.query(county, predicate="intersects")
                if len(near):
                    out[i] = shapely.intersection(shapely.union_all(buffers[near]), county)
        return out

    def gaps(self, radius_m: int = DEFAULT_RADIUS_M, district: str | None = None,
             n: int = 10) -> pd.DataFrame:
        """The ``n`` H3 resolution-6 areas with the most unmet demand.

        Returns
        -------
        pandas.DataFrame
            Columns ``rank``, ``cell`` (H3 index, hex), ``lon``, ``lat`` (the area's
            centre, WGS-84), ``district_code``, ``district_name``, ``county_code``,
            ``county_name`` (of the county with most unmet demand in it),
            ``unmet_demand`` (persons in uncovered cells), ``share_uncovered`` (of the
            area's demand) and ``nearest_station_m`` (geodesic, from the centre; NaN
            when there are no active stations). Highest unmet demand first; ties by cell.
        """
        radius_m = check_radius(radius_m)
        self.check_district(district)
        return self._cached(("gaps", radius_m, district, n),
                            lambda: self._gaps(radius_m, district, n))

    def _gaps(self, radius_m, district, n) -> pd.DataFrame:
        if n <= 0:
            return pd.DataFrame([], columns=GAP_COLUMNS)
        g = self.grid
        pos = g.select(district)
        cov = self.covered(radius_m)[pos]
        parent = g.parents(GAP_RESOLUTION)[pos]
        pop = g.population[pos]
        frame = pd.DataFrame({"parent": parent, "county": g.county[pos], "pop": pop,
                              "unmet": pop * ~cov})
        per_parent = frame.groupby("parent", sort=True).agg(
            unmet_demand=("unmet", "sum"), demand=("pop", "sum"))
        per_parent = per_parent[per_parent["unmet_demand"] > 0]
        per_parent = per_parent.sort_values("unmet_demand", ascending=False, kind="stable")
        top = per_parent.head(n)
        by_county = frame[frame["parent"].isin(top.index)].groupby(
            ["parent", "county"], sort=True)["unmet"].sum().reset_index()
        by_county = by_county.sort_values(["parent", "unmet", "county"],
                                          ascending=[True, False, True], kind="stable")
        main_county = by_county.drop_duplicates("parent").set_index("parent")["county"]
        counties = self.regions.counties
        rows = []
        for rank, (parent_cell, row) in enumerate(top.iterrows(), start=1):
            lat, lon = h3n.cell_to_latlng(parent_cell)
            c = counties.iloc[int(main_county[parent_cell])]
            rows.append({
                "rank": rank, "cell": h3.int_to_str(int(parent_cell)),
                "lon": lon, "lat": lat, "district_code": c["district_code"],
                "district_name": c["district_name"], "county_code": c["code"],
                "county_name": c["name"], "unmet_demand": float(row["unmet_demand"]),
                "share_uncovered": float(row["unmet_demand"] / row["demand"]),
            })
        out = pd.DataFrame(rows, columns=GAP_COLUMNS)
        if len(out):
            d, _ = nearest_station_m(out["lon"], out["lat"], self.lon, self.lat)
            out["nearest_station_m"] = np.where(np.isfinite(d), d, np.nan)
        return out

    def suggest(self, radius_m: int = DEFAULT_RADIUS_M, district: str | None = None,
                n: int = 10) -> pd.DataFrame:
        """``n`` new sites by greedy maximal coverage, with the demand each one adds.

        Candidates are the centres of uncovered cells of the area; each pick covers the
        cells of the area within ``radius_m`` of it that are not covered yet.

        Returns
        -------
        pandas.DataFrame
            Columns ``rank``, ``cell`` (H3 index, hex), ``lon``, ``lat`` (WGS-84),
            ``district_code``, ``district_name``, ``county_code``, ``county_name``,
            ``demand_added`` (persons), ``cells_added`` and ``share_demand_after`` (the
            area's share of demand covered once this and the earlier picks are built).
            Fewer than ``n`` rows when nothing is left to cover.
        """
        radius_m = check_radius(radius_m)
        self.check_district(district)
        return self._cached(("suggest", radius_m, district, n),
                            lambda: self._suggest(radius_m, district, n))

    def _suggest(self, radius_m, district, n) -> pd.DataFrame:
        if n <= 0:
            return pd.DataFrame([], columns=SUGGESTION_COLUMNS)
        g = self.grid
        pos = g.select(district)
        cov = self.covered(radius_m)[pos]
        weight = np.where(cov, 0.0, g.population[pos])
        candidates = np.flatnonzero(~cov)
        tiebreak = self.distance_m() if district is None else self.distance_m(pos)
        picks, gains, counts = greedy_sites(
            g.x[pos], g.y[pos], g.scale[pos], weight, candidates, radius_m, n,
            tiebreak=tiebreak)
        total = g.population[pos].sum()
        covered_now = (g.population[pos] * cov).sum()
        counties = self.regions.counties
        rows = []
        for rank, (p, gain, count) in enumerate(zip(picks, gains, counts, strict=True),
                                                start=1):
            cell = pos[p]
            c = counties.iloc[int(g.county[cell])]
            covered_now += gain
            rows.append({
                "rank": rank, "cell": h3.int_to_str(int(g.cell[cell])),
                "lon": float(g.lon[cell]), "lat": float(g.lat[cell]),
                "district_code": c["district_code"], "district_name": c["district_name"],
                "county_code": c["code"], "county_name": c["name"],
                "demand_added": float(gain), "cells_added": int(count),
                "share_demand_after": float(covered_now / total) if total > 0 else np.nan,
            })
        return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)


    def report(self, radius_m: int = DEFAULT_RADIUS_M, district: str | None = None, *,
               gaps: int = 10) -> dict:
        """Everything a manager reads about one area, as plain JSON-ready data.

        The body of ``GET /api/v1/coverage`` and the summary of every export.

        Parameters
        ----------
        radius_m : int
            Service radius, geodesic metres.
        district : str, optional
            Union district code; the province when None.
        gaps : int
            How many gap areas to list.

        Returns
        -------
        dict
            ``district_code`` (None for the province), ``name``, ``radius_m`` and the
            figures of :data:`FIGURE_COLUMNS` for the area; ``districts`` (province only)
            and ``counties`` (rows with the same figures); ``gaps``; ``demand`` (what the
            population is, with :data:`DEMAND_NOTE`); ``method``; ``data_version`` and
            ``synthetic``. Numbers are rounded for reading; NaN becomes None (JSON null).
        """
        radius_m = check_radius(radius_m)
        self.check_district(district)
        return self._cached(("report", radius_m, district, gaps),
                            lambda: self._report(radius_m, district, gaps))

    def _report(self, radius_m: int, district: str | None, gaps: int) -> dict:
        figures = self.figures(radius_m)
        head = _rounded(figures.summary(district))
        body = {"district_code": district, "name": head["name"], "radius_m": radius_m}
        body.update({k: head[k] for k in FIGURE_COLUMNS[4:]})
        if district is None:
            body["districts"] = [_area_row(r, "district") for r in
                                 figures.districts.to_dict("records")]
        body["counties"] = [_area_row(r, "county") for r in
                            figures.county_rows(district).to_dict("records")]
        body["gaps"] = [_rounded(r) for r in self.gaps(radius_m, district, gaps)
                        .to_dict("records")]
        grid = self.grid
        body["demand"] = {"source": grid.source, "h3_resolution": grid.resolution,
                          "coarse_proxy": grid.coarse_proxy, "note": grid.note,
                          "unit": "searches" if grid.source == "searches" else "persons",
                          **{k: plain(v) for k, v in grid.extra.items()}}
        body["method"] = {
            "counted": "active stations (kind=station); mother rooms and closed stations "
                       "are not counted",
            "service_area": "geodesic circle of radius_m around each station",
            "share_area": "covered_km2 / area_km2",
            "share_demand": "population-weighted share of H3 cells whose centre is within "
                            "radius_m (geodesic) of an active station",
        }
        body["data_version"] = self.version
        body["synthetic"] = self.synthetic
        return body


_ROUND = {"population": 0, "population_covered": 0, "area_km2": 3, "covered_km2": 3,
          "share_area": 4, "share_demand": 4, "stations_per_10k": 3, "unmet_demand": 0,
          "share_uncovered": 4, "nearest_station_m": 1, "demand_added": 0,
          "share_demand_after": 4, "lon": 6, "lat": 6}


def _rounded(row: Mapping) -> dict:
    out = {}
    for key, value in row.items():
        value = plain(value)
        if isinstance(value, float) and key in _ROUND:
            value = round(value, _ROUND[key]) if _ROUND[key] else int(round(value))
        out[key] = value
    return out


def _area_row(row: Mapping, level: str) -> dict:
    row = _rounded(row)
    code, name = row.pop("code"), row.pop("name")
    if level == "district":
        row.pop("district_code"), row.pop("district_name")
    return {f"{level}_code": code, f"{level}_name": name, **row}


GAP_COLUMNS = ("rank", "cell", "lon", "lat", "district_code", "district_name", "county_code",
               "county_name", "unmet_demand", "share_uncovered", "nearest_station_m")
SUGGESTION_COLUMNS = ("rank", "cell", "lon", "lat", "district_code", "district_name",
                      "county_code", "county_name", "demand_added", "cells_added",
                      "share_demand_after")


# --------------------------------------------------------------------------------------
# Greedy maximal coverage


def greedy_sites(x, y, scale, weight, candidates, radius_m: float, n: int, *,
                 tiebreak=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy maximal coverage: pick ``n`` candidate points covering the most weight.

    Parameters
    ----------
    x, y : array_like
        Demand points in UTM 50N metres (EPSG:32650).
    scale : array_like
        UTM point scale factor at each point (:func:`scale_factor`).
    weight : array_like
        Demand per point (persons); 0 for points already covered.
    candidates : array_like of int
        Positions (into ``x``) of the points that may be picked as sites.
    radius_m : float
        Geodesic radius a site covers, metres.
    n : int
        How many sites to pick (fewer when no candidate adds anything).
    tiebreak : array_like, optional
        Per point; among equal gains the candidate with the smaller value wins, then the
        lower position.

    Returns
    -------
    picks : numpy.ndarray of int
        Positions (into ``x``) of the picked sites, in pick order.
    gains : numpy.ndarray
        Weight each pick adds (non-increasing).
    counts : numpy.ndarray of int
        Points each pick newly covers (with positive weight).

    Notes
    -----
    A pair of points is within ``radius_m`` when their planar distance divided by the
    mean scale factor of the two is at most ``radius_m``: UTM is conformal, so over a few
    kilometres this equals the geodesic distance within a millimetre. The search is lazy
    greedy (gains only shrink as points get covered), which picks exactly what plain
    greedy picks.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64).copy()
    candidates = np.asarray(candidates, dtype=np.int64)
    tie = np.zeros(len(x)) if tiebreak is None else np.asarray(tiebreak, dtype=np.float64)
    empty = (np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64))
    if n <= 0 or len(candidates) == 0:
        return empty
    demand = np.flatnonzero(weight > 0)
    if len(demand) == 0:
        return empty
    tree = shapely.STRtree(shapely.points(x[demand], y[demand]))
    cx, cy = x[candidates], y[candidates]
    ci, di = tree.query(shapely.points(cx, cy), predicate="dwithin",
                        distance=radius_m * scale[candidates] * 1.001 + 1e-3)
    cells = demand[di]
    planar = np.hypot(cx[ci] - x[cells], cy[ci] - y[cells])
    inside = planar / ((scale[candidates][ci] + scale[cells]) / 2) <= radius_m
    ci, cells = ci[inside], cells[inside]
    order = np.argsort(ci, kind="stable")
    ci, cells = ci[order], cells[order]
    starts = np.searchsorted(ci, np.arange(len(candidates) + 1))
    gain = np.bincount(ci, weights=weight[cells], minlength=len(candidates))
    heap = [(-gain[j], tie[candidates[j]], int(candidates[j]), j)
            for j in np.flatnonzero(gain > 0)]
    heapq.heapify(heap)
    picks, gains, counts = [], [], []
    while heap and len(picks) < n:
        neg, t, c, j = heapq.heappop(heap)
        mine = cells[starts[j]:starts[j + 1]]
        current = float(weight[mine].sum())
        if current <= 0:
            continue
        if current < -neg and heap and (-current, t, c) > heap[0][:3]:
            heapq.heappush(heap, (-current, t, c, j))  # stale: another pick took some
            continue
        picks.append(c)
        gains.append(current)
        counts.append(int((weight[mine] > 0).sum()))
        weight[mine] = 0.0
    return (np.asarray(picks, dtype=np.int64), np.asarray(gains, dtype=np.float64),
            np.asarray(counts, dtype=np.int64))
