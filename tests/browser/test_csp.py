"""Issue 14: every kind of page works in Chromium under our Content-Security-Policy, and
none of them makes the browser report a single violation.

Violations are reported by a ``securitypolicyviolation`` listener on every document and by
Chromium's console (``watched_page``: ``pg.csp``).
"""

from __future__ import annotations

import re
import shutil

import pytest

from locator.store import accounts
from tests.browser.conftest import browser_app, serving, wait_for, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
CSV = ("名称,经度,纬度,地址\n"
       "CSP 测试驿站甲,114.5731,38.0682,长安区测试路1号\n"
       "CSP 测试驿站乙,114.5790,38.0712,长安区测试路2号\n").encode()
COVERAGE_READY = "document.documentElement.dataset.coverageReady === '1'"


@pytest.fixture(scope="module")
def csp_server(tmp_path_factory, demo_db):
    instance = tmp_path_factory.mktemp("csp-browser")
    shutil.copytree(demo_db.parent / "cache", instance / "cache")  # the demand grid
    app = browser_app(instance, demo_db)
    state = app.extensions["locator"]
    accounts.create_user(state.store, "csp_admin", PASSWORD, "admin", None,
                         tuple(state.regions().district_names()))
    with serving(app) as url:
        yield url


def no_violations(pg) -> list[str]:
    pg.evaluate("0")  # a round trip: reports of the page's last moments have arrived
    return pg.csp


def test_the_courier_pages_run_under_the_policy(browser, csp_server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, locale="zh-CN", permissions=["geolocation"],
                                  geolocation={"latitude": 38.0428, "longitude": 114.5149})
    pg = watched_page(context)
    try:
        pg.goto(csp_server + "/")
        wait_for(pg, "() => window.locatorSitesDrawn > 5000", timeout=20_000)
        pg.click("#locate")  # search at the granted position
        pg.wait_for_selector("#results .result", timeout=10_000)
        assert pg.locator("#results .result").count() == 5
        first = pg.evaluate("window.locatorResults[0].id")

        box = pg.locator(".folium-map").bounding_box()  # tap the map
        pg.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
        wait_for(pg, "window.locatorOrigin.source === 'tap'", timeout=10_000)
        pg.wait_for_selector("#results .result")

        pg.fill("#q", "石家庄")  # the offline search box
        pg.wait_for_selector("#suggestions li", timeout=10_000)

        pg.goto(f"{csp_server}/stations/{first}")
        assert pg.locator("h1").count() == 1 and pg.locator("#report form").count() == 1
        pg.goto(csp_server + "/about")
        pg.click("text=EN")  # the language switch, back to /about in English
        pg.wait_for_url("**/about")
        assert pg.locator("html").get_attribute("lang") == "en"
        pg.goto(csp_server + "/no/such/page")
        assert pg.errors == []
        assert no_violations(pg) == [], pg.csp
    finally:
        context.close()


def test_the_staff_pages_run_under_the_policy(browser, csp_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = watched_page(context)
    pg.on("dialog", lambda d: d.accept())
    try:
        pg.goto(csp_server + "/staff/login")
        pg.fill("input[name=username]", "csp_admin")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("form.stack button[type=submit]")
        pg.wait_for_url("**/staff/reports")

        pg.goto(csp_server + "/staff/stations")
        assert pg.locator("table tbody tr").count() > 10
        href = pg.locator("table tbody tr a").first.get_attribute("href")
        pg.goto(csp_server + href)  # the station form, with its map and pin
        wait_for(pg, "window.locatorStaffMap && window.locatorStaffMap.marker")
        pg.goto(csp_server + href + "/history")
        pg.goto(csp_server + "/staff/stations/new")
        wait_for(pg, "window.locatorStaffMap !== undefined")

        pg.goto(csp_server + "/staff/imports")  # upload, then the check page with its map
        pg.set_input_files("#file", {"name": "csp.csv", "mimeType": "text/csv",
                                     "buffer": CSV})
        pg.click("text=3. 上传并检查")
        pg.wait_for_selector(".summary-line", timeout=20_000)
        wait_for(pg, "window.locatorImportMarkers === 2", timeout=10_000)
        assert re.search(r"/staff/imports/check/[\w-]+$", pg.url)

        pg.goto(csp_server + "/staff/demand/")
        pg.goto(csp_server + "/staff/coverage?district=133100", timeout=90_000)
        wait_for(pg, COVERAGE_READY, timeout=90_000)
        assert pg.locator("#coverage-legend .swatch").count() == 7
        colour = pg.locator("#coverage-legend svg.swatch rect").first.get_attribute("fill")
        assert re.fullmatch(r"#[0-9a-fA-F]{6}", colour)
        assert pg.errors == []
        assert no_violations(pg) == [], pg.csp
    finally:
        context.close()


def test_a_violation_would_be_seen(browser, csp_server):
    """The watch works: an inline script without the nonce is blocked and reported."""
    context = browser.new_context()
    pg = watched_page(context)
    try:
        pg.goto(csp_server + "/about")
        pg.evaluate("""() => { const s = document.createElement("script");
                               s.textContent = "window.__ran = 1";
                               document.body.appendChild(s); }""")
        pg.wait_for_timeout(100)
        assert pg.evaluate("window.__ran") is None
        assert any("script-src" in v for v in no_violations(pg)), pg.csp
    finally:
        context.close()
