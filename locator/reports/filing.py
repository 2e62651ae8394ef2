"""Filing a problem report ("信息有误？") from the public station page.

A visitor picks a category (:data:`~locator.vocabulary.REPORT_CATEGORIES`) and may add a
note; the report goes to the queue of the station's district
(:mod:`locator.reports.queue`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from locator.errors import BadRequest, NotFound
from locator.store.models import ProblemReport, Station
from locator.store.store import Store
from locator.vocabulary import REPORT_CATEGORIES

__all__ = ["NOTE_MAX", "clean_note", "file_report"]

#: Longest note (a visitor's, or staff's resolution note), in characters.
NOTE_MAX = 500


def clean_note(text: str, limit: int) -> str:
    """A free-text note as stored: NFC, without control or format characters (bidi
    overrides, zero-width) but line breaks and tabs, trimmed.

    Unlike an import cell (:func:`locator.imports.cells.clean_text`), bad characters are
    dropped rather than refused, and line breaks are kept.

    Parameters
    ----------
    text : str
    limit : int
        Most characters after cleaning.

    Returns
    -------
    str

    Raises
    ------
    BadRequest
        ``bad_text``: longer than ``limit``.

    Examples
    --------
    >>> clean_note("  水龙头坏了\\u202e\\n请修理 ", 500)
    '水龙头坏了\\n请修理'
    """
    text = unicodedata.normalize("NFC", text or "")
    kept = "".join(ch for ch in text
                    if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))
    kept = kept.strip()
    if len(kept) > limit:
        raise BadRequest(f"补充说明最多 {limit} 个字。", code="bad_text")
    return kept


def file_report(store: Store, station_id: str, category: str, note: str,
                now: dt.datetime) -> int:
    """Store one report for the station's district queue.

    Parameters
    ----------
    store : Store
    station_id : str
        A site on the public map (not removed).
    category : str
        One of :data:`~locator.vocabulary.REPORT_CATEGORIES`.
    note : str
        The visitor's note (:func:`clean_note`, at most :data:`NOTE_MAX` characters).
    now : datetime.datetime
        Aware (UTC): ``created_at`` and ``updated_at``.

    Returns
    -------
    int
        The report's id.

    Raises
    ------
    BadRequest
        An unknown category, or a note too long.
    NotFound
        No such site, or it was removed.
    """
    if category not in REPORT_CATEGORIES:
        raise BadRequest("请选择问题类型。", code="bad_parameter")
    note = clean_note(note, NOTE_MAX)
    with store.write() as session:
        station = session.get(Station, station_id)
        if station is None or station.status == "removed":
            raise NotFound("没有找到这个站点（可能已撤销）。", code="station_not_found")
        report = ProblemReport(station_id=station_id, district_code=station.district_code,
                               category=category, note=note, status="new",
                               resolution_note="", created_at=now, updated_at=now)
        session.add(report)
        session.flush()
        return report.id
