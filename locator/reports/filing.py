"""Problem reports ("信息有误？") from the public station page."""

from __future__ import annotations

import datetime as dt
import unicodedata

from locator.errors import BadRequest, NotFound
from locator.store.models import ProblemReport, Station
from locator.store.store import Store
from locator.vocabulary import REPORT_CATEGORIES

NOTE_MAX = 500


def clean_text(text: str, limit: int) -> str:
    """NFC, no control or format characters (bidi overrides, zero-width), trimmed."""
    text = unicodedata.normalize("NFC", text or "")
    kept = "".join(ch for ch in text
                    if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))
    kept = kept.strip()
    if len(kept) > limit:
        raise BadRequest(f"补充说明最多 {limit} 个字。", code="bad_text")
    return kept


def file_report(store: Store, station_id: str, category: str, note: str,
                now: dt.datetime) -> int:
    """Store one report for the station's district queue; returns its id."""
    if category not in REPORT_CATEGORIES:
        raise BadRequest("请选择问题类型。", code="bad_parameter")
    note = clean_text(note, NOTE_MAX)
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
