"""Fixtures: a throwaway PostgreSQL server for the tests in this folder.

One cluster per test session: ``initdb`` and ``pg_ctl`` from Debian's ``postgresql``
package (``make postgres`` installs it), in a temporary folder, listening only on a unix
socket in that folder (no TCP port, so nothing else on the machine can reach it or clash
with it). PostgreSQL refuses to run as root, so when the tests run as root (CI) the server
runs as the ``postgres`` system user (``nobody`` when there is none).

Every test gets its own database, cloned from a template (``CREATE DATABASE … TEMPLATE``,
a file copy): ``tpl_empty`` is migrated and empty, ``tpl_demo`` was made by ``locator
init`` with the demo data. The fixtures ``store``, ``demo_app``, ``fresh_demo_app`` and
``empty_app`` here override the SQLite ones of tests/conftest.py, so a test module of the
SQLite suite imported into this folder runs unchanged against PostgreSQL.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from locator import create_app

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
NOT_FOUND = (
    "PostgreSQL was not found (no initdb/pg_ctl under {glob} nor on PATH). The PostgreSQL "
    "tests need a real server: run `make postgres` (it installs Debian's postgresql "
    "package), or `apt-get install postgresql`."
)
# Durability is not what these tests are about; the server starts and writes faster. The
# server's time zone is Beijing's, as on a server in China: datetimes must still come back
# as the same instants, in UTC.
SERVER_OPTIONS = ("-c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                  "-c full_page_writes=off -c max_connections=60 -c timezone=Asia/Shanghai")


def pg_bin_dir() -> Path | None:
    """The newest PostgreSQL server ``bin`` folder on this machine (Debian's layout first)."""
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path))

    found = sorted((d for d in glob.glob(PG_BIN_GLOB)
                    if os.access(os.path.join(d, "initdb"), os.X_OK)), key=version)
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@dataclass
class PgServer:
    """A running throwaway cluster; ``url(name)`` is the SQLAlchemy URL of one database."""

    bin_dir: Path
    root: Path
    user: str = "locator"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}"

    def connect(self, database: str = "postgres"):
        """An autocommit psycopg connection to ``database``, for setting up tests."""
        import psycopg

        return psycopg.connect(dbname=database, user=self.user, host=str(self.socket_dir),
                               autocommit=True)

    _names = itertools.count(1)

    def create_database(self, template: str | None = None, name: str | None = None) -> str:
        """A new database (a copy of ``template`` when given); returns its name."""
        name = name or f"t{next(self._names)}"
        with self.connect() as conn:
            clause = f' TEMPLATE "{template}"' if template else ""
            if template and conn.info.server_version >= 150000:
                # a checkpoint and a file copy: faster than WAL-logging a small template
                clause += " STRATEGY FILE_COPY"
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        return name

    def empty_database(self, name: str) -> None:
        """Delete every row of a migrated database; ids and the data version start again."""
        from locator.store.models import Base

        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables
                           if t.name != "meta")
        with self.connect(name) as conn:
            conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            conn.execute("UPDATE meta SET data_version = 0")

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_user() -> dict:
    """subprocess arguments that run a command as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    pytest.fail("running as root and no unprivileged user (postgres, nobody) to run "
                "PostgreSQL as", pytrace=False)


def _run(args: list, *, as_user: dict, cwd: Path, log: Path | None = None) -> bool:
    """Run a PostgreSQL tool; fail the tests with its output (and the server's log)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
           "TZ": "UTC"}
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120, **as_user)
    if result.returncode != 0:
        server_log = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}\n{server_log}", pytrace=False)
    return True


def _stop(bin_dir: Path, data: Path, as_user: dict) -> None:
    subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                    "stop"], cwd=data.parent, capture_output=True, timeout=60, **as_user)


def _remove_orphans(bin_dir: Path, as_user: dict) -> None:
    """Stop and delete the clusters of earlier test sessions that were killed before they
    could clean up (their ``owner`` pid is gone); other live sessions keep theirs."""
    for owner in Path(tempfile.gettempdir()).glob("locator-pg-*/owner"):
        try:
            os.kill(int(owner.read_text()), 0)
            continue  # still running
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        _stop(bin_dir, owner.parent / "data", as_user)
        shutil.rmtree(owner.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg():
    """A PostgreSQL cluster of our own for the session, stopped and deleted at the end."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.fail(NOT_FOUND.format(glob=PG_BIN_GLOB), pytrace=False)
    as_user = _server_user()
    _remove_orphans(bin_dir, as_user)
    # Not under pytest's tmp_path: its folders are private to root, and the server user
    # must reach its data folder and socket. A short path also keeps the socket's path
    # below the 107-byte limit.
    root = Path(tempfile.mkdtemp(prefix="locator-pg-"))
    (root / "owner").write_text(str(os.getpid()))
    data, log = root / "data", root / "server.log"
    if as_user:
        os.chown(root, as_user["user"], as_user["group"])
    started = False
    try:
        _run([bin_dir / "initdb", "-D", data, "-U", PgServer.user, "--auth=trust",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
             as_user=as_user, cwd=root)
        started = _run([bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60",
                        "-o", f"{SERVER_OPTIONS} -k {root}", "start"],
                       as_user=as_user, cwd=root, log=log)
        yield PgServer(bin_dir, root)
    finally:
        if started:
            _stop(bin_dir, data, as_user)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_empty_template(pg):
    """A migrated database with no sites, to copy."""
    from locator.store.store import Store

    name = pg.create_database(name="tpl_empty")
    s = Store(pg.url(name))
    s.upgrade()
    s.dispose()
    return name


@pytest.fixture(scope="session")
def pg_instance(tmp_path_factory):
    """One instance folder for the PostgreSQL apps: the demand-grid cache is built once."""
    return tmp_path_factory.mktemp("pg-instance")


def pg_app(pg, database, instance, **overrides):
    config = {"INSTANCE_PATH": str(instance), "TESTING": True,
              "DATABASE_URL": pg.url(database),
              "SECRET_KEY": "pg-tests-" + "0" * 32}  # a shared database needs one key
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def pg_demo_template(pg, pg_empty_template, pg_instance):
    """A database made by `locator init` (migrations and the demo data), to clone."""
    name = pg.create_database(template=pg_empty_template, name="tpl_demo")
    app = pg_app(pg, name, pg_instance)
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    app.extensions["locator"].store.dispose()  # a template must have no connections
    return name


@pytest.fixture(scope="module")
def pg_module_database(pg, pg_empty_template):
    """A migrated database for one test module (a copy of the empty template)."""
    name = pg.create_database(template=pg_empty_template)
    yield name
    pg.drop_database(name)


@pytest.fixture()
def pg_database(pg, pg_module_database):
    """The module's database, emptied for this test: no rows, ids and the data version
    start again from the beginning (cheaper than a copy per test)."""
    pg.empty_database(pg_module_database)
    return pg_module_database


@pytest.fixture()
def store(pg, pg_database):
    """A fresh, migrated PostgreSQL store of our own (no app)."""
    from locator.store.store import Store

    s = Store(pg.url(pg_database))
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def demo_app(pg, pg_demo_template, pg_instance):
    """One app per session over a PostgreSQL copy of the demo database (read-only use)."""
    name = pg.create_database(template=pg_demo_template)
    app = pg_app(pg, name, pg_instance)
    yield app
    app.extensions["locator"].store.dispose()


@pytest.fixture()
def fresh_demo_app(pg, pg_demo_template, pg_instance):
    """A writable app over its own PostgreSQL copy of the demo database."""
    name = pg.create_database(template=pg_demo_template)
    app = pg_app(pg, name, pg_instance)
    yield app
    app.extensions["locator"].store.dispose()
    pg.drop_database(name)


@pytest.fixture()
def empty_app(pg, pg_database, pg_instance):
    """A fresh, migrated PostgreSQL database with no sites."""
    app = pg_app(pg, pg_database, pg_instance, LOAD_DEMO=False)
    yield app
    app.extensions["locator"].store.dispose()
