"""Coordinates of an import row: one cell parsed, a row's point read, every point located.

* :func:`parse_coordinate`: decimal or DMS (``114°30'54"E``, ``北纬38度2分34.1秒``),
  full-width digits and punctuation normalised (NFKC), then a strict ASCII grammar: no
  ``nan``, ``inf``, exponents, ``1_000`` or comma decimals.
* :func:`read_point`: a row's point from its 经度/纬度 cells or its geometry; a latitude
  in the longitude column and vice versa is ``swapped_lat_lon`` (Hebei's latitudes
  36-43° and longitudes 113-120° do not overlap, so a swap is unambiguous).
* :func:`locate_rows`: every point converted from the declared datum to WGS-84 (EPSG:4326,
  rounded to :data:`DECIMALS`) and placed in Hebei's districts and counties; a point
  outside them is ``out_of_area``, a declared 所属地区 or 区县 that disagrees is
  ``district_mismatch``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from typing import Any

import numpy as np

from locator.geo.datum import to_wgs84
from locator.imports.problems import CellError, Problem
from locator.imports.rows import Row

__all__ = ["DECIMALS", "CoordinateError", "locate_rows", "parse_coordinate", "read_point"]

#: Coordinates are stored at this many decimals (~1 cm, RFC 7946's advice).
DECIMALS = 7
# Hebei's extent (36°05'-42°40' N, 113°27'-119°50' E), padded: used only to recognise
# swapped columns; whether a point is in Hebei is decided by the county polygons.
_HEBEI_LON = (113.0, 120.3)
_HEBEI_LAT = (35.7, 43.0)


class CoordinateError(CellError):
    """A coordinate cell that is not a number we accept; ``zh``/``en`` say why."""


# --------------------------------------------------------------------------- one cell

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
        (``114°30'54"E``, ``38°2'34.1"N``, ``东经114度30分54秒``, ``38°2.5'N``), in the
        file's datum.

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
    number = float(body) if _DECIMAL.fullmatch(body) else _dms_degrees(body, shown)
    number *= sign
    if not math.isfinite(number):  # pragma: no cover - the grammar admits no inf
        raise CoordinateError(f"「{shown}」不是有效的数", f"{shown!r} is not a number")
    return number, axis


def _dms_degrees(body: str, shown: str) -> float:
    """Signed degrees of a degrees-minutes-seconds ``body`` (normalised, no hemisphere);
    ``shown`` is the cell as messages quote it."""
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
    return -number if body.startswith("-") else number


# --------------------------------------------------------------------------- one row

def read_point(row: Row, point: tuple[float, float] | str | None, *,
               use_points: bool) -> None:
    """Read the point of ``row``: set ``row.point`` (degrees, lon/lat, in the file's
    datum) and ``row.where``, or record its coordinate problems.

    Parameters
    ----------
    row : Row
    point : (float, float), str or None
        The row's geometry in a geo format (see :attr:`Table.points
        <locator.imports.table.Table.points>`); ``None`` in a spreadsheet.
    use_points : bool
        Whether the table's geometries are its coordinates (a geo format whose features
        have points, or that lacks a 经度 or 纬度 column); otherwise, or where a feature
        has no point but the table has a 经度 column, the cells are parsed.
    """
    if use_points and isinstance(point, tuple):
        x, y = point
        if -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0:  # False for NaN too
            row.point, row.where = (x, y), "geometry"
        else:
            row.problems.append(Problem(row.number, "geometry", "bad_coordinate",
                                        f"坐标（{x:g}, {y:g}）不是有效的经纬度",
                                        f"({x:g}, {y:g}) is not a valid longitude/latitude"))
    elif use_points and not {"lon", "lat"} <= set(row.columns.fields):
        what = "没有坐标" if point is None else f"几何不是点（{point}）"
        what_en = ("no coordinates" if point is None
                   else f"the geometry is not a point ({point})")
        row.problems.append(Problem(row.number, "geometry", "bad_coordinate", what, what_en))
    else:
        _read_cells(row)


def _read_cells(row: Row) -> None:
    """The point from the row's 经度 and 纬度 cells: both parsed, then swapped columns,
    a hemisphere letter in the wrong column, and the range are checked."""
    column_lon, column_lat = row.columns.header["lon"], row.columns.header["lat"]
    parsed = {}
    for f in ("lon", "lat"):
        try:
            parsed[f] = parse_coordinate(row.cell(f))
        except CoordinateError as e:
            zh_axis, en_axis = ("经度", "longitude") if f == "lon" else ("纬度", "latitude")
            row.bad(f, CellError(f"{zh_axis}有误：{e.zh}", f"bad {en_axis}: {e.en}",
                                 "bad_coordinate"))
    if len(parsed) < 2:
        return
    (x, ax_x), (y, ax_y) = parsed["lon"], parsed["lat"]
    looks_swapped = (_HEBEI_LON[0] <= y <= _HEBEI_LON[1]
                     and _HEBEI_LAT[0] <= x <= _HEBEI_LAT[1])
    if (ax_x == "lat" and ax_y == "lon") or (ax_x is None and ax_y is None and looks_swapped):
        row.problems.append(Problem(
            row.number, f"{column_lon}/{column_lat}", "swapped_lat_lon",
            f"经度和纬度填反了：「{column_lon}」是 {x:g}，「{column_lat}」是 {y:g}；"
            "河北的经度约 113°-120°，纬度约 36°-43°，请交换这两列",
            f"longitude and latitude are swapped: {column_lon}={x:g}, "
            f"{column_lat}={y:g}; in Hebei longitude is 113-120 and latitude "
            "36-43: swap the two columns"))
    elif ax_x == "lat" or ax_y == "lon":
        row.bad("lon" if ax_x == "lat" else "lat",
                CellError("这一列的方向标记（E/W 或 N/S）与列不符",
                          "the hemisphere letter does not fit this column", "bad_coordinate"))
    elif not (-180.0 <= x <= 180.0):
        row.bad("lon", CellError(f"经度 {x:g} 超出 -180 到 180", f"longitude {x:g} is "
                                 "outside -180..180", "bad_coordinate"))
    elif not (-90.0 <= y <= 90.0):
        row.bad("lat", CellError(f"纬度 {y:g} 超出 -90 到 90", f"latitude {y:g} is outside "
                                 "-90..90", "bad_coordinate"))
    else:
        row.point, row.where = (x, y), f"{column_lon}/{column_lat}"


# --------------------------------------------------------------------------- every row

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


def locate_rows(rows: list[Row], *, datum: str, regions) -> None:
    """Convert every row's point to WGS-84 and place it in a district and county.

    A placed row's ``values`` gain ``lon``, ``lat`` (WGS-84 degrees, EPSG:4326, rounded
    to :data:`DECIMALS`), ``source_lon``, ``source_lat`` (as written), ``source_datum``,
    ``district_code``, ``district_name``, ``county_code`` and ``county_name``; its
    declared ``district`` and ``county`` are checked against them and dropped.

    Parameters
    ----------
    rows : list of Row
        Rows without a ``point`` are left alone.
    datum : str
        The datum of the points: ``wgs84``, ``gcj02`` or ``bd09``.
    regions : locator.geo.regions.Regions
        Hebei's districts and counties (WGS-84).
    """
    placed = [row for row in rows if row.point is not None]
    if not placed:
        return
    src = np.array([row.point for row in placed], dtype=np.float64)
    lon, lat = to_wgs84(src[:, 0], src[:, 1], datum)
    lon, lat = np.round(np.asarray(lon), DECIMALS), np.round(np.asarray(lat), DECIMALS)
    located = regions.locate(lon, lat)
    by_column = {c: located[c].to_numpy() for c in located.columns}
    for k, row in enumerate(placed):
        place = {c: values[k] for c, values in by_column.items()}
        if place["county_code"] is None:
            row.problems.append(Problem(
                row.number, row.where, "out_of_area",
                f"坐标（{src[k, 0]:g}, {src[k, 1]:g}）不在河北省内"
                "（可能在北京、天津、海上或外省）；请核对坐标和所选坐标系",
                f"the point ({src[k, 0]:g}, {src[k, 1]:g}) is not in Hebei (Beijing, Tianjin, "
                "the sea or another province?); check it and the declared datum"))
            continue
        row.values.update(
            lon=float(lon[k]), lat=float(lat[k]), source_lon=float(src[k, 0]),
            source_lat=float(src[k, 1]), source_datum=datum,
            district_code=place["district_code"], district_name=place["district_name"],
            county_code=place["county_code"], county_name=place["county_name"],
        )
        _check_declared_region(row, place)
    for row in rows:
        row.values.pop("district", None)
        row.values.pop("county", None)


def _check_declared_region(row: Row, place: dict[str, Any]) -> None:
    """``district_mismatch`` for a declared 所属地区 or 区县 the point is not in."""
    for f, code_key, name_key_ in (("district", "district_code", "district_name"),
                                   ("county", "county_code", "county_name")):
        declared = row.values.pop(f, "")
        if declared and not _region_matches(declared, place[name_key_], place[code_key]):
            zh = "所属地区" if f == "district" else "区县"
            row.problems.append(Problem(
                row.number, row.columns.header.get(f, zh), "district_mismatch",
                f"所填{zh}「{declared}」与坐标所在的「{place[name_key_]}」不符；"
                "请核对坐标，或改正这一格",
                f"the declared {f} {declared!r} disagrees with the point, which is in "
                f"{place[name_key_]} ({place[code_key]})"))
