"""The staff station list and reading one site, within the user's district.

District staff see only their own district's sites: another district's site is
:class:`~locator.errors.NotFound` (its existence is not revealed). Admins see every site.
Dates are Asia/Shanghai (:func:`today`); ``lon``/``lat`` are WGS-84 degrees.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from locator.errors import BadRequest, NotFound
from locator.geo.hours import TZ
from locator.imports.records import station_record
from locator.store.models import Station, User
from locator.store.store import Store
from locator.vocabulary import KINDS, STATUSES

__all__ = [
    "PAGE_SIZE",
    "STALE_AFTER_DAYS",
    "StationPage",
    "StationRow",
    "can_see",
    "get_station",
    "is_stale",
    "list_stations",
    "search_text",
    "today",
]

#: Rows per page of the station list.
PAGE_SIZE = 50
#: A site last verified longer ago than this (or never) is highlighted in the list.
STALE_AFTER_DAYS = 365


def today() -> dt.date:
    """Today's date in Asia/Shanghai.

    Returns
    -------
    datetime.date
    """
    return dt.datetime.now(TZ).date()


def can_see(user: User, record: dict[str, Any] | None) -> bool:
    """Whether a user may see a site.

    Parameters
    ----------
    user : User
    record : dict or None
        The site's record (its ``district_code``).

    Returns
    -------
    bool
        True for admins and the site's district staff; ``False`` for no record.
    """
    return record is not None and user.can_see(record["district_code"])


def get_station(store: Store, user: User, station_id: str) -> dict[str, Any]:
    """The site's record (JSON-ready, as in history), if the user may see it.

    Parameters
    ----------
    store : Store
    user : User
    station_id : str

    Returns
    -------
    dict
        :func:`~locator.imports.records.station_record`: every column, ``lon``/``lat``
        in WGS-84 degrees, times as ISO 8601 in UTC.

    Raises
    ------
    NotFound
        No such site, or it belongs to another district than a district user's.
    """
    with store.read() as session:
        station = session.get(Station, station_id)
        record = station_record(station) if station is not None else None
    if not can_see(user, record):
        raise NotFound()
    return record


def is_stale(verified_at: str | dt.date | None, on: dt.date | None = None) -> bool:
    """Whether a site's information is due to be checked again.

    Parameters
    ----------
    verified_at : str, datetime.date or None
        When it was last verified (ISO 8601 date as records hold it).
    on : datetime.date, optional
        "Today" (default: today in Asia/Shanghai).

    Returns
    -------
    bool
        True when never verified, or last verified more than :data:`STALE_AFTER_DAYS`
        days before ``on``.

    Examples
    --------
    >>> is_stale("2025-01-01", dt.date(2026, 5, 1)), is_stale(None)
    (True, True)
    """
    if not verified_at:
        return True
    if isinstance(verified_at, str):
        verified_at = dt.date.fromisoformat(verified_at)
    return (on or today()) - verified_at > dt.timedelta(days=STALE_AFTER_DAYS)


@dataclass(frozen=True)
class StationRow:
    """One line of the station list.

    Attributes
    ----------
    id, name, kind, district_code, district_name, county_name, status : str
        As in the site's record.
    reopen_date, verified_at : datetime.date or None
    stale : bool
        See :func:`is_stale`.
    """

    id: str
    name: str
    kind: str
    district_code: str
    district_name: str
    county_name: str
    status: str
    reopen_date: dt.date | None
    verified_at: dt.date | None
    stale: bool


@dataclass(frozen=True)
class StationPage:
    """One page of the station list.

    Attributes
    ----------
    rows : list of StationRow
    total : int
        Matching sites on every page.
    page, pages : int
        This page (from 1) and how many there are.
    page_size : int
    """

    rows: list[StationRow]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE


def _like(text: str) -> str:
    """A ``LIKE`` pattern (escape ``\\``) matching ``text`` anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_text(q: str) -> str:
    """The search box's text as it is matched.

    Parameters
    ----------
    q : str

    Returns
    -------
    str
        NFC, whitespace runs as one space, trimmed.

    Examples
    --------
    >>> search_text("  石家庄\\u3000 驿站 ")
    '石家庄 驿站'
    """
    return " ".join(unicodedata.normalize("NFC", q or "").split())


def list_stations(store: Store, user: User, *, q: str = "", district: str | None = None,
                  kind: str | None = None, status: str | None = None, stale: bool = False,
                  page: int = 1, on: dt.date | None = None) -> StationPage:
    """The sites a user may see that match the filters, in id order, one page.

    Parameters
    ----------
    store : Store
    user : User
        District staff see only their district's sites.
    q : str
        Matched as a substring of the name, address, id or host, ignoring case (the
        database's ``lower()``: ASCII letters on SQLite, all letters on PostgreSQL);
        Chinese works as typed. See :func:`search_text`.
    district : str, optional
        A district code; ignored for district staff, who always get their own.
    kind, status : str, optional
        One of :data:`~locator.vocabulary.KINDS` / :data:`~locator.vocabulary.STATUSES`.
    stale : bool
        Only sites never verified, or last verified more than :data:`STALE_AFTER_DAYS`
        days before ``on``.
    page : int
        From 1; clamped to the pages there are.
    on : datetime.date, optional
        "Today" (Asia/Shanghai) for the staleness rule; default :func:`today`.

    Returns
    -------
    StationPage

    Raises
    ------
    BadRequest
        An unknown kind or status.
    """
    on = on or today()
    where = _filters(user, q=q, district=district, kind=kind, status=status,
                     stale_before=on - dt.timedelta(days=STALE_AFTER_DAYS) if stale else None)
    with store.read() as session, session.begin():
        total = session.scalar(select(func.count()).select_from(Station).where(*where)) or 0
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, page), pages)
        result = session.execute(
            select(Station.id, Station.name, Station.kind, Station.district_code,
                   Station.district_name, Station.county_name, Station.status,
                   Station.reopen_date, Station.verified_at)
            .where(*where).order_by(Station.id)
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    rows = [StationRow(*r, stale=is_stale(r.verified_at, on)) for r in result]
    return StationPage(rows, int(total), page, pages)


def _filters(user: User, *, q: str, district: str | None, kind: str | None,
             status: str | None, stale_before: dt.date | None) -> list:
    """The ``WHERE`` clauses of :func:`list_stations` (see there)."""
    if kind and kind not in KINDS:
        raise BadRequest("类型只能是 station 或 mother_room。", code="bad_kind")
    if status and status not in STATUSES:
        raise BadRequest("状态只能是 active、temporarily_closed 或 removed。", code="bad_status")
    where = []
    if user.role != "admin":
        district = user.district_code
    if district:
        where.append(Station.district_code == district)
    if kind:
        where.append(Station.kind == kind)
    if status:
        where.append(Station.status == status)
    if stale_before is not None:
        where.append(or_(Station.verified_at.is_(None), Station.verified_at < stale_before))
    text = search_text(q)
    if text:
        pattern = func.lower(_like(text))
        where.append(or_(*(func.lower(column).like(pattern, escape="\\")
                           for column in (Station.name, Station.address, Station.id,
                                          Station.host))))
    return where
