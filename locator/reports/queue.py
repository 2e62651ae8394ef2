"""The problem-report queue that staff work through, per district.

Reports filed from the public station page (:mod:`locator.reports.filing`) wait here:
district staff see their district's, admins all; each moves new → in progress → resolved
(:data:`~locator.vocabulary.REPORT_STATUSES`) with a resolution note.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from locator.errors import BadRequest, NotFound
from locator.reports.filing import NOTE_MAX, clean_note
from locator.store.models import ProblemReport, Station, User
from locator.store.store import Store
from locator.vocabulary import REPORT_STATUSES

__all__ = ["queue", "update_report"]


def queue(store: Store, user: User, status: str | None = None) -> list[dict]:
    """Reports the user may see (their district, or all for admins), newest first.

    Parameters
    ----------
    store : Store
    user : User
    status : str, optional
        Only reports in this status (one of :data:`~locator.vocabulary.REPORT_STATUSES`).

    Returns
    -------
    list of dict
        ``{"id", "station_id", "station_name", "district_code", "category", "note",
        "status", "resolution_note", "created_at", "updated_at"}`` (aware datetimes).
    """
    with store.read() as s:
        q = (select(ProblemReport, Station.name)
             .join(Station, Station.id == ProblemReport.station_id)
             .order_by(ProblemReport.created_at.desc()))
        if user.role != "admin":
            q = q.where(ProblemReport.district_code == user.district_code)
        if status:
            q = q.where(ProblemReport.status == status)
        return [{"id": r.id, "station_id": r.station_id, "station_name": name,
                 "district_code": r.district_code, "category": r.category, "note": r.note,
                 "status": r.status, "resolution_note": r.resolution_note,
                 "created_at": r.created_at, "updated_at": r.updated_at}
                for r, name in s.execute(q)]


def update_report(store: Store, user: User, report_id: int, status: str,
                  resolution_note: str) -> None:
    """Move a report along (new → in progress → resolved) with a note.

    Parameters
    ----------
    store : Store
    user : User
        District staff may update only their district's reports.
    report_id : int
    status : str
        One of :data:`~locator.vocabulary.REPORT_STATUSES`.
    resolution_note : str
        Cleaned as a note (:func:`~locator.reports.filing.clean_note`).

    Raises
    ------
    BadRequest
        An unknown status, or a note too long.
    NotFound
        No such report, or another district's.
    """
    if status not in REPORT_STATUSES:
        raise BadRequest("状态只能是 new、in_progress 或 resolved。", code="bad_status")
    note = clean_note(resolution_note, NOTE_MAX)
    with store.write() as s:
        report = s.get(ProblemReport, report_id)
        if report is None or not user.can_see(report.district_code):
            raise NotFound("没有这条反馈。", code="report_not_found")
        report.status = status
        report.resolution_note = note
        report.updated_at = dt.datetime.now(dt.UTC)
