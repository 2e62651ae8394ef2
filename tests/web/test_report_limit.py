"""Issue 14: the problem-report limit (5, then a pause of 10 minutes, per client address)
holds behind a proxy and across workers: it is counted in the database, keyed by an HMAC
of the client's address (``locator/store/throttle.py``)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from sqlalchemy import select

from locator import create_app
from locator.sites import pages
from locator.store import accounts
from locator.store.models import ProblemReport, Throttle
from tests.conftest import form_token

NOW = dt.datetime(2026, 12, 8, 2, 0, tzinfo=dt.UTC)
PROXY = "10.0.0.2"  # the reverse proxy's address, as the app sees the connection


@pytest.fixture()
def instance(tmp_path, demo_db):
    folder = tmp_path / "instance"
    folder.mkdir()
    shutil.copyfile(demo_db, folder / "locator.sqlite3")
    return folder


@pytest.fixture()
def clock(monkeypatch):
    now = [NOW]
    monkeypatch.setattr(pages, "_now", lambda: now[0])
    return now


def app_on(instance, **settings):
    """An app over ``instance``: two of them on one folder stand for two workers."""
    return create_app({"INSTANCE_PATH": str(instance), "TESTING": True, **settings})


class Courier:
    """A browser behind the proxy: its own session, its own forwarded address."""

    def __init__(self, app, address: str | None):
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = PROXY
        self.headers = {"X-Forwarded-For": address} if address else {}
        self.site = app.extensions["locator"].snapshot().sites["id"].iat[0]

    def report(self, app=None) -> bool:
        """File one report (through ``app``'s worker when given); True when it was taken."""
        client = self.client
        if app is not None:  # same browser, same cookie, another worker
            other = app.test_client()
            other.environ_base["REMOTE_ADDR"] = PROXY
            other._cookies = client._cookies
            client = other
        token = form_token(client, f"/stations/{self.site}")
        r = client.post(f"/stations/{self.site}/report", headers=self.headers,
                        data={"csrf_token": token, "category": "other"},
                        follow_redirects=True)
        html = r.get_data(as_text=True)
        assert r.status_code == 200, html
        return "谢谢" in html and "太频繁" not in html


def stored(app) -> int:
    with app.extensions["locator"].store.read() as s:
        return len(s.scalars(select(ProblemReport.id)).all())


def test_two_clients_behind_one_proxy_each_get_their_own_five(instance, clock):
    app = app_on(instance, TRUSTED_PROXIES=1)
    a, b = Courier(app, "198.51.100.1"), Courier(app, "198.51.100.2")
    assert [a.report() for _ in range(6)] == [True] * 5 + [False]
    assert [b.report() for _ in range(5)] == [True] * 5  # a's reports do not count for b
    assert not b.report()
    assert stored(app) == 10


def test_a_forged_forwarded_header_does_not_help_a_client_the_proxy_named(instance, clock):
    """nginx appends the address it saw: whatever the client put before it is not used."""
    app = app_on(instance, TRUSTED_PROXIES=1)
    honest = Courier(app, "198.51.100.1")
    assert all(honest.report() for _ in range(5))
    forger = Courier(app, "203.0.113.66, 198.51.100.1")
    assert not forger.report()


def test_without_a_trusted_proxy_the_header_is_ignored(instance, clock):
    """LOCATOR_TRUSTED_PROXIES=0: the connection's address counts, not what a client says."""
    app = app_on(instance)
    a, b = Courier(app, "198.51.100.1"), Courier(app, "198.51.100.2")
    assert [a.report() for _ in range(5)] == [True] * 5
    assert not b.report()


def test_two_workers_on_one_database_share_the_count(instance, clock):
    first, second = app_on(instance, TRUSTED_PROXIES=1), app_on(instance, TRUSTED_PROXIES=1)
    courier = Courier(first, "198.51.100.1")
    taken = [courier.report(app) for app in (first, second, first, second, first)]
    assert taken == [True] * 5
    assert not courier.report(second) and not courier.report(first)
    assert stored(first) == 5


# Another process (a worker of its own) files one report through its own app.
OTHER_WORKER = """
import sys
from locator import create_app
app = create_app({"INSTANCE_PATH": sys.argv[1], "TRUSTED_PROXIES": 1,
                  "WTF_CSRF_ENABLED": False})
site = app.extensions["locator"].snapshot().sites["id"].iat[0]
client = app.test_client()
client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
r = client.post(f"/stations/{site}/report", data={"category": "other"},
                headers={"X-Forwarded-For": sys.argv[2]}, follow_redirects=True)
print("taken" if "太频繁" not in r.get_data(as_text=True) else "refused")
"""


def test_another_process_sees_the_count(instance):
    import subprocess
    import sys

    def other_worker(address):
        done = subprocess.run([sys.executable, "-c", OTHER_WORKER, str(instance), address],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    app = app_on(instance, TRUSTED_PROXIES=1)
    courier = Courier(app, "198.51.100.1")
    assert all(courier.report() for _ in range(4))
    assert other_worker("198.51.100.1") == "taken"  # the fifth, in the other process
    assert not courier.report()  # this one knows of it
    assert other_worker("198.51.100.1") == "refused"
    assert other_worker("198.51.100.9") == "taken"  # another client is not held up


def test_the_pause_ends_ten_minutes_after_the_last_attempt(instance, clock):
    app = app_on(instance, TRUSTED_PROXIES=1)
    courier = Courier(app, "198.51.100.1")
    assert all(courier.report() for _ in range(5))
    clock[0] += dt.timedelta(minutes=9)
    assert not courier.report()  # refused, and the pause starts again from here
    clock[0] += dt.timedelta(minutes=9)
    assert not courier.report()
    clock[0] += dt.timedelta(minutes=10, seconds=1)
    assert courier.report()


def test_the_database_keeps_no_address(instance, clock):
    app = app_on(instance, TRUSTED_PROXIES=1)
    Courier(app, "198.51.100.123").report()
    app.extensions["locator"].store.dispose()
    raw = b"".join(p.read_bytes() for p in instance.glob("locator.sqlite3*"))
    assert b"198.51.100.123" not in raw and "198.51.100.123".encode("utf-16-le") not in raw


def test_a_short_rule_does_not_clear_the_sign_in_failures(instance, clock):
    """The throttle table holds every rule's rows: a report (a 10-minute rule) written an
    hour after a failed sign-in (a day's rule) leaves that failure counted."""
    app = app_on(instance)
    state = app.extensions["locator"]
    assert accounts.authenticate(state.store, "nobody", "wrong password!",
                                 source="pretend-source") is None
    with state.store.read() as s:
        before = len(s.scalars(select(Throttle.key)).all())
    assert before == 2  # the account from the source, and the source
    clock[0] = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert Courier(app, None).report()
    with state.store.read() as s:
        assert len(s.scalars(select(Throttle.key)).all()) == before + 1
