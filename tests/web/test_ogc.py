"""OGC API – Features at /ogc through the test client (issue 16 parts 1, 2 and 4).

The real clients (GDAL, OWSLib) read it from a served app in test_ogc_clients.py.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from locator.ogc.collections import COLLECTIONS, MAX_LIMIT
from locator.ogc.crs import CRSS
from locator.ogc.documents import CONFORMANCE
from locator.web import state as state_module

CRS84, EPSG4326, EPSG4490 = (c.uri for c in CRSS)


def snapshot(app):
    with app.app_context():
        return app.extensions["locator"].snapshot()


def walk(client, url):
    """Every feature of ``url``, following its next links; also the pages' sizes."""
    features, sizes = [], []
    while url:
        body = client.get(url).json
        features += body["features"]
        sizes.append(body["numberReturned"])
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return features, sizes


# --- landing, conformance, collections -----------------------------------------------


def test_the_landing_page_links_to_the_api_the_conformance_and_the_data(client):
    body = client.get("/ogc").json
    rels = {link["rel"]: link for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data", "alternate", "license"} <= set(rels)
    assert rels["service-desc"]["href"].endswith("/ogc/api")
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert client.get(rels["conformance"]["href"]).json["conformsTo"] == list(CONFORMANCE)
    assert client.get("/ogc/").status_code == 200


def test_conformance_names_core_geojson_html_oas30_and_crs(client):
    classes = client.get("/ogc/conformance").json["conformsTo"]
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert {base + c for c in ("core", "geojson", "html", "oas30")} <= set(classes)
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_the_collections_are_the_registry_with_extent_and_crs(client):
    body = client.get("/ogc/collections").json
    assert [c["id"] for c in body["collections"]] == [c.id for c in COLLECTIONS]
    for c in body["collections"]:
        assert c["storageCrs"] == CRS84 and c["crs"] == [CRS84, EPSG4326, EPSG4490]
        w, s, e, n = c["extent"]["spatial"]["bbox"][0]
        assert 113 < w < e < 120 and 36 < s < n < 43
        assert {"self", "items"} <= {link["rel"] for link in c["links"]}
        assert client.get(f"/ogc/collections/{c['id']}").json == c


@pytest.mark.parametrize("collection", [c.id for c in COLLECTIONS])
def test_every_collection_serves_json_and_html(client, collection):
    assert client.get(f"/ogc/collections/{collection}/items").mimetype == "application/geo+json"
    page = client.get(f"/ogc/collections/{collection}/items?f=html")
    assert page.mimetype == "text/html" and "示例数据" in page.get_data(as_text=True)
    first = client.get(f"/ogc/collections/{collection}/items?limit=1").json["features"][0]
    one = client.get(f"/ogc/collections/{collection}/items/{first['id']}")
    assert one.mimetype == "application/geo+json"
    assert {k: one.json[k] for k in first} == first
    html = client.get(f"/ogc/collections/{collection}/items/{first['id']}?f=html")
    assert first["properties"]["name"] in html.get_data(as_text=True)


def test_a_browser_gets_html_a_program_json_and_f_decides(client):
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert client.get("/ogc", headers=browser).mimetype == "text/html"
    assert client.get("/ogc?f=json", headers=browser).mimetype == "application/json"
    assert client.get("/ogc", headers={"Accept": "*/*"}).mimetype == "application/json"
    assert client.get("/ogc?f=html").mimetype == "text/html"
    assert client.get("/ogc?f=xml").status_code == 400
    html = client.get("/ogc/collections", headers=browser).get_data(as_text=True)
    assert "工会户外劳动者服务站点" in html and 'lang="zh-CN"' in html


# --- items ----------------------------------------------------------------------------


def test_items_page_by_ten_by_default_and_count_every_match(client, demo_app):
    snap = snapshot(demo_app)
    body = client.get("/ogc/collections/stations/items").json
    assert body["numberReturned"] == 10 == len(body["features"])
    assert body["numberMatched"] == snap.counts()["station"]
    assert body["timeStamp"].endswith("Z") and body["synthetic"] is True
    assert client.get(f"/ogc/collections/stations/items?limit={MAX_LIMIT}").json[
        "numberReturned"] == snap.counts()["station"]
    for bad in (0, MAX_LIMIT + 1, -1, "x", "1e3"):
        assert client.get(f"/ogc/collections/stations/items?limit={bad}").status_code == 400


@pytest.mark.parametrize("collection,kind", [("stations", "station"),
                                             ("mother_rooms", "mother_room")])
def test_the_next_links_walk_every_site_exactly_once(client, demo_app, collection, kind):
    snap = snapshot(demo_app)
    features, sizes = walk(client, f"/ogc/collections/{collection}/items?limit=1000")
    ids = [f["id"] for f in features]
    expected = snap.sites.loc[snap.sites["kind"] == kind, "id"].tolist()
    assert ids == expected and len(set(ids)) == len(ids)
    assert all(s == 1000 for s in sizes[:-1])


def test_prev_links_go_back_one_page(client):
    body = client.get("/ogc/collections/stations/items?limit=7&offset=14").json
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=7" in links["prev"] and "offset=21" in links["next"]
    back = client.get(links["prev"]).json
    assert [f["id"] for f in back["features"]] == [
        f["id"] for f in client.get("/ogc/collections/stations/items?limit=7&offset=7").json[
            "features"]]
    first = client.get("/ogc/collections/stations/items?limit=7").json
    assert "prev" not in {link["rel"] for link in first["links"]}


def test_features_carry_the_public_record_in_crs84(client, demo_app):
    from locator.sites.snapshot import PUBLIC_FIELDS

    snap = snapshot(demo_app)
    feature = client.get("/ogc/collections/stations/items?limit=1").json["features"][0]
    row = snap.sites.iloc[snap.position_of[feature["id"]]]
    assert tuple(feature["properties"]) == PUBLIC_FIELDS
    assert feature["geometry"] == {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
    assert feature["properties"]["synthetic"] is True and "updated_by" not in feature[
        "properties"]


def test_record_filters_match_a_pandas_oracle(client, demo_app):
    s = snapshot(demo_app).sites
    stations = s[s["kind"] == "station"]
    cases = {
        "district=130600": stations["district_code"] == "130600",
        "services=toilet,aed": stations["services"].map(lambda v: {"toilet", "aed"} <= set(v)),
        "status=temporarily_closed": stations["status"] == "temporarily_closed",
        "bbox=114.4,37.9,114.7,38.2": stations["lon"].between(114.4, 114.7)
        & stations["lat"].between(37.9, 38.2),
        f"bbox=37.9,114.4,38.2,114.7&bbox-crs={EPSG4326}": stations["lon"].between(114.4, 114.7)
        & stations["lat"].between(37.9, 38.2),
        "district=130100&services=hot_water&status=active":
            (stations["district_code"] == "130100") & (stations["status"] == "active")
            & stations["services"].map(lambda v: "hot_water" in v),
    }
    for query, mask in cases.items():
        features, _ = walk(client, f"/ogc/collections/stations/items?limit=1000&{query}")
        assert [f["id"] for f in features] == stations.loc[mask, "id"].tolist(), query
        assert 0 < len(features) < len(stations), query


@pytest.mark.parametrize("query", [
    "kind=station", "foo=1", "district=999999", "services=teleporter", "status=removed",
    "bbox=1,2,3", "bbox=115,39,114,38", "bbox=nan,1,2,3", "crs=EPSG:4326",
    f"bbox-crs={CRS84}x", "datetime=yesterday", "datetime=../..", "offset=-1",
    "datetime=2024-01-01T00:00:00", "limit=10&limit=20"])
def test_bad_or_unknown_parameters_are_400_in_the_ogc_exception_shape(client, query):
    r = client.get(f"/ogc/collections/stations/items?{query}")
    assert r.status_code == 400, query
    assert r.json["code"] == r.json["error"] and r.json["description"]


def test_unknown_collection_and_feature_are_404_json(client, demo_app):
    snap = snapshot(demo_app)
    mother = snap.sites.loc[snap.sites["kind"] == "mother_room", "id"].iat[0]
    for url in ("/ogc/collections/nope", "/ogc/collections/nope/items",
                "/ogc/collections/stations/items/HB999999-9999",
                f"/ogc/collections/stations/items/{mother}"):
        r = client.get(url)
        assert r.status_code == 404 and r.mimetype == "application/json", url
        assert r.json["code"] in ("collection_not_found", "feature_not_found")
    assert client.get(f"/ogc/collections/mother_rooms/items/{mother}").status_code == 200


def test_datetime_filters_on_updated_at(client, demo_app):
    s = snapshot(demo_app).sites
    stations = s[s["kind"] == "station"]
    newest = stations["updated_at"].max()
    day = newest.strftime("%Y-%m-%d")
    expected = stations.loc[stations["updated_at"].dt.strftime("%Y-%m-%d") >= day, "id"]
    features, _ = walk(client, f"/ogc/collections/stations/items?limit=1000&datetime={day}/..")
    assert [f["id"] for f in features] == expected.tolist()
    instant = newest.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").replace("+", "%2B")
    body = client.get(f"/ogc/collections/stations/items?datetime={instant}").json
    assert body["numberMatched"] >= 1
    assert client.get("/ogc/collections/districts/items?datetime=2024-01-01").json[
        "numberMatched"] == 14  # boundaries have no time: all match


def test_districts_and_counties_are_polygons_of_the_regions(client, demo_app):
    with demo_app.app_context():
        regions = demo_app.extensions["locator"].regions()
    districts = client.get("/ogc/collections/districts/items?limit=100").json
    assert [f["id"] for f in districts["features"]] == regions.districts["code"].tolist()
    assert {f["geometry"]["type"] for f in districts["features"]} <= {"Polygon", "MultiPolygon"}
    assert districts["features"][0]["properties"] == {"code": "130100", "name": "石家庄市"}
    counties = client.get("/ogc/collections/counties/items?limit=1000&district=133100").json
    assert counties["numberMatched"] == 3  # 雄安: 容城, 安新, 雄县
    assert {f["properties"]["district_code"] for f in counties["features"]} == {"133100"}
    inside = client.get("/ogc/collections/counties/items?limit=1000&bbox=114.5,38.0,114.52,38.05")
    assert "130102" in {f["id"] for f in inside.json["features"]}


def test_removed_sites_never_appear_and_closed_ones_do_with_their_status(fresh_demo_app,
                                                                        monkeypatch):
    from sqlalchemy import update

    from locator.store.models import Station

    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    client = fresh_demo_app.test_client()
    first, second = (f["id"] for f in client.get(
        "/ogc/collections/stations/items?limit=2&status=active").json["features"])
    before = client.get("/ogc/collections/stations/items").json["numberMatched"]
    with fresh_demo_app.extensions["locator"].store.write() as s:
        s.execute(update(Station).where(Station.id == first).values(status="removed"))
        s.execute(update(Station).where(Station.id == second).values(
            status="temporarily_closed"))
    assert client.get(f"/ogc/collections/stations/items/{first}").status_code == 404
    after = client.get("/ogc/collections/stations/items").json
    assert after["numberMatched"] == before - 1
    assert first not in {f["id"] for f in after["features"]}
    one = client.get(f"/ogc/collections/stations/items/{second}").json
    assert one["properties"]["status"] == "temporarily_closed"


# --- caching --------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/ogc", "/ogc/collections", "/ogc/api",
                                 "/ogc/collections/stations/items?limit=5",
                                 "/ogc/collections/districts/items/130100"])
def test_etag_and_conditional_get(client, url):
    first = client.get(url)
    assert first.headers["ETag"] and first.status_code == 200
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get(url + ("&" if "?" in url else "?") + "f=html",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200  # another representation, another tag


# --- Part 2: CRS ----------------------------------------------------------------------


@pytest.mark.parametrize("uri,lat_first", [(CRS84, False), (EPSG4326, True), (EPSG4490, True)])
def test_crs_swaps_the_axes_and_says_so(client, uri, lat_first):
    plain = client.get("/ogc/collections/stations/items?limit=3").json["features"]
    r = client.get(f"/ogc/collections/stations/items?limit=3&crs={uri}")
    assert r.headers["Content-Crs"] == f"<{uri}>"
    for a, b in zip(plain, r.json["features"], strict=True):
        lon, lat = a["geometry"]["coordinates"]
        assert b["geometry"]["coordinates"] == ([lat, lon] if lat_first else [lon, lat])
        assert b["properties"] == a["properties"]
    one = client.get(f"/ogc/collections/stations/items/{plain[0]['id']}?crs={uri}")
    assert one.headers["Content-Crs"] == f"<{uri}>"
    assert one.json["geometry"] == r.json["features"][0]["geometry"]


def test_crs_swaps_polygon_rings_too(client):
    plain = client.get("/ogc/collections/districts/items/130100").json["geometry"]
    flipped = client.get(f"/ogc/collections/districts/items/130100?crs={EPSG4490}").json[
        "geometry"]
    a = np.array(_first_ring(plain))
    assert np.array_equal(np.array(_first_ring(flipped)), a[:, ::-1])


def _first_ring(geometry):
    coords = geometry["coordinates"]
    return coords[0][0] if geometry["type"] == "MultiPolygon" else coords[0]


@pytest.mark.parametrize("bbox_crs", [EPSG4326, EPSG4490])
def test_bbox_crs_reads_lat_lon_order(client, bbox_crs):
    lonlat = client.get("/ogc/collections/stations/items?bbox=114.4,37.9,114.7,38.2").json
    latlon = client.get(f"/ogc/collections/stations/items?bbox=37.9,114.4,38.2,114.7"
                        f"&bbox-crs={bbox_crs}").json
    assert lonlat["numberMatched"] == latlon["numberMatched"] > 0
    six = client.get("/ogc/collections/stations/items?bbox=114.4,37.9,0,114.7,38.2,100").json
    assert six["numberMatched"] == lonlat["numberMatched"]


def test_the_openapi_document_describes_every_collection(client):
    doc = client.get("/ogc/api").json
    assert doc["openapi"].startswith("3.0")
    for c in COLLECTIONS:
        items = doc["paths"][f"/ogc/collections/{c.id}/items"]["get"]
        names = {p["$ref"].rsplit("/", 1)[-1] for p in items["parameters"]}
        assert {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f"} <= names
        assert set(c.filters) <= names
    assert doc["components"]["parameters"]["limit"]["schema"]["maximum"] == MAX_LIMIT


# --- open data (issue 16 part 4) ------------------------------------------------------


def download(client, url, **headers):
    """GET a file and close the response (a sent file stays open until then)."""
    with client.get(url, headers=headers) as r:
        r.get_data()
        return r


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg", "xlsx"])
def test_open_data_files_need_no_account_and_hold_every_site(client, demo_app, fmt, tmp_path):
    snap = snapshot(demo_app)
    r = download(client, f"/api/v1/exports/stations.{fmt}")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=hebei-union-stations.{fmt}")
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    assert 'rel="license"' in r.headers["Link"]
    ids, synthetic, licence = _read_open_file(fmt, r.data, tmp_path)
    assert ids == snap.sites["id"].tolist()  # stations and mother rooms, no removed ones
    assert synthetic and "CC BY 4.0" in licence
    again = download(client, f"/api/v1/exports/stations.{fmt}",
                     **{"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    since = download(client, f"/api/v1/exports/stations.{fmt}",
                     **{"If-Modified-Since": r.headers["Last-Modified"]})
    assert since.status_code == 304


def _read_open_file(fmt, data, tmp_path):
    """(ids, every row synthetic, the licence text) of an open file."""
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        return ([r["id"] for r in rows], all(r["synthetic"] == "True" for r in rows),
                rows[0]["licence"])
    if fmt == "geojson":
        body = json.loads(data)
        return ([f["id"] for f in body["features"]],
                body["synthetic"] and all(f["properties"]["synthetic"]
                                          for f in body["features"]), body["licence"])
    path = tmp_path / f"open.{fmt}"
    path.write_bytes(data)
    if fmt == "gpkg":
        import pyogrio

        frame = pyogrio.read_dataframe(path, layer="stations")
        about = pyogrio.read_dataframe(path, layer="about", read_geometry=False)
        assert frame.crs.to_epsg() == 4326
        return (frame["id"].tolist(), bool(frame["synthetic"].all()),
                dict(zip(about["key"], about["value"], strict=True))["licence"])
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = list(wb["站点"].iter_rows(values_only=True))
    header = rows[0]
    about = dict(wb["许可 licence"].iter_rows(min_row=2, values_only=True))
    synthetic = [r[header.index("synthetic")] for r in rows[1:]]
    return [r[0] for r in rows[1:]], all(v in (True, "是") for v in synthetic), \
        about["licence"]


def test_open_data_is_regenerated_once_per_data_version(fresh_demo_app, monkeypatch):
    from sqlalchemy import update

    from locator.store.models import Station

    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    client = fresh_demo_app.test_client()
    first = download(client, "/api/v1/exports/stations.geojson")
    folder = fresh_demo_app.extensions["locator.ogc"].folder
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert download(client, "/api/v1/exports/stations.geojson").data == first.data
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written  # not rewritten
    victim = first.json["features"][0]["id"]
    with fresh_demo_app.extensions["locator"].store.write() as s:
        s.execute(update(Station).where(Station.id == victim).values(status="removed"))
    second = download(client, "/api/v1/exports/stations.geojson",
                      **{"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert victim not in {f["id"] for f in second.json["features"]}
    assert len(second.json["features"]) == len(first.json["features"]) - 1
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        f"stations-v{second.json['data_version']}.geojson"]  # the old version is gone


def test_an_unknown_open_format_is_404(client):
    for fmt in ("kml", "pdf", "csv.exe", "CSV"):
        r = client.get(f"/api/v1/exports/stations.{fmt}")
        assert r.status_code == 404 and r.json["error"] == "not_found"
