"""What every station-file reader returns (:class:`Table`), its caps and its refusals.

A reader (:mod:`~locator.imports.text_files`, :mod:`~locator.imports.xlsx_files`,
:mod:`~locator.imports.gis_files`) turns an upload into a :class:`Table` of cells, capped
by :class:`Limits`, or refuses it with an :class:`~locator.errors.UploadRefused` made by
:func:`unsupported`, :func:`unreadable` or :func:`too_many_rows`. Spreadsheets (CSV and
XLSX) are grids of rows with a header somewhere near the top: :func:`grid_table` finds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from locator import settings
from locator.errors import UploadRefused
from locator.imports.columns import field_of_header

__all__ = [
    "ACCEPTED_EN",
    "ACCEPTED_ZH",
    "FORMATS",
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "MiB",
    "Cell",
    "Limits",
    "Table",
    "grid_table",
    "is_header",
    "too_many_rows",
    "trim",
    "unreadable",
    "unsupported",
]

#: The formats an import file may have.
FORMATS = ("csv", "xlsx", "geojson", "gpkg", "shapefile")
#: Bytes in a mebibyte (sizes in messages are in MB of this size).
MiB = 1024 * 1024
#: How many rows to search for the header (title rows may sit above it).
HEADER_SEARCH_ROWS = 30
#: Columns beyond this are ignored.
MAX_COLUMNS = 100

#: What the readers accept, for the messages that refuse a file (Chinese, English).
ACCEPTED_ZH = ("支持的格式：CSV（UTF-8 或 GBK）、Excel .xlsx、GeoJSON、GeoPackage、"
               "压缩的 Shapefile（.zip）。")
ACCEPTED_EN = ("Accepted: CSV (UTF-8 or GBK), Excel .xlsx, GeoJSON, GeoPackage, "
               "zipped Shapefile.")


def _setting_default(name: str) -> int:
    return next(s.default for s in settings.SETTINGS if s.name == name)


@dataclass(frozen=True)
class Limits:
    """Caps on one upload; defaults are those of the settings table (``IMPORT_*``).

    Attributes
    ----------
    max_bytes : int
        Largest upload, in bytes.
    max_rows : int
        Most data rows (or features).
    zip_max_members, zip_max_bytes, zip_max_member_bytes, zip_max_ratio : int
        Caps on an archive (zipped Shapefile, XLSX): members, unpacked bytes in total and
        per member, and the compression ratio (unpacked : packed) of a large member.
    """

    max_bytes: int = _setting_default("IMPORT_MAX_BYTES")
    max_rows: int = _setting_default("IMPORT_MAX_ROWS")
    zip_max_members: int = _setting_default("IMPORT_ZIP_MAX_MEMBERS")
    zip_max_bytes: int = _setting_default("IMPORT_ZIP_MAX_BYTES")
    zip_max_member_bytes: int = _setting_default("IMPORT_ZIP_MAX_MEMBER_BYTES")
    zip_max_ratio: int = _setting_default("IMPORT_ZIP_MAX_RATIO")

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> Limits:
        """Limits from resolved settings.

        Parameters
        ----------
        config : mapping
            Resolved settings (a Flask ``app.config`` or :func:`locator.settings.load`)
            with the keys ``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS`` and ``IMPORT_ZIP_*``.

        Returns
        -------
        Limits
        """
        return cls(
            max_bytes=config["IMPORT_MAX_BYTES"],
            max_rows=config["IMPORT_MAX_ROWS"],
            zip_max_members=config["IMPORT_ZIP_MAX_MEMBERS"],
            zip_max_bytes=config["IMPORT_ZIP_MAX_BYTES"],
            zip_max_member_bytes=config["IMPORT_ZIP_MAX_MEMBER_BYTES"],
            zip_max_ratio=config["IMPORT_ZIP_MAX_RATIO"],
        )


#: One cell as a reader hands it on (XLSX keeps numbers, booleans and dates).
Cell = str | int | float | bool | dt.datetime | dt.date | None


@dataclass
class Table:
    """An import file as rows of cells.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS` (``"form"`` for the staff form's one-row table).
    columns : list of str
        The header cells (spreadsheets) or attribute names (geo formats), as written.
    rows : list of (int, list)
        ``(row number, cells)``: the number a user sees in a spreadsheet (first line of
        the file = 1, title rows counted), or the feature's position from 1.
    header_row : int or None
        Row number of the header in a spreadsheet; ``None`` for geo formats.
    points : list or None
        For geo formats, per row ``(x, y)`` in degrees (lon, lat; source datum), ``None``
        for a missing geometry, or a string naming what is wrong with it.
    encoding, sheet : str or None
        What was detected (CSV encoding, XLSX sheet name), for the preview.
    """

    format: str
    columns: list[str]
    rows: list[tuple[int, list[Cell]]]
    header_row: int | None = None
    points: list[tuple[float, float] | str | None] | None = None
    encoding: str | None = None
    sheet: str | None = None


# --------------------------------------------------------------------------- refusals

def unsupported(zh: str, en: str) -> UploadRefused:
    """The refusal ``unsupported_file`` (not an allowlisted format, or unsafe content).

    Parameters
    ----------
    zh, en : str
        What is wrong, for the user, in Chinese and English.

    Returns
    -------
    UploadRefused
        To be raised by the caller.
    """
    return UploadRefused("unsupported_file", zh, en)


def unreadable(zh: str, en: str) -> UploadRefused:
    """The refusal ``unreadable_file`` (empty, damaged, or not what it claims to be).

    Parameters
    ----------
    zh, en : str
        What is wrong, for the user, in Chinese and English.

    Returns
    -------
    UploadRefused
        To be raised by the caller.
    """
    return UploadRefused("unreadable_file", zh, en)


def too_many_rows(limits: Limits) -> UploadRefused:
    """The refusal ``too_many_rows``: more data rows than ``limits.max_rows``.

    Parameters
    ----------
    limits : Limits

    Returns
    -------
    UploadRefused
        To be raised by the caller.
    """
    return UploadRefused(
        "too_many_rows",
        f"行数超过上限 {limits.max_rows:,} 行，请分成几个文件导入。",
        f"More than {limits.max_rows:,} rows: split the file into smaller ones.",
    )


# --------------------------------------------------------------------------- header

def is_header(cells: list[Cell]) -> bool:
    """Whether a row looks like the station list's header.

    Parameters
    ----------
    cells : list of Cell

    Returns
    -------
    bool
        True for a name column and at least one other recognised column
        (:func:`locator.imports.columns.field_of_header`).

    Examples
    --------
    >>> is_header(["序号", "名称", "经度", "纬度"]), is_header(["河北省工会驿站名单"])
    (True, False)
    """
    fields = [field_of_header(c) for c in cells if isinstance(c, str)]
    return "name" in fields and len({f for f in fields if f}) >= 2


def trim(cells: list[Cell]) -> list[Cell]:
    """A row without its trailing empty cells.

    Parameters
    ----------
    cells : list of Cell

    Returns
    -------
    list of Cell
        ``cells`` up to the last one that is neither ``None`` nor ``""``.

    Examples
    --------
    >>> trim(["a", None, "b", "", None])
    ['a', None, 'b']
    """
    end = len(cells)
    while end and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    return cells[:end]


def grid_table(fmt: str, grid: list[tuple[int, list[Cell]]], limits: Limits) -> Table:
    """A spreadsheet's rows as a :class:`Table`: the header is searched among the first
    :data:`HEADER_SEARCH_ROWS` rows (title rows may sit above it); the non-empty rows
    below it are the data.

    Parameters
    ----------
    fmt : str
        ``csv`` or ``xlsx``.
    grid : list of (int, list)
        ``(row number, cells)`` as the user sees them in the file.
    limits : Limits

    Returns
    -------
    Table
        Without a recognisable header, the first non-empty row is the header, so that
        validation reports which required columns are missing.

    Raises
    ------
    UploadRefused
        ``too_many_rows``.
    """
    header_at = next((i for i, (_, cells) in enumerate(grid[:HEADER_SEARCH_ROWS])
                      if is_header(cells)), None)
    if header_at is None:
        header_at = next((i for i, (_, cells) in enumerate(grid) if trim(cells)), 0)
    header_number, header = grid[header_at] if grid else (1, [])
    columns = ["" if c is None else str(c).strip() for c in header]
    rows = [(n, cells) for n, cells in grid[header_at + 1:] if trim(cells)]
    if len(rows) > limits.max_rows:
        raise too_many_rows(limits)
    return Table(format=fmt, columns=columns, rows=rows, header_row=header_number)
