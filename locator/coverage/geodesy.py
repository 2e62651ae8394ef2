"""The metric side of coverage: UTM 50N scale factors, service-area circles, and geodesic
distance from points to their nearest station.

Planar work is done in UTM zone 50N (EPSG:32650, :data:`~locator.geo.index.METRIC_CRS`);
every input and output point is WGS-84 longitude/latitude in degrees. UTM is conformal,
so a small geodesic circle of radius ``R`` is a planar circle of radius ``k * R``, ``k``
the point scale factor (:func:`scale_factor`: 0.9996 on 117 E, up to 1.0008 at Hebei's
western edge). A plain planar buffer of ``R`` would be off by up to 0.08 % in radius and
0.17 % in area at 113.5 E; the scale-corrected circle is within 4 mm of ``R`` everywhere
in Hebei (measured against ``pyproj.Geod.inv`` on 256 boundary vertices, see
``tests/unit/test_coverage``). Distances are exact geodesic metres on WGS-84
(``pyproj.Geod``); the planar search only picks the candidates.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Transformer

from locator.geo.index import GEOD, METRIC_CRS, S_MAX, SAFE_BOUNDS, geodesic_m

__all__ = ["QUAD_SEGS", "S_MIN", "TO_METRIC", "covered_mask", "nearest_station_m",
           "scale_factor", "service_areas"]

#: Segments per quarter circle of a drawn service area.
QUAD_SEGS = 16
#: The smallest UTM scale factor (on the central meridian); with ``S_MAX`` it bounds the
#: ratio of planar to geodesic length inside ``SAFE_BOUNDS``.
S_MIN = 0.9996
#: WGS-84 lon/lat degrees → UTM 50N metres (``always_xy``).
TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)

_N_SIDES = 4 * QUAD_SEGS
# Radius factor giving an n-gon the area of its circle: n/2 r^2 sin(2 pi/n) = pi R^2.
_AREA_FACTOR = math.sqrt(2 * math.pi / (_N_SIDES * math.sin(2 * math.pi / _N_SIDES)))
# UTM zone 50N on WGS-84: central meridian, scale on it, second eccentricity squared.
_CENTRAL_MERIDIAN, _K0 = 117.0, 0.9996
_EP2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
_EP2 = _EP2 / (1 - _EP2)


def scale_factor(lon, lat) -> np.ndarray:
    """Point scale factor ``k`` of UTM zone 50N (EPSG:32650) at WGS-84 points.

    A geodesic length ``L`` near the point is ``k * L`` in the projection; an area ``A``
    is ``k**2 * A``.

    Parameters
    ----------
    lon, lat : array_like
        Points, WGS-84 degrees.

    Returns
    -------
    numpy.ndarray
        ``k`` per point (dimensionless; 0.9996 on the central meridian 117 E).

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
    x, y = TO_METRIC.transform(lon, lat)
    r = radius_m * scale_factor(lon, lat) * _AREA_FACTOR
    return shapely.buffer(shapely.points(x, y), r, quad_segs=QUAD_SEGS)



def _degrees(*arrays) -> list[np.ndarray]:
    """Each argument as a 1-d float64 array (degrees)."""
    return [np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in arrays]


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

    Examples
    --------
    >>> d, i = nearest_station_m([114.5], [38.0], [114.5, 115.0], [38.01, 38.0])
    >>> round(float(d[0])), int(i[0])
    (1110, 0)
    """
    lon, lat, slon, slat = _degrees(lon, lat, station_lon, station_lat)
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
    if len(q):
        dist[q], pos[q] = _nearest_planar_first(lon[q], lat[q], slon, slat)
    return dist, pos


def _nearest_planar_first(lon, lat, slon, slat) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest_station_m` for points and stations all inside ``SAFE_BOUNDS``."""
    x, y = TO_METRIC.transform(lon, lat)
    sx, sy = TO_METRIC.transform(slon, slat)
    tree = shapely.STRtree(shapely.points(sx, sy))
    points = shapely.points(x, y)
    _, planar = tree.query_nearest(points, return_distance=True, all_matches=False)
    bound = planar * (S_MAX / S_MIN) + 1e-3
    qi, si = tree.query(points, predicate="dwithin", distance=bound)
    d = np.asarray(GEOD.inv(lon[qi], lat[qi], slon[si], slat[si])[2], dtype=np.float64)
    order = np.lexsort((si, d, qi))
    first = order[np.unique(qi[order], return_index=True)[1]]
    dist = np.full(len(lon), np.inf)
    pos = np.full(len(lon), -1, dtype=np.int64)
    dist[qi[first]] = d[first]
    pos[qi[first]] = si[first]
    return dist, pos


def covered_mask(lon, lat, station_lon, station_lat, radius_m: float, *,
                 xy: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Which points lie within ``radius_m`` geodesic metres of at least one station.

    Parameters
    ----------
    lon, lat : array_like
        Points, WGS-84 degrees.
    station_lon, station_lat : array_like
        Stations, WGS-84 degrees.
    radius_m : float
        Geodesic metres (boundary included).
    xy : (numpy.ndarray, numpy.ndarray), optional
        The points already in UTM 50N metres (EPSG:32650), to save projecting them again.

    Returns
    -------
    numpy.ndarray of bool
        One per point.

    Notes
    -----
    The planar distance ``p`` between two points inside ``SAFE_BOUNDS`` bounds their
    geodesic distance ``g``: ``p / S_MAX <= g <= p / S_MIN`` (the scale factor stays within
    ``[S_MIN, S_MAX]``). So a point whose planar-nearest station is within ``R * S_MIN`` is
    covered, one with none within ``R * S_MAX`` is not, and only the thin band between
    (a few metres wide) is decided by exact geodesic distances (``pyproj.Geod``).

    Examples
    --------
    >>> covered_mask([114.5, 114.5], [38.0, 38.02], [114.5], [38.009], 1000).tolist()
    [True, False]
    """
    lon, lat, slon, slat = _degrees(lon, lat, station_lon, station_lat)
    out = np.zeros(len(lon), dtype=bool)
    if len(slon) == 0 or len(lon) == 0:
        return out
    if not (_inside_safe_bounds(lon, lat).all() and _inside_safe_bounds(slon, slat).all()):
        for i in range(len(lon)):
            out[i] = bool((geodesic_m(lon[i], lat[i], slon, slat) <= radius_m).any())
        return out
    from scipy.spatial import cKDTree

    x, y = TO_METRIC.transform(lon, lat) if xy is None else xy
    sx, sy = TO_METRIC.transform(slon, slat)
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
