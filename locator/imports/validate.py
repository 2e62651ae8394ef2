"""Validate an import :class:`~locator.imports.readers.Table`: every problem at once.

Each problem is a :class:`Problem` with the codes of DESIGN.md §5 and a message in Chinese
and English that says what is wrong and how to fix it. Rows are counted as the user sees
them in a spreadsheet (first line of the file = row 1, title rows included) or, for geo
formats, by the feature's position from 1.

The rules, in the order they are applied to a row:

* **text** (名称, 地址, 主办单位, 电话, 所属地区, 区县, 编号): NFC; runs of whitespace
  (including line breaks and the ideographic space) become one space; control, format
  (U+202E, zero-width ...), private-use and surrogate characters are refused
  (``bad_text``); lengths are bounded (:data:`MAX_LENGTH`); a name is required. Formula
  or script text (``=HYPERLINK(...)``, ``<img onerror>``) is kept as text: it is escaped
  wherever it is shown and written to spreadsheets as text, never as a formula.
* **coordinates**: decimal or DMS (``114°30'54"E``, ``北纬38度2分34.1秒``), full-width
  digits and punctuation normalised (NFKC), then a strict ASCII grammar: no ``nan``,
  ``inf``, exponents, ``1_000`` or comma decimals (``bad_coordinate``); a latitude in the
  longitude column and vice versa is ``swapped_lat_lon`` (Hebei's latitudes 36-43° and
  longitudes 113-120° do not overlap, so a swap is unambiguous); converted from the
  declared datum to WGS-84; a point outside Hebei's counties is ``out_of_area``.
* **district and county** are derived from the point; a declared 所属地区 or 区县 that
  disagrees is ``district_mismatch``.
* **services** by Chinese label or code, separated by 、 , ， ; ； | or spaces
  (``unknown_service``); **类型**/**状态** from a fixed list (``bad_value``);
  **opening hours** normalised (``全天`` → ``24/7``, ``08:00-20:00`` →
  ``Mo-Su 08:00-20:00``, 周一至周五 → ``Mo-Fr``) and parsed (``bad_opening_hours``).
* **编号** must name an existing site (``unknown_id``); in GeoJSON, GeoPackage and
  Shapefile an ``id`` attribute that is not of our form ``HB<county code>-<n>`` is the
  layer's own (ArcGIS writes ``Id = 0``) and is ignored.
* **duplicates** (:data:`DUPLICATE_RULE`): two sites of the same kind are the same site
  when they are within :data:`SAME_PLACE_M` metres of each other, or have the same name
  key (NFKC, case-folded, without spaces and punctuation) within :data:`SAME_NAME_M`
  metres; geodesic distances on WGS-84. ``duplicate_in_file`` flags the later row,
  ``duplicate_existing`` a row that would duplicate a site already in the store.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from locator.geo import hours as hours_mod
from locator.geo.datum import to_wgs84
from locator.imports.columns import (
    COLUMNS,
    KIND_LABELS,
    SERVICE_LABELS,
    STATUS_LABELS,
    field_of_header,
)
from locator.imports.readers import Table
from locator.vocabulary import SERVICES

__all__ = [
    "CODES",
    "DUPLICATE_RULE",
    "FILE_CODES",
    "MAX_LENGTH",
    "SAME_NAME_M",
    "SAME_PLACE_M",
    "CoordinateError",
    "Problem",
    "RowResult",
    "Validation",
    "clean_text",
    "name_key",
    "normalise_hours",
    "parse_coordinate",
    "parse_services",
    "validate_table",
]

#: Two sites of one kind closer than this are the same site, whatever their names.
SAME_PLACE_M = 10.0
#: Two sites of one kind with the same name key closer than this are the same site.
SAME_NAME_M = 100.0
DUPLICATE_RULE = (
    f"同一类型、相距 {SAME_PLACE_M:g} 米以内，或同名且相距 {SAME_NAME_M:g} 米以内",
    f"same kind and within {SAME_PLACE_M:g} m, or same name within {SAME_NAME_M:g} m",
)
#: Problem codes that mean the file itself was refused (CLI exit status 2).
FILE_CODES = frozenset({"unreadable_file", "unsupported_file", "too_many_rows"})
#: Every problem code an import report may hold (DESIGN.md §5 and a few more).
CODES = (
    "unreadable_file", "unsupported_file", "too_many_rows", "missing_column",
    "duplicate_column", "no_rows", "bad_coordinate", "swapped_lat_lon", "out_of_area",
    "district_mismatch", "duplicate_in_file", "duplicate_existing", "unknown_id",
    "unknown_service", "bad_opening_hours", "bad_text", "bad_value",
    "outside_your_district",
)
#: Longest text per field, in characters, after normalisation.
MAX_LENGTH = {"name": 100, "address": 200, "host": 100, "phone": 40, "district": 40,
              "county": 40, "id": 20, "opening_hours": 200}
#: Coordinates are stored at this many decimals (~1 cm, RFC 7946's advice).
DECIMALS = 7
#: The name of the example row in the template (a row left in by mistake is flagged).
TEMPLATE_EXAMPLE_NAME = "示例：裕华路环卫工人爱心驿站（导入前请删除本行）"

_OUR_ID = re.compile(r"^HB[0-9]{6}-[0-9]+$")
_GEOD = Geod(ellps="WGS84")
_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
# Hebei's extent (36°05'-42°40' N, 113°27'-119°50' E), padded: used only to recognise
# swapped columns; whether a point is in Hebei is decided by the county polygons.
_HEBEI_LON = (113.0, 120.3)
_HEBEI_LAT = (35.7, 43.0)


# --------------------------------------------------------------------------- problems

@dataclass(frozen=True)
class Problem:
    """One problem: where (``row``, ``column``), what (``code``) and a message per language.

    ``row`` is ``None`` for problems of the whole file; ``column`` is the header as it
    is written in the file (or the Chinese header of a missing column), ``None`` when no
    column is concerned.
    """

    row: int | None
    column: str | None
    code: str
    zh: str
    en: str

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": self.en if lang == "en" else self.zh}


class _Bad(Exception):
    def __init__(self, zh: str, en: str, code: str | None = None):
        super().__init__(zh)
        self.zh, self.en, self.code = zh, en, code


class CoordinateError(_Bad):
    """A coordinate cell that is not a number we accept; ``zh``/``en`` say why."""


# --------------------------------------------------------------------------- coordinates

_HEMISPHERES = {"北纬": ("lat", 1), "南纬": ("lat", -1), "东经": ("lon", 1), "西经": ("lon", -1),
                "N": ("lat", 1), "S": ("lat", -1), "E": ("lon", 1), "W": ("lon", -1)}
_HEMI_RE = "北纬|南纬|东经|西经|[NSEW]"
_DECIMAL = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,15})?")
_DMS = re.compile(
    r"(?P<d>[0-9]{1,3}(?:\.[0-9]{1,15})?)(?:°|度)"
    r"(?:(?P<m>[0-9]{1,2}(?:\.[0-9]{1,15})?)(?:'|分))?"
    r"(?:(?P<s>[0-9]{1,2}(?:\.[0-9]{1,15})?)(?:\"|秒))?"
)
_QUOTES = str.maketrans({"′": "'", "’": "'", "‘": "'", "´": "'", "`": "'",
                         "″": '"', "“": '"', "”": '"', "º": "°", "˚": "°"})


def parse_coordinate(value: Any) -> tuple[float, str | None]:
    """Parse one coordinate cell strictly.

    Parameters
    ----------
    value : str, int or float
        Decimal degrees (``"114.5149"``, ``"１１４．５１４９"``, ``"E114.5149"``) or DMS
        (``114°30'54"E``, ``38°2'34.1"N``, ``东经114度30分54秒``, ``38°2.5'N``).

    Returns
    -------
    (degrees, axis) : (float, str or None)
        Signed decimal degrees (always finite) and ``"lon"``/``"lat"`` when a hemisphere
        (E/W/N/S, 东经/北纬 ...) says which axis the value belongs to, else ``None``.
        No range check: that is the caller's.

    Raises
    ------
    CoordinateError
        Empty, NaN/inf, exponents, digit separators, comma decimals, minutes or
        seconds >= 60, a sign together with a hemisphere, or anything else.

    Examples
    --------
    >>> parse_coordinate("114°30'54\\"E")
    (114.515, 'lon')
    >>> parse_coordinate("３８．０４")
    (38.04, None)
    """
    if isinstance(value, bool) or value is None:
        raise CoordinateError("坐标为空", "the coordinate is empty")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise CoordinateError(f"「{value}」不是有效的数", f"{value!r} is not a number")
        return number, None
    if isinstance(value, dt.date | dt.datetime):
        raise CoordinateError("单元格是日期，不是坐标", "the cell is a date, not a coordinate")
    raw = str(value)
    text = unicodedata.normalize("NFKC", raw.translate(_QUOTES)).translate(_QUOTES)
    text = re.sub(r"\s+", "", text).upper().replace("''", '"')
    shown = raw.strip()[:40]
    if not text:
        raise CoordinateError("坐标为空", "the coordinate is empty")
    axis, sign = None, 1
    m = re.fullmatch(rf"(?P<h1>{_HEMI_RE})?(?P<body>.*?)(?P<h2>{_HEMI_RE})?", text)
    assert m is not None
    h1, body, h2 = m.group("h1"), m.group("body"), m.group("h2")
    if h1 and h2:
        raise CoordinateError(f"「{shown}」不是可识别的坐标", f"{shown!r} is not a coordinate")
    if h1 or h2:
        axis, sign = _HEMISPHERES[h1 or h2]
        if body.startswith(("+", "-")):
            raise CoordinateError(f"「{shown}」同时有正负号和方向",
                                  f"{shown!r} has both a sign and a hemisphere")
    if _DECIMAL.fullmatch(body):
        number = float(body)
    else:
        dms = _DMS.fullmatch(body.lstrip("+-"))
        if not dms:
            raise CoordinateError(
                f"「{shown}」不是可识别的坐标（应为 114.5149 或 114°30'54\"E 这样的格式）",
                f"{shown!r} is not a coordinate we understand (write 114.5149 or "
                "114°30'54\"E)",
            )
        d, mi, s = (float(x) if x else 0.0 for x in dms.group("d", "m", "s"))
        if ("." in (dms.group("d") or "") and (dms.group("m") or dms.group("s"))) or (
                dms.group("m") and "." in dms.group("m") and dms.group("s")):
            raise CoordinateError(f"「{shown}」的度分秒写法有误", f"{shown!r}: malformed DMS")
        if mi >= 60 or s >= 60:
            raise CoordinateError(f"「{shown}」的分或秒不小于 60", f"{shown!r}: minutes or "
                                  "seconds not below 60")
        number = d + mi / 60 + s / 3600
        if body.startswith("-"):
            number = -number
    number *= sign
    if not math.isfinite(number):  # pragma: no cover - the grammar admits no inf
        raise CoordinateError(f"「{shown}」不是有效的数", f"{shown!r} is not a number")
    return number, axis


# --------------------------------------------------------------------------- text

_BAD_CATEGORIES = {"Cc": ("控制字符", "a control character"),
                   "Cf": ("不可见的格式字符", "an invisible format character"),
                   "Co": ("私用区字符", "a private-use character"),
                   "Cs": ("无效的代理字符", "an invalid surrogate")}
_WHITESPACE = re.compile(r"\s+")


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def clean_text(value: Any, *, max_length: int, label: tuple[str, str] = ("文字", "text"),
               required: bool = False) -> str:
    """Normalise one text cell, or raise :class:`_Bad` (code ``bad_text``).

    NFC; every run of whitespace becomes one space and the ends are trimmed; control,
    format, private-use and surrogate characters are refused, naming the first one.

    >>> clean_text(" 裕华路\\n驿站 ", max_length=100)
    '裕华路 驿站'
    """
    text = unicodedata.normalize("NFC", _as_text(value))
    text = _WHITESPACE.sub(" ", text).strip()
    # Fast path: printable text holds no Cc/Cf/Co/Cs (nor Cn) characters.
    for ch in ("" if text.isprintable() else text):
        category = unicodedata.category(ch)
        if category in _BAD_CATEGORIES:
            zh, en = _BAD_CATEGORIES[category]
            code = f"U+{ord(ch):04X}"
            raise _Bad(f"{label[0]}中含有{zh}（{code}），请删除它",
                       f"the {label[1]} contains {en} ({code}); delete it", "bad_text")
    if required and not text:
        raise _Bad(f"{label[0]}不能为空", f"the {label[1]} is required", "bad_text")
    if len(text) > max_length:
        raise _Bad(f"{label[0]}太长（{len(text)} 个字，最多 {max_length} 个）",
                   f"the {label[1]} is too long ({len(text)} characters; at most "
                   f"{max_length})", "bad_text")
    return text


_KEY_DROP = re.compile(r"[\s\W_]+")


def name_key(name: str) -> str:
    """The duplicate-detection key of a name: NFKC, case-folded, letters and digits only.

    >>> name_key("石家庄站 ") == name_key("石家庄站") == name_key("石家庄·站")
    True
    """
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", name).casefold())


# --------------------------------------------------------------------------- services

_SERVICE_LOOKUP = {**{k.casefold(): v for k, v in SERVICE_LABELS.items()},
                   **{code: code for code in SERVICES}}
_SERVICE_SPLIT = re.compile(r"[、,，;；|｜\s]+")


def parse_services(value: Any) -> tuple[list[str], list[str]]:
    """See :func:`_parse_services` (cached per text; lists copied)."""
    codes, unknown = _parse_services(_as_text(value))
    return list(codes), list(unknown)


@functools.lru_cache(maxsize=4096)
def _parse_services(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Service codes (vocabulary order, no repeats) and the labels not recognised.

    >>> parse_services("饮水、热水, toilet；AED")
    (['drinking_water', 'hot_water', 'toilet', 'aed'], [])
    >>> parse_services("饮水|按摩")
    (['drinking_water'], ['按摩'])
    """
    text = unicodedata.normalize("NFKC", _as_text(value))
    found, unknown = set(), []
    for label in _SERVICE_SPLIT.split(text):
        if not label:
            continue
        code = _SERVICE_LOOKUP.get(label.casefold())
        if code is None:
            unknown.append(label)
        else:
            found.add(code)
    return tuple(s for s in SERVICES if s in found), tuple(unknown)


# --------------------------------------------------------------------------- hours

_ALWAYS = {"全天", "24小时", "24h", "24H", "全天候", "24小时开放", "全天开放", "24小时营业",
           "24/7", "全年无休", "7*24小时", "7x24小时", "7×24小时"}
_DAYS = [("星期一", "Mo"), ("星期二", "Tu"), ("星期三", "We"), ("星期四", "Th"),
         ("星期五", "Fr"), ("星期六", "Sa"), ("星期日", "Su"), ("星期天", "Su"),
         ("礼拜一", "Mo"), ("礼拜二", "Tu"), ("礼拜三", "We"), ("礼拜四", "Th"),
         ("礼拜五", "Fr"), ("礼拜六", "Sa"), ("礼拜日", "Su"), ("礼拜天", "Su"),
         ("周一", "Mo"), ("周二", "Tu"), ("周三", "We"), ("周四", "Th"), ("周五", "Fr"),
         ("周六", "Sa"), ("周日", "Su"), ("周天", "Su"), ("工作日", "Mo-Fr"),
         ("周末", "Sa,Su"), ("每天", "Mo-Su"), ("每日", "Mo-Su"), ("法定节假日", "PH"),
         ("节假日", "PH"), ("休息", "off"), ("关闭", "off")]
_TIME_RANGE = r"[0-9]{1,2}:[0-9]{2}-[0-9]{1,2}:[0-9]{2}"


def normalise_hours(value: Any) -> str:
    """See :func:`_normalise_hours`; results cached per text (hours repeat a lot)."""
    return _normalise_hours(_as_text(value))


@functools.lru_cache(maxsize=4096)
def _normalise_hours(value: str) -> str:
    """Staff-style opening hours to OSM ``opening_hours``; raises :class:`_Bad` if invalid.

    >>> normalise_hours("全天"), normalise_hours("8:00－20:00")
    ('24/7', 'Mo-Su 08:00-20:00')
    >>> normalise_hours("周一至周五 08:30-17:30")
    'Mo-Fr 08:30-17:30'
    """
    original = _as_text(value)
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", original)).strip()
    if not text:
        return ""
    if text.replace(" ", "") in _ALWAYS:
        return "24/7"
    for zh, osm in _DAYS:
        text = text.replace(zh, f" {osm} ")
    text = re.sub(r"\s*[~〜—–‐‑‒―至到]\s*", "-", text)
    text = text.replace("、", ",").replace("，", ",")
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s*,\s*", ",", text)
    text = re.sub(r"(?<=[0-9]),(?=[A-Z])", ";", text)  # "…17:00，周末 …": a new rule
    text = re.sub(r"\s*;\s*", "; ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    text = re.sub(r"(?<![\d:])(\d):(\d{2})", r"0\1:\2", text)
    if re.fullmatch(rf"{_TIME_RANGE}(?:,{_TIME_RANGE})*", text):
        text = "Mo-Su " + text
    if len(text) > MAX_LENGTH["opening_hours"] or not hours_mod.is_valid(text):
        shown = original.strip()[:60]
        raise _Bad(
            f"无法识别开放时间「{shown}」，可以写 08:00-20:00、全天、周一至周五 08:30-17:30 "
            "或 OSM 格式（如 Mo-Fr 08:00-18:00）",
            f"opening hours {shown!r} not understood: write 08:00-20:00, 24/7 or OSM "
            "syntax such as Mo-Fr 08:00-18:00",
            "bad_opening_hours",
        )
    return text


# --------------------------------------------------------------------------- regions

_REGION_PREFIX = re.compile(r"^(河北省|河北)")
_REGION_SUFFIX = re.compile(r"(新区|地区|市|区|县)$")


@functools.lru_cache(maxsize=4096)
def _region_keys(name: str, code: str) -> set[str]:
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()
    return {key, _REGION_SUFFIX.sub("", key), code}


@functools.lru_cache(maxsize=8192)
def _region_matches(declared: str, name: str | None, code: str | None) -> bool:
    if not name or not code:
        return True
    d = re.sub(r"\s+", "", unicodedata.normalize("NFKC", declared)).casefold()
    d = _REGION_PREFIX.sub("", d)
    return d in _region_keys(name, code) or _REGION_SUFFIX.sub("", d) in _region_keys(name, code)


# --------------------------------------------------------------------------- results

@dataclass
class RowResult:
    """One data row after validation.

    ``values`` holds the record fields the file gives (only the columns it has, plus the
    derived position, district and county); ``id`` the declared 编号, if any; ``ok`` is
    false when any problem was found in the row.
    """

    row: int
    values: dict[str, Any]
    id: str | None = None
    ok: bool = True


@dataclass
class Validation:
    """Every row and every problem of one file."""

    table: Table
    fields: dict[str, int]
    rows: list[RowResult]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


LABELS = {
    "name": ("名称", "name"), "address": ("地址", "address"), "host": ("主办单位", "host"),
    "phone": ("电话", "phone"), "district": ("所属地区", "district"),
    "county": ("区县", "county"), "id": ("编号", "id"),
}


def _columns(table: Table) -> tuple[dict[str, int], dict[str, list[int]], list[Problem]]:
    """Field -> column index; for geo formats also every other column of the same field
    (features may spell their properties differently: ``名称`` in one, ``name`` in
    another); in a spreadsheet two columns of one field are a problem."""
    fields: dict[str, int] = {}
    more: dict[str, list[int]] = {}
    problems = []
    for i, header in enumerate(table.columns):
        f = field_of_header(header)
        if f is None:
            continue
        if f in fields and table.header_row is None:
            more.setdefault(f, []).append(i)
            continue
        if f in fields:
            problems.append(Problem(
                table.header_row, header, "duplicate_column",
                f"有两列都是「{COLUMNS[f][0]}」（第 {fields[f] + 1} 列和第 {i + 1} 列），"
                "请删除一列",
                f"two columns mean {f!r} (columns {fields[f] + 1} and {i + 1}); delete one",
            ))
            continue
        fields[f] = i
    return fields, more, problems


def _missing_columns(table: Table, fields: dict[str, int]) -> list[Problem]:
    has_points = table.points is not None and any(isinstance(p, tuple) for p in table.points)
    required = ["name"] + ([] if has_points else ["lon", "lat"])
    problems = []
    for f in required:
        if f not in fields:
            zh, aliases = COLUMNS[f]
            problems.append(Problem(
                table.header_row, zh, "missing_column",
                f"缺少「{zh}」列（表头可写 {'、'.join(aliases)}）",
                f"the column {zh!r} is missing (header may be {', '.join(aliases)})",
            ))
    return problems


# --------------------------------------------------------------------------- validate

def validate_table(table: Table, *, datum: str, regions, existing: pd.DataFrame | None = None
                   ) -> Validation:
    """Validate every row of ``table``; collect every problem.

    Parameters
    ----------
    table : Table
        From :func:`locator.imports.readers.read_upload`.
    datum : str
        The datum the file's coordinates are in: ``wgs84``, ``gcj02`` or ``bd09``.
    regions : locator.geo.regions.Regions
        Hebei's districts and counties (WGS-84).
    existing : pandas.DataFrame, optional
        The store's stations (columns of the station record, at least ``id``, ``kind``,
        ``name``, ``lon``, ``lat``, ``status``), for ``duplicate_existing`` and for
        recognising existing 编号.

    Returns
    -------
    Validation
        Rows with their normalised values (WGS-84 ``lon``/``lat`` rounded to 7 decimals,
        the values as given in ``source_lon``/``source_lat``, ``source_datum``) and the
        problems, sorted by row.
    """
    fields, more, problems = _columns(table)
    problems += _missing_columns(table, fields)
    if any(p.code == "missing_column" for p in problems):
        return Validation(table, fields, [], problems)
    if not table.rows:
        problems.append(Problem(
            table.header_row, None, "no_rows", "文件里只有表头，没有数据行",
            "the file has a header but no data rows"))
        return Validation(table, fields, [], problems)

    existing = existing if existing is not None else pd.DataFrame(
        columns=["id", "kind", "name", "lon", "lat", "status"])
    existing_ids = set(existing["id"])
    header = {f: table.columns[i] for f, i in fields.items()}
    results: list[RowResult] = []
    row_problems: list[list[Problem]] = []
    raw_coords: list[tuple[float, float] | None] = []

    use_points = table.points is not None and ("lon" not in fields or "lat" not in fields
                                               or any(isinstance(p, tuple)
                                                      for p in table.points))
    for position, (number, cells) in enumerate(table.rows):
        found: list[Problem] = []

        def cell(f: str, cells=cells):
            for i in [fields[f], *more.get(f, ())] if f in fields else ():
                value = cells[i] if i < len(cells) else None
                if value is not None and value != "":
                    return value
            return None

        def bad(f: str | None, e: _Bad, code: str | None = None, number=number, found=found):
            column = header.get(f, COLUMNS[f][0] if f in COLUMNS else f) if f else None
            found.append(Problem(number, column, code or e.code or "bad_value", e.zh, e.en))

        values: dict[str, Any] = {}
        for f in ("name", "address", "host", "phone", "district", "county", "id"):
            if f not in fields:
                continue
            try:
                values[f] = clean_text(cell(f), max_length=MAX_LENGTH[f], label=LABELS[f],
                                       required=(f == "name"))
            except _Bad as e:
                bad(f, e)
        if values.get("name") == TEMPLATE_EXAMPLE_NAME:
            bad("name", _Bad("这是模板里的示例行，请删除它或改成真实站点",
                             "this is the template's example row: delete it or replace it",
                             "bad_value"))
        declared_id = values.pop("id", "") or None
        if declared_id and table.header_row is None and not _OUR_ID.match(declared_id):
            declared_id = None  # a GIS layer's own "id"/"Id" attribute (often 0): not ours
        if declared_id is not None and declared_id not in existing_ids:
            bad("id", _Bad(f"编号「{declared_id}」不存在；新站点请留空，系统会自动编号",
                           f"no site has the id {declared_id!r}; leave it empty for a new "
                           "site (ids are assigned automatically)", "unknown_id"))
        if "kind" in fields:
            text = unicodedata.normalize("NFKC", _as_text(cell("kind"))).strip()
            kind = KIND_LABELS.get(text.casefold().replace(" ", ""), None) if text else "station"
            if kind is None:
                bad("kind", _Bad(f"类型「{text[:20]}」无法识别，应为 驿站 或 爱心妈妈小屋",
                                 f"kind {text[:20]!r} not understood: use 驿站 (station) or "
                                 "爱心妈妈小屋 (mother_room)", "bad_value"))
            else:
                values["kind"] = kind
        if "status" in fields:
            text = unicodedata.normalize("NFKC", _as_text(cell("status"))).strip()
            if text:
                status = STATUS_LABELS.get(text.casefold())
                if status is None:
                    bad("status", _Bad(f"状态「{text[:20]}」无法识别，应为 正常、暂停 或 撤销",
                                       f"status {text[:20]!r} not understood: use active, "
                                       "temporarily_closed or removed", "bad_value"))
                else:
                    values["status"] = status
        if "services" in fields:
            codes, unknown = parse_services(cell("services"))
            values["services"] = codes
            for label in unknown:
                bad("services", _Bad(
                    f"不认识的服务「{label[:20]}」，可选：{'、'.join(SERVICE_LABELS)}",
                    f"unknown service {label[:20]!r}; known: {', '.join(SERVICES)}",
                    "unknown_service"))
        if "opening_hours" in fields:
            try:
                values["opening_hours"] = normalise_hours(cell("opening_hours"))
            except _Bad as e:
                bad("opening_hours", e)

        # coordinates: parse both, then decide swapped / out of range
        coords = None
        if use_points and isinstance(table.points[position], tuple):
            x, y = table.points[position]
            column_lon = column_lat = None
            if -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0:  # False for NaN too
                coords = (x, y)
            else:
                found.append(Problem(number, "geometry", "bad_coordinate",
                                     f"坐标（{x:g}, {y:g}）不是有效的经纬度",
                                     f"({x:g}, {y:g}) is not a valid longitude/latitude"))
        elif use_points and "lon" not in fields:
            point = table.points[position]
            what = "没有坐标" if point is None else f"几何不是点（{point}）"
            what_en = ("no coordinates" if point is None
                       else f"the geometry is not a point ({point})")
            found.append(Problem(number, "geometry", "bad_coordinate", what, what_en))
        else:
            column_lon, column_lat = header["lon"], header["lat"]
            parsed = {}
            for f in ("lon", "lat"):
                try:
                    parsed[f] = parse_coordinate(cell(f))
                except CoordinateError as e:
                    zh_axis, en_axis = ("经度", "longitude") if f == "lon" else ("纬度", "latitude")
                    bad(f, _Bad(f"{zh_axis}有误：{e.zh}", f"bad {en_axis}: {e.en}",
                                "bad_coordinate"))
            if len(parsed) == 2:
                (x, ax_x), (y, ax_y) = parsed["lon"], parsed["lat"]
                looks_swapped = (_HEBEI_LON[0] <= y <= _HEBEI_LON[1]
                                 and _HEBEI_LAT[0] <= x <= _HEBEI_LAT[1])
                if (ax_x == "lat" and ax_y == "lon") or (ax_x is None and ax_y is None
                                                         and looks_swapped):
                    found.append(Problem(
                        number, f"{column_lon}/{column_lat}", "swapped_lat_lon",
                        f"经度和纬度填反了：「{column_lon}」是 {x:g}，「{column_lat}」是 {y:g}；"
                        "河北的经度约 113°-120°，纬度约 36°-43°，请交换这两列",
                        f"longitude and latitude are swapped: {column_lon}={x:g}, "
                        f"{column_lat}={y:g}; in Hebei longitude is 113-120 and latitude "
                        "36-43: swap the two columns"))
                elif ax_x == "lat" or ax_y == "lon":
                    f = "lon" if ax_x == "lat" else "lat"
                    bad(f, _Bad("这一列的方向标记（E/W 或 N/S）与列不符",
                                "the hemisphere letter does not fit this column",
                                "bad_coordinate"))
                elif not (-180.0 <= x <= 180.0):
                    bad("lon", _Bad(f"经度 {x:g} 超出 -180 到 180", f"longitude {x:g} is "
                                    "outside -180..180", "bad_coordinate"))
                elif not (-90.0 <= y <= 90.0):
                    bad("lat", _Bad(f"纬度 {y:g} 超出 -90 到 90", f"latitude {y:g} is outside "
                                    "-90..90", "bad_coordinate"))
                else:
                    coords = (x, y)
        raw_coords.append(coords)
        results.append(RowResult(number, values, declared_id))
        row_problems.append(found)
        values["_columns"] = (column_lon, column_lat) if coords else None

    _locate(results, raw_coords, row_problems, datum=datum, regions=regions, header=header,
            use_points=use_points)
    _duplicates(results, row_problems, existing, header)
    for result, found in zip(results, row_problems, strict=True):
        result.values.pop("_columns", None)
        result.ok = not found
        problems.extend(found)
    problems.sort(key=lambda p: (p.row if p.row is not None else -1))
    return Validation(table, fields, results, problems)


def _locate(results, raw_coords, row_problems, *, datum, regions, header, use_points) -> None:
    """WGS-84 position, district and county of every row with coordinates."""
    idx = [i for i, c in enumerate(raw_coords) if c is not None]
    if not idx:
        return
    src = np.array([raw_coords[i] for i in idx], dtype=np.float64)
    lon, lat = to_wgs84(src[:, 0], src[:, 1], datum)
    lon, lat = np.round(np.asarray(lon), DECIMALS), np.round(np.asarray(lat), DECIMALS)
    located = regions.locate(lon, lat)
    by_column = {c: located[c].to_numpy() for c in located.columns}
    for k, i in enumerate(idx):
        result, found = results[i], row_problems[i]
        place = {c: values[k] for c, values in by_column.items()}
        columns = result.values["_columns"] or ("geometry", "geometry")
        column = "geometry" if use_points and columns[0] is None else f"{columns[0]}/{columns[1]}"
        if place["county_code"] is None:
            found.append(Problem(
                result.row, column, "out_of_area",
                f"坐标（{src[k, 0]:g}, {src[k, 1]:g}）不在河北省内"
                "（可能在北京、天津、海上或外省）；请核对坐标和所选坐标系",
                f"the point ({src[k, 0]:g}, {src[k, 1]:g}) is not in Hebei (Beijing, Tianjin, "
                "the sea or another province?); check it and the declared datum"))
            continue
        result.values.update(
            lon=float(lon[k]), lat=float(lat[k]), source_lon=float(src[k, 0]),
            source_lat=float(src[k, 1]), source_datum=datum,
            district_code=place["district_code"], district_name=place["district_name"],
            county_code=place["county_code"], county_name=place["county_name"],
        )
        for f, code_key, name_key_ in (("district", "district_code", "district_name"),
                                       ("county", "county_code", "county_name")):
            declared = result.values.pop(f, "")
            if declared and not _region_matches(declared, place[name_key_], place[code_key]):
                zh = "所属地区" if f == "district" else "区县"
                found.append(Problem(
                    result.row, header.get(f, zh), "district_mismatch",
                    f"所填{zh}「{declared}」与坐标所在的「{place[name_key_]}」不符；"
                    "请核对坐标，或改正这一格",
                    f"the declared {f} {declared!r} disagrees with the point, which is in "
                    f"{place[name_key_]} ({place[code_key]})"))
    for result in results:
        result.values.pop("district", None)
        result.values.pop("county", None)


def _duplicates(results, row_problems, existing: pd.DataFrame, header) -> None:
    """Flag ``duplicate_in_file`` and ``duplicate_existing`` (see :data:`DUPLICATE_RULE`)."""
    column = header.get("name", "名称")
    # the same 编号 twice
    first_of_id: dict[str, int] = {}
    for result, found in zip(results, row_problems, strict=True):
        if result.id is None:
            continue
        if result.id in first_of_id:
            found.append(Problem(result.row, header.get("id", "编号"), "duplicate_in_file",
                                 f"编号「{result.id}」与第 {first_of_id[result.id]} 行重复",
                                 f"the id {result.id!r} repeats row {first_of_id[result.id]}"))
        else:
            first_of_id[result.id] = result.row

    placed = [i for i, r in enumerate(results) if "lon" in r.values]
    if not placed:
        return
    lon = np.array([results[i].values["lon"] for i in placed])
    lat = np.array([results[i].values["lat"] for i in placed])
    kinds = [results[i].values.get("kind", "station") for i in placed]
    keys = [name_key(results[i].values.get("name", "")) for i in placed]
    x, y = _TO_METRIC.transform(lon, lat)
    points = shapely.points(x, y)
    # Planar candidates with a margin for UTM's scale (< 1.006 in Hebei), then geodesic.
    radius = SAME_NAME_M * 1.01 + 1.0

    tree = shapely.STRtree(points)
    a, b = tree.query(points, predicate="dwithin", distance=radius)
    keep = a < b
    a, b = a[keep], b[keep]
    flagged: set[int] = set()
    if len(a):
        _, _, dist_m = _GEOD.inv(lon[a], lat[a], lon[b], lat[b])
        order = np.lexsort((a, b))
        for k in order:
            i, j = int(a[k]), int(b[k])
            if j in flagged or kinds[i] != kinds[j]:
                continue
            same_name = keys[i] == keys[j] and keys[i] != ""
            if dist_m[k] <= SAME_PLACE_M or (same_name and dist_m[k] <= SAME_NAME_M):
                flagged.add(j)
                first = results[placed[i]]
                row_problems[placed[j]].append(Problem(
                    results[placed[j]].row, column, "duplicate_in_file",
                    f"与第 {first.row} 行「{first.values.get('name', '')}」重复（相距 "
                    f"{dist_m[k]:.0f} 米）；同一站点只保留一行",
                    f"duplicates row {first.row} ({first.values.get('name', '')!r}, "
                    f"{dist_m[k]:.0f} m apart); keep one row per site"))

    if existing is None or not len(existing):
        return
    ids_in_file = {r.id for r in results if r.id}
    others = existing[(existing["status"] != "removed") & ~existing["id"].isin(ids_in_file)]
    if not len(others):
        return
    ox, oy = _TO_METRIC.transform(others["lon"].to_numpy(float), others["lat"].to_numpy(float))
    otree = shapely.STRtree(shapely.points(ox, oy))
    a, b = otree.query(points, predicate="dwithin", distance=radius)
    if not len(a):
        return
    olon, olat = others["lon"].to_numpy(float), others["lat"].to_numpy(float)
    _, _, dist_m = _GEOD.inv(lon[a], lat[a], olon[b], olat[b])
    okinds = others["kind"].to_numpy()
    onames = others["name"].to_numpy()
    oids = others["id"].to_numpy()
    done: set[int] = set()
    for k in np.lexsort((dist_m, a)):
        i, j = int(a[k]), int(b[k])
        if i in done or kinds[i] != okinds[j]:
            continue
        same_name = keys[i] == name_key(str(onames[j])) and keys[i] != ""
        if dist_m[k] <= SAME_PLACE_M or (same_name and dist_m[k] <= SAME_NAME_M):
            done.add(i)
            row = results[placed[i]]
            hint = ("如要更新它，请在「编号」列填写 " + oids[j]) if row.id is None else \
                "两个站点不能在同一位置"
            hint_en = (f"to update it, put {oids[j]} in the id column" if row.id is None
                       else "two sites cannot share one place")
            row_problems[placed[i]].append(Problem(
                row.row, column, "duplicate_existing",
                f"与已有站点 {oids[j]}「{onames[j]}」重复（相距 {dist_m[k]:.0f} 米）；{hint}",
                f"duplicates the existing site {oids[j]} ({onames[j]!r}, {dist_m[k]:.0f} m "
                f"apart); {hint_en}"))
