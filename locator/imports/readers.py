"""Read an uploaded station file into a :class:`Table`: allowlisted formats, by content.

The entry point, :func:`read_upload`, and the format detection. The format is decided by
the bytes (magic numbers and structure), never by the file name or a Content-Type, and
each format family has its reader module:

* :mod:`~locator.imports.text_files`: the decoder (UTF-8, UTF-8 with BOM, GBK/GB18030,
  UTF-16 with BOM) and CSV;
* :mod:`~locator.imports.xlsx_files`: Excel .xlsx;
* :mod:`~locator.imports.gis_files`: GeoJSON, GeoPackage and zipped Shapefile;
* :mod:`~locator.imports.table`: the :class:`Table` they all return, :class:`Limits` and
  the header search of spreadsheets; :mod:`~locator.imports.archives`: zip checks.

Everything else is refused. Hostile input (../shared/research/reliability.md §2A-§2D):

* the upload is capped in bytes and rows (:class:`Limits`, from the settings table);
* archives (a zipped Shapefile; XLSX is a zip too) are checked *before* unpacking: member
  count, declared total and per-member size, compression ratio, unsafe names (``..``,
  absolute, drive letters), symlinks and duplicate names; members are unpacked with a byte
  counter to server-generated names; a Shapefile zip may hold only ``.shp .shx .dbf .prj
  .cpg`` (and ignorable index/metadata files) of exactly one layer;
* XLSX goes through openpyxl in read-only mode with defusedxml active (asserted);
  spoofed sheet dimensions are ignored; only cached values are read, never formulas;
* GeoJSON is parsed with :mod:`json`, not by GDAL;
* GeoPackage and Shapefile bytes are written to a server-generated temporary folder and
  opened by pyogrio with GDAL restricted to four drivers (:mod:`locator.imports.gdal_guard`),
  in a child process with capped memory, CPU and time (:mod:`locator.imports.gdal_child`);
  a GeoPackage is first checked through a read-only, immutable SQLite connection with
  ``trusted_schema=OFF`` (``quick_check``, ``application_id``, no views, no triggers but
  GeoPackage's own);
* no user string ever becomes a path: only server-generated names are opened.

Every failure is an :class:`~locator.errors.UploadRefused` with a Chinese and an English
message; no other exception escapes :func:`read_upload`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from locator.errors import UploadRefused
from locator.imports import gdal_guard
from locator.imports.archives import RATIO_CHECK_MIN_BYTES, check_zip, open_zip
from locator.imports.gis_files import GDAL_TIMEOUT_S, read_gdal_file, read_geojson
from locator.imports.table import (
    ACCEPTED_EN,
    ACCEPTED_ZH,
    FORMATS,
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    Cell,
    Limits,
    MiB,
    Table,
    unreadable,
    unsupported,
)
from locator.imports.text_files import decode_text, read_csv
from locator.imports.xlsx_files import assert_defusedxml, read_xlsx

__all__ = [
    # this module's
    "detect_format",
    "read_upload",
    # from the modules this entry point dispatches to, importable here too
    "FORMATS",
    "GDAL_TIMEOUT_S",
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "RATIO_CHECK_MIN_BYTES",
    "Cell",
    "Limits",
    "Table",
    "assert_defusedxml",
    "check_zip",
    "decode_text",
]


def detect_format(data: bytes) -> str:
    """The format of ``data`` by content: one of :data:`FORMATS`.

    Parameters
    ----------
    data : bytes
        The upload's bytes; only the first few kilobytes (and a zip's directory) are
        looked at.

    Returns
    -------
    str
        ``csv``, ``xlsx``, ``geojson``, ``gpkg`` or ``shapefile``.

    Raises
    ------
    UploadRefused
        ``unreadable_file`` for an empty file, ``unsupported_file`` for anything else
        that is not an allowlisted format (old .xls, XML such as OGR VRT, HTML, PDF ...).

    Examples
    --------
    >>> detect_format('名称,经度,纬度\\n'.encode('gbk'))
    'csv'
    >>> detect_format(b'<OGRVRTDataSource></OGRVRTDataSource>')
    Traceback (most recent call last):
    ...
    locator.errors.UploadRefused: 不支持这种文件：它是 XML 或 HTML。...
    """
    if not data.strip():
        raise unreadable("文件是空的。", "The file is empty.")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise unsupported(
            "这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再上传。",
            "This is an old Excel .xls file: save it as .xlsx or CSV and upload that.",
        )
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text, as Excel's "Unicode text" writes it
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith((b"{", b"[")):
        return "geojson"
    if stripped.startswith(b"<"):
        raise unsupported(
            "不支持这种文件：它是 XML 或 HTML。" + ACCEPTED_ZH,
            "Unsupported file: it is XML or HTML. " + ACCEPTED_EN,
        )
    if b"\x00" in head or stripped.startswith((b"%PDF", b"\x89PNG", b"\x1f\x8b", b"Rar!",
                                               b"7z\xbc\xaf")):
        raise unsupported("不支持这种文件。" + ACCEPTED_ZH, "Unsupported file. " + ACCEPTED_EN)
    return "csv"


def _zip_kind(data: bytes) -> str:
    with open_zip(data) as zf:
        names = zf.namelist()
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return "xlsx"
    if any(PurePosixPath(n).suffix.lower() == ".shp" for n in names):
        return "shapefile"
    raise unsupported(
        "压缩包里没有 Shapefile（.shp）。" + ACCEPTED_ZH,
        "The zip holds no Shapefile (.shp). " + ACCEPTED_EN,
    )


#: The reader of each format that is read in this process.
_READERS = {"csv": read_csv, "xlsx": read_xlsx, "geojson": read_geojson}


def read_upload(data: bytes, *, limits: Limits | None = None,
                tmp_root: str | Path | None = None) -> Table:
    """Read an uploaded station file.

    Parameters
    ----------
    data : bytes
        The file's bytes, as uploaded. Its name and Content-Type are not needed: the
        format is recognised by content (:func:`detect_format`).
    limits : Limits, optional
        Caps on size, rows and archives; defaults to the settings' defaults.
    tmp_root : str or pathlib.Path, optional
        Folder under which a private temporary folder is made for GeoPackage and Shapefile
        (e.g. the Flask instance folder); default: the system's temporary folder. The
        temporary folder is removed before this returns.

    Returns
    -------
    Table
        Coordinates (cells, or ``points`` for geo formats) as written, in the file's
        datum: nothing is converted here.

    Raises
    ------
    UploadRefused
        ``unreadable_file``, ``unsupported_file`` or ``too_many_rows``, with a message for
        the user. No other exception escapes.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise unsupported(
            f"文件太大（{len(data) / MiB:.1f} MB，上限 {limits.max_bytes / MiB:.0f} MB）。",
            f"The file is too large ({len(data) / MiB:.1f} MB; at most "
            f"{limits.max_bytes / MiB:.0f} MB).",
        )
    try:
        fmt = detect_format(data)
        if fmt in _READERS:
            return _READERS[fmt](data, limits)
        return read_gdal_file(data, fmt, limits, tmp_root=tmp_root)
    except UploadRefused:
        raise
    except gdal_guard.GdalGuardError:
        raise
    except Exception as e:  # never let a parser's exception reach the user
        raise unreadable("无法读取这个文件。", "This file cannot be read.") from e
