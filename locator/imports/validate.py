"""Validate an import :class:`~locator.imports.readers.Table`: every problem at once.

This module holds the table loop, :func:`validate_table`; the rules live in
:mod:`~locator.imports.rows` (columns), :mod:`~locator.imports.cells` (text, kind,
status, services, hours), :mod:`~locator.imports.coordinates` (coordinates, datum,
district and county) and :mod:`~locator.imports.duplicates`; the problems and their
codes in :mod:`~locator.imports.problems`. Their public names are importable here too.

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

import re
from dataclasses import dataclass, field

import pandas as pd

from locator.imports.cells import (
    LABELS,
    MAX_LENGTH,
    TEXT_FIELDS,
    clean_text,
    name_key,
    normalise_hours,
    parse_kind,
    parse_services,
    parse_status,
    unknown_service,
)
from locator.imports.coordinates import (
    DECIMALS,
    CoordinateError,
    locate_rows,
    parse_coordinate,
    read_point,
)
from locator.imports.duplicates import (
    DUPLICATE_RULE,
    SAME_NAME_M,
    SAME_PLACE_M,
    flag_duplicates,
)
from locator.imports.problems import CODES, FILE_CODES, CellError, Problem
from locator.imports.rows import Row, RowResult, find_columns, missing_columns
from locator.imports.table import Table

__all__ = [
    # this module's
    "TEMPLATE_EXAMPLE_NAME",
    "Validation",
    "validate_table",
    # the rules' and the problems' modules', importable here too
    "CODES",
    "DECIMALS",
    "DUPLICATE_RULE",
    "FILE_CODES",
    "LABELS",
    "MAX_LENGTH",
    "SAME_NAME_M",
    "SAME_PLACE_M",
    "CellError",
    "CoordinateError",
    "Problem",
    "RowResult",
    "clean_text",
    "name_key",
    "normalise_hours",
    "parse_coordinate",
    "parse_services",
]

#: The name of the example row in the template (a row left in by mistake is flagged).
TEMPLATE_EXAMPLE_NAME = "示例：裕华路环卫工人爱心驿站（导入前请删除本行）"

_OUR_ID = re.compile(r"^HB[0-9]{6}-[0-9]+$")
_EXISTING_COLUMNS = ["id", "kind", "name", "lon", "lat", "status"]


@dataclass
class Validation:
    """Every row and every problem of one file.

    Attributes
    ----------
    table : Table
        The file as read.
    fields : dict of str to int
        Field → index of its column.
    rows : list of RowResult
        Every data row, in file order (empty when a required column is missing).
    problems : list of Problem
        Sorted by row; file-level problems first.
    """

    table: Table
    fields: dict[str, int]
    rows: list[RowResult]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


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
        ``name``, ``lon``, ``lat``, ``status``; WGS-84 degrees), for
        ``duplicate_existing`` and for recognising existing 编号.

    Returns
    -------
    Validation
        Rows with their normalised values (WGS-84 ``lon``/``lat`` rounded to 7 decimals,
        the values as given in ``source_lon``/``source_lat``, ``source_datum``) and the
        problems, sorted by row.
    """
    columns, problems = find_columns(table)
    problems += missing_columns(table, columns.fields)
    if any(p.code == "missing_column" for p in problems):
        return Validation(table, columns.fields, [], problems)
    if not table.rows:
        problems.append(Problem(
            table.header_row, None, "no_rows", "文件里只有表头，没有数据行",
            "the file has a header but no data rows"))
        return Validation(table, columns.fields, [], problems)

    existing = existing if existing is not None else pd.DataFrame(columns=_EXISTING_COLUMNS)
    existing_ids = set(existing["id"])
    use_points = table.points is not None and (
        "lon" not in columns.fields or "lat" not in columns.fields
        or any(isinstance(p, tuple) for p in table.points))
    rows = []
    for position, (number, cells) in enumerate(table.rows):
        row = Row(number, cells, columns)
        _read_texts(row)
        _read_id(row, existing_ids, gis=table.header_row is None)
        _read_vocabulary(row)
        read_point(row, table.points[position] if table.points is not None else None,
                   use_points=use_points)
        rows.append(row)

    locate_rows(rows, datum=datum, regions=regions)
    flag_duplicates(rows, existing, columns.header)
    for row in rows:
        problems.extend(row.problems)
    problems.sort(key=lambda p: (p.row if p.row is not None else -1))
    return Validation(table, columns.fields, [row.result() for row in rows], problems)


def _read_texts(row: Row) -> None:
    """名称, 地址, 主办单位, 电话, 所属地区, 区县 and 编号, where the table has them."""
    for f in TEXT_FIELDS:
        if f not in row.columns.fields:
            continue
        try:
            row.values[f] = clean_text(row.cell(f), max_length=MAX_LENGTH[f], label=LABELS[f],
                                       required=(f == "name"))
        except CellError as e:
            row.bad(f, e)
    if row.values.get("name") == TEMPLATE_EXAMPLE_NAME:
        row.bad("name", CellError("这是模板里的示例行，请删除它或改成真实站点",
                                  "this is the template's example row: delete it or replace it",
                                  "bad_value"))


def _read_id(row: Row, existing_ids: set[str], *, gis: bool) -> None:
    """The declared 编号 must name an existing site; in a geo format, an ``id`` that is
    not of our form ``HB<county code>-<n>`` is the layer's own and is ignored."""
    declared_id = row.values.pop("id", "") or None
    if declared_id and gis and not _OUR_ID.match(declared_id):
        declared_id = None  # a GIS layer's own "id"/"Id" attribute (often 0): not ours
    if declared_id is not None and declared_id not in existing_ids:
        row.bad("id", CellError(f"编号「{declared_id}」不存在；新站点请留空，系统会自动编号",
                                f"no site has the id {declared_id!r}; leave it empty for a new "
                                "site (ids are assigned automatically)", "unknown_id"))
    row.id = declared_id


def _read_vocabulary(row: Row) -> None:
    """类型, 状态, 服务 and 开放时间, where the table has them."""
    fields = row.columns.fields
    if "kind" in fields:
        try:
            row.values["kind"] = parse_kind(row.cell("kind"))
        except CellError as e:
            row.bad("kind", e)
    if "status" in fields:
        try:
            status = parse_status(row.cell("status"))
        except CellError as e:
            row.bad("status", e)
        else:
            if status is not None:
                row.values["status"] = status
    if "services" in fields:
        codes, unknown = parse_services(row.cell("services"))
        row.values["services"] = codes
        for label in unknown:
            row.bad("services", unknown_service(label))
    if "opening_hours" in fields:
        try:
            row.values["opening_hours"] = normalise_hours(row.cell("opening_hours"))
        except CellError as e:
            row.bad("opening_hours", e)
