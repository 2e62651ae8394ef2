"""A site's history: every recorded change (imports, undos, edits, status changes,
stamps), field by field, newest first.

The rows are :class:`~locator.store.models.StationHistory`, written by the import
(:mod:`locator.imports.batches`) and by the edits (:mod:`locator.editing.stations`) with
the site's record before and after (:func:`~locator.imports.records.station_record`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from locator.editing.listing import can_see
from locator.errors import NotFound
from locator.imports.records import station_record
from locator.store.models import Station, StationHistory, User
from locator.store.store import Store

__all__ = ["ACTIONS", "HISTORY_FIELDS", "Change", "HistoryEntry", "station_history"]

#: Every history action: the import's (``create``, ``update``, ``undo``) and the edits'.
ACTIONS = ("create", "update", "undo", "edit", "close", "remove", "reopen", "verify")
#: The fields the history page compares, in display order.
HISTORY_FIELDS = (
    "name", "kind", "address", "lon", "lat", "district_name", "county_name", "services",
    "opening_hours", "host", "phone", "status", "reopen_date", "status_reason", "verified_at",
    "source_lon", "source_lat", "source_datum", "synthetic",
)


@dataclass(frozen=True)
class Change:
    """One field of one history entry.

    Attributes
    ----------
    field : str
        One of :data:`HISTORY_FIELDS`.
    old, new : Any
        The value before and after, as records hold them (dates as ISO strings,
        ``services`` as codes, ``lon``/``lat`` in WGS-84 degrees); ``None`` = empty or
        did not exist.
    """

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change of a site, field by field.

    Attributes
    ----------
    id : int
        The history row's id.
    changed_at : datetime.datetime
        Aware, UTC.
    changed_by : str
    action : str
        One of :data:`ACTIONS`.
    batch_id : int or None
        The import batch, or ``None`` for a change made by hand.
    changes : list of Change
        The fields of :data:`HISTORY_FIELDS` that changed, in that order.
    """
    id: int
    changed_at: dt.datetime  # aware, UTC
    changed_by: str
    action: str
    batch_id: int | None
    changes: list[Change]


def _empty(value: Any) -> bool:
    """``None``, ``""`` and ``[]`` all mean an empty field."""
    return value is None or value == "" or value == []


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The fields of :data:`HISTORY_FIELDS` that differ between two records (degrees
    compared at 7 decimals; empty values alike)."""
    old, new = before or {}, after or {}
    out = []
    for f in HISTORY_FIELDS:
        a, b = old.get(f), new.get(f)
        if f == "synthetic":  # absent (no record) and False both mean "not synthetic"
            a, b = bool(a), bool(b)
            if a == b:
                continue
        if _empty(a) and _empty(b):
            continue
        if f in ("lon", "lat", "source_lon", "source_lat") and a is not None and b is not None:
            if round(float(a), 7) == round(float(b), 7):
                continue
        elif a == b:
            continue
        out.append(Change(f, None if _empty(a) else a, None if _empty(b) else b))
    return out


def station_history(store: Store, user: User, station_id: str
                    ) -> tuple[dict[str, Any] | None, list[HistoryEntry]]:
    """Every recorded change of a site, newest first, field by field.

    Imports (with their ``batch_id``), undos, edits, status changes and stamps. Works for
    a site that no longer exists (an undone import's); district staff see only their
    district's sites (by the latest record).

    Parameters
    ----------
    store : Store
    user : User
    station_id : str

    Returns
    -------
    (record, entries)
        The site's current record (``None`` if it no longer exists) and the entries.

    Raises
    ------
    NotFound
        No site and no history under that id, or another district's.
    """
    with store.read() as session:
        station = session.get(Station, station_id)
        record = station_record(station) if station is not None else None
        rows = session.scalars(select(StationHistory)
                               .where(StationHistory.station_id == station_id)
                               .order_by(StationHistory.id.desc())).all()
    latest = record or next((r.after or r.before for r in rows if (r.after or r.before)), None)
    if not can_see(user, latest):
        raise NotFound()
    entries = [HistoryEntry(r.id, r.changed_at, r.changed_by, r.action, r.batch_id,
                            _diff(r.before, r.after)) for r in rows]
    return record, entries
