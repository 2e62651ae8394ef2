"""Every corpus file yields exactly its expected report (make_corpus.py holds the specs)."""

import json
from pathlib import Path

import pytest

from locator.imports.plan import plan_import
from locator.imports.readers import Limits

HERE = Path(__file__).resolve().parent
NAMES = sorted(p.name for p in (HERE / "files").iterdir())


def expected(name: str) -> dict:
    return json.loads((HERE / "expected" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(demo_app):
    state = demo_app.extensions["locator"]
    return state.store, state.regions()


def plan_of(name, demo, tmp_path):
    store, regions = demo
    spec = expected(name)
    limits = Limits(max_rows=spec["max_rows"]) if spec["max_rows"] else None
    data = (HERE / "files" / name).read_bytes()
    return plan_import(store, data, datum=spec["datum"], regions=regions, limits=limits,
                       tmp_root=tmp_path), spec


def test_every_file_has_an_expectation():
    assert NAMES and NAMES == sorted(p.name[:-5] for p in (HERE / "expected").iterdir())


@pytest.mark.parametrize("name", NAMES)
def test_corpus_file_yields_its_report(name, demo, tmp_path):
    plan, spec = plan_of(name, demo, tmp_path)
    report = plan.report()
    got = {k: report[k] for k in ("ok", "rows", "new", "changed", "unchanged")}
    want = {k: spec["report"][k] for k in ("ok", "rows", "new", "changed", "unchanged")}
    problems = [[p["row"], p["column"], p["code"]] for p in report["problems"]]
    assert (got, problems) == (want, spec["report"]["problems"]), report["problems"]
    for p in report["problems"]:
        assert p["message"] and p["message"] != p["code"]
    json.dumps(report, allow_nan=False)  # RFC 8259: never NaN


@pytest.mark.parametrize("name", ["bad_text.csv", "dms.csv", "zip_bomb.zip", "update.csv"])
def test_english_messages(name, demo, tmp_path):
    plan, _ = plan_of(name, demo, tmp_path)
    for p in plan.report("en")["problems"]:
        assert p["message"].isascii() or any(ch.isascii() and ch.isalpha()
                                             for ch in p["message"])


def test_gbk_csv_keeps_chinese_text_and_the_station_named_NA(demo, tmp_path):
    plan, _ = plan_of("gbk_excel.csv", demo, tmp_path)
    assert plan.table.encoding == "gb18030" and plan.table.header_row == 2
    names = [r.values["name"] for r in plan.planned]
    assert names == ["裕华路环卫工人爱心驿站", "NA", "建设路爱心妈妈小屋"]
    first = plan.planned[0].values
    assert first["services"] == ["drinking_water", "hot_water", "toilet", "phone_charging"]
    assert first["opening_hours"] == "24/7" and first["district_name"] == "石家庄市"
    assert plan.planned[1].values["opening_hours"] == "Mo-Su 08:00-20:00"
    assert plan.planned[2].values["kind"] == "mother_room"
    assert plan.planned[2].values["opening_hours"] == "Mo-Fr 08:30-17:30"


def test_xlsx_phone_typed_as_a_number_stays_digits(demo, tmp_path):
    plan, _ = plan_of("title_row.xlsx", demo, tmp_path)
    assert plan.table.header_row == 3
    assert plan.planned[0].values["phone"] == "3162345678"


@pytest.mark.parametrize("name", ["gcj02.csv", "bd09.csv"])
def test_declared_datum_is_converted_and_the_original_kept(name, demo, tmp_path):
    from pyproj import Geod

    from tests.corpus.make_corpus import P

    plan, spec = plan_of(name, demo, tmp_path)
    geod = Geod(ellps="WGS84")
    for row, key in zip(plan.planned, ("sjz", "ts", "zjk"), strict=True):
        v = row.values
        _, _, distance_m = geod.inv(v["lon"], v["lat"], *P[key])
        assert distance_m < 1.0
        assert v["source_datum"] == spec["datum"]
        _, _, shift_m = geod.inv(v["source_lon"], v["source_lat"], *P[key])
        assert shift_m > 400  # the file's values really were in another datum


def test_payloads_are_kept_verbatim(demo, tmp_path):
    from tests.corpus.make_corpus import PAYLOADS

    plan, _ = plan_of("payloads.csv", demo, tmp_path)
    assert [r.values["name"] for r in plan.planned] == PAYLOADS
    assert plan.planned[0].values["address"] == "</script><script>alert(2)</script>"


def test_vrt_named_geojson_never_reads_the_local_file(demo, tmp_path):
    from tests.corpus.make_corpus import SECRET_MARKER

    secret = Path("/tmp/locator-corpus-secret")
    secret.mkdir(exist_ok=True)
    (secret / "secret.csv").write_text(f"name\n{SECRET_MARKER}\n")
    try:
        plan, _ = plan_of("vrt_as.geojson", demo, tmp_path)
        for lang in ("zh", "en"):
            assert SECRET_MARKER not in json.dumps(plan.report(lang), ensure_ascii=False)
    finally:
        (secret / "secret.csv").unlink()


def test_gbk_shapefile_without_cpg_decodes_chinese(demo, tmp_path):
    plan, _ = plan_of("gbk_shapefile.zip", demo, tmp_path)
    assert [r.values["name"] for r in plan.planned] == ["GPKG驿站一", "GPKG驿站二"]
    assert plan.planned[0].values["services"] == ["drinking_water", "hot_water"]


def test_temporary_files_are_removed(demo, tmp_path):
    for name in ("good.gpkg", "gbk_shapefile.zip", "trigger_view.gpkg", "zip_bomb.zip"):
        plan_of(name, demo, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_every_code_is_documented_and_every_corpus_code_is_known():
    import re

    from locator.imports.validate import CODES

    readme = (HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    staff = readme[readme.index("## Staff: importing station lists"):]
    documented = set(re.findall(r"`([a-z_]+)`", staff))
    assert set(CODES) <= documented
    used = {p[2] for name in NAMES for p in expected(name)["report"]["problems"]}
    assert used <= set(CODES)
    source = "".join((HERE.parents[1] / "locator" / "imports" / f).read_text(encoding="utf-8")
                     for f in ("validate.py", "readers.py", "table.py", "rows.py", "cells.py",
                               "coordinates.py", "duplicates.py"))
    emitted = set(re.findall(r'"([a-z]+_[a-z_]+)"', source)) & (
        set(re.findall(r'UploadRefused\(\s*"([a-z_]+)"', source))
        | set(re.findall(r'Problem\([^"]*?"([a-z_]+)"', source, re.S))
        | set(re.findall(r'CellError\([^)]*?"([a-z_]+)"\)', source, re.S)))
    assert emitted <= set(CODES), emitted - set(CODES)
