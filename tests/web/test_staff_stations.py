"""Staff 站点管理 through the test client: list, form, status, stamp, history, districts."""

import datetime as dt
import html as html_mod
import re

import pytest
from sqlalchemy import select

from locator.editing.stations import PAGE_SIZE, STALE_AFTER_DAYS, search_text
from locator.geo.hours import TZ
from locator.imports.plan import apply_import, plan_import
from locator.store import accounts
from locator.store.models import Station, StationHistory
from locator.web import state as state_module
from tests.conftest import form_token

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture()
def app(fresh_demo_app, monkeypatch):
    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    state = fresh_demo_app.extensions["locator"]
    codes = state.district_codes()
    for name, role, district in (("admin1", "admin", None), ("sjz", "district", "130100"),
                                 ("tangshan", "district", "130200")):
        accounts.create_user(state.store, name, PASSWORD, role, district, codes)
    yield fresh_demo_app


def login(app, username):
    client = app.test_client()
    r = client.post("/staff/login", data={"csrf_token": form_token(client, "/staff/login"),
                                          "username": username, "password": PASSWORD})
    assert r.status_code == 302
    return client


def rows(app) -> list[dict]:
    with app.extensions["locator"].store.read() as s:
        return [{c.name: getattr(x, c.key) for c in Station.__table__.columns}
                for x in s.scalars(select(Station))]


def record(app, sid) -> dict:
    with app.extensions["locator"].store.read() as s:
        station = s.get(Station, sid)
        return {c.name: getattr(station, c.key) for c in Station.__table__.columns}


def first_id(app, district="130100", status="active") -> str:
    from sqlalchemy import func

    with app.extensions["locator"].store.read() as s:
        return s.scalar(select(func.min(Station.id)).where(Station.district_code == district,
                                                            Station.status == status))


def form_of(client, sid) -> dict:
    """The edit form's fields as the browser would post them."""
    page = client.get(f"/staff/stations/{sid}").get_data(as_text=True)
    main = page.split('class="st-form"', 1)[1].split("</form>", 1)[0]
    data = {}
    for tag in re.findall(r"<input[^>]*>", main):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or (("checkbox" in tag) and "checked" not in tag):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data.setdefault(name.group(1), []).append(html_mod.unescape(value.group(1))
                                                  if value else "")
    for select_html in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', main, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select_html[1])
        data[select_html[0]] = [chosen.group(1) if chosen else ""]
    return data


def status_version(client, sid) -> str:
    page = client.get(f"/staff/stations/{sid}").get_data(as_text=True)
    status_part = page.split('id="status-h"', 1)[1]
    return html_mod.unescape(re.search(r'name="version" value="([^"]+)"', status_part).group(1))


def listed(client, **params):
    r = client.get("/staff/stations", query_string=params)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    total = int(re.search(r'data-total="(\d+)"', page).group(1))
    return total, re.findall(r'<tr data-id="([^"]+)"', page)


# --------------------------------------------------------------------------- access

ROUTES = ["/staff/stations", "/staff/stations/new", "/staff/stations/{id}",
          "/staff/stations/{id}/history", "/staff/stations/locate?lon=114.5&lat=38"]


def test_every_page_needs_a_login(app):
    sid = first_id(app)
    client = app.test_client()
    for route in ROUTES:
        r = client.get(route.format(id=sid))
        assert r.status_code == 302 and "/staff/login" in r.headers["Location"], route
    before = record(app, sid)
    for path in (f"/staff/stations/{sid}", f"/staff/stations/{sid}/status",
                 f"/staff/stations/{sid}/verify"):
        r = client.post(path, data={"csrf_token": form_token(client, "/staff/login"),
                                    "name": "x", "action": "remove", "reason": "x"})
        assert r.status_code == 302 and "/staff/login" in r.headers["Location"]
    assert record(app, sid) == before


def test_posts_without_a_csrf_token_are_refused(app):
    sid = first_id(app)
    client = login(app, "admin1")
    data = form_of(client, sid)
    data.pop("csrf_token")
    data["name"] = ["无令牌"]
    assert client.post(f"/staff/stations/{sid}", data=data).status_code == 400
    assert client.post(f"/staff/stations/{sid}/verify",
                       data={"version": data["version"]}).status_code == 400
    assert record(app, sid)["name"] != "无令牌"


def test_the_section_is_in_the_staff_menu(app):
    page = login(app, "sjz").get("/staff/reports").get_data(as_text=True)
    assert 'href="/staff/stations"' in page and "站点管理" in page


def test_other_districts_sites_are_404_on_every_route(app):
    theirs = first_id(app, "130200")
    client = login(app, "sjz")
    before = record(app, theirs)
    version = before["updated_at"].isoformat()
    for route in ROUTES[2:4]:
        assert client.get(route.format(id=theirs)).status_code == 404
    token = form_token(client, "/staff/stations")
    for path, data in ((f"/staff/stations/{theirs}", {"name": "x", "lon": "118.17",
                                                      "lat": "39.64", "version": version}),
                       (f"/staff/stations/{theirs}/status", {"action": "remove",
                                                             "reason": "x",
                                                             "version": version}),
                       (f"/staff/stations/{theirs}/verify", {"version": version})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 404
    assert record(app, theirs) == before
    # the list holds only their own district, whatever is asked
    total, ids = listed(client, district="130200")
    assert total == sum(r["district_code"] == "130100" for r in rows(app))
    assert listed(client, q=theirs) == (0, [])
    assert "<select name=\"district\"" not in client.get("/staff/stations").get_data(
        as_text=True)


# --------------------------------------------------------------------------- list

def oracle(all_rows, *, district=None, q="", kind=None, status=None, stale=False):
    today = dt.datetime.now(TZ).date()
    text = search_text(q)

    def lower(s):  # SQLite lower(): ASCII only
        return "".join(c.lower() if c.isascii() else c for c in (s or ""))

    return sorted(
        r["id"] for r in all_rows
        if (not district or r["district_code"] == district)
        and (not kind or r["kind"] == kind) and (not status or r["status"] == status)
        and (not stale or r["verified_at"] is None
             or (today - r["verified_at"]).days > STALE_AFTER_DAYS)
        and (not text or any(lower(text) in lower(r[f])
                             for f in ("name", "address", "id", "host"))))


def test_search_and_filters_agree_with_a_plain_filter_over_the_rows(app):
    all_rows = rows(app)
    some = next(r for r in all_rows if r["district_code"] == "130100" and r["host"])
    queries = [{}, {"q": "驿站"}, {"q": "爱心"}, {"q": some["name"][2:6]},
               {"q": some["host"][:4]}, {"q": some["id"].lower()}, {"q": "hb1301"},
               {"q": "路"}, {"q": "  石家庄 "}, {"q": "%"}, {"q": "no such site"},
               {"kind": "mother_room"}, {"status": "temporarily_closed"}, {"stale": "1"},
               {"district": "131000", "q": "驿站", "kind": "station"}]
    admin, sjz = login(app, "admin1"), login(app, "sjz")
    for params in queries:
        for client, forced in ((admin, None), (sjz, "130100")):
            expected = oracle(all_rows, district=forced or params.get("district"),
                              q=params.get("q", ""), kind=params.get("kind"),
                              status=params.get("status"), stale=params.get("stale") == "1")
            total, ids = listed(client, **params)
            assert total == len(expected), params
            assert ids == expected[:PAGE_SIZE], params
            if total > PAGE_SIZE:
                assert listed(client, **params, page=2)[1] == expected[PAGE_SIZE:2 * PAGE_SIZE]


def test_the_list_shows_what_a_row_needs(app):
    sid = first_id(app)
    client = login(app, "admin1")
    token = form_token(client, f"/staff/stations/{sid}")
    reopen = (dt.datetime.now(TZ).date() + dt.timedelta(days=10)).isoformat()
    client.post(f"/staff/stations/{sid}/status", data={
        "csrf_token": token, "action": "close", "reopen_date": reopen,
        "version": status_version(client, sid)})
    page = client.get("/staff/stations", query_string={"q": sid}).get_data(as_text=True)
    row = page.split(f'<tr data-id="{sid}"', 1)[1].split("</tr>", 1)[0]
    r = record(app, sid)
    for text in (r["name"], r["district_name"], r["county_name"], "暂停开放", reopen,
                 f'/staff/stations/{sid}"'):
        assert text in row
    assert "共 1 个站点" in page


# --------------------------------------------------------------------------- form

def test_editing_a_site_reaches_the_public_api(app):
    sid = first_id(app)
    client = login(app, "sjz")
    public = app.test_client()
    assert public.get(f"/api/v1/stations/{sid}").status_code == 200
    data = form_of(client, sid)
    assert data["version"] == [record(app, sid)["updated_at"].isoformat()]
    data.update(name=["新华路环卫驿站"], services=["饮水", "toilet"], opening_hours=["全天"],
                phone=["0311-66668888"])
    r = client.post(f"/staff/stations/{sid}", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/staff/stations/{sid}")
    assert "已保存" in client.get(f"/staff/stations/{sid}").get_data(as_text=True)
    props = public.get(f"/api/v1/stations/{sid}").json["properties"]
    assert (props["name"], props["services"], props["opening_hours"], props["phone"]) == (
        "新华路环卫驿站", ["drinking_water", "toilet"], "24/7", "0311-66668888")
    r = record(app, sid)
    assert r["updated_by"] == "sjz"
    with app.extensions["locator"].store.read() as s:
        last = s.scalars(select(StationHistory).where(StationHistory.station_id == sid)
                         .order_by(StationHistory.id.desc())).first()
    assert (last.action, last.changed_by, last.after["name"]) == ("edit", "sjz", "新华路环卫驿站")


def test_a_moved_pin_rederives_the_district_and_county_on_the_server(app):
    sid = first_id(app)
    client = login(app, "admin1")
    data = form_of(client, sid)
    data.update(lon=["118.1800"], lat=["39.6300"], district_code=["130100"],
                county_name=["桥西区"])  # derived fields are never taken from input
    assert client.post(f"/staff/stations/{sid}", data=data).status_code == 302
    r = record(app, sid)
    assert (r["district_code"], r["county_name"], r["lon"]) == ("130200", "路北区", 118.18)
    feature = app.test_client().get(f"/api/v1/stations/{sid}").json
    assert feature["geometry"]["coordinates"] == [118.18, 39.63]


def test_errors_are_shown_beside_the_fields_and_nothing_typed_is_lost(app):
    sid = first_id(app)
    client = login(app, "admin1")
    before = record(app, sid)
    data = form_of(client, sid)
    data.update(name=["坏\u202e名字"], lon=["nan"], lat=["３８．０４"], services=["饮水", "按摩"],
                opening_hours=["有时候开"], host=[XSS], address=["中山路 1 号"])
    r = client.post(f"/staff/stations/{sid}", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    for message in ("名称中含有不可见的格式字符（U+202E），请删除它",
                    "经度有误：「nan」不是可识别的坐标", "不认识的服务「按摩」",
                    "无法识别开放时间「有时候开」"):
        assert message in page
    # each message sits right after its field
    assert re.search(r'id="f-hours"[^>]*aria-invalid="true".*?</p>\s*<p class="field-error"',
                     page, re.S)
    for typed in ('value="坏\u202e名字"', 'value="nan"', 'value="３８．０４"',
                  'value="有时候开"', 'value="中山路 1 号"', 'value="按摩" checked',
                  'value="drinking_water" checked', html_mod.escape(XSS, quote=True)):
        assert typed in page, typed
    assert record(app, sid) == before


def test_english_messages_in_english(app):
    sid = first_id(app)
    client = login(app, "admin1")
    client.get("/lang/en")
    data = form_of(client, sid)
    data.update(lon=["nan"])
    page = client.post(f"/staff/stations/{sid}", data=data).get_data(as_text=True)
    assert "bad longitude: &#39;nan&#39; is not a coordinate" in page


def test_saving_over_someone_elses_change_is_refused(app):
    sid = first_id(app)
    mine, theirs = login(app, "admin1"), login(app, "sjz")
    my_form, their_form = form_of(mine, sid), form_of(theirs, sid)
    their_form["host"] = ["某加油站"]
    assert theirs.post(f"/staff/stations/{sid}", data=their_form).status_code == 302
    after_theirs = record(app, sid)
    version = app.extensions["locator"].store.data_version()
    my_form["name"] = ["我的新名字"]
    r = mine.post(f"/staff/stations/{sid}", data=my_form)
    page = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "没有保存" in page and "sjz" in page and 'value="我的新名字"' in page
    assert record(app, sid) == after_theirs
    assert app.extensions["locator"].store.data_version() == version


def test_a_new_site_gets_the_next_id_of_its_county(app):
    client = login(app, "sjz")
    county_ids = [r["id"] for r in rows(app) if r["county_code"] == "130104"]
    last = max(int(i.rsplit("-", 1)[1]) for i in county_ids)
    page = client.get("/staff/stations/new").get_data(as_text=True)
    assert "新建站点" in page and 'name="version" value=""' in page
    data = {"csrf_token": form_token(client, "/staff/stations/new"), "name": "全新驿站",
            "kind": "station", "lon": "114.4931", "lat": "38.0233", "datum": "wgs84",
            "services": ["drinking_water"], "version": ""}
    r = client.post("/staff/stations/new", data=data)
    assert r.status_code == 302
    new_id = f"HB130104-{last + 1:04d}"
    assert r.headers["Location"].endswith(f"/staff/stations/{new_id}")
    created = record(app, new_id)
    assert (created["name"], created["status"], created["updated_by"]) == (
        "全新驿站", "active", "sjz")
    assert app.test_client().get(f"/api/v1/stations/{new_id}").status_code == 200
    # outside one's district: a clear field error, nothing created
    data.update(name="唐山的驿站", lon="118.1800", lat="39.6300")
    r = client.post("/staff/stations/new", data=data)
    assert r.status_code == 422
    assert "不在你负责的石家庄市内" in r.get_data(as_text=True)
    assert not any(x["name"] == "唐山的驿站" for x in rows(app))


# --------------------------------------------------------------------------- status

def nearest_ids(app, r, **extra):
    q = {"lon": r["lon"], "lat": r["lat"], "k": 3, **extra}
    return [f["id"] for f in app.test_client().get("/api/v1/nearest",
                                                   query_string=q).json["features"]]


def test_status_flows_reach_the_public_map_and_api(app):
    sid = first_id(app)
    client = login(app, "sjz")
    public = app.test_client()
    r0 = record(app, sid)
    path = f"/staff/stations/{sid}/status"
    token = form_token(client, f"/staff/stations/{sid}")
    today = dt.datetime.now(TZ).date()

    # closing needs a reopen date that is not in the past
    for date, message in (("", "请填写预计恢复开放的日期"),
                          ((today - dt.timedelta(days=1)).isoformat(), "不能早于今天")):
        r = client.post(path, data={"csrf_token": token, "action": "close", "reopen_date": date,
                                    "reason": "装修", "version": status_version(client, sid)})
        assert r.status_code == 422 and message in r.get_data(as_text=True)
        assert 'value="装修"' in r.get_data(as_text=True)  # what was typed is kept
    reopen = (today + dt.timedelta(days=14)).isoformat()
    r = client.post(path, data={"csrf_token": token, "action": "close", "reopen_date": reopen,
                                "reason": "装修", "version": status_version(client, sid)})
    assert r.status_code == 302
    assert sid not in nearest_ids(app, r0)
    assert sid in nearest_ids(app, r0, include_closed=1)
    page = public.get(f"/stations/{sid}").get_data(as_text=True)
    assert "暂停开放" in page and f"预计 {reopen} 恢复开放" in page

    # removing needs a reason; then the site is gone from the public side
    r = client.post(path, data={"csrf_token": token, "action": "remove", "reason": "",
                                "version": status_version(client, sid)})
    assert r.status_code == 422 and "撤销原因不能为空" in r.get_data(as_text=True)
    r = client.post(path, data={"csrf_token": token, "action": "remove", "reason": "场地收回",
                                "version": status_version(client, sid)})
    assert r.status_code == 302
    assert public.get(f"/api/v1/stations/{sid}").status_code == 404
    assert public.get(f"/stations/{sid}").status_code == 404
    assert sid not in nearest_ids(app, r0, include_closed=1)
    bbox = f"{r0['lon'] - 0.001},{r0['lat'] - 0.001},{r0['lon'] + 0.001},{r0['lat'] + 0.001}"
    assert sid not in [f["id"] for f in public.get(f"/api/v1/stations?bbox={bbox}").json[
        "features"]]
    assert listed(client, status="removed", q=sid)[1] == [sid]  # staff still see it

    # and back
    r = client.post(path, data={"csrf_token": token, "action": "reopen",
                                "version": status_version(client, sid)})
    assert r.status_code == 302
    assert nearest_ids(app, r0)[0] == sid
    assert record(app, sid)["status_reason"] is None


def test_still_correct_stamps_today_and_nothing_else(app):
    sid = first_id(app)
    client = login(app, "sjz")
    before = record(app, sid)
    r = client.post(f"/staff/stations/{sid}/verify", data={
        "csrf_token": form_token(client, f"/staff/stations/{sid}"),
        "version": status_version(client, sid)})
    assert r.status_code == 302
    after = record(app, sid)
    assert after["verified_at"] == dt.datetime.now(TZ).date()
    assert {k for k in before if before[k] != after[k]} == {
        "verified_at", "updated_at", "updated_by"}
    page = client.get(f"/staff/stations/{sid}/history").get_data(as_text=True)
    assert "确认仍然正确" in page
    # a stale stamp is refused
    r = client.post(f"/staff/stations/{sid}/verify", data={
        "csrf_token": form_token(client, f"/staff/stations/{sid}"),
        "version": before["updated_at"].isoformat()})
    assert r.status_code == 409 and record(app, sid) == after


# --------------------------------------------------------------------------- history

def test_history_lists_every_change_newest_first_with_the_import_batch(app):
    store = app.extensions["locator"].store
    regions = app.extensions["locator"].regions()
    plan = plan_import(store, "名称,经度,纬度,服务\n导入的驿站,114.4871,38.0262,饮水、卫生间\n"
                       .encode(), datum="wgs84", regions=regions)
    batch = apply_import(store, plan, user="importer")
    sid = next(r["id"] for r in rows(app) if r["name"] == "导入的驿站")
    client = login(app, "sjz")
    data = form_of(client, sid)
    data.update(services=["hot_water", "toilet"], name=["改过名的驿站"])
    client.post(f"/staff/stations/{sid}", data=data)
    client.post(f"/staff/stations/{sid}/verify", data={
        "csrf_token": form_token(client, f"/staff/stations/{sid}"),
        "version": status_version(client, sid)})
    page = client.get(f"/staff/stations/{sid}/history").get_data(as_text=True)
    actions = re.findall(r'data-action="([a-z]+)"', page)
    assert actions == ["verify", "edit", "create"]
    assert f'href="/staff/imports/{batch}"' in page and "导入新增" in page
    edit = page.split('data-action="edit"', 1)[1].split("</li>", 1)[0]
    assert "导入的驿站" in edit and "改过名的驿站" in edit
    assert "饮水、卫生间" in edit and "热水、卫生间" in edit  # services as labels
    assert "importer" in page and "sjz" in page


# --------------------------------------------------------------------------- XSS

def test_a_hostile_name_stays_text_everywhere(app):
    sid = first_id(app)
    client = login(app, "admin1")
    data = form_of(client, sid)
    data["name"] = [XSS + "${alert(2)}`"]
    assert client.post(f"/staff/stations/{sid}", data=data).status_code == 302
    assert record(app, sid)["name"] == XSS + "${alert(2)}`"
    pages = {
        "list": client.get("/staff/stations", query_string={"q": sid}),
        "form": client.get(f"/staff/stations/{sid}"),
        "history": client.get(f"/staff/stations/{sid}/history"),
    }
    for where, r in pages.items():
        page = r.get_data(as_text=True)
        assert "<img src=x" not in page, where
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, where
    # the map's inline configuration is JSON that cannot end its <script> element
    form_page = pages["form"].get_data(as_text=True)
    config = re.search(r'<script id="station-map-config" type="application/json">(.*?)</script>',
                       form_page, re.S).group(1)
    assert "<" not in config


def test_locate_answers_for_the_pin(app):
    client = login(app, "sjz")
    here = client.get("/staff/stations/locate",
                      query_string={"lon": "114°29'12\"E", "lat": "38.0233"}).json
    assert here["ok"] and here["county_name"] == "桥西区" and here["display"][1] == 38.0233
    away = client.get("/staff/stations/locate", query_string={"lon": "118.18",
                                                              "lat": "39.63"}).json
    assert not away["ok"] and away["problems"][0]["code"] == "outside_district"
    bad = client.get("/staff/stations/locate", query_string={"lon": "inf", "lat": "1"}).json
    assert not bad["ok"] and "display" not in bad
