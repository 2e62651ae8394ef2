"""Issue 14: private logs. One line per request with a request id, never a client address,
a query string or a coordinate; the courier page's position travels in a POST body."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

import pytest

from locator.web.requestlog import Private
from tests.served import instance_from, serving

FORM = "application/x-www-form-urlencoded"
PAGE = (114.51493, 38.04287)  # (lon, lat) the courier page searches at
API = (116.68383, 39.53801)  # an API user's GET
BODY = (115.46591, 38.87362)  # a program's JSON POST
PROXIED = ("198.51.100.7", "198.51.100.8", "2001:db8::77")  # clients behind the proxy
LINE = re.compile(r"^\S+ INFO locator\.web\.requestlog: id=(?P<id>[0-9a-f]{32}|[\w.-]{8,64}) "
                  r"method=(?P<method>[A-Z]+) path=(?P<path>\S+) status=(?P<status>\d{3}) "
                  r"ms=\d+\.\d$")


def printed(value: float) -> set[str]:
    """``value`` as a log might print it: 2 to 6 decimals, and Python's repr."""
    return {f"{value:.{n}f}" for n in range(2, 7)} | {repr(value)}


def coordinates_in(text: str) -> list[str]:
    return sorted({form for point in (PAGE, API, BODY) for v in point for form in printed(v)
                   if form in text})


@pytest.fixture(scope="module")
def session(demo_db, tmp_path_factory):
    """A served session: gunicorn with 2 workers behind one (pretend) proxy, the courier
    page's search, an API user's GET, a program's JSON POST, pages and errors; yields the
    server's whole output and the (method, path, status, X-Request-Id) of each request."""
    instance = instance_from(demo_db, tmp_path_factory.mktemp("private-logs"))
    sent = []
    # 127.0.0.2: the server's own address is not the client's (127.0.0.1)
    with serving(instance, workers=2, host="127.0.0.2",
                 env={"LOCATOR_TRUSTED_PROXIES": "1"}) as s:

        def send(method, path, *, client=PROXIED[0], body=None, headers=None):
            status, answer, data = s.get(path, data=body, method=method, headers={
                "X-Forwarded-For": client, **(headers or {})})
            sent.append((method, path.split("?")[0], status, answer["X-Request-Id"]))
            return status, data

        status, html = send("GET", "/")
        assert status == 200 and b"locator-config" in html
        lon, lat = PAGE  # as static/app.js sends it
        status, data = send("POST", "/api/v1/nearest", body=urlencode(
            {"lat": lat, "lon": lon, "k": 5, "nav": 1}).encode(), headers={
            "Content-Type": FORM, "Origin": s.base, "Sec-Fetch-Site": "same-origin"})
        assert status == 200, data
        site = json.loads(data)["features"][0]["id"]
        lon, lat = API
        status, data = send("GET", f"/api/v1/nearest?lat={lat}&lon={lon}&k=3",
                            client=PROXIED[1])
        assert status == 200 and len(json.loads(data)["features"]) == 3
        lon, lat = BODY
        status, data = send("POST", "/api/v1/nearest", client=PROXIED[2], body=json.dumps(
            {"lat": lat, "lon": lon, "open_now": True}).encode(),
            headers={"Content-Type": "application/json"})
        assert status == 200, data
        assert send("GET", f"/api/v1/nearest?lat={lat}&lon=999")[0] == 400
        assert send("GET", f"/no/such/page?lat={lat}&lon={lon}")[0] == 404
        assert send("GET", f"/stations/{site}?from={lat},{lon}")[0] == 200
        assert send("GET", "/healthz")[0] == 200
        status, _ = send("GET", "/about", headers={
            "X-Request-Id": "nginx-0123456789abcdef0123456789abcdef"})
        assert status == 200
    return s.output(), sent


def test_every_request_has_one_line_with_its_id(session):
    output, sent = session
    lines = [m.groupdict() for m in map(LINE.match, output.splitlines()) if m]
    by_id = {line["id"]: line for line in lines}
    assert len(lines) == len(by_id) >= len(sent)
    for method, path, status, rid in sent:
        line = by_id[rid]
        assert (line["method"], line["path"], int(line["status"])) == (method, path, status)


def test_the_proxys_request_id_is_kept(session):
    _, sent = session
    assert sent[-1][3] == "nginx-0123456789abcdef0123456789abcdef"


def test_no_coordinate_query_or_address_reaches_the_log(session):
    output, _ = session
    assert coordinates_in(output) == []
    for address in (*PROXIED, "127.0.0.1"):
        assert address not in output
    assert "lat=" not in output and "?" not in output
    assert "Booting worker" in output  # the log was read (gunicorn's lines are in it too)


# --- the line and the id, in process ----------------------------------------------------

@pytest.fixture()
def log_lines():
    """The lines our formatter writes, for requests of this test."""
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(Private())
    logging.getLogger("locator").addHandler(handler)
    yield lines
    logging.getLogger("locator").removeHandler(handler)


def test_a_line_in_process(client, log_lines):
    r = client.get("/api/v1/nearest?lat=38.04287&lon=114.51493", headers={
        "X-Request-Id": "from-a-client-0000"})
    rid = r.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)  # no proxy is trusted: a client's id is not
    (line,) = [x for x in log_lines if rid in x]
    assert LINE.match(line) and "path=/api/v1/nearest status=200" in line
    assert coordinates_in(line) == []


@pytest.mark.parametrize("given", ["short", "a b c d e f g h", "x" * 65, "<script>alert</script>",
                                   "id=1 status=200 ms=1"])
def test_an_odd_request_id_is_replaced(tmp_path, given):
    from locator import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True, "TRUSTED_PROXIES": 1})
    rid = app.test_client().get("/about", headers={"X-Request-Id": given}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)


def test_a_hostile_path_stays_one_line(client, log_lines):
    client.get("/stations/%0a%0dfake%20line%22%3Cx%3E")
    line = log_lines[-1]
    assert "\n" not in line and "\r" not in line and " line" not in line and '"' not in line
    assert "path=/stations/%0A%0Dfake%20line%22%3Cx%3E status=404" in line


def test_error_lines_carry_the_request_id_and_no_address(tmp_path, log_lines):
    from locator import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True,
                      "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("failed for 203.0.113.5 at /api/v1/nearest?lat=38.04287&lon=1")

    rid = app.test_client().get("/boom").headers["X-Request-Id"]
    error = next(x for x in log_lines if "ERROR" in x)
    assert error.endswith(f"id={rid}") or f"id={rid}" in error
    assert "203.0.113.5" not in error and "38.04287" not in error
    assert "[address]" in error and "/api/v1/nearest?[query]" in error


# --- the POST of the nearest API ----------------------------------------------------------

def test_post_answers_as_get(client):
    get = client.get("/api/v1/nearest?lat=38.04287&lon=114.51493&k=4&services=toilet&nav=1")
    form = client.post("/api/v1/nearest", data={"lat": "38.04287", "lon": "114.51493", "k": "4",
                                                "services": "toilet", "nav": "1"})
    body = client.post("/api/v1/nearest", json={"lat": 38.04287, "lon": 114.51493, "k": 4,
                                                "services": ["toilet"], "nav": True})
    ids = [[f["id"] for f in r.get_json()["features"]] for r in (get, form, body)]
    assert get.status_code == form.status_code == body.status_code == 200
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 4
    assert form.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({"Origin": "https://evil.example"}, 403, "cross_site_request"),
    ({"Origin": "null"}, 403, "cross_site_request"),
    ({"Origin": "http://["}, 403, "cross_site_request"),
    ({"Sec-Fetch-Site": "cross-site"}, 403, "cross_site_request"),
    ({"Sec-Fetch-Site": "same-site"}, 403, "cross_site_request"),
    ({"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}, 200, None),
    ({"Origin": "https://localhost:8443"}, 200, None),  # behind an undeclared https proxy
])
def test_only_our_own_pages_may_post(client, headers, status, code):
    r = client.post("/api/v1/nearest", data={"lat": "38.04", "lon": "114.51"}, headers=headers)
    assert r.status_code == status
    if code:
        assert r.get_json()["error"] == code


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"data": "lat=38&lon=114.5", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ({"data": b"\x00", "content_type": "application/octet-stream"}, 415,
     "unsupported_media_type"),
    ({"data": "[38, 114.5]", "content_type": "application/json"}, 400, "bad_body"),
    ({"data": "{not json", "content_type": "application/json"}, 400, "bad_body"),
    ({"json": {"lat": 38, "lon": {"x": 1}}}, 400, "bad_parameter"),
    ({"json": {"lat": 38, "lon": "NaN"}}, 400, "bad_parameter"),
    ({"data": '{"lat": 38, "lon": NaN}', "content_type": "application/json"}, 400,
     "bad_parameter"),
    ({"json": {"lat": 38, "lon": 114.5, "zoom": 3}}, 400, "unknown_parameter"),
    ({"data": {"lat": "38", "lon": "114.5"}, "query_string": {"k": "3"}}, 400,
     "unknown_parameter"),
])
def test_bad_bodies_are_refused(client, kwargs, status, code):
    r = client.post("/api/v1/nearest", **kwargs)
    assert r.status_code == status and r.get_json()["error"] == code


def test_the_page_posts_without_a_csrf_token_but_other_forms_still_need_one(client):
    assert client.post("/api/v1/nearest", data={"lat": "38", "lon": "114.5"}).status_code == 200
    r = client.post("/stations/HB130102-0001/report", data={"category": "other"})
    assert r.status_code == 400  # the CSRF token is still required there
