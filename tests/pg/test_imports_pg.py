"""Imports on PostgreSQL: plan, apply, undo, ids never reused, the CLI on corpus files,
and two imports of the same preview at once.

The SQLite suite's import tests run here unchanged against PostgreSQL (conftest.py).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from locator.errors import Conflict
from locator.imports.plan import apply_import, plan_import
from locator.store.models import IdCounter, ImportBatch, Station, StationHistory
from locator.store.store import Store
from tests.pg.test_store_pg import race
from tests.unit import test_imports
from tests.unit.test_imports import REGIONS, check_import_then_undo, csv_bytes, site_rows, stations
from tests.web import test_import_cli

REUSED = {
    test_imports: (
        "test_apply_creates_sites_with_county_ids_and_a_batch",
        "test_reimporting_the_same_file_with_ids_is_unchanged",
        "test_update_changes_only_the_columns_the_file_has",
        "test_apply_is_refused_when_the_data_changed_since_the_plan",
        "test_a_plan_with_problems_imports_nothing",
        "test_undo_restores_and_ids_are_never_reused",
        "test_undo_is_refused_when_a_later_import_touched_the_same_sites",
        "test_undo_is_refused_after_an_edit_outside_the_audit_trail",
        "test_migration_0004_downgrades_and_upgrades",
    ),
    test_import_cli: (
        "runner", "test_clean_file_imports_and_exit_0", "test_dry_run_changes_nothing",
        "test_problems_exit_1_and_import_nothing", "test_undo_and_batches",
    ),
}
for _module, _names in REUSED.items():
    globals().update({name: getattr(_module, name) for name in _names})


def test_two_imports_of_the_same_preview_at_once_exactly_one_applies(store):
    """Two staff apply previews made from the same data version at the same moment: one
    import lands whole, the other is refused with the "data changed" message and leaves
    nothing behind (no sites, no batch, no history, no id counter)."""
    files = [csv_bytes([[f"{who}一号", "114.5012", "38.0188", "饮水", "全天"],
                        [f"{who}二号", "114.5112", "38.0188", "", ""]]) for who in "甲乙"]
    plans = [plan_import(store, data, datum="wgs84", regions=REGIONS) for data in files]
    assert all(p.ok for p in plans) and plans[0].data_version == plans[1].data_version

    outcomes = race(2, lambda i: apply_import(store, plans[i], user=f"user{i}"))
    winners = [i for i, o in enumerate(outcomes) if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(refused) == 1, outcomes
    assert "预览" in refused[0].message

    winner = "甲乙"[winners[0]]
    got = stations(store)
    assert sorted(s["name"] for s in got.values()) == [f"{winner}一号", f"{winner}二号"]
    assert {s["updated_by"] for s in got.values()} == {f"user{winners[0]}"}
    assert store.data_version() == plans[0].data_version + 1
    last_numbers: dict[str, int] = {}
    for sid, site in got.items():
        county = site["county_code"]
        last_numbers[county] = max(last_numbers.get(county, 0), int(sid[-4:]))
    with store.read() as s:
        assert [b.created_by for b in s.query(ImportBatch)] == [f"user{winners[0]}"]
        assert s.query(StationHistory).count() == 2
        assert {c.county_code: c.last_number for c in s.query(IdCounter)} == last_numbers


def test_the_longest_values_validation_allows_fit_postgresqls_columns(store):
    """PostgreSQL enforces VARCHAR(n) (SQLite does not): every field at the length
    validation allows is stored whole."""
    from locator.imports.validate import MAX_LENGTH

    header = ("名称", "经度", "纬度", "地址", "主办单位", "电话")
    name = "驿" * MAX_LENGTH["name"]
    row = [name, "114.5012", "38.0188", "址" * MAX_LENGTH["address"],
           "办" * MAX_LENGTH["host"], "1" * MAX_LENGTH["phone"]]
    plan = plan_import(store, csv_bytes([row], header=header), datum="wgs84", regions=REGIONS)
    assert plan.ok, plan.report()["problems"]
    apply_import(store, plan, user="u" * 200)
    with store.read() as s:
        site = s.query(Station).one()
    assert site.name == name and len(site.address) == MAX_LENGTH["address"]
    assert len(site.host) == MAX_LENGTH["host"] and len(site.phone) == MAX_LENGTH["phone"]
    assert len(site.updated_by) == 80


@settings(max_examples=8, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(base=site_rows, changes=site_rows)
def test_import_then_undo_restores_the_store_exactly(pg, pg_database, base, changes):
    """The SQLite suite's property, on PostgreSQL: history's JSON records (dates, aware
    datetimes, service lists, floats) restore every site exactly."""
    pg.empty_database(pg_database)
    store = Store(pg.url(pg_database))
    try:
        check_import_then_undo(store, base, changes)
    finally:
        store.dispose()
