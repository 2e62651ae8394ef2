"""Nearest sites: exact k-nearest by geodesic distance on the WGS-84 ellipsoid.

The sites are kept as GeoPandas layers per union district (the data model the map,
coverage and staff views share). Searching only the courier's own district is wrong for
7-11 % of users near borders (research/performance.md §4), so the search runs over
**one Shapely STRtree spanning all district layers** in a metric CRS. We measured the
alternative — a tree per district plus a border-aware search that visits every district
nearer than the current k-th candidate — in ``benchmarks/bench_nearest.py``: it gives the
same answers but costs more per query (several tree calls instead of one), so the single
tree serves the requests and the per-district layers serve everything else.

Exactness. Planar work happens in UTM zone 50N (EPSG:32650), whose point scale factor
``s`` over Hebei and a wide margin around it stays within ``[0.9996, 1.002]``. A straight
segment in the projection is never longer than the projected geodesic, so a site whose
planar distance exceeds ``r`` is geodesically farther than ``r / S_MAX``. The search
grows ``r`` until it holds at least ``k`` matching candidates, ranks them by exact
geodesic distance (``pyproj.Geod``, Karney's algorithm), and accepts the ranking only when
the k-th geodesic distance is at most ``r / S_MAX``; otherwise it widens ``r`` once more.
Queries outside the margin (where UTM 50N would be too distorted) fall back to a geodesic
brute force over every site, which is exact by construction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from locator.data.models import KINDS, SERVICES
from locator.geo import hours

__all__ = ["METRIC_CRS", "NearestResult", "SiteIndex", "geodesic_m"]

METRIC_CRS = "EPSG:32650"
GEOD = Geod(ellps="WGS84")
# Upper bound of the UTM 50N scale factor inside SAFE_BOUNDS (lon 110.5-123.5 at lat <= 46:
# 0.9996 * (1 + (6.5 deg * cos 34 deg)^2 / 2) < 1.0052), with margin.
S_MAX = 1.006
SAFE_BOUNDS = (110.5, 34.0, 123.5, 46.0)  # lon/lat box in which the planar search is exact
MAX_K = 50
_SERVICE_BIT = {name: 1 << i for i, name in enumerate(SERVICES)}
_FORWARD = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def geodesic_m(lon, lat, lons, lats) -> np.ndarray:
    """Geodesic distances in metres on the WGS-84 ellipsoid from one point to many.

    Parameters
    ----------
    lon, lat : float
        The origin, WGS-84 degrees.
    lons, lats : array_like
        Destinations, WGS-84 degrees.
    """
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    if lons.size == 0:
        return np.empty(0)
    _, _, dist = GEOD.inv(np.full_like(lons, lon), np.full_like(lats, lat), lons, lats)
    return np.asarray(dist, dtype=np.float64)


def service_mask(services) -> int:
    """Bit mask of service codes (unknown codes raise ``KeyError``)."""
    mask = 0
    for s in services:
        mask |= _SERVICE_BIT[s]
    return mask


@dataclass(frozen=True)
class NearestResult:
    """Positions (rows of :attr:`SiteIndex.sites`) nearest first, with distances.

    ``beyond_range`` is true when nothing matched within ``max_distance_m`` and the
    nearest matches beyond it are returned instead. ``open_now`` holds, per result,
    True / False / None (hours unknown) at the query time.
    """

    positions: np.ndarray
    distance_m: np.ndarray
    open_now: list
    beyond_range: bool


class SiteIndex:
    """All sites of one data version, indexed for exact geodesic nearest search.

    Parameters
    ----------
    sites : pandas.DataFrame
        One row per site with at least ``id``, ``kind``, ``lon``, ``lat`` (WGS-84 degrees),
        ``district_code``, ``services`` (list of codes), ``opening_hours`` and ``status``.
        Removed sites are dropped.
    version : int
        The store's ``data_version`` these rows come from.
    """

    def __init__(self, sites: pd.DataFrame, version: int = 0):
        sites = sites[sites["status"] != "removed"].reset_index(drop=True)
        self.sites = sites
        self.version = version
        self.lon = sites["lon"].to_numpy(dtype=np.float64)
        self.lat = sites["lat"].to_numpy(dtype=np.float64)
        x, y = _FORWARD.transform(self.lon, self.lat)
        self.xy = np.column_stack([x, y])
        points = shapely.points(self.xy) if len(sites) else np.empty(0, dtype=object)
        self.tree = shapely.STRtree(points)
        self.kind = sites["kind"].map({k: i for i, k in enumerate(KINDS)}).to_numpy(np.int8)
        self.active = (sites["status"] == "active").to_numpy()
        self.services = np.array([service_mask(s or ()) for s in sites["services"]],
                                 dtype=np.int64)
        self.hours = sites["opening_hours"].fillna("").tolist()
        self.layers = {
            code: gpd.GeoDataFrame(group, geometry=points[group.index], crs=METRIC_CRS)
            for code, group in sites.groupby("district_code", sort=True)
        }

    def __len__(self) -> int:
        return len(self.sites)

    def _mask(self, kind, services, include_closed) -> np.ndarray:
        mask = self.active.copy() if not include_closed else np.ones(len(self), bool)
        if kind is not None:
            mask &= self.kind == KINDS.index(kind)
        if services:
            need = service_mask(services)
            mask &= (self.services & need) == need
        return mask

    def nearest(self, lon: float, lat: float, *, k: int = 5, kind: str | None = None,
                services=(), open_at: dt.datetime | None = None,
                max_distance_m: float | None = None,
                include_closed: bool = False) -> NearestResult:
        """The ``k`` nearest matching sites to a WGS-84 point, exact on the ellipsoid.

        Parameters
        ----------
        lon, lat : float
            Query point, WGS-84 degrees (anywhere; no need to be inside Hebei).
        k : int
            How many sites, 1..50.
        kind : {"station", "mother_room"}, optional
        services : iterable of str
            Service codes that must all be present.
        open_at : datetime.datetime, optional
            When given, only sites open at that moment (Asia/Shanghai hours) match.
        max_distance_m : float, optional
            Range in geodesic metres. When nothing matches within it, the nearest
            matches beyond it are returned with ``beyond_range=True``.
        include_closed : bool
            Also consider temporarily closed sites (removed ones never appear).

        Returns
        -------
        NearestResult
        """
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be within 1..{MAX_K}")
        mask = self._mask(kind, services, include_closed)
        if open_at is not None:
            accept = lambda pos: _open_filter(self.hours, pos, open_at)  # noqa: E731
        else:
            accept = None
        positions, dist = self._knn(lon, lat, k, mask, accept)
        beyond = False
        if max_distance_m is not None and len(positions):
            inside = dist <= max_distance_m
            if inside.any():
                positions, dist = positions[inside], dist[inside]
            else:
                beyond = True
        when = open_at or dt.datetime.now(hours.TZ)
        state = [hours.open_at(self.hours[p], when) for p in positions]
        return NearestResult(positions, dist, state, beyond)

    def _knn(self, lon, lat, k, mask, accept):
        w, s, e, n = SAFE_BOUNDS
        if not (w <= lon <= e and s <= lat <= n):
            return self._brute(lon, lat, k, mask, accept)
        qx, qy = _FORWARD.transform(lon, lat)
        query = shapely.points(qx, qy)
        total = int(mask.sum())
        if total == 0:
            return np.empty(0, np.int64), np.empty(0)
        want = min(k, total)
        # First radius: a few times the nearest site's distance (one cheap tree call).
        near = self.tree.query_nearest(query)
        d1 = float(np.hypot(*(self.xy[near[0]] - (qx, qy)))) if len(near) else 1000.0
        r = max(d1 * 3.0, 500.0)
        while True:
            cand = self.tree.query(query, predicate="dwithin", distance=r)
            cand = cand[mask[cand]]
            exhausted = len(cand) == total or r > 4e6  # every matching site is inside r
            if accept is not None and (len(cand) >= want or exhausted):
                cand = cand[accept(cand)]
            if len(cand) >= want or exhausted:
                break
            r *= 2.0
        if len(cand) == 0:
            return np.empty(0, np.int64), np.empty(0)
        want = min(want, len(cand))
        dist = geodesic_m(lon, lat, self.lon[cand], self.lat[cand])
        order = np.lexsort((cand, dist))[:want]
        kth = dist[order[-1]]
        if kth * S_MAX > r:  # a site just outside r could still beat the k-th: widen once
            cand = self.tree.query(query, predicate="dwithin", distance=kth * S_MAX)
            cand = cand[mask[cand]]
            if accept is not None:
                cand = cand[accept(cand)]
            dist = geodesic_m(lon, lat, self.lon[cand], self.lat[cand])
            order = np.lexsort((cand, dist))[:want]
        return cand[order].astype(np.int64), dist[order]

    def _brute(self, lon, lat, k, mask, accept):
        cand = np.flatnonzero(mask)
        if accept is not None:
            cand = cand[accept(cand)]
        dist = geodesic_m(lon, lat, self.lon[cand], self.lat[cand])
        order = np.lexsort((cand, dist))[:k]
        return cand[order].astype(np.int64), dist[order]


def _open_filter(hours_list, positions, when) -> np.ndarray:
    return np.array([hours.open_at(hours_list[p], when) is True for p in positions], bool)
