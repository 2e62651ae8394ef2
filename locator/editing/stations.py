"""Edit sites one at a time: the staff 站点管理 list, form, status, stamp and history.

No Flask here: a view parses the request, calls one function of this package and renders
what it returns. ``user`` is always a :class:`~locator.store.models.User`. This module
holds the writes (save, create, status, stamp); the form and its checks are in
:mod:`~locator.editing.form`, the list and reading a site in
:mod:`~locator.editing.listing`, the history in :mod:`~locator.editing.history`. Their
public names are importable here too.

* **Same rules as the import.** The form is validated by the import's own
  :func:`~locator.imports.validate.validate_table`, on a one-row table built from the form:
  the same normalisation (NFC, whitespace, control and invisible characters, lengths,
  service labels, opening hours, coordinates incl. DMS and full-width digits, datum
  conversion to WGS-84 with the typed values kept in ``source_*``, point -> district and
  county, duplicates) and the same messages, in Chinese and English.
* **One transaction per change.** Every write claims the next ``data_version`` first
  (:meth:`Store.write(expected_version=...) <locator.store.store.Store.write>`), which takes
  the write lock and guarantees that nothing changed since the state it was checked
  against (if something did, it is checked again). In that transaction it changes the
  site, sets ``updated_at``/``updated_by`` and adds a
  :class:`~locator.store.models.StationHistory` row (``batch_id`` None) with the record
  before and after. The version bump makes every worker rebuild its index.
* **Optimistic concurrency.** The form carries the site's ``updated_at`` as it was when
  the form was opened (:attr:`StationInput.version`); saving after anyone else changed
  the site is refused with :class:`StaleEdit` and changes nothing.
* **Districts.** District staff see and change only their own district's sites: another
  district's site is :class:`~locator.errors.NotFound` everywhere (its existence is not
  revealed), and a pin moved -- or a site created -- outside their district is a field
  error. Admins may do everything.

Coordinates are WGS-84 lon/lat degrees (EPSG:4326) unless a ``datum`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, or_, select

from locator.editing.form import (
    FieldProblem,
    Invalid,
    MapView,
    StationInput,
    default_view,
    district_problems,
    form_input,
    form_services,
    locate_input,
    map_view,
    validate_input,
)
from locator.editing.history import (
    ACTIONS,
    HISTORY_FIELDS,
    Change,
    HistoryEntry,
    station_history,
)
from locator.editing.listing import (
    PAGE_SIZE,
    STALE_AFTER_DAYS,
    StationPage,
    StationRow,
    get_station,
    is_stale,
    list_stations,
    search_text,
    today,
)
from locator.errors import BadRequest, Conflict, LocatorError, NotFound
from locator.geo.hours import TZ
from locator.imports.records import (
    NEW_SITE_DEFAULTS,
    POSITION_FIELDS,
    allocate_ids,
    same_value,
    station_record,
    write_history,
)
from locator.imports.validate import CellError, clean_text
from locator.store.models import Station, User
from locator.store.store import Store

__all__ = [
    # this module's: the writes
    "EDITABLE",
    "NEARBY_DEG",
    "REASON_MAX",
    "STATUS_ACTIONS",
    "Busy",
    "SaveResult",
    "StaleEdit",
    "change_status",
    "create_station",
    "nearby_sites",
    "save_station",
    "verify_station",
    # form.py's, listing.py's and history.py's, importable here too
    "ACTIONS",
    "HISTORY_FIELDS",
    "PAGE_SIZE",
    "STALE_AFTER_DAYS",
    "Change",
    "FieldProblem",
    "HistoryEntry",
    "Invalid",
    "MapView",
    "StationInput",
    "StationPage",
    "StationRow",
    "default_view",
    "form_input",
    "form_services",
    "get_station",
    "is_stale",
    "list_stations",
    "locate_input",
    "map_view",
    "search_text",
    "station_history",
    "today",
    "validate_input",
]

#: Record fields the form edits (the position is edited through ``lon``/``lat``/``datum``).
EDITABLE = ("kind", "name", "address", "services", "opening_hours", "host", "phone")
#: Status changes: ``close`` (temporarily, with a reopen date), ``remove`` (with a reason)
#: and ``reopen`` (back to active).
STATUS_ACTIONS = ("close", "remove", "reopen")
#: Longest reason of a status change, in characters (after normalisation).
REASON_MAX = 200
_TRIES = 5


# --------------------------------------------------------------------------- errors

class StaleEdit(Conflict):
    """The site changed after the form was opened; nothing was saved."""

    code = "stale_edit"


class Busy(LocatorError):
    """(503) Other writes kept moving the data version: nothing was saved."""

    status = 503
    code = "busy"
    message = "数据正在被其他操作修改，请稍后再试；没有保存任何更改。"
    message_en = "The data is being changed by someone else; try again. Nothing was saved."


# --------------------------------------------------------------------------- checking

#: Sites within this many degrees of a point are the candidates of the duplicate rule
#: (it looks 100 m around; 0.01 degree is over 850 m anywhere in Hebei).
NEARBY_DEG = 0.01


def nearby_sites(store: Store, lon: float, lat: float,
                 station_id: str | None) -> pd.DataFrame:
    """The sites near a point, as the duplicate rule wants them.

    Parameters
    ----------
    store : Store
    lon, lat : float
        WGS-84 degrees.
    station_id : str or None
        The edited site, always included (it is not its own duplicate).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``kind``, ``name``, ``lon``, ``lat`` (WGS-84 degrees) and ``status`` of
        every site within :data:`NEARBY_DEG` degrees of the point.
    """
    columns = [Station.id, Station.kind, Station.name, Station.lon, Station.lat,
               Station.status]
    near = and_(Station.lon.between(lon - NEARBY_DEG, lon + NEARBY_DEG),
                Station.lat.between(lat - NEARBY_DEG, lat + NEARBY_DEG))
    with store.read() as session:
        rows = session.execute(select(*columns).where(
            or_(near, Station.id == station_id) if station_id else near)).all()
    return pd.DataFrame(rows, columns=["id", "kind", "name", "lon", "lat", "status"])


def _check_against_store(store: Store, inp: StationInput, *, regions,
                         station_id: str | None) -> tuple[dict[str, Any], list[FieldProblem]]:
    """:func:`validate_input` with the duplicate rule against the sites near the point."""
    values, problems = validate_input(inp, regions=regions)
    if "lon" in values:
        existing = nearby_sites(store, values["lon"], values["lat"], station_id)
        values, problems = validate_input(inp, regions=regions, existing=existing,
                                          station_id=station_id)
    return values, problems


# --------------------------------------------------------------------------- writing

@contextmanager
def _claimed(store: Store, version: int) -> Iterator[Any]:
    """A write transaction that first claims ``version + 1``; :class:`_Retry` when the
    version moved (someone wrote since ``version`` was read)."""
    stack = ExitStack()
    try:
        session = stack.enter_context(store.write(expected_version=version))
    except Conflict:
        raise _Retry() from None
    with stack:
        yield session


class _Retry(Exception):
    """The data version moved between reading and claiming it: check again."""


def _load(session, user: User, station_id: str) -> Station:
    """The site in the write transaction, if ``user`` may see it."""
    station = session.get(Station, station_id)
    if station is None or not user.can_see(station.district_code):
        raise NotFound()
    return station


def _check_version(record: dict[str, Any], version: str) -> None:
    """:class:`StaleEdit` unless ``version`` is the record's ``updated_at``."""
    if version == record["updated_at"]:
        return
    when = dt.datetime.fromisoformat(record["updated_at"]).astimezone(TZ)
    by = record["updated_by"] or "?"
    raise StaleEdit(
        f"没有保存：站点 {record['id']} 在你打开这个页面之后，已由 {by} 于 "
        f"{when:%Y-%m-%d %H:%M} 修改过。你填写的内容还在下面，但没有保存；请打开最新版本"
        "（可先在「修改历史」中查看改了什么），核对后再修改。",
        message_en=f"Not saved: site {record['id']} was changed by {by} at "
                   f"{when:%Y-%m-%d %H:%M} (China time) after you opened this page. What you "
                   "typed is still below but was not saved; open the latest version (its "
                   "history shows what changed), check it and make your change again.",
    )


def _touch(station: Station, user: User, now: dt.datetime) -> None:
    """Set ``updated_at`` (strictly later than before, so the version token always
    changes) and ``updated_by``."""
    previous = station.updated_at
    station.updated_at = max(now, previous + dt.timedelta(microseconds=1)) if previous else now
    station.updated_by = (user.username or "")[:80]


def _now(now: dt.datetime | None) -> dt.datetime:
    """``now``, or the current time (aware, UTC)."""
    return now or dt.datetime.now(dt.UTC)


def _changes(record: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The fields ``values`` changes in ``record``; the position (with ``source_*``, the
    district and county) only when the WGS-84 point moved, as in the import."""
    changed = {f: values[f] for f in EDITABLE if f in values and not same_value(f, record[f],
                                                                          values[f])}
    moved = not (same_value("lon", record["lon"], values["lon"])
                 and same_value("lat", record["lat"], values["lat"]))
    if moved:
        changed.update({f: values[f] for f in POSITION_FIELDS
                        if not same_value(f, record[f], values[f])})
    return changed


@dataclass(frozen=True)
class SaveResult:
    """What a save did.

    Attributes
    ----------
    id : str
        The site.
    changed : tuple of str
        The fields it changed (empty: nothing to do, nothing written).
    """

    id: str
    changed: tuple[str, ...]


def save_station(store: Store, user: User, station_id: str, inp: StationInput, *, regions,
                 now: dt.datetime | None = None) -> SaveResult:
    """Save the edit form of a site, in one transaction with its history row.

    Parameters
    ----------
    store : Store
    user : User
        Recorded as ``updated_by``; district staff may edit only their district's sites.
    station_id : str
    inp : StationInput
        The form as posted; ``lon``/``lat`` in ``inp.datum``, stored as WGS-84.
    regions : locator.geo.regions.Regions
    now : datetime.datetime, optional
        Aware (UTC); default: now.

    Returns
    -------
    SaveResult
        ``changed`` is empty (and nothing was written) when the form changes nothing.

    Raises
    ------
    NotFound
        No such site, or another district's (district staff).
    Invalid
        The form has problems (the import's rules), or moves the site out of a district
        user's district. Nothing is saved.
    StaleEdit
        The site changed since ``inp.version``. Nothing is saved.
    """
    now = _now(now)
    for _ in range(_TRIES):
        version = store.data_version()  # first: a write after this makes the claim fail
        record = get_station(store, user, station_id)
        _check_version(record, inp.version)
        values, problems = _check_against_store(store, inp, regions=regions,
                                                station_id=station_id)
        problems += district_problems(user, values, regions)
        if problems:
            raise Invalid(problems)
        changes = _changes(record, values)
        if not changes:
            return SaveResult(station_id, ())
        try:
            with _claimed(store, version) as session:
                station = _load(session, user, station_id)
                before = station_record(station)
                _check_version(before, inp.version)
                for key, value in changes.items():
                    setattr(station, key, value)
                station.synthetic = False  # as the import: edited content is real data
                _touch(station, user, now)
                session.flush()
                write_history(session, [{"station_id": station_id, "action": "edit",
                                         "before": before, "after": station_record(station)}],
                              batch_id=None, now=now, user=station.updated_by)
            return SaveResult(station_id, tuple(changes))
        except _Retry:
            continue
    raise Busy()


def create_station(store: Store, user: User, inp: StationInput, *, regions,
                   now: dt.datetime | None = None) -> str:
    """Create a site from the form.

    The id comes from the county's counter, as in the import, and is never reused. The
    site is ``active`` and not yet verified.

    Parameters
    ----------
    store : Store
    user : User
        Recorded as ``updated_by``; district staff may create only in their district.
    inp : StationInput
        ``lon``/``lat`` in ``inp.datum``, stored as WGS-84.
    regions : locator.geo.regions.Regions
    now : datetime.datetime, optional
        Aware (UTC); default: now.

    Returns
    -------
    str
        The new id ``HB<county code>-<4 digits>``.

    Raises
    ------
    Invalid
        The form has problems, or the point is outside a district user's district.
    """
    now = _now(now)
    for _ in range(_TRIES):
        version = store.data_version()
        values, problems = _check_against_store(store, inp, regions=regions, station_id=None)
        problems += district_problems(user, values, regions)
        if problems:
            raise Invalid(problems)
        try:
            with _claimed(store, version) as session:
                [new_id] = allocate_ids(session, [values["county_code"]])
                station = Station(**{**NEW_SITE_DEFAULTS, **values, "id": new_id,
                                     "status": "active", "reopen_date": None,
                                     "status_reason": None, "verified_at": None,
                                     "synthetic": False})
                _touch(station, user, now)
                session.add(station)
                session.flush()
                write_history(session, [{"station_id": new_id, "action": "create",
                                         "before": None, "after": station_record(station)}],
                              batch_id=None, now=now, user=station.updated_by)
            return new_id
        except _Retry:
            continue
    raise Busy()


def _update(store: Store, user: User, station_id: str, version: str, action: str,
            change, now: dt.datetime) -> dict[str, Any]:
    """Apply ``change(station)`` in one transaction with a history row; the new record."""
    for _ in range(_TRIES):
        data_version = store.data_version()
        _check_version(get_station(store, user, station_id), version)
        try:
            with _claimed(store, data_version) as session:
                station = _load(session, user, station_id)
                before = station_record(station)
                _check_version(before, version)
                change(station)
                _touch(station, user, now)
                session.flush()
                after = station_record(station)
                write_history(session, [{"station_id": station_id, "action": action,
                                         "before": before, "after": after}],
                              batch_id=None, now=now, user=station.updated_by)
            return after
        except _Retry:
            continue
    raise Busy()


def _reason(text: str, *, required: bool, label: tuple[str, str]) -> str | None:
    """A status change's reason, cleaned as import text (``None`` when empty)."""
    try:
        return clean_text(text, max_length=REASON_MAX, label=label, required=required) or None
    except CellError as e:
        raise Invalid([FieldProblem("reason", e.code or "bad_text", e.zh, e.en)]) from None


def _reopen_date(text: str, on: dt.date) -> dt.date:
    """The reopen date of a temporary closure: ISO 8601, required, not before ``on``."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        raise Invalid([FieldProblem("reopen_date", "required", "请填写预计恢复开放的日期",
                                    "give the date the site is expected to reopen")])
    try:
        date = dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid([FieldProblem(
            "reopen_date", "bad_value", f"日期「{raw[:20]}」无法识别，请写成 2026-05-01 这样",
            f"date {raw[:20]!r} not understood; write it as 2026-05-01")]) from None
    if date < on:
        raise Invalid([FieldProblem(
            "reopen_date", "past_date", f"恢复开放日期不能早于今天（{on.isoformat()}）",
            f"the reopen date cannot be before today ({on.isoformat()})")])
    return date


def change_status(store: Store, user: User, station_id: str, action: str, *, version: str,
                  reopen_date: str = "", reason: str = "", on: dt.date | None = None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """Close a site temporarily, remove it, or reopen it.

    Parameters
    ----------
    store : Store
    user : User
    station_id : str
    action : str
        ``close``: ``temporarily_closed`` until ``reopen_date`` (ISO 8601 date, required,
        not before ``on``), with an optional ``reason``. ``remove``: ``removed`` with a
        ``reason`` (required); the site leaves the public map and API. ``reopen``:
        ``active`` again (reopen date and reason cleared).
    version : str
        The site's ``updated_at`` as the page showed it.
    reopen_date, reason : str
        As typed.
    on : datetime.date, optional
        Today in Asia/Shanghai (default :func:`today`).
    now : datetime.datetime, optional
        Aware (UTC); default: now.

    Returns
    -------
    dict
        The site's new record (:func:`~locator.imports.records.station_record`).

    Raises
    ------
    BadRequest
        An unknown action.
    NotFound, Invalid, StaleEdit
        As :func:`save_station`; ``Invalid`` problems are on ``reopen_date`` or ``reason``.
    """
    if action not in STATUS_ACTIONS:
        raise BadRequest("未知的状态操作。", code="bad_action")
    on = on or today()
    if action == "close":
        date = _reopen_date(reopen_date, on)
        why = _reason(reason, required=False, label=("暂停原因", "reason"))
        values = {"status": "temporarily_closed", "reopen_date": date, "status_reason": why}
    elif action == "remove":
        why = _reason(reason, required=True, label=("撤销原因", "reason for removal"))
        values = {"status": "removed", "reopen_date": None, "status_reason": why}
    else:
        values = {"status": "active", "reopen_date": None, "status_reason": None}

    def change(station: Station) -> None:
        for key, value in values.items():
            setattr(station, key, value)

    return _update(store, user, station_id, version, action, change, _now(now))


def verify_station(store: Store, user: User, station_id: str, *, version: str,
                   on: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """"仍然正确": stamp a site as verified today.

    Sets ``verified_at`` and changes nothing else but ``updated_at``/``updated_by``;
    recorded in history as ``verify``.

    Parameters
    ----------
    store : Store
    user : User
    station_id : str
    version : str
        The site's ``updated_at`` as the page showed it.
    on : datetime.date, optional
        Today in Asia/Shanghai (default :func:`today`).
    now : datetime.datetime, optional
        Aware (UTC); default: now.

    Returns
    -------
    dict
        The site's new record.

    Raises
    ------
    NotFound, StaleEdit
        As :func:`save_station`.
    """
    on = on or today()

    def change(station: Station) -> None:
        station.verified_at = on

    return _update(store, user, station_id, version, "verify", change, _now(now))


