"""The demand grid: population on H3 cells covering the counties.

H3 resolution 8 (cells of 0.48–0.57 km² in Hebei, about 356,000 of them) is fine enough
for a 500 m radius; a cell belongs to the county holding its centre. The population is the
census proxy by default (:mod:`locator.coverage.spread`); other demand (an uploaded grid,
counted searches) is put on the same cells (:func:`with_population_table`,
:mod:`locator.coverage.demand`). Cell centres are kept in WGS-84 degrees and in UTM 50N
metres (EPSG:32650).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely

from locator.coverage import h3cache
from locator.coverage.geodesy import TO_METRIC, scale_factor
from locator.coverage.spread import DEMAND_NOTE, census_population, spread_population
from locator.errors import BadRequest

__all__ = ["GAP_RESOLUTION", "H3_RESOLUTION", "UPLOADED_NOTE", "DemandGrid", "demand_grid",
           "with_population_table"]

#: H3 resolution of the demand grid (about 0.53 km² per cell in Hebei).
H3_RESOLUTION = 8
#: H3 resolution of the gap areas (about 36 km²).
GAP_RESOLUTION = 6
UPLOADED_NOTE = (
    "需求为上传的人口网格（每个 H3 网格的人数由上传数据汇总）。"
    "Demand is an uploaded population grid, summed onto H3 cells."
)


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
        """H3 parent of every cell at a coarser resolution (cached per resolution).

        Parameters
        ----------
        resolution : int
            The coarser H3 resolution (default :data:`GAP_RESOLUTION`).

        Returns
        -------
        numpy.ndarray of uint64
            One H3 index per cell.
        """
        cache = self.__dict__.setdefault("_parents", {})
        if resolution not in cache:
            cache[resolution] = np.fromiter(
                (h3n.cell_to_parent(c, resolution) for c in self.cell), dtype=np.uint64,
                count=len(self.cell))
        return cache[resolution]

    def select(self, district: str | None) -> np.ndarray:
        """Positions of the cells of one district.

        Parameters
        ----------
        district : str or None
            Union district code; None for every cell.

        Returns
        -------
        numpy.ndarray of int
            Positions into the grid's arrays, ascending.
        """
        if district is None:
            return np.arange(len(self.cell))
        return np.flatnonzero(self.district_code == district)

    @cached_property
    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.cell)
        return order, self.cell[order]

    def positions(self, cells) -> tuple[np.ndarray, np.ndarray]:
        """Where H3 cells of the grid's resolution sit in the grid.

        Parameters
        ----------
        cells : array_like of uint64
            H3 indexes (integer form) at :attr:`resolution`.

        Returns
        -------
        position : numpy.ndarray of int
            Position of each cell in the grid's arrays (meaningless where not ``found``).
        found : numpy.ndarray of bool
            Whether the cell is one of the grid's (inside its counties).
        """
        cells = np.asarray(cells, dtype=np.uint64)
        order, sorted_cells = self._sorted
        if len(sorted_cells) == 0:
            return np.zeros(len(cells), dtype=np.int64), np.zeros(len(cells), dtype=bool)
        i = np.clip(np.searchsorted(sorted_cells, cells), 0, len(sorted_cells) - 1)
        return order[i], sorted_cells[i] == cells

    def add_weights(self, population: np.ndarray, cells, weights) -> float:
        """Add weights of H3 cells of the grid's resolution to a population array.

        Parameters
        ----------
        population : numpy.ndarray
            One value per grid cell (persons or searches); changed in place.
        cells : array_like of uint64
            H3 indexes at :attr:`resolution`.
        weights : array_like of float
            One per cell, in the unit of ``population``.

        Returns
        -------
        float
            The weight of the cells that are not in the grid (not added).
        """
        weights = np.asarray(weights, dtype=np.float64)
        position, found = self.positions(cells)
        np.add.at(population, position[found], weights[found])
        return float(weights[~found].sum())


def _build_grid(regions, population: Mapping[str, float], resolution: int,
                cache_dir: Path | None) -> DemandGrid:
    arrays = h3cache.grid_cells(regions, resolution, cache_dir)
    cell, county, lon, lat = arrays["cell"], arrays["county"], arrays["lon"], arrays["lat"]
    district = regions.counties["district_code"].to_numpy(dtype=object)[county]
    x, y = TO_METRIC.transform(lon, lat)
    people = spread_population(regions, population, district, county, np.asarray(x),
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
        over the district's cells by the census proxy (:func:`spread_population`).
    resolution : int
        H3 resolution; 8 (about 0.53 km² per cell in Hebei) by default.
    cache_dir : str or pathlib.Path, optional
        A folder where the cells are kept between processes
        (:func:`locator.coverage.h3cache.grid_cells`).

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
            g = grids[key]
            h3cache.keep_copy(regions, resolution, Path(cache_dir), {
                "cell": g.cell, "county": g.county.astype(np.int32), "lon": g.lon,
                "lat": g.lat})
        return grids[key]


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
    note : str
        What the population is (the grid's new ``note``).

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
    population = np.zeros(len(grid))
    if "h3" in table:
        dropped = _add_h3_cells(grid, population, table["h3"], weight)
    elif "lon" in table and "lat" in table:
        dropped = _add_points(grid, population, table["lon"], table["lat"], weight)
    else:
        raise BadRequest("人口网格需要 h3 列，或 lon 和 lat 列。", code="bad_population_grid")
    return dataclasses.replace(grid, population=population, note=note,
                               source="uploaded-grid", coarse_proxy=False), dropped


def _add_h3_cells(grid: DemandGrid, population: np.ndarray, hexes, weight) -> float:
    """Weights of H3 cells of any resolution onto the grid; returns the weight outside."""
    res = grid.resolution
    dropped = 0.0
    try:
        ids = np.array([h3.str_to_int(str(c).strip()) for c in hexes], dtype=np.uint64)
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
            dropped += grid.add_weights(population, parents, weight[mine])
            continue
        for c, w in zip(ids[mine], weight[mine], strict=True):
            children = np.asarray(h3n.cell_to_children(c, res), dtype=np.uint64)
            position, found = grid.positions(children)
            if not found.any():
                dropped += float(w)
            else:
                inside = position[found]
                np.add.at(population, inside, np.full(len(inside), w / len(inside)))
    return dropped


def _add_points(grid: DemandGrid, population: np.ndarray, lon, lat, weight) -> float:
    """Weights of WGS-84 points onto the grid cells holding them; returns the weight outside."""
    lon = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or (
            np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
        raise BadRequest("lon/lat 列中有无效坐标。", code="bad_population_grid")
    cells = np.array([h3n.latlng_to_cell(y, x, grid.resolution)
                      for x, y in zip(lon, lat, strict=True)], dtype=np.uint64)
    return grid.add_weights(population, cells, weight)
