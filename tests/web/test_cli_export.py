"""`locator export coverage|stations` over the demo database (DESIGN.md §5)."""

import csv

import pytest
from openpyxl import load_workbook


def run(app, *args):
    return app.test_cli_runner().invoke(args=["export", *args])


def test_coverage_xlsx_for_a_district(demo_app, tmp_path):
    out = tmp_path / "辛集.xlsx"
    result = run(demo_app, "coverage", "--district", "辛集市", "--radius-m", "2000",
                 "--format", "xlsx", "--output", str(out))
    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "wrote" in result.output and "辛集市" in result.output
    summary = {r[0]: r[1] for r in load_workbook(out)["概况"].iter_rows(values_only=True)}
    assert summary["地区代码"] == "130181" and summary["服务半径（米）"] == "2000"


def test_coverage_csv_for_the_province(demo_app, tmp_path):
    out = tmp_path / "hebei.csv"
    result = run(demo_app, "coverage", "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, (result.output, repr(result.exception))
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["level"] for r in rows].count("district") == 14
    assert [r["level"] for r in rows].count("county") == 167
    assert rows[0]["level"] == "province" and rows[0]["stations"] == "5741"


def test_stations_export(demo_app, tmp_path):
    out = tmp_path / "sites.csv"
    result = run(demo_app, "stations", "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "5990 sites" in result.output
    with out.open(encoding="utf-8-sig", newline="") as f:
        assert sum(1 for _ in csv.DictReader(f)) == 5990


@pytest.mark.parametrize("args", [
    ["coverage", "--district", "110000", "--format", "csv"],
    ["coverage", "--radius-m", "50", "--format", "csv"],
    ["coverage", "--format", "docx"],
    ["stations", "--format", "pdf"],
])
def test_bad_arguments_fail_cleanly(demo_app, tmp_path, args):
    out = tmp_path / "x.out"
    result = run(demo_app, *args, "--output", str(out))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert not out.exists()


def test_init_leaves_the_demand_grid_in_the_instance_cache(demo_app):
    from pathlib import Path

    files = list((Path(demo_app.instance_path) / "cache").glob("h3grid-*.npz"))
    assert len(files) == 1 and files[0].stat().st_size > 1_000_000
