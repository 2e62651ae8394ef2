"""Coverage as one self-contained HTML file that opens offline: Leaflet and the data
inlined, no tiles, no request off the file.

Station text reaches HTML only through :func:`locator.escape.html_text`, and JSON inside
``<script>`` only through :func:`locator.jsonio.dumps`; the page itself is
``templates/export_coverage.html``, rendered with autoescaping. The map data is GeoJSON in
WGS-84 lon/lat (EPSG:4326), simplified in UTM 50N metres (EPSG:32650).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from locator.coverage.engine import FIGURE_COLUMNS
from locator.escape import html_text
from locator.exports.files import SYNTHETIC_NOTICE, ExportError, Progress, atomic, features
from locator.exports.layers import CoverageLayers, figure_text, summary_rows
from locator.exports.stations import KIND_LABELS
from locator.geo.index import METRIC_CRS
from locator.jsonio import dumps

__all__ = ["ROOT", "leaflet_assets", "map_data", "write_coverage_html"]

#: The repository (its ``templates`` folder holds ``export_coverage.html``).
ROOT = Path(__file__).resolve().parents[2]


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS, to inline.

    Returns
    -------
    tuple of (str, str)
        The JavaScript (without its source-map comment) and the CSS.

    Raises
    ------
    ExportError
        When either would close its ``<script>``/``<style>`` element early.
    """
    from xstatic.pkg import leaflet

    base = Path(leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = "\n".join(line for line in js.splitlines() if not line.startswith("//# sourceMapping"))
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise ExportError("Leaflet 资源异常，无法内联。")
    return js, css


def _station_popup(row: dict) -> str:
    kind = KIND_LABELS.get(row.get("kind"), "")
    parts = [f"<b>{html_text(row.get('name'))}</b>",
             f"{html_text(kind)} · {html_text(row.get('id'))}"]
    for label, key in (("地址", "address"), ("开放时间", "opening_hours"), ("主办单位", "host"),
                       ("电话", "phone")):
        if row.get(key):
            parts.append(f"{label}：{html_text(row.get(key))}")
    return "<br>".join(parts)


def _simplified(frame: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """``frame`` simplified by ``tolerance_m`` metres in UTM 50N, back in EPSG:4326."""
    metric = frame.to_crs(METRIC_CRS)
    metric = metric.set_geometry(metric.geometry.simplify(tolerance_m))
    return metric.to_crs("EPSG:4326")


def _collection(frame: gpd.GeoDataFrame, digits: int = 6) -> dict:
    return {"type": "FeatureCollection", "features": features(frame, digits=digits)}


def _county_collection(layers: CoverageLayers) -> dict:
    def popup(row):
        return (f"<b>{html_text(row['name'])}</b>（{html_text(row['district_name'])}）<br>"
                f"驿站 {figure_text(row['stations'])} 个 · 面积覆盖 "
                f"{figure_text(row['share_area'], 'pct')}"
                + layers.label(f" · 人口覆盖 {figure_text(row['share_demand'], 'pct')}"))

    counties = _simplified(layers.counties[["name", "district_name", *FIGURE_COLUMNS[4:],
                                            "geometry"]], 20.0)
    counties["popup"] = [popup(r) for r in counties.to_dict("records")]
    return _collection(counties[["popup", "geometry"]], digits=5)


def _site_collections(layers: CoverageLayers) -> tuple[dict, dict]:
    """The gaps and the suggested sites, each with its popup."""
    gaps = layers.gaps.copy()
    gaps["popup"] = [
        f"<b>缺口 #{int(r['rank'])}</b> {html_text(r['county_name'])}<br>"
        + layers.label(f"未覆盖人口（代理）约 {figure_text(r['unmet_demand'], 'int')} 人")
        + f"<br>最近驿站 {figure_text(r['nearest_station_m'], 'int')} 米"
        for r in gaps.to_dict("records")]
    suggestions = layers.suggestions.copy()
    suggestions["popup"] = [
        f"<b>建议新站 #{int(r['rank'])}</b> {html_text(r['county_name'])}<br>"
        + layers.label(f"新增覆盖人口（代理）约 {figure_text(r['demand_added'], 'int')} 人")
        for r in suggestions.to_dict("records")]
    return (_collection(gaps[["rank", "popup", "geometry"]], digits=5),
            _collection(suggestions[["rank", "popup", "geometry"]]))


def map_data(layers: CoverageLayers) -> dict:
    """The map's layers for the HTML page, with HTML popups made of escaped text.

    Parameters
    ----------
    layers : CoverageLayers

    Returns
    -------
    dict
        GeoJSON FeatureCollections in WGS-84 (EPSG:4326): ``counties`` (simplified by
        20 m, coordinates to 5 decimals), ``coverage`` (5 m, 5 decimals), ``gaps``,
        ``suggestions``, ``stations`` (6 decimals); and ``radius_m`` (metres).
    """
    coverage = _simplified(layers.coverage[["geometry"]], 5.0)
    gaps, suggestions = _site_collections(layers)
    station_features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            round(float(r["lon"]), 6), round(float(r["lat"]), 6)]},
         "properties": {"popup": _station_popup(r)}}
        for r in layers.stations.to_dict("records")]
    return {
        "counties": _county_collection(layers),
        "coverage": _collection(coverage, digits=5),
        "gaps": gaps,
        "suggestions": suggestions,
        "stations": {"type": "FeatureCollection", "features": station_features},
        "radius_m": layers.radius_m,
    }


def write_coverage_html(layers: CoverageLayers, path: Path,
                        progress: Progress | None = None) -> None:
    """A single HTML file that opens offline: Leaflet and the data (:func:`map_data`,
    EPSG:4326) inlined, no tiles; headline figures and a per-county table beside the map.

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(ROOT / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    js, css = leaflet_assets()
    summary = [(label, value) for key, label, value in summary_rows(layers)
               if key in FIGURE_COLUMNS[4:] or key == "radius_m"]
    rows = [[row["name"], row["district_name"], figure_text(row["stations"]),
             figure_text(row["stations_per_10k"]), figure_text(row["area_km2"]),
             figure_text(row["share_area"], "pct"), figure_text(row["share_demand"], "pct")]
            for row in layers.counties.to_dict("records")]
    html = env.get_template("export_coverage.html").render(
        title=layers.title, name=layers.report["name"],
        created=layers.created.strftime("%Y-%m-%d %H:%M"),
        sources=layers.sources, demand_note=layers.demand_note,
        notice=SYNTHETIC_NOTICE if layers.synthetic else None, summary=summary,
        county_rows=rows, leaflet_js=js, leaflet_css=css, radius_m=layers.radius_m,
        data_json=dumps(map_data(layers)), label=layers.label)
    with atomic(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
