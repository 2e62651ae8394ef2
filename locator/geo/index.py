"""Nearest sites: exact k-nearest by geodesic distance on the WGS-84 ellipsoid.

Searching only the courier's own district is wrong for 7-11 % of users near borders
(research/performance.md §4), so the search runs over **one Shapely STRtree of every
site** in a metric CRS. We measured the alternative — a tree per district plus a
border-aware search that visits every district nearer than the current k-th candidate —
in ``benchmarks/bench_nearest.py``: it gives the same answers but costs more per query
(several tree calls instead of one). The index keeps no per-district layers: nothing
needs them (filters by district are a column test on the snapshot).

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
import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from locator.geo import hours
from locator.vocabulary import KINDS, SERVICE_BIT

__all__ = ["METRIC_CRS", "NearestResult", "SiteIndex", "geodesic_m"]

#: UTM zone 50N, metres: the planar CRS of the search tree. Hebei's western edge lies in
#: zone 49; :data:`S_MAX` bounds the scale error there too.
METRIC_CRS = "EPSG:32650"
#: The WGS-84 ellipsoid: every distance the index returns is geodesic on it.
GEOD = Geod(ellps="WGS84")
# Upper bound of the UTM 50N scale factor inside SAFE_BOUNDS (lon 110.5-123.5 at lat <= 46:
# 0.9996 * (1 + (6.5 deg * cos 34 deg)^2 / 2) < 1.0052), with margin.
S_MAX = 1.006
SAFE_BOUNDS = (110.5, 34.0, 123.5, 46.0)  # lon/lat box in which the planar search is exact
MAX_K = 50  # most sites one query may ask for
GRID_M = 10_000.0  # cell size of the density grid that picks a first search radius
_FORWARD = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def geodesic_m(lon, lat, lons, lats) -> np.ndarray:
    """Geodesic distances in metres on the WGS-84 ellipsoid from one point to many.

    Parameters
    ----------
    lon, lat : float
        The origin, WGS-84 longitude/latitude in degrees (EPSG:4326).
    lons, lats : array_like
        Destinations, WGS-84 longitude/latitude in degrees (EPSG:4326), equally long.

    Returns
    -------
    numpy.ndarray of float64
        Geodesic metres on the WGS-84 ellipsoid (Karney's algorithm, ``pyproj.Geod``),
        one per destination; empty for no destinations.

    Examples
    --------
    >>> round(float(geodesic_m(0.0, 0.0, [0.0], [1.0])[0]), 1)  # 1 degree of latitude
    110574.4
    """
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    if lons.size == 0:
        return np.empty(0)
    _, _, dist = GEOD.inv(np.full_like(lons, lon), np.full_like(lats, lat), lons, lats)
    return np.asarray(dist, dtype=np.float64)


def service_mask(services) -> int:
    """Bit mask of service codes (unknown codes raise ``KeyError``).

    Parameters
    ----------
    services : iterable of str
        Service codes of :data:`locator.vocabulary.SERVICES`.

    Returns
    -------
    int
        The OR of their :data:`locator.vocabulary.SERVICE_BIT` values; 0 for none.

    Examples
    --------
    >>> service_mask(["drinking_water", "toilet"])  # bits 0 and 5
    33
    """
    mask = 0
    for s in services:
        mask |= SERVICE_BIT[s]
    return mask


@dataclass(frozen=True)
class NearestResult:
    """Positions (rows of :attr:`SiteIndex.sites`) nearest first, with distances.

    Attributes
    ----------
    positions : numpy.ndarray of int64
        Rows of :attr:`SiteIndex.sites`, nearest first (ties by position).
    distance_m : numpy.ndarray of float64
        Geodesic metres on the WGS-84 ellipsoid from the query point, one per position.
    open_now : list of bool or None
        Per result, open (True), closed (False) or hours unknown (None) at the query time
        (``open_at``, else now), judged in Asia/Shanghai.
    beyond_range : bool
        True when nothing matched within ``max_distance_m`` and the nearest matches
        beyond it are returned instead.
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

    Attributes
    ----------
    sites : pandas.DataFrame
        The rows that are not removed, index 0..n-1: a result's positions index it.
    version : int
        As given.
    lon, lat : numpy.ndarray of float64
        WGS-84 longitude/latitude in degrees (EPSG:4326), per site.
    x, y : numpy.ndarray of float64
        The same points in UTM zone 50N metres (EPSG:32650, :data:`METRIC_CRS`).
    tree : shapely.STRtree
        Over the points ``(x, y)``, in EPSG:32650 metres.

    Examples
    --------
    >>> sites = pd.DataFrame({
    ...     "id": ["a", "b", "c"], "kind": ["station", "station", "mother_room"],
    ...     "lon": [114.50, 114.52, 114.60], "lat": [38.04, 38.05, 38.10],
    ...     "district_code": ["130100"] * 3, "services": [["toilet"], [], ["toilet"]],
    ...     "opening_hours": ["24/7", "", "Mo-Fr 09:00-17:00"],
    ...     "status": ["active", "active", "active"]})
    >>> res = SiteIndex(sites).nearest(114.51, 38.045, k=2, services=["toilet"])
    >>> res.positions.tolist(), [round(float(d)) for d in res.distance_m]
    ([0, 2], [1039, 9982])
    """

    def __init__(self, sites: pd.DataFrame, version: int = 0):
        sites = sites[sites["status"] != "removed"].reset_index(drop=True)
        self.sites = sites
        self.version = version
        self.lon = sites["lon"].to_numpy(dtype=np.float64)
        self.lat = sites["lat"].to_numpy(dtype=np.float64)
        x, y = _FORWARD.transform(self.lon, self.lat)
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        points = shapely.points(self.x, self.y) if len(sites) else np.empty(0, dtype=object)
        self.tree = shapely.STRtree(points)
        self.kind = sites["kind"].map({k: i for i, k in enumerate(KINDS)}).to_numpy(np.int8)
        self.active = (sites["status"] == "active").to_numpy()
        self.services = np.array([service_mask(s or ()) for s in sites["services"]],
                                 dtype=np.int64)
        self.hours = sites["opening_hours"].fillna("").tolist()
        # Sites share few distinct hour expressions: "open now" is evaluated once per
        # expression and minute, then spread to the sites by code.
        self._hour_texts, codes = np.unique(np.asarray(self.hours, dtype=object).astype(str),
                                            return_inverse=True)
        self._hour_code = codes.astype(np.int32)
        self._masks: dict[tuple, tuple[np.ndarray, int]] = {}
        self._states: dict[dt.datetime, list] = {}
        self._grid = _density_grid(self.x, self.y)

    def __len__(self) -> int:
        return len(self.sites)

    def _mask(self, kind, services, include_closed, open_at,
              all_day=False) -> tuple[np.ndarray, int]:
        """The filter as a boolean array over the sites, and its count; cached per filter
        (and per minute for ``open_at``), so a query does no O(n) work once warm."""
        minute = None
        if open_at is not None:
            minute = open_at.astimezone(hours.TZ).replace(second=0, microsecond=0)
        key = (kind, tuple(sorted(services)), include_closed, minute, all_day)
        hit = self._masks.get(key)
        if hit is not None:
            return hit
        mask = self.active.copy() if not include_closed else np.ones(len(self), bool)
        if kind is not None:
            mask &= self.kind == KINDS.index(kind)
        if services:
            need = service_mask(services)
            mask &= (self.services & need) == need
        if all_day and len(self):
            mask &= (self._hour_texts == "24/7")[self._hour_code]
        if minute is not None and len(self):
            open_codes = np.array([st is True for st in self.open_states(minute)], dtype=bool)
            mask &= open_codes[self._hour_code]
        if len(self._masks) >= 64:
            self._masks.clear()
        self._masks[key] = (mask, int(mask.sum()))
        return self._masks[key]

    def nearest(self, lon: float, lat: float, *, k: int = 5, kind: str | None = None,
                services=(), open_at: dt.datetime | None = None,
                max_distance_m: float | None = None,
                include_closed: bool = False, all_day: bool = False,
                at: dt.datetime | None = None) -> NearestResult:
        """The ``k`` nearest matching sites to a WGS-84 point, exact on the ellipsoid.

        Parameters
        ----------
        lon, lat : float
            Query point, WGS-84 longitude/latitude in degrees (EPSG:4326); anywhere, no
            need to be inside Hebei (outside :data:`SAFE_BOUNDS` a geodesic brute force
            answers, still exact).
        k : int
            How many sites (a count), 1..:data:`MAX_K`.
        kind : {"station", "mother_room"}, optional
            Only sites of this kind; any kind when ``None``.
        services : iterable of str
            Service codes that must all be present.
        open_at : datetime.datetime, optional
            An aware datetime: when given, only sites open at that moment (judged in
            Asia/Shanghai, to the minute) match, and ``open_now`` is judged then too.
        max_distance_m : float, optional
            Range in geodesic metres. When nothing matches within it, the nearest
            matches beyond it are returned with ``beyond_range=True``.
        include_closed : bool
            Also consider temporarily closed sites (removed ones never appear).
        all_day : bool
            Only sites open around the clock (``opening_hours`` of ``24/7``).
        at : datetime.datetime, optional
            The moment each result's ``open_now`` is judged when ``open_at`` is not given
            (the request's clock, so one answer never mixes two moments); the current
            time when both are ``None``.

        Returns
        -------
        NearestResult
            At most ``k`` sites, nearest first by geodesic metres on the WGS-84
            ellipsoid; fewer when fewer match (or fewer lie within ``max_distance_m``).

        Raises
        ------
        ValueError
            If ``k`` is outside 1..:data:`MAX_K`, or ``kind`` is not a known kind.
        KeyError
            If a service code is unknown.
        """
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be within 1..{MAX_K}")
        mask, total = self._mask(kind, services, include_closed, open_at, all_day)
        positions, dist = self._knn(lon, lat, min(k, total), mask, total)
        beyond = False
        if max_distance_m is not None and len(positions):
            inside = dist <= max_distance_m
            if inside.any():
                positions, dist = positions[inside], dist[inside]
            else:
                beyond = True
        states = self.open_states(open_at or at or dt.datetime.now(hours.TZ))
        return NearestResult(positions, dist, [states[self._hour_code[p]] for p in positions],
                             beyond)

    def open_states(self, when: dt.datetime) -> list:
        """Open / closed / unknown (True / False / None) per distinct hours expression at
        ``when``, to be indexed by a site's hours code; cached per minute.

        Parameters
        ----------
        when : datetime.datetime
            An aware datetime in any zone; judged in Asia/Shanghai, truncated to the minute.

        Returns
        -------
        list of bool or None
            One state per distinct ``opening_hours`` text of the index, in the order of
            its hours codes (not one per site). Shared through the cache: do not mutate.
        """
        minute = when.astimezone(hours.TZ).replace(second=0, microsecond=0)
        states = self._states.get(minute)
        if states is None:
            if len(self._states) >= 8:
                self._states.clear()
            states = [hours.open_at(t, minute) for t in self._hour_texts]
            self._states[minute] = states
        return states

    def _knn(self, lon, lat, want, mask, total):
        if want == 0:
            return np.empty(0, np.int64), np.empty(0)
        w, s, e, n = SAFE_BOUNDS
        if not (w <= lon <= e and s <= lat <= n):
            return self._brute(lon, lat, want, mask)
        qx, qy = _FORWARD.transform(lon, lat)
        r = self._first_radius(qx, qy, want)
        while True:
            # Candidates: sites in the square around the query (an envelope query, no GEOS
            # predicate per site), kept if they match and lie within planar distance r.
            cand = self.tree.query(shapely.box(qx - r, qy - r, qx + r, qy + r))
            cand = cand[mask[cand]]
            dp = np.hypot(self.x[cand] - qx, self.y[cand] - qy)
            inside = dp <= r
            cand, dp = cand[inside], dp[inside]
            exhausted = len(cand) == total or r >= 4e6  # every matching site is inside r
            if len(cand) < want and not exhausted:
                # grow by the density seen so far (area ~ r^2), at least 1.5x, at most 3x
                r *= float(np.clip(np.sqrt(want / max(len(cand), 0.5)) * 1.2, 1.5, 3.0))
                continue
            found, kth = self._refine(lon, lat, want, cand, dp, np.inf if exhausted else r)
            if found is not None:
                return found
            r = kth * S_MAX * 1.0001  # a site just outside r could still beat the k-th

    def _first_radius(self, qx, qy, want) -> float:
        """A planar radius likely to hold ``want`` sites, from a 10 km density grid."""
        g = self._grid
        i = int((qx - g["x0"]) // GRID_M)
        j = int((qy - g["y0"]) // GRID_M)
        if not (0 <= i < g["nx"] and 0 <= j < g["ny"]):
            return 20_000.0
        count = g["counts"][i, j]
        if count == 0:  # the nearest occupied cell is this far: search just past it
            return float(g["gap"][i, j] + GRID_M)
        return float(min(max(GRID_M * np.sqrt(want / (np.pi * count)) * 1.5, 300.0),
                         2 * GRID_M))

    def _refine(self, lon, lat, want, cand, dp, r):
        """Rank candidates by exact geodesic distance, computed in planar order and only
        until no other site can beat the k-th: a site at planar distance p is at least
        p / S_MAX away on the ellipsoid, and every site outside the candidates lies beyond
        r. Returns ``(None, kth)`` when r was too small to be sure."""
        heap: list[tuple[float, int]] = []  # the best `want` so far, as (-distance, -position)
        inv = GEOD.inv
        head = want + 16
        if len(cand) > 4 * head:  # usually a few suffice: sort only the nearest, planar
            part = np.argpartition(dp, head)[:head]
            order = part[np.lexsort((cand[part], dp[part]))]
            if dp[order[-1]] == dp.max():  # ties at the cut: fall back to a full sort
                order = np.lexsort((cand, dp))
        else:
            order = np.lexsort((cand, dp))
        for i in order:
            if len(heap) == want and -heap[0][0] * S_MAX < dp[i]:
                break
            pos = int(cand[i])
            d = inv(lon, lat, self.lon[pos], self.lat[pos])[2]
            item = (-d, -pos)
            if len(heap) < want:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
        else:
            if len(order) < len(cand):  # the partial order ran out: rank everything
                return self._refine_all(lon, lat, want, cand, dp, r)
        kth = -heap[0][0]
        if kth * S_MAX >= r:
            return None, kth
        best = sorted((-d, -p) for d, p in heap)
        return (np.array([p for _, p in best], np.int64),
                np.array([d for d, _ in best], np.float64)), kth

    def _refine_all(self, lon, lat, want, cand, dp, r):
        dist = geodesic_m(lon, lat, self.lon[cand], self.lat[cand])
        order = np.lexsort((cand, dist))[:want]
        kth = dist[order[-1]]
        if kth * S_MAX >= r:
            return None, kth
        return (cand[order].astype(np.int64), dist[order]), kth

    def _brute(self, lon, lat, want, mask):
        cand = np.flatnonzero(mask)
        dist = geodesic_m(lon, lat, self.lon[cand], self.lat[cand])
        order = np.lexsort((cand, dist))[:want]
        return cand[order].astype(np.int64), dist[order]


def _density_grid(x: np.ndarray, y: np.ndarray) -> dict:
    """Sites per 10 km cell (EPSG:32650 metres), to size the first search radius."""
    if len(x) == 0:
        return {"x0": 0.0, "y0": 0.0, "nx": 0, "ny": 0}
    x0, y0 = float(x.min()), float(y.min())
    nx = int((x.max() - x0) // GRID_M) + 1
    ny = int((y.max() - y0) // GRID_M) + 1
    counts = np.zeros((nx, ny), np.int64)
    np.add.at(counts, (((x - x0) // GRID_M).astype(int), ((y - y0) // GRID_M).astype(int)), 1)
    # for every cell, the planar distance from its centre to the nearest occupied cell centre
    ci, cj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    centres = shapely.points(x0 + (ci.ravel() + 0.5) * GRID_M, y0 + (cj.ravel() + 0.5) * GRID_M)
    occupied = shapely.STRtree(centres[counts.ravel() > 0])
    _, gap = occupied.query_nearest(centres, return_distance=True, all_matches=False)
    return {"x0": x0, "y0": y0, "nx": nx, "ny": ny, "counts": counts,
            "gap": gap.reshape(nx, ny)}
