"""Bytes and server time of the managers' coverage page, for the province and 石家庄.

    .venv/bin/python benchmarks/bench_staff_coverage.py            # print the table
    .venv/bin/python benchmarks/bench_staff_coverage.py --record   # also append to RESULTS.md

Through Flask's test client (in process: server time only, no network), signed in as an
admin, at R = 1,000 m, over the bundled synthetic demo data. For each area, the three
requests the page makes in order: the page (``/staff/coverage``: figures and tables),
its map layers (``map.json``) and the suggested sites (``suggestions.json``).

* **cold**: the first view after a data change. Every area gets a fresh app (a new
  coverage engine, so nothing computed is reused) over the same database and demand-grid
  cache file, and the three requests are timed once, wall and CPU.
* **warm**: the same requests again, median of 5 (what every later view costs).

Bytes are the response bodies as sent with ``Accept-Encoding: gzip`` (the page is
gzipped by flask-compress, the map layers are stored gzipped) and without.
Leaflet and our JS/CSS are static files cached by the browser, listed once.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator import create_app  # noqa: E402
from locator.store import accounts  # noqa: E402

PASSWORD = "benchmark password"
AREAS = (("province", "all"), ("石家庄市", "130100"))
RADIUS_M = 1000
ROUNDS = 5


def make_app(instance: Path):
    return create_app({"INSTANCE_PATH": str(instance), "WTF_CSRF_ENABLED": False})


def client_of(app):
    client = app.test_client()
    r = client.post("/staff/login", data={"username": "bench", "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    return client


def timed(client, url: str, gz: bool = True):
    wall, cpu = time.perf_counter(), time.process_time()
    r = client.get(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    body = r.get_data()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert r.status_code == 200, (url, r.status_code)
    return wall, cpu, body, r.headers.get("Content-Encoding") == "gzip"


def urls(district: str) -> list[tuple[str, str]]:
    q = f"?district={district}&radius_m={RADIUS_M}"
    return [("page", "/staff/coverage" + q), ("map.json", "/staff/coverage/map.json" + q),
            ("suggestions.json", "/staff/coverage/suggestions.json" + q)]


def measure(base: Path) -> list[dict]:
    rows = []
    for label, district in AREAS:
        app = make_app(base)  # a fresh engine: nothing of the earlier area is reused
        client = client_of(app)
        for name, url in urls(district):
            cold_wall, cold_cpu, body, was_gz = timed(client, url)
            plain = gzip.decompress(body) if was_gz else body
            warm = [timed(client, url)[:2] for _ in range(ROUNDS)]
            rows.append({
                "area": label, "request": name, "cold_wall": cold_wall, "cold_cpu": cold_cpu,
                "warm_wall": statistics.median(w for w, _ in warm),
                "warm_cpu": statistics.median(c for _, c in warm),
                "bytes": len(plain), "gz": len(body) if was_gz else len(gzip.compress(body, 6)),
                "sent_gz": was_gz})
        app.extensions["locator"].store.dispose()
    return rows


def static_bytes(base: Path) -> list[tuple[str, int, int]]:
    client = make_app(base).test_client()
    out = []
    for url in ("/static/staff_coverage.js", "/static/staff_coverage.css", "/static/app.css",
                "/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css"):
        plain = client.get(url).get_data()
        gz = client.get(url, headers={"Accept-Encoding": "gzip"}).get_data()
        out.append((url, len(plain), len(gz)))
    return out


def kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB" if n >= 10240 else f"{n / 1024:,.1f} KB"


def table(rows, statics) -> str:
    lines = ["| area | request | cold wall / CPU s | warm wall / CPU ms | bytes | gzip |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['area']} | {r['request']} | {r['cold_wall']:.2f} / "
                     f"{r['cold_cpu']:.2f} | {r['warm_wall'] * 1000:.1f} / "
                     f"{r['warm_cpu'] * 1000:.1f} | {kb(r['bytes'])} | {kb(r['gz'])} |")
    for area in dict.fromkeys(r["area"] for r in rows):
        mine = [r for r in rows if r["area"] == area]
        lines.append(f"| **{area}** | **all three** | **{sum(r['cold_wall'] for r in mine):.2f}"
                     f" / {sum(r['cold_cpu'] for r in mine):.2f}** | "
                     f"**{sum(r['warm_wall'] for r in mine) * 1000:.1f} / "
                     f"{sum(r['warm_cpu'] for r in mine) * 1000:.1f}** | "
                     f"**{kb(sum(r['bytes'] for r in mine))}** | "
                     f"**{kb(sum(r['gz'] for r in mine))}** |")
    static = ", ".join(f"`{u.rsplit('/', 1)[1]}` {kb(g)}" for u, _, g in statics)
    return "\n".join(lines) + f"\n\nStatic files (gzip, cached by the browser): {static}.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        app = make_app(base)
        assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
        state = app.extensions["locator"]
        accounts.create_user(state.store, "bench", PASSWORD, "admin", None,
                             tuple(state.regions().district_names()))
        state.store.dispose()
        load = os.getloadavg()
        rows = measure(base)
        statics = static_bytes(base)
        load_after = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    import shapely

    text = (f"### {stamp}\n\nCommand: `python benchmarks/bench_staff_coverage.py` · machine: "
            f"{platform.machine()}, Python {platform.python_version()}, shapely "
            f"{shapely.__version__} ({os.cpu_count()} cores, shared; 1-minute load "
            f"{load[0]:.1f} before, {load_after[0]:.1f} after) · R = {RADIUS_M:,} m, demo data, "
            f"warm = median of {ROUNDS}.\n\n" + table(rows, statics))
    print(text)
    if args.record:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
