"""The courier's page in a real Chromium: offline, phone-sized, tiles stubbed."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from locator.geo.datum import wgs84_to_gcj02
from tests.browser.conftest import ARTIFACTS, TILE_HOST, XSS_ORIGIN, wait_for

pytestmark = pytest.mark.browser
TOTAL = 5790 + 200
HERE = (114.5149, 38.0428)  # the granted geolocation (lon, lat)


def open_page(page, base, path="/"):
    page.goto(base + path)
    wait_for(page, "window.locatorSitesDrawn !== undefined", timeout=20_000)


def locate(page):
    page.click("#locate")
    page.wait_for_selector("#results .result", timeout=10_000)


def api(page, base, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return page.evaluate(f"fetch('{base}/api/v1/nearest?{query}').then(r => r.json())")


def listed(page):
    return page.evaluate("window.locatorResults")


def sent(response) -> str:
    """What the page sent with a request: its URL and its body (the search is a POST)."""
    return response.url + "\n" + (response.request.post_data or "")


def test_the_position_travels_in_a_post_body_never_in_a_url(page, live_server):
    """A proxy's access log records URLs: the courier's position must not be in one."""
    open_page(page, live_server)
    with page.expect_request(lambda r: "/api/v1/nearest" in r.url) as searched:
        locate(page)
    request = searched.value
    assert request.method == "POST" and request.url == live_server + "/api/v1/nearest"
    assert f"lat={HERE[1]}" in request.post_data and f"lon={HERE[0]}" in request.post_data
    assert not [u for u in page.requests if "lat=" in u or str(HERE[1]) in u]
    assert page.errors == [] and page.csp == []


def test_every_site_is_drawn_on_one_canvas(page, live_server):
    open_page(page, live_server)
    assert page.evaluate("window.locatorSitesDrawn") == TOTAL
    assert page.locator(".leaflet-overlay-pane canvas").count() == 1
    assert page.evaluate("document.getElementsByTagName('*').length") < 400
    assert page.locator(".synthetic-notice").is_visible()
    assert page.locator(".legend").is_visible()
    assert page.errors == []


def test_no_request_leaves_our_origin_except_tiles(page, live_server):
    open_page(page, live_server)
    locate(page)
    page.click("#results .result .row")
    page.wait_for_load_state("networkidle")
    own = urlsplit(live_server).netloc
    hosts = {urlsplit(u).netloc for u in page.requests if not u.startswith("data:")}
    assert own in hosts and TILE_HOST in hosts
    assert hosts <= {own, TILE_HOST}


def test_located_list_equals_the_api(page, live_server):
    open_page(page, live_server)
    locate(page)
    body = api(page, live_server, lat=HERE[1], lon=HERE[0], k=5)
    expected = [(f["id"], f["properties"]["distance_m"]) for f in body["features"]]
    got = [(r["id"], r["distance_m"]) for r in listed(page)]
    assert got == expected
    rows = page.locator("#results .result")
    assert rows.count() == 5
    first = body["features"][0]["properties"]
    text = rows.nth(0).inner_text()
    assert first["name"] in text and f"{round(first['distance_m'])} 米" in text
    assert "步行约" in text
    assert page.errors == []


def test_tapping_the_map_searches_there(page, live_server):
    open_page(page, live_server)
    map_name = page.evaluate(
        "JSON.parse(document.getElementById('locator-config').textContent).map")
    page.evaluate(f"void window['{map_name}'].setView([39.5380, 116.6838], 12, {{animate: false}})")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#results .result")
    used = page.evaluate("window.locatorOrigin")
    assert used["source"] == "tap"
    assert abs(used["lon"] - 116.6838) < 0.002 and abs(used["lat"] - 39.5380) < 0.002
    body = api(page, live_server, lat=used["lat"], lon=used["lon"], k=5)
    assert [r["id"] for r in listed(page)] == [f["id"] for f in body["features"]]


@pytest.mark.parametrize(("chip", "param", "check"), [
    ('[data-kind="mother_room"]', {"kind": "mother_room"},
     lambda f: f["properties"]["kind"] == "mother_room"),
    ('[data-kind="station"]', {"kind": "station"}, lambda f: f["properties"]["kind"] == "station"),
    ('[data-flag="all_day"]', {"all_day": 1}, lambda f: f["properties"]["opening_hours"] == "24/7"),
    ('[data-flag="open_now"]', {"open_now": 1}, lambda f: f["properties"]["open_now"] is True),
])
def test_each_chip_filters_the_list(page, live_server, chip, param, check):
    open_page(page, live_server)
    locate(page)
    key = "&".join(f"{k}={v}" for k, v in param.items())
    with page.expect_response(lambda r: "/api/v1/nearest" in r.url and key in sent(r)):
        page.click(f".chip{chip}")
    page.wait_for_timeout(100)
    body = api(page, live_server, lat=HERE[1], lon=HERE[0], k=5, **param)
    assert all(check(f) for f in body["features"])
    assert [r["id"] for r in listed(page)] == [f["id"] for f in body["features"]]
    assert page.locator(f".chip{chip}").get_attribute("aria-pressed") == "true"
    with page.expect_response(lambda r: "/api/v1/nearest" in r.url and key not in sent(r)):
        page.click(f".chip{chip}")  # and off again
    assert page.locator(f".chip{chip}").get_attribute("aria-pressed") == "false"


def test_service_filter(page, live_server):
    open_page(page, live_server)
    locate(page)
    page.click("#more")
    with page.expect_response(lambda r: "services=aed" in sent(r)):
        page.check('input[name=service][value="aed"]')
    page.wait_for_timeout(100)
    body = api(page, live_server, lat=HERE[1], lon=HERE[0], k=5, services="aed")
    assert [r["id"] for r in listed(page)] == [f["id"] for f in body["features"]]
    assert all("aed" in f["properties"]["services"] for f in body["features"])


def test_nothing_in_range_says_so_and_shows_the_nearest(page, live_server):
    open_page(page, live_server)
    page.context.set_geolocation({"latitude": 39.0, "longitude": 119.5})  # the Bohai sea
    locate(page)
    notice = page.locator("#notice").inner_text()
    assert "2 公里内没有" in notice and "公里外" in notice
    assert page.locator("#results .result").count() == 5


def test_detail_page_opens_from_the_list(page, live_server):
    open_page(page, live_server)
    locate(page)
    first = listed(page)[0]["id"]
    page.click("#results .result .row")
    page.click("#results .result .details-link")
    page.wait_for_url(f"**/stations/{first}")
    assert page.locator("h1.station-name").is_visible()
    assert "12351" in page.inner_text("body")
    assert page.locator("#distance").is_visible()  # from the courier's last search


def test_navigation_links_carry_the_right_datum(page, live_server):
    open_page(page, live_server)
    locate(page)
    page.click("#results .result .row")
    body = api(page, live_server, lat=HERE[1], lon=HERE[0], k=1)
    lon, lat = body["features"][0]["geometry"]["coordinates"]
    glon, glat = wgs84_to_gcj02(lon, lat)
    links = {a.get_attribute("class").split()[-1]: a.get_attribute("href")
             for a in page.locator("#results .result.selected .nav-btn").all()}
    amap = parse_qs(urlsplit(links["nav-amap"]).query)
    assert amap["coordinate"] == ["wgs84"]
    assert amap["position"] == [f"{lon:.6f},{lat:.6f}"]
    baidu = parse_qs(urlsplit(links["nav-baidu"]).query)
    assert baidu["coord_type"] == ["wgs84"] and baidu["location"] == [f"{lat:.6f},{lon:.6f}"]
    tencent = parse_qs(urlsplit(links["nav-tencent"]).query)["marker"][0]
    assert f"coord:{glat:.6f},{glon:.6f}" in tencent
    apple = parse_qs(urlsplit(links["nav-apple"]).query)
    assert apple["ll"] == [f"{glat:.6f},{glon:.6f}"]


def test_report_a_problem(page, live_server):
    open_page(page, live_server)
    locate(page)
    first = listed(page)[0]["id"]
    page.goto(f"{live_server}/stations/{first}")
    page.check('input[name=category][value="closed_when_open"]')
    page.fill("#note", "中午去的时候锁着门")
    page.click("#report button[type=submit]")
    page.wait_for_selector(".flash-ok")
    from locator.store.models import ProblemReport
    from tests.browser.conftest import url_app
    app = url_app[live_server]
    with app.extensions["locator"].store.read() as s:
        reports = s.query(ProblemReport).filter_by(station_id=first).all()
    assert [(r.category, r.note, r.status) for r in reports] == [
        ("closed_when_open", "中午去的时候锁着门", "new")]


def test_offline_search_by_name_place_and_initials(page, live_server):
    open_page(page, live_server)
    wait_for(page, "document.querySelectorAll('#q').length === 1")
    page.fill("#q", "雄县")
    page.wait_for_selector("#suggestions .suggestion.place")
    assert "雄县" in page.locator("#suggestions .suggestion").first.inner_text()
    page.fill("#q", "zjk")  # 张家口
    page.wait_for_selector("#suggestions .suggestion")
    assert "张家口" in page.locator("#suggestions .suggestion").first.inner_text()
    page.locator("#suggestions .suggestion").first.click()
    page.wait_for_selector("#results .result")
    assert len(listed(page)) == 5


def test_station_text_never_executes(page, live_server):
    """Every XSS payload is a site name, address, host and phone near XSS_ORIGIN."""
    open_page(page, live_server)
    page.context.set_geolocation({"latitude": XSS_ORIGIN[1], "longitude": XSS_ORIGIN[0]})
    page.click("#locate")
    page.wait_for_selector("#results .result")
    page.evaluate("window.__xss = 0")
    body = api(page, live_server, lat=XSS_ORIGIN[1], lon=XSS_ORIGIN[0], k=9)
    for i in range(page.locator("#results .result .row").count()):
        page.locator("#results .result .row").nth(i).click()
    page.fill("#q", "window")
    page.wait_for_selector("#suggestions .suggestion")
    map_name = page.evaluate(
        "JSON.parse(document.getElementById('locator-config').textContent).map")
    for f in body["features"][:3]:  # open a map popup for some of them
        lon, lat = f["geometry"]["coordinates"]
        page.evaluate(f"void window['{map_name}'].setView([{lat}, {lon}], 18, {{animate: false}})")
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(200)
    for f in body["features"]:
        page.goto(f"{live_server}/stations/{f['id']}")
        assert page.evaluate("window.__xss") is None
        assert f["properties"]["name"] in page.locator("h1").inner_text()
    page.goto(live_server + "/")
    wait_for(page, "window.locatorSitesDrawn !== undefined")
    assert page.evaluate("window.__xss") is None
    assert not [e for e in page.errors if "__xss" in e or "dialog" in e]


def test_english_switch(page, live_server):
    open_page(page, live_server)
    page.click("text=EN")
    wait_for(page, "window.locatorSitesDrawn !== undefined")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#locate").inner_text().endswith("Locate")
    assert "Demo data" in page.locator(".synthetic-notice").inner_text()
    locate(page)
    assert re.search(r"\d+ m|\d+(\.\d)? km", page.locator("#results .result").first.inner_text())
    assert "min walk" in page.locator("#results .result").first.inner_text()
    page.click("text=中文")
    wait_for(page, "window.locatorSitesDrawn !== undefined")
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_denied_geolocation_explains_what_to_do(page, live_server):
    page.context.clear_permissions()
    open_page(page, live_server)
    page.click("#locate")
    wait_for(page, "document.getElementById('notice').textContent.length > 8")
    assert "没有定位权限" in page.locator("#notice").inner_text()


def test_phone_screenshot_and_keyboard_use(page, live_server):
    open_page(page, live_server)
    locate(page)
    page.locator("#results .result .row").first.focus()
    page.keyboard.press("Enter")
    assert page.locator("#results .result .row").first.get_attribute("aria-expanded") == "true"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # nothing overflows a 360 px screen
    small = page.evaluate("""Array.from(document.querySelectorAll('button, .chip, .nav-btn'))
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 40)
        .map(e => e.className)""")
    assert small == [] or set(small) <= {"leaflet-popup-close-button"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-360x740.png"))


def test_gcj_conversion_in_the_page_matches_python(page, live_server):
    open_page(page, live_server)
    for lon, lat in [(114.5149, 38.0428), (119.6005, 39.9354), (116.9, 39.95)]:
        js = page.evaluate(f"window.locatorWgsToGcj({lon}, {lat})")
        py = wgs84_to_gcj02(lon, lat)
        assert js == pytest.approx(list(py), abs=1e-9)


def test_tapping_a_site_opens_its_popup(page, live_server):
    open_page(page, live_server)
    payload = page.evaluate(
        "fetch(JSON.parse(document.getElementById('locator-config').textContent).sites)"
        ".then(r => r.json())")
    lon, lat, _kind, sid, name, _status = payload["sites"][100]
    map_name = page.evaluate(
        "JSON.parse(document.getElementById('locator-config').textContent).map")
    page.evaluate(f"void window['{map_name}'].setView([{lat}, {lon}], 18, {{animate: false}})")
    point = page.evaluate(
        f"(() => {{ const m = window['{map_name}']; const p = m.latLngToContainerPoint("
        f"[{lat}, {lon}]); const r = m.getContainer().getBoundingClientRect();"
        f" return [r.left + p.x, r.top + p.y]; }})()")
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert name in popup.inner_text()
    assert popup.locator("a").get_attribute("href").endswith(f"/stations/{sid}")
