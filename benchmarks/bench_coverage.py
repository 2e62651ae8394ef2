"""Province coverage at 1 km: our engine vs a naive union of Shapely buffers, one run.

    .venv/bin/python benchmarks/bench_coverage.py             # demo stations and 100,000
    .venv/bin/python benchmarks/bench_coverage.py --quick     # demo stations only
    .venv/bin/python benchmarks/bench_coverage.py --record    # also append to RESULTS.md

Engines, both asked for the province's covered area at R = 1,000 m, per county:

* ``ours``  — ``CoverageEngine.figures``: the area of the union of the geodesic circles
              per county without building the union (Voronoi pieces, exact disc areas,
              county tiles at the borders; ``coverage.disc_union_area``), plus the demand
              share on the H3 grid (kd-tree, exact geodesic in a metres-wide band);
* ``naive`` — ``shapely.union_all`` of every station's plain 1,000 m UTM buffer, then
              the union intersected with each county (area only, no demand figures).

The demand grid (H3 res 8, 356,000 cells) and the county tiles do not depend on the
stations: they are built once per process (timed separately; the grid with and without
its cache file) and are warm in the "figures" rows. Times are medians over interleaved
rounds, wall and CPU, because this machine is shared; the ratio is taken per round, then
medianed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator.coverage import counties, h3cache  # noqa: E402
from locator.coverage import engine as coverage  # noqa: E402
from locator.demo.generate import DEFAULT_DEMO_PATH  # noqa: E402
from locator.geo.index import METRIC_CRS  # noqa: E402
from locator.geo.regions import load_regions  # noqa: E402
from locator.store.store import demo_rows  # noqa: E402

RADIUS_M = 1000
FORWARD = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def demo_sites() -> pd.DataFrame:
    return pd.DataFrame(demo_rows(DEFAULT_DEMO_PATH))


def synthetic_sites(regions, n: int, seed: int = 20261129) -> pd.DataFrame:
    """``n`` active stations in Hebei: 80 % clustered around demo stations (3 km), 20 %
    uniform over the province's box; kept only where ``regions.locate`` finds a county."""
    rng = np.random.default_rng(seed)
    demo = coverage.service_stations(demo_sites())
    x0, y0 = FORWARD.transform(demo["lon"].to_numpy(), demo["lat"].to_numpy())
    back = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    w, s, e, nn = regions.districts.total_bounds
    lons, lats, codes = [], [], []
    while sum(map(len, lons)) < n:
        m = n
        pick = rng.integers(0, len(x0), m)
        lon, lat = back.transform(x0[pick] + rng.normal(0, 3000, m),
                                  y0[pick] + rng.normal(0, 3000, m))
        uniform = rng.random(m) < 0.2
        lon = np.where(uniform, rng.uniform(w, e, m), lon)
        lat = np.where(uniform, rng.uniform(s, nn, m), lat)
        found = regions.locate(lon, lat)
        ok = found["county_code"].notna().to_numpy()
        lons.append(lon[ok])
        lats.append(lat[ok])
        codes.append(found["county_code"].to_numpy()[ok])
    lon, lat = np.concatenate(lons)[:n], np.concatenate(lats)[:n]
    return pd.DataFrame({"id": [f"S{i}" for i in range(n)], "kind": "station",
                         "status": "active", "lon": lon, "lat": lat,
                         "county_code": np.concatenate(codes)[:n], "synthetic": True})


def naive_covered_km2(stations: pd.DataFrame, counties_metric) -> float:
    x, y = FORWARD.transform(stations["lon"].to_numpy(), stations["lat"].to_numpy())
    union = shapely.union_all(shapely.buffer(shapely.points(x, y), RADIUS_M, quad_segs=16))
    return float(sum(shapely.intersection(union, c).area for c in counties_metric)) / 1e6


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - t, time.process_time() - c


def run_case(label, sites, regions, counties_metric, rounds):
    stations = coverage.service_stations(sites)
    rows = {"ours": [], "naive": []}
    ours_value = naive_value = None
    for r in range(rounds):
        order = ("ours", "naive") if r % 2 == 0 else ("naive", "ours")
        for name in order:
            if name == "ours":
                engine = coverage.CoverageEngine(sites, regions)  # fresh: nothing cached
                figures, wall, cpu = timed(lambda e=engine: e.figures(RADIUS_M))
                ours_value = figures.province
            else:
                naive_value, wall, cpu = timed(
                    lambda: naive_covered_km2(stations, counties_metric))
            rows[name].append((wall, cpu))
    ratio = statistics.median(n[0] / o[0] for o, n in zip(rows["ours"], rows["naive"],
                                                          strict=True))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in rows.items()}
    return {
        "label": label, "stations": len(stations), "rounds": rounds,
        "ours_wall": med["ours"][0], "ours_cpu": med["ours"][1],
        "naive_wall": med["naive"][0], "naive_cpu": med["naive"][1], "ratio": ratio,
        "ours_km2": ours_value["covered_km2"], "naive_km2": naive_value,
        "share_area": ours_value["share_area"], "share_demand": ours_value["share_demand"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="demo stations only")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = ap.parse_args()

    load_before = os.getloadavg()[0]
    regions = load_regions()
    with tempfile.TemporaryDirectory() as tmp:
        _, grid_wall, grid_cpu = timed(lambda: h3cache.grid_cells(regions, 8, Path(tmp)))
        _, cached_wall, _ = timed(lambda: h3cache.grid_cells(regions, 8, Path(tmp)))
        grid, pop_wall, pop_cpu = timed(lambda: coverage.demand_grid(regions, cache_dir=tmp))
    warm_wall, warm_cpu = pop_wall, pop_cpu
    _, tiles_wall, tiles_cpu = timed(lambda: counties.county_geometry(regions))
    counties_metric = regions.counties.to_crs(METRIC_CRS).geometry.to_numpy()
    shapely.prepare(counties_metric)
    cases = [run_case("demo (5,790 sites)", demo_sites(), regions, counties_metric,
                      args.rounds)]
    if not args.quick:
        many = synthetic_sites(regions, 100_000)
        cases.append(run_case("synthetic 100,000", many, regions, counties_metric, 1))

    lines = [
        "| stations (active) | ours wall / CPU s | naive union wall / CPU s | naive ÷ ours "
        "| covered km² ours / naive | share area | share demand |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        lines.append(
            f"| {c['label']}: {c['stations']:,} | {c['ours_wall']:.2f} / {c['ours_cpu']:.2f} "
            f"| {c['naive_wall']:.2f} / {c['naive_cpu']:.2f} | {c['ratio']:.1f}× "
            f"| {c['ours_km2']:,.1f} / {c['naive_km2']:,.1f} "
            f"| {c['share_area']:.2%} | {c['share_demand']:.2%} |")
    lines.append("")
    lines.append(f"Demand grid (H3 res 8, once per process): built in {grid_wall:.2f} s wall "
                 f"/ {grid_cpu:.2f} s CPU, read back from its cache file in "
                 f"{cached_wall * 1000:.0f} ms; population (census proxy) and UTM centres on "
                 f"top: {warm_wall:.2f} s wall / {warm_cpu:.2f} s CPU. County tiles and "
                 f"boundary samples (once per process): {tiles_wall:.2f} s wall / "
                 f"{tiles_cpu:.2f} s CPU.")
    lines.append("")
    lines.append("Province figures on the demo data (5,741 active stations; demand: the "
                 "census, coarse urban proxy):")
    lines.append("")
    lines.append("| radius | covered km² | share of area | residents covered (proxy) "
                 "| share of demand |")
    lines.append("|---|---|---|---|---|")
    engine = coverage.CoverageEngine(demo_sites(), regions)
    for radius in coverage.RADII_M:
        p = engine.figures(radius).province
        lines.append(f"| {radius:,} m | {p['covered_km2']:,.1f} | {p['share_area']:.2%} "
                     f"| {p['population_covered']:,.0f} | {p['share_demand']:.2%} |")
    lines.append(f"Load average (1 min) at start / end: {load_before:.1f} / "
                 f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times stretch "
                 "with it, CPU times do not.")
    table = "\n".join(lines)
    print(table)
    if args.record:
        machine = (f"{platform.machine()}, {platform.processor() or 'cpu'}, "
                   f"Python {platform.python_version()}, shapely {shapely.__version__}")
        command = "python benchmarks/bench_coverage.py" + (" --quick" if args.quick else "")
        block = (f"\n### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
                 f"Command: `{command}` · machine: {machine} (2 cores, shared) · "
                 f"{args.rounds} interleaved rounds for the demo data, 1 for 100,000.\n\n"
                 f"{table}\n")
        path = ROOT / "benchmarks" / "RESULTS.md"
        text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
        if "## Coverage" not in text:
            text = text.rstrip("\n") + "\n\n## Coverage\n\n" + (
                "Province figures at R = 1 km (`benchmarks/bench_coverage.py`): our engine "
                "(per-county union of scale-corrected geodesic circles, plus the H3 demand "
                "share) against a naive `shapely.union_all` of plain UTM buffers clipped to "
                "the counties (area only). Target: province figures in ≤ 2 s.\n")
            text += block
        else:
            head, _, tail = text.partition("## Coverage")
            nxt = tail.find("\n## ")
            section, rest = (tail, "") if nxt < 0 else (tail[:nxt], tail[nxt:])
            text = head + "## Coverage" + section.rstrip("\n") + "\n" + block + rest
        path.write_text(text, encoding="utf-8")
        print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
