"""Fixtures: apps over real SQLite databases in temporary instance folders."""

from __future__ import annotations

import pytest

from locator import create_app


def _app(instance, **overrides):
    config = {"INSTANCE_PATH": str(instance), "TESTING": True}
    config.update(overrides)
    return create_app(config)


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


@pytest.fixture()
def empty_app(tmp_path):
    """A fresh, migrated database with no sites."""
    app = _app(tmp_path / "instance", LOAD_DEMO=False)
    app.extensions["locator"].store.upgrade()
    yield app
    app.extensions["locator"].store.dispose()
