"""The store: engine, sessions, migrations and the ``data_version`` counter.

SQLite is the embedded default (WAL, foreign keys on, a busy timeout); the same code runs
on PostgreSQL through ``DATABASE_URL`` (``postgresql://user:password@host/db``, driven by
psycopg 3), so that many app servers can share one database. Every transaction that writes
a :class:`~locator.store.models.Versioned` row bumps ``meta.data_version`` once, inside the
same transaction, so a reader that sees the new rows also sees the new version and a
cheap ``SELECT`` tells every worker when to rebuild its in-memory index.

Both backends are used at their default isolation (SQLite: one writer at a time;
PostgreSQL: READ COMMITTED). Every bump is a single atomic ``UPDATE meta ... SET
data_version = data_version + 1``, which takes the row's write lock, so writers queue on
that one row; and :meth:`Store.write` with ``expected_version`` claims the version with
``UPDATE ... WHERE data_version = :expected``: a writer that waited for the lock sees the
committed version when it gets it, matches no row and is refused (tests/pg prove it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from locator.store.models import Meta, Station, Versioned

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_BUMPED = "locator_version_bumped"


def database_url(url: str) -> str:
    """The URL with its driver spelled out: PostgreSQL URLs use psycopg 3.

    SQLAlchemy's default PostgreSQL driver is psycopg2, which we do not install; a plain
    ``postgresql://`` (or Heroku-style ``postgres://``) URL means psycopg 3 here.

    Parameters
    ----------
    url : str
        An SQLAlchemy database URL.

    Returns
    -------
    str
        ``postgresql+psycopg://…`` for a plain PostgreSQL URL; any other URL unchanged.

    Examples
    --------
    >>> database_url("postgresql://u:p@db.example/locator")
    'postgresql+psycopg://u:p@db.example/locator'
    >>> database_url("sqlite:///instance/locator.sqlite3")
    'sqlite:///instance/locator.sqlite3'
    """
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get WAL, foreign keys and a busy timeout.

    PostgreSQL connections are checked before use (a server restart or a dropped idle
    connection costs a reconnect, not an error), and text holding a NUL character, which
    PostgreSQL cannot store or compare, is refused as a bad request instead of failing as
    a server error (SQLite simply finds nothing).

    Parameters
    ----------
    url : str
        An SQLAlchemy database URL (passed through :func:`database_url`).

    Returns
    -------
    sqlalchemy.Engine
        SQLite connections wait up to 5 s for a lock (``timeout``, ``busy_timeout``).
    """
    url = database_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 5})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    # A server that does not answer is an error within seconds (a health check, a start-up
    # check), not after the operating system's two-minute TCP timeout.
    timeout = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 5}
    engine = create_engine(url, pool_pre_ping=True, connect_args=timeout)
    event.listen(engine, "handle_error", _nul_is_a_bad_request)
    return engine


def _nul_is_a_bad_request(context):
    from locator.errors import BadRequest

    error = context.original_exception
    if isinstance(error, context.dialect.loaded_dbapi.DataError) and "NUL" in str(error):
        return BadRequest("文字中不能含有空字符（NUL）。", code="bad_text",
                          message_en="Text may not contain the NUL character.")
    return None


def _bump_once(session: Session) -> None:
    if session.info.get(_BUMPED):
        return
    session.info[_BUMPED] = True
    session.connection().execute(
        update(Meta.__table__).where(Meta.__table__.c.id == 1)
        .values(data_version=Meta.__table__.c.data_version + 1)
    )


def _claim_version(session: Session, expected: int) -> None:
    from locator.errors import Conflict

    meta = Meta.__table__
    # One atomic statement, never "SELECT, compare, UPDATE": under PostgreSQL's READ
    # COMMITTED two writers could both read the old version and both go on. Here the
    # second blocks on the row lock, re-reads the committed row and matches nothing.
    result = session.connection().execute(
        update(meta).where(meta.c.id == 1, meta.c.data_version == expected)
        .values(data_version=meta.c.data_version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(
            "数据在预览之后已被修改（可能有人刚导入或编辑了站点），本次导入没有执行；"
            "请重新上传文件并预览。",
            message_en="The data changed after the preview (someone imported or edited "
            "sites); nothing was imported. Upload the file again and preview it.",
        )
    session.info[_BUMPED] = True


def _snapshot_reads(engine: Engine) -> Engine:
    """A copy of ``engine`` whose transactions see one snapshot from start to end.

    Without it, a version and the rows read after it could disagree: PostgreSQL's READ
    COMMITTED takes a new snapshot per statement, and Python's sqlite3 starts no
    transaction for a ``SELECT``, so each one sees the latest commit. PostgreSQL gets
    REPEATABLE READ (free for a read-only transaction); SQLite an explicit ``BEGIN``
    (in WAL mode readers never block the writer).
    """
    if engine.dialect.name != "sqlite":
        return engine.execution_options(isolation_level="REPEATABLE READ")
    readers = engine.execution_options()
    event.listen(readers, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return readers


def _reset(session: Session, *_args) -> None:
    session.info.pop(_BUMPED, None)


class Store:
    """Engine + session factory for one database URL.

    Parameters
    ----------
    url : str
        An SQLAlchemy database URL: ``sqlite:///path`` or ``postgresql://…``.

    Attributes
    ----------
    url : str
        The URL with its driver spelled out (:func:`database_url`).
    engine : sqlalchemy.Engine
        From :func:`make_engine`.
    sessions : sqlalchemy.orm.sessionmaker
        Plain sessions; prefer :meth:`read` and :meth:`write`, which add the snapshot and
        the transaction.

    Examples
    --------
    >>> store = Store("sqlite://")  # in memory
    >>> store.upgrade()
    >>> store.schema_is_current(), store.data_version(), store.count_sites()
    (True, 0, 0)
    >>> store.dispose()
    """

    def __init__(self, url: str):
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(_snapshot_reads(self.engine), expire_on_commit=False)
        for factory in (self.sessions, self._readers):
            event.listen(factory, "before_flush", self._before_flush)
            event.listen(factory, "do_orm_execute", self._on_execute)
            for name in ("after_commit", "after_rollback", "after_soft_rollback"):
                event.listen(factory, name, _reset)

    @staticmethod
    def _before_flush(session: Session, _ctx, _instances) -> None:
        if any(isinstance(o, Versioned)
               for o in chain(session.new, session.dirty, session.deleted)):
            _bump_once(session)

    @staticmethod
    def _on_execute(state) -> None:
        if (state.is_insert or state.is_update or state.is_delete) and any(
            issubclass(m.class_, Versioned) for m in state.all_mappers
        ):
            _bump_once(state.session)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session: every statement in it sees the same snapshot of the data
        (on PostgreSQL a REPEATABLE READ transaction). Write with :meth:`write`.

        Yields
        ------
        sqlalchemy.orm.Session
            Objects loaded from it stay readable after the block (no expiry on commit).
        """
        with self._readers() as session:
            yield session

    @contextmanager
    def write(self, *, expected_version: int | None = None) -> Iterator[Session]:
        """One transaction: commit on success, roll back everything on error.

        With ``expected_version``, the transaction starts by bumping ``data_version`` only
        if it still equals ``expected_version`` (which also takes the write lock first),
        and raises :class:`~locator.errors.Conflict` when someone else changed the data
        since: "apply exactly what was previewed".

        Parameters
        ----------
        expected_version : int, optional
            The ``data_version`` the change was planned against.

        Yields
        ------
        sqlalchemy.orm.Session
            Inside ``session.begin()``; do not commit it yourself.

        Raises
        ------
        locator.errors.Conflict
            If ``expected_version`` is given and no longer current (HTTP 409); nothing
            is written.
        """
        with self.sessions() as session, session.begin():
            if expected_version is not None:
                _claim_version(session, expected_version)
            yield session

    def data_version(self) -> int:
        """The store-wide version; changes whenever any site changes. One indexed read.

        Returns
        -------
        int
            ``meta.data_version``; 0 before the first write.
        """
        with self.engine.connect() as conn:
            v = conn.execute(select(Meta.data_version).where(Meta.id == 1)).scalar_one_or_none()
        return int(v or 0)

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from alembic import command

        with self.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")

    def schema_is_current(self) -> bool:
        """True when the database is at the newest migration (``locator init`` was run
        with this version of the code).

        Returns
        -------
        bool
            False for an empty database and for one at an older (or unknown) revision.
        """
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head

    def count_sites(self) -> int:
        """How many sites the store holds.

        Returns
        -------
        int
            A count of every station row, removed ones included.
        """
        with self.read() as session:
            return session.scalar(select(func.count()).select_from(Station)) or 0

    def insert(self, table):
        """An ``INSERT`` for ``table`` in this database's dialect (SQLite or PostgreSQL),
        so that callers can add ``.on_conflict_do_update(...)`` (an atomic upsert)."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def dispose(self) -> None:
        """Close every pooled connection (tests do, before a database is copied or dropped)."""
        self.engine.dispose()


def alembic_config(connection=None):
    """An Alembic config pointing at our migrations (no alembic.ini needed).

    Parameters
    ----------
    connection : sqlalchemy.Connection, optional
        The connection the migrations run on (``migrations/env.py`` reads it); ``None``
        when the config only describes the scripts, or for the ``alembic`` command.

    Returns
    -------
    alembic.config.Config
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


_DATE_FIELDS = ("reopen_date", "verified_at")


def demo_rows(path: Path) -> list[dict]:
    """Read the bundled demo GeoJSON into rows for :class:`Station` (WGS-84).

    Parameters
    ----------
    path : pathlib.Path
        A GeoJSON FeatureCollection of Points (RFC 7946: WGS-84 longitude/latitude in
        degrees, EPSG:4326) whose properties are station-record fields.

    Returns
    -------
    list of dict
        One insertable row per feature: ``lon``/``lat`` from the geometry (degrees,
        EPSG:4326), dates as :class:`datetime.date`, ``updated_at`` an aware datetime,
        ``source_lon``/``source_lat`` the same point when the file gives none; properties
        that are not columns are dropped.
    """
    with open(path, encoding="utf-8") as f:
        collection = json.load(f)
    columns = set(Station.__table__.columns.keys())
    rows = []
    for feature in collection["features"]:
        props = feature["properties"]
        row = {k: v for k, v in props.items() if k in columns}
        row["lon"], row["lat"] = feature["geometry"]["coordinates"][:2]
        for k in _DATE_FIELDS:
            if row.get(k):
                row[k] = dt.date.fromisoformat(row[k])
        row["updated_at"] = dt.datetime.fromisoformat(row["updated_at"])
        row.setdefault("source_lon", row["lon"])
        row.setdefault("source_lat", row["lat"])
        rows.append(row)
    return rows


def load_demo(store: Store, path: Path) -> int:
    """Insert the demo sites in one transaction; returns how many were loaded.

    Parameters
    ----------
    store : Store
        A migrated store (the sites are inserted, not merged: ids must be new).
    path : pathlib.Path
        The demo GeoJSON (see :func:`demo_rows`).

    Returns
    -------
    int
        The count of sites inserted; ``data_version`` goes up by one.
    """
    rows = demo_rows(path)
    with store.write() as session:
        session.execute(insert(Station), rows)
    return len(rows)
