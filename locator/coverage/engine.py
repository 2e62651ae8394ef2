"""Coverage for managers: service areas, covered demand, gaps and suggested new sites.

The national target (ACFTU) is a union station within 1 km / a 15-minute walk of outdoor
workers. :class:`CoverageEngine` answers "where does that hold, for how many people, and
where should the next stations go" per county, per union district and for the province.
It is pure: no Flask, no store; the web views, the CLI and the export writers call the
same functions. The work is done by one module per job:

=========================================  =============================================
:mod:`~locator.coverage.geodesy`           UTM 50N scale factor, service-area circles,
                                           geodesic distance to the nearest station
:mod:`~locator.coverage.areas`             covered km² per county (union of circles,
                                           without building the union)
:mod:`~locator.coverage.counties`          counties prepared for those sums (tiles)
:mod:`~locator.coverage.h3cache`           the counties' H3 cells, kept in a cache file
:mod:`~locator.coverage.spread`            the census proxy: persons spread over cells
:mod:`~locator.coverage.grid`              the demand grid (:class:`DemandGrid`)
:mod:`~locator.coverage.figures`           the county / district / province tables
:mod:`~locator.coverage.suggest`           gap areas and suggested sites (greedy)
:mod:`~locator.coverage.rounding`          numbers rounded for reading
:mod:`~locator.coverage.demand`            other demand: searches, an uploaded grid
=========================================  =============================================

What counts
    **Active stations** (``kind == "station"``, ``status == "active"``). Loving-mother
    rooms are excluded: they serve a different need (lactation, for working mothers) and
    the 1 km target is set for 驿站. Temporarily closed stations do not count either.

Service areas (area figures)
    A geodesic circle of radius ``R`` around each station, built in UTM zone 50N
    (EPSG:32650, :data:`~locator.geo.index.METRIC_CRS`) as a planar circle of radius
    ``k * R``, ``k`` the point scale factor (:mod:`~locator.coverage.geodesy`). The
    covered area per county is the area of the union of the circles inside it
    (:func:`~locator.coverage.areas.disc_union_area`); district and province figures are
    sums over their counties, which partition them; county areas are geodesic
    (``Geod.geometry_area_perimeter``). For maps, the circles are drawn as
    ``4 * QUAD_SEGS``-gons whose area equals the circle's (:func:`service_areas`,
    boundary within 0.08 % of ``R``), unioned per county and clipped to it, on first use
    (``CoverageFigures.covered``).

Demand (people figures) — a coarse proxy
    The 7th-census resident population of each union district is spread over the
    district's H3 resolution-8 cells (:mod:`~locator.coverage.spread`); every output says
    it is a coarse proxy (:data:`DEMAND_NOTE`). A cell is covered when its centre is
    within ``R`` geodesic metres of an active station (exact, ``pyproj.Geod``), and share
    of demand covered is the population-weighted share of covered cells. Other demand
    (counted searches, an uploaded grid) comes in as a :class:`DemandGrid` over the same
    cells.

Gaps and suggested sites
    H3 resolution-6 areas ranked by unmet demand, and greedy maximal coverage
    (:mod:`~locator.coverage.suggest`).

Every distance is in metres named ``*_m``; nothing is measured in degrees. Every lon/lat
is WGS-84 degrees.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from locator.coverage.areas import disc_union_area
from locator.coverage.counties import county_geometry
from locator.coverage.figures import (
    FIGURE_COLUMNS,
    PROVINCE_NAME,
    CoverageFigures,
    coverage_figures,
)
from locator.coverage.geodesy import (
    QUAD_SEGS,
    TO_METRIC,
    covered_mask,
    nearest_station_m,
    scale_factor,
    service_areas,
)
from locator.coverage.grid import (
    GAP_RESOLUTION,
    H3_RESOLUTION,
    DemandGrid,
    demand_grid,
    with_population_table,
)
from locator.coverage.rounding import area_row, rounded
from locator.coverage.spread import DEMAND_NOTE, census_population
from locator.coverage.suggest import (
    GAP_COLUMNS,
    SUGGESTION_COLUMNS,
    gap_table,
    greedy_sites,
    suggestion_table,
)
from locator.errors import BadRequest, shown
from locator.geo.index import METRIC_CRS
from locator.jsonio import plain

__all__ = [
    "DEFAULT_RADIUS_M", "DEMAND_NOTE", "FIGURE_COLUMNS", "GAP_COLUMNS", "GAP_RESOLUTION",
    "H3_RESOLUTION", "MAX_RADIUS_M", "MIN_RADIUS_M", "PROVINCE_NAME", "QUAD_SEGS", "RADII_M",
    "SUGGESTION_COLUMNS", "CoverageEngine", "CoverageFigures", "DemandGrid", "area_name",
    "census_population", "check_radius", "covered_mask", "demand_grid", "disc_union_area",
    "greedy_sites", "nearest_station_m", "scale_factor", "service_areas",
    "service_stations", "with_population_table",
]

#: Radii offered to managers (metres); 1,000 m is the ACFTU target.
RADII_M = (500, 1000, 2000)
DEFAULT_RADIUS_M = 1000
#: Any radius in this range is accepted by the core and the CLI (metres).
MIN_RADIUS_M, MAX_RADIUS_M = 100, 5000

#: What the report's ``method`` says each figure is.
METHOD = {
    "counted": "active stations (kind=station); mother rooms and closed stations "
               "are not counted",
    "service_area": "geodesic circle of radius_m around each station",
    "share_area": "covered_km2 / area_km2",
    "share_demand": "population-weighted share of H3 cells whose centre is within "
                    "radius_m (geodesic) of an active station",
}


def check_radius(radius_m) -> int:
    """Validate a service radius: an integer number of metres within 100..5000.

    Parameters
    ----------
    radius_m : int
        Geodesic metres.

    Returns
    -------
    int
        The radius as a Python int.

    Raises
    ------
    locator.errors.BadRequest
        When the radius is not a whole number of metres in range.

    Examples
    --------
    >>> check_radius(1000)
    1000
    """
    if isinstance(radius_m, bool) or not isinstance(radius_m, int | np.integer) or not (
            MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M):
        raise BadRequest(f"服务半径应是 {MIN_RADIUS_M} 到 {MAX_RADIUS_M} 之间的整数米"
                         f"（radius_m, got {shown(radius_m)}）。", code="bad_parameter")
    return int(radius_m)


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


def area_name(regions, district: str | None) -> str:
    """The name of an area: a union district's, or the province's.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
        Districts and counties.
    district : str or None
        Union district code; None for the province.

    Returns
    -------
    str
        ``regions.district_names()[district]``, or :data:`PROVINCE_NAME` (河北省).

    Raises
    ------
    KeyError
        For a district code that ``regions`` does not know.
    """
    if district is None:
        return PROVINCE_NAME
    return regions.district_names()[district]


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

    # ---------------------------------------------------------------- inputs

    @property
    def grid(self) -> DemandGrid:
        """The demand grid (shared by every engine over the same regions)."""
        return self._cached("grid", lambda: demand_grid(
            self.regions, self.population, self.resolution, cache_dir=self.cache_dir))

    def district_codes(self) -> tuple[str, ...]:
        """The union district codes of the geography.

        Returns
        -------
        tuple of str
            In the order of ``regions.districts``.
        """
        return tuple(self.regions.districts["code"])

    def check_district(self, district: str | None) -> str | None:
        """``district`` if it is a known union district code (or None).

        Parameters
        ----------
        district : str or None
            A union district code; None stands for the province.

        Returns
        -------
        str or None
            ``district`` itself.

        Raises
        ------
        locator.errors.BadRequest
            For any other value.
        """
        if district is not None and district not in self.district_codes():
            raise BadRequest(f"没有这个地区代码 {shown(district)}（unknown district）。",
                             code="bad_parameter")
        return district

    # ---------------------------------------------------------------- per cell, per station

    def buffers(self, radius_m: int) -> np.ndarray:
        """Service areas of the active stations.

        Parameters
        ----------
        radius_m : int
            Geodesic metres.

        Returns
        -------
        numpy.ndarray of shapely.Polygon
            One per active station, UTM 50N metres (EPSG:32650), area equal to the
            geodesic circle's (:func:`service_areas`).
        """
        radius_m = check_radius(radius_m)
        return self._cached(("buffers", radius_m),
                            lambda: service_areas(self.lon, self.lat, radius_m))

    def covered(self, radius_m: int) -> np.ndarray:
        """Per grid cell: is its centre within ``radius_m`` of an active station.

        Parameters
        ----------
        radius_m : int
            Geodesic metres on WGS-84 (boundary included).

        Returns
        -------
        numpy.ndarray of bool
            Aligned with :attr:`grid`'s cells; shared with ``areas_from`` when both
            engines have the same cells.
        """
        radius_m = check_radius(radius_m)
        g = self.grid
        if self._areas_from is not None and self._areas_from.grid.cell is g.cell:
            return self._areas_from.covered(radius_m)  # the same cells: share
        return self._cached(("covered", radius_m), lambda: covered_mask(
            g.lon, g.lat, self.lon, self.lat, radius_m, xy=(g.x, g.y)))

    def distance_m(self, positions: np.ndarray | None = None) -> np.ndarray:
        """Per grid cell: geodesic metres to the nearest active station (inf if none).

        Parameters
        ----------
        positions : numpy.ndarray of int, optional
            Only these cells (e.g. ``grid.select(district)``); computed directly unless
            the whole grid's distances are cached already. All cells (cached) when None.

        Returns
        -------
        numpy.ndarray
            Geodesic metres on WGS-84, one per cell asked for.
        """
        g = self.grid
        if positions is not None and "distance" not in self._cache:
            return nearest_station_m(g.lon[positions], g.lat[positions], self.lon, self.lat)[0]
        everything = self._cached("distance", lambda: nearest_station_m(
            g.lon, g.lat, self.lon, self.lat)[0])
        return everything if positions is None else everything[positions]

    # ---------------------------------------------------------------- figures

    def figures(self, radius_m: int = DEFAULT_RADIUS_M) -> CoverageFigures:
        """Coverage figures per county, per district and for the province.

        Parameters
        ----------
        radius_m : int
            Service radius, geodesic metres.

        Returns
        -------
        CoverageFigures
            Areas in geodesic km², demand in persons (or searches), shares 0..1.
        """
        radius_m = check_radius(radius_m)
        return self._cached(("figures", radius_m), lambda: self._figures(radius_m))

    def covered_km2(self, radius_m: int) -> np.ndarray:
        """Covered area per county (:func:`disc_union_area`); shared with ``areas_from``.

        Parameters
        ----------
        radius_m : int
            Service radius, geodesic metres.

        Returns
        -------
        numpy.ndarray
            Geodesic km² within ``radius_m`` of an active station, one per row of
            ``regions.counties``.
        """
        radius_m = check_radius(radius_m)
        if self._areas_from is not None:
            return self._areas_from.covered_km2(radius_m)
        return self._cached(("areas", radius_m), lambda: self._covered_km2(radius_m))

    def _county_rows(self) -> pd.Series:
        """Row of ``regions.counties`` of each active station's ``county_code`` (NaN if
        it has none the regions know)."""
        code_row = {c: i for i, c in enumerate(self.regions.counties["code"])}
        if "county_code" not in self.stations:
            return pd.Series(np.nan, index=self.stations.index)
        return self.stations["county_code"].map(code_row)

    def _covered_km2(self, radius_m: int) -> np.ndarray:
        x, y = TO_METRIC.transform(self.lon, self.lat)
        k = scale_factor(self.lon, self.lat)
        county_of = self._county_rows().fillna(-1).to_numpy(dtype=np.int64)
        return disc_union_area(np.asarray(x), np.asarray(y), radius_m * k, k, county_of,
                               county_geometry(self.regions))

    def _figures(self, radius_m: int) -> CoverageFigures:
        g = self.grid
        n = len(self.regions.counties)
        covered_km2, cov = self._areas_and_cells(radius_m)
        station_rows = self._county_rows().dropna().astype(int)
        return coverage_figures(
            radius_m, self.regions,
            stations=np.bincount(station_rows.to_numpy(), minlength=n),
            population=np.bincount(g.county, weights=g.population, minlength=n),
            population_covered=np.bincount(g.county, weights=g.population * cov, minlength=n),
            area_km2=county_geometry(self.regions).area_km2, covered_km2=covered_km2,
            covered=lambda: gpd.GeoSeries(self._covered_geometry(radius_m), crs=METRIC_CRS,
                                          index=self.regions.counties.index))

    def _areas_and_cells(self, radius_m: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`covered_km2` and :meth:`covered`, side by side: the demand share
        (kd-tree, pyproj) and the areas (GEOS, numpy) release the GIL, so on a machine
        with two cores they run at once."""
        g = self.grid
        with ThreadPoolExecutor(max_workers=1) as pool:
            cached = self._cache.get(("covered", radius_m))
            if cached is None and self._areas_from is not None and \
                    self._areas_from.grid.cell is g.cell:
                cached = self.covered(radius_m)
            cells = None if cached is not None else pool.submit(
                covered_mask, g.lon, g.lat, self.lon, self.lat, radius_m, xy=(g.x, g.y))
            covered_km2 = self.covered_km2(radius_m)
            cov = cached if cells is None else self._cache.setdefault(("covered", radius_m),
                                                                      cells.result())
        return covered_km2, cov

    def _covered_geometry(self, radius_m: int) -> np.ndarray:
        """Per county, the union of the service-area polygons that reach it, clipped to
        it (EPSG:32650). Slow at 100,000 stations; the area figures do not use it."""
        geometry = county_geometry(self.regions)
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

    # ---------------------------------------------------------------- gaps, suggestions

    def gaps(self, radius_m: int = DEFAULT_RADIUS_M, district: str | None = None,
             n: int = 10) -> pd.DataFrame:
        """The ``n`` H3 resolution-6 areas with the most unmet demand.

        Parameters
        ----------
        radius_m : int
            Service radius, geodesic metres.
        district : str, optional
            Union district code; the province when None.
        n : int
            How many areas.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`GAP_COLUMNS` (see :func:`~locator.coverage.suggest.gap_table`):
            the area's H3 cell and centre (WGS-84), its district and county,
            ``unmet_demand`` (persons in uncovered cells), ``share_uncovered`` and
            ``nearest_station_m`` (geodesic metres; NaN without active stations).
        """
        radius_m = check_radius(radius_m)
        self.check_district(district)
        return self._cached(("gaps", radius_m, district, n),
                            lambda: self._gaps(radius_m, district, n))

    def _gaps(self, radius_m: int, district: str | None, n: int) -> pd.DataFrame:
        pos = self.grid.select(district)
        return gap_table(self.grid, pos, self.covered(radius_m)[pos], self.regions.counties,
                         self.lon, self.lat, n)

    def suggest(self, radius_m: int = DEFAULT_RADIUS_M, district: str | None = None,
                n: int = 10) -> pd.DataFrame:
        """``n`` new sites by greedy maximal coverage, with the demand each one adds.

        Candidates are the centres of uncovered cells of the area; each pick covers the
        cells of the area within ``radius_m`` of it that are not covered yet; ties go to
        the candidate nearest an existing station.

        Parameters
        ----------
        radius_m : int
            Service radius, geodesic metres.
        district : str, optional
            Union district code; the province when None.
        n : int
            How many sites.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`SUGGESTION_COLUMNS` (see
            :func:`~locator.coverage.suggest.suggestion_table`): the site's H3 cell and
            centre (WGS-84), district, county, ``demand_added`` (persons),
            ``cells_added`` and ``share_demand_after``. Fewer than ``n`` rows when
            nothing is left to cover.
        """
        radius_m = check_radius(radius_m)
        self.check_district(district)
        return self._cached(("suggest", radius_m, district, n),
                            lambda: self._suggest(radius_m, district, n))

    def _suggest(self, radius_m: int, district: str | None, n: int) -> pd.DataFrame:
        if n <= 0:
            return pd.DataFrame([], columns=SUGGESTION_COLUMNS)
        pos = self.grid.select(district)
        tiebreak = self.distance_m() if district is None else self.distance_m(pos)
        return suggestion_table(self.grid, pos, self.covered(radius_m)[pos],
                                self.regions.counties, radius_m, n, tiebreak=tiebreak)

    # ---------------------------------------------------------------- the report

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
            ``synthetic``. Numbers are rounded for reading
            (:mod:`~locator.coverage.rounding`); NaN becomes None (JSON null).
        """
        radius_m = check_radius(radius_m)
        self.check_district(district)
        return self._cached(("report", radius_m, district, gaps),
                            lambda: self._report(radius_m, district, gaps))

    def _report(self, radius_m: int, district: str | None, gaps: int) -> dict:
        figures = self.figures(radius_m)
        head = rounded(figures.summary(district))
        body = {"district_code": district, "name": head["name"], "radius_m": radius_m}
        body.update({k: head[k] for k in FIGURE_COLUMNS[4:]})
        if district is None:
            body["districts"] = [area_row(r, "district") for r in
                                 figures.districts.to_dict("records")]
        body["counties"] = [area_row(r, "county") for r in
                            figures.county_rows(district).to_dict("records")]
        body["gaps"] = [rounded(r) for r in self.gaps(radius_m, district, gaps)
                        .to_dict("records")]
        body["demand"] = self._demand_summary()
        body["method"] = dict(METHOD)
        body["data_version"] = self.version
        body["synthetic"] = self.synthetic
        return body

    def _demand_summary(self) -> dict:
        grid = self.grid
        return {"source": grid.source, "h3_resolution": grid.resolution,
                "coarse_proxy": grid.coarse_proxy, "note": grid.note,
                "unit": "searches" if grid.source == "searches" else "persons",
                **{k: plain(v) for k, v in grid.extra.items()}}
