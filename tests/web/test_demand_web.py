"""Search counting on the nearest API, demand= on the coverage API, /staff/demand, the CLI."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import h3
import pytest
from sqlalchemy import inspect, select, text

from locator.coverage import demand
from locator.sites import api
from locator.store import accounts
from locator.store.models import SearchCount
from tests.conftest import form_token

PASSWORD = "correct horse battery"
# Distinctive query points (WGS-84), far from every other number in the demo database.
NEAR = (114.51234567, 38.04321987)   # 石家庄's centre: a station within 1 km
FAR = (115.87654321, 41.56789123)    # 张家口's grasslands: the nearest is beyond 1 km
CLIENT_IP, AGENT = "203.0.113.77", "CanaryAgent/9.8.7"


def nearest(client, lon, lat, **params):
    r = client.get("/api/v1/nearest", query_string={"lon": lon, "lat": lat, **params},
                   environ_base={"REMOTE_ADDR": CLIENT_IP},
                   headers={"User-Agent": AGENT})
    assert r.status_code == 200, r.get_data(as_text=True)
    r.close()
    return r.json


def counts(app) -> dict:
    with app.extensions["locator"].store.read() as s:
        return {(c.cell, c.beyond_r): c.count for c in s.scalars(select(SearchCount))}


@pytest.fixture()
def app(fresh_demo_app):
    store = fresh_demo_app.extensions["locator"].store
    codes = fresh_demo_app.extensions["locator"].district_codes()
    accounts.create_user(store, "boss", PASSWORD, "admin", None, codes)
    accounts.create_user(store, "sjz", PASSWORD, "district", "130100", codes)
    yield fresh_demo_app


def login(client, username):
    r = client.post("/staff/login", data={
        "csrf_token": form_token(client, "/staff/login"), "username": username,
        "password": PASSWORD})
    assert r.status_code == 302


# --------------------------------------------------------------------------------------
# Counting searches


def test_searches_are_counted_per_cell_day_and_flag(app):
    client = app.test_client()
    counter = app.extensions["locator"].searches
    version = app.extensions["locator"].store.data_version()
    near = nearest(client, *NEAR, k=1)
    far = nearest(client, *FAR, k=1)
    assert near["features"][0]["properties"]["distance_m"] <= 1000
    assert far["features"][0]["properties"]["distance_m"] > 1000
    nearest(client, *NEAR, k=3, kind="station")
    nearest(client, 121.47, 31.23)  # Shanghai: outside the counted box
    counter.flush()
    near_cell = h3.latlng_to_cell(NEAR[1], NEAR[0], 8)
    far_cell = h3.latlng_to_cell(FAR[1], FAR[0], 8)
    assert counts(app) == {(near_cell, False): 2, (far_cell, True): 1}
    assert app.extensions["locator"].store.data_version() == version  # no index rebuild
    with app.extensions["locator"].store.read() as s:
        day = s.scalars(select(SearchCount.day)).first()
    assert day == api.now().date()


def test_nothing_but_counts_reaches_the_database(app):
    client = app.test_client()
    for _ in range(3):
        nearest(client, *NEAR, k=2)
        nearest(client, *FAR, datum="gcj02")
    app.extensions["locator"].searches.flush()
    store = app.extensions["locator"].store
    assert {c["name"] for c in inspect(store.engine).get_columns("search_counts")} == {
        "cell", "day", "beyond_r", "count"}
    # Every text value of every table, and the raw database files (WAL included): no
    # query coordinate (as text or as a stored double), no client address, no agent.
    needles = [CLIENT_IP.encode(), AGENT.encode()]
    for lon, lat in (NEAR, FAR):
        needles += [repr(lon).encode(), repr(lat).encode(), f"{lon:.5f}".encode(),
                    f"{lat:.5f}".encode(), struct.pack(">d", lon), struct.pack("<d", lon),
                    struct.pack(">d", lat), struct.pack("<d", lat)]
    with store.engine.connect() as conn:
        for table in inspect(store.engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                blob = repr(tuple(row)).encode()
                assert not any(n in blob for n in needles[:2] + needles[2::8]), table
    folder = Path(app.instance_path)
    for path in folder.glob("locator.sqlite3*"):
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, (path.name, needle)


def test_counts_are_flushed_after_the_response_once_due(app):
    counter = app.extensions["locator"].searches
    counter.flush_every_s = 0.0
    client = app.test_client()
    nearest(client, *NEAR)
    assert counter.pending() == 0 and sum(counts(app).values()) == 1
    counter.flush_every_s, counter.flush_at_keys = 3600.0, 2
    nearest(client, *NEAR)
    assert counter.pending() == 1  # not due yet: one key
    nearest(client, *FAR)          # two keys: due, written when the response closes
    assert counter.pending() == 0 and sum(counts(app).values()) == 3


def test_closed_sites_do_not_count_as_near(app, monkeypatch):
    """include_closed=1 returns a closed site first; the flag looks at active ones only."""
    from sqlalchemy import update

    import locator.web.state as state_module
    from locator.store.models import Station

    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    client = app.test_client()
    sites = app.extensions["locator"].snapshot().sites
    lonely = None
    for row in sites[(sites["district_code"] == "130700") & (sites["kind"] == "station")
                     & (sites["status"] == "active")].itertuples():
        body = nearest(client, row.lon, row.lat, k=2, kind="station")
        if body["features"][1]["properties"]["distance_m"] > 1500:
            lonely = row
            break
    assert lonely is not None
    with app.extensions["locator"].store.write() as s:
        s.execute(update(Station).where(Station.id == lonely.id)
                  .values(status="temporarily_closed"))
    counter = app.extensions["locator"].searches
    counter.flush()
    before = counts(app)
    body = nearest(client, lonely.lon, lonely.lat, k=3, include_closed=1, kind="station")
    assert body["features"][0]["id"] == lonely.id  # closed, 0 m away
    counter.flush()
    after = counts(app)
    cell = h3.latlng_to_cell(lonely.lat, lonely.lon, 8)
    assert after.get((cell, True), 0) == before.get((cell, True), 0) + 1
    assert after.get((cell, False), 0) == before.get((cell, False), 0)


def test_counting_can_be_turned_off(tmp_path, demo_db):
    import shutil

    from tests.conftest import _app

    instance = tmp_path / "off"
    instance.mkdir()
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    app = _app(instance, COUNT_SEARCHES="0")
    assert app.extensions["locator"].searches is None
    nearest(app.test_client(), *NEAR)
    assert counts(app) == {}
    app.extensions["locator"].store.dispose()


# --------------------------------------------------------------------------------------
# demand= on the coverage API


def test_coverage_says_which_demand(app):
    client = app.test_client()
    body = client.get("/api/v1/coverage?radius_m=500").json
    assert body["demand"]["source"] == "population" and body["demand"]["coarse_proxy"]
    r = client.get("/api/v1/coverage?demand=uploaded")
    assert r.status_code == 409 and r.json["error"] == "no_uploaded_grid"
    assert client.get("/api/v1/coverage?demand=people").status_code == 400
    r = client.get("/api/v1/coverage?demand=searches&district=130100")
    assert r.status_code == 200
    d = r.json["demand"]
    assert d["source"] == "searches" and d["unit"] == "searches" and not d["coarse_proxy"]
    assert r.json["population"] == 0 and r.json["share_demand"] is None


def test_an_uploaded_grid_becomes_the_default(app):
    store = app.extensions["locator"].store
    grid = app.extensions["locator"].coverage().grid
    cell = h3.latlng_to_cell(NEAR[1], NEAR[0], 8)
    plan = demand.plan_grid(f"h3,weight\n{cell},1000\n".encode(), grid, source_name="g.csv")
    demand.apply_grid(store, plan, user="boss")
    client = app.test_client()
    body = client.get("/api/v1/coverage").json
    assert body["demand"]["source"] == "uploaded" and body["population"] == 1000
    assert body["population_covered"] == 1000 and body["share_demand"] == 1.0
    census = client.get("/api/v1/coverage?demand=population").json
    assert census["population"] == 74_610_235
    assert client.get("/api/v1/coverage").headers["ETag"] != \
        client.get("/api/v1/coverage?demand=population").headers["ETag"]


def test_openapi_lists_demand(app):
    op = app.test_client().get("/api/v1/openapi.json").json["paths"]["/api/v1/coverage"]["get"]
    param = next(p for p in op["parameters"] if p["name"] == "demand")
    assert param["schema"]["enum"] == list(demand.DEMAND_SOURCES)
    assert "409" in op["responses"]


# --------------------------------------------------------------------------------------
# /staff/demand


def test_the_page_needs_a_login(app):
    r = app.test_client().get("/staff/demand/")
    assert r.status_code == 302 and "/staff/login" in r.headers["Location"]


def test_every_staff_member_sees_source_counts_and_privacy(app):
    nearest(app.test_client(), *FAR)
    client = app.test_client()
    login(client, "sjz")
    html = client.get("/staff/demand/").get_data(as_text=True)
    assert "人口普查粗略代理" in html and "保存什么，不保存什么" in html
    assert "IP 地址" in html and "张家口市" in html
    assert 'name="file"' not in html  # no upload form for a district account
    assert "/staff/demand/" in client.get("/staff/reports").get_data(as_text=True)
    en = client.get("/staff/demand/?lang=en").get_data(as_text=True)
    assert "What is stored, and what is not" in en


def test_only_admins_upload_and_csrf_is_required(app):
    cell = h3.latlng_to_cell(NEAR[1], NEAR[0], 8)
    good = f"h3,weight\n{cell},500\n".encode()
    district = app.test_client()
    login(district, "sjz")
    r = district.post("/staff/demand/upload", data={
        "csrf_token": form_token(district, "/staff/demand/"),
        "file": (io.BytesIO(good), "g.csv")}, content_type="multipart/form-data")
    assert r.status_code == 403
    admin = app.test_client()
    login(admin, "boss")
    r = admin.post("/staff/demand/upload", data={"file": (io.BytesIO(good), "g.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 400  # no CSRF token
    store = app.extensions["locator"].store
    assert demand.current_upload(store) is None
    r = admin.post("/staff/demand/upload", data={
        "csrf_token": form_token(admin, "/staff/demand/"),
        "file": (io.BytesIO(good), "g.csv")}, content_type="multipart/form-data")
    assert r.status_code == 302
    upload = demand.current_upload(store)
    assert upload["created_by"] == "boss" and upload["source_name"] == "g.csv"
    html = admin.get("/staff/demand/").get_data(as_text=True)
    assert "上传的人口网格" in html and "g.csv" in html
    r = admin.post("/staff/demand/withdraw",
                   data={"csrf_token": form_token(admin, "/staff/demand/")})
    assert r.status_code == 302 and demand.current_upload(store) is None


def test_a_bad_upload_shows_its_rows_and_changes_nothing(app):
    admin = app.test_client()
    login(admin, "boss")
    bad = b"h3,weight\n88319c9101fffff,10\nnope,5\n88319c9101fffff,<script>alert(1)</script>\n"
    r = admin.post("/staff/demand/upload", data={
        "csrf_token": form_token(admin, "/staff/demand/"),
        "file": (io.BytesIO(bad), "bad.csv")}, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "<td>3</td>" in html and "<td>4</td>" in html and "bad_h3" not in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert demand.current_upload(app.extensions["locator"].store) is None


# --------------------------------------------------------------------------------------
# Command line


def test_cli_import_status_and_export(app, tmp_path):
    runner = app.test_cli_runner()
    cell = h3.latlng_to_cell(NEAR[1], NEAR[0], 8)
    good, bad = tmp_path / "grid.csv", tmp_path / "bad.csv"
    good.write_text(f"h3,weight\n{cell},800\n")
    bad.write_text("lon,lat,weight\n114.5,38.0,1\n114.5,95,1\n")
    r = runner.invoke(args=["demand", "import", str(bad), "--lang", "en"])
    assert r.exit_code == 1 and "row 3" in r.output
    r = runner.invoke(args=["demand", "import", str(good), "--dry-run"])
    assert r.exit_code == 0 and demand.current_upload(app.extensions["locator"].store) is None
    r = runner.invoke(args=["demand", "import", str(good), "--user", "planner"])
    assert r.exit_code == 0, r.output
    nearest(app.test_client(), *FAR)
    r = runner.invoke(args=["demand", "status"])
    assert r.exit_code == 0 and "demand in use: uploaded" in r.output
    assert "130700" in r.output and "planner" in r.output
    out = tmp_path / "cov.csv"
    r = runner.invoke(args=["export", "coverage", "--demand", "population", "--format", "csv",
                            "--output", str(out)])
    assert r.exit_code == 0 and "coarse census proxy" in r.output
    r = runner.invoke(args=["export", "coverage", "--format", "csv", "--output", str(out)])
    assert r.exit_code == 0 and "(demand: uploaded)" in r.output
    r = runner.invoke(args=["demand", "withdraw"])
    assert r.exit_code == 0


def test_the_page_says_how_long_counts_are_kept(app):
    client = app.test_client()
    login(client, "sjz")
    html = client.get("/staff/demand/").get_data(as_text=True)
    assert "计数保留 400 天，更早的计数自动删除。" in html
