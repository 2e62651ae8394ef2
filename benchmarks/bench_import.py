"""How long a 10,000-row XLSX takes to validate and preview (target: <= 5 s).

    .venv/bin/python benchmarks/bench_import.py            # 10,000 rows, 5 rounds
    .venv/bin/python benchmarks/bench_import.py --rows 2000 --rounds 3

One run:

1. makes a temporary SQLite store loaded with the bundled demo data (5,790 + 200 sites,
   so duplicate checks have real neighbours) and writes a realistic XLSX: a title row, the
   Chinese headers, ``--rows`` stations spread over Hebei's districts (WGS-84 points near
   demo sites, moved 150-900 m so that they are new), services, hours in staff style
   (``全天``, ``08:00-20:00`` ...), phones, declared district and county;
2. times, interleaved per round, ``plan_import`` (read + validate every row + plan against
   the store: what the staff preview needs) and, as the baseline a reader of this file can
   relate to, ``pandas.read_excel`` of the same bytes (openpyxl, no validation at all);
   then applies the last plan once (one transaction) and undoes it once;
3. times the same file through the staff web pages (``/staff/imports``: upload, then the
   check page with its summary, tables and map data), as a signed-in admin of a Flask app
   over the same data, in the same rounds;
4. prints the median of each, the per-round ratio ours/baseline (median), and a Markdown
   table for ``benchmarks/RESULTS.md``; exits 1 when the median preview exceeds 5 s or the
   file did not validate cleanly.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator.geo.regions import load_regions  # noqa: E402
from locator.imports.plan import apply_import, plan_import, undo_import  # noqa: E402
from locator.store.store import Store, load_demo  # noqa: E402

TARGET_S = 5.0
HOURS = ["全天", "08:00-20:00", "周一至周五 08:30-17:30", "Mo-Su 07:00-21:00", "24小时",
         "工作日 9:00-17:00，周末 10:00-16:00"]
SERVICES = ["饮水、热水、卫生间", "饮水,热水,手机充电,休息", "饮水|微波炉|急救药箱",
            "热水；空调；供暖", "哺乳间、冰箱、尿布台", "饮水"]


def make_xlsx(rows: int, seed: int = 7) -> bytes:
    from openpyxl import Workbook

    demo = json.loads((ROOT / "geodata" / "demo_sites.geojson").read_text(encoding="utf-8"))
    feats = demo["features"]
    rng = np.random.default_rng(seed)
    regions = load_regions()
    # A normal workbook, as Excel writes it: shared strings and a <dimension>.
    wb = Workbook()
    ws = wb.active
    ws.title = "站点"
    ws.append(["河北省工会驿站名单（基准测试）"])
    ws.append(["名称", "类型", "经度", "纬度", "地址", "服务", "开放时间", "主办单位", "电话",
               "所属地区", "区县"])
    # Keep every point at least ~50 m from the demo sites and from each other, so the
    # file is clean (no duplicates): a grid of 0.0005° cells, neighbours included.
    taken = set()

    def cell(lon, lat):
        return round(lon / 0.0005), round(lat / 0.0005)

    def free(lon, lat):
        cx, cy = cell(lon, lat)
        return not any((cx + dx, cy + dy) in taken for dx in (-1, 0, 1) for dy in (-1, 0, 1))

    for f in feats:
        taken.add(cell(*f["geometry"]["coordinates"]))
    made = 0
    while made < rows:
        f = feats[int(rng.integers(len(feats)))]
        lon0, lat0 = f["geometry"]["coordinates"]
        bearing = rng.uniform(0, 2 * np.pi)
        dist_m = rng.uniform(150, 900)
        lon = lon0 + dist_m * np.sin(bearing) / (111_320 * np.cos(np.radians(lat0)))
        lat = lat0 + dist_m * np.cos(bearing) / 110_540
        place = regions.locate_one(lon, lat)
        if place is None or not free(lon, lat):
            continue
        taken.add(cell(lon, lat))
        made += 1
        ws.append([
            f"基准驿站{made:05d}号", "驿站", round(lon, 6), round(lat, 6),
            f"{place['district_name']}{place['county_name']}测试路{made}号",
            SERVICES[made % len(SERVICES)] if made % 6 != 4 else "饮水、热水",
            HOURS[made % len(HOURS)], "某某单位工会", f"0311-{80000000 + made}",
            place["district_name"], place["county_name"],
        ])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def web_round(client, data: bytes) -> float:
    """Seconds from posting the upload to receiving the rendered check page."""
    from tests.conftest import form_token

    token = form_token(client, "/staff/imports")
    start = time.perf_counter()
    r = client.post("/staff/imports", data={
        "csrf_token": token, "datum": "wgs84",
        "file": (io.BytesIO(data), "10k.xlsx")}, content_type="multipart/form-data")
    assert r.status_code == 303, r.status_code
    page = client.get(r.headers["Location"])
    elapsed = time.perf_counter() - start
    assert page.status_code == 200 and "新增".encode() in page.data
    return elapsed


def web_client(db: Path, tmp: str):
    """A signed-in admin's test client of an app over a copy of ``db``."""
    import sqlite3

    from locator import create_app
    from locator.store import accounts
    from tests.conftest import form_token

    instance = Path(tmp) / "instance"
    instance.mkdir()
    # the backup API copies what is still in the write-ahead log, too
    with sqlite3.connect(db) as src, sqlite3.connect(instance / "locator.sqlite3") as dst:
        src.backup(dst)
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})
    state = app.extensions["locator"]
    accounts.create_user(state.store, "bench", "bench-password-1", "admin", None,
                         tuple(state.regions().district_names()))
    client = app.test_client()
    client.post("/staff/login", data={"csrf_token": form_token(client, "/staff/login"),
                                      "username": "bench", "password": "bench-password-1"})
    return app, client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import pandas as pd

    data = make_xlsx(args.rows)
    regions = load_regions()
    ours, baseline, ratios, cpu, web = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        store.upgrade()
        load_demo(store, ROOT / "geodata" / "demo_sites.geojson")
        plan = plan_import(store, data, datum="wgs84", regions=regions)  # warm-up
        report = plan.report()
        app, client = web_client(Path(tmp) / "bench.sqlite3", tmp)
        web_round(client, data)  # warm-up
        for r in range(args.rounds):
            order = ("ours", "base") if r % 2 == 0 else ("base", "ours")
            t = {}
            for which in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                if which == "ours":
                    plan = plan_import(store, data, datum="wgs84", regions=regions)
                    cpu.append(time.process_time() - start_cpu)
                else:
                    pd.read_excel(io.BytesIO(data), header=1, dtype=str, keep_default_na=False)
                t[which] = time.perf_counter() - start
            web.append(web_round(client, data))
            ours.append(t["ours"])
            baseline.append(t["base"])
            ratios.append(t["ours"] / t["base"])
        # then, once each: applying the last plan (one transaction) and undoing it
        start = time.perf_counter()
        batch = apply_import(store, plan, user="bench")
        apply_s = time.perf_counter() - start
        start = time.perf_counter()
        undo_import(store, batch, user="bench")
        undo_s = time.perf_counter() - start
        store.dispose()
        app.extensions["locator"].store.dispose()

    med, base_med, ratio = (statistics.median(x) for x in (ours, baseline, ratios))
    print(f"file: {args.rows:,} rows, {len(data) / 1e6:.2f} MB XLSX; report ok={report['ok']} "
          f"new={report['new']} problems={len(report['problems'])}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average after the run {load}")
    print()
    print(f"| step | median of {args.rounds} rounds | per round |")
    print("|---|---|---|")
    print(f"| `plan_import` (read + validate + preview) | {med:.2f} s | "
          + ", ".join(f"{x:.2f}" for x in ours) + " |")
    print(f"| baseline: `pandas.read_excel` (read only) | {base_med:.2f} s | "
          + ", ".join(f"{x:.2f}" for x in baseline) + " |")
    print(f"| CPU time of `plan_import` | {statistics.median(cpu):.2f} s | "
          + ", ".join(f"{x:.2f}" for x in cpu) + " |")
    print(f"| ratio ours / baseline (wall, per round) | {ratio:.2f} | |")
    print(f"| staff web page: upload + check page (summary, tables, map) | "
          f"{statistics.median(web):.2f} s | " + ", ".join(f"{x:.2f}" for x in web) + " |")
    print(f"| then `apply_import` (one transaction), once | {apply_s:.2f} s | |")
    print(f"| then `undo_import` of that batch, once | {undo_s:.2f} s | |")
    ok = med <= TARGET_S and statistics.median(web) <= TARGET_S and report["ok"]
    print()
    print(("PASS" if ok else "FAIL") + f": median {med:.2f} s, web page "
          f"{statistics.median(web):.2f} s (target <= {TARGET_S:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
