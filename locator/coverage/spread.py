"""The census proxy of demand: each union district's 2020 census population spread over
its H3 cells.

``URBAN_SHARE`` (60.07 %, Hebei's urban share in 2020) of a district's residents are put
in Gaussian kernels around the city centre (sigma 5 km, taking the shares of the urban
districts near it) and around a stand-in point of each other county (sigma 3 km; an equal
share per county), the rest in equal shares per cell (:func:`spread_population`). Every
district keeps exactly its census figure. This is a **coarse proxy** — the stand-in points
are not the real county seats and county populations are not known here — and every
output says so (:data:`DEMAND_NOTE`). A district whose centre is unknown (a test
geography) is spread evenly. Kernels are evaluated in UTM 50N metres (EPSG:32650).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from locator.coverage.geodesy import TO_METRIC
from locator.geo.census import DISTRICTS

__all__ = ["CENTRE_SIGMA_M", "CORE_RADIUS_M", "DEMAND_NOTE", "SEAT_SIGMA_M", "URBAN_SHARE",
           "census_population", "spread_population"]

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


def census_population() -> dict[str, int]:
    """Resident population (7th census, 2020) per union district code.

    Returns
    -------
    dict of str to int
        The 14 district codes of :data:`locator.geo.census.DISTRICTS` mapped to persons;
        sums to the province total 74,610,235.

    Examples
    --------
    >>> sum(census_population().values())
    74610235
    """
    return {d.code: d.population for d in DISTRICTS}


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
    cx, cy = TO_METRIC.transform(*centre)
    rows = regions.counties.iloc[own_counties]
    seats = rows.geometry.representative_point()
    sx, sy = TO_METRIC.transform(seats.x.to_numpy(), seats.y.to_numpy())
    share = 1.0 / len(rows)
    core = np.array([name.endswith("区") for name in rows["name"]]) & (
        np.hypot(np.asarray(sx) - cx, np.asarray(sy) - cy) <= CORE_RADIUS_M)
    centres = [(cx, cy, CENTRE_SIGMA_M, share * core.sum())] if core.any() else []
    centres += [(float(a), float(b), SEAT_SIGMA_M, share)
                for a, b in zip(np.asarray(sx)[~core], np.asarray(sy)[~core], strict=True)]
    return centres


def spread_population(regions, population: Mapping[str, float], district, county, x,
                      y) -> np.ndarray:
    """Persons per cell: each district's figure, ``URBAN_SHARE`` of it in Gaussian kernels
    around its urban centres (each kernel normalised over the district's cells, so the
    district keeps exactly its census figure) and the rest in equal shares per cell.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
        Districts and counties (WGS-84); the counties' names and representative points
        place the urban kernels.
    population : mapping of str to float
        Persons per union district code (:func:`census_population` by default upstream).
    district : numpy.ndarray of object
        Union district code of each cell.
    county : numpy.ndarray of int
        Row of ``regions.counties`` holding each cell's centre.
    x, y : numpy.ndarray
        Cell centres in UTM 50N metres (EPSG:32650).

    Returns
    -------
    numpy.ndarray
        Persons per cell; sums to each district's figure over its cells.
    """
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

