"""What every export writer shares: the error, atomic writing, and the inert cell and
feature conventions of CSV, XLSX, GeoJSON and GeoPackage.

Safety rules, tested by ``tests/unit/test_exports.py`` with hostile station names:

* spreadsheets never hold a live formula: every XLSX string cell is written as a text
  cell (:func:`xlsx_sheet`), and CSV text starting with ``= + - @`` (or tab, CR) gets a
  leading ``'`` (:func:`write_csv`, through :func:`locator.escape.csv_cell`);
* JSON goes through :func:`locator.jsonio.dumps` (compact, no NaN, safe inside
  ``<script>``).

Files are written to a temporary name beside the target and renamed into place
(:func:`atomic`), so a failed export never leaves half a file.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from locator.errors import LocatorError
from locator.escape import csv_cell
from locator.jsonio import plain

__all__ = [
    "SYNTHETIC_NOTICE", "ExportError", "Progress", "atomic", "features", "gpkg_frame",
    "new_workbook", "no_progress", "records", "write_csv", "xlsx_sheet",
]

#: ``progress(label)``: called before (or after) each step of an export, for a progress bar.
Progress = Callable[[str], None]

SYNTHETIC_NOTICE = (
    "示例数据：全部为程序生成的虚构站点，不是真实驿站。"
    "Synthetic demo data: every site is generated, none is real."
)


class ExportError(LocatorError):
    """An export that cannot be made: an unknown format (status 400), a missing font or
    an unreadable input file; status 500 otherwise."""

    status = 500
    code = "export_failed"
    message = "导出失败。"


def no_progress(_label: str) -> None:
    """The :data:`Progress` callback that reports nothing.

    Parameters
    ----------
    _label : str
        Ignored.
    """


@contextlib.contextmanager
def atomic(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write; its folder is created when missing.

    Yields
    ------
    pathlib.Path
        Write here. On an exception the temporary file is deleted and ``path`` is left as
        it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------
# GeoJSON and GeoPackage


def _round_coords(geom, digits: int):
    if geom is None or geom.is_empty:
        return geom
    return shapely.transform(geom, lambda xy: np.round(xy, digits))


def _feature(geom, props: dict, digits: int) -> dict:
    geom = _round_coords(geom, digits)
    geometry = None if geom is None or geom.is_empty else json.loads(shapely.to_geojson(geom))
    return {"type": "Feature", "geometry": geometry,
            "properties": {k: plain(v) for k, v in props.items()}}


def features(frame: gpd.GeoDataFrame, extra: dict | None = None, digits: int = 6) -> list:
    """The rows of ``frame`` as GeoJSON (RFC 7946) Feature dicts.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        In WGS-84 (EPSG:4326), as RFC 7946 requires; not reprojected here.
    extra : dict, optional
        Properties put first in every feature (the row's own columns follow).
    digits : int
        Decimal places kept of each coordinate, degrees (6 ≈ 0.1 m, 5 ≈ 1 m).

    Returns
    -------
    list of dict
        ``geometry`` is None for an empty geometry; property values are plain JSON types
        (:func:`locator.jsonio.plain`).
    """
    columns = [c for c in frame.columns if c != frame.geometry.name]
    return [_feature(geom, {**(extra or {}), **row}, digits)
            for geom, row in zip(frame.geometry, frame[columns].to_dict("records"),
                                 strict=True)]


def gpkg_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``frame`` whose columns GeoPackage can hold.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame

    Returns
    -------
    geopandas.GeoDataFrame
        Lists become ``|``-joined text, dates and times ISO 8601 text; the geometry and
        its CRS are unchanged.
    """
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


# --------------------------------------------------------------------------------------
# Tables: CSV and XLSX


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[list]:
    """The rows of a table as plain lists.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : sequence of str
        The columns to take, in this order.

    Returns
    -------
    list of list
        One list per row.
    """
    return [[row[c] for c in columns] for row in frame.to_dict("records")]


def write_csv(path: Path, header: list[str], rows: Iterable[Sequence]) -> None:
    """Write a CSV: UTF-8 with a BOM (Excel then reads Chinese correctly), RFC 4180
    quoting, and no cell that a spreadsheet would evaluate (:func:`locator.escape.csv_cell`).

    Parameters
    ----------
    path : pathlib.Path
        Output file, replaced atomically.
    header : list of str
    rows : iterable of sequence
        Values are cleaned by :func:`locator.jsonio.plain`; None becomes an empty cell.
    """
    with atomic(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow(["" if v is None else csv_cell(v) for v in map(plain, row)])


def _xlsx_text(value) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def new_workbook():
    """An empty ``openpyxl.Workbook`` (no default sheet): add sheets with :func:`xlsx_sheet`."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    return wb


def xlsx_sheet(wb, title: str, header: list[str], rows: list[list],
               widths: Sequence[float] | None = None):
    """Add a sheet: a bold, frozen header row, then ``rows``.

    Every string is a text cell (``data_type = "s"``), never a formula, whatever it starts
    with; characters XLSX cannot hold are dropped; booleans are 是/否; None leaves the cell
    empty; numbers stay numbers.

    Parameters
    ----------
    wb : openpyxl.Workbook
    title : str
        Sheet name.
    header : list of str
    rows : list of list
    widths : sequence of float, optional
        Column widths in Excel character units, from column A.

    Returns
    -------
    openpyxl.worksheet.worksheet.Worksheet
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

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
                ws.cell(row=r, column=c, value=value)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    return ws
