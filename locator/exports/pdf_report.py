"""Coverage as a multi-page PDF report (A4 landscape, matplotlib): the map; headline
figures and method; the per-district (province only) and per-county tables; the gaps and
suggested sites. Fonts are embedded as TrueType; locations are printed as WGS-84 lon/lat
degrees, distances in metres, areas in km².
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from locator.exports.drawing import A4_LANDSCAPE_IN, map_figure, rc_params, wrap
from locator.exports.files import SYNTHETIC_NOTICE, Progress, atomic, no_progress
from locator.exports.layers import CoverageLayers, figure_text, summary_rows

__all__ = ["MAP_STEP", "write_coverage_pdf"]

#: The progress label :func:`write_coverage_pdf` reports before drawing the map.
MAP_STEP = "地图 map"

_PDF_ROWS = 26  # table rows per page
_COUNTY_HEADER = ["区县", "所属地区", "驿站", "每万人", "面积 km²", "覆盖 km²", "面积覆盖率",
                  "人口（代理）", "人口覆盖率"]


def _page(title: str, layers: CoverageLayers, number: int, total: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_LANDSCAPE_IN)
    fig.text(0.05, 0.95, title, fontsize=15, va="center")
    fig.text(0.05, 0.915, layers.title, fontsize=9, color="#424242", va="center")
    footer = f"{layers.created:%Y-%m-%d %H:%M} · 第 {number} / {total} 页"
    fig.text(0.95, 0.03, footer, fontsize=8, ha="right", color="#616161")
    if layers.synthetic:
        fig.text(0.05, 0.03, SYNTHETIC_NOTICE, fontsize=8, color="#b71c1c")
    return fig


def _table_page(fig, header: list[str], rows: list[list[str]]) -> None:
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


def _county_table_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(r["name"]), str(r["district_name"]), figure_text(r["stations"]),
             figure_text(r["stations_per_10k"]), figure_text(r["area_km2"]),
             figure_text(r["covered_km2"]), figure_text(r["share_area"], "pct"),
             figure_text(r["population"], "int"), figure_text(r["share_demand"], "pct")]
            for r in frame.to_dict("records")]


def _overview_page(layers: CoverageLayers, number: int, total: int):
    fig = _page("概况与方法", layers, number, total)
    ax = fig.add_axes((0.05, 0.08, 0.90, 0.80))
    ax.set_axis_off()
    text = "\n".join(f"{label}：{wrap(value, 70)}"
                     for _, label, value in summary_rows(layers))
    ax.text(0, 1, text, va="top", fontsize=9, linespacing=1.6)
    return fig


def _site_table(ax, title: str, header: list[str], rows: list[list[str]]) -> None:
    ax.set_axis_off()
    ax.set_title(title, fontsize=10, loc="left")
    if rows:
        t = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="right")
        t.auto_set_font_size(False)
        t.set_fontsize(7.5)


def _sites_page(layers: CoverageLayers, number: int, total: int):
    """The gaps (top) and the suggested sites (bottom)."""
    fig = _page("缺口与建议新站", layers, number, total)
    gap_rows = [[str(r["rank"]), str(r["county_name"]), f"{r['lon']:.4f}, {r['lat']:.4f}",
                 figure_text(r["unmet_demand"], "int"),
                 figure_text(r["share_uncovered"], "pct"),
                 figure_text(r["nearest_station_m"], "int")]
                for r in layers.gaps.to_dict("records")]
    pick_rows = [[str(r["rank"]), str(r["county_name"]), f"{r['lon']:.5f}, {r['lat']:.5f}",
                  figure_text(r["demand_added"], "int"),
                  figure_text(r["share_demand_after"], "pct")]
                 for r in layers.suggestions.to_dict("records")]
    _site_table(fig.add_axes((0.05, 0.50, 0.90, 0.38)),
                layers.label("缺口：未覆盖人口最多的 H3（6 级，约 36 km²）区域"),
                ["排名", "区县", "中心（经度, 纬度）", layers.label("未覆盖人口"), "未覆盖比例",
                 "最近驿站（米）"], gap_rows)
    _site_table(fig.add_axes((0.05, 0.08, 0.90, 0.36)),
                f"建议新站：贪心最大覆盖（每站覆盖半径 {layers.radius_m:,} 米）",
                ["序号", "区县", "位置（经度, 纬度）", layers.label("新增覆盖人口"),
                 layers.label("建成后人口覆盖率")], pick_rows)
    return fig


def _pages(layers: CoverageLayers):
    """Every page after the map, as figures, numbered from 2."""
    county_rows = _county_table_rows(layers.counties)
    county_pages = [county_rows[i:i + _PDF_ROWS]
                    for i in range(0, len(county_rows), _PDF_ROWS)] or [[]]
    district_rows = []
    if layers.district is None:
        district_rows = _county_table_rows(layers.engine.figures(layers.radius_m).districts)
    total = 3 + len(county_pages) + (1 if district_rows else 0)
    number = 2
    yield _overview_page(layers, number, total)
    if district_rows:
        number += 1
        fig = _page("各地区覆盖情况", layers, number, total)
        _table_page(fig, ["地区", "所属", *map(layers.label, _COUNTY_HEADER[2:])],
                    district_rows)
        yield fig
    for i, chunk in enumerate(county_pages, start=1):
        number += 1
        suffix = f"（{i}/{len(county_pages)}）" if len(county_pages) > 1 else ""
        fig = _page(f"各区县覆盖情况{suffix}", layers, number, total)
        _table_page(fig, [layers.label(h) for h in _COUNTY_HEADER], chunk)
        yield fig
    yield _sites_page(layers, number + 1, total)


def write_coverage_pdf(layers: CoverageLayers, path: Path,
                       progress: Progress | None = None) -> None:
    """A multi-page PDF report, A4 landscape.

    The map (:func:`locator.exports.drawing.map_figure`); headline figures and method;
    per-district table (province only) and per-county tables, 26 rows a page; gaps and
    suggested sites. Metadata: title, author, subject, creation date (UTC).

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Called with :data:`MAP_STEP` before the map is drawn.
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    metadata = {"Title": layers.title, "Author": "驿站地图", "Subject": "工会驿站服务覆盖报告",
                "Creator": "驿站地图 locator",
                # UTC: matplotlib writes the sign of other offsets the wrong way round
                "CreationDate": layers.created.astimezone(dt.UTC)}
    with matplotlib.rc_context(rc_params()), atomic(path) as tmp, \
            PdfPages(tmp, metadata=metadata) as pdf:
        (progress or no_progress)(MAP_STEP)
        pdf.savefig(map_figure(layers))
        for fig in _pages(layers):
            pdf.savefig(fig)
