"""Issue 14: the security headers on every response (``locator/web/headers.py``), and
served HTML that needs nothing the Content-Security-Policy forbids."""

from __future__ import annotations

import re
import shutil

import pytest

from locator import create_app
from locator.store import accounts
from tests import hostile
from tests.web.test_hostile_inputs import known_ids, sign_in

FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
DIRECTIVES = {
    "default-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    """The CSP of ``response`` as {directive: sources}."""
    value = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in value.split(";"))


def nonce_of(csp: dict) -> str | None:
    m = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{22,})'", csp["script-src"])
    return m.group(1) if m else None


def header_problems(response) -> list[str]:
    wrong = [f"{k}: {response.headers.get(k)!r}" for k, v in FIXED.items()
             if response.headers.get(k) != v]
    perms = response.headers.get("Permissions-Policy", "")
    if "geolocation=(self)" not in perms or "camera=()" not in perms \
            or "microphone=()" not in perms:
        wrong.append(f"Permissions-Policy: {perms!r}")
    if "Strict-Transport-Security" in response.headers:
        wrong.append("HSTS over plain http")
    csp = policy(response)
    wrong += [f"CSP {d}: {csp.get(d)!r}" for d, v in DIRECTIVES.items() if csp.get(d) != v]
    if csp["script-src"] != "'self'" and not nonce_of(csp):
        wrong.append(f"CSP script-src: {csp['script-src']!r}")
    if csp["style-src"] != csp["script-src"]:
        wrong.append(f"CSP style-src: {csp['style-src']!r}")
    if not csp["img-src"].startswith("'self' data: blob:"):
        wrong.append(f"CSP img-src: {csp['img-src']!r}")
    if "unsafe" in response.headers["Content-Security-Policy"]:
        wrong.append("unsafe-* in the CSP")
    return wrong


_TAG = re.compile(r"<(script|style)\b([^>]*)>", re.I)


def html_problems(response) -> list[str]:
    """What in an HTML page the policy would block: an inline ``<script>`` or ``<style>``
    without this response's nonce, a ``style=`` or ``on…=`` attribute, a ``javascript:``
    URL. (JSON data blocks do not run and need none.)"""
    html = response.get_data(as_text=True)
    nonce = nonce_of(policy(response))
    wrong = []
    for tag, attrs in _TAG.findall(html):
        if tag.lower() == "script" and ("src=" in attrs or 'type="application/json"' in attrs):
            continue
        if not nonce or f'nonce="{nonce}"' not in attrs:
            wrong.append(f"<{tag}{attrs}> without the nonce")
    wrong += [f"attribute {m}" for m in re.findall(r"<[^>]*\s(style|on\w+)=", html)]
    wrong += ["javascript: URL"] * ("javascript:" in html.lower())
    return wrong


@pytest.fixture(scope="module")
def headers_app(tmp_path_factory, demo_db):
    instance = tmp_path_factory.mktemp("headers")
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


def test_every_route_sends_the_security_headers(headers_app):
    """Every route and method of ``app.url_map``, anonymous and signed in (pages, JSON,
    files, redirects, 4xx), carries every header; every HTML page needs no exception."""
    clients = {role: sign_in(headers_app, role, f"192.0.2.{i + 60}")
               for i, role in enumerate(("anonymous", "district"))}
    known = known_ids(headers_app)
    wrong, kinds, pages = [], set(), 0
    for rule, method in hostile.routes(headers_app):
        path = hostile.build_path(rule, hostile.sample_values(rule, known))
        for role, client in clients.items():
            if rule.endpoint in hostile.SIGNED_OUT_ONLY and role != "anonymous":
                continue
            r = client.open(path, method=method)
            kinds.add((r.status_code // 100, r.mimetype))
            wrong += [f"{role} {method} {path}: {w}" for w in header_problems(r)]
            if r.mimetype == "text/html" and r.status_code == 200:
                pages += 1
                wrong += [f"{role} {method} {path}: {w}" for w in html_problems(r)]
            r.close()
    assert not wrong, "\n".join(wrong[:40])
    assert pages >= 12 and {(2, "application/json"), (2, "application/geo+json"),
                             (2, "text/html"), (3, "text/html"), (4, "text/html"),
                             (4, "application/json")} <= kinds, kinds


@pytest.mark.parametrize("path", ["/no/such/page", "/api/v1/nope", "/api/v1/nearest?lat=x",
                                  "/stations/HB000000-0000"])
def test_error_answers_carry_them_too(client, path):
    r = client.get(path)
    assert r.status_code in (400, 404) and header_problems(r) == []


def test_an_unexpected_error_carries_them_too(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True,
                      "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    r = app.test_client().get("/boom")
    assert r.status_code == 500 and header_problems(r) == []


def test_each_page_gets_its_own_nonce(client):
    seen = set()
    for _ in range(3):
        r = client.get("/")
        nonce = nonce_of(policy(r))
        assert nonce and f'<script nonce="{nonce}">' in r.get_data(as_text=True)
        seen.add(nonce)
    assert len(seen) == 3
    # an answer without inline script has no nonce to give away
    assert policy(client.get("/api/v1/districts"))["script-src"] == "'self'"


@pytest.mark.parametrize(("settings", "tiles"), [
    ({"BASEMAP": "osm"}, ["https://tile.openstreetmap.org"]),
    ({"BASEMAP": "gaode"}, [f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5)]),
    ({"BASEMAP": "tianditu", "TIANDITU_KEY": "k"},
     [f"https://t{i}.tianditu.gov.cn" for i in range(8)]),
    ({"BASEMAP": "custom", "TILE_URL": "https://{s}.tiles.example:8443/{z}/{x}/{y}.png"},
     ["https://a.tiles.example:8443", "https://b.tiles.example:8443",
      "https://c.tiles.example:8443"]),
    ({"BASEMAP": "custom", "TILE_URL": "/tiles/{z}/{x}/{y}.png"}, []),
])
def test_images_may_come_from_the_basemaps_tile_servers_only(tmp_path, settings, tiles):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True, **settings})
    r = app.test_client().get("/about")
    assert policy(r)["img-src"] == " ".join(["'self' data: blob:", *tiles])


@pytest.mark.parametrize("url", ["ftp://tiles.example/{z}/{x}/{y}.png",
                                 "https://{r}.tiles.example/{z}/{x}/{y}.png",
                                 "https://user:pw@tiles.example/{z}/{x}/{y}.png",
                                 "//tiles.example/{z}/{x}/{y}.png"])
def test_a_tile_url_the_policy_cannot_name_is_refused(tmp_path, url):
    from locator.errors import StartupRefused

    with pytest.raises(StartupRefused, match="LOCATOR_TILE_URL"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "custom", "TILE_URL": url})


def test_hsts_only_when_served_over_https(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True,
                      "SECURE_COOKIES": True})
    r = app.test_client().get("/healthz")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
