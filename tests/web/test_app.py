"""The app through its test client, over a real SQLite database loaded with the demo."""

import json
import re

import pytest
from sqlalchemy import update

from locator.store.models import Station
from locator.web import state as state_module

TOTAL = 5790 + 200


def test_index_shows_the_map_legend_filters_and_synthetic_notice(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "示例数据" in html and "虚构" in html
    assert 'class="legend"' in html and 'id="locate"' in html
    for chip in ('data-kind="station"', 'data-kind="mother_room"', 'data-flag="open_now"',
                 'data-flag="all_day"'):
        assert chip in html
    assert "L.map(" in html and "preferCanvas" in html


def test_about_page_counts_sources_and_privacy(client):
    html = client.get("/about").get_data(as_text=True)
    assert "工会驿站 5,790 个、爱心妈妈小屋 200 个" in html
    assert "OpenStreetMap" in html and "不会被保存" in html


def test_index_references_nothing_off_origin_except_tiles(client, demo_app):
    html = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert (url.startswith("/") and not url.startswith("//")) or url.startswith("tel:"), url
    tile_host = "tile.openstreetmap.org"
    off_origin = set(re.findall(r"https?://([^/\"'\s]+)", html))
    # the tile template and the tiles' attribution link are the only outside hosts
    assert off_origin <= {tile_host, "www.openstreetmap.org"}
    assert not re.search(r"cdn|jsdelivr|cdnjs|unpkg|jquery|bootstrap", html, re.I)


def test_index_is_rendered_once_per_worker(demo_app, client):
    client.get("/")
    shell = demo_app.extensions["locator"].map_shell
    client.get("/")
    assert demo_app.extensions["locator"].map_shell is shell


def test_sites_payload_has_every_site(client):
    r = client.get("/data/sites.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    payload = json.loads(r.data)
    assert payload["synthetic"] is True
    assert payload["fields"] == ["lon", "lat", "kind", "id", "name", "status"]
    sites = payload["sites"]
    assert len(sites) == TOTAL
    kinds = [payload["kinds"][s[2]] for s in sites]
    assert kinds.count("station") == 5790 and kinds.count("mother_room") == 200
    assert all(113 < s[0] < 120 and 36 < s[1] < 43 for s in sites)  # lon, lat order
    assert len({s[3] for s in sites}) == TOTAL


def test_search_payload_aligns_with_the_map_payload(client):
    sites = json.loads(client.get("/data/sites.json").data)
    search = json.loads(client.get("/data/search.json").data)
    assert search["version"] == sites["version"]
    assert len(search["sites"]) == len(sites["sites"])
    by_id = {f["id"]: f["properties"] for f in client.get(
        "/api/v1/stations?limit=1000").json["features"]}
    from locator.sites.snapshot import initials

    for row, (address, name_initials) in zip(sites["sites"], search["sites"], strict=True):
        assert name_initials == initials(row[4])
        if row[3] in by_id:
            assert by_id[row[3]]["address"] == address
    names = {p[0]: p for p in search["places"]}
    assert len(search["places"]) == 14 + 167
    assert names["张家口市"][1] == "zjks" and names["雄安新区"][5] == "district"
    assert names["容城县"][2] == "雄安新区"


def test_sites_payload_is_cacheable(client):
    first = client.get("/data/sites.json")
    etag = first.headers["ETag"]
    assert client.get("/data/sites.json", headers={"If-None-Match": etag}).status_code == 304
    version = json.loads(first.data)["version"]
    pinned = client.get(f"/data/sites.json?v={version}")
    assert "immutable" in pinned.headers["Cache-Control"]
    assert client.get("/data/sites.json?v=old").headers["Cache-Control"] == "no-cache"


def test_index_links_the_current_version_of_the_payload(client):
    html = client.get("/").get_data(as_text=True)
    version = client.get("/healthz").json["data_version"]
    assert f"/data/sites.json?v={version}" in html


def test_healthz(client):
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["sites"] == TOTAL and body["data_version"] >= 1


def test_vendor_leaflet_is_served_from_our_origin(client):
    with client.get("/vendor/leaflet/leaflet.js") as r:
        assert r.status_code == 200 and b"Leaflet" in r.data[:500]
        assert "max-age=31536000" in r.headers["Cache-Control"]
    with client.get("/vendor/leaflet/leaflet.css") as r:
        assert r.status_code == 200 and r.mimetype == "text/css"


@pytest.mark.parametrize("path", ["/vendor/leaflet/../__init__.py", "/vendor/leaflet/%2e%2e/x",
                                  "/vendor/jquery/jquery.js", "/vendor/leaflet//etc/passwd"])
def test_vendor_refuses_other_paths(client, path):
    with client.get(path, follow_redirects=True) as r:
        assert r.status_code == 404


def test_unknown_page_is_a_chinese_page_and_api_gets_json(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "没有找到" in r.get_data(as_text=True)
    assert r.mimetype == "text/html"
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json == {"error": "not_found",
                                               "message": "没有找到这个页面或站点。"}


def test_init_is_idempotent_and_keeps_existing_data(demo_app):
    runner = demo_app.test_cli_runner()
    before = demo_app.extensions["locator"].store.data_version()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and "5990" in result.output
    assert demo_app.extensions["locator"].store.data_version() == before
    assert demo_app.extensions["locator"].store.count_sites() == TOTAL


def test_init_without_demo_leaves_an_empty_store(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0 and "0" in result.output
    client = empty_app.test_client()
    assert client.get("/healthz").json["sites"] == 0
    html = client.get("/").get_data(as_text=True)
    assert "synthetic-notice" not in html  # no synthetic rows, no synthetic notice


def test_a_write_reaches_the_map_without_a_restart(empty_app, monkeypatch):
    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    empty_app.config["LOAD_DEMO"] = True
    assert empty_app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    client = empty_app.test_client()
    first = json.loads(client.get("/data/sites.json").data)
    store = empty_app.extensions["locator"].store
    sid = first["sites"][0][3]
    with store.write() as s:
        s.execute(update(Station).where(Station.id == sid).values(status="removed"))
    second = json.loads(client.get("/data/sites.json").data)
    assert second["version"] == first["version"] + 1
    assert len(second["sites"]) == len(first["sites"]) - 1
    assert sid not in {s[3] for s in second["sites"]}


def test_a_database_behind_the_code_says_to_run_init(tmp_path):
    """`locator run` before `locator init` (a new install, or new code with a migration):
    a clear 503 naming the command, not a bare 500; once init ran, the same request works."""
    from locator import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
                      "LOAD_DEMO": False})
    client = app.test_client()
    r = client.get("/api/v1/stations")
    assert r.status_code == 503
    assert r.json["error"] == "database_not_initialised" and "locator init" in r.json["message"]
    assert client.get("/healthz").status_code == 503
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    assert client.get("/api/v1/stations").status_code == 200
    app.extensions["locator"].store.dispose()
