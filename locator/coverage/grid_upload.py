"""An uploaded population grid: checked in full, stored in one transaction, withdrawn.

An admin uploads a CSV with columns ``h3`` and ``weight`` (persons per H3 cell, any
resolution), or ``lon``, ``lat`` (WGS-84 degrees) and ``weight``. :func:`plan_grid`
checks every row and reports every problem at once (row numbers as a spreadsheet shows
them: the header is row 1); :func:`apply_grid` replaces the grid in use in one
transaction, keeping who uploaded which file when. The cells are stored at resolution 8,
summed (a finer cell counts in its parent, a coarser one is spread over its children in
Hebei, a point counts in the cell holding it).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import unicodedata
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update

from locator.coverage.grid import with_population_table
from locator.errors import BadRequest, NotFound
from locator.store.models import DemandCell, DemandUpload

__all__ = ["MAX_GRID_BYTES", "MAX_GRID_ROWS", "MAX_PROBLEMS", "MAX_WEIGHT", "GridPlan",
           "apply_grid", "current_upload", "plan_grid", "uploads", "withdraw_grid"]

MAX_GRID_BYTES = 20 * 1024 * 1024
MAX_GRID_ROWS = 800_000
#: No H3 cell or point carries more people than this (the densest res-8 cells on Earth
#: hold well under 100,000).
MAX_WEIGHT = 10_000_000


@dataclass
class GridPlan:
    """The checked contents of a population-grid file (nothing is stored yet).

    Attributes
    ----------
    ok : bool
        No problem found: :func:`apply_grid` may store it.
    rows : int
        Data rows read.
    problems : list of dict
        ``{"row", "column", "code", "message"}``; ``row`` as a spreadsheet shows it
        (header = row 1; None for the whole file). At most :data:`MAX_PROBLEMS` listed.
    problems_total : int
        How many problems there are in all.
    cells : dict
        H3 res-8 hex -> persons, inside Hebei (empty unless ok).
    total_weight, outside_weight : float
        Persons in the file, and those outside Hebei (not counted).
    source_name, sha256 : str
    """

    ok: bool
    rows: int
    problems: list
    problems_total: int
    cells: dict
    total_weight: float
    outside_weight: float
    source_name: str
    sha256: str
    mode: str | None = None

    def report(self, lang: str = "zh") -> dict:
        """JSON-ready summary (the CLI's ``--json``, the staff page); messages in ``lang``
        (``zh`` or ``en``). Each problem is ``{"row", "column", "code", "message"}``."""
        key = "message_en" if lang == "en" else "message"
        return {"ok": self.ok, "rows": self.rows, "cells": len(self.cells),
                "total_weight": self.total_weight, "outside_weight": self.outside_weight,
                "mode": self.mode, "problems_total": self.problems_total,
                "problems": [{"row": p["row"], "column": p["column"], "code": p["code"],
                              "message": p[key]} for p in self.problems]}


MAX_PROBLEMS = 200
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


def _problem(row, column, code, detail="", **kw) -> dict:
    zh, en = _MESSAGES[code]
    return {"row": row, "column": column, "code": code,
            "message": zh.format(detail=detail, **kw),
            "message_en": en.format(detail=detail, **kw)}


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", data, 0, 1, "not UTF-8 or GB18030")


def _number(text: str) -> float | None:
    """A finite decimal number, full-width digits allowed; None when it is not one."""
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
    grid : locator.coverage.engine.DemandGrid
        The H3 grid over Hebei the persons are put on (resolution 8).
    source_name : str
        The file's name, for the record only.

    Returns
    -------
    GridPlan
        With every problem found (all at once) and, when there is none, the cells.
    """

    digest = hashlib.sha256(data).hexdigest()

    def refused(*problems) -> GridPlan:
        return GridPlan(False, 0, list(problems), len(problems), {}, 0.0, 0.0,
                        source_name, digest)

    if len(data) > max_bytes:
        return refused(_problem(None, None, "file_too_large", limit=max_bytes // 2**20))
    if data[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0") or b"\x00" in data[:4096]:
        return refused(_problem(None, None, "unreadable_file", "这是二进制文件（如 Excel），"
                                "不是 CSV"))
    try:
        text = _decode(data)
        records = csv.reader(io.StringIO(text, newline=""))
        header = next(records, None)
    except (UnicodeDecodeError, csv.Error) as e:
        return refused(_problem(None, None, "unreadable_file", type(e).__name__))
    if header is None:
        return refused(_problem(None, None, "no_rows"))
    names = [unicodedata.normalize("NFKC", h).strip().lower() for h in header]
    columns: dict[str, int] = {}
    for i, name in enumerate(names):
        key = _ALIASES.get(name)
        if key is None:
            continue
        if key in columns:
            return refused(_problem(1, header[i], "duplicate_column", header[i]))
        columns[key] = i
    mode = "h3" if "h3" in columns else "lonlat" if {"lon", "lat"} <= set(columns) else None
    if mode is None or "weight" not in columns:
        return refused(_problem(1, None, "missing_column"))
    problems: list[dict] = []
    keys: list = []
    weights: list[float] = []
    rows = 0
    try:
        for row_number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue
            rows += 1
            if rows > max_rows:
                return refused(_problem(None, None, "too_many_rows", limit=max_rows))
            if len(record) != len(header):
                problems.append(_problem(row_number, None, "wrong_columns"))
                continue
            weight_text = record[columns["weight"]]
            weight = _number(weight_text)
            bad = []
            if weight is None or not 0 <= weight <= MAX_WEIGHT:
                bad.append(_problem(row_number, header[columns["weight"]], "bad_weight",
                                    weight_text[:40]))
            if mode == "h3":
                text = record[columns["h3"]].strip().lower()
                if len(text) > 16 or not h3.is_valid_cell(text):
                    bad.append(_problem(row_number, header[columns["h3"]], "bad_h3",
                                        text[:40]))
                key = text
            else:
                lon, lat = (_number(record[columns[c]]) for c in ("lon", "lat"))
                if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    column = "lon" if lon is None or not -180 <= lon <= 180 else "lat"
                    raw = record[columns[column]]
                    bad.append(_problem(row_number, header[columns[column]],
                                        "bad_coordinate", raw[:40]))
                key = (lon, lat)
            if bad:
                problems.extend(bad)
                continue
            keys.append(key)
            weights.append(weight)
    except csv.Error as e:
        return refused(_problem(None, None, "unreadable_file", type(e).__name__))
    if rows == 0 and not problems:
        return refused(_problem(None, None, "no_rows"))
    problems_total = len(problems)
    if problems:
        return GridPlan(False, rows, problems[:MAX_PROBLEMS], problems_total, {}, 0.0, 0.0,
                        source_name, digest, mode)
    if mode == "h3":
        table = pd.DataFrame({"h3": keys, "weight": weights})
    else:
        table = pd.DataFrame({"lon": [k[0] for k in keys], "lat": [k[1] for k in keys],
                              "weight": weights})
    spread, outside = with_population_table(grid, table)
    inside = np.flatnonzero(spread.population > 0)
    cells = {h3.int_to_str(int(c)): float(w)
             for c, w in zip(grid.cell[inside], spread.population[inside], strict=True)}
    total_weight = float(np.sum(weights))
    if not cells and total_weight > 0:
        p = _problem(None, None, "nothing_in_area")
        return GridPlan(False, rows, [p], 1, {}, total_weight, outside, source_name,
                        digest, mode)
    return GridPlan(True, rows, [], 0, cells, total_weight, float(outside), source_name,
                    digest, mode)


def apply_grid(store, plan: GridPlan, *, user: str) -> int:
    """Store a checked grid in place of the one in use, in one transaction.

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
    """Stop using the uploaded grid (the census proxy is used again); returns its id."""
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
    """The uploaded grid in use (its record as a dict), or None."""
    with store.read() as session:
        u = session.scalars(select(DemandUpload).where(DemandUpload.withdrawn_at.is_(None))
                            .order_by(DemandUpload.id.desc())).first()
        return None if u is None else _upload_dict(u)


def uploads(store, limit: int = 20) -> list[dict]:
    """The latest uploads, newest first (withdrawn ones too)."""
    with store.read() as session:
        return [_upload_dict(u) for u in session.scalars(
            select(DemandUpload).order_by(DemandUpload.id.desc()).limit(limit))]
