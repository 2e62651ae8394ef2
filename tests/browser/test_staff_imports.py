"""The staff import flow in a real Chromium: sign in, upload, check, map, publish, undo."""


import pytest

from tests.browser.conftest import browser_app, serving, wait_for, watched_page

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
CSV = ("名称,经度,纬度,地址\n"
       "浏览器测试驿站甲,114.5731,38.0682,长安区测试路1号\n"
       "<img src=x onerror=window.__xss=1>,114.5790,38.0712,长安区测试路2号\n").encode()


@pytest.fixture(scope="module")
def imports_server(demo_db, tmp_path_factory):
    """Our own server over a copy of the demo database (this test writes to it)."""
    from locator.store import accounts

    app = browser_app(tmp_path_factory.mktemp("imports-browser"), demo_db)
    state = app.extensions["locator"]
    accounts.create_user(state.store, "importer", PASSWORD, "admin", None,
                         tuple(state.regions().district_names()))
    with serving(app) as url:
        yield url
    state.store.dispose()


def test_upload_check_publish_undo(browser, imports_server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = watched_page(context)
    errors, dialogs = page.errors, []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    try:
        page.goto(imports_server + "/staff/login?next=/staff/imports")
        page.fill("input[name=username]", "importer")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/imports")
        assert page.locator("input[name=datum][value=wgs84]").is_checked()

        page.set_input_files("#file", {"name": "新站.csv", "mimeType": "text/csv",
                                       "buffer": CSV})
        page.click("text=3. 上传并检查")
        page.wait_for_selector(".summary-line", timeout=20_000)
        assert "共 2 行：新增 2，更新 0，不变 0，有问题 0" in page.inner_text(".summary-line")
        wait_for(page, "window.locatorImportMarkers === 2", timeout=10_000)
        assert page.locator(".import-map canvas").count() >= 1
        assert page.evaluate("window.__xss") is None

        page.click("#publish")
        page.wait_for_selector("#undo", timeout=20_000)
        assert "/staff/imports/" in page.url
        assert page.locator(".batch-sites tbody tr").count() == 2
        page.click("#undo")
        page.wait_for_selector(".batch-status:has-text('已撤销')", timeout=20_000)
        assert "确定撤销本次导入吗" in dialogs[0]
        assert page.locator("#undo").count() == 0
        assert page.evaluate("window.__xss") is None
        assert errors == []
    finally:
        context.close()
