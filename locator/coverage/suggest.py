"""Where coverage falls short: gap areas ranked by unmet demand, and suggested new sites.

Gaps are H3 resolution-6 areas (about 36 km²) ranked by unmet demand (the demand of their
uncovered resolution-8 cells). Suggested sites come from greedy maximal coverage
(:func:`greedy_sites`): candidates are uncovered cell centres, and each pick adds the
demand of the cells within ``R`` not yet covered (lazy greedy, which picks exactly what
plain greedy picks). Ties (common where demand is spread evenly) go to the candidate
nearest an existing station (grow the network from its edge), then to the lowest H3
index. With the census proxy, suggestions say "the uncovered edges of the proxy's towns";
an uploaded population grid makes them meaningful.

Coordinates in the tables are WGS-84 degrees; planar work is in UTM 50N metres
(EPSG:32650); demand is in the grid's unit (persons, or searches).
"""

from __future__ import annotations

import heapq

import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely

from locator.coverage.geodesy import nearest_station_m
from locator.coverage.grid import GAP_RESOLUTION, DemandGrid

__all__ = ["GAP_COLUMNS", "SUGGESTION_COLUMNS", "gap_table", "greedy_sites",
           "suggestion_table"]

GAP_COLUMNS = ("rank", "cell", "lon", "lat", "district_code", "district_name", "county_code",
               "county_name", "unmet_demand", "share_uncovered", "nearest_station_m")
SUGGESTION_COLUMNS = ("rank", "cell", "lon", "lat", "district_code", "district_name",
                      "county_code", "county_name", "demand_added", "cells_added",
                      "share_demand_after")


def gap_table(grid: DemandGrid, positions: np.ndarray, covered: np.ndarray, counties,
              station_lon, station_lat, n: int) -> pd.DataFrame:
    """The ``n`` H3 resolution-6 areas of some cells with the most unmet demand.

    Parameters
    ----------
    grid : DemandGrid
        The demand grid.
    positions : numpy.ndarray of int
        The cells of the area (``grid.select(district)``).
    covered : numpy.ndarray of bool
        For each of those cells: is its centre within the radius of an active station.
    counties : geopandas.GeoDataFrame
        ``Regions.counties`` (rows as in ``grid.county``).
    station_lon, station_lat : array_like
        Active stations, WGS-84 degrees (for ``nearest_station_m``).
    n : int
        How many areas to list.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GAP_COLUMNS`: ``rank``, ``cell`` (H3 index, hex), ``lon``, ``lat``
        (the area's centre, WGS-84), the district and county (of the county with most
        unmet demand in it), ``unmet_demand`` (persons in uncovered cells),
        ``share_uncovered`` (of the area's demand) and ``nearest_station_m`` (geodesic
        metres from the centre; NaN without active stations). Highest unmet demand
        first; ties by cell.
    """
    if n <= 0:
        return pd.DataFrame([], columns=GAP_COLUMNS)
    top, frame = _top_gap_areas(grid, positions, covered, n)
    by_county = frame[frame["parent"].isin(top.index)].groupby(
        ["parent", "county"], sort=True)["unmet"].sum().reset_index()
    by_county = by_county.sort_values(["parent", "unmet", "county"],
                                      ascending=[True, False, True], kind="stable")
    main_county = by_county.drop_duplicates("parent").set_index("parent")["county"]
    rows = []
    for rank, (parent_cell, row) in enumerate(top.iterrows(), start=1):
        lat, lon = h3n.cell_to_latlng(parent_cell)
        rows.append({
            "rank": rank, "cell": h3.int_to_str(int(parent_cell)), "lon": lon, "lat": lat,
            **_county_columns(counties.iloc[int(main_county[parent_cell])]),
            "unmet_demand": float(row["unmet_demand"]),
            "share_uncovered": float(row["unmet_demand"] / row["demand"]),
        })
    out = pd.DataFrame(rows, columns=GAP_COLUMNS)
    if len(out):
        d, _ = nearest_station_m(out["lon"], out["lat"], station_lon, station_lat)
        out["nearest_station_m"] = np.where(np.isfinite(d), d, np.nan)
    return out


def _top_gap_areas(grid: DemandGrid, pos, cov, n) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` resolution-6 parents with most unmet demand (``unmet_demand``,
    ``demand``), and the per-cell frame (``parent``, ``county``, ``pop``, ``unmet``)."""
    parent = grid.parents(GAP_RESOLUTION)[pos]
    pop = grid.population[pos]
    frame = pd.DataFrame({"parent": parent, "county": grid.county[pos], "pop": pop,
                          "unmet": pop * ~cov})
    per_parent = frame.groupby("parent", sort=True).agg(
        unmet_demand=("unmet", "sum"), demand=("pop", "sum"))
    per_parent = per_parent[per_parent["unmet_demand"] > 0]
    per_parent = per_parent.sort_values("unmet_demand", ascending=False, kind="stable")
    return per_parent.head(n), frame


def _county_columns(c) -> dict:
    return {"district_code": c["district_code"], "district_name": c["district_name"],
            "county_code": c["code"], "county_name": c["name"]}


def suggestion_table(grid: DemandGrid, positions: np.ndarray, covered: np.ndarray, counties,
                     radius_m: int, n: int, *, tiebreak=None) -> pd.DataFrame:
    """``n`` new sites by greedy maximal coverage, with the demand each one adds.

    Candidates are the centres of the uncovered cells among ``positions``; each pick
    covers the cells among them within ``radius_m`` of it that are not covered yet.

    Parameters
    ----------
    grid : DemandGrid
        The demand grid.
    positions : numpy.ndarray of int
        The cells of the area (``grid.select(district)``).
    covered : numpy.ndarray of bool
        For each of those cells: is it covered by an existing active station.
    counties : geopandas.GeoDataFrame
        ``Regions.counties`` (rows as in ``grid.county``).
    radius_m : int
        Service radius, geodesic metres.
    n : int
        How many sites to pick.
    tiebreak : array_like, optional
        Per cell of ``positions`` (e.g. metres to the nearest station): among equal
        gains the smaller wins.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SUGGESTION_COLUMNS`: ``rank``, ``cell`` (H3 index, hex), ``lon``,
        ``lat`` (WGS-84), the district and county, ``demand_added`` (persons),
        ``cells_added`` and ``share_demand_after`` (the area's share of demand covered
        once this and the earlier picks are built). Fewer than ``n`` rows when nothing
        is left to cover.
    """
    if n <= 0:
        return pd.DataFrame([], columns=SUGGESTION_COLUMNS)
    pos, cov = positions, covered
    weight = np.where(cov, 0.0, grid.population[pos])
    picks, gains, counts = greedy_sites(
        grid.x[pos], grid.y[pos], grid.scale[pos], weight, np.flatnonzero(~cov), radius_m, n,
        tiebreak=tiebreak)
    total = grid.population[pos].sum()
    covered_now = (grid.population[pos] * cov).sum()
    rows = []
    for rank, (p, gain, count) in enumerate(zip(picks, gains, counts, strict=True), start=1):
        cell = pos[p]
        covered_now += gain
        rows.append({
            "rank": rank, "cell": h3.int_to_str(int(grid.cell[cell])),
            "lon": float(grid.lon[cell]), "lat": float(grid.lat[cell]),
            **_county_columns(counties.iloc[int(grid.county[cell])]),
            "demand_added": float(gain), "cells_added": int(count),
            "share_demand_after": float(covered_now / total) if total > 0 else np.nan,
        })
    return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)


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
    cells, starts = _reach(x, y, scale, demand, candidates, radius_m)
    ci = np.repeat(np.arange(len(candidates)), np.diff(starts))
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


def _reach(x, y, scale, demand, candidates, radius_m) -> tuple[np.ndarray, np.ndarray]:
    """The demand points within ``radius_m`` of each candidate, as one flat array
    (``cells[starts[j]:starts[j + 1]]`` for candidate ``j``)."""
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
    return cells, np.searchsorted(ci, np.arange(len(candidates) + 1))
