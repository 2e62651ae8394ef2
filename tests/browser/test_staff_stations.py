"""The staff station form in a real Chromium: drag the pin, see the place, save, history."""

import math

import pytest
from sqlalchemy import select

from locator.editing import stations as editing
from locator.store import accounts
from locator.store.models import Station
from tests.browser.conftest import browser_app, serving, wait_for, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
XSS = '<img src=x onerror="window.__xss=1">${window.__xss=2}'


def _target(app):
    """A 石家庄 site and a point ~200 m away from it in another county (WGS-84)."""
    regions = app.extensions["locator"].regions()
    with app.extensions["locator"].store.read() as s:
        sites = s.execute(select(Station.id, Station.lon, Station.lat, Station.county_code)
                          .where(Station.district_code == "130100",
                                 Station.status == "active").order_by(Station.id)).all()
    for sid, lon, lat, county in sites:
        for angle in range(0, 360, 30):
            dx = 200 * math.cos(math.radians(angle)) / (111_320 * math.cos(math.radians(lat)))
            dy = 200 * math.sin(math.radians(angle)) / 110_574
            place = regions.locate([lon + dx], [lat + dy]).iloc[0]
            if place["county_code"] not in (None, county) and place["district_code"] == "130100":
                return sid, (lon + dx, lat + dy), place["county_name"]
    raise AssertionError("no site near a county border")


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory, demo_db):
    app = browser_app(tmp_path_factory.mktemp("staff-browser"), demo_db)
    state = app.extensions["locator"]
    accounts.create_user(state.store, "admin1", PASSWORD, "admin", None, state.district_codes())
    sid, point, county = _target(app)
    admin = accounts.authenticate(state.store, "admin1", PASSWORD, source="test")
    inp = editing.form_input(editing.get_station(state.store, admin, sid))
    inp.name = XSS
    editing.save_station(state.store, admin, sid, inp, regions=state.regions())
    with serving(app) as url:
        yield url, sid, point, county


@pytest.fixture()
def desk(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = watched_page(context)
    pg.on("dialog", lambda d: (pg.errors.append("dialog: " + d.message), d.dismiss()))
    yield pg
    context.close()


def test_drag_the_pin_see_the_county_change_save_and_see_the_history(desk, staff_server):
    base, sid, (lon, lat), county = staff_server
    page = desk
    page.goto(base + "/staff/login")
    page.fill("input[name=username]", "admin1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/staff/stations/{sid}")
    wait_for(page, "window.locatorStaffMap && window.locatorStaffMap.marker")
    old_lon = page.input_value("#f-lon")
    old_place = page.text_content("#derived-place")
    assert county not in old_place

    # the pin's label is the hostile name, as text
    label = page.locator(".leaflet-tooltip.st-pin-label")
    assert label.text_content() == XSS and label.locator("img").count() == 0

    # drag: grab the icon 20 px above its tip, drop where the target point is drawn
    icon = page.locator(".leaflet-marker-icon").bounding_box()
    tip = page.evaluate("""([lat, lon]) => {
        const m = window.locatorStaffMap.map, r = m.getContainer().getBoundingClientRect();
        const a = m.latLngToContainerPoint(window.locatorStaffMap.marker.getLatLng());
        const b = m.latLngToContainerPoint([lat, lon]);
        return [r.left + a.x, r.top + a.y, r.left + b.x, r.top + b.y];
    }""", [lat, lon])
    assert abs(icon["x"] + icon["width"] / 2 - tip[0]) < 2  # the tip is where we think
    page.mouse.move(tip[0], tip[1] - 20)
    page.mouse.down()
    page.mouse.move(tip[2], tip[3] - 20, steps=12)
    page.mouse.up()
    wait_for(page, "(c) => document.getElementById('derived-place').textContent"
                           ".indexOf(c) >= 0", arg=county)
    new_lon, new_lat = float(page.input_value("#f-lon")), float(page.input_value("#f-lat"))
    assert page.input_value("#f-lon") != old_lon
    assert abs(new_lon - lon) < 5e-5 and abs(new_lat - lat) < 5e-5  # within ~4 m
    assert page.input_value("#f-datum") == "wgs84"

    # typing coordinates moves the pin back
    page.fill("#f-lon", old_lon)
    wait_for(page, "(c) => document.getElementById('derived-place').textContent"
                           ".indexOf(c) < 0", arg=county)
    page.fill("#f-lon", f"{new_lon:.7f}")
    wait_for(page, "(c) => document.getElementById('derived-place').textContent"
                           ".indexOf(c) >= 0", arg=county)
    moved = page.evaluate("window.locatorStaffMap.marker.getLatLng().lng")
    assert abs(moved - new_lon) < 1e-6

    page.click("form.st-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert county in page.text_content("#derived-place")
    page.click("text=修改历史")
    entry = page.locator(".st-entry").first
    assert entry.get_attribute("data-action") == "edit"
    assert county in entry.text_content() and "admin1" in entry.text_content()
    assert page.evaluate("window.__xss") is None
    assert page.errors == []
