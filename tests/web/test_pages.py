"""Station page, problem reports, languages and basemaps through the test client."""

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from locator import create_app
from locator.errors import StartupRefused
from locator.store.models import ProblemReport
from tests.conftest import form_token

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "locator" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def first_id(client, **filters):
    q = "&".join(f"{k}={v}" for k, v in {"limit": 1000, **filters}.items())
    return client.get(f"/api/v1/stations?{q}").json["features"]


def test_station_page_shows_everything_a_courier_needs(client):
    site = first_id(client)[0]
    p = site["properties"]
    html = client.get(f"/stations/{site['id']}").get_data(as_text=True)
    assert p["name"] in html and p["address"] in html and p["host"] in html
    assert f'href="tel:{p["phone"]}"' in html and 'href="tel:12351"' in html
    assert p["opening_hours"] in html and p["verified_at"] in html
    assert re.search(r"营业中|已打烊|营业时间未知", html)
    for app in ("amap", "baidu", "tencent", "apple"):
        assert f"nav-{app}" in html
    assert "示例数据（虚构）" in html


def test_temporarily_closed_station_shows_its_reopen_date(client):
    closed = next(f for f in first_id(client)
                  if f["properties"]["status"] == "temporarily_closed")
    html = client.get(f"/stations/{closed['id']}").get_data(as_text=True)
    assert "暂停开放" in html and closed["properties"]["reopen_date"] in html


def test_unknown_station_page_is_404(client):
    r = client.get("/stations/HB000000-0000")
    assert r.status_code == 404 and "没有找到" in r.get_data(as_text=True)


@pytest.fixture()
def report_app(fresh_demo_app):
    """An app whose problem-report counts start at zero (its own database)."""
    return fresh_demo_app


def csrf(client, site_id):
    return form_token(client, f"/stations/{site_id}")


def reports(app):
    with app.extensions["locator"].store.read() as s:
        return [(r.station_id, r.category, r.note, r.status, r.district_code)
                for r in s.query(ProblemReport).all()]


def test_a_report_is_stored_for_the_district(report_app):
    client = report_app.test_client()
    site = first_id(client)[0]
    token = csrf(client, site["id"])
    r = client.post(f"/stations/{site['id']}/report", data={
        "csrf_token": token, "category": "wrong_place", "note": " 在马路对面\u202e "},
        follow_redirects=True)
    assert r.status_code == 200 and "谢谢" in r.get_data(as_text=True)
    assert reports(report_app) == [(site["id"], "wrong_place", "在马路对面", "new",
                                    site["properties"]["district_code"])]


def test_a_report_without_csrf_token_is_refused(report_app):
    client = report_app.test_client()
    site = first_id(client)[0]
    r = client.post(f"/stations/{site['id']}/report", data={"category": "other"})
    assert r.status_code == 400
    assert reports(report_app) == []


def test_bad_category_and_long_note_are_refused_with_a_message(report_app):
    client = report_app.test_client()
    site = first_id(client)[0]
    for data in ({"category": "spam"}, {"category": "other", "note": "x" * 501}):
        token = csrf(client, site["id"])
        r = client.post(f"/stations/{site['id']}/report", data={"csrf_token": token, **data},
                        follow_redirects=True)
        assert "flash-error" in r.get_data(as_text=True)
    assert reports(report_app) == []


def test_reports_are_rate_limited(report_app):
    client = report_app.test_client()
    site = first_id(client)[0]
    for _ in range(7):
        token = csrf(client, site["id"])
        client.post(f"/stations/{site['id']}/report",
                    data={"csrf_token": token, "category": "other"})
    assert len(reports(report_app)) == 5


def test_report_for_unknown_station_is_404(report_app):
    client = report_app.test_client()
    site = first_id(client)[0]
    token = csrf(client, site["id"])
    r = client.post("/stations/HB000000-0000/report",
                    data={"csrf_token": token, "category": "other"})
    assert r.status_code == 404


def test_english_pages_and_the_language_cookie(client):
    r = client.get("/lang/en?next=/about")
    assert r.status_code == 302 and r.headers["Location"].endswith("/about")
    html = client.get("/about").get_data(as_text=True)
    assert '<html lang="en">' in html and "Privacy" in html and "隐私" not in html
    html = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'id="locator-config" type="application/json">(.*?)</script>',
                                  html).group(1))
    assert config["t"]["open"] == "Open now"
    assert {s["label"] for s in config["services"]} >= {"Toilet", "Hot water"}
    client.get("/lang/zh")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "javascript:x"])
def test_language_switch_never_redirects_off_site(client, target):
    r = client.get("/lang/en", query_string={"next": target})
    assert r.headers["Location"] in ("/", "http://localhost/")


def test_every_string_is_translated():
    with open(CATALOG, "rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    found = {msg for _file, _line, msg, *_ in extract_from_dir(
        str(ROOT), method_map=[("locator/**.py", "python"), ("templates/**.html", "jinja2")],
        keywords={"_": None, "gettext": None})}
    assert found, "extraction found nothing: the check itself is broken"
    assert found - translated == set()
    from locator.web.i18n import dynamic_messages

    assert set(dynamic_messages()) - translated == set()
    assert (CATALOG.with_suffix(".mo")).stat().st_mtime >= CATALOG.stat().st_mtime - 1


def config_of(app):
    html = app.test_client().get("/").get_data(as_text=True)
    return html, json.loads(re.search(
        r'id="locator-config" type="application/json">(.*?)</script>', html).group(1))


def test_gaode_basemap_shifts_overlays_to_gcj02(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "gaode", "LOAD_DEMO": False})
    app.extensions["locator"].store.upgrade()
    html, config = config_of(app)
    assert config["displayDatum"] == "gcj02"
    assert "webrd0{s}.is.autonavi.com" in html and "AutoNavi" in html


def test_tianditu_basemap_needs_a_key(tmp_path):
    with pytest.raises(StartupRefused, match="LOCATOR_BASEMAP=tianditu.*LOCATOR_TIANDITU_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "tianditu"})
    app = create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "tianditu",
                      "TIANDITU_KEY": "k123", "LOAD_DEMO": False})
    app.extensions["locator"].store.upgrade()
    html, config = config_of(app)
    assert config["displayDatum"] == "wgs84"
    assert "tianditu.gov.cn/vec_w/wmts" in html and "tianditu.gov.cn/cva_w/wmts" in html
    assert "tk=k123" in html


def test_custom_basemap_declares_its_datum(tmp_path):
    with pytest.raises(StartupRefused, match="LOCATOR_BASEMAP=custom.*LOCATOR_TILE_URL"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "custom"})
    with pytest.raises(StartupRefused, match="LOCATOR_TILE_DATUM='bd09'.*wgs84, gcj02"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "custom",
                    "TILE_URL": "https://t.example/{z}/{x}/{y}.png", "TILE_DATUM": "bd09"})
    app = create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "custom",
                      "TILE_URL": "https://t.example/{z}/{x}/{y}.png", "TILE_DATUM": "gcj02",
                      "LOAD_DEMO": False})
    app.extensions["locator"].store.upgrade()
    html, config = config_of(app)
    assert config["displayDatum"] == "gcj02" and "t.example" in html


def test_unknown_basemap_is_refused(tmp_path):
    with pytest.raises(StartupRefused, match="LOCATOR_BASEMAP='google'.*osm, tianditu, gaode"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "google"})


def test_assets_are_gzipped_and_cached(client):
    r = client.get("/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip" and "max-age=31536000" in \
        r.headers["Cache-Control"]
    import gzip

    assert b"Leaflet" in gzip.decompress(r.data)[:500]
    again = client.get("/vendor/leaflet/leaflet.js", headers={
        "Accept-Encoding": "gzip", "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../__init__.py").status_code == 404
