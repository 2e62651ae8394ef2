"""Editing sites one at a time (locator/editing/stations.py) against a real SQLite store:
the import's validation rules, optimistic concurrency, history, ids, districts."""

import csv
import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from locator.editing import stations as editing
from locator.editing.stations import Invalid, StaleEdit, StationInput
from locator.errors import BadRequest, Conflict, NotFound
from locator.geo.datum import to_wgs84
from locator.geo.regions import load_regions
from locator.imports.plan import apply_import, plan_import, station_record, undo_import
from locator.store.models import IdCounter, Station, StationHistory, User
from locator.store.store import Store
from locator.vocabulary import SERVICES

REGIONS = load_regions()
ADMIN = User(username="admin1", role="admin", district_code=None)
SJZ = User(username="sjz", role="district", district_code="130100")  # 石家庄
TS = User(username="ts", role="district", district_code="130200")  # 唐山
SJZ_POINT = ("114.5012", "38.0188")  # 石家庄 桥西区
SJZ_OTHER = ("114.5300", "38.0500")
TS_POINT = ("118.1687", "39.6452")  # 唐山 路北区
TS_OTHER = ("118.1800", "39.6300")
TODAY = dt.date(2026, 5, 1)


def form(name="裕华路驿站", lon=SJZ_POINT[0], lat=SJZ_POINT[1], **kw) -> StationInput:
    return StationInput(name=name, lon=lon, lat=lat, **kw)


def create(store, user=ADMIN, **kw) -> str:
    return editing.create_station(store, user, form(**kw), regions=REGIONS)


def history(store, sid):
    with store.read() as s:
        return s.scalars(select(StationHistory).where(StationHistory.station_id == sid)
                         .order_by(StationHistory.id)).all()


def version_of(store, sid) -> str:
    return editing.get_station(store, ADMIN, sid)["updated_at"]


# --------------------------------------------------------------------------- parity

def import_problems(store, cells):
    """What the import says about one CSV row of 名称, 经度, 纬度, 服务, 开放时间."""
    out = io.StringIO()
    csv.writer(out).writerows([("名称", "经度", "纬度", "服务", "开放时间"), cells])
    plan = plan_import(store, out.getvalue().encode("utf-8"), datum="wgs84", regions=REGIONS)
    values = plan.planned[0].values if plan.planned else None
    return values, sorted((p.code, p.zh, p.en) for p in plan.problems)


PARITY = [
    # name, lon, lat, services, opening hours
    ("全角数字驿站", "１１４．５０１２", "３８．０１８８", ["饮水"], "全天"),
    ("度分秒驿站", "114°30'04.3\"E", "北纬38度1分7.7秒", [], "周一至周五 08:30-17:30"),
    ("非数驿站", "nan", "38.0188", [], ""),
    ("无穷驿站", "inf", "1e3", [], ""),
    ("控制字符\x07驿站", *SJZ_POINT, [], ""),
    ("反向\u202e驿站", *SJZ_POINT, [], ""),
    ("", *SJZ_POINT, [], ""),
    ("长" * 101, *SJZ_POINT, [], ""),
    ("服务驿站", *SJZ_POINT, ["饮水", "按摩", "toilet"], ""),
    ("时间驿站", *SJZ_POINT, [], "25:00-26:00"),
    ("时间驿站二", *SJZ_POINT, [], "有时候开"),
    ("颠倒驿站", SJZ_POINT[1], SJZ_POINT[0], [], ""),
    ("北京驿站", "116.3975", "39.9087", [], ""),
    ("逗号驿站", "114,5012", "38.0188", [], ""),
]


@pytest.mark.parametrize("cells", PARITY, ids=[c[0][:6] or "empty" for c in PARITY])
def test_the_form_validates_with_the_imports_rules_and_messages(store, cells):
    name, lon, lat, services, hours = cells
    imported_values, imported = import_problems(store, [name, lon, lat, "、".join(services),
                                                        hours])
    values, problems = editing.validate_input(
        form(name=name, lon=lon, lat=lat, services=services, opening_hours=hours),
        regions=REGIONS)
    assert sorted((p.code, p.zh, p.en) for p in problems) == imported
    if not imported:  # the same values, and the form's extra columns are empty
        assert {k: values[k] for k in imported_values} == imported_values
        assert {k: v for k, v in values.items() if k not in imported_values} == {
            "address": "", "host": "", "phone": "", "kind": "station"}


def test_form_problems_land_on_their_fields(store):
    _, problems = editing.validate_input(
        form(name="a\x07", lon="nan", lat="38", services=["按摩"], opening_hours="x",
             datum="wgs85"), regions=REGIONS)
    assert {p.field: p.code for p in problems} == {
        "name": "bad_text", "lon": "bad_coordinate", "services": "unknown_service",
        "opening_hours": "bad_opening_hours", "datum": "bad_value"}
    _, problems = editing.validate_input(form(lon=SJZ_POINT[1], lat=SJZ_POINT[0]),
                                         regions=REGIONS)
    assert [(p.field, p.code) for p in problems] == [("coordinates", "swapped_lat_lon")]


def test_a_duplicate_of_an_existing_site_is_refused_with_a_form_hint(store):
    first = create(store)
    with pytest.raises(Invalid) as e:
        create(store, name="另一个", lon="114.50121")  # < 10 m away
    (problem,) = e.value.problems
    assert (problem.field, problem.code) == ("coordinates", "duplicate_existing")
    assert first in problem.zh and "编号" not in problem.zh and "站点列表" in problem.zh
    with pytest.raises(Invalid) as e:  # the same name within 100 m (here ~70 m)
        create(store, lon="114.5020")
    assert [p.code for p in e.value.problems] == ["duplicate_existing"]
    assert create(store, name="另一个", lon="114.5020").startswith("HB130104-")
    # a site is not its own duplicate
    record = editing.get_station(store, ADMIN, first)
    inp = editing.form_input(record)
    inp.name = "改名"
    assert editing.save_station(store, ADMIN, first, inp, regions=REGIONS).changed == ("name",)


def test_typed_gcj02_coordinates_are_converted_and_kept_as_source(store):
    sid = create(store, lon="114.5074", lat="38.0201", datum="gcj02")
    record = editing.get_station(store, ADMIN, sid)
    lon, lat = to_wgs84(114.5074, 38.0201, "gcj02")
    assert (record["lon"], record["lat"]) == (round(lon, 7), round(lat, 7))
    assert (record["source_lon"], record["source_lat"], record["source_datum"]) == (
        114.5074, 38.0201, "gcj02")
    # saving the WGS-84 form without moving the pin keeps the source values
    inp = editing.form_input(record)
    inp.host = "某银行"
    editing.save_station(store, ADMIN, sid, inp, regions=REGIONS)
    after = editing.get_station(store, ADMIN, sid)
    assert after["source_datum"] == "gcj02" and after["host"] == "某银行"


# --------------------------------------------------------------------------- writes

def test_every_write_bumps_the_version_once_and_records_history(store):
    v0 = store.data_version()
    sid = create(store, user=SJZ)
    assert store.data_version() == v0 + 1
    steps = []
    inp = editing.form_input(editing.get_station(store, ADMIN, sid))
    inp.name, inp.lon = "新名字", SJZ_OTHER[0]
    steps.append(("edit", lambda: editing.save_station(store, SJZ, sid, inp, regions=REGIONS)))
    steps.append(("close", lambda: editing.change_status(
        store, SJZ, sid, "close", version=version_of(store, sid), reopen_date="2026-06-01",
        reason="装修", on=TODAY)))
    steps.append(("reopen", lambda: editing.change_status(
        store, SJZ, sid, "reopen", version=version_of(store, sid))))
    steps.append(("verify", lambda: editing.verify_station(
        store, SJZ, sid, version=version_of(store, sid), on=TODAY)))
    steps.append(("remove", lambda: editing.change_status(
        store, SJZ, sid, "remove", version=version_of(store, sid), reason="场地收回")))
    for action, step in steps:
        before = editing.get_station(store, ADMIN, sid)
        version = store.data_version()
        step()
        after = editing.get_station(store, ADMIN, sid)
        assert store.data_version() == version + 1
        last = history(store, sid)[-1]
        assert (last.action, last.batch_id, last.changed_by) == (action, None, "sjz")
        assert last.before == before and last.after == after
        assert after["updated_by"] == "sjz" and after["updated_at"] > before["updated_at"]
    assert [h.action for h in history(store, sid)] == [
        "create", "edit", "close", "reopen", "verify", "remove"]
    final = editing.get_station(store, ADMIN, sid)
    assert (final["status"], final["status_reason"], final["reopen_date"]) == (
        "removed", "场地收回", None)
    assert final["name"] == "新名字" and final["lon"] == float(SJZ_OTHER[0])


def test_a_save_that_changes_nothing_writes_nothing(store):
    sid = create(store)
    version = store.data_version()
    inp = editing.form_input(editing.get_station(store, ADMIN, sid))
    inp.name = f"  {inp.name}\n"  # normalises to the same name
    assert editing.save_station(store, ADMIN, sid, inp, regions=REGIONS).changed == ()
    assert store.data_version() == version and len(history(store, sid)) == 1


def test_the_stamp_changes_only_the_verified_date(store):
    sid = create(store)
    before = editing.get_station(store, ADMIN, sid)
    after = editing.verify_station(store, SJZ, sid, version=before["updated_at"], on=TODAY)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"verified_at", "updated_at", "updated_by"}
    assert after["verified_at"] == "2026-05-01"


def test_the_default_day_is_asia_shanghai():
    assert editing.today() == dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def test_saving_after_someone_else_changed_the_site_is_refused(store):
    sid = create(store)
    mine = editing.form_input(editing.get_station(store, ADMIN, sid))
    theirs = editing.form_input(editing.get_station(store, ADMIN, sid))
    theirs.phone = "0311-12345678"
    editing.save_station(store, SJZ, sid, theirs, regions=REGIONS)
    snapshot = editing.get_station(store, ADMIN, sid)
    version, rows = store.data_version(), len(history(store, sid))
    mine.name = "我的改动"
    with pytest.raises(StaleEdit) as e:
        editing.save_station(store, ADMIN, sid, mine, regions=REGIONS)
    assert e.value.status == 409 and "sjz" in e.value.message and "没有保存" in e.value.message
    for stale in (lambda: editing.verify_station(store, ADMIN, sid, version=mine.version),
                  lambda: editing.change_status(store, ADMIN, sid, "remove", reason="x",
                                                version=mine.version)):
        with pytest.raises(StaleEdit):
            stale()
    assert editing.get_station(store, ADMIN, sid) == snapshot
    assert store.data_version() == version and len(history(store, sid)) == rows


def test_status_rules(store):
    sid = create(store)
    v = version_of(store, sid)
    cases = [
        (dict(action="close"), "reopen_date", "required"),
        (dict(action="close", reopen_date="2026-04-30"), "reopen_date", "past_date"),
        (dict(action="close", reopen_date="明天"), "reopen_date", "bad_value"),
        (dict(action="close", reopen_date="2026-05-02", reason="a\u202eb"), "reason",
         "bad_text"),
        (dict(action="remove"), "reason", "bad_text"),
        (dict(action="remove", reason="  \n "), "reason", "bad_text"),
        (dict(action="remove", reason="长" * 201), "reason", "bad_text"),
    ]
    for kw, where, code in cases:
        with pytest.raises(Invalid) as e:
            editing.change_status(store, ADMIN, sid, kw.pop("action"), version=v, on=TODAY,
                                  **kw)
        assert [(p.field, p.code) for p in e.value.problems] == [(where, code)]
        assert all(p.zh and p.en for p in e.value.problems)
    with pytest.raises(BadRequest):
        editing.change_status(store, ADMIN, sid, "explode", version=v)
    record = editing.change_status(store, ADMIN, sid, "close", version=v, on=TODAY,
                                   reopen_date="２０２６-05-01")  # today is allowed
    assert (record["status"], record["reopen_date"], record["status_reason"]) == (
        "temporarily_closed", "2026-05-01", None)
    record = editing.change_status(store, ADMIN, sid, "reopen", version=record["updated_at"])
    assert (record["status"], record["reopen_date"], record["status_reason"]) == (
        "active", None, None)
    assert len(history(store, sid)) == 3  # create, close, reopen: refusals wrote nothing


# --------------------------------------------------------------------------- ids

def test_ids_come_from_the_county_counter_and_are_never_reused(store):
    rows = "名称,经度,纬度\n一号,114.5012,38.0188\n二号,114.4962,38.0188\n".encode()
    plan = plan_import(store, rows, datum="wgs84", regions=REGIONS)
    batch = apply_import(store, plan, user="imp")
    imported = sorted(h.station_id for h in _all_history(store))
    assert imported == ["HB130104-0001", "HB130104-0002"]
    undo_import(store, batch, user="imp")
    sid = create(store, name="三号", lon="114.4912")
    assert sid == "HB130104-0003"  # 0001 and 0002 were used once: never again
    assert create(store, name="四号", lon="114.5012") == "HB130104-0004"
    assert create(store, name="唐山", lon=TS_POINT[0], lat=TS_POINT[1]).startswith("HB130203-")
    with store.read() as s:
        assert s.get(IdCounter, "130104").last_number == 4
        # every id is unique, as a primary key must be
        assert s.scalar(select(func.count()).select_from(Station)) == 3


def _all_history(store):
    with store.read() as s:
        return s.scalars(select(StationHistory)).all()


def test_an_edit_blocks_undoing_the_import_that_created_the_site(store):
    plan = plan_import(store, "名称,经度,纬度\n一号,114.5012,38.0188\n".encode(),
                       datum="wgs84", regions=REGIONS)
    batch = apply_import(store, plan, user="imp")
    (sid,) = [h.station_id for h in _all_history(store)]
    editing.verify_station(store, SJZ, sid, version=version_of(store, sid))
    with pytest.raises(Conflict) as e:
        undo_import(store, batch, user="imp")
    assert sid in e.value.message and "sjz" in e.value.message
    record, entries = editing.station_history(store, ADMIN, sid)
    assert [(x.action, x.batch_id) for x in entries] == [("verify", None), ("create", batch)]


# --------------------------------------------------------------------------- districts

def test_district_staff_see_and_change_only_their_district(store):
    mine = create(store, user=SJZ)
    theirs = create(store, user=TS, lon=TS_POINT[0], lat=TS_POINT[1])
    v = version_of(store, theirs)
    before = editing.get_station(store, ADMIN, theirs)
    for call in (
        lambda: editing.get_station(store, SJZ, theirs),
        lambda: editing.save_station(store, SJZ, theirs, editing.form_input(before),
                                     regions=REGIONS),
        lambda: editing.change_status(store, SJZ, theirs, "remove", version=v, reason="x"),
        lambda: editing.verify_station(store, SJZ, theirs, version=v),
        lambda: editing.station_history(store, SJZ, theirs),
        lambda: editing.get_station(store, SJZ, "HB999999-0001"),
    ):
        with pytest.raises(NotFound):
            call()
    assert editing.get_station(store, ADMIN, theirs) == before
    # no pin moved, no site created outside one's district
    inp = editing.form_input(editing.get_station(store, SJZ, mine))
    inp.lon, inp.lat = TS_OTHER
    for call in (lambda: editing.save_station(store, SJZ, mine, inp, regions=REGIONS),
                 lambda: create(store, user=SJZ, lon=TS_OTHER[0], lat=TS_OTHER[1])):
        with pytest.raises(Invalid) as e:
            call()
        (problem,) = e.value.problems
        assert (problem.field, problem.code) == ("coordinates", "outside_district")
        assert "唐山市" in problem.zh and "石家庄市" in problem.zh
    # admins may
    editing.save_station(store, ADMIN, mine, inp, regions=REGIONS)
    assert editing.get_station(store, ADMIN, mine)["district_code"] == "130200"
    with pytest.raises(NotFound):
        editing.get_station(store, SJZ, mine)
    # the list: always one's own district, whatever is asked
    page = editing.list_stations(store, TS, district="130100")
    assert sorted(r.id for r in page.rows) == sorted([mine, theirs])
    assert editing.list_stations(store, SJZ, district="130200").total == 0


def test_locate_checks_typed_or_dragged_coordinates(store):
    here = editing.locate_input("38.0188", "114.5012", "wgs84", regions=REGIONS, user=SJZ)
    assert not here["ok"] and here["problems"][0]["code"] == "swapped_lat_lon"
    there = editing.locate_input(*TS_POINT, "wgs84", regions=REGIONS, user=SJZ, lang="en")
    assert not there["ok"] and there["county_name"] == "路北区"
    assert there["problems"][0]["code"] == "outside_district"
    assert "outside your district" in there["problems"][0]["message"]
    gcj = editing.locate_input("114.5074", "38.0201", "gcj02", regions=REGIONS, user=SJZ,
                               display_datum="gcj02")
    lon, lat = to_wgs84(114.5074, 38.0201, "gcj02")
    assert gcj["ok"] and gcj["display"] == [114.5074, 38.0201]
    assert (gcj["lon"], gcj["lat"]) == (round(lon, 7), round(lat, 7))


# --------------------------------------------------------------------------- list

def oracle(rows, user, q="", district=None, kind=None, status=None, stale=False, on=TODAY):
    """The list's rules, written plainly over every row."""
    text = editing.search_text(q)

    def lower(s):  # SQLite's lower(): ASCII letters only
        return "".join(c.lower() if c.isascii() else c for c in s)

    out = []
    for r in sorted(rows, key=lambda r: r["id"]):
        if user.role != "admin" and r["district_code"] != user.district_code:
            continue
        if district and user.role == "admin" and r["district_code"] != district:
            continue
        if (kind and r["kind"] != kind) or (status and r["status"] != status):
            continue
        if stale and r["verified_at"] and (on - r["verified_at"]).days <= 365:
            continue
        if text and not any(lower(text) in lower(r[f] or "")
                            for f in ("name", "address", "id", "host")):
            continue
        out.append(r["id"])
    return out


def test_the_list_matches_a_plain_filter(store):
    names = ["ABC驿站", "abc小屋", "50%_驿站", "Ünïcode站", "石家庄裕华驿站", "唐山驿站"]
    for i, name in enumerate(names):
        where = TS_POINT if name == "唐山驿站" else (f"{114.50 + i * 0.01:.4f}", SJZ_POINT[1])
        create(store, name=name, lon=where[0], lat=where[1], host=f"主办{i}",
               kind="mother_room" if i % 2 else "station")
    sid = create(store, name="核实过", lon="114.45", host="Bank")
    editing.verify_station(store, ADMIN, sid, version=version_of(store, sid), on=TODAY)
    with store.read() as s:
        rows = [{c.name: getattr(x, c.key) for c in Station.__table__.columns}
                for x in s.scalars(select(Station))]
    for user in (ADMIN, SJZ, TS):
        for kw in ({}, {"q": "abc"}, {"q": "ABC"}, {"q": "驿站"}, {"q": "50%_"}, {"q": "%"},
                   {"q": "_"}, {"q": "hb130104"}, {"q": "主办3"}, {"q": "bank"},
                   {"q": "ünï"}, {"q": " 裕华 "}, {"district": "130200"},
                   {"kind": "mother_room"}, {"stale": True}, {"status": "removed"},
                   {"q": "驿站", "kind": "station", "district": "130100"}):
            page = editing.list_stations(store, user, on=TODAY, **kw)
            expected = oracle(rows, user, **kw)
            assert page.total == len(expected), (user.username, kw)
            assert [r.id for r in page.rows] == expected[:editing.PAGE_SIZE], kw
    with pytest.raises(BadRequest):
        editing.list_stations(store, ADMIN, kind="shop")


def test_list_pages_hold_50_and_clamp(store):
    with store.write() as s:
        for i in range(120):
            s.add(Station(id=f"HB130104-{i + 1:04d}", kind="station", name=f"站{i}",
                          address="", district_code="130100", district_name="石家庄市",
                          county_code="130104", county_name="桥西区", lon=114.5, lat=38.0,
                          services=[], updated_at=dt.datetime.now(dt.UTC)))
    pages = [editing.list_stations(store, ADMIN, page=p) for p in (0, 1, 2, 3, 99)]
    assert [len(p.rows) for p in pages] == [50, 50, 50, 20, 20]
    assert [p.page for p in pages] == [1, 1, 2, 3, 3] and pages[0].pages == 3
    ids = [r.id for p in pages[1:4] for r in p.rows]
    assert ids == sorted(ids) and len(set(ids)) == 120 and pages[0].total == 120


def test_history_survives_an_undone_import_and_is_limited_by_district(store):
    plan = plan_import(store, "名称,经度,纬度\n一号,118.1687,39.6452\n".encode(),
                       datum="wgs84", regions=REGIONS)
    batch = apply_import(store, plan, user="imp")
    (sid,) = {h.station_id for h in _all_history(store)}
    undo_import(store, batch, user="imp")
    record, entries = editing.station_history(store, TS, sid)
    assert record is None and [e.action for e in entries] == ["undo", "create"]
    assert {c.field for c in entries[0].changes} >= {"name", "lon", "lat"}
    assert all(c.new is None for c in entries[0].changes)
    with pytest.raises(NotFound):
        editing.station_history(store, SJZ, sid)
    with pytest.raises(NotFound):
        editing.station_history(store, ADMIN, "HB130104-9999")


# --------------------------------------------------------------------------- property

@pytest.fixture(scope="module")
def roundtrip_store(tmp_path_factory):
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('edit') / 'store.sqlite3'}")
    s.upgrade()
    sid = editing.create_station(s, ADMIN, form(), regions=REGIONS)
    yield s, sid
    s.dispose()


TEXT = st.text(st.sampled_from(list("驿站路号ABCabc 0123<>&\"'`${}\\/=+-@;，、（）")),
               max_size=30)
HOURS = st.sampled_from(["", "全天", "24小时", "08:00-20:00", "8:00-20:00",
                         "周一至周五 08:30-17:30", "Mo-Fr 08:00-18:00", "24/7",
                         "Mo-Sa 07:00-21:00; Su off"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=TEXT.filter(lambda s: s.strip()), address=TEXT, host=TEXT, phone=TEXT,
       services=st.lists(st.sampled_from(SERVICES), unique=True), hours=HOURS,
       kind=st.sampled_from(["station", "mother_room"]),
       dx=st.integers(-2000, 2000), dy=st.integers(-2000, 2000),
       datum=st.sampled_from(["wgs84", "gcj02", "bd09"]))
@example(name="<img src=x onerror=alert(1)>${x}", address="", host="", phone="", services=[],
         hours="", kind="station", dx=0, dy=0, datum="wgs84")
def test_save_then_history_round_trips_records(roundtrip_store, name, address, host, phone,
                                               services, hours, kind, dx, dy, datum):
    store, sid = roundtrip_store
    before = editing.get_station(store, ADMIN, sid)
    inp = StationInput(name=name, kind=kind, address=address, services=services,
                       opening_hours=hours, host=host, phone=phone,
                       lon=f"{114.5012 + dx * 1e-6:.7f}", lat=f"{38.0188 + dy * 1e-6:.7f}",
                       datum=datum, version=before["updated_at"])
    result = editing.save_station(store, ADMIN, sid, inp, regions=REGIONS)
    after = editing.get_station(store, ADMIN, sid)
    entries = history(store, sid)
    if result.changed:
        # the history row holds exactly the records before and after the save ...
        assert entries[-1].before == before and entries[-1].after == after
        # ... and the "after" record is the row, column for column
        with store.read() as s:
            assert station_record(s.get(Station, sid)) == entries[-1].after
        assert set(result.changed) == {f for f in after if after[f] != before[f]} - {
            "updated_at", "updated_by", "synthetic"}
    else:
        assert after == before
    assert after["name"] == " ".join(name.split()) and after["services"] == [
        s for s in SERVICES if s in services]
    # the form of the saved site saves as "nothing changed"
    again = editing.save_station(store, ADMIN, sid, editing.form_input(after), regions=REGIONS)
    assert again.changed == ()
