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


def test_the_readme_and_the_help_name_settings_by_their_variables():
    """`TIANDITU_KEY` or `BASEMAP=gaode` in prose is a variable nobody can set: every
    mention says `LOCATOR_TIANDITU_KEY`, `LOCATOR_BASEMAP=gaode`."""
    names = [s.name for s in settings.SETTINGS if "_" in s.name or s.name == "BASEMAP"]
    bare = re.compile(r"(?<![A-Za-z_])(?:" + "|".join(names) + r")\b")
    texts = {"README.md": README.read_text(encoding="utf-8")}
    texts.update({f"help of {s.name}": s.help for s in settings.SETTINGS})
    found = [f"{where}: …{text[max(0, m.start() - 30):m.end() + 10]}…"
             for where, text in texts.items() for m in bare.finditer(text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("env", "line"), [
    ({"LOCATOR_BASEMAP": "google"},
     "设置有误 bad setting LOCATOR_BASEMAP='google'：可选 one of osm, tianditu, gaode, custom"),
    ({"LOCATOR_BASEMAP": "GAODE"},
     "设置有误 bad setting LOCATOR_BASEMAP='GAODE'：可选 one of osm, tianditu, gaode, custom"),
    ({"LOCATOR_IMPORT_MAX_ROWS": "abc"},
     "设置有误 bad setting LOCATOR_IMPORT_MAX_ROWS='abc'：正整数（a whole number ≥ 1）"),
    ({"LOCATOR_COUNT_SEARCHES": "sometimes"},
     "设置有误 bad setting LOCATOR_COUNT_SEARCHES='sometimes'：1 或 0（1/0, true/false, "
     "yes/no, on/off）"),
])
def test_a_bad_value_is_one_line_naming_the_variable_and_what_is_allowed(env, line):
    with pytest.raises(settings.SettingError) as caught:
        settings.load(environ=env)
    assert str(caught.value) == line and "\n" not in line


def test_secret_key_rules():
    ok = {"SECRET_KEY": "", "DATABASE_URL": ""}
    settings.check(ok)  # SQLite: the instance folder's own key
    settings.check({**ok, "SECRET_KEY": "x" * 32, "DATABASE_URL": "postgresql://h/db"})
    for bad in ({**ok, "SECRET_KEY": "x" * 31},
                {**ok, "DATABASE_URL": "postgresql+psycopg://h/db"},
                {**ok, "DATABASE_URL": "postgres://h/db"}):
        with pytest.raises(settings.SettingError, match="LOCATOR_SECRET_KEY"):
            settings.check(bad)
