"""Demand for the coverage analysis: which source the figures weigh, and its engine.

Demand sources (:data:`DEMAND_SOURCES`)
    ``population`` — the 2020 census, spread by a coarse urban proxy (the default;
    :mod:`locator.coverage.spread`); ``uploaded`` — an uploaded population grid
    (:mod:`locator.coverage.grid_upload`); ``searches`` — counted searches of the last
    :data:`SEARCH_DAYS` full days as weights (:mod:`locator.coverage.searches`).
    :func:`coverage_engine` gives the coverage engine of a source, sharing the stations
    (and cached per source).

Every name of the two modules above is importable from here too (``demand.plan_grid``,
``demand.SearchCounter`` ...), as the web pages and the CLI use them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import weakref

import h3
import numpy as np
import pandas as pd
from sqlalchemy import select

from locator.coverage.grid_upload import (
    MAX_GRID_BYTES,
    MAX_GRID_ROWS,
    MAX_PROBLEMS,
    MAX_WEIGHT,
    GridPlan,
    apply_grid,
    current_upload,
    plan_grid,
    uploads,
    withdraw_grid,
)
from locator.coverage.searches import (
    COUNT_BOUNDS,
    FLUSH_AT_KEYS,
    FLUSH_EVERY_S,
    MIN_SHOWN,
    SEARCH_DAYS,
    SEARCH_RADIUS_M,
    SEARCH_RESOLUTION,
    TZ,
    SearchCounter,
    district_search_summary,
    record_counts,
    search_cell,
    search_cells,
    search_window,
    today,
)
from locator.errors import BadRequest, Conflict
from locator.store.models import DemandCell

__all__ = [
    "COUNT_BOUNDS", "DEMAND_SOURCES", "FLUSH_AT_KEYS", "FLUSH_EVERY_S", "MAX_GRID_BYTES",
    "MAX_GRID_ROWS", "MAX_PROBLEMS", "MAX_WEIGHT", "MIN_SHOWN", "SEARCH_DAYS",
    "SEARCH_RADIUS_M", "SEARCH_RESOLUTION", "TZ", "GridPlan", "SearchCounter", "apply_grid",
    "coverage_engine", "current_upload", "default_source", "demand_overview",
    "district_search_summary", "plan_grid", "record_counts", "search_cell", "search_cells",
    "search_window", "today", "upload_grid",
    "uploads", "withdraw_grid",
]

DEMAND_SOURCES = ("population", "uploaded", "searches")

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


def default_source(store) -> str:
    """The demand used when none is asked for.

    Parameters
    ----------
    store : locator.store.store.Store

    Returns
    -------
    str
        ``uploaded`` when an uploaded grid is in use (it replaces the census proxy), else
        ``population``.
    """
    return "uploaded" if current_upload(store) is not None else "population"


def demand_overview(store, regions, counter: SearchCounter | None = None, *,
                    days: int = 30, recent: int = 10) -> dict:
    """What is known about demand: the source in use, the uploads, the search counts.

    Parameters
    ----------
    store : locator.store.store.Store
    regions : locator.geo.regions.Regions
        Districts the searches are summed by.
    counter : SearchCounter, optional
        The worker's counter (``State.searches``); flushed first so that the counts
        include this worker's latest searches. None when counting is off.
    days : int
        The searches of the last ``days`` days up to today (Asia/Shanghai), inclusive.
    recent : int
        How many uploads to list.

    Returns
    -------
    dict
        ``source`` (:func:`default_source`), ``upload`` (the grid in use or None),
        ``uploads`` (newest first), ``summary`` (:func:`district_search_summary`),
        ``totals`` (``searches`` and ``beyond``, summed), ``first`` and ``last`` (the
        days) and ``counting`` (whether searches are counted).
    """
    if counter is not None:
        counter.flush()
    first, last = search_window(days, until=today())
    summary = district_search_summary(store, regions, first, last)
    return {"source": default_source(store), "upload": current_upload(store),
            "uploads": uploads(store, recent), "summary": summary,
            "totals": {"searches": sum(r["searches"] for r in summary),
                       "beyond": sum(r["beyond"] for r in summary)},
            "first": first, "last": last, "counting": counter is not None}


def upload_grid(store, grid, data: bytes, *, source_name: str, user: str) -> GridPlan:
    """Check a population-grid file and, when it has no problem, put it in use.

    Parameters
    ----------
    store : locator.store.store.Store
    grid : locator.coverage.grid.DemandGrid
        The grid the persons are put on (the census engine's).
    data : bytes
        The file as uploaded.
    source_name : str
        The file's name, for the record.
    user : str
        Who uploads it, for the record.

    Returns
    -------
    GridPlan
        The checked file (:func:`plan_grid`); stored (:func:`apply_grid`) when ``ok``.
    """
    plan = plan_grid(data, grid, source_name=source_name)
    if plan.ok:
        apply_grid(store, plan, user=user)
    return plan


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
        For ``searches``: the ``days`` full days up to ``until`` (default yesterday,
        Asia/Shanghai).
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
        Unknown source.
    locator.errors.Conflict
        ``uploaded`` when no grid is in use.
    """
    demand = default_source(store) if demand is None else demand
    if demand not in DEMAND_SOURCES:
        raise BadRequest(f"未知的需求来源 {demand!r}（可选 {', '.join(DEMAND_SOURCES)}）。",
                         code="bad_parameter")
    if demand == "population":
        return engine
    key, build = _source(demand, store, days, until, min_shown)
    with _ENGINES_LOCK:
        cached = _ENGINES.setdefault(engine, {})
        if key in cached:
            return cached[key]
    from locator.coverage.engine import CoverageEngine

    other = CoverageEngine(engine.sites, engine.regions, version=engine.version,
                           demand=build(engine.grid), areas_from=engine)
    with _ENGINES_LOCK:
        return _ENGINES.setdefault(engine, {}).setdefault(key, other)


def _source(demand: str, store, days: int, until: dt.date | None, min_shown: int):
    """(cache key, grid builder) of the ``uploaded`` or ``searches`` demand."""
    if demand == "uploaded":
        upload = current_upload(store)
        if upload is None:
            raise Conflict("还没有上传人口网格（或已停用）。", code="no_uploaded_grid",
                           message_en="No population grid has been uploaded (or it was "
                           "withdrawn).")
        return ("uploaded", upload["id"]), lambda grid: _uploaded_grid(grid, store, upload)
    first, last = search_window(days, until)
    return (("searches", first, last, min_shown),
            lambda grid: _searches_grid(grid, store, first, last, min_shown))


def _population_on(grid, cells: pd.Series, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights of H3 res-8 hex cells put on the grid's cells; and the weight outside."""
    ids = np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64)
    population = np.zeros(len(grid))
    outside = grid.add_weights(population, ids, weights)
    return population, outside


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
