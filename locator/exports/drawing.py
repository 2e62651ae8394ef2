"""The coverage map drawn with matplotlib, for the PNG and the PDF report.

Maps are drawn in UTM 50N (EPSG:32650), whose scale differs from 1 by under 0.1 % in
Hebei, so the scale bar is in plain metres; the north arrow points to true north. Labels
need a font with Chinese glyphs (:func:`find_cjk_font`); matplotlib never parses
``$…$`` as math here (``text.parse_math`` off), so station text stays text.
"""

from __future__ import annotations

import math
from pathlib import Path

from locator.exports.files import SYNTHETIC_NOTICE, ExportError, Progress, atomic
from locator.exports.layers import CoverageLayers, figure_text, to_metric
from locator.geo.index import METRIC_CRS

__all__ = [
    "A4_LANDSCAPE_IN", "CJK_FAMILIES", "CJK_FONT_FILES", "find_cjk_font", "map_figure",
    "rc_params", "wrap", "write_coverage_png",
]

#: A4 landscape (width, height), inches.
A4_LANDSCAPE_IN = (11.69, 8.27)

#: CJK fonts tried in order; the first one found draws every label.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",           # Debian fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",   # Debian fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",             # Debian fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
#: Installed font families tried when none of :data:`CJK_FONT_FILES` exists.
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC")


def find_cjk_font() -> str:
    """The family name of an installed font with Chinese glyphs, registered with
    matplotlib.

    Returns
    -------
    str
        A font family name, e.g. ``WenQuanYi Micro Hei``.

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


def rc_params() -> dict:
    """matplotlib settings for every figure here: the CJK font, TrueType (type 42) fonts
    in PDF, no math parsing, an ASCII minus, text kept as text in SVG.

    Returns
    -------
    dict
        For ``matplotlib.rc_context``.

    Raises
    ------
    ExportError
        When no CJK font is installed (:func:`find_cjk_font`).
    """
    return {"font.family": [find_cjk_font(), "DejaVu Sans"], "pdf.fonttype": 42,
            "text.parse_math": False, "axes.unicode_minus": False, "svg.fonttype": "none"}


def wrap(text: str, width: int) -> str:
    """Wrap CJK text by characters (textwrap splits on spaces only).

    Parameters
    ----------
    text : str
    width : int
        Characters: a line breaks after punctuation once it is this long, and at
        ``width + 6`` characters regardless.

    Returns
    -------
    str
        The lines joined by ``\n``.
    """
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


# --------------------------------------------------------------------------------------
# Map furniture


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
    nx, ny = to_metric(lon, lat + 0.01)
    angle = math.atan2(nx - bx, ny - by)
    length = (y1 - y0) * 0.08
    tip = (bx + length * math.sin(angle), by + length * math.cos(angle))
    ax.annotate("", xy=tip, xytext=(bx, by), zorder=10,
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=1.0",
                            "color": "black", "linewidth": 1.5})
    ax.text(tip[0], tip[1] + (y1 - y0) * 0.01, "北 N", ha="center", va="bottom",
            fontsize=9, zorder=10)


# --------------------------------------------------------------------------------------
# The map


def _draw_areas(ax, layers: CoverageLayers):
    """Counties, stations, service areas and district lines; returns the counties (UTM)."""
    counties = layers.counties.to_crs(METRIC_CRS)
    districts = layers.engine.regions.districts
    if layers.district is not None:
        districts = districts[districts["code"] == layers.district]
    districts = districts.to_crs(METRIC_CRS)
    covered = layers.coverage.to_crs(METRIC_CRS)
    covered = covered[~covered.geometry.is_empty]
    counties.plot(ax=ax, facecolor="#f5f5f0", edgecolor="#b0b0b0", linewidth=0.3)
    sx, sy = to_metric(layers.stations["lon"].to_numpy(), layers.stations["lat"].to_numpy())
    many = len(sx) > 2000
    # Many stations: tiny dots under the service areas, so the areas stay readable.
    ax.scatter(sx, sy, s=0.3 if many else 4.0, c="#1b3d1e", linewidths=0,
               zorder=3 if many else 5)
    if len(covered):
        covered.plot(ax=ax, facecolor="#2e7d32" if many else "#43a047", edgecolor="none",
                     alpha=0.75 if many else 0.6, zorder=4)
    districts.boundary.plot(ax=ax, color="#424242", linewidth=0.8, zorder=5)
    return counties


def _draw_sites(ax, layers: CoverageLayers) -> None:
    """The ranked gap outlines and suggested sites."""
    gaps = layers.gaps.to_crs(METRIC_CRS)
    if len(gaps):
        gaps.boundary.plot(ax=ax, color="#ef6c00", linewidth=1.0, zorder=6)
        for rank, point in zip(gaps["rank"], gaps.geometry.centroid, strict=True):
            ax.text(point.x, point.y, str(rank), color="#bf360c", fontsize=6, ha="center",
                    va="center", zorder=7)
    if len(layers.suggestions):
        px, py = to_metric(layers.suggestions["lon"].to_numpy(),
                           layers.suggestions["lat"].to_numpy())
        ax.scatter(px, py, s=60, marker="*", c="#c62828", edgecolors="white",
                   linewidths=0.4, zorder=8)
        for rank, x, y in zip(layers.suggestions["rank"], px, py, strict=True):
            ax.annotate(str(rank), (x, y), xytext=(3, 3), textcoords="offset points",
                        fontsize=6, color="#c62828", zorder=8)


def _draw_map(ax, layers: CoverageLayers) -> None:
    """The map on ``ax``, in UTM 50N metres, with a 3 % margin, scale bar and north arrow."""
    counties = _draw_areas(ax, layers)
    minx, miny, maxx, maxy = counties.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.03
    _draw_sites(ax, layers)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax, maxx - minx + 2 * pad)
    _north_arrow(ax)


def _legend(fig, layers: CoverageLayers) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

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


def _side_text(fig, layers: CoverageLayers) -> None:
    """The headline figures and the notes, right of the map."""
    r = layers.report
    lines = [
        f"{r['name']}",
        layers.label(f"在用驿站 {figure_text(r['stations'])} 个"
                     f"（每万人 {figure_text(r['stations_per_10k'])} 个）"),
        f"面积 {figure_text(r['area_km2'])} km²",
        f"覆盖面积 {figure_text(r['covered_km2'])} km²"
        f"（{figure_text(r['share_area'], 'pct')}）",
        layers.label(f"人口（粗略代理）{figure_text(r['population'], 'int')} 人"),
        layers.label(f"覆盖人口 {figure_text(r['population_covered'], 'int')} 人"
                     f"（{figure_text(r['share_demand'], 'pct')}）"),
    ]
    fig.text(0.72, 0.55, "\n".join(lines), fontsize=9, va="top", linespacing=1.7)
    notes = [(layers.label("人口说明：") + layers.demand_note.split("Demand")[0]),
             "数据来源：" + layers.sources]
    fig.text(0.72, 0.30, "\n".join(wrap(t, 26) for t in notes), fontsize=6.5, va="top",
             color="#424242", linespacing=1.4)


def map_figure(layers: CoverageLayers, *, figsize=A4_LANDSCAPE_IN):
    """The coverage map as a matplotlib ``Figure`` (A4 landscape by default).

    Map (UTM 50N), title, legend, scale bar, north arrow, headline figures, date, data
    source and, for demo data, the synthetic notice. Draw it inside
    ``matplotlib.rc_context(rc_params())``.

    Parameters
    ----------
    layers : CoverageLayers
    figsize : tuple of float
        (width, height), inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    _draw_map(fig.add_axes((0.02, 0.09, 0.68, 0.80)), layers)
    fig.text(0.02, 0.95, layers.title, fontsize=17, va="center")
    fig.text(0.02, 0.91, f"生成于 {layers.created:%Y-%m-%d %H:%M}（北京时间） · "
             f"数据版本 {layers.version} · 服务半径 {layers.radius_m:,} 米（大地线距离）",
             fontsize=9, color="#424242", va="center")
    _legend(fig, layers)
    _side_text(fig, layers)
    fig.text(0.02, 0.04, "坐标：WGS-84；绘图：UTM 50N（EPSG:32650）。", fontsize=7,
             color="#616161")
    if layers.synthetic:
        fig.text(0.02, 0.015, SYNTHETIC_NOTICE, fontsize=8, color="#b71c1c")
    return fig


def write_coverage_png(layers: CoverageLayers, path: Path, progress: Progress | None = None,
                       *, dpi: int = 200) -> None:
    """The coverage map (:func:`map_figure`) as a PNG: A4 landscape, 200 dpi by default
    (2338 × 1654 pixels), drawn in UTM 50N (EPSG:32650).

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    dpi : int
        Resolution, dots per inch.
    """
    import matplotlib

    with matplotlib.rc_context(rc_params()):
        fig = map_figure(layers)
        with atomic(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi,
                        metadata={"Title": layers.title, "Software": "驿站地图"})
