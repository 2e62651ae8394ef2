"""An import batch's life after its plan: apply it, undo it, list and show batches.

* :func:`apply_import` writes exactly a :class:`~locator.imports.plan.ImportPlan` in one
  transaction, refused with :class:`~locator.errors.Conflict` when the ``data_version``
  moved since the plan, or with :class:`ImportHasProblems` when the plan has problems.
  New sites get ids ``HB<county code>-<4 digits>`` from a per-county counter that never
  decreases (:func:`~locator.imports.records.allocate_ids`). The import is recorded as an
  :class:`~locator.store.models.ImportBatch`, and every site it touched gets a
  :class:`~locator.store.models.StationHistory` entry with who, when, before and after.
* :func:`undo_import` restores every site of a batch to its "before" record (deleting the
  sites it created) in one transaction, refused when a later change touched one of them
  (unless that change was itself undone) -- the message names the sites and the change.
* :func:`list_batches` and :func:`batch_detail` show them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, or_, select

from locator.errors import Conflict, LocatorError, NotFound
from locator.imports.records import (
    COMPARED,
    EMPTY_RECORD,
    INSERT_CHUNK,
    NEW_SITE_DEFAULTS,
    POSITION_FIELDS,
    QUERY_CHUNK,
    allocate_ids,
    load_stations,
    record_value,
    record_values,
    same_value,
    station_record,
    write_history,
)
from locator.store.models import ImportBatch, Station, StationHistory
from locator.store.store import Store

if TYPE_CHECKING:
    from locator.imports.plan import ImportPlan, PlannedRow

__all__ = ["ImportHasProblems", "UndoResult", "apply_import", "batch_detail", "list_batches",
           "undo_import"]


# --------------------------------------------------------------------------- apply

class ImportHasProblems(LocatorError):
    """(422) The plan has problems: nothing is imported."""

    status = 422
    code = "import_has_problems"
    message = "文件中有问题，没有导入任何站点；请改正后重新上传。"
    message_en = "The file has problems; nothing was imported. Fix them and upload again."


def apply_import(store: Store, plan: ImportPlan, *, user: str) -> int | None:
    """Write exactly ``plan`` in one transaction; returns the batch id.

    Parameters
    ----------
    store : Store
    plan : ImportPlan
        From :func:`~locator.imports.plan.plan_import`.
    user : str
        Recorded as ``updated_by`` and in the history (at most 80 characters).

    Returns
    -------
    int or None
        The new batch's id; ``None`` (and nothing written) when the plan neither adds
        nor changes a site.

    Raises
    ------
    ImportHasProblems
        The plan has problems: nothing is imported.
    Conflict
        The store's ``data_version`` is no longer the plan's.
    """
    if not plan.ok:
        raise ImportHasProblems()
    todo = [r for r in plan.planned if r.action in ("new", "changed")]
    if not todo:
        return None
    now = dt.datetime.now(dt.UTC)
    user = (user or "")[:80]
    with store.write(expected_version=plan.data_version) as session:
        batch = _new_batch(plan, todo, now, user)
        session.add(batch)
        session.flush()
        history = _insert_new(session, [r for r in todo if r.action == "new"], now, user)
        history += _update_changed(session, [r for r in todo if r.action == "changed"],
                                   now, user)
        session.flush()
        write_history(session, history, batch_id=batch.id, now=now, user=user)
        return batch.id


def _new_batch(plan: ImportPlan, todo: list[PlannedRow], now: dt.datetime,
               user: str) -> ImportBatch:
    """The batch record; its district is the one district every touched site lies in
    (before and after), if there is one."""
    districts = ({r.values["district_code"] for r in todo}
                 | {r.before["district_code"] for r in todo if r.before})
    return ImportBatch(
        created_at=now, created_by=user, source_name=plan.source_name,
        source_sha256=plan.sha256, source_format=plan.format or "", datum=plan.datum,
        rows=plan.rows, new=plan.counts["new"], changed=plan.counts["changed"],
        unchanged=plan.counts["unchanged"], data_version=plan.data_version + 1,
        district_code=districts.pop() if len(districts) == 1 else None,
    )


def _insert_new(session, rows: list[PlannedRow], now: dt.datetime, user: str
                ) -> list[dict[str, Any]]:
    """Insert the new sites (ids from the per-county counters, bulk inserts); their
    history entries."""
    new_ids = allocate_ids(session, [r.values["county_code"] for r in rows])
    inserted, history = [], []
    for row, new_id in zip(rows, new_ids, strict=True):
        record = {**EMPTY_RECORD, **NEW_SITE_DEFAULTS, **row.values,
                  "id": new_id, "updated_at": now,
                  "updated_by": user, "synthetic": False}
        inserted.append(record)
        history.append({"station_id": record["id"], "action": "create", "before": None,
                        "after": {k: record_value(v) for k, v in record.items()}})
    for start in range(0, len(inserted), INSERT_CHUNK):
        session.execute(insert(Station), inserted[start:start + INSERT_CHUNK])
    return history


def _update_changed(session, rows: list[PlannedRow], now: dt.datetime, user: str
                    ) -> list[dict[str, Any]]:
    """Update the changed sites in place (the position only when the WGS-84 point
    moved); their history entries."""
    stations = load_stations(session, {r.id for r in rows})
    history = []
    for row in rows:
        station = stations[row.id]
        before = station_record(station)
        moved = not (same_value("lon", station.lon, row.values["lon"])
                     and same_value("lat", station.lat, row.values["lat"]))
        for key, value in row.values.items():
            if key in POSITION_FIELDS and not moved:
                continue
            setattr(station, key, value)
        station.updated_at, station.updated_by, station.synthetic = now, user, False
        history.append({"station_id": row.id, "action": "update", "before": before,
                        "after": station_record(station)})
    return history


# --------------------------------------------------------------------------- undo

@dataclass(frozen=True)
class UndoResult:
    """What an undo did.

    Attributes
    ----------
    batch_id : int
    restored : int
        Sites put back as they were before the batch.
    removed : int
        Sites the batch had created, now deleted.
    """

    batch_id: int
    restored: int
    removed: int


def undo_import(store: Store, batch_id: int, *, user: str,
                district_code: str | None = None) -> UndoResult:
    """Restore every site of a batch to its state before the import, in one transaction.

    Parameters
    ----------
    store : Store
    batch_id : int
    user : str
        Recorded in the history and as ``undone_by`` (at most 80 characters).
    district_code : str, optional
        For a district staff account: only a batch whose sites all lie in that district
        (``ImportBatch.district_code``) may be undone; any other batch is reported as not
        found.

    Returns
    -------
    UndoResult

    Raises
    ------
    NotFound
        No such batch (or not one of ``district_code``).
    Conflict
        The batch was already undone, or a later change touched one of its sites (the
        message names them and the change), or the data changed while undoing.
    """
    now = dt.datetime.now(dt.UTC)
    user = (user or "")[:80]
    with store.write(expected_version=store.data_version()) as session:
        batch = _batch_to_undo(session, batch_id, district_code)
        entries = session.scalars(
            select(StationHistory).where(StationHistory.batch_id == batch_id,
                                         StationHistory.action.in_(("create", "update")))
            .order_by(StationHistory.id)
        ).all()
        later_by_station = _later_changes(session, batch_id, entries)
        current = load_stations(session, {e.station_id for e in entries})
        blocked = _blocked(entries, later_by_station, current)
        if blocked:
            zh, en = _blocked_messages(batch_id, blocked)
            raise Conflict(zh, message_en=en)
        removed = _restore(session, entries, current)
        write_history(session, [{"station_id": e.station_id, "action": "undo",
                                  "before": e.after, "after": e.before} for e in entries],
                      batch_id=batch_id, now=now, user=user)
        batch.undone_at, batch.undone_by = now, user
    return UndoResult(batch_id, len(entries) - removed, removed)


def _batch_to_undo(session, batch_id: int, district_code: str | None) -> ImportBatch:
    """The batch, if it exists, is the district's (when one is given) and is not undone."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or (district_code is not None and batch.district_code != district_code):
        raise _no_batch(batch_id)
    if batch.undone_at is not None:
        raise Conflict(
            f"导入批次 {batch_id} 已经在 {batch.undone_at:%Y-%m-%d %H:%M} UTC 由 "
            f"{batch.undone_by} 撤销过了。",
            message_en=f"Import batch {batch_id} was already undone "
                       f"({batch.undone_at:%Y-%m-%d %H:%M} UTC, by {batch.undone_by}).",
        )
    return batch


def _later_changes(session, batch_id: int, entries) -> dict[str, list]:
    """Per site of the batch, the history rows (``id``, ``station_id``, ``batch_id``,
    ``changed_by``, ``changed_at``) written after the batch's first entry by anything but
    this batch or a batch that was itself undone, in order."""
    undone = set(session.scalars(select(ImportBatch.id)
                                 .where(ImportBatch.undone_at.is_not(None))))
    first_entry = min((e.id for e in entries), default=0)
    later_by_station: dict[str, list] = {}
    ordered = sorted({e.station_id for e in entries})
    h = StationHistory
    for start in range(0, len(ordered), QUERY_CHUNK):
        chunk = ordered[start:start + QUERY_CHUNK]
        for later in session.execute(
                select(h.id, h.station_id, h.batch_id, h.changed_by, h.changed_at)
                .where(h.station_id.in_(chunk), h.id > first_entry,
                       or_(h.batch_id.is_(None), h.batch_id != batch_id))
                .order_by(h.id)):
            if later.batch_id not in undone:
                later_by_station.setdefault(later.station_id, []).append(later)
    return later_by_station


def _blocked(entries, later_by_station: dict[str, list], current: dict[str, Station]
             ) -> list[tuple[str, Any]]:
    """``(station id, first later change or None)`` for each site that changed after its
    entry, or whose record is no longer the one the batch wrote."""
    blocked = []
    for entry in entries:
        later = [h for h in later_by_station.get(entry.station_id, ()) if h.id > entry.id]
        station = current.get(entry.station_id)
        record = station_record(station) if station is not None else None
        if later or record != entry.after:
            blocked.append((entry.station_id, later[0] if later else None))
    return blocked


def _restore(session, entries, current: dict[str, Station]) -> int:
    """Delete the sites the batch created and put the others back as they were before
    it; returns how many were deleted."""
    created = [e.station_id for e in entries if e.before is None]
    for sid in created:
        session.expunge(current[sid])  # deleted below with a plain bulk statement
    for start in range(0, len(created), QUERY_CHUNK):
        session.execute(delete(Station).where(Station.id.in_(created[start:start + QUERY_CHUNK]))
                        .execution_options(synchronize_session=False))
    for entry in entries:
        if entry.before is not None:
            station = current[entry.station_id]
            for key, value in record_values(entry.before).items():
                setattr(station, key, value)
    session.flush()
    return len(created)


# --------------------------------------------------------------------------- batches

def _blocked_messages(batch_id: int, blocked) -> tuple[str, str]:
    """Why the undo is refused, in Chinese and English: the sites (up to five) and the
    first later change, with how to unblock it."""
    names = "、".join(sid for sid, _ in blocked[:5]) + ("等" if len(blocked) > 5 else "")
    names_en = ", ".join(sid for sid, _ in blocked[:5]) + (" …" if len(blocked) > 5 else "")
    later = next((h for _, h in blocked if h is not None), None)
    if later is not None and later.batch_id is not None:
        when = f"{later.changed_at:%Y-%m-%d %H:%M} UTC"
        how = f"（导入批次 {later.batch_id}，{later.changed_by}，{when}）"
        how_en = (f" (import batch {later.batch_id} by {later.changed_by}, "
                  f"{later.changed_at:%Y-%m-%d %H:%M} UTC)")
        fix, fix_en = f"请先撤销批次 {later.batch_id}。", f"Undo batch {later.batch_id} first."
    elif later is not None:
        how = f"（{later.changed_by}，{later.changed_at:%Y-%m-%d %H:%M} UTC）"
        how_en = f" (by {later.changed_by}, {later.changed_at:%Y-%m-%d %H:%M} UTC)"
        fix = "请先改回这些站点，或逐个编辑。"
        fix_en = "Revert those edits first, or edit the sites."
    else:
        how, how_en = "", ""
        fix, fix_en = "请逐个编辑这些站点。", "Edit those sites one by one."
    zh = (f"不能撤销导入批次 {batch_id}：站点 {names} 在这次导入之后又被修改过{how}。{fix}"
          "没有做任何更改。")
    en = (f"Cannot undo import batch {batch_id}: the sites {names_en} were changed after it"
          f"{how_en}. {fix_en} Nothing was changed.")
    return zh, en


def _no_batch(batch_id: int) -> NotFound:
    """The "no such batch" error (also for another district's batch)."""
    return NotFound(f"没有编号为 {batch_id} 的导入批次。",
                    message_en=f"There is no import batch {batch_id}.")


def _batch_dict(b: ImportBatch) -> dict[str, Any]:
    """A batch as :func:`list_batches` gives it (times as ISO 8601 in UTC)."""
    return {
        "id": b.id, "created_at": record_value(b.created_at), "created_by": b.created_by,
        "source_name": b.source_name, "format": b.source_format, "datum": b.datum,
        "rows": b.rows, "new": b.new, "changed": b.changed, "unchanged": b.unchanged,
        "undone_at": record_value(b.undone_at) if b.undone_at else None,
        "undone_by": b.undone_by, "district_code": b.district_code,
    }


def list_batches(store: Store, limit: int = 20, *, district_code: str | None = None
                 ) -> list[dict[str, Any]]:
    """The latest import batches, newest first, as JSON-ready dicts.

    Parameters
    ----------
    store : Store
    limit : int
        Most batches returned.
    district_code : str, optional
        Keep only the batches whose sites all lie in that district (what a district staff
        account may see and undo); ``None``: every batch.

    Returns
    -------
    list of dict
        ``{"id", "created_at", "created_by", "source_name", "format", "datum", "rows",
        "new", "changed", "unchanged", "undone_at", "undone_by", "district_code"}``,
        times as ISO 8601 in UTC.
    """
    query = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)
    if district_code is not None:
        query = query.where(ImportBatch.district_code == district_code)
    with store.read() as session:
        batches = session.scalars(query).all()
    return [_batch_dict(b) for b in batches]


def batch_detail(store: Store, batch_id: int, *, district_code: str | None = None,
                 limit: int = 1000) -> dict[str, Any]:
    """One batch (as :func:`list_batches` gives it) and what it did to each site.

    Parameters
    ----------
    store : Store
    batch_id : int
    district_code : str, optional
        For a district staff account: only a batch of that district is shown.
    limit : int
        Most sites listed.

    Returns
    -------
    dict
        The batch's fields, ``sites``: up to ``limit`` entries ``{"station_id", "action"
        ("create" or "update"), "name", "district_name", "county_name",
        "changed_fields"}`` in the order they were written; ``sites_total`` counts them
        all.

    Raises
    ------
    NotFound
        No such batch, or (with ``district_code``) not one of that district.
    """
    h = StationHistory
    with store.read() as session:
        batch = session.get(ImportBatch, batch_id)
        if batch is None or (district_code is not None
                             and batch.district_code != district_code):
            raise _no_batch(batch_id)
        where = (h.batch_id == batch_id, h.action.in_(("create", "update")))
        total = session.scalar(select(func.count()).select_from(h).where(*where)) or 0
        entries = session.scalars(select(h).where(*where).order_by(h.id).limit(limit)).all()
        detail = _batch_dict(batch)
    sites = []
    for e in entries:
        after, before = e.after or {}, e.before or {}
        changed = () if e.before is None else tuple(
            f for f in COMPARED if not same_value(f, before.get(f), after.get(f)))
        sites.append({"station_id": e.station_id, "action": e.action,
                      "name": after.get("name", ""), "district_name": after.get("district_name"),
                      "county_name": after.get("county_name"), "changed_fields": changed})
    return {**detail, "sites": sites, "sites_total": total}
