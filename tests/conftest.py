"""Fixtures: apps over real SQLite databases in temporary instance folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from locator import create_app


def _app(instance, **overrides):
    config = {"INSTANCE_PATH": str(instance), "TESTING": True}
    config.update(overrides)
    return create_app(config)


@pytest.fixture()
def store(tmp_path):
    """A fresh, migrated store of our own (no app)."""
    from locator.store.store import Store

    s = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    s.upgrade()
    yield s
    s.dispose()


def form_token(client, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    import re

    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory):
    """One app per test session over a database loaded by `locator init` with the demo."""
    app = _app(tmp_path_factory.mktemp("demo-instance"))
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    yield app
    app.extensions["locator"].store.dispose()


@pytest.fixture()
def client(demo_app):
    return demo_app.test_client()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A database file loaded with the demo once, to copy for tests that write."""
    app = _app(tmp_path_factory.mktemp("demo-db"))
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    app.extensions["locator"].store.dispose()  # checkpoints the WAL into the file
    return Path(app.instance_path) / "locator.sqlite3"


@pytest.fixture()
def fresh_demo_app(tmp_path, demo_db):
    """A writable app over its own copy of the demo database."""
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    app = _app(instance)
    yield app
    app.extensions["locator"].store.dispose()


@pytest.fixture()
def empty_app(tmp_path):
    """A fresh, migrated database with no sites."""
    app = _app(tmp_path / "instance", LOAD_DEMO=False)
    app.extensions["locator"].store.upgrade()
    yield app
    app.extensions["locator"].store.dispose()
