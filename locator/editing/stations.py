"""Edit sites one at a time: the staff 站点管理 list, form, status, stamp and history.

No Flask here: a view parses the request, calls one function of this module and renders
what it returns. ``user`` is always a :class:`~locator.store.models.User`.

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
import math
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select

from locator.errors import BadRequest, Conflict, LocatorError, NotFound
from locator.geo.datum import DATUMS, from_wgs84
from locator.geo.hours import TZ
from locator.imports.columns import COLUMNS
from locator.imports.readers import Table
from locator.imports.records import (
    NEW_SITE_DEFAULTS,
    POSITION_FIELDS,
    allocate_ids,
    same_value,
    station_record,
    write_history,
)
from locator.imports.validate import CellError, clean_text, parse_services, validate_table
from locator.store.models import Station, StationHistory, User
from locator.store.store import Store
from locator.vocabulary import KINDS, STATUSES

__all__ = [
    "ACTIONS",
    "EDITABLE",
    "HISTORY_FIELDS",
    "PAGE_SIZE",
    "STALE_AFTER_DAYS",
    "STATUS_ACTIONS",
    "Busy",
    "Change",
    "FieldProblem",
    "HistoryEntry",
    "Invalid",
    "StaleEdit",
    "StationInput",
    "StationPage",
    "StationRow",
    "change_status",
    "create_station",
    "form_input",
    "form_services",
    "get_station",
    "is_stale",
    "list_stations",
    "locate_input",
    "save_station",
    "station_history",
    "today",
    "validate_input",
    "verify_station",
]

#: Rows per page of the station list.
PAGE_SIZE = 50
#: A site last verified longer ago than this (or never) is highlighted in the list.
STALE_AFTER_DAYS = 365
#: Record fields the form edits (the position is edited through ``lon``/``lat``/``datum``).
EDITABLE = ("kind", "name", "address", "services", "opening_hours", "host", "phone")
#: Status changes: ``close`` (temporarily, with a reopen date), ``remove`` (with a reason)
#: and ``reopen`` (back to active).
STATUS_ACTIONS = ("close", "remove", "reopen")
#: Every history action: the import's (``create``, ``update``, ``undo``) and this module's.
ACTIONS = ("create", "update", "undo", "edit", "close", "remove", "reopen", "verify")
#: The fields the history page compares, in display order.
HISTORY_FIELDS = (
    "name", "kind", "address", "lon", "lat", "district_name", "county_name", "services",
    "opening_hours", "host", "phone", "status", "reopen_date", "status_reason", "verified_at",
    "source_lon", "source_lat", "source_datum", "synthetic",
)
#: Longest reason of a status change, in characters (after normalisation).
REASON_MAX = 200

# form field -> the import column it is validated as (Chinese header)
_FORM_COLUMNS = ("name", "kind", "address", "services", "opening_hours", "host", "phone",
                 "lon", "lat", "id")
_FIELD_OF_HEADER = {COLUMNS[f][0]: f for f in _FORM_COLUMNS if f != "id"}
_FIELD_OF_HEADER[f"{COLUMNS['lon'][0]}/{COLUMNS['lat'][0]}"] = "coordinates"
_COORDINATE_CODES = {"swapped_lat_lon", "out_of_area", "duplicate_existing", "duplicate_in_file"}
_TRIES = 5


# --------------------------------------------------------------------------- errors

@dataclass(frozen=True)
class FieldProblem:
    """One problem of a form field, in Chinese and English.

    ``field`` is a form field (``name``, ``kind``, ``address``, ``services``,
    ``opening_hours``, ``host``, ``phone``, ``lon``, ``lat``, ``datum``), ``coordinates``
    for both coordinates together, ``reopen_date`` or ``reason`` for a status change, or
    ``form`` for the whole form. ``code`` is an import problem code where the rule is the
    import's (:data:`locator.imports.validate.CODES`).
    """

    field: str
    code: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


class Invalid(LocatorError):
    """The form has problems; nothing was saved. ``problems`` says which and where."""

    status = 422
    code = "invalid_form"
    message = "表单中有错误，请按提示改正后再保存；没有保存任何更改。"
    message_en = "The form has errors; correct them and save again. Nothing was saved."

    def __init__(self, problems: list[FieldProblem]):
        super().__init__()
        self.problems = list(problems)

    def by_field(self, lang: str = "zh") -> dict[str, list[str]]:
        """Messages per form field, in ``lang``."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.field, []).append(p.message(lang))
        return out


class StaleEdit(Conflict):
    """The site changed after the form was opened; nothing was saved."""

    code = "stale_edit"


class Busy(LocatorError):
    status = 503
    code = "busy"
    message = "数据正在被其他操作修改，请稍后再试；没有保存任何更改。"
    message_en = "The data is being changed by someone else; try again. Nothing was saved."


# --------------------------------------------------------------------------- the form

@dataclass
class StationInput:
    """What the station form sends, as typed (nothing is normalised yet).

    ``lon``/``lat`` are in ``datum`` (``wgs84`` by default; ``gcj02`` or ``bd09`` for
    coordinates copied from Amap/Tencent or Baidu). ``version`` is the site's
    ``updated_at`` (ISO 8601) when the form was opened; empty for a new site.
    """

    name: str = ""
    kind: str = "station"
    address: str = ""
    services: list[str] = field(default_factory=list)
    opening_hours: str = ""
    host: str = ""
    phone: str = ""
    lon: str = ""
    lat: str = ""
    datum: str = "wgs84"
    version: str = ""

    #: The fields a form posts as single text values (``services`` is a list).
    TEXT_FIELDS = ("name", "kind", "address", "opening_hours", "host", "phone", "lon", "lat",
                   "datum", "version")


def _coordinate_text(value: float | None) -> str:
    """Degrees as the form shows them: up to 7 decimals (~1 cm), no trailing zeros."""
    if value is None:
        return ""
    return f"{value:.7f}".rstrip("0").rstrip(".")


def form_input(record: dict[str, Any]) -> StationInput:
    """The form of a site as it is now (``record`` from :func:`get_station`); WGS-84."""
    return StationInput(
        name=record["name"], kind=record["kind"], address=record["address"] or "",
        services=list(record["services"] or []), opening_hours=record["opening_hours"] or "",
        host=record["host"] or "", phone=record["phone"] or "",
        lon=_coordinate_text(record["lon"]), lat=_coordinate_text(record["lat"]),
        datum="wgs84", version=record["updated_at"],
    )


def form_services(posted: list[str]) -> list[str]:
    """The services a form posted, as its checkboxes show them again: each recognised
    label or code as its code, anything else as typed (so it can be unticked).

    >>> form_services(["饮水", "toilet", "按摩"])
    ['drinking_water', 'toilet', '按摩']
    """
    out = []
    for value in posted:
        codes, unknown = parse_services(value)
        out += codes + unknown
    return list(dict.fromkeys(out))


def _field_problem(p, *, new: bool) -> FieldProblem:
    where = _FIELD_OF_HEADER.get(p.column or "", "form")
    if p.code in _COORDINATE_CODES:
        where = "coordinates"
    zh, en = p.zh, p.en
    if p.code == "duplicate_existing" and new:
        # the import's hint says to put the id in the 编号 column; a form has none
        zh = zh.rsplit("；", 1)[0] + "；如要修改那个站点，请在站点列表中打开它"
        en = en.rsplit("; ", 1)[0] + "; to change that site, open it from the station list"
    return FieldProblem(where, p.code, zh, en)


def validate_input(inp: StationInput, *, regions, existing=None,
                   station_id: str | None = None) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Validate a form with the import's rules; changes nothing.

    Parameters
    ----------
    inp : StationInput
    regions : locator.geo.regions.Regions
    existing : pandas.DataFrame, optional
        The store's sites (``id``, ``kind``, ``name``, ``lon``, ``lat``, ``status``), for
        the duplicate rule; without it duplicates are not checked. When editing, it must
        hold ``station_id``.
    station_id : str, optional
        The site being edited (it is not its own duplicate); ``None`` for a new site.

    Returns
    -------
    (values, problems)
        ``values`` as the import would write them: normalised text, ``services`` codes,
        ``opening_hours`` in OSM syntax, WGS-84 ``lon``/``lat`` rounded to 7 decimals,
        the typed coordinates in ``source_lon``/``source_lat`` with ``source_datum``, and
        the district and county derived from the point. ``problems`` per form field.
    """
    problems: list[FieldProblem] = []
    datum = inp.datum or "wgs84"
    if datum not in DATUMS:
        problems.append(FieldProblem(
            "datum", "bad_value", "坐标系只能是 WGS-84、GCJ-02 或 BD-09",
            "the coordinate system must be WGS-84, GCJ-02 or BD-09"))
        datum = "wgs84"
    cells = [inp.name, inp.kind, inp.address, "|".join(inp.services), inp.opening_hours,
             inp.host, inp.phone, inp.lon, inp.lat, station_id or ""]
    table = Table(format="form", columns=[COLUMNS[f][0] for f in _FORM_COLUMNS],
                  rows=[(1, cells)], header_row=0)
    validation = validate_table(table, datum=datum, regions=regions, existing=existing)
    problems += [_field_problem(p, new=station_id is None) for p in validation.problems]
    values = dict(validation.rows[0].values) if validation.rows else {}
    return values, problems


#: Sites within this many degrees of a point are the candidates of the duplicate rule
#: (it looks 100 m around; 0.01 degree is over 850 m anywhere in Hebei).
NEARBY_DEG = 0.01


def _nearby(store: Store, lon: float, lat: float, station_id: str | None):
    """The sites near a WGS-84 point (and the edited site), as validation wants them."""
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
        existing = _nearby(store, values["lon"], values["lat"], station_id)
        values, problems = validate_input(inp, regions=regions, existing=existing,
                                          station_id=station_id)
    return values, problems


def _district_problems(user: User, values: dict[str, Any], regions) -> list[FieldProblem]:
    code = values.get("district_code")
    if code is None or user.can_see(code):
        return []
    own = regions.district_names().get(user.district_code or "", user.district_code or "")
    here = f"{values['district_name']}{values['county_name']}"
    return [FieldProblem(
        "coordinates", "outside_district",
        f"这个位置在{here}，不在你负责的{own}内；地区工作人员只能管理本地区的站点",
        f"this point is in {here}, outside your district ({own}); district staff manage "
        "only their own district's sites")]


def locate_input(lon: str, lat: str, datum: str, *, regions, user: User,
                 display_datum: str = "wgs84", lang: str = "zh") -> dict[str, Any]:
    """Where typed (or dragged) coordinates are, checked with the import's rules.

    For the form's map: the pin is moved to ``display`` and the district and county are
    shown beside the address.

    Parameters
    ----------
    lon, lat : str
        As typed (decimal, DMS, full-width digits ...), in ``datum``.
    datum : str
        ``wgs84``, ``gcj02`` or ``bd09``.
    display_datum : str
        The basemap's datum (``wgs84`` or ``gcj02``): ``display`` is in it.

    Returns
    -------
    dict
        JSON-ready: ``ok``; ``lon``, ``lat`` (WGS-84, 7 decimals), ``display``
        (``[lon, lat]`` in ``display_datum``), ``district_name``, ``county_name`` (and
        codes) when the point is in Hebei; ``problems``: ``[{"field", "code",
        "message"}]`` (coordinate problems only, including leaving the user's district).
    """
    values, problems = validate_input(StationInput(name="-", lon=lon, lat=lat, datum=datum),
                                      regions=regions)
    problems = [p for p in problems if p.field in ("lon", "lat", "coordinates", "datum")]
    out: dict[str, Any] = {"ok": False}
    if "lon" in values:
        problems += _district_problems(user, values, regions)
        x, y = from_wgs84(values["lon"], values["lat"], display_datum)
        out.update(lon=values["lon"], lat=values["lat"], display=[round(x, 7), round(y, 7)],
                   lon_text=_coordinate_text(values["lon"]),
                   lat_text=_coordinate_text(values["lat"]),
                   **{k: values[k] for k in ("district_code", "district_name", "county_code",
                                             "county_name")})
    out["ok"] = not problems and "lon" in values
    out["problems"] = [{"field": p.field, "code": p.code, "message": p.message(lang)}
                       for p in problems]
    return out


def default_view(regions, user: User) -> tuple[float, float, int]:
    """Where a new site's map starts: ``(lon, lat, zoom)``, WGS-84; a point inside the
    user's district at zoom 10, or (admins) the middle of the province at zoom 7."""
    districts = regions.districts
    if user.role != "admin":
        rows = districts[districts["code"] == user.district_code]
        if len(rows):
            point = rows.geometry.iloc[0].representative_point()
            return round(point.x, 5), round(point.y, 5), 10
    return 116.0, 39.3, 7  # 高碑店, near the middle of Hebei's extent


# --------------------------------------------------------------------------- reading

def today() -> dt.date:
    """Today's date in Asia/Shanghai."""
    return dt.datetime.now(TZ).date()


def _visible(user: User, record: dict[str, Any] | None) -> bool:
    return record is not None and user.can_see(record["district_code"])


def get_station(store: Store, user: User, station_id: str) -> dict[str, Any]:
    """The site's record (JSON-ready, as in history), if the user may see it.

    Raises
    ------
    NotFound
        No such site, or it belongs to another district than a district user's.
    """
    with store.read() as session:
        station = session.get(Station, station_id)
        record = station_record(station) if station is not None else None
    if not _visible(user, record):
        raise NotFound()
    return record


def is_stale(verified_at: str | dt.date | None, on: dt.date | None = None) -> bool:
    """True when a site was never verified, or last verified more than
    :data:`STALE_AFTER_DAYS` days before ``on`` (default: today in Asia/Shanghai)."""
    if not verified_at:
        return True
    if isinstance(verified_at, str):
        verified_at = dt.date.fromisoformat(verified_at)
    return (on or today()) - verified_at > dt.timedelta(days=STALE_AFTER_DAYS)


@dataclass(frozen=True)
class StationRow:
    """One line of the station list."""

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
    """One page of the station list and the total number of matching sites."""

    rows: list[StationRow]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_text(q: str) -> str:
    """The search box's text as it is matched: NFC, whitespace runs as one space, trimmed.

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

    Raises
    ------
    BadRequest
        An unknown kind or status.
    """
    if kind and kind not in KINDS:
        raise BadRequest("类型只能是 station 或 mother_room。", code="bad_kind")
    if status and status not in STATUSES:
        raise BadRequest("状态只能是 active、temporarily_closed 或 removed。", code="bad_status")
    on = on or today()
    cutoff = on - dt.timedelta(days=STALE_AFTER_DAYS)
    where = []
    if user.role != "admin":
        district = user.district_code
    if district:
        where.append(Station.district_code == district)
    if kind:
        where.append(Station.kind == kind)
    if status:
        where.append(Station.status == status)
    if stale:
        where.append(or_(Station.verified_at.is_(None), Station.verified_at < cutoff))
    text = search_text(q)
    if text:
        pattern = func.lower(_like(text))
        where.append(or_(*(func.lower(column).like(pattern, escape="\\")
                           for column in (Station.name, Station.address, Station.id,
                                          Station.host))))
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
    pass


def _load(session, user: User, station_id: str) -> Station:
    station = session.get(Station, station_id)
    if station is None or not user.can_see(station.district_code):
        raise NotFound()
    return station


def _check_version(record: dict[str, Any], version: str) -> None:
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
    # strictly later than before, so the version token always changes
    previous = station.updated_at
    station.updated_at = max(now, previous + dt.timedelta(microseconds=1)) if previous else now
    station.updated_by = (user.username or "")[:80]


def _now(now: dt.datetime | None) -> dt.datetime:
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
    """What a save did: the site's id and the fields it changed (empty: nothing to do)."""

    id: str
    changed: tuple[str, ...]


def save_station(store: Store, user: User, station_id: str, inp: StationInput, *, regions,
                 now: dt.datetime | None = None) -> SaveResult:
    """Save the edit form of a site, in one transaction with its history row.

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
        problems += _district_problems(user, values, regions)
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
    """Create a site from the form; returns its new id ``HB<county code>-<4 digits>``.

    The id comes from the county's counter, as in the import, and is never reused. The
    site is ``active`` and not yet verified.

    Raises
    ------
    Invalid
        The form has problems, or the point is outside a district user's district.
    """
    now = _now(now)
    for _ in range(_TRIES):
        version = store.data_version()
        values, problems = _check_against_store(store, inp, regions=regions, station_id=None)
        problems += _district_problems(user, values, regions)
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
    try:
        return clean_text(text, max_length=REASON_MAX, label=label, required=required) or None
    except CellError as e:
        raise Invalid([FieldProblem("reason", e.code or "bad_text", e.zh, e.en)]) from None


def _reopen_date(text: str, on: dt.date) -> dt.date:
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
    """Close a site temporarily, remove it, or reopen it; returns the new record.

    Parameters
    ----------
    action : str
        ``close``: ``temporarily_closed`` until ``reopen_date`` (ISO 8601 date, required,
        not before ``on``), with an optional ``reason``. ``remove``: ``removed`` with a
        ``reason`` (required); the site leaves the public map and API. ``reopen``:
        ``active`` again (reopen date and reason cleared).
    version : str
        The site's ``updated_at`` as the page showed it.
    on : datetime.date, optional
        Today in Asia/Shanghai (default :func:`today`).

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
    """"仍然正确": set ``verified_at`` to today (Asia/Shanghai) and change nothing else but
    ``updated_at``/``updated_by``; recorded in history as ``verify``. Returns the record.

    Raises
    ------
    NotFound, StaleEdit
        As :func:`save_station`.
    """
    on = on or today()

    def change(station: Station) -> None:
        station.verified_at = on

    return _update(store, user, station_id, version, "verify", change, _now(now))


# --------------------------------------------------------------------------- history

@dataclass(frozen=True)
class Change:
    """One field of one history entry: the value before and after (record values:
    dates as ISO strings, ``services`` as codes; ``None`` = empty or did not exist)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    changed_at: dt.datetime  # aware, UTC
    changed_by: str
    action: str
    batch_id: int | None
    changes: list[Change]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
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
    if not _visible(user, latest):
        raise NotFound()
    entries = [HistoryEntry(r.id, r.changed_at, r.changed_by, r.action, r.batch_id,
                            _diff(r.before, r.after)) for r in rows]
    return record, entries
