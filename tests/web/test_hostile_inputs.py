"""Issue 12: hostile input on every route never makes a 500 and never comes back as markup.

The routes, fields and payloads are generated from ``app.url_map`` (tests/hostile.py), so
a new route is swept the day it is added. The three reproductions of the issue are pinned
as explicit tests below.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter

import pytest
from sqlalchemy import select

from locator import create_app
from locator.reports import filing as reports
from locator.store import accounts
from locator.store.models import Station
from tests import hostile
from tests.conftest import form_token


@pytest.fixture(scope="module")
def sweep_app(tmp_path_factory, demo_db):
    instance = tmp_path_factory.mktemp("hostile")
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    app.request_class = hostile.RecordingRequest
    state = app.extensions["locator"]
    for username, role, district in hostile.USERS.values():
        accounts.create_user(state.store, username, hostile.PASSWORD, role, district,
                             tuple(state.regions().district_names()))
    yield app
    state.store.dispose()


def sign_in(app, role, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if role != "anonymous":
        username = hostile.USERS[role][0]
        r = client.post("/staff/login", data={
            "username": username, "password": hostile.PASSWORD,
            "csrf_token": form_token(client, "/staff/login")})
        assert r.status_code == 302, r.get_data(as_text=True)
    return client


def known_ids(app) -> dict:
    """Ids of real rows, as harmless values for path arguments."""
    store = app.extensions["locator"].store
    with store.read() as s:
        site = s.scalar(select(Station.id).where(Station.district_code == "130100")
                        .order_by(Station.id))
    report = reports.file_report(store, site, "other", "hostile sweep",
                                 dt.datetime.now(dt.UTC))
    return {"site_id": site, "station_id": site, "report_id": report, "batch_id": 1}


def answered_safely(case, response) -> list[str]:
    """What is wrong with one answer (empty when nothing is)."""
    wrong = []
    if response.status_code >= 500:
        wrong.append(f"{response.status_code}")
    if response.mimetype in ("text/html", "application/json", "application/geo+json",
                             "text/plain", "text/csv", "application/javascript"):
        body = response.get_data(as_text=True)
        wrong += [f"unescaped {m!r}" for m in hostile.XSS_MARKERS if m in body]
    return wrong


def test_every_route_survives_every_payload_in_every_role(sweep_app):
    clients = {role: sign_in(sweep_app, role, f"192.0.2.{i + 10}")
               for i, role in enumerate(hostile.ROLES)}
    failures, statuses, endpoints = [], Counter(), set()
    for case, response in hostile.cases(sweep_app, clients, known_ids(sweep_app)):
        statuses[response.status_code // 100] += 1
        endpoints.add(case.endpoint)
        failures += [f"{case.id} {case.url[:120]}: {w}" for w in answered_safely(case, response)]
        response.close()
    assert not failures, "\n".join(failures[:40])
    # The sweep reached every route, and views (not only the router) answered.
    assert endpoints == {rule.endpoint for rule in sweep_app.url_map.iter_rules()}
    assert statuses[4] > 1000 and statuses[2] + statuses[3] > 100, statuses


def test_the_sweep_sees_the_fields_a_view_reads(sweep_app):
    """The recorder finds the query names of the nearest API (a check that it works)."""
    client = sweep_app.test_client()
    with hostile.recording() as names:
        client.get("/api/v1/nearest?lat=38.04&lon=114.51")
    assert {"lat", "lon", "k", "kind", "services", "max_km", "datum"} <= names


def test_a_route_without_a_harmless_value_is_named(sweep_app):
    from werkzeug.routing import Map, Rule

    rule = Rule("/x/<brand_new>", endpoint="x")
    Map([rule])
    with pytest.raises(AssertionError, match="no harmless value for <brand_new>"):
        hostile.sample_values(rule, {})


# --- the reproductions of issue 12, pinned --------------------------------------------

@pytest.fixture(scope="module")
def district(sweep_app):
    return sign_in(sweep_app, "district", "192.0.2.99")


@pytest.mark.parametrize("url", [
    "/staff/coverage/map.json?demand={}",
    "/staff/coverage/suggestions.json?radius_m={}",
    "/staff/coverage/download/stations/{}",
    "/staff/coverage?radius_m={}",
])
def test_reflected_xss_in_staff_error_pages(district, url):
    r = district.get(url.format(hostile.encode("<img src=x onerror=alert(document.domain)>")))
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(" in html


@pytest.mark.parametrize("url", ["/staff/coverage?radius_m=%25",
                                 "/staff/coverage?demand=%25",
                                 "/staff/coverage/map.json?radius_m=%25%28x%29s"])
def test_a_percent_sign_is_a_400_not_a_500(district, url):
    r = district.get(url)
    assert r.status_code == 400 and "%" in r.get_data(as_text=True)


def test_json_errors_escape_markup_too(sweep_app):
    r = sweep_app.test_client().get("/api/v1/nearest?lat=38&lon=114&datum=%3Cb%3Ex")
    assert r.status_code == 400 and r.mimetype == "application/json"
    assert b"<b>" not in r.data and "<b>x" in json.loads(r.data)["message"]


def test_messages_quote_at_most_a_short_repr_of_what_was_sent(sweep_app):
    r = sweep_app.test_client().get("/api/v1/nearest?lat=38&lon=" + "9" * 5000)
    assert r.status_code == 400 and len(r.get_json()["message"]) < 120
