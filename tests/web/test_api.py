"""Contract tests of the public API (DESIGN.md §5) over the demo database."""

import datetime as dt
import json

import numpy as np
import pytest
from pyproj import Geod

from locator.geo import datum
from locator.sites import api
from locator.web import state as state_module

GEOD = Geod(ellps="WGS84")
TZ = dt.timezone(dt.timedelta(hours=8))
SJZ = {"lon": 114.5149, "lat": 38.0428}  # 石家庄 centre, WGS-84


def strict_json(response):
    """RFC 8259: NaN / Infinity are not JSON."""
    def refuse(name):
        raise AssertionError(f"non-JSON constant {name}")
    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


def nearest(client, **params):
    r = client.get("/api/v1/nearest", query_string=params)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/geo+json"
    return strict_json(r)


@pytest.fixture()
def frozen(monkeypatch):
    def freeze(when):
        monkeypatch.setattr(api, "now", lambda: when)
    return freeze


def test_nearest_is_a_distance_ordered_feature_collection(client):
    body = nearest(client, **SJZ, k=7)
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 7
    assert body["beyond_range"] is False and body["synthetic"] is True
    d = [f["properties"]["distance_m"] for f in body["features"]]
    assert d == sorted(d)
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "Point" and 113 < lon < 120 and 36 < lat < 43
        props = f["properties"]
        assert props["id"] == f["id"] and props["lon"] == lon and props["lat"] == lat
        expected = GEOD.inv(SJZ["lon"], SJZ["lat"], lon, lat)[2]
        assert props["distance_m"] == pytest.approx(expected, abs=0.06)
        assert props["open_now"] in (True, False, None)
        assert props["status"] == "active"
        assert "updated_by" not in props


def test_default_k_is_5(client):
    assert nearest(client, **SJZ)["numberReturned"] == 5


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_datum_converts_the_query_point(client, name):
    target = nearest(client, **SJZ, k=1)["features"][0]
    lon, lat = target["geometry"]["coordinates"]
    shifted_lon, shifted_lat = datum.from_wgs84(lon, lat, name)
    body = nearest(client, lon=shifted_lon, lat=shifted_lat, datum=name, k=1)
    assert body["features"][0]["id"] == target["id"]
    assert body["features"][0]["properties"]["distance_m"] < 0.05
    assert body["query"]["input_datum"] == name
    # the same numbers read as WGS-84 land half a kilometre or more away
    naive = nearest(client, lon=shifted_lon, lat=shifted_lat, k=1)
    assert naive["features"][0]["properties"]["distance_m"] > 100 or \
        naive["features"][0]["id"] != target["id"]


def test_kind_and_services_filters(client):
    body = nearest(client, **SJZ, k=20, kind="mother_room")
    assert {f["properties"]["kind"] for f in body["features"]} == {"mother_room"}
    body = nearest(client, **SJZ, k=20, services="aed,toilet")
    assert body["numberReturned"] == 20
    for f in body["features"]:
        assert {"aed", "toilet"} <= set(f["properties"]["services"])


def test_open_now_with_a_frozen_clock(client, frozen):
    frozen(dt.datetime(2026, 12, 2, 3, 0, tzinfo=TZ))  # Wednesday 03:00
    body = nearest(client, **SJZ, k=10, open_now=1)
    assert body["numberReturned"] == 10
    assert all(f["properties"]["open_now"] is True for f in body["features"])
    assert {f["properties"]["opening_hours"] for f in body["features"]} == {"24/7"}
    everything = nearest(client, **SJZ, k=10)
    assert any(f["properties"]["open_now"] is False for f in everything["features"])


def test_public_holiday_rule(client, frozen):
    """`PH off` sites are closed on National Day and open on an ordinary weekday."""
    sites = strict_json(client.get("/api/v1/stations", query_string={"limit": 1000}))
    ph_off = next(f for f in sites["features"]
                  if f["properties"]["opening_hours"] == "Mo-Fr 08:30-17:30; PH off"
                  and f["properties"]["status"] == "active")
    lon, lat = ph_off["geometry"]["coordinates"]

    def ids(when):
        frozen(when)
        body = nearest(client, lon=lon, lat=lat, k=50, open_now=1)
        return {f["id"] for f in body["features"]}

    assert ph_off["id"] in ids(dt.datetime(2026, 10, 15, 10, 0, tzinfo=TZ))  # Thursday
    assert ph_off["id"] not in ids(dt.datetime(2026, 10, 1, 10, 0, tzinfo=TZ))  # 国庆
    frozen(dt.datetime(2026, 10, 1, 10, 0, tzinfo=TZ))
    one = strict_json(client.get(f"/api/v1/stations/{ph_off['id']}"))
    assert one["properties"]["open_now"] is False


def test_nothing_in_range_returns_the_nearest_flagged(client):
    body = nearest(client, lon=119.5, lat=39.0, k=3, max_km=2)  # the Bohai sea
    assert body["beyond_range"] is True and body["numberReturned"] == 3
    assert all(f["properties"]["distance_m"] > 2000 for f in body["features"])
    body = nearest(client, **SJZ, k=50, max_km=1)
    assert body["beyond_range"] is False
    assert all(f["properties"]["distance_m"] <= 1000 for f in body["features"])


def test_temporarily_closed_only_on_request(client):
    sites = strict_json(client.get("/api/v1/stations", query_string={"limit": 1000}))
    closed = next(f for f in sites["features"]
                  if f["properties"]["status"] == "temporarily_closed")
    lon, lat = closed["geometry"]["coordinates"]
    assert closed["id"] not in {f["id"] for f in nearest(client, lon=lon, lat=lat)["features"]}
    body = nearest(client, lon=lon, lat=lat, k=1, include_closed=1)
    assert body["features"][0]["id"] == closed["id"]
    assert body["features"][0]["properties"]["status"] == "temporarily_closed"
    assert body["features"][0]["properties"]["reopen_date"]


@pytest.mark.parametrize("query", [
    {"lat": "38"},                                   # lon missing
    {"lat": "nan", "lon": "114"},
    {"lat": "38", "lon": "inf"},
    {"lat": "38", "lon": "-Infinity"},
    {"lat": "３８", "lon": "114"},                    # full-width digits
    {"lat": "3_8", "lon": "114"},
    {"lat": "91", "lon": "114"},
    {"lat": "38", "lon": "181"},
    {"lat": "38", "lon": "114", "k": "0"},
    {"lat": "38", "lon": "114", "k": "51"},
    {"lat": "38", "lon": "114", "k": "5.5"},
    {"lat": "38", "lon": "114", "kind": "toilet"},
    {"lat": "38", "lon": "114", "services": "toilet,sauna"},
    {"lat": "38", "lon": "114", "datum": "bd-09"},
    {"lat": "38", "lon": "114", "open_now": "maybe"},
    {"lat": "38", "lon": "114", "max_km": "-1"},
    {"lat": "38", "lon": "114", "max_km": "nan"},
    {"lat": "38", "lon": "114", "radius": "5"},      # unknown parameter
    "lat=38&lat=39&lon=114",                         # repeated parameter
])
def test_bad_requests_are_400_with_a_message(client, query):
    r = client.get("/api/v1/nearest", query_string=query)
    assert r.status_code == 400
    body = strict_json(r)
    assert set(body) == {"error", "message"} and body["message"]


def test_stations_bbox_district_kind_and_paging(client):
    bbox = (114.3, 37.9, 114.7, 38.2)
    first = strict_json(client.get("/api/v1/stations", query_string={
        "bbox": ",".join(map(str, bbox)), "limit": 50}))
    seen, page = [], first
    while True:
        seen += page["features"]
        if "next" not in page:
            break
        page = strict_json(client.get(page["next"]))
    assert len(seen) == first["numberMatched"] == len({f["id"] for f in seen})
    assert all(bbox[0] <= f["geometry"]["coordinates"][0] <= bbox[2]
               and bbox[1] <= f["geometry"]["coordinates"][1] <= bbox[3] for f in seen)
    everything = strict_json(client.get("/api/v1/stations", query_string={"limit": 1000}))
    assert everything["numberMatched"] == 5990 and everything["numberReturned"] == 1000
    inside = 0
    offset = 0
    while offset < everything["numberMatched"]:
        chunk = strict_json(client.get("/api/v1/stations", query_string={
            "limit": 1000, "offset": offset}))
        coords = np.array([f["geometry"]["coordinates"] for f in chunk["features"]])
        inside += int(((coords[:, 0] >= bbox[0]) & (coords[:, 0] <= bbox[2])
                       & (coords[:, 1] >= bbox[1]) & (coords[:, 1] <= bbox[3])).sum())
        offset += 1000
    assert inside == first["numberMatched"]
    body = strict_json(client.get("/api/v1/stations", query_string={
        "district": "133100", "kind": "mother_room"}))
    assert body["numberMatched"] == 3
    assert all(f["properties"]["district_name"] == "雄安新区" for f in body["features"])


@pytest.mark.parametrize("query", [{"bbox": "1,2,3"}, {"bbox": "114,38,113,39"},
                                   {"bbox": "114,91,115,92"}, {"district": "110000"},
                                   {"limit": "0"}, {"limit": "1001"}, {"offset": "-1"},
                                   {"page": "2"}])
def test_stations_bad_requests(client, query):
    r = client.get("/api/v1/stations", query_string=query)
    assert r.status_code == 400 and strict_json(r)["error"]


def test_stations_are_cacheable(client):
    r = client.get("/api/v1/stations?limit=5")
    assert "max-age" in r.headers["Cache-Control"] and r.headers["ETag"]
    again = client.get("/api/v1/stations?limit=5", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    other = client.get("/api/v1/stations?limit=6")
    assert other.headers["ETag"] != r.headers["ETag"]


def test_one_station_and_unknown_ids(client):
    first = strict_json(client.get("/api/v1/stations?limit=1"))["features"][0]
    r = client.get(f"/api/v1/stations/{first['id']}")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    one = strict_json(r)
    assert one["type"] == "Feature" and one["id"] == first["id"]
    assert one["properties"]["open_now"] in (True, False, None)
    for bad in ["HB999999-0001", "nope", "..%2F..%2Fetc"]:
        r = client.get(f"/api/v1/stations/{bad}")
        assert r.status_code == 404 and strict_json(r)["error"]


def test_districts(client):
    body = strict_json(client.get("/api/v1/districts"))
    assert len(body["districts"]) == 14
    assert sum(d["stations"] for d in body["districts"]) == 5790
    assert sum(d["mother_rooms"] for d in body["districts"]) == 200
    names = {d["code"]: d["name"] for d in body["districts"]}
    assert names["133100"] == "雄安新区" and names["130682"] == "定州市"


def test_openapi_document_describes_every_route(client, demo_app):
    doc = strict_json(client.get("/api/v1/openapi.json"))
    assert doc["openapi"].startswith("3.")
    api_rules = {r.rule.replace("<site_id>", "{id}") for r in demo_app.url_map.iter_rules()
                 if r.rule.startswith("/api/") or r.rule == "/healthz"}
    assert api_rules == set(doc["paths"])
    nearest_params = {p["name"] for p in doc["paths"]["/api/v1/nearest"]["get"]["parameters"]}
    assert nearest_params == set(api.NEAREST_PARAMS)
    station_params = {p["name"] for p in doc["paths"]["/api/v1/stations"]["get"]["parameters"]}
    assert station_params == set(api.STATIONS_PARAMS)


def test_a_write_reaches_the_api_within_the_check_interval(empty_app, monkeypatch):
    from sqlalchemy import update

    from locator.store.models import Station

    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    empty_app.config["LOAD_DEMO"] = True
    assert empty_app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    client = empty_app.test_client()
    nearest_id = nearest(client, **SJZ, k=1)["features"][0]["id"]
    with empty_app.extensions["locator"].store.write() as s:
        s.execute(update(Station).where(Station.id == nearest_id).values(status="removed"))
    assert nearest(client, **SJZ, k=1)["features"][0]["id"] != nearest_id
    assert client.get(f"/api/v1/stations/{nearest_id}").status_code == 404
