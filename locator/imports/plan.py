"""Import a station list: plan (preview), apply in one transaction, undo.

The engine a CLI command or a view calls with the uploaded bytes, the declared datum and
the user's name::

    plan = plan_import(store, data, datum="gcj02", regions=regions)
    plan.report()            # {"ok", "rows", "new", "changed", "unchanged", "problems"}
    batch_id = apply_import(store, plan, user="zhang")
    undo_import(store, batch_id, user="zhang")

* A **plan** reads the file (:mod:`locator.imports.readers`), validates every row
  (:mod:`locator.imports.validate`) and sorts the clean rows into new (no 编号), changed and
  unchanged (编号 of an existing site), against one consistent read of the store; it
  remembers the store's ``data_version``.
* **Apply** writes exactly the plan in one transaction, refused with
  :class:`~locator.errors.Conflict` when the ``data_version`` moved since the plan, or
  when the plan has problems. New sites get ids ``HB<county code>-<4 digits>`` from a
  per-county counter that never decreases (ids are never reused). The import is recorded
  as an :class:`~locator.store.models.ImportBatch`, and every site it touched gets a
  :class:`~locator.store.models.StationHistory` entry with who, when, before and after.
* **Undo** restores every site of a batch to its "before" record (deleting the sites it
  created) in one transaction, refused when a later change touched one of them (unless
  that change was itself undone) -- the message names the sites and the later change.

A column the file does not have leaves that field of an existing site unchanged; an empty
cell in a column it has clears the field (an empty 状态 keeps the status).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, or_, select

from locator.errors import BadDatum, Conflict, LocatorError, NotFound, UploadRefused
from locator.geo.datum import DATUMS
from locator.imports.readers import Limits, Table, read_upload
from locator.imports.validate import FILE_CODES, Problem, Validation, validate_table
from locator.store.models import IdCounter, ImportBatch, Meta, Station, StationHistory
from locator.store.store import Store

__all__ = [
    "ImportPlan",
    "PlannedRow",
    "allocate_ids",
    "apply_import",
    "batch_detail",
    "list_batches",
    "plan_import",
    "station_record",
    "undo_import",
    "write_history",
]

#: Fields compared to decide whether a row changes an existing site.
COMPARED = ("kind", "name", "address", "services", "opening_hours", "host", "phone",
            "status", "lon", "lat")
_POSITION = ("lon", "lat", "source_lon", "source_lat", "source_datum", "district_code",
             "district_name", "county_code", "county_name")
_DEFAULTS = {"kind": "station", "address": "", "services": [], "opening_hours": "",
             "host": "", "phone": "", "status": "active"}
_ID_PATTERN = re.compile(r"^HB(\d{6})-(\d+)$")


@dataclass(eq=False)
class PlannedRow:
    """What applying the plan does with one clean row."""

    row: int
    action: str  # "new" | "changed" | "unchanged"
    id: str | None
    values: dict[str, Any]
    changed_fields: tuple[str, ...] = ()
    #: The existing site's record (every column) for "changed" and "unchanged" rows.
    before: dict[str, Any] | None = None


@dataclass
class ImportPlan:
    """The preview of one import; :func:`apply_import` writes exactly this."""

    data_version: int
    datum: str
    sha256: str
    source_name: str
    format: str | None
    rows: int
    planned: list[PlannedRow]
    problems: list[Problem]
    table: Table | None = None
    validation: Validation | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def refused(self) -> bool:
        """True when the file itself was refused (unreadable, unsupported, too many rows)."""
        return any(p.code in FILE_CODES for p in self.problems)

    def report(self, lang: str = "zh") -> dict[str, Any]:
        """The import report of DESIGN.md §5 (JSON-ready, RFC 8259)."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "new": self.counts.get("new", 0),
            "changed": self.counts.get("changed", 0),
            "unchanged": self.counts.get("unchanged", 0),
            "problems": [p.to_dict(lang) for p in self.problems],
        }


# --------------------------------------------------------------------------- records

def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def station_record(station: Station) -> dict[str, Any]:
    """A site as a JSON-ready dict of every column (history's before/after)."""
    return {c.name: _json_value(getattr(station, c.key)) for c in Station.__table__.columns}


def _from_record(record: dict[str, Any]) -> dict[str, Any]:
    values = dict(record)
    for key in ("reopen_date", "verified_at"):
        if values.get(key):
            values[key] = dt.date.fromisoformat(values[key])
    values["updated_at"] = dt.datetime.fromisoformat(values["updated_at"])
    return values


def _same(field_name: str, old: Any, new: Any) -> bool:
    if field_name in ("lon", "lat"):
        return old is not None and round(float(old), 7) == round(float(new), 7)
    if field_name == "services":
        return list(old or []) == list(new or [])
    return (old if old is not None else "") == (new if new is not None else "")


# --------------------------------------------------------------------------- plan

_LIGHT = ("id", "kind", "name", "lon", "lat", "status")


def _read_state(store: Store) -> tuple[int, pd.DataFrame]:
    """The data version and the few columns validation needs, read together."""
    columns = [Station.__table__.c[name] for name in _LIGHT]
    with store.read() as session, session.begin():
        version = session.scalar(select(Meta.data_version).where(Meta.id == 1)) or 0
        rows = session.execute(select(*columns)).all()
    return int(version), pd.DataFrame(rows, columns=list(_LIGHT))


def _records(store: Store, ids: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    ordered = sorted(ids)
    with store.read() as session:
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            for station in session.scalars(select(Station).where(Station.id.in_(chunk))):
                found[station.id] = {c.key: getattr(station, c.key)
                                     for c in Station.__table__.columns}
    return found


def plan_import(store: Store, data: bytes, *, datum: str, regions, limits: Limits | None = None,
                source_name: str = "", tmp_root: str | Path | None = None,
                district_code: str | None = None) -> ImportPlan:
    """Read, validate and plan an import; changes nothing.

    Parameters
    ----------
    store : Store
    data : bytes
        The uploaded file (any allowlisted format; recognised by content).
    datum : str
        The datum of the file's coordinates: ``wgs84``, ``gcj02`` or ``bd09``.
    regions : locator.geo.regions.Regions
    limits : Limits, optional
        Upload caps (default: the settings' defaults).
    source_name : str
        The user's file name, kept (shortened) as metadata only; never used as a path.
    tmp_root : path, optional
        Where private temporary folders may be made (e.g. the Flask instance folder).
    district_code : str, optional
        Restrict the import to one union district (a district staff account): a row whose
        point lies elsewhere, or that updates a site lying elsewhere, is the problem
        ``outside_your_district`` and is not planned. ``None`` (the default, the CLI and
        admins): every district.

    Returns
    -------
    ImportPlan
        Never raises for a bad file: a refused file is a plan whose only problem has a
        file-level code (``unreadable_file``, ``unsupported_file``, ``too_many_rows``).
    """
    if datum not in DATUMS:
        raise BadDatum(datum)
    sha256 = hashlib.sha256(data).hexdigest()
    version, existing = _read_state(store)
    source_name = (source_name or "")[:200]
    try:
        table = read_upload(data, limits=limits, tmp_root=tmp_root)
    except UploadRefused as e:
        problem = Problem(None, None, e.code, e.message, e.message_for("en"))
        return ImportPlan(version, datum, sha256, source_name, None, 0, [], [problem])
    validation = validate_table(table, datum=datum, regions=regions, existing=existing)
    # Rows read after the version: if they changed since, applying the plan is refused.
    by_id = _records(store, {r.id for r in validation.rows if r.ok and r.id})
    planned: list[PlannedRow] = []
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    for result in validation.rows:
        if not result.ok:
            continue
        values = result.values
        if result.id is None:
            row = PlannedRow(result.row, "new", None, values)
        else:
            old = by_id[result.id]
            changed = tuple(f for f in COMPARED if f in values and not _same(f, old[f], values[f]))
            row = PlannedRow(result.row, "changed" if changed else "unchanged", result.id,
                             values, changed, old)
        counts[row.action] += 1
        planned.append(row)
    problems = list(validation.problems)
    if district_code is not None:
        planned, outside = _restrict(planned, district_code, regions, validation)
        for row in outside:
            counts[row.action] -= 1
        problems = sorted(problems + [p for _, p in outside.items()],
                          key=lambda p: (p.row if p.row is not None else -1))
    return ImportPlan(version, datum, sha256, source_name, table.format, len(table.rows),
                      planned, problems, table, validation, counts)


def _restrict(planned: list[PlannedRow], district_code: str, regions, validation: Validation
              ) -> tuple[list[PlannedRow], dict[PlannedRow, Problem]]:
    """Split ``planned`` into the rows inside ``district_code`` and, for the others, their
    ``outside_your_district`` problem (the point, or the updated site, lies elsewhere)."""
    names = regions.district_names()
    mine = names.get(district_code, district_code)
    columns = validation.table.columns
    fields = validation.fields
    where = (f"{columns[fields['lon']]}/{columns[fields['lat']]}"
             if "lon" in fields and "lat" in fields else "geometry")
    keep: list[PlannedRow] = []
    outside: dict[PlannedRow, Problem] = {}
    for row in planned:
        old = row.before["district_code"] if row.before else district_code
        if row.values["district_code"] != district_code:
            code = row.values["district_code"]
            zh = (f"这一行的位置在「{names.get(code, code)}」，不在你负责的「{mine}」；"
                  "地区账号只能导入本地区的站点，其他地区的请交给该地区或管理员导入")
            en = (f"this point lies in {names.get(code, code)} ({code}), outside your "
                  f"district {mine} ({district_code}); a district account may import only "
                  "its own district's sites: leave this row to that district or an admin")
            outside[row] = Problem(row.row, where, "outside_your_district", zh, en)
        elif old != district_code:
            shown = names.get(old, old)
            zh = (f"编号 {row.id} 的站点在「{shown}」，不在你负责的「{mine}」；"
                  "地区账号只能修改本地区的站点")
            en = (f"the site {row.id} lies in {shown} ({old}), outside your district {mine} "
                  f"({district_code}); a district account may change only its own sites")
            column = columns[fields["id"]] if "id" in fields else "编号"
            outside[row] = Problem(row.row, column, "outside_your_district", zh, en)
        else:
            keep.append(row)
    return keep, outside


# --------------------------------------------------------------------------- apply

class ImportHasProblems(LocatorError):
    status = 422
    code = "import_has_problems"
    message = "文件中有问题，没有导入任何站点；请改正后重新上传。"
    message_en = "The file has problems; nothing was imported. Fix them and upload again."


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
    last = _next_numbers(session, set(counties))
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


def _next_numbers(session, counties: set[str]) -> dict[str, int]:
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


def apply_import(store: Store, plan: ImportPlan, *, user: str) -> int | None:
    """Write exactly ``plan`` in one transaction; returns the batch id.

    Returns ``None`` (and writes nothing) when the plan neither adds nor changes a site.

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
    districts = ({r.values["district_code"] for r in todo}
                 | {r.before["district_code"] for r in todo if r.before})
    with store.write(expected_version=plan.data_version) as session:
        batch = ImportBatch(
            created_at=now, created_by=user, source_name=plan.source_name,
            source_sha256=plan.sha256, source_format=plan.format or "", datum=plan.datum,
            rows=plan.rows, new=plan.counts["new"], changed=plan.counts["changed"],
            unchanged=plan.counts["unchanged"], data_version=plan.data_version + 1,
            district_code=districts.pop() if len(districts) == 1 else None,
        )
        session.add(batch)
        session.flush()
        history: list[dict[str, Any]] = []

        # new sites: ids from the per-county counters, one bulk insert
        new_rows = [r for r in todo if r.action == "new"]
        new_ids = allocate_ids(session, [r.values["county_code"] for r in new_rows])
        inserted = []
        for row, new_id in zip(new_rows, new_ids, strict=True):
            record = {**_EMPTY_RECORD, **_DEFAULTS, **row.values,
                      "id": new_id, "updated_at": now,
                      "updated_by": user, "synthetic": False}
            inserted.append(record)
            history.append({"station_id": record["id"], "action": "create", "before": None,
                            "after": {k: _json_value(v) for k, v in record.items()}})
        for start in range(0, len(inserted), 1000):
            session.execute(insert(Station), inserted[start:start + 1000])

        # changed sites: loaded together, updated in place
        changed = [r for r in todo if r.action == "changed"]
        stations = _load(session, {r.id for r in changed})
        for row in changed:
            station = stations[row.id]
            before = station_record(station)
            moved = not (_same("lon", station.lon, row.values["lon"])
                         and _same("lat", station.lat, row.values["lat"]))
            for key, value in row.values.items():
                if key in _POSITION and not moved:
                    continue
                setattr(station, key, value)
            station.updated_at, station.updated_by, station.synthetic = now, user, False
            history.append({"station_id": row.id, "action": "update", "before": before,
                            "after": station_record(station)})
        session.flush()
        write_history(session, history, batch_id=batch.id, now=now, user=user)
        return batch.id


_EMPTY_RECORD = {c.name: None for c in Station.__table__.columns}


def _load(session, ids: set[str]) -> dict[str, Station]:
    """Stations by id, fetched in chunks (one query per 500 ids)."""
    found: dict[str, Station] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for station in session.scalars(select(Station).where(Station.id.in_(chunk))):
            found[station.id] = station
    return found


def write_history(session, entries: list[dict[str, Any]], *, batch_id: int | None,
                  now: dt.datetime, user: str) -> None:
    """Insert :class:`StationHistory` rows in ``session`` (the change's own transaction).

    Each entry holds ``station_id``, ``action``, ``before`` and ``after`` (records from
    :func:`station_record`, ``None`` where the site did not exist); ``batch_id`` is the
    import batch, or ``None`` for a change made by hand.
    """
    rows = [{**e, "batch_id": batch_id, "changed_at": now, "changed_by": user}
            for e in entries]
    for start in range(0, len(rows), 1000):
        session.execute(insert(StationHistory), rows[start:start + 1000])


# --------------------------------------------------------------------------- undo

@dataclass(frozen=True)
class UndoResult:
    batch_id: int
    restored: int
    removed: int


def undo_import(store: Store, batch_id: int, *, user: str,
                district_code: str | None = None) -> UndoResult:
    """Restore every site of a batch to its state before the import, in one transaction.

    With ``district_code`` (a district staff account), only a batch whose sites all lie
    in that district (``ImportBatch.district_code``) may be undone; any other batch is
    reported as not found.

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
        batch = session.get(ImportBatch, batch_id)
        if batch is None or (district_code is not None
                             and batch.district_code != district_code):
            raise _no_batch(batch_id)
        if batch.undone_at is not None:
            raise Conflict(
                f"导入批次 {batch_id} 已经在 {batch.undone_at:%Y-%m-%d %H:%M} UTC 由 "
                f"{batch.undone_by} 撤销过了。",
                message_en=f"Import batch {batch_id} was already undone "
                           f"({batch.undone_at:%Y-%m-%d %H:%M} UTC, by {batch.undone_by}).",
            )
        entries = session.scalars(
            select(StationHistory).where(StationHistory.batch_id == batch_id,
                                         StationHistory.action.in_(("create", "update")))
            .order_by(StationHistory.id)
        ).all()
        undone = set(session.scalars(select(ImportBatch.id)
                                     .where(ImportBatch.undone_at.is_not(None))))
        ids = {e.station_id for e in entries}
        first_entry = min((e.id for e in entries), default=0)
        later_by_station: dict[str, list] = {}  # rows: id, station_id, batch_id, by, at
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            h = StationHistory
            for later in session.execute(
                    select(h.id, h.station_id, h.batch_id, h.changed_by, h.changed_at)
                    .where(h.station_id.in_(chunk), h.id > first_entry,
                           or_(h.batch_id.is_(None), h.batch_id != batch_id))
                    .order_by(h.id)):
                later_by_station.setdefault(later.station_id, []).append(later)
        current = _load(session, ids)
        blocked = []
        for entry in entries:
            later = [h for h in later_by_station.get(entry.station_id, ())
                     if h.id > entry.id and h.batch_id not in undone]
            station = current.get(entry.station_id)
            record = station_record(station) if station is not None else None
            if later or record != entry.after:
                blocked.append((entry.station_id, later[0] if later else None))
        if blocked:
            zh, en = _blocked_messages(batch_id, blocked)
            raise Conflict(zh, message_en=en)
        created = [e.station_id for e in entries if e.before is None]
        for sid in created:
            session.expunge(current[sid])  # deleted below with a plain bulk statement
        for start in range(0, len(created), 500):
            session.execute(delete(Station).where(Station.id.in_(created[start:start + 500]))
                            .execution_options(synchronize_session=False))
        for entry in entries:
            if entry.before is not None:
                station = current[entry.station_id]
                for key, value in _from_record(entry.before).items():
                    setattr(station, key, value)
        session.flush()
        write_history(session, [{"station_id": e.station_id, "action": "undo",
                                  "before": e.after, "after": e.before} for e in entries],
                       batch_id=batch_id, now=now, user=user)
        removed, restored = len(created), len(entries) - len(created)
        batch.undone_at, batch.undone_by = now, user
    return UndoResult(batch_id, restored, removed)


def _blocked_messages(batch_id: int, blocked) -> tuple[str, str]:
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
    return NotFound(f"没有编号为 {batch_id} 的导入批次。",
                    message_en=f"There is no import batch {batch_id}.")


def _batch_dict(b: ImportBatch) -> dict[str, Any]:
    return {
        "id": b.id, "created_at": _json_value(b.created_at), "created_by": b.created_by,
        "source_name": b.source_name, "format": b.source_format, "datum": b.datum,
        "rows": b.rows, "new": b.new, "changed": b.changed, "unchanged": b.unchanged,
        "undone_at": _json_value(b.undone_at) if b.undone_at else None,
        "undone_by": b.undone_by, "district_code": b.district_code,
    }


def list_batches(store: Store, limit: int = 20, *, district_code: str | None = None
                 ) -> list[dict[str, Any]]:
    """The latest import batches, newest first, as JSON-ready dicts.

    ``district_code`` keeps only the batches whose sites all lie in that district (what a
    district staff account may see and undo); ``None``: every batch.
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

    ``sites`` lists up to ``limit`` entries ``{"station_id", "action" ("create" or
    "update"), "name", "district_name", "county_name", "changed_fields"}`` in the order
    they were written; ``sites_total`` counts them all.

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
            f for f in COMPARED if not _same(f, before.get(f), after.get(f)))
        sites.append({"station_id": e.station_id, "action": e.action,
                      "name": after.get("name", ""), "district_name": after.get("district_name"),
                      "county_name": after.get("county_name"), "changed_fields": changed})
    return {**detail, "sites": sites, "sites_total": total}
