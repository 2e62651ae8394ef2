"""Staff 站点管理 on the demo data (5,990 sites): the list and a save, side by side.

    .venv/bin/python benchmarks/bench_staff_stations.py [--rounds 7]

* **list** — ``editing.list_stations`` (one SQL count + one page of 50) against the plain
  way: read every site and filter in Python (the tests' oracle), for four typical queries.
* **save** — ``editing.save_station`` (validation with the duplicate rule against the sites
  within 0.01° of the point) against the same save validated against every site in the
  store (what the import does for a whole file).

A fresh copy of the demo database is made in a temporary folder (``locator init``). Times
are medians of interleaved rounds (wall clock; this machine is shared), the ratio taken
per round, then medianed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from locator.editing import stations as editing  # noqa: E402
from locator.imports.plan import read_state  # noqa: E402
from locator.store.models import Station, User  # noqa: E402

ADMIN = User(username="bench", role="admin", district_code=None)
SJZ = User(username="bench-sjz", role="district", district_code="130100")
QUERIES = [(ADMIN, {}), (ADMIN, {"q": "驿站", "stale": True}), (ADMIN, {"q": "hb1301"}),
           (SJZ, {"q": "路"})]


def plain_list(store, user, q="", stale=False):
    """Every row read, then filtered and paged in Python."""
    with store.read() as s:
        rows = s.execute(select(Station.id, Station.name, Station.address, Station.host,
                                Station.district_code, Station.verified_at)).all()
    today = editing.today()
    text = editing.search_text(q).lower()
    hits = sorted(r.id for r in rows
                  if user.can_see(r.district_code)
                  and (not stale or editing.is_stale(r.verified_at, today))
                  and (not text or any(text in (v or "").lower()
                                       for v in (r.name, r.address, r.id, r.host))))
    return len(hits), hits[:editing.PAGE_SIZE]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from locator import create_app

    instance = tempfile.mkdtemp(prefix="bench-staff-")
    app = create_app({"INSTANCE_PATH": instance})
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    state = app.extensions["locator"]
    store, regions = state.store, state.regions()
    sid = editing.list_stations(store, SJZ).rows[0].id
    counter = iter(range(10**9))

    nearby = editing.nearby_sites

    def everything(store, lon, lat, station_id):  # the baseline's candidates: every site
        return read_state(store)[1]

    def save(full: bool):
        inp = editing.form_input(editing.get_station(store, ADMIN, sid))
        inp.name = f"基准测试驿站{next(counter)}"
        editing.nearby_sites = everything if full else nearby
        try:
            editing.save_station(store, ADMIN, sid, inp, regions=regions)
        finally:
            editing.nearby_sites = nearby

    rows = {"list (4 queries)": ([], [], []), "save": ([], [], [])}
    for r in range(args.rounds + 1):  # round 0 warms up
        order = (0, 1) if r % 2 else (1, 0)
        results = {}
        for which in order:
            if which == 0:
                results[0] = sum(timed(lambda u=u, kw=kw: editing.list_stations(store, u, **kw))
                                 for u, kw in QUERIES)
            else:
                results[1] = sum(timed(lambda u=u, kw=kw: plain_list(store, u, **kw))
                                 for u, kw in QUERIES)
        if r:
            ours, base, ratio = rows["list (4 queries)"]
            ours.append(results[0]), base.append(results[1])
            ratio.append(results[0] / results[1])
        if r % 2:
            ours_ms, base_ms = timed(lambda: save(False)), timed(lambda: save(True))
        else:
            base_ms, ours_ms = timed(lambda: save(True)), timed(lambda: save(False))
        if r:
            ours, base, ratio = rows["save"]
            ours.append(ours_ms), base.append(base_ms), ratio.append(ours_ms / base_ms)
    print(f"{'':18} {'ours ms':>9} {'baseline ms':>12} {'ratio':>7}   ({args.rounds} rounds)")
    for name, (ours, base, ratio) in rows.items():
        print(f"{name:18} {statistics.median(ours):9.1f} {statistics.median(base):12.1f} "
              f"{statistics.median(ratio):7.2f}")
    state.store.dispose()


if __name__ == "__main__":
    main()
