"""Contract of GET /api/v1/coverage (DESIGN.md §5) over the demo database."""

import pytest

from locator.coverage.engine import DEMAND_NOTE, RADII_M
from locator.sites import api
from tests.web.test_api import strict_json

FIGURES = ("stations", "population", "stations_per_10k", "area_km2", "covered_km2",
           "share_area", "population_covered", "share_demand")


def coverage(client, **params):
    r = client.get("/api/v1/coverage", query_string=params)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    return strict_json(r)


def test_province_figures_and_their_parts(client):
    body = coverage(client)
    assert body["district_code"] is None and body["name"] == "河北省"
    assert body["radius_m"] == 1000
    assert body["stations"] == 5741  # active stations only (not mother rooms, not closed)
    assert body["population"] == 74_610_235
    assert 180_000 < body["area_km2"] < 195_000
    assert 0 < body["covered_km2"] < body["area_km2"]
    assert body["share_area"] == pytest.approx(body["covered_km2"] / body["area_km2"],
                                               abs=1e-4)
    assert 0 < body["share_area"] < body["share_demand"] < 1
    assert len(body["districts"]) == 14 and len(body["counties"]) == 167
    for key in ("stations", "population", "population_covered"):
        assert sum(d[key] for d in body["districts"]) == pytest.approx(body[key], abs=14)
        assert sum(c[key] for c in body["counties"]) == pytest.approx(body[key], abs=167)
    for key in ("area_km2", "covered_km2"):
        assert sum(c[key] for c in body["counties"]) == pytest.approx(body[key], rel=1e-6)
    assert body["demand"]["coarse_proxy"] is True and body["demand"]["note"] == DEMAND_NOTE
    assert body["synthetic"] is True and body["data_version"] >= 1
    gaps = body["gaps"]
    assert len(gaps) == 10 and [g["rank"] for g in gaps] == list(range(1, 11))
    assert [g["unmet_demand"] for g in gaps] == sorted((g["unmet_demand"] for g in gaps),
                                                       reverse=True)


def test_one_district(client):
    province = coverage(client)
    body = coverage(client, district="133100", radius_m=2000)
    assert body["district_code"] == "133100" and body["name"] == "雄安新区"
    assert "districts" not in body
    assert {c["county_name"] for c in body["counties"]} == {"容城县", "安新县", "雄县"}
    assert all(c["district_code"] == "133100" for c in body["counties"])
    row = next(d for d in coverage(client, radius_m=2000)["districts"]
               if d["district_code"] == "133100")
    assert {k: body[k] for k in FIGURES} == {k: row[k] for k in FIGURES}
    assert all(g["district_code"] == "133100" for g in body["gaps"])
    assert body["population"] == 1_205_440
    assert body["stations"] < province["stations"]


def test_a_larger_radius_covers_more(client):
    bodies = [coverage(client, radius_m=r) for r in RADII_M]
    for key in ("covered_km2", "share_area", "population_covered", "share_demand"):
        values = [b[key] for b in bodies]
        assert values == sorted(values) and len(set(values)) == 3
    assert len({b["stations"] for b in bodies}) == 1


@pytest.mark.parametrize("query", [
    {"radius_m": "750"}, {"radius_m": "1000.0"}, {"radius_m": "１０００"}, {"radius_m": "nan"},
    {"radius_m": "-1000"}, {"district": "110000"}, {"district": "13010"}, {"radius": "1000"},
    "radius_m=500&radius_m=1000",
])
def test_bad_requests(client, query):
    r = client.get("/api/v1/coverage", query_string=query)
    assert r.status_code == 400
    body = strict_json(r)
    assert set(body) == {"error", "message"} and body["message"]


def test_cacheable_per_version_and_query(client):
    r = client.get("/api/v1/coverage?radius_m=500")
    assert "max-age" in r.headers["Cache-Control"] and r.headers["ETag"]
    assert client.get("/api/v1/coverage?radius_m=500",
                      headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert client.get("/api/v1/coverage?radius_m=2000").headers["ETag"] != r.headers["ETag"]


def test_openapi_lists_the_parameters(client):
    doc = strict_json(client.get("/api/v1/openapi.json"))
    op = doc["paths"]["/api/v1/coverage"]["get"]
    assert {p["name"] for p in op["parameters"]} == set(api.COVERAGE_PARAMS)
    radius = next(p for p in op["parameters"] if p["name"] == "radius_m")
    assert radius["schema"]["enum"] == list(RADII_M)


def test_a_data_change_reaches_the_figures(empty_app, monkeypatch):
    from sqlalchemy import update

    from locator.store.models import Station
    from locator.web import state as state_module

    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    empty_app.config["LOAD_DEMO"] = True
    assert empty_app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    client = empty_app.test_client()
    before = coverage(client, district="130181")
    with empty_app.extensions["locator"].store.write() as s:
        s.execute(update(Station).where(Station.district_code == "130181")
                  .values(status="temporarily_closed"))
    after = coverage(client, district="130181")
    assert before["stations"] > 0 and after["stations"] == 0
    assert after["covered_km2"] < before["covered_km2"]
    assert after["data_version"] > before["data_version"]
