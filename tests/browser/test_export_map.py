"""The exported HTML coverage map in a real Chromium: opens offline, nothing executes."""

import pytest

from locator.coverage import engine as coverage
from locator.exports import writers as exports
from tests.unit.test_coverage import POPULATION, square  # noqa: F401 (fixture)
from tests.unit.test_exports import NOW, XSS, hostile_sites

pytestmark = pytest.mark.browser


def test_exported_map_opens_offline_and_stays_inert(browser, square, tmp_path):  # noqa: F811
    engine = coverage.CoverageEngine(hostile_sites(), square, population=POPULATION)
    path = tmp_path / "coverage.html"
    exports.export_coverage(engine, path, "html", district="990100", now=NOW)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  offline=True)
    page = context.new_page()
    requests, errors, dialogs = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_function("document.documentElement.dataset.mapReady === '1'",
                           timeout=20_000)
    # open every popup: station text must show as text, never become markup
    texts = page.evaluate("""() => {
        const out = [];
        window.coverageMap.eachLayer(l => {
            if (l.getPopup && l.getPopup()) {
                l.openPopup();
                const box = l.getPopup().getElement().querySelector('.leaflet-popup-content');
                out.push([box.textContent, box.querySelectorAll('img,script').length]);
            }
        });
        return out;
    }""")
    page.wait_for_timeout(300)
    context.close()
    assert errors == [] and dialogs == []
    assert {u.split(":", 1)[0] for u in requests} <= {"file", "data"}
    assert any(XSS in text for text, _ in texts), texts
    assert all(n == 0 for _, n in texts)
    assert len(texts) >= 6 + 2  # stations, counties, gaps, suggestions
