"""The settings table: environment overrides and the README table kept equal to it."""

import re
from pathlib import Path

import pytest

from locator import settings

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", text, re.S)
    assert match, "README.md has no <!-- settings-table --> block"
    return match.group(1).strip()


def test_readme_configuration_table_equals_the_settings():
    assert readme_table() == settings.markdown_table()


def test_every_setting_has_help_and_a_unique_name():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.help.strip() for s in settings.SETTINGS)


def test_defaults_env_then_overrides():
    resolved = settings.load(environ={})
    assert resolved["LOAD_DEMO"] is True
    resolved = settings.load(environ={"LOCATOR_LOAD_DEMO": "0", "LOCATOR_TILE_URL": "/t/{z}"})
    assert resolved["LOAD_DEMO"] is False and resolved["TILE_URL"] == "/t/{z}"
    resolved = settings.load(environ={"LOCATOR_LOAD_DEMO": "0"}, overrides={"LOAD_DEMO": "yes"})
    assert resolved["LOAD_DEMO"] is True


def test_a_bad_boolean_is_refused_not_guessed():
    with pytest.raises(ValueError):
        settings.load(environ={"LOCATOR_LOAD_DEMO": "maybe"})


def test_app_uses_the_environment(monkeypatch, tmp_path):
    from locator import create_app

    monkeypatch.setenv("LOCATOR_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("LOCATOR_TILE_URL", "/tiles/{z}/{x}/{y}.png")
    app = create_app()
    assert app.instance_path == str(tmp_path / "inst")
    assert app.config["TILE_URL"] == "/tiles/{z}/{x}/{y}.png"
    assert app.config["DATABASE_URL"].endswith("inst/locator.sqlite3")
    secret = tmp_path / "inst" / "secret_key"
    assert secret.stat().st_mode & 0o077 == 0
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]  # kept, not remade
