"""Demand for the coverage analysis: counted searches and an uploaded population grid.

Search counting (privacy is a feature)
    Every successful ``/api/v1/nearest`` request adds one to a counter keyed by the H3
    resolution-8 cell of the search point (about 0.5 km², an area ~700 m across), the
    Asia/Shanghai day and whether the nearest active result was farther than
    :data:`SEARCH_RADIUS_M` (1 km, the ACFTU target). **Nothing else is kept**: no
    coordinates, no IP address, no account, no user agent, no time of day, no filters.
    Searches outside :data:`COUNT_BOUNDS` (Hebei and its surroundings) are not counted,
    which also bounds the table at one row per cell, day and flag.

    Each worker buffers its counts in memory (:class:`SearchCounter`) and writes them in
    one transaction every :data:`FLUSH_EVERY_S` seconds or :data:`FLUSH_AT_KEYS` distinct
    keys (after the response has been sent), and when the process exits. Counts are not
    station data: writing them never bumps ``data_version`` and never rebuilds an index.

    When counts are shown per cell, cells with fewer than :data:`MIN_SHOWN` searches in
    the period are left out (k-anonymity-style: a handful of searches from a village
    could point at a person); totals per district include them.

Uploaded population grid
    An admin uploads a CSV with columns ``h3`` and ``weight`` (persons per H3 cell, any
    resolution), or ``lon``, ``lat`` (WGS-84) and ``weight``. :func:`plan_grid` checks
    every row and reports every problem at once (row numbers as a spreadsheet shows them:
    the header is row 1); :func:`apply_grid` replaces the grid in use in one transaction,
    keeping who uploaded which file when. The cells are stored at resolution 8, summed
    (a finer cell counts in its parent, a coarser one is spread over its children in
    Hebei, a point counts in the cell holding it).

Demand sources (:data:`DEMAND_SOURCES`)
    ``population`` — the 2020 census, spread by a coarse urban proxy (the default);
    ``uploaded`` — the uploaded grid; ``searches`` — counted searches of the last
    :data:`SEARCH_DAYS` full days as weights. :func:`coverage_engine` gives the coverage
    engine of a source, sharing the stations (and cached per source).
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import logging
import math
import threading
import time
import unicodedata
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import h3
import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from locator.errors import BadRequest, Conflict, NotFound
from locator.store.models import DemandCell, DemandUpload, SearchCount

__all__ = [
    "COUNT_BOUNDS", "DEMAND_SOURCES", "FLUSH_AT_KEYS", "FLUSH_EVERY_S", "GridPlan",
    "MAX_GRID_BYTES", "MAX_GRID_ROWS", "MIN_SHOWN", "SEARCH_DAYS", "SEARCH_RADIUS_M",
    "SearchCounter", "apply_grid", "coverage_engine", "current_upload", "default_source",
    "district_search_summary", "plan_grid", "record_counts", "search_cells",
    "search_window", "uploads", "withdraw_grid",
]

#: The distance that decides the "beyond" flag of a counted search (metres, geodesic).
SEARCH_RADIUS_M = 1000
#: The key of the per-worker :class:`SearchCounter` in ``app.extensions`` (set up by
#: locator.coverage.demand_web, written by the nearest-site API).
SEARCHES = "locator_searches"
#: H3 resolution of the counted cells (about 0.5 km² in Hebei).
SEARCH_RESOLUTION = 8
#: Searches are counted only inside this lon/lat box (Hebei with a margin; WGS-84).
COUNT_BOUNDS = (113.0, 35.5, 120.5, 43.0)
FLUSH_EVERY_S = 5.0
FLUSH_AT_KEYS = 5000
#: Cells with fewer searches than this in a period are not shown one by one.
MIN_SHOWN = 5
#: The searches demand counts this many full days, up to yesterday (Asia/Shanghai).
SEARCH_DAYS = 30
DEMAND_SOURCES = ("population", "uploaded", "searches")
MAX_GRID_BYTES = 20 * 1024 * 1024
MAX_GRID_ROWS = 800_000
#: No H3 cell or point carries more people than this (the densest res-8 cells on Earth
#: hold well under 100,000).
MAX_WEIGHT = 10_000_000
TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

SEARCHES_NOTE = (
    "需求为近 {days} 天（截至 {until}）查询最近驿站的次数，按约 0.5 平方公里的网格统计；"
    "只统计次数，不保存位置、IP 或用户。查询少于 {k} 次的网格不计入。"
    "Demand is the number of nearest-station searches in the {days} days up to {until}, "
    "counted per H3 cell (about 0.5 km²); only counts are kept. Cells with fewer than {k} "
    "searches are left out."
)
UPLOADED_NOTE = (
    "需求为上传的人口网格（{name}，{when} 由 {who} 上传）。"
    "Demand is an uploaded population grid ({name}, uploaded {when} by {who})."
)


def today() -> dt.date:
    """Today in Asia/Shanghai."""
    return dt.datetime.now(TZ).date()


# --------------------------------------------------------------------------------------
# Search counting


def search_cell(lon: float, lat: float) -> str | None:
    """The counted cell of a search point (H3 res 8, hex), or None outside COUNT_BOUNDS.

    Examples
    --------
    >>> search_cell(114.5149, 38.0428)
    '88319c9101fffff'
    >>> search_cell(121.47, 31.23) is None
    True
    """
    w, s, e, n = COUNT_BOUNDS
    if not (w <= lon <= e and s <= lat <= n):
        return None
    return h3.latlng_to_cell(lat, lon, SEARCH_RESOLUTION)


def record_counts(store, counts: Mapping[tuple[str, dt.date, bool], int], *,
                  keep_days: int | None = None, until: dt.date | None = None) -> int:
    """Add counts to the store in one transaction; returns how many keys were written.

    Parameters
    ----------
    store : locator.store.store.Store
    counts : mapping
        ``(cell, day, beyond_r) -> searches``; cell an H3 res-8 hex string, day an
        Asia/Shanghai date.
    keep_days : int, optional
        In the same transaction, delete the counts of days more than this many days
        before ``until`` (default: today, Asia/Shanghai). None keeps everything.
    """
    rows = [{"cell": c, "day": d, "beyond_r": bool(b), "count": int(n)}
            for (c, d, b), n in counts.items() if n > 0]
    if not rows:
        return 0
    if store.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(SearchCount.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["cell", "day", "beyond_r"],
        set_={"count": SearchCount.__table__.c.count + stmt.excluded["count"]})
    # Core on a plain connection: not a Versioned model, so data_version stays put.
    with store.engine.begin() as conn:
        conn.execute(stmt, rows)
        if keep_days is not None:
            oldest = (until or today()) - dt.timedelta(days=keep_days)
            conn.execute(SearchCount.__table__.delete().where(
                SearchCount.__table__.c.day < oldest))
    return len(rows)


@dataclass(eq=False)
class SearchCounter:
    """Per-worker buffer of search counts, written in batches (see the module notes).

    Parameters
    ----------
    store : locator.store.store.Store
    flush_every_s : float
        A flush is due this many seconds after the last one.
    flush_at_keys : int
        ... or once the buffer holds this many distinct (cell, day, flag) keys.
    keep_days : int, optional
        Counts of older days are deleted at each flush (see :func:`record_counts`).
    """

    store: object
    flush_every_s: float = FLUSH_EVERY_S
    flush_at_keys: int = FLUSH_AT_KEYS
    keep_days: int | None = None
    _buffer: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _flushed_at: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        atexit.register(_flush_at_exit, weakref.ref(self))

    def count(self, lon: float, lat: float, beyond: bool, day: dt.date) -> bool:
        """Count one search at WGS-84 ``lon``/``lat``; True when a flush is due.

        Only the cell of the point is kept (nothing when it is outside COUNT_BOUNDS).
        """
        cell = search_cell(lon, lat)
        if cell is None:
            return False
        key = (cell, day, bool(beyond))
        with self._lock:
            self._buffer[key] = self._buffer.get(key, 0) + 1
            size = len(self._buffer)
        return size >= self.flush_at_keys or (
            time.monotonic() - self._flushed_at >= self.flush_every_s)

    def pending(self) -> int:
        """Searches buffered and not written yet."""
        with self._lock:
            return sum(self._buffer.values())

    def flush(self) -> int:
        """Write the buffered counts in one transaction; returns the keys written.

        On a database error the counts go back into the buffer for the next flush.
        """
        with self._lock:
            batch, self._buffer = self._buffer, {}
            self._flushed_at = time.monotonic()
        if not batch:
            return 0
        try:
            return record_counts(self.store, batch, keep_days=self.keep_days)
        except Exception:
            with self._lock:
                for key, n in batch.items():
                    self._buffer[key] = self._buffer.get(key, 0) + n
            raise


def _flush_at_exit(ref) -> None:
    counter = ref()
    if counter is None:
        return
    try:
        counter.flush()
    except Exception:  # the process is ending: say so, but do not fail its exit
        logging.getLogger(__name__).exception("search counts not written at exit")


def search_window(days: int = SEARCH_DAYS, until: dt.date | None = None
                  ) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive) of the last ``days`` full days before today."""
    last = (until or today() - dt.timedelta(days=1))
    return last - dt.timedelta(days=days - 1), last


def search_cells(store, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Searches per cell between two days (inclusive), all cells, unsuppressed.

    Returns
    -------
    pandas.DataFrame
        Columns ``cell`` (H3 hex), ``searches``, ``beyond`` (searches whose nearest
        active result was beyond :data:`SEARCH_RADIUS_M`), one row per cell.
    """
    t = SearchCount.__table__
    beyond = func.sum(t.c.count * t.c.beyond_r.cast(t.c.count.type))
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.c.cell, func.sum(t.c.count), beyond)
            .where(t.c.day >= first, t.c.day <= last).group_by(t.c.cell)).all()
    frame = pd.DataFrame(rows, columns=["cell", "searches", "beyond"])
    return frame.astype({"searches": np.int64, "beyond": np.int64})


def district_search_summary(store, regions, first: dt.date, last: dt.date) -> list[dict]:
    """Per union district: searches between two days, and the share beyond 1 km.

    District totals include every cell (no suppression: a district is large). A cell
    belongs to the district holding its centre; cells outside Hebei are summed as
    ``district_code`` None.

    Returns
    -------
    list of dict
        ``district_code``, ``district_name``, ``searches``, ``beyond``, ``beyond_share``
        (None when there were no searches), one per district in code order, then the
        outside row when it has searches.
    """
    cells = search_cells(store, first, last)
    names = regions.district_names()
    if len(cells):
        latlng = np.array([h3.cell_to_latlng(c) for c in cells["cell"]]).reshape(-1, 2)
        found = regions.locate(latlng[:, 1], latlng[:, 0])
        cells["district_code"] = found["district_code"].to_numpy()
    else:
        cells["district_code"] = []
    sums = cells.groupby(cells["district_code"].fillna(""))[["searches", "beyond"]].sum()
    out = []
    for code in [*names, ""]:
        n = int(sums["searches"].get(code, 0))
        b = int(sums["beyond"].get(code, 0))
        if code == "" and n == 0:
            continue
        out.append({"district_code": code or None, "district_name": names.get(code),
                    "searches": n, "beyond": b, "beyond_share": b / n if n else None})
    return out


# --------------------------------------------------------------------------------------
# Uploaded population grid


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
    from locator.coverage.engine import with_population_table

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


def default_source(store) -> str:
    """The demand used when none is asked for: the uploaded grid when one is in use
    (it replaces the census proxy), else ``population``."""
    return "uploaded" if current_upload(store) is not None else "population"


# --------------------------------------------------------------------------------------
# Coverage engines per demand source


_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def coverage_engine(engine, store, demand: str | None = None, *, days: int = SEARCH_DAYS,
                    until: dt.date | None = None, min_shown: int = MIN_SHOWN):
    """The coverage engine of the same stations with another demand.

    Parameters
    ----------
    engine : locator.coverage.engine.CoverageEngine
        The engine of the current data version (census proxy demand).
    store : locator.store.store.Store
    demand : {"population", "uploaded", "searches"}, optional
        Default: :func:`default_source`.
    days, until : int, datetime.date
        For ``searches``: the ``days`` full days up to ``until`` (default yesterday).
    min_shown : int
        For ``searches``: cells with fewer searches than this are left out.

    Returns
    -------
    CoverageEngine
        ``engine`` itself for ``population``; otherwise an engine over the same sites whose
        grid carries the other demand (``grid.source``, ``grid.note`` say which; searches
        also ``grid.extra`` with ``searches``, ``beyond``, ``beyond_share``,
        ``suppressed``). Cached per engine and source (the uploaded grid by its id, the
        searches by their window).

    Raises
    ------
    locator.errors.BadRequest
        Unknown source, or ``uploaded`` when no grid is in use.
    """
    demand = default_source(store) if demand is None else demand
    if demand not in DEMAND_SOURCES:
        raise BadRequest(f"未知的需求来源 {demand!r}（可选 {', '.join(DEMAND_SOURCES)}）。",
                         code="bad_parameter")
    if demand == "population":
        return engine
    if demand == "uploaded":
        upload = current_upload(store)
        if upload is None:
            raise Conflict("还没有上传人口网格（或已停用）。", code="no_uploaded_grid",
                           message_en="No population grid has been uploaded (or it was "
                           "withdrawn).")
        key = ("uploaded", upload["id"])
    else:
        first, last = search_window(days, until)
        key = ("searches", first, last, min_shown)
    with _ENGINES_LOCK:
        cached = _ENGINES.setdefault(engine, {})
        if key in cached:
            return cached[key]
    grid = (_uploaded_grid(engine.grid, store, upload) if demand == "uploaded"
            else _searches_grid(engine.grid, store, first, last, min_shown))
    from locator.coverage.engine import CoverageEngine

    other = CoverageEngine(engine.sites, engine.regions, version=engine.version, demand=grid,
                           areas_from=engine)
    with _ENGINES_LOCK:
        return _ENGINES.setdefault(engine, {}).setdefault(key, other)


def _population_on(grid, cells: pd.Series, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights of H3 res-8 hex cells put on the grid's cells; and the weight outside."""
    ids = np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64)
    order = np.argsort(grid.cell)
    sorted_cells = grid.cell[order]
    population = np.zeros(len(grid))
    if len(ids) == 0 or len(sorted_cells) == 0:
        return population, float(np.sum(weights))
    i = np.clip(np.searchsorted(sorted_cells, ids), 0, len(sorted_cells) - 1)
    hit = sorted_cells[i] == ids
    np.add.at(population, order[i[hit]], weights[hit])
    return population, float(weights[~hit].sum())


def _uploaded_grid(grid, store, upload: dict):
    with store.engine.connect() as conn:
        rows = conn.execute(select(DemandCell.cell, DemandCell.weight)).all()
    frame = pd.DataFrame(rows, columns=["cell", "weight"])
    population, _ = _population_on(grid, frame["cell"], frame["weight"].to_numpy(float))
    when = upload["created_at"].astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    note = UPLOADED_NOTE.format(name=upload["source_name"] or "-", when=when,
                                who=upload["created_by"])
    return dataclasses.replace(grid, population=population, note=note,
                               source="uploaded", coarse_proxy=False,
                               extra={"upload_id": upload["id"],
                                      "uploaded_at": upload["created_at"].isoformat(),
                                      "uploaded_by": upload["created_by"],
                                      "file_name": upload["source_name"]})


def _searches_grid(grid, store, first: dt.date, last: dt.date, min_shown: int):
    cells = search_cells(store, first, last)
    total = int(cells["searches"].sum()) if len(cells) else 0
    beyond = int(cells["beyond"].sum()) if len(cells) else 0
    shown = cells[cells["searches"] >= min_shown]
    population, outside = _population_on(grid, shown["cell"],
                                         shown["searches"].to_numpy(dtype=np.float64))
    days = (last - first).days + 1
    note = SEARCHES_NOTE.format(days=days, until=last.isoformat(), k=min_shown)
    return dataclasses.replace(grid, population=population, note=note, source="searches",
                               coarse_proxy=False, extra={
                                   "first_day": first.isoformat(), "last_day": last.isoformat(),
                                   "searches": total, "beyond": beyond,
                                   "beyond_share": beyond / total if total else None,
                                   "suppressed": int(total - shown["searches"].sum()),
                                   "outside": int(outside), "min_shown": min_shown,
                                   "radius_m": SEARCH_RADIUS_M})
