"""Every station through /ogc paged at limit=1000 vs the same pages of /api/v1/stations.

    .venv/bin/python benchmarks/bench_ogc.py              # 9 interleaved rounds
    .venv/bin/python benchmarks/bench_ogc.py --rounds 15

A GIS client (GDAL's OAPIF driver with ``-oo PAGE_SIZE=1000``, QGIS) reads a layer by
following ``next`` links. Both walks ask for the 5,790 demo stations, 1,000 per page (six
pages), over HTTP on loopback from the app served by Werkzeug's threaded server in this
process (the one the client tests use), with a warm snapshot:

* ``ogc`` — ``/ogc/collections/stations/items?limit=1000`` and its ``next`` links;
* ``api`` — ``/api/v1/stations?kind=station&limit=1000`` and its ``next`` links (the
  baseline: the JSON API the map's programs already use).

Rounds alternate the order; each walk's wall time is recorded, the ratio is taken per
round and then medianed. The target of issue 16 is ≤ 1 s for the whole ``ogc`` walk.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator import create_app  # noqa: E402
from tests.browser.conftest import serving  # noqa: E402

WALKS = {
    "ogc": "/ogc/collections/stations/items?limit=1000",
    "api": "/api/v1/stations?kind=station&limit=1000",
}


def walk(base: str, path: str) -> tuple[float, int, int]:
    """Seconds to follow ``path``'s next links to the end; features and pages read."""
    url, features, pages = base + path, 0, 0
    start = time.perf_counter()
    while url:
        with urlopen(Request(url, headers={"Accept": "application/geo+json"}),  # noqa: S310
                     timeout=60) as r:
            body = json.loads(r.read())
        features += len(body["features"])
        pages += 1
        url = next((urljoin(url, link["href"]) for link in body.get("links", [])
                    if link["rel"] == "next"), None)  # /api/v1 links are relative
    return time.perf_counter() - start, features, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"INSTANCE_PATH": tmp})
        assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
        with serving(app) as base:
            for path in WALKS.values():  # warm: snapshot, feature text, layers
                walk(base, path)
            times = {name: [] for name in WALKS}
            counts = {}
            for r in range(args.rounds):
                order = list(WALKS) if r % 2 == 0 else list(WALKS)[::-1]
                for name in order:
                    seconds, features, pages = walk(base, WALKS[name])
                    times[name].append(seconds)
                    counts[name] = (features, pages)
    ratios = [o / a for o, a in zip(times["ogc"], times["api"], strict=True)]
    print(f"# bench_ogc: {args.rounds} rounds, {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print("| walk | features | pages | median s | min s | max s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in times.items():
        features, pages = counts[name]
        print(f"| {name} | {features:,} | {pages} | {statistics.median(values):.3f} | "
              f"{min(values):.3f} | {max(values):.3f} |")
    print(f"\nratio ogc/api per round, median {statistics.median(ratios):.2f} "
          f"[{min(ratios):.2f}–{max(ratios):.2f}]")


if __name__ == "__main__":
    main()
