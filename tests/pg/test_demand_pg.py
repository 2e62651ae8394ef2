"""Search counts and uploaded demand grids on PostgreSQL: the counts' upsert has a
PostgreSQL branch of its own (``INSERT ... ON CONFLICT``). The tests are the SQLite suite's,
run again here against the throwaway server (fixtures from tests/pg/conftest.py)."""

from __future__ import annotations

from tests.web import test_demand_web

REUSED = ("app", "test_searches_are_counted_per_cell_day_and_flag",
          "test_nothing_but_counts_reaches_the_database",
          "test_counts_are_flushed_after_the_response_once_due",
          "test_an_uploaded_grid_becomes_the_default")
globals().update({name: getattr(test_demand_web, name) for name in REUSED})
