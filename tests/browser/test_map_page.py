"""The first map page in a real Chromium: every site drawn, nothing fetched off-origin."""

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import ARTIFACTS, TILE_HOST

pytestmark = pytest.mark.browser
TOTAL = 5790 + 200


def open_map(page, live_server):
    page.goto(live_server + "/")
    page.wait_for_function("window.locatorSitesDrawn !== undefined", timeout=20_000)


def test_every_site_is_drawn_on_canvas(page, live_server):
    open_map(page, live_server)
    assert page.evaluate("window.locatorSitesDrawn") == TOTAL
    assert page.locator(".leaflet-overlay-pane canvas").count() == 1
    # canvas drawing: no DOM node per site
    assert page.evaluate("document.getElementsByTagName('*').length") < 300
    assert page.errors == []
    assert page.locator(".synthetic-notice").is_visible()
    assert page.locator(".legend").is_visible()
    assert page.locator("#map-status").inner_text() == ""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-360x740.png"))


def test_no_request_leaves_our_origin_except_tiles(page, live_server):
    open_map(page, live_server)
    page.wait_for_load_state("networkidle")
    own = urlsplit(live_server).netloc
    hosts = {urlsplit(u).netloc for u in page.requests if not u.startswith("data:")}
    assert own in hosts and TILE_HOST in hosts
    assert hosts <= {own, TILE_HOST}


def test_tapping_a_site_opens_its_popup_with_its_name(page, live_server):
    open_map(page, live_server)
    payload = page.evaluate(
        "fetch(JSON.parse(document.getElementById('locator-config').textContent).sites)"
        ".then(r => r.json())")
    lon, lat, _kind, sid, name, _status = payload["sites"][0]
    map_name = page.evaluate(
        "JSON.parse(document.getElementById('locator-config').textContent).map")
    # `void`: the map object itself is not serialisable (flaky "reference chain too long")
    page.evaluate(f"void window['{map_name}'].setView([{lat}, {lon}], 18, {{animate: false}})")
    point = page.evaluate(
        f"(() => {{ const m = window['{map_name}']; const p = m.latLngToContainerPoint("
        f"[{lat}, {lon}]); const r = m.getContainer().getBoundingClientRect();"
        f" return [r.left + p.x, r.top + p.y]; }})()")
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert name in popup.inner_text() and sid in popup.inner_text()
