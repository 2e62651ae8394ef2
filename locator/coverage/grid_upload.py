"""An uploaded population grid: checked in full, stored in one transaction, withdrawn.

An admin uploads a CSV with columns ``h3`` and ``weight`` (persons per H3 cell, any
resolution), or ``lon``, ``lat`` (WGS-84 degrees) and ``weight``. :func:`plan_grid`
checks every row and reports every problem at once (row numbers as a spreadsheet shows
them: the header is row 1); :func:`apply_grid` replaces the grid in use in one
transaction, keeping who uploaded which file when. The cells are stored at resolution 8,
summed (a finer cell counts in its parent, a coarser one is spread over its children in
Hebei, a point counts in the cell holding it).

The file is read by the station import's reader (:func:`locator.imports.readers.
detect_format` and :func:`~locator.imports.readers.read_upload`: the same sniffing,
encoding detection, delimiter and CSV parsing, the same row numbers), and every problem is
a :class:`locator.imports.validate.Problem`. What stays the grid's own: it takes CSV only,
in UTF-8 or GBK (the template says so); its size and row limits and their messages; and
its columns and values (an H3 index, a weight in persons, decimal lon/lat).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import unicodedata
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update

from locator.coverage.grid import with_population_table
from locator.errors import BadRequest, NotFound, UploadRefused
from locator.imports.readers import Limits, Table, detect_format, read_upload
from locator.imports.validate import Problem
from locator.store.models import DemandCell, DemandUpload

__all__ = ["MAX_GRID_BYTES", "MAX_GRID_ROWS", "MAX_PROBLEMS", "MAX_WEIGHT", "GridPlan",
           "apply_grid", "current_upload", "plan_grid", "uploads", "withdraw_grid"]

MAX_GRID_BYTES = 20 * 1024 * 1024
MAX_GRID_ROWS = 800_000
#: No H3 cell or point carries more people than this (the densest res-8 cells on Earth
#: hold well under 100,000).
MAX_WEIGHT = 10_000_000
#: At most this many problems are listed (all are counted).
MAX_PROBLEMS = 200
#: The encodings a grid file may have (as :func:`~locator.imports.readers.read_upload`
#: names them): UTF-8, with or without BOM, and GBK/GB18030.
TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")


@dataclass
class GridPlan:
    """The checked contents of a population-grid file (nothing is stored yet).

    Attributes
    ----------
    ok : bool
        No problem found: :func:`apply_grid` may store it.
    rows : int
        Data rows read.
    found : list of locator.imports.validate.Problem
        The problems, ``row`` as a spreadsheet shows it (header = row 1; None for the
        whole file). At most :data:`MAX_PROBLEMS` listed.
    problems_total : int
        How many problems there are in all.
    cells : dict
        H3 res-8 hex -> persons, inside Hebei (empty unless ok).
    total_weight, outside_weight : float
        Persons in the file, and those outside Hebei (not counted).
    source_name, sha256 : str
    mode : {"h3", "lonlat"} or None
        Which columns the file has (None when it was refused before its header).
    """

    ok: bool
    rows: int
    found: list[Problem]
    problems_total: int
    cells: dict
    total_weight: float
    outside_weight: float
    source_name: str
    sha256: str
    mode: str | None = None

    @property
    def inside_weight(self) -> float:
        """Persons in the file that lie in Hebei (those counted)."""
        return self.total_weight - self.outside_weight

    @property
    def problems(self) -> list[dict]:
        """The problems as ``{"row", "column", "code", "message"}`` (Chinese messages)."""
        return [p.to_dict("zh") for p in self.found]

    def report(self, lang: str = "zh") -> dict:
        """JSON-ready summary (the CLI's ``--json``, the staff page).

        Parameters
        ----------
        lang : {"zh", "en"}
            Language of the messages.

        Returns
        -------
        dict
            ``ok``, ``rows``, ``cells``, ``total_weight``, ``outside_weight`` (persons),
            ``mode``, ``problems_total`` and ``problems``, each
            ``{"row", "column", "code", "message"}``.
        """
        return {"ok": self.ok, "rows": self.rows, "cells": len(self.cells),
                "total_weight": self.total_weight, "outside_weight": self.outside_weight,
                "mode": self.mode, "problems_total": self.problems_total,
                "problems": [p.to_dict(lang) for p in self.found]}


_ALIASES = {
    "h3": "h3", "h3_index": "h3", "cell": "h3", "网格": "h3",
    "lon": "lon", "lng": "lon", "longitude": "lon", "经度": "lon",
    "lat": "lat", "latitude": "lat", "纬度": "lat",
    "weight": "weight", "population": "weight", "pop": "weight", "人口": "weight",
    "权重": "weight",
}
_MESSAGES = {
    "unreadable_file": ("无法读取文件：{detail}。请上传 UTF-8 或 GBK 编码的 CSV 文件。",
                        "Cannot read the file: {detail}. Upload a CSV file in UTF-8 or GBK."),
    "file_too_large": ("文件太大（超过 {limit} MB）。请先把人口汇总到 H3 网格再上传。",
                       "The file is too large (over {limit} MB). Sum the population onto "
                       "H3 cells first."),
    "too_many_rows": ("行数太多（超过 {limit} 行）。请先把人口汇总到 H3 网格再上传。",
                      "Too many rows (over {limit}). Sum the population onto H3 cells "
                      "first."),
    "missing_column": ("缺少列：需要 h3 和 weight 两列，或 lon、lat 和 weight 三列。",
                       "Missing columns: the file needs h3 and weight, or lon, lat and "
                       "weight."),
    "duplicate_column": ("列名「{detail}」出现了不止一次。",
                         "The column {detail!r} appears more than once."),
    "no_rows": ("文件里没有数据行。", "The file has no data rows."),
    "bad_h3": ("「{detail}」不是有效的 H3 网格编号。", "{detail!r} is not a valid H3 cell index."),
    "bad_coordinate": ("「{detail}」不是有效的经纬度（WGS-84 十进制度数）。",
                       "{detail!r} is not a valid longitude/latitude (WGS-84 decimal "
                       "degrees)."),
    "bad_weight": ("「{detail}」不是有效的人数（应为 0 到 10,000,000 之间的数）。",
                   "{detail!r} is not a valid number of persons (0 to 10,000,000)."),
    "wrong_columns": ("这一行的列数与表头不符。",
                      "This row does not have as many columns as the header."),
    "nothing_in_area": ("文件中没有位于河北省内的人口。", "Nothing in the file lies in Hebei."),
}


def _problem(row, column, code, detail="", detail_en=None, **kw) -> Problem:
    """A :class:`Problem` with the grid's message for ``code`` (``detail_en``, when given,
    stands for ``detail`` in the English message)."""
    zh, en = _MESSAGES[code]
    return Problem(row, column, code, zh.format(detail=detail, **kw),
                   en.format(detail=detail if detail_en is None else detail_en, **kw))


def _number(text: str) -> float | None:
    """A finite decimal number, full-width digits allowed; None when it is not one.

    Examples
    --------
    >>> _number("１，２００"), _number("1e3"), _number("nan")
    (1200.0, 1000.0, None)
    """
    text = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    if not text or len(text) > 40:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def plan_grid(data: bytes, grid, *, source_name: str = "",
              max_bytes: int = MAX_GRID_BYTES, max_rows: int = MAX_GRID_ROWS) -> GridPlan:
    """Check a population-grid CSV and sum it onto the cells of ``grid``.

    Parameters
    ----------
    data : bytes
        The file, as uploaded (never a path from the client).
    grid : locator.coverage.grid.DemandGrid
        The H3 grid over Hebei the persons are put on (resolution 8).
    source_name : str
        The file's name, for the record only.
    max_bytes, max_rows : int
        Limits on the file (bytes) and its data rows.

    Returns
    -------
    GridPlan
        With every problem found (all at once) and, when there is none, the cells
        (persons per H3 resolution-8 cell inside Hebei).
    """
    digest = hashlib.sha256(data).hexdigest()

    def refused(problem: Problem) -> GridPlan:
        return GridPlan(False, 0, [problem], 1, {}, 0.0, 0.0, source_name, digest)

    table = _read_table(data, max_bytes, max_rows)
    if isinstance(table, Problem):
        return refused(table)
    columns = _columns(table)
    if isinstance(columns, Problem):
        return refused(columns)
    mode = "h3" if "h3" in columns else "lonlat"
    rows, keys, weights, problems = _check_rows(table, columns, mode)
    if rows == 0 and not problems:
        return refused(_problem(None, None, "no_rows"))
    if problems:
        return GridPlan(False, rows, problems[:MAX_PROBLEMS], len(problems), {}, 0.0, 0.0,
                        source_name, digest, mode)
    cells, total_weight, outside = _sum_onto(grid, mode, keys, weights)
    if not cells and total_weight > 0:
        return GridPlan(False, rows, [_problem(None, None, "nothing_in_area")], 1, {},
                        total_weight, outside, source_name, digest, mode)
    return GridPlan(True, rows, [], 0, cells, total_weight, float(outside), source_name,
                    digest, mode)


_NOT_CSV = ("这不是 CSV 文本文件（如 Excel、压缩包、JSON、网页）",
            "it is not a CSV text file (such as Excel, a zip, JSON or a web page)")
_NOT_UTF8_OR_GBK = ("不是 UTF-8 或 GBK 编码", "not UTF-8 or GBK")


def _read_table(data: bytes, max_bytes: int, max_rows: int) -> Table | Problem:
    """The file as a CSV :class:`~locator.imports.readers.Table`, or the problem that
    refuses it (too large, not CSV text in UTF-8 or GBK, unreadable, too many rows)."""
    if len(data) > max_bytes:
        return _problem(None, None, "file_too_large", limit=max_bytes // 2**20)
    if not data.strip():
        return _problem(None, None, "no_rows")
    try:
        fmt = detect_format(data)
    except UploadRefused:
        fmt = None
    if fmt != "csv":
        return _problem(None, None, "unreadable_file", *_NOT_CSV)
    try:
        table = read_upload(data, limits=Limits(max_bytes=max_bytes, max_rows=max_rows))
    except UploadRefused as e:
        if e.code == "too_many_rows":
            return _problem(None, None, "too_many_rows", limit=max_rows)
        return _problem(None, None, "unreadable_file", _reason(e.message),
                        _reason(e.message_for("en")))
    if table.encoding not in TEXT_ENCODINGS:
        return _problem(None, None, "unreadable_file", *_NOT_UTF8_OR_GBK)
    return table


def _reason(message: str) -> str:
    """The reader's reason without its advice, which is for station files (they may be
    .xlsx; a grid may not): "CSV 格式有误（…）。" → "CSV 格式有误（…）"."""
    for stop in ("。", ": ", ". "):
        message = message.split(stop, 1)[0]
    return message.rstrip(".")


def _columns(table: Table) -> dict[str, int] | Problem:
    """Column positions of ``h3``/``lon``/``lat``/``weight`` by their aliases."""
    header = table.columns
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        key = _ALIASES.get(unicodedata.normalize("NFKC", name).strip().lower())
        if key is None:
            continue
        if key in columns:
            return _problem(table.header_row, header[i], "duplicate_column", header[i])
        columns[key] = i
    if ("h3" not in columns and not {"lon", "lat"} <= set(columns)) or "weight" not in columns:
        return _problem(table.header_row, None, "missing_column")
    return columns


def _check_rows(table: Table, columns: dict[str, int], mode: str):
    """(data rows, keys, weights, problems): ``keys`` H3 hex strings or (lon, lat)."""
    problems: list[Problem] = []
    keys: list = []
    weights: list[float] = []
    rows = 0
    for row_number, record in table.rows:
        if not "".join(record).strip():  # CSV cells are text; blank rows are skipped
            continue
        rows += 1
        if len(record) != len(table.columns):
            problems.append(_problem(row_number, None, "wrong_columns"))
            continue
        checked = _check_row(row_number, record, table.columns, columns, mode)
        if isinstance(checked, list):
            problems.extend(checked)
            continue
        keys.append(checked[0])
        weights.append(checked[1])
    return rows, keys, weights, problems


def _check_row(row_number: int, record: list, header: list[str], columns: dict[str, int],
               mode: str) -> tuple | list[Problem]:
    """``(key, weight)`` of one data row, or its problems."""
    weight_text = record[columns["weight"]]
    weight = _number(weight_text)
    bad = []
    if weight is None or not 0 <= weight <= MAX_WEIGHT:
        bad.append(_problem(row_number, header[columns["weight"]], "bad_weight",
                            weight_text[:40]))
    if mode == "h3":
        key = record[columns["h3"]].strip().lower()
        if len(key) > 16 or not h3.is_valid_cell(key):
            bad.append(_problem(row_number, header[columns["h3"]], "bad_h3", key[:40]))
    else:
        lon, lat = (_number(record[columns[c]]) for c in ("lon", "lat"))
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            column = "lon" if lon is None or not -180 <= lon <= 180 else "lat"
            bad.append(_problem(row_number, header[columns[column]], "bad_coordinate",
                                record[columns[column]][:40]))
        key = (lon, lat)
    return bad or (key, weight)


def _sum_onto(grid, mode: str, keys: list, weights: list[float]):
    """(cells: H3 res-8 hex -> persons inside the grid, total persons, persons outside)."""
    if mode == "h3":
        table = pd.DataFrame({"h3": keys, "weight": weights})
    else:
        table = pd.DataFrame({"lon": [k[0] for k in keys], "lat": [k[1] for k in keys],
                              "weight": weights})
    spread, outside = with_population_table(grid, table)
    inside = np.flatnonzero(spread.population > 0)
    cells = {h3.int_to_str(int(c)): float(w)
             for c, w in zip(grid.cell[inside], spread.population[inside], strict=True)}
    return cells, float(np.sum(weights)), outside


def apply_grid(store, plan: GridPlan, *, user: str) -> int:
    """Store a checked grid in place of the one in use, in one transaction.

    Parameters
    ----------
    store : locator.store.store.Store
    plan : GridPlan
        A plan from :func:`plan_grid`.
    user : str
        Who uploads it (kept with the upload, at most 80 characters).

    Returns
    -------
    int
        The new upload's id.

    Raises
    ------
    locator.errors.BadRequest
        When the plan has problems (nothing is stored).
    """
    if not plan.ok:
        raise BadRequest("人口网格有问题，未保存。", code="bad_population_grid")
    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        session.execute(delete(DemandCell))
        if plan.cells:
            session.execute(insert(DemandCell), [{"cell": c, "weight": w}
                                                 for c, w in plan.cells.items()])
        upload = DemandUpload(
            created_at=now, created_by=user[:80], source_name=plan.source_name[:200],
            source_sha256=plan.sha256, rows=plan.rows, cells=len(plan.cells),
            total_weight=plan.total_weight, outside_weight=plan.outside_weight)
        session.add(upload)
        session.flush()
        session.execute(update(DemandUpload).where(
            DemandUpload.id != upload.id, DemandUpload.withdrawn_at.is_(None))
            .values(withdrawn_at=now, withdrawn_by=user[:80]))
        return upload.id


def withdraw_grid(store, *, user: str) -> int:
    """Stop using the uploaded grid: the census proxy is used again.

    Parameters
    ----------
    store : locator.store.store.Store
    user : str
        Who withdraws it (kept with the upload).

    Returns
    -------
    int
        The withdrawn upload's id.

    Raises
    ------
    locator.errors.NotFound
        When no uploaded grid is in use.
    """
    now = dt.datetime.now(dt.UTC)
    with store.write() as session:
        current = session.scalars(select(DemandUpload).where(
            DemandUpload.withdrawn_at.is_(None)).order_by(DemandUpload.id.desc())).first()
        if current is None:
            raise NotFound("没有正在使用的人口网格。", code="no_uploaded_grid")
        current.withdrawn_at, current.withdrawn_by = now, user[:80]
        session.execute(delete(DemandCell))
        return current.id


def _upload_dict(u: DemandUpload) -> dict:
    return {c: getattr(u, c) for c in (
        "id", "created_at", "created_by", "source_name", "source_sha256", "rows", "cells",
        "total_weight", "outside_weight", "withdrawn_at", "withdrawn_by")}


def current_upload(store) -> dict | None:
    """The uploaded grid in use.

    Parameters
    ----------
    store : locator.store.store.Store

    Returns
    -------
    dict or None
        Its record (``id``, ``created_at`` UTC, ``created_by``, ``source_name``,
        ``source_sha256``, ``rows``, ``cells``, ``total_weight`` and ``outside_weight``
        in persons, ``withdrawn_at``, ``withdrawn_by``); None when none is in use.
    """
    with store.read() as session:
        u = session.scalars(select(DemandUpload).where(DemandUpload.withdrawn_at.is_(None))
                            .order_by(DemandUpload.id.desc())).first()
        return None if u is None else _upload_dict(u)


def uploads(store, limit: int = 20) -> list[dict]:
    """The latest uploads, withdrawn ones too.

    Parameters
    ----------
    store : locator.store.store.Store
    limit : int
        How many.

    Returns
    -------
    list of dict
        Records as :func:`current_upload` gives them, newest first.
    """
    with store.read() as session:
        return [_upload_dict(u) for u in session.scalars(
            select(DemandUpload).order_by(DemandUpload.id.desc()).limit(limit))]
