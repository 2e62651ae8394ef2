"""The app on PostgreSQL: the API, the courier's pages, a problem report, staff sign-in,
and an import through the CLI that the API sees at once.

Most are the SQLite suite's tests, run unchanged: the fixtures of tests/pg/conftest.py give
them an app whose ``DATABASE_URL`` points at the throwaway PostgreSQL server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from locator.web import state as state_module
from tests.conftest import form_token
from tests.web import test_api, test_app, test_pages, test_staff, test_staff_stations

REUSED = {
    test_api: ("frozen", "test_nearest_is_a_distance_ordered_feature_collection",
               "test_kind_and_services_filters", "test_open_now_with_a_frozen_clock",
               "test_temporarily_closed_only_on_request",
               "test_stations_bbox_district_kind_and_paging", "test_one_station_and_unknown_ids",
               "test_districts"),
    test_app: ("test_index_shows_the_map_legend_filters_and_synthetic_notice",
               "test_sites_payload_has_every_site", "test_healthz",
               "test_init_is_idempotent_and_keeps_existing_data",
               "test_init_without_demo_leaves_an_empty_store"),
    test_pages: ("report_app", "test_station_page_shows_everything_a_courier_needs",
                 "test_unknown_station_page_is_404", "test_a_report_is_stored_for_the_district"),
    test_staff: ("app", "test_login_and_the_session_cookie",
                 "test_district_staff_see_and_change_only_their_district"),
    test_staff_stations: ("app", "test_search_and_filters_agree_with_a_plain_filter_over_the_rows",
                          "test_editing_a_site_reaches_the_public_api",
                          "test_saving_over_someone_elses_change_is_refused",
                          "test_a_new_site_gets_the_next_id_of_its_county",
                          "test_status_flows_reach_the_public_map_and_api",
                          "test_history_lists_every_change_newest_first_with_the_import_batch"),
}
for _module, _names in REUSED.items():
    globals().update({name: getattr(_module, name) for name in _names})

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "files"
YUHUA = {"lon": 114.5012, "lat": 38.0188}  # 裕华路环卫工人爱心驿站 in gbk_excel.csv


def test_a_cli_import_and_its_undo_reach_the_api_and_ids_are_never_reused(
        fresh_demo_app, monkeypatch):
    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    client, runner = fresh_demo_app.test_client(), fresh_demo_app.test_cli_runner()

    def health():
        return client.get("/healthz").json

    def nearest():
        return client.get("/api/v1/nearest", query_string={**YUHUA, "k": 1}).json[
            "features"][0]

    start = health()
    result = runner.invoke(args=["import", str(CORPUS / "gbk_excel.csv"), "--user", "tester"])
    assert result.exit_code == 0, result.output
    assert health()["sites"] == start["sites"] + 3
    assert health()["data_version"] == start["data_version"] + 1
    site = nearest()
    assert site["properties"]["name"] == "裕华路环卫工人爱心驿站"
    assert site["properties"]["services"] == ["drinking_water", "hot_water", "toilet",
                                              "phone_charging"]
    assert site["properties"]["updated_at"].endswith("+00:00")
    # numbered after the demo's sites of the same county, which the store already has
    county = site["properties"]["county_code"]
    demo_ids = [f["id"] for f in client.get(
        "/api/v1/stations", query_string={"limit": 1000, "district": "130100"}).json[
        "features"] if f["id"].startswith(f"HB{county}-") and f["id"] != site["id"]]
    assert int(site["id"][-4:]) == max(int(i[-4:]) for i in demo_ids) + 1

    result = runner.invoke(args=["import", "undo", "1", "--user", "tester"])
    assert result.exit_code == 0, result.output
    assert health()["sites"] == start["sites"]
    assert health()["data_version"] == start["data_version"] + 2
    assert client.get(f"/api/v1/stations/{site['id']}").status_code == 404

    assert runner.invoke(args=["import", str(CORPUS / "gbk_excel.csv")]).exit_code == 0
    again = nearest()
    assert again["properties"]["name"] == "裕华路环卫工人爱心驿站"
    assert int(again["id"][-4:]) == int(site["id"][-4:]) + 1  # the undone id stays retired


def test_text_with_nul_is_refused_cleanly_never_a_server_error(demo_app):
    """PostgreSQL cannot hold NUL in text (SQLite can): a sign-in or a report carrying one
    is a bad request, never a 500, and changes nothing."""

    client = demo_app.test_client()
    version = client.get("/healthz").json["data_version"]
    r = client.post("/staff/login", data={"csrf_token": form_token(client, "/staff/login"),
                                          "username": "admin\x00", "password": "x" * 12})
    assert r.status_code == 400 and "NUL" in r.get_data(as_text=True)

    site = client.get("/api/v1/stations?limit=1").json["features"][0]["id"]
    r = client.post("/stations/HB%00/report", data={
        "csrf_token": form_token(client, f"/stations/{site}"), "category": "other"},
        follow_redirects=True)
    # refused with a message, shown on the page it goes back to (no such station: a 404)
    assert r.status_code == 404 and "NUL" in r.get_data(as_text=True)
    assert test_pages.reports(demo_app) == []
    assert client.get("/healthz").json["data_version"] == version


@pytest.mark.parametrize("path", ["/stations/HB%00", "/api/v1/stations/HB%00"])
def test_nul_in_a_station_address_is_404(client, path):
    assert client.get(path).status_code == 404
