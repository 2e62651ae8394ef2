"""The export formats: one table, :data:`FORMATS`, one row per (kind, format).

Adding a format is one row here and one writer function. Everything else is derived from
the table: the format lists the CLI and the download buttons offer
(:data:`COVERAGE_FORMATS`, :data:`STATION_FORMATS`), the media types of the downloads
(:data:`MIMETYPES`), the buttons' labels (:data:`FORMAT_LABELS`), the progress count
(:meth:`Format.progress_steps`) and the dispatch of
:func:`locator.exports.writers.export_coverage` / ``export_stations``.

A row's ``writer`` is called as ``writer(data, path, progress)``: ``data`` is a
:class:`~locator.exports.layers.CoverageLayers` for kind "coverage" and a
:class:`~locator.exports.stations.StationList` for kind "stations"; it writes ``path``
atomically and calls ``progress(label)`` once for each label of the row's ``steps``, in
order. Every file holds WGS-84 lon/lat (EPSG:4326) coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from locator.exports.coverage_files import (
    GRID_STEP,
    write_coverage_csv,
    write_coverage_geojson,
    write_coverage_gpkg,
    write_coverage_xlsx,
)
from locator.exports.drawing import write_coverage_png
from locator.exports.files import Progress
from locator.exports.html_map import write_coverage_html
from locator.exports.layers import LAYER_STEPS
from locator.exports.pdf_report import MAP_STEP, write_coverage_pdf
from locator.exports.stations import (
    PREPARE_STEP,
    write_stations_csv,
    write_stations_geojson,
    write_stations_gpkg,
    write_stations_kml,
    write_stations_xlsx,
)

__all__ = [
    "COVERAGE_FORMATS", "FORMATS", "FORMAT_LABELS", "KINDS", "LABEL_MESSAGES", "MIMETYPES",
    "STATION_FORMATS", "WRITE_STEP", "Format", "find", "formats_of",
]

Kind = Literal["coverage", "stations"]
#: The kinds of export, in the order the download page shows them.
KINDS: tuple[Kind, ...] = ("coverage", "stations")
Writer = Callable[[Any, Path, Progress], None]

#: The progress label of writing: a coverage export reports it last, once the file is in
#: place; a station list before its writer runs.
WRITE_STEP = "写入 write"
#: The progress labels every export of a kind reports besides its writer's own ``steps``.
_FIXED_STEPS: dict[str, tuple[str, ...]] = {"coverage": (*LAYER_STEPS, WRITE_STEP),
                                            "stations": (PREPARE_STEP, WRITE_STEP)}
_MIMETYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


@dataclass(frozen=True)
class Format:
    """One export format of one kind.

    Attributes
    ----------
    kind : {"coverage", "stations"}
        What the file holds: an area's coverage, or the station list.
    key : str
        The format's name in URLs, the CLI's ``--format`` and the file suffix.
    writer : callable
        ``writer(data, path, progress)``; see the module docstring.
    mimetype : str
        Media type of the download, without parameters (the web layer adds
        ``charset=utf-8`` to text types).
    label_zh, label_en : str
        The download button's label in Chinese and in English. ``label_zh`` is the
        gettext message shown (translated where it is shown); the English catalogue says
        ``label_en`` (a test keeps them equal), unless the label is ASCII, a name such as
        "CSV" that reads the same in every language (see :data:`LABEL_MESSAGES`).
    steps : tuple of str
        The progress labels ``writer`` reports itself, in order.
    figures_only : bool
        Coverage only: the file holds the figures, so the gaps and suggested sites (the
        slow part) are not computed.
    """

    kind: Kind
    key: str
    writer: Writer
    mimetype: str
    label_zh: str
    label_en: str
    steps: tuple[str, ...] = ()
    figures_only: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown export kind {self.kind!r}")
        if not re.fullmatch(r"[a-z0-9]+", self.key):
            raise ValueError(f"format key {self.key!r}: lower-case letters and digits only")
        if not callable(self.writer):
            raise ValueError(f"format {self.key!r}: writer is not callable")
        if not _MIMETYPE.match(self.mimetype or ""):
            raise ValueError(f"format {self.key!r}: bad media type {self.mimetype!r}")
        if not (self.label_zh and self.label_en):
            raise ValueError(f"format {self.key!r}: no label")

    @property
    def progress_steps(self) -> int:
        """How many times an export in this format calls ``progress``."""
        return len(_FIXED_STEPS[self.kind]) + len(self.steps)


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Every export format. The order of each kind's rows is the order of the CLI's choices
#: and of the download buttons.
FORMATS: tuple[Format, ...] = (
    Format("coverage", "geojson", write_coverage_geojson, "application/geo+json",
           "GeoJSON", "GeoJSON"),
    Format("coverage", "gpkg", write_coverage_gpkg, "application/geopackage+sqlite3",
           "GeoPackage", "GeoPackage", steps=(GRID_STEP,)),
    Format("coverage", "xlsx", write_coverage_xlsx, _XLSX, "Excel 表格", "Excel workbook"),
    Format("coverage", "csv", write_coverage_csv, "text/csv", "CSV", "CSV",
           figures_only=True),
    Format("coverage", "html", write_coverage_html, "text/html", "HTML 地图（离线）",
           "HTML map (offline)"),
    Format("coverage", "png", write_coverage_png, "image/png", "PNG 地图", "PNG map"),
    Format("coverage", "pdf", write_coverage_pdf, "application/pdf", "PDF 报告", "PDF report",
           steps=(MAP_STEP,)),
    Format("stations", "csv", write_stations_csv, "text/csv", "CSV", "CSV"),
    Format("stations", "xlsx", write_stations_xlsx, _XLSX, "Excel 表格", "Excel workbook"),
    Format("stations", "geojson", write_stations_geojson, "application/geo+json",
           "GeoJSON", "GeoJSON"),
    Format("stations", "gpkg", write_stations_gpkg, "application/geopackage+sqlite3",
           "GeoPackage", "GeoPackage"),
    Format("stations", "kml", write_stations_kml, "application/vnd.google-earth.kml+xml",
           "KML（奥维、Google 地球）", "KML (Ovital, Google Earth)"),
)

_BY_KIND_KEY = {(f.kind, f.key): f for f in FORMATS}


def find(kind: str, key: str) -> Format | None:
    """Look a format up.

    Parameters
    ----------
    kind : {"coverage", "stations"}
    key : str
        The format's name, e.g. "pdf".

    Returns
    -------
    Format or None
        None when ``kind`` has no such format.

    Examples
    --------
    >>> find("coverage", "pdf").mimetype
    'application/pdf'
    >>> find("stations", "pdf") is None
    True
    """
    return _BY_KIND_KEY.get((kind, key))


def formats_of(kind: str) -> tuple[str, ...]:
    """The formats of one kind.

    Parameters
    ----------
    kind : {"coverage", "stations"}

    Returns
    -------
    tuple of str
        The keys, in table order.

    Examples
    --------
    >>> formats_of("stations")
    ('csv', 'xlsx', 'geojson', 'gpkg', 'kml')
    """
    return tuple(f.key for f in FORMATS if f.kind == kind)


def _per_key(attribute: str) -> dict[str, str]:
    """``{key: row.attribute}``; a key shared by two kinds must agree on it."""
    out: dict[str, str] = {}
    for f in FORMATS:
        value = getattr(f, attribute)
        if out.setdefault(f.key, value) != value:
            raise ValueError(f"format {f.key!r}: two rows disagree on {attribute}")
    return out


if len(_BY_KIND_KEY) != len(FORMATS):
    raise ValueError("two rows of FORMATS have the same kind and key")

#: Coverage formats (``locator export coverage --format``, the coverage download buttons).
COVERAGE_FORMATS = formats_of("coverage")
#: Station-list formats (``locator export stations --format``, the station buttons).
STATION_FORMATS = formats_of("stations")
#: Media type of each format key (text types are UTF-8: the web layer adds the charset).
MIMETYPES = _per_key("mimetype")
#: The download button label (``label_zh``, translated where it is shown) of each key.
FORMAT_LABELS = _per_key("label_zh")
#: The labels the English catalogue must hold: all but the names that read the same in
#: every language (ASCII, such as "CSV"). They reach gettext through a variable, so
#: extraction cannot see them: :func:`locator.web.i18n.dynamic_messages` lists them.
LABEL_MESSAGES = tuple(label for label in FORMAT_LABELS.values() if not label.isascii())
