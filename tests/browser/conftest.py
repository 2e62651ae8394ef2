"""Serve the app on loopback and drive Debian's Chromium through Playwright."""

from __future__ import annotations

import contextlib
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TILE_HOST = "tiles.test.invalid"
# One 1x1 transparent PNG stands in for every map tile (tests run offline).
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000005000157a6d2"
    "0000000049454e44ae426082"
)


def browser_app(instance: Path, demo_db: Path | None = None):
    """An app over ``instance`` with the stubbed tile server; with ``demo_db``, over a copy
    of that database (for tests that write)."""
    from locator import create_app

    if demo_db is not None:
        shutil.copyfile(demo_db, instance / "locator.sqlite3")
    return create_app({"INSTANCE_PATH": str(instance), "BASEMAP": "custom",
                       "TILE_URL": f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"})


@contextlib.contextmanager
def serving(app):
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        app.extensions["locator"].store.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    app = browser_app(tmp_path_factory.mktemp("browser-instance"))
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    plant_hostile_names(app)
    with serving(app) as url:
        url_app[url] = app
        yield url


url_app: dict = {}

# Station text that must stay text everywhere (research/reliability.md F1-F5).
XSS_PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    '"><script>window.__xss=2</script>',
    "${window.__xss=3}",
    "`+(window.__xss=4)+`",
    "</script><script>window.__xss=5</script>",
    "javascript:window.__xss=6",
    "\\u0027);window.__xss=7;//",
    "<svg/onload=window.__xss=8>",
    "站\u2028点\u202e反向",
]
XSS_ORIGIN = (114.47, 38.02)  # 石家庄 west: the hostile sites are planted around here


def plant_hostile_names(app):
    """Rename the sites nearest XSS_ORIGIN after the payloads (name, address, host, phone)."""
    from sqlalchemy import update

    from locator.store.models import Station
    from locator.web.state import get_state

    with app.app_context():
        snap = get_state().snapshot()
        res = snap.index.nearest(*XSS_ORIGIN, k=len(XSS_PAYLOADS))
        ids = [snap.sites["id"].iat[p] for p in res.positions]
        with get_state().store.write() as s:
            for sid, payload in zip(ids, XSS_PAYLOADS, strict=True):
                s.execute(update(Station).where(Station.id == sid).values(
                    name=payload, address=payload, host=payload, phone=payload[:60]))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
        ])
        yield b
        b.close()


# Reports every Content-Security-Policy violation of every document the page opens.
WATCH_CSP = """document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation([e.effectiveDirective, e.blockedURI, e.sourceFile, e.lineNumber,
                         e.sample].join(" "));
});"""


def _policy_message(message) -> bool:
    """A console line of Chromium's about our headers (a blocked script, style or image, an
    unrecognised Permissions-Policy feature)."""
    text = message.text
    return message.type in ("error", "warning") and any(
        word in text for word in ("Content Security Policy", "Content-Security-Policy",
                                  "Permissions-Policy", "Permissions policy"))


def wait_for(pg, expression: str, arg=None, timeout: float = 30_000):
    """Wait until ``expression`` (or the function ``expression`` called with ``arg``) is
    truthy in ``pg``. Playwright's ``wait_for_function`` evaluates with the page's
    ``eval``, which our Content-Security-Policy forbids; ``evaluate`` is not subject to it."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not pg.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} ms for {expression}")
        pg.wait_for_timeout(50)


def watched_page(context):
    """A new page of ``context`` that records every request URL (``pg.requests``), every
    script error (``pg.errors``) and every CSP violation or policy complaint of Chromium's
    (``pg.csp``), with map tiles answered by one blank PNG."""
    pg = context.new_page()
    pg.requests, pg.errors, pg.csp = [], [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.expose_binding("__cspViolation", lambda _source, text: pg.csp.append(text))
    pg.add_init_script(WATCH_CSP)
    pg.on("console", lambda m: pg.csp.append(m.text) if _policy_message(m) else None)
    pg.route(f"https://{TILE_HOST}/**",
             lambda route: route.fulfill(status=200, content_type="image/png", body=PNG_1x1))
    return pg


@pytest.fixture()
def page(browser, live_server):
    """A phone-sized page that records every request and stubs the tile server."""
    context = browser.new_context(viewport={"width": 360, "height": 740},
                                  device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"latitude": 38.0428, "longitude": 114.5149})
    pg = watched_page(context)
    pg.on("dialog", lambda d: (pg.errors.append("dialog: " + d.message), d.dismiss()))
    yield pg
    context.close()
