"""Import a station list: plan (preview), apply in one transaction, undo.

This module makes the plan; applying it, undoing it and listing the batches are in
:mod:`~locator.imports.batches`, the record and history helpers both share in
:mod:`~locator.imports.records`. Their public names are importable here too.

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

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from locator.errors import BadDatum, UploadRefused
from locator.geo.datum import DATUMS
from locator.imports.batches import (
    ImportHasProblems,
    UndoResult,
    apply_import,
    batch_detail,
    list_batches,
    undo_import,
)
from locator.imports.readers import Limits, Table, read_upload
from locator.imports.records import (
    COMPARED,
    allocate_ids,
    load_stations,
    same_value,
    station_record,
    write_history,
)
from locator.imports.validate import FILE_CODES, Problem, Validation, validate_table
from locator.store.models import Meta, Station
from locator.store.store import Store

__all__ = [
    # this module's
    "ImportPlan",
    "PlannedRow",
    "plan_import",
    "read_state",
    # from batches.py and records.py, importable here too
    "COMPARED",
    "ImportHasProblems",
    "UndoResult",
    "allocate_ids",
    "apply_import",
    "batch_detail",
    "list_batches",
    "station_record",
    "undo_import",
    "write_history",
]

#: The station columns validation needs (for duplicates and existing 编号).
LIGHT_COLUMNS = ("id", "kind", "name", "lon", "lat", "status")


@dataclass(eq=False)
class PlannedRow:
    """What applying the plan does with one clean row.

    Attributes
    ----------
    row : int
        The row number as the user sees it.
    action : str
        ``new``, ``changed`` or ``unchanged``.
    id : str or None
        The existing site's id (``None`` for a new site).
    values : dict
        The row's normalised values (see :func:`~locator.imports.validate.validate_table`;
        ``lon``/``lat`` in WGS-84 degrees).
    changed_fields : tuple of str
        The fields of :data:`~locator.imports.records.COMPARED` that change.
    before : dict or None
        The existing site's record (every column) for ``changed`` and ``unchanged`` rows.
    """

    row: int
    action: str  # "new" | "changed" | "unchanged"
    id: str | None
    values: dict[str, Any]
    changed_fields: tuple[str, ...] = ()
    before: dict[str, Any] | None = None


@dataclass
class ImportPlan:
    """The preview of one import; :func:`~locator.imports.batches.apply_import` writes
    exactly this.

    Attributes
    ----------
    data_version : int
        The store's ``data_version`` the plan was made against.
    datum : str
        The declared datum of the file's coordinates.
    sha256 : str
        The file's SHA-256 (hex).
    source_name : str
        The user's file name (metadata only, at most 200 characters).
    format : str or None
        The detected format; ``None`` when the file was refused.
    rows : int
        Data rows in the file.
    planned : list of PlannedRow
        The clean rows (within ``district_code``, for a district account).
    problems : list of Problem
        Sorted by row.
    table, validation : Table, Validation, optional
        The file as read and validated (``None`` when it was refused).
    counts : dict of str to int
        ``new``, ``changed``, ``unchanged``: the planned rows per action.
    """

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
        """True when the plan has no problem (it may be applied)."""
        return not self.problems

    @property
    def refused(self) -> bool:
        """True when the file itself was refused (unreadable, unsupported, too many rows)."""
        return any(p.code in FILE_CODES for p in self.problems)

    def report(self, lang: str = "zh") -> dict[str, Any]:
        """The import report of DESIGN.md §5 (JSON-ready, RFC 8259).

        Parameters
        ----------
        lang : str
            ``zh`` or ``en``: the language of the problems' messages.

        Returns
        -------
        dict
            ``{"ok", "rows", "new", "changed", "unchanged", "problems"}``, the problems
            as :meth:`Problem.to_dict <locator.imports.problems.Problem.to_dict>`.
        """
        return {
            "ok": self.ok,
            "rows": self.rows,
            "new": self.counts.get("new", 0),
            "changed": self.counts.get("changed", 0),
            "unchanged": self.counts.get("unchanged", 0),
            "problems": [p.to_dict(lang) for p in self.problems],
        }


def read_state(store: Store) -> tuple[int, pd.DataFrame]:
    """The data version and the few columns validation needs, read together.

    Parameters
    ----------
    store : Store

    Returns
    -------
    (int, pandas.DataFrame)
        ``data_version`` and every station's :data:`LIGHT_COLUMNS` (``lon``/``lat`` in
        WGS-84 degrees), from one consistent read.
    """
    columns = [Station.__table__.c[name] for name in LIGHT_COLUMNS]
    with store.read() as session, session.begin():
        version = session.scalar(select(Meta.data_version).where(Meta.id == 1)) or 0
        rows = session.execute(select(*columns)).all()
    return int(version), pd.DataFrame(rows, columns=list(LIGHT_COLUMNS))


def _records(store: Store, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The full records (column values, not JSON) of the sites ``ids`` by id."""
    with store.read() as session:
        stations = load_stations(session, ids)
        return {sid: {c.key: getattr(station, c.key) for c in Station.__table__.columns}
                for sid, station in stations.items()}


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
        The datum of the file's coordinates: ``wgs84``, ``gcj02`` or ``bd09``; the
        planned values are converted to WGS-84.
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

    Raises
    ------
    BadDatum
        ``datum`` is not one of :data:`locator.geo.datum.DATUMS`.
    """
    if datum not in DATUMS:
        raise BadDatum(datum)
    sha256 = hashlib.sha256(data).hexdigest()
    version, existing = read_state(store)
    source_name = (source_name or "")[:200]
    try:
        table = read_upload(data, limits=limits, tmp_root=tmp_root)
    except UploadRefused as e:
        problem = Problem(None, None, e.code, e.message, e.message_for("en"))
        return ImportPlan(version, datum, sha256, source_name, None, 0, [], [problem])
    validation = validate_table(table, datum=datum, regions=regions, existing=existing)
    planned = _planned_rows(store, validation)
    problems = list(validation.problems)
    if district_code is not None:
        planned, outside = _restrict(planned, district_code, regions, validation)
        problems = sorted(problems + list(outside.values()),
                          key=lambda p: (p.row if p.row is not None else -1))
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    for row in planned:
        counts[row.action] += 1
    return ImportPlan(version, datum, sha256, source_name, table.format, len(table.rows),
                      planned, problems, table, validation, counts)


def _planned_rows(store: Store, validation: Validation) -> list[PlannedRow]:
    """The clean rows sorted into new, changed and unchanged. The existing records are
    read after the data version: if they changed since, applying the plan is refused."""
    by_id = _records(store, {r.id for r in validation.rows if r.ok and r.id})
    planned: list[PlannedRow] = []
    for result in validation.rows:
        if not result.ok:
            continue
        values = result.values
        if result.id is None:
            planned.append(PlannedRow(result.row, "new", None, values))
            continue
        old = by_id[result.id]
        changed = tuple(f for f in COMPARED
                        if f in values and not same_value(f, old[f], values[f]))
        planned.append(PlannedRow(result.row, "changed" if changed else "unchanged",
                                  result.id, values, changed, old))
    return planned


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
