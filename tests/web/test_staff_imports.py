"""Staff import pages (upload → check → publish → undo) through the test client, over a
writable copy of the demo database and the real boundaries."""

import html
import io
import json
import re
import shutil
import time
from pathlib import Path

import pyjsparser
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from locator import create_app
from locator.imports.uploads import UploadArea
from locator.store import accounts
from locator.store.models import ImportBatch
from tests.conftest import form_token

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
PASSWORD = "correct horse battery"
STALE = "预览之后数据有变动，请重新检查后再发布"
# Two new sites in 石家庄's 长安区 (far from every demo site of the same kind).
CLEAN_CSV = ("名称,经度,纬度,地址,服务\n"
             "测试新建驿站甲,114.5731,38.0682,长安区测试路1号,饮水、热水\n"
             "测试新建驿站乙,114.5790,38.0712,长安区测试路2号,卫生间\n").encode()


@pytest.fixture(scope="module")
def users_db(demo_db, tmp_path_factory):
    """A copy of the demo database with four staff accounts (hashing them once)."""
    from locator.geo.regions import load_regions
    from locator.store.store import Store

    path = tmp_path_factory.mktemp("imports-users") / "locator.sqlite3"
    shutil.copyfile(demo_db, path)
    store = Store(f"sqlite:///{path}")
    districts = tuple(load_regions(ROOT / "geodata" / "hebei_regions.geojson")
                      .district_names())
    for name, role, district in (("admin1", "admin", None), ("admin2", "admin", None),
                                 ("sjz", "district", "130100"),
                                 ("tangshan", "district", "130200")):
        accounts.create_user(store, name, PASSWORD, role, district, districts)
    store.dispose()
    return path


@pytest.fixture()
def app(users_db, tmp_path, monkeypatch):
    """A writable app over its own copy of the demo database with the staff accounts."""
    from locator.web import state as state_module

    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)  # see writes at once
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copyfile(users_db, instance / "locator.sqlite3")
    application = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})
    yield application
    application.extensions["locator"].store.dispose()


def login(app, username):
    client = app.test_client()
    r = client.post("/staff/login", data={"csrf_token": form_token(client, "/staff/login"),
                                          "username": username, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def upload(client, data, *, filename="stations.csv", datum="wgs84", token=None):
    """POST a file to the upload form; returns the response (303 to the check page)."""
    token = token or form_token(client, "/staff/imports")
    return client.post("/staff/imports", data={
        "csrf_token": token, "datum": datum,
        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def check(client, data, **kw):
    """Upload and follow to the check page; returns (check path, html)."""
    r = upload(client, data, **kw)
    assert r.status_code == 303, r.get_data(as_text=True)
    path = r.headers["Location"]
    page = client.get(path)
    assert page.status_code == 200
    return path, page.get_data(as_text=True)


def publish_form(page):
    """The hidden fields of the publish form on a check page."""
    fields = dict(re.findall(r'name="(csrf_token|data_version|sha256)" value="([^"]*)"', page))
    action = re.search(r'<form method="post" action="([^"]+/publish)"', page).group(1)
    return action, fields


def publish(client, path, page):
    action, fields = publish_form(page)
    return client.post(action, data=fields)


def summary(page):
    m = re.search(r"共 (\d+) 行：新增 (\d+)，更新 (\d+)，不变 (\d+)，有问题 (\d+)", page)
    return tuple(int(x) for x in m.groups()) if m else None


def problem_rows(page):
    """[[row, column, code]] of the problems table."""
    rows = re.findall(r'<tr data-code="([a-z_]+)"><td>(.*?)</td><td>(.*?)</td>', page)
    return [[None if row == "整个文件" else int(row), html.unescape(column) or None, code]
            for code, row, column in rows]


def expected(name):
    return json.loads((CORPUS / "expected" / f"{name}.json").read_text(encoding="utf-8"))


def batches(app):
    with app.extensions["locator"].store.read() as s:
        return s.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()


# --------------------------------------------------------------------------- access

def test_every_route_needs_a_login(app):
    owner = login(app, "admin1")
    path, page = check(owner, CLEAN_CSV)
    batch_id = publish(owner, path, page).headers["Location"].rsplit("/", 1)[1]
    anonymous = app.test_client()
    for url in ("/staff/imports", "/staff/imports/template.xlsx", path,
                path + "/problems.xlsx", f"/staff/imports/{batch_id}"):
        r = anonymous.get(url)
        assert r.status_code == 302 and "/staff/login" in r.headers["Location"], url
    token = form_token(anonymous, "/staff/login")
    for url in ("/staff/imports", path + "/publish", f"/staff/imports/{batch_id}/undo"):
        r = anonymous.post(url, data={"csrf_token": token})
        assert r.status_code == 302 and "/staff/login" in r.headers["Location"], url
    assert [b.undone_at for b in batches(app)] == [None]


def test_every_post_needs_the_csrf_token(app):
    client = login(app, "admin1")
    r = client.post("/staff/imports", data={"datum": "wgs84",
                                            "file": (io.BytesIO(CLEAN_CSV), "a.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    assert not (Path(app.instance_path) / "uploads").exists()
    path, page = check(client, CLEAN_CSV)
    _, fields = publish_form(page)
    r = client.post(path + "/publish", data={k: v for k, v in fields.items()
                                             if k != "csrf_token"})
    assert r.status_code == 400 and batches(app) == []
    publish(client, path, page)
    (batch,) = batches(app)
    r = client.post(f"/staff/imports/{batch.id}/undo", data={})
    assert r.status_code == 400 and batches(app)[0].undone_at is None


def test_upload_page_offers_the_datums_the_template_and_the_batches(app):
    client = login(app, "admin1")
    page = client.get("/staff/imports").get_data(as_text=True)
    assert "坐标从高德/腾讯地图取得 → GCJ-02；从百度取得 → BD-09；GPS/天地图 → WGS-84" in page
    radios = re.findall(r'<input type="radio" name="datum" value="(\w+)"( checked)?', page)
    assert radios == [("wgs84", " checked"), ("gcj02", ""), ("bd09", "")]
    assert "正在检查…" in page and 'enctype="multipart/form-data"' in page
    assert 'href="/staff/imports/template.xlsx"' in page
    assert 'href="/staff/imports"' in page  # the staff menu shows the section
    r = client.get("/staff/imports/template.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(r.data)).sheetnames[0] == "站点"


# --------------------------------------------------------------------------- check

@pytest.mark.parametrize("name", ["gbk_excel.csv", "title_row.xlsx", "dms.csv",
                                  "payloads.csv", "update.csv"])
def test_check_shows_the_corpus_report(app, name):
    spec = expected(name)
    want = spec["report"]
    client = login(app, "admin1")
    _, page = check(client, (CORPUS / "files" / name).read_bytes(), filename=name,
                    datum=spec["datum"])
    counted = want["new"] + want["changed"] + want["unchanged"]
    assert summary(page) == (want["rows"], want["new"], want["changed"], want["unchanged"],
                             want["rows"] - counted)
    assert problem_rows(page) == want["problems"]
    publish_button = re.search(r'<button type="submit" class="primary" id="publish"[^>]*>', page)
    assert ("disabled" in publish_button.group(0)) == (not want["ok"])


@pytest.mark.parametrize("name", ["zip_slip.zip", "billion_laughs.xlsx", "old_excel.xls"])
def test_a_refused_file_shows_one_clear_message_and_a_way_back(app, name):
    want = expected(name)["report"]
    client = login(app, "admin1")
    _, page = check(client, (CORPUS / "files" / name).read_bytes(), filename=name)
    assert "这个文件不能导入" in page and "返回，重新选择文件" in page
    assert summary(page) is None and 'id="publish"' not in page
    assert want["problems"][0][2] in ("unsupported_file", "unreadable_file")
    assert "Traceback" not in page


def test_check_is_in_english_when_the_ui_is(app):
    client = login(app, "admin1")
    client.set_cookie("lang", "en")
    _, page = check(client, (CORPUS / "files" / "dms.csv").read_bytes())
    assert "bad longitude" in page and "经度有误" not in page


def test_problems_are_split_into_what_and_how_to_fix(app):
    client = login(app, "admin1")
    _, page = check(client, (CORPUS / "files" / "update.csv").read_bytes())
    row = re.search(r'<tr data-code="unknown_id">(.*?)</tr>', page).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[2] == "编号「HB139999-0001」不存在"
    assert cells[3] == "新站点请留空，系统会自动编号"


def test_changed_rows_and_the_map_of_new_and_moved_points(app):
    client = login(app, "admin1")
    _, page = check(client, (CORPUS / "files" / "update.csv").read_bytes())
    assert "<b>名称</b>：前进街环卫工人爱心驿站 → 前进街环卫工人爱心驿站（新址）" in page
    assert "<b>位置</b>：114.548946, 38.035861 → 114.549946, 38.035861（移动 88 米）" in page
    data = json.loads(re.search(r'<script id="import-map-data" type="application/json">(.*?)'
                                r"</script>", page, re.S).group(1))
    assert data["new"] == [[116.8921, 38.2899, "全新驿站", 5]]
    assert data["moved"] == [[114.548946, 38.035861, 114.549946, 38.035861,
                              "前进街环卫工人爱心驿站（新址）", "HB130102-0002"]]
    assert '/vendor/leaflet/leaflet.js' in page and "imports.js" in page
    assert "cdn" not in page.lower() and "unpkg" not in page
    inline = re.findall(r"<script(?: nonce=\"[^\"]+\")?>(.*?)</script>", page, re.S)
    assert inline
    for script in inline:  # old WebViews run ES5 only (see test_es5.py)
        pyjsparser.parse(script)


def test_the_annotated_sheet_downloads_and_opens(app):
    client = login(app, "admin1")
    path, page = check(client, (CORPUS / "files" / "dms.csv").read_bytes())
    assert f'href="{path}/problems.xlsx"' in page
    r = client.get(path + "/problems.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    sheet = wb["标注"]
    flagged = {sheet.cell(i, 2).value for i in range(2, sheet.max_row + 1)
               if sheet.cell(i, 1).value}
    assert flagged == {6, 7, 8, 9}


def test_the_annotated_sheet_keeps_formulas_as_text(app):
    client = login(app, "admin1")
    path, _ = check(client, (CORPUS / "files" / "payloads.csv").read_bytes())
    sheet = load_workbook(io.BytesIO(client.get(path + "/problems.xlsx").data))["标注"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)
             and c.value.startswith("=HYPERLINK")]
    assert cells and all(c.data_type == "s" for c in cells)


def test_station_text_is_escaped_in_the_tables_and_the_map(app):
    client = login(app, "admin1")
    path, page = check(client, (CORPUS / "files" / "payloads.csv").read_bytes())
    assert "<img src=x onerror" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    data = re.search(r'<script id="import-map-data" type="application/json">(.*?)</script>',
                     page, re.S).group(1)
    assert "<" not in data and "\\u003cimg src=x onerror=alert(1)\\u003e" in data
    names = [p[2] for p in json.loads(data)["new"]]
    assert "<img src=x onerror=alert(1)>" in names and "${alert(1)}驿站" in names
    r = publish(client, path, page)
    batch_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<img src=x onerror" not in batch_page and "&lt;img src=x" in batch_page


# --------------------------------------------------------------------------- publish, undo

def test_publish_a_clean_file_then_undo_it(app):
    client = login(app, "admin1")
    path, page = check(client, CLEAN_CSV, filename="石家庄新站.csv")
    assert summary(page) == (2, 2, 0, 0, 0)
    r = publish(client, path, page)
    assert r.status_code == 302 and re.search(r"/staff/imports/\d+$", r.headers["Location"])
    batch_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "撤销本次导入" in batch_page and "石家庄新站.csv" in batch_page
    ids = re.findall(r'<a href="/stations/(HB\d{6}-\d+)">', batch_page)
    assert len(ids) == 2
    feature = client.get(f"/api/v1/stations/{ids[0]}").json
    assert feature["properties"]["name"] == "测试新建驿站甲"
    assert feature["properties"]["services"] == ["drinking_water", "hot_water"]
    # the token is consumed: publishing twice is impossible
    assert client.get(path).status_code == 404
    listing = client.get("/staff/imports").get_data(as_text=True)
    assert "石家庄新站.csv" in listing and "有效" in listing

    (batch,) = batches(app)
    r = client.post(f"/staff/imports/{batch.id}/undo",
                    data={"csrf_token": form_token(client, f"/staff/imports/{batch.id}")})
    assert r.status_code == 302
    undone = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已撤销本次导入：恢复 0 个站点，删除 2 个新增站点。" in undone
    assert client.get(f"/api/v1/stations/{ids[0]}").status_code == 404
    assert 'id="undo"' not in undone and "已撤销（" in undone


def test_undo_restores_a_changed_and_moved_site(app):
    client = login(app, "admin1")
    before = client.get("/api/v1/stations/HB130102-0001").json
    data = ("编号,名称,经度,纬度\nHB130102-0001,改过名的驿站,114.6540,38.0875\n").encode()
    path, page = check(client, data)
    assert summary(page) == (1, 0, 1, 0, 0) and "改过名的驿站" in page
    publish(client, path, page)
    after = client.get("/api/v1/stations/HB130102-0001").json
    assert after["properties"]["name"] == "改过名的驿站"
    assert after["geometry"]["coordinates"] == [114.654, 38.0875]
    (batch,) = batches(app)
    client.post(f"/staff/imports/{batch.id}/undo",
                data={"csrf_token": form_token(client, f"/staff/imports/{batch.id}")})
    restored = client.get("/api/v1/stations/HB130102-0001").json
    assert restored["properties"]["name"] == before["properties"]["name"]
    assert restored["geometry"] == before["geometry"]


def test_undo_is_refused_when_a_later_import_changed_a_site(app):
    client = login(app, "admin1")
    path, page = check(client, CLEAN_CSV)
    first = publish(client, path, page).headers["Location"]
    new_id = re.findall(r'<a href="/stations/(HB\d{6}-\d+)">',
                        client.get(first).get_data(as_text=True))[0]
    path, page = check(client, f"编号,名称,经度,纬度\n{new_id},再改一次,114.5731,38.0682\n"
                       .encode())
    second = publish(client, path, page).headers["Location"]
    first_id, second_id = first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]
    r = client.post(first + "/undo", data={"csrf_token": form_token(client, first)})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"不能撤销导入批次 {first_id}" in page and new_id in page
    assert f"请先撤销批次 {second_id}" in page
    assert client.get(f"/api/v1/stations/{new_id}").json["properties"]["name"] == "再改一次"
    assert [b.undone_at is None for b in batches(app)] == [True, True]


def test_a_stale_preview_is_refused_and_a_recheck_publishes(app):
    alice, bob = login(app, "admin1"), login(app, "admin2")
    path, page = check(alice, CLEAN_CSV)
    other = "名称,经度,纬度\n另一人的驿站,115.4646,38.8737\n".encode()
    bob_path, bob_page = check(bob, other)
    assert publish(bob, bob_path, bob_page).status_code == 302
    r = publish(alice, path, page)
    assert r.status_code == 409
    body = r.get_data(as_text=True)
    assert STALE in body and f'href="{path}"' in body and "重新检查" in body
    assert len(batches(app)) == 1
    again = alice.get(path).get_data(as_text=True)
    assert publish(alice, path, again).status_code == 302
    assert len(batches(app)) == 2


def test_a_forged_file_hash_is_refused(app):
    client = login(app, "admin1")
    path, page = check(client, CLEAN_CSV)
    action, fields = publish_form(page)
    r = client.post(action, data={**fields, "sha256": "0" * 64})
    assert r.status_code == 409 and STALE in r.get_data(as_text=True)
    assert batches(app) == []


def test_a_file_with_problems_cannot_be_published(app):
    client = login(app, "admin1")
    path, page = check(client, (CORPUS / "files" / "dms.csv").read_bytes())
    r = publish(client, path, page)
    assert r.status_code == 422 and "没有导入任何站点" in r.get_data(as_text=True)
    assert batches(app) == []


# --------------------------------------------------------------------------- districts

def test_district_staff_import_only_their_own_district(app):
    client = login(app, "sjz")
    _, page = check(client, (CORPUS / "files" / "payloads.csv").read_bytes())
    assert summary(page) == (6, 1, 0, 0, 5)
    assert [p[2] for p in problem_rows(page)] == ["outside_your_district"] * 5
    assert "这一行的位置在「唐山市」，不在你负责的「石家庄市」" in page
    client.set_cookie("lang", "en")
    _, page = check(client, (CORPUS / "files" / "payloads.csv").read_bytes())
    assert "outside your district" in page


def test_district_staff_cannot_change_a_site_of_another_district(app):
    client = login(app, "tangshan")
    # moves 石家庄's HB130102-0001 into 唐山
    data = "编号,名称,经度,纬度\nHB130102-0001,搬到唐山,118.1887,39.6252\n".encode()
    _, page = check(client, data)
    assert problem_rows(page) == [[2, "编号", "outside_your_district"]]


def test_district_batches_tokens_and_undo_stay_in_the_district(app):
    sjz, tangshan, admin = login(app, "sjz"), login(app, "tangshan"), login(app, "admin1")
    path, page = check(sjz, CLEAN_CSV, filename="sjz.csv")
    # another account cannot use the token
    for other in (tangshan, admin):
        assert other.get(path).status_code == 404
        assert other.get(path + "/problems.xlsx").status_code == 404
    action, fields = publish_form(page)
    token = form_token(tangshan, "/staff/imports")
    r = tangshan.post(action, data={**fields, "csrf_token": token})
    assert r.status_code == 404 and batches(app) == []
    batch_url = publish(sjz, path, page).headers["Location"]
    (batch,) = batches(app)
    assert batch.district_code == "130100" and batch.created_by == "sjz"
    # 唐山 staff neither see nor undo it; admins do
    assert "sjz.csv" not in tangshan.get("/staff/imports").get_data(as_text=True)
    assert tangshan.get(batch_url).status_code == 404
    r = tangshan.post(batch_url + "/undo", data={"csrf_token": token})
    assert r.status_code == 404 and batches(app)[0].undone_at is None
    assert "sjz.csv" in admin.get("/staff/imports").get_data(as_text=True)
    assert admin.get(batch_url).status_code == 200
    r = sjz.post(batch_url + "/undo", data={"csrf_token": form_token(sjz, batch_url)})
    assert r.status_code == 302 and batches(app)[0].undone_by == "sjz"


def test_a_batch_across_districts_is_for_admins_only(app):
    admin, sjz = login(app, "admin1"), login(app, "sjz")
    data = ("名称,经度,纬度\n石家庄的新站,114.5731,38.0682\n唐山的新站,118.2011,39.6402\n"
            .encode())
    path, page = check(admin, data)
    batch_url = publish(admin, path, page).headers["Location"]
    assert batches(app)[0].district_code is None
    assert sjz.get(batch_url).status_code == 404
    page = admin.get(batch_url).get_data(as_text=True)
    assert "多个地区" in page


# --------------------------------------------------------------------------- uploads

def test_no_file_or_an_empty_file_gets_a_clear_message(app):
    client = login(app, "admin1")
    token = form_token(client, "/staff/imports")
    r = client.post("/staff/imports", data={"csrf_token": token, "datum": "wgs84"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "请先选择要上传的文件" in r.get_data(as_text=True)
    r = upload(client, b"", token=token)
    assert r.status_code == 400 and "这个文件是空的" in r.get_data(as_text=True)


def test_an_unknown_datum_is_refused(app):
    client = login(app, "admin1")
    r = upload(client, CLEAN_CSV, datum="mars")
    assert r.status_code == 400 and "mars" in r.get_data(as_text=True)


@pytest.mark.parametrize("size", [1_500, 200_000])
def test_a_file_over_the_cap_gets_a_chinese_413_page(app, size):
    app.config["IMPORT_MAX_BYTES"] = 1_000
    client = login(app, "admin1")
    r = upload(client, b"x" * size)
    body = r.get_data(as_text=True)
    assert r.status_code == 413 and "文件太大" in body and "Traceback" not in body
    assert not (Path(app.instance_path) / "uploads").exists()


def test_uploads_are_kept_under_server_made_names(app):
    client = login(app, "admin1")
    path, _ = check(client, CLEAN_CSV, filename="../../河北站点.csv")
    token = path.rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
    area = Path(app.instance_path) / "uploads"
    assert sorted(p.name for p in area.iterdir()) == [f"{token}.bin", f"{token}.json"]
    assert json.loads((area / f"{token}.json").read_text())["source_name"] == "河北站点.csv"
    assert not list(Path(app.instance_path).parent.glob("河北站点*"))
    for bad in ("not-a-token", "A" * 31, "..%2F..%2Fsecret_key"):
        assert client.get(f"/staff/imports/check/{bad}").status_code == 404


def test_an_upload_expires_after_a_day(app):
    client = login(app, "admin1")
    area = UploadArea(Path(app.instance_path) / "uploads")
    user_id = accounts_id(app, "admin1")
    old = area.put(CLEAN_CSV, owner_id=user_id, source_name="old.csv", datum="wgs84",
                   now=time.time() - 25 * 3600)
    r = client.get(f"/staff/imports/check/{old}")
    assert r.status_code == 404 and "已过期" in r.get_data(as_text=True)
    assert not list((Path(app.instance_path) / "uploads").glob(f"{old}*"))
    stale = area.put(CLEAN_CSV, owner_id=user_id, source_name="old.csv", datum="wgs84",
                     now=time.time() - 25 * 3600)
    path, _ = check(client, CLEAN_CSV)  # a new upload sweeps the expired one
    assert not list((Path(app.instance_path) / "uploads").glob(f"{stale}*"))


def accounts_id(app, username):
    from locator.store.models import User

    with app.extensions["locator"].store.read() as s:
        return s.scalar(select(User.id).where(User.username == username))
