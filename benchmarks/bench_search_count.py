"""What counting searches costs the nearest API: counting on vs off, in process, one run.

    .venv/bin/python benchmarks/bench_search_count.py             # 5 rounds x 2,000 requests
    .venv/bin/python benchmarks/bench_search_count.py --record    # also append to RESULTS.md

Two apps over copies of the same demo database (``locator init``), one with
``COUNT_SEARCHES=1`` (the default) and one with ``0``, answer the same
``GET /api/v1/nearest?lat=&lon=&k=5`` requests through Flask's test client (80 % of the
points within 2 km of a city centre, 20 % anywhere in Hebei), in interleaved rounds whose
order alternates. Counting includes its flushes (every 5 s, after the response, in the
same thread, as in production). Reported: median µs per request per app, the ratio
on/off per round (medianed), and the counter's own ``count()`` call alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator import create_app  # noqa: E402
from locator.data.demo import DISTRICTS  # noqa: E402


def points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([(d.centre_lon, d.centre_lat) for d in DISTRICTS])
    pick = centres[rng.integers(0, len(centres), n)]
    near = pick + rng.normal(0, 0.012, (n, 2))
    anywhere = np.column_stack([rng.uniform(113.6, 119.7, n), rng.uniform(36.1, 42.5, n)])
    return np.where((rng.random(n) < 0.8)[:, None], near, anywhere)


def run(client, pts) -> float:
    t = time.perf_counter()
    for lon, lat in pts:
        r = client.get(f"/api/v1/nearest?lat={lat:.6f}&lon={lon:.6f}&k=5")
        r.close()
        assert r.status_code == 200
    return (time.perf_counter() - t) / len(pts) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "on"
        app_on = create_app({"INSTANCE_PATH": str(first)})
        assert app_on.test_cli_runner().invoke(args=["init"]).exit_code == 0
        app_on.extensions["locator"].store.dispose()
        second = Path(tmp) / "off"
        second.mkdir()
        shutil.copyfile(first / "locator.sqlite3", second / "locator.sqlite3")
        app_off = create_app({"INSTANCE_PATH": str(second), "COUNT_SEARCHES": "0"})
        apps = {"on": app_on.test_client(), "off": app_off.test_client()}
        warm = points(300, 1)
        for client in apps.values():
            run(client, warm)
        times = {"on": [], "off": []}
        for r in range(args.rounds):
            pts = points(args.requests, 100 + r)
            for name in (("on", "off") if r % 2 == 0 else ("off", "on")):
                times[name].append(run(apps[name], pts))
        counter = app_on.extensions["locator_searches"]
        counter.flush()
        pts = points(20000, 7)
        day = datetime.now(UTC).date()
        t = time.perf_counter()
        for lon, lat in pts:
            counter.count(float(lon), float(lat), False, day)
        count_us = (time.perf_counter() - t) / len(pts) * 1e6
        t = time.perf_counter()
        keys = counter.flush()
        flush_ms = (time.perf_counter() - t) * 1e3
        for a in (app_on, app_off):
            a.extensions["locator"].store.dispose()
    ratio = statistics.median(on / off for on, off in zip(times["on"], times["off"],
                                                           strict=True))
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    each = {k: ", ".join(f"{v:,.0f}" for v in times[k]) for k in times}
    table = "\n".join([
        "| counting | µs per nearest request (median of rounds) | rounds |",
        "|---|---|---|",
        f"| off (`COUNT_SEARCHES=0`) | {off:,.0f} | {each['off']} |",
        f"| on (default) | {on:,.0f} | {each['on']} |",
        "",
        f"Ratio on ÷ off per round, medianed: **{ratio:.3f}** "
        f"({(on - off):+.0f} µs per request). The counter's `count()` alone: "
        f"{count_us:.1f} µs per search; one flush of {keys:,} distinct keys in one "
        f"transaction: {flush_ms:.0f} ms.",
        f"Load average (1 min) at start / end: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores.",
    ])
    print(table)
    if args.record:
        machine = (f"{platform.machine()}, Python {platform.python_version()}")
        block = (f"\n### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
                 f"Command: `python benchmarks/bench_search_count.py` · {machine} (2 cores, "
                 f"shared) · {args.rounds} interleaved rounds × {args.requests:,} requests "
                 "through Flask's test client.\n\n" + table + "\n")
        path = ROOT / "benchmarks" / "RESULTS.md"
        text = path.read_text(encoding="utf-8")
        head = "## Search counting on the nearest API"
        if head not in text:
            text = text.rstrip("\n") + f"\n\n{head}\n\n" + (
                "What counting searches (per H3 res-8 cell, day and beyond-1 km flag; "
                "counts only) adds to `GET /api/v1/nearest`, in process, side by side with "
                "counting off (`benchmarks/bench_search_count.py`).\n")
            text += block
        else:
            before, _, after = text.partition(head)
            nxt = after.find("\n## ")
            section, rest = (after, "") if nxt < 0 else (after[:nxt], after[nxt:])
            text = before + head + section.rstrip("\n") + "\n" + block + rest
        path.write_text(text, encoding="utf-8")
        print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
