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


def test_an_uploaded_population_grid_replaces_the_census_proxy(demo_app, tmp_path):
    sites = demo_app.extensions["locator"].snapshot().sites
    station = sites[(sites["district_code"] == "130181") & (sites["kind"] == "station")
                    & (sites["status"] == "active")].iloc[0]
    grid = tmp_path / "people.csv"
    grid.write_text(f"lon,lat,weight\n{station.lon},{station.lat},1000\n"
                    f"{station.lon},{station.lat + 0.0001},3000\n116.4,39.9,99\n",
                    encoding="utf-8")
    out = tmp_path / "xinji.csv"
    result = run(demo_app, "coverage", "--district", "130181", "--population", str(grid),
                 "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, (result.output, repr(result.exception))
    with out.open(encoding="utf-8-sig", newline="") as f:
        head = next(csv.DictReader(f))
    assert head["population"] == "4000" and float(head["share_demand"]) == 1.0
    assert "上传" in head["notes"] and "粗略代理" not in head["notes"]
    bad = tmp_path / "bad.csv"
    bad.write_text("lon,lat\n115,38\n", encoding="utf-8")
    result = run(demo_app, "coverage", "--population", str(bad), "--format", "csv",
                 "--output", str(out))
    assert result.exit_code == 1 and "weight" in result.output
