"""The managers' coverage page (/staff/coverage) through the test client: access, figures,
map payload, suggested sites and every download, reopened in its own reader."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import quote

import openpyxl
import pyogrio
import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select, update

from locator import create_app
from locator.exports.registry import COVERAGE_FORMATS, STATION_FORMATS
from locator.store import accounts
from locator.store.models import Station
from tests.conftest import form_token

PASSWORD = "correct horse battery"
DISTRICT = "133100"  # 雄安新区: three counties, quick to export
HOSTILE = '<script>window.__x=1</script>"\'&${x}'
FIGURES = ("stations", "population", "stations_per_10k", "area_km2", "covered_km2",
           "share_area", "population_covered", "share_demand")


@pytest.fixture(scope="module")
def app(tmp_path_factory, demo_db):
    """One app over a copy of the demo database with two staff accounts and a station of
    雄安新区 renamed after a script payload (before anything is computed from the data)."""
    instance = tmp_path_factory.mktemp("coverage-web")
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})
    state = app.extensions["locator"]
    codes = tuple(state.regions().district_names())
    accounts.create_user(state.store, "boss", PASSWORD, "admin", None, codes)
    accounts.create_user(state.store, "sjz", PASSWORD, "district", "130100", codes)
    with state.store.write() as s:
        sid = s.scalar(select(Station.id).where(
            Station.district_code == DISTRICT, Station.kind == "station",
            Station.status == "active").order_by(Station.id).limit(1))
        s.execute(update(Station).where(Station.id == sid).values(name=HOSTILE))
    yield app
    state.store.dispose()


def login(app, username):
    client = app.test_client()
    r = client.post("/staff/login", data={"csrf_token": form_token(client, "/staff/login"),
                                          "username": username, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


@pytest.fixture(scope="module")
def boss(app):
    return login(app, "boss")


@pytest.fixture(scope="module")
def api(app):
    """/api/v1/coverage of the test district at 1 km."""
    r = app.test_client().get(f"/api/v1/coverage?district={DISTRICT}&radius_m=1000")
    assert r.status_code == 200
    return r.json


def engine(app):
    with app.app_context():
        return app.extensions["locator"].coverage()


class Tables(HTMLParser):
    """Rows of every <table id=…>: {id: [[cell text, …], …]} (header rows left out)."""

    def __init__(self):
        super().__init__()
        self.tables, self._table, self._row, self._cell = {}, None, None, None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._table is not None and not self._in_head:
            self._row = [attrs.get("data-code")]
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables(html: str) -> dict:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def page(client, query=""):
    r = client.get("/staff/coverage" + query)
    assert r.status_code == 200, r.get_data(as_text=True)[-2000:]
    return r.get_data(as_text=True)


# --------------------------------------------------------------------------------------
# Access


@pytest.mark.parametrize("path", [
    "/staff/coverage", f"/staff/coverage/map.json?district={DISTRICT}",
    f"/staff/coverage/suggestions.json?district={DISTRICT}",
    f"/staff/coverage/download/coverage/csv?district={DISTRICT}",
    "/staff/coverage/download/stations/kml",
])
def test_login_required(app, path):
    r = app.test_client().get(path)
    assert r.status_code == 302 and "/staff/login" in r.headers["Location"]


def test_the_menu_shows_the_section(boss):
    html = page(boss, f"?district={DISTRICT}")
    assert 'href="/staff/coverage" aria-current="page"' in html


def test_district_staff_start_in_their_district_and_may_read_others(app):
    client = login(app, "sjz")
    assert "<h1>覆盖分析 · 石家庄市</h1>" in page(client)
    assert "<h1>覆盖分析 · 河北省</h1>" in page(client, "?district=all")
    assert "<h1>覆盖分析 · 雄安新区</h1>" in page(client, f"?district={DISTRICT}")


def test_admins_start_with_the_province(boss):
    html = page(boss)
    assert "<h1>覆盖分析 · 河北省</h1>" in html
    t = tables(html)
    assert len(t["district-table"]) == 14 and len(t["county-table"]) == 167


@pytest.mark.parametrize("query", [
    "?district=999999", "?district=13010", "?district=<script>", "?radius_m=750",
    "?radius_m=1000.0", "?radius_m=１０００", "?radius_m=abc",
])
@pytest.mark.parametrize("path", ["/staff/coverage", "/staff/coverage/map.json",
                                  "/staff/coverage/download/coverage/pdf"])
def test_bad_area_or_radius_is_a_400_page(boss, path, query):
    r = boss.get(path + query)
    assert r.status_code == 400
    assert r.mimetype == "text/html"
    body = r.get_data(as_text=True)
    assert "出错了（400）" in body and "<script>" not in body


def test_unknown_format_or_kind(boss):
    assert boss.get(f"/staff/coverage/download/coverage/docx?district={DISTRICT}"
                    ).status_code == 400
    assert boss.get("/staff/coverage/download/stations/pdf").status_code == 400
    assert boss.get("/staff/coverage/download/people/csv").status_code == 404


# --------------------------------------------------------------------------------------
# Figures


def test_county_table_matches_the_engine(app, boss, api):
    html = page(boss, f"?district={DISTRICT}&radius_m=1000")
    rows = engine(app).figures(1000).county_rows(DISTRICT)
    shown = {row[0]: row[1:] for row in tables(html)["county-table"]}
    assert set(shown) == set(rows["code"]) and len(shown) == 3
    for r in rows.to_dict("records"):
        name, stations, per_10k, area, share_area, population, share_demand = shown[r["code"]]
        assert name == r["name"]
        assert stations == f"{r['stations']:,}"
        assert per_10k == f"{r['stations_per_10k']:,.2f}"
        assert area == f"{r['area_km2']:,.1f}"
        assert share_area == f"{r['share_area']:.1%}"
        assert population == f"{r['population']:,.0f}"
        assert share_demand == f"{r['share_demand']:.1%}"
    # the totals on top are the district's, as the API reports them
    assert f"<b>{api['stations']:,}</b>" in html
    assert f"<b>{api['share_area']:.1%}</b>" in html
    assert f"<b>{api['share_demand']:.1%}</b>" in html
    assert f"<b>{api['population_covered']:,}</b>" in html


def test_every_people_figure_says_it_is_a_coarse_estimate(boss):
    html = page(boss, f"?district={DISTRICT}")
    assert html.count('<small class="proxy">粗略估算</small>') >= 7
    assert "示例数据" in html  # the synthetic-data notice


def test_radius_changes_the_figures(boss):
    shares = []
    for radius in (1000, 2000):
        html = page(boss, f"?district={DISTRICT}&radius_m={radius}")
        assert f'value="{radius}" checked' in html
        shares.append(float(re.search(r"<b>([\d.]+)%</b><span>面积覆盖率", html).group(1)))
    assert shares[0] < shares[1]


def test_english_page(boss):
    r = boss.get(f"/staff/coverage?district={DISTRICT}&lang=en")
    html = r.get_data(as_text=True)
    assert "Share of area covered" in html and "coarse estimate" in html


# --------------------------------------------------------------------------------------
# The map payload and the suggested sites


def map_json(client, district=DISTRICT, radius=1000):
    r = client.get(f"/staff/coverage/map.json?district={district}&radius_m={radius}")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r


def test_map_payload(app, boss):
    r = map_json(boss)
    data = json.loads(r.get_data(as_text=True))
    e = engine(app)
    cells = len(e.grid.select(DISTRICT))
    assert data["grid_resolution"] == 8 and data["classes_m"] == [500, 1000, 2000]
    assert sum(f["properties"]["cells"] for f in data["grid"]["features"]) == cells
    assert {f["properties"]["c"] for f in data["grid"]["features"]} <= {0, 1, 2, 3}
    assert [f["properties"]["name"] for f in data["counties"]["features"]] == list(
        e.figures(1000).county_rows(DISTRICT)["name"])
    assert data["covered"]["type"] in ("Polygon", "MultiPolygon")
    ids = {row[2] for row in data["stations"]}
    mine = e.stations[e.stations["district_code"] == DISTRICT]
    assert set(mine["id"]) <= ids
    w, s, e_, n = data["bounds"]
    assert 115.5 < w < e_ < 116.5 and 38.5 < s < n < 39.5
    # coordinates are rounded (compact)
    assert not re.search(r"\d+\.\d{6,}", r.get_data(as_text=True))


def test_map_payload_is_compact_and_cacheable(boss):
    r = boss.get(f"/staff/coverage/map.json?district={DISTRICT}&radius_m=1000",
                 headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(r.data)
    assert len(r.data) < len(body) / 2
    assert r.headers["Cache-Control"] == "private, no-cache"  # no version in the URL
    again = boss.get(f"/staff/coverage/map.json?district={DISTRICT}&radius_m=1000",
                     headers={"Accept-Encoding": "gzip", "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    html = page(boss, f"?district={DISTRICT}")
    config = json.loads(re.search(r'id="coverage-config" type="application/json">(.*?)</script>',
                                  html).group(1))
    versioned = boss.get(config["data"])
    assert "immutable" in versioned.headers["Cache-Control"]


def test_suggested_sites_match_the_engine(app, boss):
    r = boss.get(f"/staff/coverage/suggestions.json?district={DISTRICT}&radius_m=1000")
    body = r.json
    picks = engine(app).suggest(1000, DISTRICT, 10)
    assert [s["rank"] for s in body["suggestions"]] == list(picks["rank"])
    assert [s["demand_added"] for s in body["suggestions"]] == [
        round(v) for v in picks["demand_added"]]
    assert body["coarse_proxy"] is True
    assert all(s["county_name"] in ("容城县", "安新县", "雄县") for s in body["suggestions"])


def test_station_text_stays_text(boss):
    html = page(boss, f"?district={DISTRICT}")
    assert "<script>window.__x" not in html
    raw = map_json(boss).get_data(as_text=True)
    assert "<script>" not in raw and "\\u003cscript\\u003e" in raw
    names = [row[3] for row in json.loads(raw)["stations"]]
    assert HOSTILE in names


# --------------------------------------------------------------------------------------
# Downloads


def download(client, kind, fmt, district=DISTRICT, radius=1000):
    r = client.get(f"/staff/coverage/download/{kind}/{fmt}?district={district}"
                   f"&radius_m={radius}")
    r.get_data()
    r.close()  # as a WSGI server does: closes the cached file it streamed
    assert r.status_code == 200, r.get_data(as_text=True)[-1000:]
    return r


CONTENT_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "html": "text/html; charset=utf-8",
    "geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "kml": "application/vnd.google-earth.kml+xml; charset=utf-8",
}


def same(a, b, places=3):
    return a == pytest.approx(b, abs=10 ** -places)


@pytest.mark.parametrize("fmt", COVERAGE_FORMATS)
def test_coverage_downloads_open_and_match_the_api(boss, api, fmt, tmp_path):
    r = download(boss, "coverage", fmt)
    assert r.headers["Content-Type"] == CONTENT_TYPES[fmt]
    name = f"雄安新区-驿站覆盖-1000米.{fmt}"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="coverage-{DISTRICT}-1000m.{fmt}"; '
        f"filename*=UTF-8''{quote(name, safe='')}")
    assert int(r.headers["Content-Length"]) == len(r.data)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    path = tmp_path / f"file.{fmt}"
    path.write_bytes(r.data)
    counties = {c["county_code"]: c for c in api["counties"]}
    if fmt == "geojson":
        frame = pyogrio.read_dataframe(path)
        assert set(frame["layer"]) == {"coverage", "gap", "suggestion"}
        meta = json.loads(r.data)["metadata"]
        assert {k: meta[k] for k in FIGURES} == {k: api[k] for k in FIGURES}
        for row in frame[frame["layer"] == "coverage"].to_dict("records"):
            assert row["stations"] == counties[row["code"]]["stations"]
            assert same(row["share_area"], counties[row["code"]]["share_area"])
    elif fmt == "gpkg":
        assert {n for n, _ in pyogrio.list_layers(path)} >= {
            "counties", "coverage", "grid", "gaps", "suggestions", "stations", "summary"}
        frame = pyogrio.read_dataframe(path, layer="counties")
        assert set(frame["code"]) == set(counties)
        for row in frame.to_dict("records"):
            assert row["stations"] == counties[row["code"]]["stations"]
            assert same(row["share_demand"], counties[row["code"]]["share_demand"])
        grid = pyogrio.read_dataframe(path, layer="grid", read_geometry=False)
        assert round(grid["population"].sum()) == api["population"]
    elif fmt == "xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = list(wb["区县"].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        by_code = {row[0]: dict(zip(header, row, strict=True)) for row in body}
        assert set(by_code) == set(counties)
        for code, row in by_code.items():
            assert row["驿站数"] == counties[code]["stations"]
            assert same(row["面积覆盖率"], counties[code]["share_area"])
        summary = dict(list(wb["概况"].iter_rows(values_only=True))[1:])
        wb.close()
        assert summary["驿站数"] == f"{api['stations']:,}"
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
        head = rows[0]
        assert head["level"] == "district" and head["code"] == DISTRICT
        for key in FIGURES:
            assert same(float(head[key]), api[key]), key
        assert {row["code"] for row in rows[1:]} == set(counties)
    elif fmt == "png":
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size == (2338, 1654)
    elif fmt == "pdf":
        reader = PdfReader(path)
        text = "\n".join(p.extract_text() for p in reader.pages)
        assert reader.metadata.title == "雄安新区工会驿站 1,000 米服务覆盖"
        for needle in ("容城县", "安新县", "雄县", "示例数据", f"{api['stations']:,}"):
            assert needle in text, needle
    else:  # html: one self-contained file
        html = r.data.decode("utf-8")
        assert "雄安新区工会驿站 1,000 米服务覆盖" in html
        assert "<script src" not in html and "<link" not in html
        assert f"<td>{api['share_area']:.1%}</td>" in html
        assert f"<td>{api['stations']:,}</td>" in html
        assert "window.__x=1" in html and "<script>window.__x" not in html  # escaped


@pytest.mark.parametrize("fmt", STATION_FORMATS)
def test_station_list_downloads(app, boss, fmt, tmp_path):
    r = download(boss, "stations", fmt)
    assert r.headers["Content-Type"] == CONTENT_TYPES[fmt]
    assert f"filename*=UTF-8''{quote(f'雄安新区-站点名单.{fmt}', safe='')}" in \
        r.headers["Content-Disposition"]
    with app.app_context():
        sites = app.extensions["locator"].snapshot().sites
    expected = set(sites.loc[sites["district_code"] == DISTRICT, "id"])
    path = tmp_path / f"stations.{fmt}"
    path.write_bytes(r.data)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
        names = {row["id"]: row["name"] for row in rows}
    elif fmt == "xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = list(wb["站点"].iter_rows(values_only=True))
        wb.close()
        i, j = rows[0].index("id"), rows[0].index("name")
        names = {row[i]: row[j] for row in rows[1:]}
    elif fmt == "kml":
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        marks = ET.fromstring(r.data).iter(f"{{{ns['k']}}}Placemark")
        names = {m.get("id"): m.find("k:name", ns).text for m in marks}
    else:
        frame = pyogrio.read_dataframe(path)
        names = dict(zip(frame["id"], frame["name"], strict=True))
    assert set(names) == expected
    assert HOSTILE in names.values()


def test_a_second_download_comes_from_the_cache(app, boss):
    first = download(boss, "coverage", "xlsx", radius=2000)
    folder = app.extensions["staff_coverage"].downloads.folder
    files = sorted(p.name for p in folder.iterdir())
    cached = folder / next(n for n in files if n.endswith(f"{DISTRICT}-2000.xlsx"))
    stamp = cached.stat().st_mtime_ns
    second = download(boss, "coverage", "xlsx", radius=2000)
    assert second.data == first.data and cached.stat().st_mtime_ns == stamp
    assert not [n for n in files if n.startswith(".tmp-")]  # temp folders are cleaned up


def test_province_station_list(app, boss):
    r = download(boss, "stations", "csv", district="all")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    with app.app_context():
        assert len(rows) == len(app.extensions["locator"].snapshot().sites)
    assert "filename=\"stations-hebei.csv\"" in r.headers["Content-Disposition"]


def test_the_inline_scripts_of_the_page_are_es5(boss):
    import pyjsparser

    html = page(boss, f"?district={DISTRICT}")
    scripts = re.findall(r"<script(?: nonce=\"[^\"]+\")?>(.*?)</script>", html, re.S)
    assert scripts, "no inline script found: the check itself is broken"
    for script in scripts:
        pyjsparser.parse(script)


def test_searches_demand_on_the_page_matches_the_api(app, boss):
    """demand=searches: counts of earlier days (stored as the counter stores them) become
    the demand of the figures, the map data and the downloads, with search labels."""
    import datetime as dt

    import h3

    from locator.coverage.demand import today
    from locator.store.models import SearchCount

    day = today() - dt.timedelta(days=2)
    cells = {h3.latlng_to_cell(39.05 + i * 0.004, 116.0, 8) for i in range(4)}
    with app.extensions["locator"].store.write() as s:
        for cell in cells:
            s.add(SearchCount(cell=cell, day=day, beyond_r=False, count=6))
    api = app.test_client().get(f"/api/v1/coverage?district={DISTRICT}&demand=searches").json
    assert api["demand"]["source"] == "searches" and api["population"] == 6 * len(cells)
    html = page(boss, f"?district={DISTRICT}&demand=searches")
    assert 'option value="searches" selected' in html
    assert "查询覆盖率" in html and "人口覆盖率" not in html
    assert "每万次查询驿站数" in html and "每万人驿站数" not in html
    assert f"<b>{api['share_demand']:.1%}</b>" in html
    assert f"（共 {api['population']:,} 次）" in html
    assert "demand=searches" in re.search(r'"data": "([^"]+)"', html).group(1)
    assert re.search(r'/download/coverage/csv\?[^"]*demand=searches', html)
    assert not re.search(r'/download/stations/csv\?[^"]*demand=', html)
    assert boss.get(f"/staff/coverage?district={DISTRICT}&demand=nope").status_code == 400
