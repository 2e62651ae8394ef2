"""Coverage as data files: GeoJSON, GeoPackage, XLSX and CSV.

Each writer takes :class:`~locator.exports.layers.CoverageLayers`, the output path and a
progress callback (the signature :class:`locator.exports.registry.Format` expects), and
writes atomically. Coordinates are WGS-84 lon/lat (EPSG:4326); radii and distances
geodesic metres, areas km².
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from locator.coverage.engine import FIGURE_COLUMNS, GAP_COLUMNS, SUGGESTION_COLUMNS
from locator.exports.files import (
    SYNTHETIC_NOTICE,
    Progress,
    atomic,
    features,
    gpkg_frame,
    new_workbook,
    no_progress,
    records,
    write_csv,
    xlsx_sheet,
)
from locator.exports.layers import LABELS, CoverageLayers, grid_layer, summary_rows
from locator.exports.stations import station_columns
from locator.jsonio import dumps

__all__ = [
    "GRID_STEP", "write_coverage_csv", "write_coverage_geojson", "write_coverage_gpkg",
    "write_coverage_xlsx",
]

#: The progress label :func:`write_coverage_gpkg` reports before building the grid layer.
GRID_STEP = "需求网格 grid"

_FIGURE_WIDTHS = [10, 12, 10, 12] + [14] * 8
_SITE_WIDTHS = [6, 18, 12, 12, 10, 12, 10, 12, 14, 12, 16]


def _metadata(layers: CoverageLayers) -> dict:
    summary = {k: v for k, v in layers.report.items()
               if k not in ("counties", "districts", "gaps")}
    return {**summary, "title": layers.title, "created": layers.created.isoformat(
        timespec="seconds"), "sources": layers.sources,
        "notice": SYNTHETIC_NOTICE if layers.synthetic else None}


def write_coverage_geojson(layers: CoverageLayers, path: Path,
                           progress: Progress | None = None) -> None:
    """One GeoJSON (RFC 7946, EPSG:4326, coordinates to 6 decimals) FeatureCollection.

    Per-county coverage polygons (with the county's figures), gap hexagons and suggested
    sites, told apart by the ``layer`` property; the area's figures and notes in the
    ``metadata`` member. (The 0.5 km² grid is in the GeoPackage: as GeoJSON it would be
    ~100 MB for the province.)

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    layer_features = (
        features(layers.coverage, {"layer": "coverage", "radius_m": layers.radius_m})
        + features(layers.gaps, {"layer": "gap"})
        + features(layers.suggestions, {"layer": "suggestion"}))
    collection = {"type": "FeatureCollection", "metadata": _metadata(layers),
                  "features": layer_features}
    with atomic(path) as tmp:
        tmp.write_text(dumps(collection) + "\n", encoding="utf-8")


def write_coverage_gpkg(layers: CoverageLayers, path: Path,
                        progress: Progress | None = None) -> None:
    """A GeoPackage (every layer EPSG:4326).

    Layers ``counties``, ``coverage`` (MultiPolygons), ``grid`` (H3 res-8 demand cells
    with ``distance_m``, geodesic metres to the nearest active station), ``gaps``,
    ``suggestions``, ``stations`` and a ``summary`` table (no geometry) of the area's
    figures and notes.

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Called with :data:`GRID_STEP` before the grid is built.
    """
    import pyogrio

    (progress or no_progress)(GRID_STEP)
    grid = grid_layer(layers)
    summary = pd.DataFrame(summary_rows(layers), columns=["key", "label", "value"])
    with atomic(path) as tmp:
        for name, frame in (("counties", layers.counties), ("coverage", layers.coverage),
                            ("grid", grid), ("gaps", layers.gaps),
                            ("suggestions", layers.suggestions),
                            ("stations", station_columns(layers.stations))):
            pyogrio.write_dataframe(gpkg_frame(frame), tmp, layer=name, driver="GPKG",
                                    promote_to_multi=name in ("counties", "coverage"))
        pyogrio.write_dataframe(summary, tmp, layer="summary", driver="GPKG")


def write_coverage_xlsx(layers: CoverageLayers, path: Path,
                        progress: Progress | None = None) -> None:
    """An Excel workbook with the figures for people (no geometry).

    Sheets 概况 (headline figures and notes), 区县 (per county), 地区 (per district,
    province only), 缺口 (gaps, centres in WGS-84 degrees), 建议选址 (suggested sites).
    Every string is a text cell.

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    wb = new_workbook()
    xlsx_sheet(wb, "概况", ["项目", "数值"],
               [[label, value] for _, label, value in summary_rows(layers)], [16, 100])
    columns = list(FIGURE_COLUMNS)
    xlsx_sheet(wb, "区县", [layers.label(LABELS[c]) for c in columns],
               records(layers.counties, columns), _FIGURE_WIDTHS)
    if layers.district is None:
        districts = layers.engine.figures(layers.radius_m).districts
        xlsx_sheet(wb, "地区", [layers.label(LABELS[c]) for c in columns],
                   records(districts, columns), _FIGURE_WIDTHS)
    xlsx_sheet(wb, "缺口", [LABELS[c] for c in GAP_COLUMNS],
               records(layers.gaps, GAP_COLUMNS), _SITE_WIDTHS)
    xlsx_sheet(wb, "建议选址", [LABELS[c] for c in SUGGESTION_COLUMNS],
               records(layers.suggestions, SUGGESTION_COLUMNS), _SITE_WIDTHS)
    wb.properties.title = layers.title
    wb.properties.creator = "驿站地图"
    with atomic(path) as tmp:
        wb.save(tmp)


def write_coverage_csv(layers: CoverageLayers, path: Path,
                       progress: Progress | None = None) -> None:
    """One CSV table of figures (English column names, no geometry).

    The area, then its districts (province only), then its counties; the ``level``
    column tells them apart. The notes ride in the last column of row one. Radius in
    metres, areas in km², shares as fractions (0..1).

    Parameters
    ----------
    layers : CoverageLayers
        The area's layers, WGS-84 (EPSG:4326).
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    columns = list(FIGURE_COLUMNS)
    r = layers.report
    head = [["province" if layers.district is None else "district",
             r["district_code"] or "", r["name"], r["district_code"] or "", r["name"],
             *[r[c] for c in columns[4:]]]]
    districts = []
    if layers.district is None:
        frame = layers.engine.figures(layers.radius_m).districts
        districts = [["district", *row] for row in records(frame, columns)]
    counties = [["county", *row] for row in records(layers.counties, columns)]
    note = " ".join(filter(None, [layers.demand_note, layers.sources,
                                  SYNTHETIC_NOTICE if layers.synthetic else ""]))
    rows = [[*row, layers.radius_m, ""] for row in head + districts + counties]
    rows[0][-1] = note
    write_csv(path, ["level", *columns, "radius_m", "notes"], rows)
