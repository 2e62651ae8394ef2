"""The two ways in: :func:`export_coverage` and :func:`export_stations` look the format up
in :data:`locator.exports.registry.FORMATS` and run its writer.

Coverage: GeoJSON (RFC 7946), GeoPackage, XLSX, CSV (:mod:`~locator.exports.coverage_files`),
a self-contained offline HTML map (:mod:`~locator.exports.html_map`), a print-quality PNG
(:mod:`~locator.exports.drawing`) and a multi-page PDF report
(:mod:`~locator.exports.pdf_report`), all made from :class:`CoverageLayers`
(:mod:`~locator.exports.layers`). Stations: CSV, XLSX, GeoJSON, GeoPackage and KML
(:mod:`~locator.exports.stations`).

Every file is written atomically and stays inert (no live spreadsheet formula, no
unescaped station text; see :mod:`locator.exports.files`). No Flask: the CLI and the
managers' download page (:mod:`locator.exports.downloads`) call these functions.
Coordinates in every file are WGS-84 lon/lat (EPSG:4326); maps are drawn in UTM 50N
(EPSG:32650), whose scale differs from 1 by under 0.1 % in Hebei.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from locator.coverage.engine import DEFAULT_RADIUS_M, CoverageEngine
from locator.errors import shown
from locator.exports.drawing import find_cjk_font
from locator.exports.files import ExportError, Progress, no_progress
from locator.exports.layers import CoverageLayers, coverage_layers, with_population_csv
from locator.exports.registry import (
    COVERAGE_FORMATS,
    STATION_FORMATS,
    WRITE_STEP,
    Format,
    find,
    formats_of,
)
from locator.exports.stations import PREPARE_STEP, station_list

__all__ = [
    "COVERAGE_FORMATS", "STATION_FORMATS", "CoverageLayers", "ExportError",
    "coverage_layers", "coverage_steps", "export_coverage", "export_stations",
    "find_cjk_font", "progress_steps", "with_population_csv",
]

#: How many gap areas and suggested sites a coverage file lists.
SITES_LISTED = 10


def _format(kind: str, fmt: str) -> Format:
    """The row of ``fmt``; an :class:`ExportError` (status 400) naming the choices if none."""
    row = find(kind, fmt)
    if row is None:
        raise ExportError(f"不支持的格式 {shown(fmt)}（可选 {', '.join(formats_of(kind))}）。",
                          code="bad_format", status=400)
    return row


def progress_steps(kind: str, fmt: str) -> int:
    """How many times an export calls ``progress`` (for a progress bar).

    Parameters
    ----------
    kind : {"coverage", "stations"}
        :func:`export_coverage` or :func:`export_stations`.
    fmt : str
        The format's key.

    Returns
    -------
    int

    Raises
    ------
    ExportError
        For an unknown format (status 400).
    """
    return _format(kind, fmt).progress_steps


def coverage_steps(fmt: str) -> int:
    """How many times :func:`export_coverage` calls ``progress`` for a format.

    Parameters
    ----------
    fmt : str
        A key of :data:`COVERAGE_FORMATS`.

    Returns
    -------
    int
        ``progress_steps("coverage", fmt)``.
    """
    return progress_steps("coverage", fmt)


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
    fmt : str
        One of :data:`COVERAGE_FORMATS` ("geojson", "gpkg", "xlsx", "csv", "html", "png",
        "pdf"). Every file's coordinates are WGS-84 lon/lat (EPSG:4326).
    radius_m : int
        Service radius, geodesic metres (100..5000).
    district : str, optional
        Union district code; the province when None.
    now : datetime.datetime, optional
        Time stamp printed on the file (default: now, Asia/Shanghai).
    progress : callable, optional
        Called with a label :func:`coverage_steps` times: the steps of
        :data:`~locator.exports.layers.LAYER_STEPS`, the format's own, then
        :data:`~locator.exports.registry.WRITE_STEP` once the file is in place.

    Returns
    -------
    CoverageLayers
        What was written (the report and the layers).

    Raises
    ------
    ExportError
        For an unknown format (status 400) or a failed export.
    locator.errors.BadRequest
        For an unknown district or a radius out of range.
    """
    row = _format("coverage", fmt)
    engine.check_district(district)
    step = progress or no_progress
    n = 0 if row.figures_only else SITES_LISTED
    layers = coverage_layers(engine, radius_m, district, gaps=n, suggestions=n, now=now,
                             progress=step)
    row.writer(layers, Path(path), step)
    step(WRITE_STEP)
    return layers


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
    fmt : str
        One of :data:`STATION_FORMATS` ("csv", "xlsx", "geojson", "gpkg", "kml"). Columns
        are the public record fields with their English names, as the import accepts
        them; ``services`` is ``|``-separated codes in CSV, XLSX and GeoPackage.
        Coordinates are WGS-84 lon/lat (EPSG:4326).
    progress : callable, optional
        Called ``progress_steps("stations", fmt)`` times:
        :data:`~locator.exports.stations.PREPARE_STEP`, then
        :data:`~locator.exports.registry.WRITE_STEP` before the file is written, then the
        format's own steps.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ExportError
        For an unknown format (status 400).
    """
    row = _format("stations", fmt)
    step = progress or no_progress
    step(PREPARE_STEP)
    stations = station_list(sites)
    step(WRITE_STEP)
    row.writer(stations, Path(path), step)
    return len(sites)

