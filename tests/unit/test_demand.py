"""Demand sources against hand computations: counted searches and an uploaded grid."""

from __future__ import annotations

import datetime as dt

import h3
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, select

from locator.coverage import demand
from locator.coverage import engine as coverage
from locator.errors import BadRequest, Conflict
from locator.store.models import DemandCell, SearchCount
from tests.unit.test_coverage import POPULATION, lonlat, sites, square  # noqa: F401

DAY = dt.date(2026, 11, 20)


def cell_at(dx, dy) -> str:
    lon, lat = lonlat(dx, dy)
    return h3.latlng_to_cell(lat, lon, 8)


@pytest.fixture()
def engine(square):  # noqa: F811
    """One station 5 km west of the centre of the 20 km test square."""
    return coverage.CoverageEngine(sites([(-5000, 0)]), square, population=POPULATION)


# --------------------------------------------------------------------------------------
# Search counts


def test_the_table_holds_counts_only(store):
    columns = {c["name"] for c in inspect(store.engine).get_columns("search_counts")}
    assert columns == {"cell", "day", "beyond_r", "count"}


def test_counts_add_up_and_leave_the_data_version_alone(store):
    before = store.data_version()
    key = (cell_at(0, 0), DAY, False)
    assert demand.record_counts(store, {key: 2, (cell_at(0, 0), DAY, True): 1}) == 2
    demand.record_counts(store, {key: 3})
    with store.read() as s:
        rows = {(r.cell, r.day, r.beyond_r): r.count for r in s.scalars(select(SearchCount))}
    assert rows == {key: 5, (cell_at(0, 0), DAY, True): 1}
    assert store.data_version() == before


def test_the_counter_buffers_and_flushes(store):
    counter = demand.SearchCounter(store, flush_every_s=3600, flush_at_keys=3)
    lon, lat = 114.5149, 38.0428
    assert counter.count(lon, lat, False, DAY) is False
    assert counter.count(lon, lat, False, DAY) is False
    assert counter.count(lon, lat, True, DAY) is False  # two keys so far
    assert counter.count(lon + 0.05, lat, True, DAY) is True  # a third key: flush due
    assert counter.count(121.47, 31.23, False, DAY) is False  # Shanghai: not counted
    assert counter.pending() == 4
    assert counter.flush() == 3 and counter.pending() == 0
    assert counter.flush() == 0
    cells = demand.search_cells(store, DAY, DAY).set_index("cell")
    here = h3.latlng_to_cell(lat, lon, 8)
    assert cells.loc[here, "searches"] == 3 and cells.loc[here, "beyond"] == 1
    assert cells["searches"].sum() == 4


def test_a_failed_flush_keeps_the_counts(store, tmp_path):
    from locator.store.store import Store

    broken = Store(f"sqlite:///{tmp_path / 'nothing-here.sqlite3'}")  # no tables
    counter = demand.SearchCounter(broken)
    counter.count(114.5, 38.0, False, DAY)
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        counter.flush()
    assert counter.pending() == 1
    counter.store = store
    assert counter.flush() == 1
    broken.dispose()


def test_searches_demand_against_a_hand_computation(store, engine):
    near, far, rare = cell_at(-5000, 300), cell_at(6000, 6000), cell_at(-8000, -8000)
    days = [DAY - dt.timedelta(days=i) for i in range(3)]
    demand.record_counts(store, {
        (near, days[0], False): 6, (near, days[1], False): 4,     # 10, covered
        (far, days[0], True): 25, (far, days[2], True): 5,        # 30, not covered
        (rare, days[0], True): 2,                                 # 2: left out (< 5)
        (near, DAY + dt.timedelta(days=1), False): 100,           # after the window
        (near, DAY - dt.timedelta(days=3), False): 100,           # before it
    })
    e = demand.coverage_engine(engine, store, "searches", days=3, until=DAY)
    report = e.report(1000)
    assert report["population"] == 40 and report["population_covered"] == 10
    assert report["share_demand"] == 0.25
    d = report["demand"]
    assert d["source"] == "searches" and d["unit"] == "searches" and not d["coarse_proxy"]
    assert d["searches"] == 42 and d["beyond"] == 32 and d["suppressed"] == 2
    assert d["beyond_share"] == pytest.approx(32 / 42)
    assert "2026-11-20" in d["note"]
    assert report["counties"][1]["population"] == 30  # the far cell is in the east county
    # the same window gives the same engine; the census engine is untouched
    assert demand.coverage_engine(engine, store, "searches", days=3, until=DAY) is e
    assert demand.coverage_engine(engine, store, "population") is engine
    gaps = e.gaps(1000)
    assert gaps["unmet_demand"].sum() == 30


def test_district_summary_sums_every_search(store):
    from locator.geo.regions import load_regions

    regions = load_regions()
    sjz, zjk = h3.latlng_to_cell(38.0428, 114.5149, 8), h3.latlng_to_cell(40.8244, 114.8875, 8)
    beijing = h3.latlng_to_cell(39.9042, 116.4074, 8)
    demand.record_counts(store, {(sjz, DAY, False): 3, (sjz, DAY, True): 1,
                                 (zjk, DAY, True): 1, (beijing, DAY, False): 7})
    rows = {r["district_code"]: r for r in
            demand.district_search_summary(store, regions, DAY, DAY)}
    assert rows["130100"]["searches"] == 4 and rows["130100"]["beyond_share"] == 0.25
    assert rows["130700"]["searches"] == 1  # a single search still counts in its district
    assert rows["130300"]["beyond_share"] is None
    assert rows[None]["searches"] == 7 and rows[None]["district_name"] is None
    assert len(rows) == 15


# --------------------------------------------------------------------------------------
# Uploaded grid


def test_an_h3_grid_is_checked_summed_and_stored(store, engine):
    near, far = cell_at(-5000, 100), cell_at(8000, 8000)
    fine = h3.cell_to_children(near, 10)[0]
    csv = f"h3,weight\n{near},300\n{fine},50\n{far},100\n8f754e64992d6d8,1000\n".encode()
    plan = demand.plan_grid(csv, engine.grid, source_name="grid.csv")
    assert plan.ok and plan.rows == 4 and plan.mode == "h3"
    assert plan.cells == {near: 350.0, far: 100.0}
    assert plan.outside_weight == 1000 and plan.total_weight == 1450
    upload_id = demand.apply_grid(store, plan, user="admin")
    assert demand.default_source(store) == "uploaded"
    e = demand.coverage_engine(engine, store)
    report = e.report(1000)
    assert report["population"] == 450 and report["population_covered"] == 350
    assert report["demand"]["source"] == "uploaded" and report["demand"]["upload_id"] == upload_id
    assert report["demand"]["file_name"] == "grid.csv" and "grid.csv" in report["demand"]["note"]
    assert demand.current_upload(store)["created_by"] == "admin"


def test_a_lon_lat_grid_in_gbk_with_full_width_digits(engine):
    lon, lat = lonlat(-5000, 0)
    text = f"经度,纬度,人口\n{lon},{lat},１２０\n{lon + 0.001},{lat},30\n"
    plan = demand.plan_grid(text.encode("gbk"), engine.grid)
    assert plan.ok and plan.mode == "lonlat" and sum(plan.cells.values()) == 150


def test_every_bad_row_is_reported_and_nothing_is_stored(store, engine):
    good = cell_at(0, 0)
    csv = (f"h3,weight\n{good},10\nnot-a-cell,5\n{good},-1\n{good},nan\n\n"
           f"{good},1e400\nzzz,abc\n{good},3,extra\n").encode()
    plan = demand.plan_grid(csv, engine.grid)
    assert not plan.ok and plan.cells == {}
    found = {(p["row"], p["code"]) for p in plan.problems}
    assert found == {(3, "bad_h3"), (4, "bad_weight"), (5, "bad_weight"), (7, "bad_weight"),
                     (8, "bad_weight"), (8, "bad_h3"), (9, "wrong_columns")}
    assert plan.problems_total == 7
    assert all(p["message"] for p in plan.report("en")["problems"])
    with pytest.raises(BadRequest):
        demand.apply_grid(store, plan, user="admin")
    with store.read() as s:
        assert s.scalars(select(DemandCell)).first() is None
    assert demand.current_upload(store) is None


@pytest.mark.parametrize("data, code", [
    (b"", "no_rows"),
    (b"h3,weight\n", "no_rows"),
    (b"cell_id,persons\nx,1\n", "missing_column"),
    (b"lon,weight\n115,1\n", "missing_column"),
    (b"h3,h3,weight\n", "duplicate_column"),
    (b"PK\x03\x04" + b"\x00" * 100, "unreadable_file"),      # a zip (or XLSX)
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "unreadable_file"),  # an old Excel file
    (b"h3,weight\n\x00\x00\x00", "unreadable_file"),
    (b"\xff\xfe\xfa" * 10, "unreadable_file"),
    (b"h3,weight\n" + b'"' + b"x" * 200_000 + b'",1\n', "unreadable_file"),  # huge field
])
def test_hostile_or_empty_files_are_refused(engine, data, code):
    plan = demand.plan_grid(data, engine.grid)
    assert not plan.ok and [p["code"] for p in plan.problems] == [code]


def test_size_and_row_limits(engine):
    row = f"{cell_at(0, 0)},1\n".encode()
    big = b"h3,weight\n" + row * 50
    assert demand.plan_grid(big, engine.grid, max_rows=49).problems[0]["code"] == "too_many_rows"
    assert demand.plan_grid(big, engine.grid, max_rows=50).ok
    assert demand.plan_grid(big, engine.grid, max_bytes=100).problems[0]["code"] == \
        "file_too_large"


def test_outside_hebei_only_is_a_problem(engine):
    plan = demand.plan_grid(b"lon,lat,weight\n121.47,31.23,100\n", engine.grid)
    assert not plan.ok and plan.problems[0]["code"] == "nothing_in_area"


def test_a_new_upload_replaces_the_old_and_can_be_withdrawn(store, engine):
    a = demand.plan_grid(f"h3,weight\n{cell_at(0, 0)},10\n".encode(), engine.grid,
                         source_name="a.csv")
    b = demand.plan_grid(f"h3,weight\n{cell_at(5000, 0)},20\n".encode(), engine.grid,
                         source_name="b.csv")
    first = demand.apply_grid(store, a, user="u1")
    second = demand.apply_grid(store, b, user="u2")
    with store.read() as s:
        assert {c.cell: c.weight for c in s.scalars(select(DemandCell))} == {
            cell_at(5000, 0): 20.0}
    history = demand.uploads(store)
    assert [u["id"] for u in history] == [second, first]
    assert history[1]["withdrawn_by"] == "u2" and history[0]["withdrawn_at"] is None
    assert demand.withdraw_grid(store, user="u3") == second
    assert demand.default_source(store) == "population"
    with pytest.raises(Conflict):
        demand.coverage_engine(engine, store, "uploaded")
    with pytest.raises(BadRequest):
        demand.coverage_engine(engine, store, "nonsense")


def test_search_window_is_full_days_before_today():
    first, last = demand.search_window(30, until=DAY)
    assert (first, last) == (DAY - dt.timedelta(days=29), DAY)
    first, last = demand.search_window(1)
    assert last == demand.today() - dt.timedelta(days=1) and first == last


def test_census_proxy_keeps_each_district_total_and_is_not_flat():
    from locator.geo.census import DISTRICTS
    from locator.geo.regions import load_regions

    grid = coverage.demand_grid(load_regions())
    for d in DISTRICTS:
        mine = grid.district_code == d.code
        assert grid.population[mine].sum() == pytest.approx(d.population, rel=1e-9)
        assert np.ptp(grid.population[mine]) > 0
    # the densest cell of 石家庄 lies near its centre
    sjz = np.flatnonzero(grid.district_code == "130100")
    top = sjz[np.argmax(grid.population[sjz])]
    assert abs(grid.lon[top] - 114.5149) < 0.05 and abs(grid.lat[top] - 38.0428) < 0.05
    assert grid.coarse_proxy and "60.07" in grid.note


def test_suggestions_spread_over_districts_on_the_demo_data():
    """With the flat proxy all ten suggested sites fell in 定州; not any more."""
    from locator.demo.generate import DEFAULT_DEMO_PATH
    from locator.geo.regions import load_regions
    from locator.store.store import demo_rows

    e = coverage.CoverageEngine(pd.DataFrame(demo_rows(DEFAULT_DEMO_PATH)), load_regions())
    picks = e.suggest(1000, n=10)
    assert picks["district_code"].nunique() >= 3


def test_counts_older_than_the_kept_days_are_deleted_when_counts_are_written(store):
    cell = cell_at(0, 0)
    old, edge, recent = (DAY - dt.timedelta(days=n) for n in (401, 400, 1))
    demand.record_counts(store, {(cell, old, False): 3, (cell, edge, False): 2,
                                 (cell, recent, True): 1})
    demand.record_counts(store, {(cell, DAY, False): 1}, keep_days=400, until=DAY)
    with store.read() as s:
        days = sorted(r.day for r in s.scalars(select(SearchCount)))
    assert days == [edge, recent, DAY]
    counter = demand.SearchCounter(store, keep_days=1)
    counter.count(114.5, 38.0, False, demand.today())
    counter.flush()
    with store.read() as s:
        assert min(r.day for r in s.scalars(select(SearchCount))) >= (
            demand.today() - dt.timedelta(days=1))
