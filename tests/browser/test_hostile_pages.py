"""Issue 12 in Chromium: every HTML answer to the XSS payload, opened as the role that got
it, runs no script of the payload's; and the sign-in link an attacker sends does not either.

The cases are the hostile sweep's (tests/hostile.py): every route, path segment and query
field a view reads, for the anonymous user, a district account and an admin.
"""

from __future__ import annotations

import pytest

from locator.store import accounts
from tests import hostile
from tests.browser.conftest import browser_app, serving, watched_page

pytestmark = pytest.mark.browser

# The payload calls __xss(n); this records the call where the page can be asked about it.
RECORD_XSS = "window.__xssRan = []; window.__xss = (n) => window.__xssRan.push(n);"


@pytest.fixture(scope="module")
def target(tmp_path_factory, demo_db):
    app = browser_app(tmp_path_factory.mktemp("hostile-browser"), demo_db)
    app.request_class = hostile.RecordingRequest
    state = app.extensions["locator"]
    for username, role, district in hostile.USERS.values():
        accounts.create_user(state.store, username, hostile.PASSWORD, role, district,
                             tuple(state.regions().district_names()))
    with serving(app) as url:
        yield app, url


def html_cases(app) -> dict[str, list[str]]:
    """Per role, the URLs (GET) whose answer to the XSS payload is an HTML page."""
    from tests.web.test_hostile_inputs import known_ids, sign_in

    clients = {role: sign_in(app, role, f"192.0.2.{i + 40}")
               for i, role in enumerate(hostile.ROLES)}
    urls = {role: [] for role in hostile.ROLES}
    for case, response in hostile.cases(app, clients, known_ids(app),
                                        payloads={"xss": hostile.XSS}):
        if case.method == "GET" and response.mimetype == "text/html":
            urls[case.role].append(case.url)
        response.close()
    return urls


def signed_in_page(browser, base, role):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.add_init_script(RECORD_XSS)
    pg = watched_page(context)
    if role != "anonymous":
        pg.goto(base + "/staff/login")
        pg.fill("input[name=username]", hostile.USERS[role][0])
        pg.fill("input[name=password]", hostile.PASSWORD)
        pg.click("form.stack button[type=submit]")
        pg.wait_for_url("**/staff/**")
    return context, pg


def test_no_payload_runs_in_any_html_answer(browser, target):
    """Nothing of the payload runs, and (since the Content-Security-Policy would stop a
    payload that reached the page as markup before it ran) nothing was even blocked."""
    app, base = target
    ran, opened = [], 0
    for role, urls in html_cases(app).items():
        context, pg = signed_in_page(browser, base, role)
        for url in urls:
            pg.goto(base + url, wait_until="load")
            opened += 1
            if pg.evaluate("window.__xssRan.length") or pg.csp:
                ran.append(f"{role} {url[:150]} {pg.csp[:3]}")
                pg.csp.clear()
        assert not [e for e in pg.errors if "__xss" in e], pg.errors
        context.close()
    assert not ran, "\n".join(ran)
    assert opened > 100  # the sweep produced pages for every role, not just 404s


def test_the_attackers_sign_in_link_runs_nothing(browser, target):
    """Reproduction of issue 12: an anonymous attacker's link signs the victim in and lands
    on a page that repeated the parameter as markup."""
    _app, base = target
    context, pg = signed_in_page(browser, base, "anonymous")
    link = "/staff/login?next=" + hostile.encode(
        "/staff/coverage?radius_m=" + "<svg/onload=__xss(9)>")
    pg.goto(base + link)
    pg.fill("input[name=username]", hostile.USERS["district"][0])
    pg.fill("input[name=password]", hostile.PASSWORD)
    pg.click("form.stack button[type=submit]")
    pg.wait_for_url("**/staff/coverage**")
    pg.wait_for_load_state("load")
    assert "radius_m" in pg.url and pg.evaluate("window.__xssRan") == []
    assert "<svg/onload=__xss(9)>" in pg.inner_text("main")  # shown as text
    context.close()
