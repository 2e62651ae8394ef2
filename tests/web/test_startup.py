"""Issue 14: the start-up self-check. A setting the app cannot work with, a safeguard not in
force or a database that needs ``locator init`` stops the app and every command with one
line naming the cause (and what is allowed); help keeps working; ``/healthz`` says whether
the database answers."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from locator import create_app
from locator.app import cli_group
from locator.errors import StartupRefused
from tests.served import LOCATOR

BAD = {  # environment → what the one line must say
    "LOCATOR_BASEMAP=google": "LOCATOR_BASEMAP='google'：可选 one of osm, tianditu, gaode, custom",
    "LOCATOR_BASEMAP=GAODE": "LOCATOR_BASEMAP='GAODE'：可选 one of osm, tianditu, gaode, custom",
    "LOCATOR_BASEMAP=tianditu": "LOCATOR_BASEMAP=tianditu：需要设置 LOCATOR_TIANDITU_KEY",
    "LOCATOR_BASEMAP=custom": "LOCATOR_BASEMAP=custom：需要设置 LOCATOR_TILE_URL",
    "LOCATOR_TILE_DATUM=bd09": "LOCATOR_TILE_DATUM='bd09'：可选 one of wgs84, gcj02",
    "LOCATOR_IMPORT_MAX_ROWS=abc": "LOCATOR_IMPORT_MAX_ROWS='abc'：正整数",
    "LOCATOR_IMPORT_MAX_BYTES=0": "LOCATOR_IMPORT_MAX_BYTES='0'：正整数",
    "LOCATOR_TRUSTED_PROXIES=-1": "LOCATOR_TRUSTED_PROXIES='-1'：0 或正整数",
    "LOCATOR_LOAD_DEMO=maybe": "LOCATOR_LOAD_DEMO='maybe'：1 或 0",
    "LOCATOR_WORKERS=many": "LOCATOR_WORKERS='many'：0 或正整数",
    "LOCATOR_SECRET_KEY=tooshort": "LOCATOR_SECRET_KEY='…'：至少 32 个字符",
    "LOCATOR_DATABASE_URL=postgresql://locator@/locator":
        "LOCATOR_SECRET_KEY=''：共享数据库（PostgreSQL）需要设置",
}
COMMANDS = [["users", "list"], ["init"], ["serve"], ["run"], ["routes"],
            ["export", "stations", "--format", "csv", "--output", "x.csv"],
            ["import", "batches"], ["demand", "status"]]


def invoke(args, env, instance):
    environment = {"LOCATOR_INSTANCE_PATH": str(instance), **env}
    return CliRunner().invoke(cli_group(), args, env=environment, catch_exceptions=False)


def one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize("setting", sorted(BAD))
def test_a_bad_setting_is_one_line(tmp_path, setting):
    name, _, value = setting.partition("=")
    result = invoke(["users", "list"], {name: value}, tmp_path)
    assert result.exit_code == 1
    assert one_line(result) == "Error: 设置有误 bad setting " + BAD[setting] + \
        one_line(result).split(BAD[setting], 1)[1]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_stops_with_the_same_line(tmp_path, command):
    result = invoke(command, {"LOCATOR_BASEMAP": "google"}, tmp_path)
    assert result.exit_code == 1
    assert one_line(result).startswith("Error: 设置有误 bad setting LOCATOR_BASEMAP='google'")


def test_the_real_command_prints_one_line_too(tmp_path):
    done = subprocess.run([str(LOCATOR), "users", "list"], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "LOCATOR_BASEMAP": "google",
                                            "LOCATOR_INSTANCE_PATH": str(tmp_path)})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "Error: 设置有误 bad setting LOCATOR_BASEMAP='google'：可选 one of osm, tianditu, "
        "gaode, custom"]


def test_help_works_whatever_the_settings(tmp_path):
    every = set(create_app({"INSTANCE_PATH": str(tmp_path)}).cli.list_commands(None)) | {
        "run", "shell", "routes"}
    result = invoke(["--help"], {"LOCATOR_BASEMAP": "google"}, tmp_path)
    assert result.exit_code == 0 and "Error" not in result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()}
    assert listed == every
    for command in (["users", "--help"], ["import", "--help"], ["serve", "--help"],
                    ["export", "stations", "--help"]):
        result = invoke(command, {"LOCATOR_IMPORT_MAX_ROWS": "abc"}, tmp_path)
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_a_good_secret_key_and_postgresql_build_an_app(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32,
                      "DATABASE_URL": "postgresql://locator@/locator"})
    assert app.config["SECRET_KEY"] == "k" * 32  # nothing connects before a request


def test_the_app_factory_refuses_with_the_same_line(tmp_path):
    with pytest.raises(StartupRefused, match=r"^设置有误 bad setting LOCATOR_BASEMAP='gaode '"):
        create_app({"INSTANCE_PATH": str(tmp_path), "BASEMAP": "gaode "})


def test_gdal_without_its_allowlist_stops_the_app(tmp_path, monkeypatch):
    from locator.imports import gdal_guard

    def leaky():
        raise gdal_guard.GdalGuardError("GDAL offers drivers outside the allowlist: KML")

    monkeypatch.setattr(gdal_guard, "check", leaky)
    with pytest.raises(StartupRefused, match="safeguard not in force: GDAL offers drivers"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
    result = invoke(["users", "list"], {}, tmp_path)
    assert result.exit_code == 1 and "outside the allowlist: KML" in one_line(result)


def test_xlsx_without_defusedxml_stops_the_app(tmp_path, monkeypatch):
    import openpyxl.xml

    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    result = invoke(["init"], {}, tmp_path)
    assert result.exit_code == 1
    assert one_line(result) == ("Error: 安全检查未通过 safeguard not in force: defusedxml is "
                                "not active for openpyxl: refusing to read XLSX")


@pytest.mark.parametrize("command", [["serve"], ["run"]], ids=" ".join)
def test_serving_a_database_that_needs_init_is_refused(tmp_path, command):
    result = invoke(command, {"LOCATOR_LOAD_DEMO": "0"}, tmp_path)
    assert result.exit_code == 1
    assert one_line(result) == ("Error: 数据库尚未初始化或需要升级：请先运行 locator init "
                                "(the database needs `locator init`)")
    assert invoke(["init"], {"LOCATOR_LOAD_DEMO": "0"}, tmp_path).exit_code == 0  # init may


def test_serving_a_database_that_cannot_be_reached_is_refused(tmp_path):
    result = invoke(["serve"], {"LOCATOR_DATABASE_URL": "sqlite:////nonexistent/dir/x.db"},
                    tmp_path)
    assert result.exit_code == 1
    assert one_line(result).startswith("Error: 数据库无法连接 database unreachable "
                                       "(sqlite:////nonexistent/dir/x.db)")


# --- /healthz ---------------------------------------------------------------------------

def test_healthz_says_the_database_answers(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["data_version"] >= 1


def test_healthz_when_the_database_goes_away(tmp_path, demo_db, monkeypatch):
    from locator.web import state as state_module

    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})
    client = app.test_client()
    assert client.get("/healthz").get_json()["database"] == "ok"
    monkeypatch.setattr(state_module, "VERSION_CHECK_INTERVAL_S", 0.0)
    store = app.extensions["locator"].store
    store.dispose()
    (instance / "locator.sqlite3").rename(instance / "moved")
    shutil.rmtree(instance)  # the folder is gone: SQLite cannot even create a new file
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "unavailable", "data_version": None,
                            "database": "unreachable"}
    # the API says so too: a 503 with its reason, not a bare 500
    r = client.get("/api/v1/nearest?lat=38.04&lon=114.51")
    assert r.status_code == 503 and r.get_json()["error"] == "database_unavailable"


def test_healthz_before_init(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["database"] == "not_initialised"
