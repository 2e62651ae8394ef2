"""The store on PostgreSQL: migrations equal the models, the data version, concurrency.

The SQLite suite's store tests run here unchanged (the ``store`` fixture of conftest.py is a
fresh PostgreSQL database); the tests below are about what PostgreSQL does differently:
READ COMMITTED writers running at the same time, snapshots, time zones, NUL characters.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from locator.errors import BadRequest, Conflict
from locator.store.models import Station
from locator.store.store import Store, database_url, demo_rows
from tests.unit import test_store as sqlite_suite
from tests.unit.test_store import a_station

REUSED = (
    "test_migrations_create_exactly_the_models", "test_upgrade_is_idempotent",
    "test_orm_add_update_delete_each_bump_once", "test_bulk_statements_bump",
    "test_reads_do_not_bump", "test_a_failed_write_changes_neither_rows_nor_version",
    "test_version_is_seen_by_another_connection",
)
globals().update({name: getattr(sqlite_suite, name) for name in REUSED})

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo_sites.geojson"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    """A fresh, migrated store on each backend in turn."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        s.upgrade()
    else:
        s = Store(request.getfixturevalue("store").url)
    yield s
    s.dispose()


def test_it_is_really_postgresql_and_sqlite_pragmas_stay_on_sqlite(store):
    assert store.engine.dialect.name == "postgresql"
    with store.engine.connect() as conn:
        assert conn.execute(text("SHOW server_encoding")).scalar() == "UTF8"
        assert conn.execute(text("SHOW TimeZone")).scalar() == "Asia/Shanghai"
        assert conn.execute(text("SHOW transaction_isolation")).scalar() == "read committed"


def test_plain_postgresql_urls_use_psycopg_3(pg, store):
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    plain = Store(store.url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert plain.engine.driver == "psycopg" and plain.data_version() == 0
    finally:
        plain.dispose()


def test_every_demo_record_round_trips_exactly(demo_app):
    """`locator init` loaded the demo into PostgreSQL: JSON lists, dates, aware datetimes
    (the server runs in Asia/Shanghai), floats and booleans all come back as they went in."""
    store = demo_app.extensions["locator"].store
    assert store.url.startswith("postgresql+psycopg://")
    assert store.count_sites() == 5990 and store.data_version() == 1
    expected = {row["id"]: row for row in demo_rows(DEMO)}
    with store.read() as s:
        got = {st.id: {k: getattr(st, k) for k in expected[st.id]} for st in s.scalars(
            select(Station))}
    assert got == expected
    sample = next(iter(got.values()))
    assert sample["updated_at"].utcoffset() == dt.timedelta(0)
    assert isinstance(sample["services"], list) and isinstance(sample["synthetic"], bool)


def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(store):
    beijing = dt.timezone(dt.timedelta(hours=8))
    with store.write() as s:
        s.add(Station(**a_station(updated_at=dt.datetime(2026, 11, 1, 8, 30, tzinfo=beijing))))
    with store.read() as s:
        got = s.get(Station, "HB130102-0001").updated_at
    assert got == dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.UTC) and got.tzinfo == dt.UTC


def test_an_uncommitted_bump_is_invisible_to_other_connections(store):
    other = Store(store.url)
    try:
        with store.write() as s:
            s.add(Station(**a_station()))
            s.flush()
            assert other.data_version() == 0 and other.count_sites() == 0
        assert other.data_version() == 1 and other.count_sites() == 1
    finally:
        other.dispose()


def test_a_read_sees_one_snapshot_even_when_a_write_commits_meanwhile(any_store):
    """load_snapshot reads the version, then the rows: they must agree, also when a write
    commits in between (PostgreSQL: REPEATABLE READ; SQLite: an explicit BEGIN)."""
    store = any_store
    with store.read() as s:
        version = s.scalar(text("SELECT data_version FROM meta"))
        with store.write() as w:
            w.add(Station(**a_station()))
        assert s.scalar(select(Station.id)) is None
        assert s.scalar(text("SELECT data_version FROM meta")) == version
    assert store.count_sites() == 1


def _wait_until_blocked(store: Store, timeout_s: float = 10.0) -> None:
    """Until another session of this database waits for a lock (PostgreSQL), or a moment
    (SQLite, whose busy handler cannot be observed)."""
    if store.engine.dialect.name == "sqlite":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout_s
    with store.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                return
            conn.rollback()
            time.sleep(0.02)
    pytest.fail("the second writer never waited for the first one's lock")


def test_a_writer_that_waited_for_the_lock_is_refused(any_store):
    """Two writers expecting the same version: the second blocks on the first one's row
    lock; when the first commits, the second matches no row and is refused, cleanly."""
    store = any_store
    version = store.data_version()
    outcome: dict[str, object] = {}

    def second():
        try:
            with store.write(expected_version=version) as s:
                s.add(Station(**a_station("HB130102-0002", name="second")))
            outcome["second"] = "committed"
        except Exception as e:
            outcome["second"] = e

    with store.write(expected_version=version) as s:
        s.add(Station(**a_station("HB130102-0001", name="first")))
        s.flush()
        thread = threading.Thread(target=second)
        thread.start()
        _wait_until_blocked(store)
    thread.join(15)
    assert isinstance(outcome["second"], Conflict), outcome
    assert store.data_version() == version + 1
    with store.read() as s:
        assert s.scalars(select(Station.name)).all() == ["first"]


def race(n: int, work) -> list[object]:
    """Run ``work(i)`` in ``n`` threads released together; each one's result or error."""
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = work(i)
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def _claim_and_add(store: Store, version: int, sid: str) -> str:
    with store.write(expected_version=version) as s:
        s.add(Station(**a_station(sid)))
    return "won"


def test_concurrent_claims_exactly_one_wins(any_store):
    store = any_store
    for round_ in range(3):
        version = store.data_version()
        outcomes = race(2, lambda i, v=version, r=round_: _claim_and_add(
            store, v, f"HB130102-{r}{i:03d}"))
        assert outcomes.count("won") == 1, outcomes
        assert [type(o) for o in outcomes].count(Conflict) == 1, outcomes
        assert store.data_version() == version + 1
    assert store.count_sites() == 3


def test_concurrent_plain_writes_lose_no_bump(any_store):
    """Writers without an expected version all commit, and each bumps once: the counter
    is incremented in the database (``data_version + 1``), never read-modify-written."""
    store = any_store

    def five_writes(w):
        for i in range(5):
            with store.write() as s:
                s.add(Station(**a_station(f"HB130102-{w}{i:03d}")))
        return "ok"

    assert race(4, five_writes) == ["ok"] * 4
    assert store.data_version() == 20 and store.count_sites() == 20


def test_text_with_nul_is_a_bad_request_not_a_server_error(store):
    with pytest.raises(BadRequest) as e, store.read() as s:
        s.get(Station, "HB\x00")
    assert e.value.status == 400 and e.value.code == "bad_text"
    assert store.count_sites() == 0  # and the store still works
