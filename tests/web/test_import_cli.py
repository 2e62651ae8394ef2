"""`locator import`: exit codes 0 / 1 / 2, --dry-run, --json, --lang, undo, template."""

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "files"


@pytest.fixture()
def runner(empty_app):
    return empty_app.test_cli_runner()


def sites(app) -> int:
    return app.extensions["locator"].store.count_sites()


def invoke(runner, *args):
    result = runner.invoke(args=["import", *map(str, args)])
    return result.exit_code, result.output


def test_clean_file_imports_and_exit_0(runner, empty_app):
    code, out = invoke(runner, CORPUS / "gbk_excel.csv", "--user", "tester")
    assert code == 0, out
    assert "新增 3" in out and "已导入" in out and "locator import undo 1" in out
    assert sites(empty_app) == 3


def test_dry_run_changes_nothing(runner, empty_app):
    code, out = invoke(runner, CORPUS / "utf8_bom.csv", "--dry-run")
    assert code == 0 and "试运行" in out
    assert sites(empty_app) == 0


def test_problems_exit_1_and_import_nothing(runner, empty_app):
    code, out = invoke(runner, CORPUS / "dms.csv", "--json")
    assert code == 1
    report = json.loads(out)
    assert set(report) == {"ok", "rows", "new", "changed", "unchanged", "problems"}
    assert report["ok"] is False and report["rows"] == 8
    assert {p["code"] for p in report["problems"]} == {"bad_coordinate"}
    assert sites(empty_app) == 0


@pytest.mark.parametrize("name", ["vrt_as.geojson", "zip_bomb.zip", "billion_laughs.xlsx",
                                  "empty.csv", "old_excel.xls"])
def test_refused_files_exit_2(runner, empty_app, name):
    code, out = invoke(runner, CORPUS / name, "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False and report["problems"][0]["row"] is None
    assert sites(empty_app) == 0


def test_english_and_datum(runner, empty_app):
    code, out = invoke(runner, CORPUS / "gcj02.csv", "--datum", "gcj02", "--lang", "en",
                       "--dry-run")
    assert code == 0 and "3 rows: 3 new" in out and "dry run" in out
    code, out = invoke(runner, CORPUS / "swapped.csv", "--lang", "en")
    assert code == 1 and "swapped" in out


def test_bad_datum_is_a_usage_error(runner):
    code, out = invoke(runner, CORPUS / "gcj02.csv", "--datum", "mars")
    assert code == 2 and "mars" in out


def test_undo_and_batches(runner, empty_app):
    invoke(runner, CORPUS / "gbk_excel.csv")
    result = runner.invoke(args=["import", "batches"])
    batch = json.loads(result.output.splitlines()[0])
    assert batch["id"] == 1 and batch["new"] == 3 and batch["undone_at"] is None
    result = runner.invoke(args=["import", "undo", "1", "--user", "tester"])
    assert result.exit_code == 0 and "已撤销" in result.output
    assert sites(empty_app) == 0
    result = runner.invoke(args=["import", "undo", "1", "--lang", "en"])
    assert result.exit_code == 1 and "already undone" in result.output


def test_template_and_report_xlsx(runner, tmp_path):
    out = tmp_path / "模板.xlsx"
    result = runner.invoke(args=["import", "template", "--output", str(out)])
    assert result.exit_code == 0
    assert load_workbook(out).sheetnames[0] == "站点"
    report = tmp_path / "report.xlsx"
    code, _ = invoke(runner, CORPUS / "bad_text.csv", "--report-xlsx", report)
    assert code == 1
    wb = load_workbook(report)
    assert "U+202E" in wb["标注"]["A2"].value


def test_import_help_lists_the_subcommands(runner):
    result = runner.invoke(args=["import", "--help"])
    assert result.exit_code == 0
    assert "undo" in result.output and "template" in result.output
