"""Staff accounts and the problem-report queue, through the test client and the CLI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from locator.store import accounts
from locator.store.models import ProblemReport, User
from tests.conftest import form_token

PASSWORD = "correct horse battery"


@pytest.fixture()
def app(fresh_demo_app):
    runner = fresh_demo_app.test_cli_runner()
    for args in (["admin1", "--role", "admin"],
                 ["sjz", "--role", "district", "--district", "130100"],
                 ["tangshan", "--role", "district", "--district", "130200"]):
        result = runner.invoke(args=["users", "create", *args, "--password", PASSWORD])
        assert result.exit_code == 0, result.output
    yield fresh_demo_app


def token(client, path):
    return form_token(client, path)


def login(client, username, password=PASSWORD):
    return client.post("/staff/login", data={
        "csrf_token": token(client, "/staff/login"), "username": username,
        "password": password})


def file_reports(app):
    """One report in 石家庄 (130100) and one in 唐山 (130200)."""
    client = app.test_client()
    ids = {}
    for district in ("130100", "130200"):
        site = client.get(f"/api/v1/stations?district={district}&limit=1").json["features"][0]
        client.post(f"/stations/{site['id']}/report", data={
            "csrf_token": token(client, f"/stations/{site['id']}"),
            "category": "other", "note": f"note {district}"})
        ids[district] = site["id"]
    with app.extensions["locator"].store.read() as s:
        return {r.district_code: r.id for r in s.scalars(select(ProblemReport))}


def test_pages_need_a_login(app):
    r = app.test_client().get("/staff/reports")
    assert r.status_code == 302 and "/staff/login" in r.headers["Location"]


def test_login_and_the_session_cookie(app):
    client = app.test_client()
    r = login(client, "admin1")
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "问题反馈" in client.get("/staff/reports").get_data(as_text=True)


def test_passwords_are_stored_with_a_kdf(app):
    with app.extensions["locator"].store.read() as s:
        user = s.scalar(select(User).where(User.username == "admin1"))
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in \
        user.password_hash


def test_wrong_password_and_unknown_user_look_the_same(app):
    client = app.test_client()
    a = login(client, "admin1", "wrong password!")
    b = login(client, "nobody", "wrong password!")
    assert a.status_code == b.status_code == 401
    assert "用户名或密码不对" in a.get_data(as_text=True)


def test_login_is_refused_without_csrf_token(app):
    r = app.test_client().post("/staff/login", data={"username": "admin1",
                                                     "password": PASSWORD})
    assert r.status_code == 400


def answer(response) -> tuple[int, str]:
    """What a sign-in attempt tells the client: status and the page without its token."""
    html = response.get_data(as_text=True)
    return response.status_code, re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_repeated_failures_throttle_this_account_from_this_address(app):
    client = app.test_client()
    for _ in range(accounts.PAIR_RULE.free):
        assert login(client, "sjz", "wrong password!").status_code == 401
    r = login(client, "sjz", "wrong password!")  # one too many: this address must wait
    assert r.status_code == 401
    r = login(client, "sjz")  # the right password, but too soon from here
    assert r.status_code == 429 and "分钟后再试" in r.get_data(as_text=True)


def test_an_attacker_cannot_keep_the_owner_out(app):
    """Issue 12: five wrong passwords from anywhere used to lock the account for 15 min."""
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    for _ in range(accounts.PAIR_RULE.free + 3):
        login(attacker, "admin1", "wrong password!")
    assert login(attacker, "admin1").status_code == 429  # the attacker waits…
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    r = login(owner, "admin1")  # …the owner, from another address, does not
    assert r.status_code == 302, r.get_data(as_text=True)


def test_the_owner_behind_the_proxy_is_not_the_attacker(fresh_demo_app):
    """Behind one trusted proxy the forwarded address is the client's, so throttling one
    client does not throttle everyone who comes through the proxy."""
    from locator import create_app

    app = create_app({"INSTANCE_PATH": fresh_demo_app.instance_path, "TESTING": True,
                      "TRUSTED_PROXIES": 1})
    accounts.create_user(app.extensions["locator"].store, "owner1", PASSWORD, "admin", None,
                         ())
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    attacker = app.test_client()
    attacker.environ_base.update(proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")
    for _ in range(accounts.PAIR_RULE.free + 3):
        login(attacker, "owner1", "wrong password!")
    assert login(attacker, "owner1").status_code == 429
    owner = app.test_client()
    owner.environ_base.update(proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert login(owner, "owner1").status_code == 302
    app.extensions["locator"].store.dispose()


def test_existing_and_unknown_names_get_identical_answers(app):
    """The same wrong attempts against a real name and a made-up one: the same statuses,
    the same pages, the same throttling; so the answers do not tell which names exist."""
    seen = {}
    for i, name in enumerate(("sjz", "nosuchuser")):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{i + 1}"
        seen[name] = [answer(login(client, name, "wrong password!"))
                      for _ in range(accounts.PAIR_RULE.free + 2)]
    assert seen["sjz"] == seen["nosuchuser"]
    assert [status for status, _ in seen["sjz"]] == [401] * 6 + [429]


def test_one_address_trying_many_names_is_throttled(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    statuses = [login(client, f"user{i:03d}", "wrong password!").status_code
                for i in range(accounts.SOURCE_RULE.free + 1)]
    assert statuses == [401] * (accounts.SOURCE_RULE.free + 1)
    assert login(client, "admin1").status_code == 429  # the address waits, for any name
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    assert login(other, "admin1").status_code == 302


def test_the_wait_grows_and_then_passes(app, monkeypatch):
    import datetime as dt

    clock = [dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(accounts, "_now", lambda: clock[0])
    client = app.test_client()
    for _ in range(accounts.PAIR_RULE.free + 1):
        assert login(client, "sjz", "wrong password!").status_code == 401
    assert login(client, "sjz").status_code == 429
    clock[0] += dt.timedelta(seconds=31)  # the first wait is 30 s
    assert login(client, "sjz", "wrong again!").status_code == 401
    clock[0] += dt.timedelta(seconds=31)  # the second is 60 s: still waiting
    assert login(client, "sjz").status_code == 429
    clock[0] += dt.timedelta(seconds=30)
    assert login(client, "sjz").status_code == 302


def test_district_staff_see_and_change_only_their_district(app):
    reports = file_reports(app)
    client = app.test_client()
    login(client, "sjz")
    html = client.get("/staff/reports").get_data(as_text=True)
    assert "note 130100" in html and "note 130200" not in html
    own = client.post(f"/staff/reports/{reports['130100']}", data={
        "csrf_token": token(client, "/staff/reports"), "status": "resolved",
        "resolution_note": "已核实，已改正"})
    assert own.status_code == 302
    other = client.post(f"/staff/reports/{reports['130200']}", data={
        "csrf_token": token(client, "/staff/reports"), "status": "resolved",
        "resolution_note": "x"})
    assert other.status_code == 404
    with app.extensions["locator"].store.read() as s:
        states = {r.district_code: (r.status, r.resolution_note)
                  for r in s.scalars(select(ProblemReport))}
    assert states == {"130100": ("resolved", "已核实，已改正"), "130200": ("new", "")}
    resolved = client.get("/staff/reports?status=resolved").get_data(as_text=True)
    assert "note 130100" in resolved
    assert "note 130100" not in client.get("/staff/reports?status=new").get_data(as_text=True)


def test_admins_see_every_district(app):
    file_reports(app)
    client = app.test_client()
    login(client, "admin1")
    html = client.get("/staff/reports").get_data(as_text=True)
    assert "note 130100" in html and "note 130200" in html


def test_logout_revokes_the_session_on_the_server(app):
    client = app.test_client()
    login(client, "sjz")
    stolen = client.get_cookie("session").value
    client.post("/staff/logout", data={"csrf_token": token(client, "/staff/reports")})
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/staff/reports").status_code == 302


def test_disabling_an_account_ends_its_sessions(app):
    client = app.test_client()
    login(client, "tangshan")
    assert client.get("/staff/reports").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "disable", "tangshan"])
    assert result.exit_code == 0
    assert client.get("/staff/reports").status_code == 302
    assert login(app.test_client(), "tangshan").status_code == 401
    app.test_cli_runner().invoke(args=["users", "enable", "tangshan"])
    assert login(app.test_client(), "tangshan").status_code == 302


@pytest.mark.parametrize("args", [
    ["x", "--role", "admin"],                                   # short user name
    ["newuser", "--role", "district"],                          # no district
    ["newuser", "--role", "district", "--district", "110000"],  # Beijing is not ours
    ["admin1", "--role", "admin"],                              # exists
])
def test_users_create_refuses_bad_input(app, args):
    result = app.test_cli_runner().invoke(args=["users", "create", *args,
                                                "--password", PASSWORD])
    assert result.exit_code != 0 and "Error" in result.output


def test_short_passwords_are_refused(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "newuser", "--role",
                                                "admin", "--password", "short"])
    assert result.exit_code != 0 and "至少" in result.output


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example", "/%09/evil.example", "/%5C/evil.example",
    "/%0A/evil.example", "/%20/evil.example", "/staff//evil", "javascript:alert(1)"])
def test_login_redirect_stays_on_site(app, target):
    """Werkzeug strips a tab from "/\t/host" and browsers read "/\\host" as "//host": the
    target must be a plain path here, or the user lands on the report queue."""
    client = app.test_client()
    r = client.post(f"/staff/login?next={target}", data={
        "csrf_token": token(client, "/staff/login"), "username": "admin1",
        "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/staff/reports"


def test_login_redirect_keeps_a_path_on_this_site(app):
    client = app.test_client()
    r = client.post("/staff/login?next=/staff/stations%3Fq%3D%E9%A9%BF%26page%3D2", data={
        "csrf_token": token(client, "/staff/login"), "username": "admin1",
        "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/staff/stations?q=%E9%A9%BF&page=2"


def test_a_report_links_to_the_sites_form_and_history(app):
    """From the queue, one click to fix the site (and see what changed)."""
    file_reports(app)
    client = app.test_client()
    login(client, "sjz")
    html = client.get("/staff/reports").get_data(as_text=True)
    ids = re.findall(r'href="/staff/stations/(HB\d{6}-\d+)"', html)
    assert ids and all(i.startswith("HB1301") for i in ids)
    assert f'href="/staff/stations/{ids[0]}/history"' in html
    assert client.get(f"/staff/stations/{ids[0]}").status_code == 200
