"""Issue 14: one redirect-target check (``locator.web.redirects``), and no route that sends
the user on to a place the request names ever leaves the site or answers 500."""

from __future__ import annotations

import shutil
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from locator import create_app
from locator.store import accounts
from locator.web.redirects import local_target
from tests import hostile
from tests.conftest import form_token
from tests.web.test_hostile_inputs import known_ids, sign_in

#: ``next=`` values as an attacker writes them in a link (already percent-encoded).
HOSTILE_NEXT = [
    "//evil.example", "///evil.example", "/%09/evil.example", "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=1", "/%00/evil.example", "/%5Cevil.example",
    "/%5C%5Cevil.example", "%5C%5Cevil.example", "/%2F/evil.example", "%2F%2Fevil.example",
    "https://evil.example", "https:evil.example", "HTTPS://evil.example", "http:/evil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "javascript%3Aalert(1)",
    "%09//evil.example", "%20//evil.example", "/%20/evil.example", "/%E3%80%80/evil.example",
    "/staff//evil.example", "/.//evil.example", "/%252F/evil.example", "/%255Cevil.example",
    "evil.example", "data:text/html,x",
]
BASE = "http://localhost/some/page"


def browser_destination(location: str) -> str:
    """Where a browser goes for ``location``: WHATWG URL parsing strips leading C0 controls
    and spaces, removes tabs and newlines, and reads ``\\`` as ``/`` in http(s) URLs."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = "".join(c for c in cleaned if c not in "\t\n\r").replace("\\", "/")
    return urljoin(BASE, cleaned)


def stays_on_site(location: str) -> bool:
    url = urlsplit(browser_destination(location))
    return url.scheme in ("http", "https") and url.netloc == "localhost"


def test_the_oracle_sees_the_tricks():
    assert not stays_on_site("/\t/evil.example") and not stays_on_site("/\\evil.example")
    assert not stays_on_site(" //evil.example") and not stays_on_site("javascript:x")
    assert stays_on_site("/about") and stays_on_site("/%2F/x")


@pytest.mark.parametrize("raw", HOSTILE_NEXT)
def test_local_target_refuses_what_leaves_the_site(raw):
    target = unquote(raw)
    accepted = local_target(target)
    assert accepted is None or stays_on_site(accepted)


@pytest.mark.parametrize("target", ["/about", "/stations/HB130102-0034",
                                    "/staff/stations?q=%E9%A9%BF&page=2", "/?lang=en",
                                    "/staff/coverage?district=130100&radius_m=1000"])
def test_local_target_keeps_paths_of_this_site(target):
    assert local_target(target) == target


@pytest.mark.parametrize("value", [None, "", 1, b"/about", "about", "/a b"])
def test_local_target_refuses_what_is_no_path(value):
    assert local_target(value) is None


@pytest.fixture(scope="module")
def redirect_app(tmp_path_factory, demo_db):
    instance = tmp_path_factory.mktemp("redirects")
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    shutil.copytree(demo_db.parent / "cache", instance / "cache")  # the demand grid
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    state = app.extensions["locator"]
    for username, role, district in hostile.USERS.values():
        accounts.create_user(state.store, username, hostile.PASSWORD, role, district,
                             tuple(state.regions().district_names()))
    yield app
    state.store.dispose()


@pytest.mark.parametrize("raw", HOSTILE_NEXT)
def test_the_language_switch_stays_on_site(client, raw):
    r = client.get(f"/lang/en?next={raw}")
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]


def test_the_language_switch_goes_back_to_the_page(client):
    r = client.get("/lang/en?next=/stations/HB130102-0034%3Flang%3Dzh")
    assert r.headers["Location"] == "/stations/HB130102-0034?lang=zh"


@pytest.mark.parametrize("raw", HOSTILE_NEXT)
def test_signing_in_stays_on_site(redirect_app, raw):
    client = redirect_app.test_client()
    r = client.post(f"/staff/login?next={raw}", data={
        "username": hostile.USERS["admin"][0], "password": hostile.PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/staff/reports"


def test_every_route_that_redirects_keeps_hostile_next_on_site(redirect_app):
    """Every route and method, anonymous and signed in: each one that answers with a
    redirect gets every hostile ``next`` in the query (and the form, for POST). None
    answers 500, and every redirect stays on this site."""
    clients = {role: sign_in(redirect_app, role, f"192.0.2.{i + 40}")
               for i, role in enumerate(("anonymous", "district"))}
    known = known_ids(redirect_app)
    wrong, swept = [], set()

    def send(client, method, path, raw):
        r = client.open(f"{path}?next={raw}", method=method,
                        data={"next": unquote(raw)} if method == "POST" else None)
        r.close()
        return r

    for rule, method in hostile.routes(redirect_app):
        path = hostile.build_path(rule, hostile.sample_values(rule, known))
        for role, client in clients.items():
            if rule.endpoint in hostile.SIGNED_OUT_ONLY and role != "anonymous":
                continue
            if send(client, method, path, "/about").status_code // 100 != 3:
                continue
            swept.add((rule.endpoint, method))
            for raw in HOSTILE_NEXT:
                r = send(client, method, path, raw)
                location = r.headers.get("Location")
                if r.status_code >= 500 or (location and not stays_on_site(location)):
                    wrong.append(f"{role} {method} {path}?next={raw}: {r.status_code} "
                                 f"{location!r}")
    assert not wrong, "\n".join(wrong[:40])
    # the language switch, pages behind sign-in, and the forms that answer with a redirect
    assert {("set_language", "GET"), ("staff_stations.index", "GET"),
            ("pages.report", "POST")} <= swept, swept


def test_the_login_form_keeps_the_next_parameter(redirect_app):
    """A page behind sign-in sends the user to the login page with a local ``next``, and
    signing in lands back on it."""
    client = redirect_app.test_client()
    r = client.get("/staff/stations?q=x")
    assert r.status_code == 302
    login = r.headers["Location"]
    assert login.startswith("/staff/login?next=")
    form_token(client, login)
    r = client.post(login, data={"username": hostile.USERS["admin"][0],
                                 "password": hostile.PASSWORD})
    assert r.headers["Location"] == "/staff/stations?q=x"
