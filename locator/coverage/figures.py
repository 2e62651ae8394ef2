"""Coverage figures per county, per union district and for the province.

Area figures are geodesic km² (the covered area from
:func:`locator.coverage.areas.disc_union_area`, county areas from
``Geod.geometry_area_perimeter``); people figures are in the demand grid's unit (persons,
or searches for the searches demand). District and province figures are sums over their
counties, which partition them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd

from locator.errors import BadRequest, shown

__all__ = ["FIGURE_COLUMNS", "PROVINCE_NAME", "CoverageFigures", "coverage_figures"]

PROVINCE_NAME = "河北省"
#: Columns of the per-county and per-district tables, in order.
FIGURE_COLUMNS = (
    "code", "name", "district_code", "district_name", "stations", "population",
    "stations_per_10k", "area_km2", "covered_km2", "share_area", "population_covered",
    "share_demand",
)
#: The figures that add up from counties to districts and the province.
_SUMS = ["stations", "population", "area_km2", "covered_km2", "population_covered"]


@dataclass(frozen=True, eq=False)
class CoverageFigures:
    """Coverage at one radius, per county, per district and for the province.

    Attributes
    ----------
    radius_m : int
        Service radius, geodesic metres.
    counties, districts : pandas.DataFrame
        One row per county / union district, columns :data:`FIGURE_COLUMNS`: ``stations``
        (active stations located in it), ``population`` (persons, or searches for the
        searches demand),
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
        """The figures of one district, or of the province.

        Parameters
        ----------
        district : str, optional
            Union district code; None for the province.

        Returns
        -------
        dict
            One row of :data:`FIGURE_COLUMNS` (units as in the class notes).

        Raises
        ------
        locator.errors.BadRequest
            For a district code that is not in the table.
        """
        if district is None:
            return dict(self.province)
        rows = self.districts[self.districts["code"] == district]
        if rows.empty:
            raise BadRequest(f"没有这个地区代码 {shown(district)}（unknown district）。",
                             code="bad_parameter")
        return rows.iloc[0].to_dict()

    def county_rows(self, district: str | None = None) -> pd.DataFrame:
        """Rows of ``counties`` for one district.

        Parameters
        ----------
        district : str, optional
            Union district code; None for every county.

        Returns
        -------
        pandas.DataFrame
            The matching rows, index as in ``counties`` (rows of ``Regions.counties``).
        """
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


def coverage_figures(radius_m: int, regions, *, stations: np.ndarray, population: np.ndarray,
                     population_covered: np.ndarray, area_km2: np.ndarray,
                     covered_km2: np.ndarray,
                     covered: Callable[[], gpd.GeoSeries]) -> CoverageFigures:
    """The county, district and province tables from per-county sums.

    Parameters
    ----------
    radius_m : int
        Service radius, geodesic metres.
    regions : locator.geo.regions.Regions
        Districts and counties; every array below has one value per row of
        ``regions.counties``.
    stations : numpy.ndarray of int
        Active stations located in each county.
    population, population_covered : numpy.ndarray
        Demand in each county, and the part within ``radius_m`` of an active station
        (persons, or searches).
    area_km2, covered_km2 : numpy.ndarray
        Geodesic area of each county and the part within ``radius_m``, km².
    covered : callable
        Builds :attr:`CoverageFigures.covered` (EPSG:32650) on first use.

    Returns
    -------
    CoverageFigures
    """
    counties = regions.counties
    table = pd.DataFrame({
        "code": counties["code"].to_numpy(), "name": counties["name"].to_numpy(),
        "district_code": counties["district_code"].to_numpy(),
        "district_name": counties["district_name"].to_numpy(),
        "stations": stations.astype(np.int64), "population": population,
        "area_km2": area_km2,
        "covered_km2": covered_km2,
        "population_covered": population_covered,
    })
    county_table = _ratios(table.copy())[list(FIGURE_COLUMNS)]
    names = regions.district_names()
    districts = table.groupby("district_code", sort=True)[_SUMS].sum().reset_index()
    districts.insert(0, "code", districts["district_code"])
    districts.insert(1, "name", districts["code"].map(names))
    districts["district_name"] = districts["name"]
    district_table = _ratios(districts)[list(FIGURE_COLUMNS)].reset_index(drop=True)
    total = {k: table[k].sum() for k in _SUMS}
    province = _ratios(pd.DataFrame([{
        "code": None, "name": PROVINCE_NAME, "district_code": None,
        "district_name": None, **total}]))[list(FIGURE_COLUMNS)].iloc[0].to_dict()
    return CoverageFigures(radius_m=radius_m, counties=county_table, districts=district_table,
                           province=province, _covered=covered)
