"""The store: migrations equal the models, pragmas, and the data version."""

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, insert, select, text, update

from locator.store.models import Base, Station
from locator.store.store import Store


def a_station(sid="HB130102-0001", **kw):
    row = dict(
        id=sid,
        kind="station",
        name="裕华路环卫工人爱心驿站",
        address="石家庄市长安区裕华路1号",
        district_code="130100",
        district_name="石家庄市",
        county_code="130102",
        county_name="长安区",
        lon=114.52,
        lat=38.04,
        source_datum="wgs84",
        services=["toilet"],
        opening_hours="24/7",
        host="社区",
        phone="",
        status="active",
        updated_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        updated_by="test",
        synthetic=False,
    )
    row.update(kw)
    return row


def test_migrations_create_exactly_the_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(store):
    store.upgrade()
    assert store.data_version() == 0


def test_sqlite_pragmas(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_orm_add_update_delete_each_bump_once(store):
    with store.write() as s:
        s.add(Station(**a_station("HB130102-0001")))
        s.add(Station(**a_station("HB130102-0002")))
    assert store.data_version() == 1
    with store.write() as s:
        s.get(Station, "HB130102-0001").name = "新名称"
        s.flush()
        s.get(Station, "HB130102-0002").phone = "0311-1"
    assert store.data_version() == 2
    with store.write() as s:
        s.delete(s.get(Station, "HB130102-0002"))
    assert store.data_version() == 3


def test_bulk_statements_bump(store):
    with store.write() as s:
        s.execute(insert(Station), [a_station("HB130102-0001"), a_station("HB130102-0002")])
    assert store.data_version() == 1
    with store.write() as s:
        s.execute(update(Station).where(Station.id == "HB130102-0001").values(name="x"))
    assert store.data_version() == 2
    with store.write() as s:
        s.execute(delete(Station).where(Station.id == "HB130102-0002"))
    assert store.data_version() == 3


def test_reads_do_not_bump(store):
    with store.write() as s:
        s.add(Station(**a_station()))
    with store.read() as s:
        s.scalars(select(Station)).all()
    with store.write() as s:
        s.get(Station, "HB130102-0001")
    assert store.data_version() == 1


def test_a_failed_write_changes_neither_rows_nor_version(store):
    with pytest.raises(RuntimeError), store.write() as s:
        s.add(Station(**a_station()))
        s.flush()
        raise RuntimeError("boom")
    assert store.data_version() == 0
    assert store.count_sites() == 0


def test_version_is_seen_by_another_connection(tmp_path, store):
    other = Store(store.url)
    try:
        before = other.data_version()
        with store.write() as s:
            s.add(Station(**a_station()))
        assert other.data_version() == before + 1
    finally:
        other.dispose()
