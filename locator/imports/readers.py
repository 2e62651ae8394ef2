"""Read an uploaded station file into a :class:`Table`: allowlisted formats, by content.

The format is decided by the bytes (magic numbers and structure), never by the file name
or a Content-Type: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16 with BOM), XLSX,
GeoJSON, GeoPackage and zipped Shapefile. Everything else is refused.

Hostile input (../shared/research/reliability.md §2A-§2D):

* the upload is capped in bytes and rows (:class:`Limits`, from the settings table);
* archives (a zipped Shapefile; XLSX is a zip too) are checked *before* unpacking: member
  count, declared total and per-member size, compression ratio, unsafe names (``..``,
  absolute, drive letters), symlinks and duplicate names; members are unpacked with a byte
  counter to server-generated names; a Shapefile zip may hold only ``.shp .shx .dbf .prj
  .cpg`` (and ignorable index/metadata files) of exactly one layer;
* XLSX goes through openpyxl in read-only mode with defusedxml active (asserted);
  spoofed sheet dimensions are ignored; only cached values are read, never formulas;
* GeoJSON is parsed here, with :mod:`json`, not by GDAL;
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

import csv
import datetime as dt
import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from locator import settings
from locator.errors import UploadRefused
from locator.imports import gdal_guard
from locator.imports.columns import field_of_header

__all__ = ["FORMATS", "Limits", "Table", "assert_defusedxml", "check_zip", "detect_format",
           "read_upload"]

#: The formats an import file may have.
FORMATS = ("csv", "xlsx", "geojson", "gpkg", "shapefile")

_MiB = 1024 * 1024
#: Members smaller than this are not ratio-checked (tiny files compress absurdly well).
RATIO_CHECK_MIN_BYTES = _MiB
#: How many rows to search for the header (title rows may sit above it).
HEADER_SEARCH_ROWS = 30
#: Columns beyond this are ignored.
MAX_COLUMNS = 100

_SHAPE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
_SHAPE_IGNORED = {".sbn", ".sbx", ".qix", ".xml", ".aux", ".qmd", ".qpj", ".fix", ".atx"}
_GPKG_TRIGGER = re.compile(
    r"^(rtree_.+_(insert\d*|update\d*|delete)|trigger_(insert|delete)_feature_count_.+"
    r"|gpkg_.+)$"
)


def _setting_default(name: str) -> int:
    return next(s.default for s in settings.SETTINGS if s.name == name)


@dataclass(frozen=True)
class Limits:
    """Caps on one upload; defaults are those of the settings table (``IMPORT_*``)."""

    max_bytes: int = _setting_default("IMPORT_MAX_BYTES")
    max_rows: int = _setting_default("IMPORT_MAX_ROWS")
    zip_max_members: int = _setting_default("IMPORT_ZIP_MAX_MEMBERS")
    zip_max_bytes: int = _setting_default("IMPORT_ZIP_MAX_BYTES")
    zip_max_member_bytes: int = _setting_default("IMPORT_ZIP_MAX_MEMBER_BYTES")
    zip_max_ratio: int = _setting_default("IMPORT_ZIP_MAX_RATIO")

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> Limits:
        """Limits from resolved settings (``IMPORT_MAX_BYTES`` ... keys)."""
        return cls(
            max_bytes=config["IMPORT_MAX_BYTES"],
            max_rows=config["IMPORT_MAX_ROWS"],
            zip_max_members=config["IMPORT_ZIP_MAX_MEMBERS"],
            zip_max_bytes=config["IMPORT_ZIP_MAX_BYTES"],
            zip_max_member_bytes=config["IMPORT_ZIP_MAX_MEMBER_BYTES"],
            zip_max_ratio=config["IMPORT_ZIP_MAX_RATIO"],
        )


Cell = str | int | float | bool | dt.datetime | dt.date | None


@dataclass
class Table:
    """An import file as rows of cells.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
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


def _refuse(code: str, zh: str, en: str) -> UploadRefused:
    return UploadRefused(code, zh, en)


def _unsupported(zh: str, en: str) -> UploadRefused:
    return _refuse("unsupported_file", zh, en)


def _unreadable(zh: str, en: str) -> UploadRefused:
    return _refuse("unreadable_file", zh, en)


def _too_many_rows(limits: Limits) -> UploadRefused:
    return _refuse(
        "too_many_rows",
        f"行数超过上限 {limits.max_rows:,} 行，请分成几个文件导入。",
        f"More than {limits.max_rows:,} rows: split the file into smaller ones.",
    )


_ACCEPTED_ZH = ("支持的格式：CSV（UTF-8 或 GBK）、Excel .xlsx、GeoJSON、GeoPackage、"
                "压缩的 Shapefile（.zip）。")
_ACCEPTED_EN = ("Accepted: CSV (UTF-8 or GBK), Excel .xlsx, GeoJSON, GeoPackage, "
                "zipped Shapefile.")


# --------------------------------------------------------------------------- detection

def detect_format(data: bytes) -> str:
    """The format of ``data`` by content: one of :data:`FORMATS`.

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
        raise _unreadable("文件是空的。", "The file is empty.")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unsupported(
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
        raise _unsupported(
            "不支持这种文件：它是 XML 或 HTML。" + _ACCEPTED_ZH,
            "Unsupported file: it is XML or HTML. " + _ACCEPTED_EN,
        )
    if b"\x00" in head or stripped.startswith((b"%PDF", b"\x89PNG", b"\x1f\x8b", b"Rar!",
                                               b"7z\xbc\xaf")):
        raise _unsupported("不支持这种文件。" + _ACCEPTED_ZH, "Unsupported file. " + _ACCEPTED_EN)
    return "csv"


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise _unreadable("压缩文件已损坏，无法打开。", "The zip archive is damaged.") from e


def _zip_kind(data: bytes) -> str:
    with _open_zip(data) as zf:
        names = zf.namelist()
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return "xlsx"
    if any(PurePosixPath(n).suffix.lower() == ".shp" for n in names):
        return "shapefile"
    raise _unsupported(
        "压缩包里没有 Shapefile（.shp）。" + _ACCEPTED_ZH,
        "The zip holds no Shapefile (.shp). " + _ACCEPTED_EN,
    )


# --------------------------------------------------------------------------- archives

def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.drive or ".." in pure.parts:
            return True
    return False


def check_zip(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """Check an archive's directory before anything is unpacked; returns its members.

    Refuses (``unsupported_file``): too many members, a declared total or member size
    above the limits, a member larger than :data:`RATIO_CHECK_MIN_BYTES` compressed more
    than ``zip_max_ratio`` : 1, unsafe names (zip slip), symlinks, duplicate names and
    encrypted members.
    """
    infos = zf.infolist()
    if len(infos) > limits.zip_max_members:
        raise _unsupported(
            f"压缩包里的文件太多（{len(infos)} 个，上限 {limits.zip_max_members} 个）。",
            f"The archive has too many members ({len(infos)}; at most "
            f"{limits.zip_max_members}).",
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            raise _unsupported(
                "压缩包里有不安全的路径（如 ../ 或绝对路径），已拒绝。",
                "The archive holds an unsafe path (such as ../ or an absolute path); refused.",
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _unsupported("压缩包里有符号链接，已拒绝。",
                               "The archive holds a symbolic link; refused.")
        if info.flag_bits & 0x1:
            raise _unsupported("压缩包有密码保护，无法读取。",
                               "The archive is encrypted; it cannot be read.")
        key = name.casefold()
        if key in seen:
            raise _unsupported("压缩包里有重名的文件，已拒绝。",
                               "The archive holds two members with the same name; refused.")
        seen.add(key)
        total += info.file_size
        too_big = info.file_size > limits.zip_max_member_bytes
        ratio_bomb = (info.file_size > RATIO_CHECK_MIN_BYTES
                      and info.file_size > limits.zip_max_ratio * max(info.compress_size, 1))
        if too_big or ratio_bomb or total > limits.zip_max_bytes:
            raise _unsupported(
                "压缩包解压后过大或压缩比异常（疑似“压缩炸弹”），已拒绝。",
                "The archive unpacks to too much data or is compressed suspiciously well "
                "(a zip bomb?); refused.",
            )
    return infos


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, counted while reading (headers may lie, reliability.md F14)."""
    out = io.BytesIO()
    cap = min(limits.zip_max_member_bytes, info.file_size)
    try:
        with zf.open(info) as src:
            while chunk := src.read(1 << 16):
                if out.tell() + len(chunk) > cap:
                    raise _unsupported("压缩包里的文件大小与声明不符，已拒绝。",
                                       "An archive member is larger than it claims; refused.")
                out.write(chunk)
    except UploadRefused:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise _unreadable("压缩文件已损坏，无法解压。", "The zip archive is damaged.") from e
    return out.getvalue()


# --------------------------------------------------------------------------- text (CSV)

def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8-sig", data)]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", data)]
    else:
        candidates = [("utf-8", data), ("gb18030", data)]
    for encoding, raw in candidates:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise _unreadable(
        "无法识别文件的文字编码。请在 Excel 中另存为“CSV UTF-8”或 .xlsx。",
        "Unknown text encoding: save the file as CSV UTF-8 or .xlsx.",
    )


def _csv_records(text: str, delimiter: str) -> Iterable[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def _pick_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    best, best_width = ",", 0
    for delimiter in (",", "\t", ";"):
        try:
            width = max((len(r) for r in _csv_records(sample, delimiter)), default=0)
        except csv.Error:
            continue
        if width > best_width:
            best, best_width = delimiter, width
    return best


def _read_csv(data: bytes, limits: Limits) -> Table:
    text, encoding = _decode(data)
    delimiter = _pick_delimiter(text)
    grid: list[tuple[int, list[Cell]]] = []
    try:
        for number, record in enumerate(_csv_records(text, delimiter), start=1):
            grid.append((number, list(record[:MAX_COLUMNS])))
            if len(grid) > limits.max_rows + HEADER_SEARCH_ROWS + 1:
                break
    except csv.Error as e:
        raise _unreadable(
            f"CSV 格式有误（第 {len(grid) + 1} 行附近，可能有未配对的引号）。",
            f"Malformed CSV near row {len(grid) + 1} (an unpaired quote?).",
        ) from e
    table = _grid_table("csv", grid, limits)
    table.encoding = encoding
    return table


# --------------------------------------------------------------------------- header

def _is_header(cells: list[Cell]) -> bool:
    fields = [field_of_header(c) for c in cells if isinstance(c, str)]
    return "name" in fields and len({f for f in fields if f}) >= 2


def _trim(cells: list[Cell]) -> list[Cell]:
    end = len(cells)
    while end and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    return cells[:end]


def _grid_table(fmt: str, grid: list[tuple[int, list[Cell]]], limits: Limits) -> Table:
    """Find the header among the first rows; the rows below it are the data."""
    header_at = next((i for i, (_, cells) in enumerate(grid[:HEADER_SEARCH_ROWS])
                      if _is_header(cells)), None)
    if header_at is None:
        # No recognisable header: hand back the first non-empty row as the header, so
        # that validation reports which required columns are missing.
        header_at = next((i for i, (_, cells) in enumerate(grid) if _trim(cells)), 0)
    header_number, header = grid[header_at] if grid else (1, [])
    columns = ["" if c is None else str(c).strip() for c in header]
    rows = [(n, cells) for n, cells in grid[header_at + 1:] if _trim(cells)]
    if len(rows) > limits.max_rows:
        raise _too_many_rows(limits)
    return Table(format=fmt, columns=columns, rows=rows, header_row=header_number)


# --------------------------------------------------------------------------- XLSX

def assert_defusedxml() -> None:
    """Raise unless openpyxl parses XML through defusedxml (reliability.md F13)."""
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:
        raise RuntimeError("defusedxml is not active for openpyxl: refusing to read XLSX")


def _read_xlsx(data: bytes, limits: Limits) -> Table:
    assert_defusedxml()
    import openpyxl

    with _open_zip(data) as zf:
        check_zip(zf, limits)
    try:
        # openpyxl (through defusedxml) reads the workbook's structure: sheets, their
        # visibility and paths, and the shared strings.
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                    keep_links=False)
    except Exception as e:  # openpyxl raises many kinds; defusedxml's among them
        raise _unreadable(
            "无法读取这个 Excel 文件（文件损坏，或含有不允许的 XML 内容）。",
            "This Excel file cannot be read (damaged, or holds forbidden XML).",
        ) from e
    try:
        chosen = None
        with _open_zip(data) as zf:
            for ws in wb.worksheets:
                if getattr(ws, "sheet_state", "visible") != "visible":
                    continue
                grid = _sheet_grid(zf, ws, limits)
                table = _grid_table("xlsx", grid, limits)
                if chosen is None:
                    chosen = (ws.title, table)
                if _is_header(table.columns):
                    chosen = (ws.title, table)
                    break
    except UploadRefused:
        raise
    except Exception as e:
        raise _unreadable("无法读取这个 Excel 文件（文件已损坏）。",
                          "This Excel file cannot be read (damaged).") from e
    finally:
        wb.close()
    if chosen is None:
        raise _unreadable("这个 Excel 文件里没有可见的工作表。",
                          "This Excel file has no visible worksheet.")
    chosen[1].sheet = chosen[0]
    return chosen[1]


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _VALUE = _SHEET_NS + "row", _SHEET_NS + "c", _SHEET_NS + "v"
_INLINE, _TEXT, _PHONETIC = _SHEET_NS + "is", _SHEET_NS + "t", _SHEET_NS + "rPh"
_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")


_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _refuse_dtd(raw: bytes) -> None:
    """Refuse an XML part that declares a DTD or is not plain UTF-8 (a UTF-16 or UTF-7
    part could hide ``<!DOCTYPE`` from a byte search)."""
    head = raw[:512].removeprefix(b"\xef\xbb\xbf")
    declared = _XML_ENCODING.match(head)
    if (not head.lstrip().startswith(b"<") or b"\x00" in head
            or (declared and declared.group(1).lower() not in (b"utf-8", b"utf8"))
            or _DTD.search(raw)):
        raise _unreadable(
            "无法读取这个 Excel 文件：工作表含有不允许的 XML 内容（DTD/实体）。",
            "This Excel file cannot be read: a sheet holds forbidden XML (a DTD or entities).",
        )


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _cell_value(c, shared: list) -> Cell:
    kind = c.get("t", "n")
    if kind == "inlineStr":
        inline = c.find(_INLINE)
        if inline is None:
            return None
        texts = [t.text or "" for t in inline.iter(_TEXT)]
        phonetic = [t.text or "" for p in inline.iter(_PHONETIC) for t in p.iter(_TEXT)]
        return "".join(texts[:len(texts) - len(phonetic)] if phonetic else texts)
    v = c.find(_VALUE)
    if v is None or v.text is None:
        return None
    text = v.text
    if kind == "s":
        value = shared[int(text)]
        return value if isinstance(value, str) else str(value)
    if kind in ("str", "d"):
        return text
    if kind == "b":
        return text.strip() == "1"
    if kind == "e":
        return None
    number = float(text)
    if number.is_integer() and abs(number) < 1e15:
        return int(number)
    return number


def _sheet_grid(zf: zipfile.ZipFile, ws, limits: Limits) -> list[tuple[int, list[Cell]]]:
    """The sheet's non-empty rows as ``(row number, cells)``, numbered as Excel shows them.

    openpyxl (with defusedxml) has already read the workbook's structure and shared
    strings; the sheet's cells are streamed here by the C ElementTree parser, after
    :func:`_refuse_dtd` made sure the part declares no DTD (so no entity can expand and
    nothing external can be referenced: what defusedxml guards against). This is ~7x
    faster than openpyxl's cell objects over defusedxml's pure-Python parser callbacks,
    which matters for 10,000-row sheets. Only cached values are read (a formula without
    one is empty); the sheet's declared <dimension> is ignored.
    """
    from xml.etree.ElementTree import iterparse

    path = str(ws._worksheet_path).lstrip("/")
    shared = list(ws._shared_strings)
    info = zf.getinfo(path)
    raw = _read_member(zf, info, limits)
    _refuse_dtd(raw)
    source = io.BytesIO(raw)
    grid: list[tuple[int, list[Cell]]] = []
    cap = limits.max_rows + HEADER_SEARCH_ROWS + 1
    number = 0
    columns: dict[str, int] = {}  # "AB" -> 27, cached: a sheet has few column letters
    for _event, element in iterparse(source, events=("end",)):
        if element.tag != _ROW:
            continue
        r = element.get("r")
        number = int(r) if r else number + 1
        cells: list[Cell] = []
        column = -1
        for c in element.iter(_CELL):
            ref = c.get("r")
            letters = ref.rstrip("0123456789") if ref else ""
            index = columns.get(letters) if letters else -1
            if index is None:
                index = columns[letters] = (_column_index(letters) if _REF.fullmatch(ref)
                                            else -1)
            column = index if index >= 0 else column + 1
            if column >= MAX_COLUMNS:
                break
            if column >= len(cells):
                cells.extend([None] * (column + 1 - len(cells)))
            cells[column] = _cell_value(c, shared)
        element.clear()
        if _trim(cells):
            grid.append((number, cells))
            if len(grid) > cap:
                break
    return grid


# --------------------------------------------------------------------------- GeoJSON

_GEOGRAPHIC_CRS = {"urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:epsg::4326",
                   "epsg:4326", "urn:ogc:def:crs:epsg::4490", "epsg:4490"}


def _point_of(geometry: Any) -> tuple[float, float] | str | None:
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        return "geometry"
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        return f"{kind}"
    if (not isinstance(coords, list) or len(coords) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool)
                       for c in coords[:2])):
        return "coordinates"
    return float(coords[0]), float(coords[1])


def _property(value: Any) -> Cell:
    if isinstance(value, list):
        return "、".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _read_geojson(data: bytes, limits: Limits) -> Table:
    text, _ = _decode(data)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise _unreadable("GeoJSON 格式有误，无法解析。",
                          "Malformed GeoJSON: it cannot be parsed.") from e
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not (isinstance(doc, dict) and doc.get("type") == "FeatureCollection"
            and isinstance(doc.get("features"), list)):
        raise _unsupported("这个 JSON 文件不是 GeoJSON 要素集合（FeatureCollection）。",
                           "This JSON file is not a GeoJSON FeatureCollection.")
    crs = doc.get("crs")
    if crs is not None:
        name = str(((crs or {}).get("properties") or {}).get("name", "")).casefold()
        if name not in _GEOGRAPHIC_CRS:
            raise _unsupported(
                "GeoJSON 的坐标参考系不是经纬度（WGS-84），请转换后再上传。",
                "The GeoJSON's CRS is not longitude/latitude (WGS-84): convert it first.",
            )
    features = doc["features"]
    if len(features) > limits.max_rows:
        raise _too_many_rows(limits)
    columns: list[str] = []
    index: dict[str, int] = {}
    props_list = []
    points = []
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        props = props if isinstance(props, dict) else {}
        for key in props:
            if key not in index and len(columns) < MAX_COLUMNS:
                index[key] = len(columns)
                columns.append(str(key))
        props_list.append(props)
        points.append(_point_of(feature.get("geometry")) if isinstance(feature, dict)
                      else "geometry")
    rows = []
    for number, props in enumerate(props_list, start=1):
        cells: list[Cell] = [None] * len(columns)
        for key, value in props.items():
            if key in index:
                cells[index[key]] = _property(value)
        rows.append((number, cells))
    return Table(format="geojson", columns=columns, rows=rows, points=points,
                 encoding="utf-8")


# --------------------------------------------------------------------------- GDAL formats

def _work_folder(tmp_root: str | Path | None) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="locator-import-",
                                       dir=str(tmp_root) if tmp_root else None)


def _sqlite_uri(path: Path) -> str:
    from urllib.parse import quote

    return "file:" + quote(str(path)) + "?mode=ro&immutable=1"


def _check_gpkg(path: Path) -> None:
    """Pre-check an uploaded GeoPackage without trusting it (reliability.md §2C-17)."""
    bad = _unsupported("这个 GeoPackage 文件不符合规范或含有不允许的内容（视图、触发器），已拒绝。",
                       "This GeoPackage is invalid or holds forbidden content (views, "
                       "triggers); refused.")
    try:
        conn = sqlite3.connect(_sqlite_uri(path), uri=True)
    except sqlite3.Error as e:
        raise _unreadable("GeoPackage 文件已损坏。", "The GeoPackage is damaged.") from e
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA cell_size_check=ON")
        conn.execute("PRAGMA mmap_size=0")
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise _unreadable("GeoPackage 文件已损坏。", "The GeoPackage is damaged.")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0x47504B47, 0x47503130, 0x47503131):  # 'GPKG', 'GP10', 'GP11'
            raise _unsupported("这是 SQLite 数据库，不是 GeoPackage。",
                               "This is an SQLite database, not a GeoPackage.")
        objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
        if any(t == "view" for t, _ in objects):
            raise bad
        if any(t == "trigger" and not _GPKG_TRIGGER.match(n) for t, n in objects):
            raise bad
        layers = conn.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes')"
        ).fetchall()
    except sqlite3.Error as e:
        raise bad from e
    finally:
        conn.close()
    if len(layers) != 1:
        raise _unsupported(
            f"GeoPackage 里应当只有一个图层，这里有 {len(layers)} 个。",
            f"The GeoPackage should hold exactly one layer; it holds {len(layers)}.",
        )


def _shapefile_encoding(parts: dict[str, bytes]) -> str:
    if ".cpg" in parts:
        name = parts[".cpg"].decode("ascii", "replace").strip().upper()
        if name in {"UTF-8", "UTF8", "65001"}:
            return "UTF-8"
        if name in {"GBK", "CP936", "936", "GB2312", "GB18030"}:
            return "GB18030"
    dbf = parts.get(".dbf", b"")
    if len(dbf) > 29 and dbf[29] == 0x4D:  # language driver id 0x4D: code page 936
        return "GB18030"
    try:
        dbf[32:].decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"  # what Chinese desktop GIS writes without a .cpg


def _extract_shapefile(data: bytes, folder: Path, limits: Limits) -> tuple[Path, str]:
    with _open_zip(data) as zf:
        infos = [i for i in check_zip(zf, limits) if not i.is_dir()]
        parts: dict[str, zipfile.ZipInfo] = {}
        stems = set()
        for info in infos:
            pure = PurePosixPath(info.filename.replace("\\", "/"))
            suffix = pure.suffix.lower()
            if pure.name.lower().endswith(".shp.xml") or suffix in _SHAPE_IGNORED \
                    or pure.name.startswith(".") or "__MACOSX" in pure.parts:
                continue
            if suffix not in _SHAPE_PARTS:
                raise _unsupported(
                    f"压缩包里有不属于 Shapefile 的文件（{suffix or '无扩展名'}），已拒绝。"
                    "只允许 .shp .shx .dbf .prj .cpg。",
                    f"The archive holds a file that is not part of a Shapefile "
                    f"({suffix or 'no extension'}); only .shp .shx .dbf .prj .cpg are allowed.",
                )
            stems.add(str(pure.with_suffix("")).casefold())
            parts[suffix] = info
        if len(stems) != 1 or not {".shp", ".shx", ".dbf"} <= parts.keys():
            raise _unsupported(
                "压缩包里应当恰好有一个 Shapefile（同名的 .shp、.shx、.dbf）。",
                "The archive should hold exactly one Shapefile (.shp, .shx and .dbf of one name).",
            )
        payload = {suffix: _read_member(zf, info, limits) for suffix, info in parts.items()}
    if not payload[".shp"].startswith(b"\x00\x00\x27\x0a"):
        raise _unreadable("Shapefile 的 .shp 文件已损坏。", "The Shapefile's .shp is damaged.")
    for suffix, raw in payload.items():
        (folder / f"layer{suffix}").write_bytes(raw)  # server-generated names only
    return folder / "layer.shp", _shapefile_encoding(payload)


#: Wall-clock limit of the GDAL child process, in seconds.
GDAL_TIMEOUT_S = 120


def _read_gdal(path: Path, fmt: str, limits: Limits, encoding: str | None = None) -> Table:
    """Read a GeoPackage or Shapefile through :mod:`locator.imports.gdal_child`, a separate
    process: a GDAL crash or runaway ends the child, never this worker."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "locator.imports.gdal_child", str(path),
               str(limits.max_rows), encoding or ""]
    unreadable = _unreadable("无法读取这个文件（文件已损坏或格式不对）。",
                             "This file cannot be read (damaged, or not what it seems).")
    try:
        done = subprocess.run(command, capture_output=True, timeout=GDAL_TIMEOUT_S, env=env,
                              cwd=str(path.parent), stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as e:
        raise _unreadable("读取这个文件用时过长，已停止。",
                          "Reading this file took too long; stopped.") from e
    if done.returncode == 3:
        raise _too_many_rows(limits)
    if done.returncode != 0:
        raise unreadable
    try:
        doc = json.loads(done.stdout)
    except ValueError as e:
        raise unreadable from e
    rows = [(number, list(cells)) for number, cells in enumerate(doc["rows"], start=1)]
    points = [tuple(p) if isinstance(p, list) else p for p in doc["points"]]
    return Table(format=fmt, columns=doc["columns"], rows=rows, points=points,
                 encoding=encoding)


# --------------------------------------------------------------------------- entry point

def read_upload(data: bytes, *, limits: Limits | None = None,
                tmp_root: str | Path | None = None) -> Table:
    """Read an uploaded station file.

    Parameters
    ----------
    data : bytes
        The file's bytes, as uploaded. Its name and Content-Type are not needed: the
        format is recognised by content.
    limits : Limits, optional
        Caps on size, rows and archives; defaults to the settings' defaults.
    tmp_root : str or pathlib.Path, optional
        Folder under which a private temporary folder is made for GeoPackage and Shapefile
        (e.g. the Flask instance folder); default: the system's temporary folder. The
        temporary folder is removed before this returns.

    Returns
    -------
    Table

    Raises
    ------
    UploadRefused
        ``unreadable_file``, ``unsupported_file`` or ``too_many_rows``, with a message for
        the user. No other exception escapes.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise _unsupported(
            f"文件太大（{len(data) / _MiB:.1f} MB，上限 {limits.max_bytes / _MiB:.0f} MB）。",
            f"The file is too large ({len(data) / _MiB:.1f} MB; at most "
            f"{limits.max_bytes / _MiB:.0f} MB).",
        )
    try:
        fmt = detect_format(data)
        if fmt == "csv":
            return _read_csv(data, limits)
        if fmt == "xlsx":
            return _read_xlsx(data, limits)
        if fmt == "geojson":
            return _read_geojson(data, limits)
        with _work_folder(tmp_root) as folder:
            folder = Path(folder)
            if fmt == "gpkg":
                path = folder / "upload.gpkg"
                path.write_bytes(data)
                _check_gpkg(path)
                return _read_gdal(path, fmt, limits)
            path, encoding = _extract_shapefile(data, folder, limits)
            return _read_gdal(path, fmt, limits, encoding=encoding)
    except UploadRefused:
        raise
    except gdal_guard.GdalGuardError:
        raise
    except Exception as e:  # never let a parser's exception reach the user
        raise _unreadable("无法读取这个文件。", "This file cannot be read.") from e
