"""Plan, apply, undo: one transaction each, refused on stale data, ids never reused."""

import csv
import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select, update

from locator.errors import Conflict, NotFound
from locator.geo.regions import load_regions
from locator.imports.plan import apply_import, plan_import, undo_import
from locator.imports.problem_sheet import problems_xlsx
from locator.imports.template import template_xlsx
from locator.store.models import ImportBatch, Station, StationHistory
from locator.store.store import Store

REGIONS = load_regions()


def csv_bytes(rows, header=("名称", "经度", "纬度", "服务", "开放时间")):
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def stations(store):
    with store.read() as s:
        return {st.id: {c.key: getattr(st, c.key) for c in Station.__table__.columns}
                for st in s.scalars(select(Station))}


def imported(store, data, user="alice", datum="wgs84"):
    plan = plan_import(store, data, datum=datum, regions=REGIONS)
    assert plan.ok, plan.report()["problems"]
    return plan, apply_import(store, plan, user=user)


FIRST = csv_bytes([["一号驿站", "114.5012", "38.0188", "饮水", "全天"],
                   ["二号驿站", "114.5112", "38.0188", "", ""],
                   ["唐山一号", "118.1687", "39.6452", "热水", ""]])


def test_apply_creates_sites_with_county_ids_and_a_batch(store):
    version = store.data_version()
    plan, batch_id = imported(store, FIRST)
    assert plan.report() == {"ok": True, "rows": 3, "new": 3, "changed": 0, "unchanged": 0,
                             "problems": []}
    assert store.data_version() == version + 1
    got = stations(store)
    assert sorted(got) == ["HB130104-0001", "HB130108-0001", "HB130203-0001"]
    one = next(s for s in got.values() if s["name"] == "一号驿站")
    assert one["services"] == ["drinking_water"] and one["opening_hours"] == "24/7"
    assert one["updated_by"] == "alice" and one["source_datum"] == "wgs84"
    assert one["id"] == f"HB{one['county_code']}-0001"
    with store.read() as s:
        batch = s.get(ImportBatch, batch_id)
        assert (batch.created_by, batch.new, batch.rows) == ("alice", 3, 3)
        history = s.scalars(select(StationHistory)).all()
    assert {h.action for h in history} == {"create"} and len(history) == 3
    assert all(h.before is None and h.after["id"] == h.station_id for h in history)


def test_reimporting_the_same_file_with_ids_is_unchanged(store):
    imported(store, FIRST)
    rows = [[sid, s["name"], f"{s['lon']}", f"{s['lat']}"] for sid, s in stations(store).items()]
    plan = plan_import(store, csv_bytes(rows, header=("编号", "名称", "经度", "纬度")),
                       datum="wgs84", regions=REGIONS)
    assert plan.report()["unchanged"] == 3 and plan.ok
    before = store.data_version()
    assert apply_import(store, plan, user="bob") is None  # nothing to do, nothing written
    assert store.data_version() == before


def test_update_changes_only_the_columns_the_file_has(store):
    imported(store, FIRST)
    sid, site = next((k, v) for k, v in stations(store).items() if v["name"] == "一号驿站")
    data = csv_bytes([[sid, "一号驿站（更名）"]], header=("编号", "名称"))
    # no coordinates: an update without 经度/纬度 columns is refused (they are required)
    assert plan_import(store, data, datum="wgs84", regions=REGIONS).report()["problems"][0][
        "code"] == "missing_column"
    data = csv_bytes([[sid, "一号驿站（更名）", site["lon"], site["lat"]]],
                     header=("编号", "名称", "经度", "纬度"))
    plan, batch_id = imported(store, data, user="bob")
    assert plan.report()["changed"] == 1
    after = stations(store)[sid]
    assert after["name"] == "一号驿站（更名）" and after["services"] == ["drinking_water"]
    assert after["opening_hours"] == "24/7" and after["updated_by"] == "bob"


def test_apply_is_refused_when_the_data_changed_since_the_plan(store):
    imported(store, FIRST)
    plan = plan_import(store, csv_bytes([["新站", "114.6", "38.1", "", ""]]), datum="wgs84",
                       regions=REGIONS)
    imported(store, csv_bytes([["别的站", "114.7", "38.2", "", ""]]), user="carol")
    before = stations(store)
    with pytest.raises(Conflict) as e:
        apply_import(store, plan, user="alice")
    assert "预览" in e.value.message and "preview" in e.value.message_for("en")
    assert stations(store) == before


def test_a_plan_with_problems_imports_nothing(store):
    plan = plan_import(store, csv_bytes([["好站", "114.6", "38.1", "", ""],
                                         ["坏站", "nan", "38.1", "", ""]]),
                       datum="wgs84", regions=REGIONS)
    assert not plan.ok and plan.report()["new"] == 1
    with pytest.raises(Exception) as e:
        apply_import(store, plan, user="x")
    assert e.value.code == "import_has_problems"
    assert stations(store) == {}


def test_undo_restores_and_ids_are_never_reused(store):
    _, first = imported(store, FIRST)
    state = stations(store)
    _, second = imported(store, csv_bytes([["三号驿站", "114.5212", "38.0188", "", ""]]))
    new_id = next(k for k in stations(store) if k not in state)
    result = undo_import(store, second, user="alice")
    assert (result.removed, result.restored) == (1, 0)
    assert stations(store) == state
    _, third = imported(store, csv_bytes([["四号驿站", "114.5312", "38.0188", "", ""]]))
    again = next(k for k in stations(store) if k not in state)
    assert again != new_id and int(again[-4:]) == int(new_id[-4:]) + 1
    with pytest.raises(Conflict, match="已经"):
        undo_import(store, second, user="alice")
    with pytest.raises(NotFound):
        undo_import(store, 999, user="alice")


def test_undo_is_refused_when_a_later_import_touched_the_same_sites(store):
    _, first = imported(store, FIRST)
    sid, site = next((k, v) for k, v in stations(store).items() if v["name"] == "一号驿站")
    data = csv_bytes([[sid, "一号驿站 改", site["lon"], site["lat"]]],
                     header=("编号", "名称", "经度", "纬度"))
    _, second = imported(store, data, user="bob")
    before = stations(store)
    with pytest.raises(Conflict) as e:
        undo_import(store, first, user="alice")
    assert sid in e.value.message and f"批次 {second}" in e.value.message and "bob" in \
        e.value.message
    assert stations(store) == before
    undo_import(store, second, user="alice")  # undo the later one first ...
    undo_import(store, first, user="alice")   # ... then the earlier one may go
    assert stations(store) == {}


def test_undo_is_refused_after_an_edit_outside_the_audit_trail(store):
    _, first = imported(store, FIRST)
    with store.write() as s:
        s.execute(update(Station).where(Station.name == "二号驿站").values(phone="110"))
    with pytest.raises(Conflict):
        undo_import(store, first, user="alice")


site_rows = st.lists(
    st.tuples(st.text(alphabet="驿站东西南北中一二三四ABC", min_size=1, max_size=8),
              st.floats(114.45, 114.60), st.floats(38.00, 38.08),
              st.sampled_from(["", "饮水", "热水、卫生间"])),
    min_size=1, max_size=6, unique_by=lambda r: r[0])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(base=site_rows, changes=site_rows)
def test_import_then_undo_restores_the_store_exactly(tmp_path_factory, base, changes):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'db.sqlite3'}")
    store.upgrade()
    try:
        check_import_then_undo(store, base, changes)
    finally:
        store.dispose()


def check_import_then_undo(store, base, changes) -> None:
    """Import ``base``, then ``changes`` (every other row updating an existing id, in
    GCJ-02); undoing the second import restores the store exactly. Shared with tests/pg."""
    plan = plan_import(store, csv_bytes([[n, f"{x:.6f}", f"{y:.6f}", s, ""]
                                         for n, x, y, s in base]),
                       datum="wgs84", regions=REGIONS)
    assume(plan.ok)  # e.g. two random points closer than 10 m: not this property's concern
    apply_import(store, plan, user="a")
    before = stations(store)
    ids = sorted(before)
    rows = [[ids[i] if i < len(ids) and i % 2 == 0 else "", n, f"{x:.6f}", f"{y:.6f}", s]
            for i, (n, x, y, s) in enumerate(changes)]
    plan = plan_import(store, csv_bytes(rows, header=("编号", "名称", "经度", "纬度", "服务")),
                       datum="gcj02", regions=REGIONS)
    assume(plan.ok)
    batch = apply_import(store, plan, user="b")
    assume(batch is not None)
    undo_import(store, batch, user="c")
    assert stations(store) == before


def test_problems_report_xlsx_puts_problems_beside_rows_and_writes_no_formulas(store):
    data = csv_bytes([['=HYPERLINK("http://x","y")', "114.6", "38.1", "", ""],
                      ["+cmd|' /C calc'!A0", "nan", "38.1", "", ""]])
    plan = plan_import(store, data, datum="wgs84", regions=REGIONS)
    wb = load_workbook(io.BytesIO(problems_xlsx(plan)))
    sheet = wb["标注"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("问题", "行号", "名称")
    assert rows[1][1:3] == (2, '=HYPERLINK("http://x","y")') and not rows[1][0]
    assert rows[2][1] == 3 and "经度" in rows[2][0]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row)
    assert [r[2] for r in wb["问题列表"].iter_rows(min_row=2, values_only=True)] == [
        "bad_coordinate"]


def test_template_has_headers_dropdowns_and_its_example_is_flagged(store):
    data = template_xlsx()
    wb = load_workbook(io.BytesIO(data))
    ws = wb["站点"]
    assert [c.value for c in ws[1]][:4] == ["名称", "类型", "经度", "纬度"]
    formulas = {str(dv.sqref)[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert set(formulas) == {"B", "F", "M"}  # 类型, 服务, 状态
    assert wb["选项"].sheet_state == "hidden"
    assert "GCJ-02" in "".join(str(c.value) for c in wb["说明"]["A"])
    plan = plan_import(store, data, datum="wgs84", regions=REGIONS)
    assert [(p.row, p.code) for p in plan.problems] == [(2, "bad_value")]
    ws["A2"] = "真实的驿站"
    out = io.BytesIO()
    wb.save(out)
    plan = plan_import(store, out.getvalue(), datum="wgs84", regions=REGIONS)
    assert plan.ok and plan.report()["new"] == 1


def test_migration_0004_downgrades_and_upgrades(store):
    from alembic import command
    from sqlalchemy import inspect

    from locator.store.store import alembic_config

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    assert "import_batches" not in inspect(store.engine).get_table_names()
    store.upgrade()
    assert {"import_batches", "station_history", "id_counters"} <= set(
        inspect(store.engine).get_table_names())


def test_problems_report_survives_characters_xml_cannot_hold(store):
    data = csv_bytes([["铃\x07声站", "114.6", "38.1", "", ""], ["好站", "nan", "inf", "", ""]])
    plan = plan_import(store, data, datum="wgs84", regions=REGIONS)
    assert [p.code for p in plan.problems] == ["bad_text", "bad_coordinate", "bad_coordinate"]
    wb = load_workbook(io.BytesIO(problems_xlsx(plan, lang="en")))
    rows = list(wb["annotated"].iter_rows(values_only=True))
    assert rows[1][2] == "铃声站" and "U+0007" in rows[1][0]


def test_a_geo_file_with_a_lon_column_but_no_lat_column_names_the_pointless_feature(store):
    """A GeoJSON whose properties hold 经度 but not 纬度, and one feature without a point,
    was a KeyError (a 500 on the check page); now that feature is named at its row."""
    import json

    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.51, 38.04]},
         "properties": {"名称": "有点的站", "经度": 114.51}},
        {"type": "Feature", "geometry": None, "properties": {"名称": "没有点的站", "经度": 114.5}},
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    plan = plan_import(store, data, datum="wgs84", regions=REGIONS, source_name="x.geojson")
    report = plan.report("zh")
    assert not report["ok"]
    assert [(p["row"], p["code"]) for p in report["problems"]] == [(2, "bad_coordinate")]
