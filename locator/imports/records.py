"""The station record as history keeps it, and the writes every change of a site shares.

An import (:mod:`~locator.imports.batches`) and a staff edit (:mod:`locator.editing`)
change sites the same way: a site's record before and after is
:func:`station_record` (JSON-ready, so that an undo can compare it with the stored
history), new ids come from :func:`allocate_ids`, and every change adds
:class:`~locator.store.models.StationHistory` rows with :func:`write_history`, in the
change's own transaction. :func:`same_value` decides whether a field changed, and a
site's position (:data:`POSITION_FIELDS`) changes only when its WGS-84 point moved.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import insert, select

from locator.store.models import IdCounter, Station, StationHistory

__all__ = [
    "COMPARED",
    "EMPTY_RECORD",
    "INSERT_CHUNK",
    "NEW_SITE_DEFAULTS",
    "POSITION_FIELDS",
    "QUERY_CHUNK",
    "allocate_ids",
    "load_stations",
    "record_value",
    "record_values",
    "same_value",
    "station_record",
    "write_history",
]

#: Fields compared to decide whether a row changes an existing site.
COMPARED = ("kind", "name", "address", "services", "opening_hours", "host", "phone",
            "status", "lon", "lat")
#: A site's position: the WGS-84 point (``lon``, ``lat``), the coordinates as typed
#: (``source_*``) and the district and county derived from the point. They are written
#: together, and only when the WGS-84 point moved (see :func:`same_value`).
POSITION_FIELDS = ("lon", "lat", "source_lon", "source_lat", "source_datum",
                   "district_code", "district_name", "county_code", "county_name")
#: The values of a new site's fields that neither the file nor the form gives.
NEW_SITE_DEFAULTS = {"kind": "station", "address": "", "services": [], "opening_hours": "",
                     "host": "", "phone": "", "status": "active"}
#: Every column of a station, empty (the base of a new site's row).
EMPTY_RECORD = {c.name: None for c in Station.__table__.columns}
#: Ids per ``IN (...)`` query.
QUERY_CHUNK = 500
#: Rows per bulk insert.
INSERT_CHUNK = 1000
_ID_PATTERN = re.compile(r"^HB(\d{6})-(\d+)$")


def record_value(value: Any) -> Any:
    """One column's value as history stores it.

    Parameters
    ----------
    value : Any
        A :class:`~locator.store.models.Station` attribute.

    Returns
    -------
    Any
        An aware datetime as ISO 8601 in UTC, a date as ISO 8601, a list copied;
        anything else as it is.

    Notes
    -----
    Unlike :func:`locator.jsonio.plain`, datetimes are converted to UTC first, so that a
    record read back from the store compares equal to the one written.

    Examples
    --------
    >>> record_value(dt.datetime(2026, 5, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    '2026-05-01T00:00:00+00:00'
    """
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def station_record(station: Station) -> dict[str, Any]:
    """A site as a JSON-ready dict of every column (history's before/after).

    Parameters
    ----------
    station : locator.store.models.Station

    Returns
    -------
    dict
        Column name → :func:`record_value`; ``lon``/``lat`` are WGS-84 degrees.
    """
    return {c.name: record_value(getattr(station, c.key)) for c in Station.__table__.columns}


def record_values(record: dict[str, Any]) -> dict[str, Any]:
    """The column values of a history record, as a Station takes them.

    Parameters
    ----------
    record : dict
        From :func:`station_record` (as stored in history).

    Returns
    -------
    dict
        The same columns, with ``reopen_date`` and ``verified_at`` as dates and
        ``updated_at`` as an aware datetime.
    """
    values = dict(record)
    for key in ("reopen_date", "verified_at"):
        if values.get(key):
            values[key] = dt.date.fromisoformat(values[key])
    values["updated_at"] = dt.datetime.fromisoformat(values["updated_at"])
    return values


def same_value(field_name: str, old: Any, new: Any) -> bool:
    """Whether a field keeps its value.

    Parameters
    ----------
    field_name : str
        A record field.
    old, new : Any
        Its value before and after.

    Returns
    -------
    bool
        ``lon``/``lat`` (WGS-84 degrees) are compared at 7 decimals (~1 cm; an old
        ``None`` is never the same), ``services`` as lists, and ``None`` equals ``""``
        elsewhere.

    Examples
    --------
    >>> same_value("lon", 114.51490001, 114.5149), same_value("phone", None, "")
    (True, True)
    >>> same_value("lon", None, 114.5)
    False
    """
    if field_name in ("lon", "lat"):
        return old is not None and round(float(old), 7) == round(float(new), 7)
    if field_name == "services":
        return list(old or []) == list(new or [])
    return (old if old is not None else "") == (new if new is not None else "")


def load_stations(session, ids: set[str]) -> dict[str, Station]:
    """Stations by id, fetched in chunks (one query per :data:`QUERY_CHUNK` ids).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    ids : set of str

    Returns
    -------
    dict of str to Station
        Only the ids that exist.
    """
    found: dict[str, Station] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), QUERY_CHUNK):
        chunk = ordered[start:start + QUERY_CHUNK]
        for station in session.scalars(select(Station).where(Station.id.in_(chunk))):
            found[station.id] = station
    return found


def allocate_ids(session, counties: list[str]) -> list[str]:
    """New site ids ``HB<county code>-<4 digits>``, one per entry of ``counties``, in order.

    Numbers continue from the county's counter (or its highest existing id, whichever is
    larger) and the counters are raised in ``session``, so an id is never handed out
    twice, not even after the site that had it was removed by an undo. Call it inside the
    write transaction that inserts the sites.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open write transaction.
    counties : list of str
        The 6-digit county code of each new site.

    Returns
    -------
    list of str
        The ids, in the order of ``counties``.
    """
    last = _last_numbers(session, set(counties))
    ids = []
    for county in counties:
        last[county] += 1
        ids.append(f"HB{county}-{last[county]:04d}")
    for county in sorted(set(counties)):
        counter = session.get(IdCounter, county)
        if counter is None:
            session.add(IdCounter(county_code=county, last_number=last[county]))
        else:
            counter.last_number = last[county]
    return ids


def _last_numbers(session, counties: set[str]) -> dict[str, int]:
    """The last number used per county: the counter, or the highest existing id."""
    last = {c: 0 for c in counties}
    for counter in session.scalars(select(IdCounter).where(IdCounter.county_code.in_(counties))):
        last[counter.county_code] = counter.last_number
    for county in counties:
        ids = session.scalars(select(Station.id).where(Station.id.like(f"HB{county}-%")))
        for sid in ids:
            m = _ID_PATTERN.match(sid)
            if m and m.group(1) == county:
                last[county] = max(last[county], int(m.group(2)))
    return last


def write_history(session, entries: list[dict[str, Any]], *, batch_id: int | None,
                  now: dt.datetime, user: str) -> None:
    """Insert :class:`~locator.store.models.StationHistory` rows in ``session`` (the
    change's own transaction).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The open write transaction of the change.
    entries : list of dict
        Each with ``station_id``, ``action``, ``before`` and ``after`` (records from
        :func:`station_record`, ``None`` where the site did not exist).
    batch_id : int or None
        The import batch, or ``None`` for a change made by hand.
    now : datetime.datetime
        Aware (UTC): ``changed_at`` of every row.
    user : str
        ``changed_by`` of every row.
    """
    rows = [{**e, "batch_id": batch_id, "changed_at": now, "changed_by": user}
            for e in entries]
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(StationHistory), rows[start:start + INSERT_CHUNK])
