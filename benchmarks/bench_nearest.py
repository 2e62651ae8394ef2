"""Nearest-site engines side by side, in one process and one run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_nearest.py            # 5,790 and 1,000,000 stations
    .venv/bin/python benchmarks/bench_nearest.py --quick    # 5,790 only, fewer queries

Engines, all asked for the k = 5 nearest of the same queries:

* ``ours``         — locator.geo.index.SiteIndex: one STRtree (EPSG:32650) over all district
                     layers, exact geodesic (WGS-84 ellipsoid, Karney) ranking;
* ``per_district`` — the alternative the issue names: one SiteIndex per district, searched
                     border-aware (own district, then every district whose sites' bounding
                     box is nearer than the current k-th); exact too;
* ``ckdtree``      — scipy cKDTree on 3-D unit vectors (exact great-circle ranking);
* ``balltree``     — scikit-learn BallTree(metric="haversine");
* ``brute``        — numpy haversine over every station;
* ``strtree_deg``  — a naive Shapely STRtree on raw lon/lat degrees (ranks by degrees).

Correctness is judged against a geodesic brute force (pyproj.Geod over every station): the
share of queries whose top-5 ids agree, ties broken by position. Times are medians over
interleaved rounds (order reversed every other round); ratios are computed per round and
then medianed, because this machine is noisy. Memory is the RSS growth while building.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from scipy.spatial import cKDTree  # imported up front: import time is not build time
from sklearn.neighbors import BallTree as SkBallTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from locator.demo.generate import DEFAULT_DEMO_PATH  # noqa: E402
from locator.geo.index import S_MAX, SiteIndex  # noqa: E402
from locator.geo.regions import load_regions  # noqa: E402
from locator.store.store import demo_rows  # noqa: E402

GEOD = Geod(ellps="WGS84")
R_EARTH = 6_371_008.8
K = 5
OUT = ROOT / "benchmarks" / "out"


# --- data --------------------------------------------------------------------------------

def demo_stations() -> pd.DataFrame:
    rows = pd.DataFrame(demo_rows(DEFAULT_DEMO_PATH))
    rows = rows[rows["kind"] == "station"].copy()
    rows["status"] = "active"  # every engine sees the same 5,790 points
    return rows.reset_index(drop=True)


def synthetic_stations(n: int, base: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """n stations clustered like the demo: a demo station plus ~3 km of Gaussian scatter,
    kept inside Hebei's counties (district taken from the point)."""
    rng = np.random.default_rng(seed)
    regions = load_regions()
    out = []
    got = 0
    while got < n:
        m = int((n - got) * 1.15) + 100
        pick = rng.integers(0, len(base), m)
        lon = base["lon"].to_numpy()[pick] + rng.normal(0, 0.035, m)
        lat = base["lat"].to_numpy()[pick] + rng.normal(0, 0.027, m)
        where = regions.locate(lon, lat)
        ok = where["district_code"].notna().to_numpy()
        out.append(pd.DataFrame({"lon": lon[ok], "lat": lat[ok],
                                 "district_code": where["district_code"][ok].to_numpy()}))
        got += int(ok.sum())
    df = pd.concat(out, ignore_index=True).iloc[:n]
    df["id"] = [f"S{i:07d}" for i in range(n)]
    df["kind"] = "station"
    df["status"] = "active"
    df["services"] = [["drinking_water"]] * n
    df["opening_hours"] = "24/7"
    return df


def make_queries(stations: pd.DataFrame, n: int, seed: int = 11) -> np.ndarray:
    """Half near stations (where couriers are), half uniform over Hebei's bounding box."""
    rng = np.random.default_rng(seed)
    half = n // 2
    pick = rng.integers(0, len(stations), half)
    near = np.column_stack([stations["lon"].to_numpy()[pick] + rng.normal(0, 0.01, half),
                            stations["lat"].to_numpy()[pick] + rng.normal(0, 0.008, half)])
    uniform = np.column_stack([rng.uniform(113.5, 119.8, n - half),
                               rng.uniform(36.1, 42.5, n - half)])
    q = np.vstack([near, uniform])
    rng.shuffle(q)
    return q


# --- engines -----------------------------------------------------------------------------

def unit_vectors(lon, lat):
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


class Ours:
    name = "ours"

    def __init__(self, st):
        self.index = SiteIndex(st)

    def one(self, lon, lat):
        return self.index.nearest(lon, lat, k=K).positions


class PerDistrict:
    """Per-district trees with a border-aware search (exact, same refinement as ours)."""

    name = "per_district"

    def __init__(self, st):
        self.regions = load_regions()
        self.parts = {}
        for code, group in st.groupby("district_code"):
            idx = SiteIndex(group.reset_index())
            self.parts[code] = (idx, group.index.to_numpy(),
                                (group["lon"].min(), group["lat"].min(),
                                 group["lon"].max(), group["lat"].max()))

    @staticmethod
    def _box_m(lon, lat, box):
        """Geodesic lower bound (m) from the point to a lon/lat box: distance to the box's
        nearest point, shrunk by S_MAX for safety."""
        w, s, e, n = box
        clon, clat = min(max(lon, w), e), min(max(lat, s), n)
        return GEOD.inv(lon, lat, clon, clat)[2] / S_MAX

    def one(self, lon, lat):
        here = self.regions.locate_one(lon, lat)
        order = sorted(self.parts, key=lambda c: (c != (here or {}).get("district_code"),
                                                  self._box_m(lon, lat, self.parts[c][2])))
        best_d, best_p = np.empty(0), np.empty(0, np.int64)
        for code in order:
            idx, original, box = self.parts[code]
            if len(best_d) == K and self._box_m(lon, lat, box) > best_d[-1]:
                continue
            res = idx.nearest(lon, lat, k=K)
            d = np.concatenate([best_d, res.distance_m])
            p = np.concatenate([best_p, original[res.positions]])
            o = np.lexsort((p, d))[:K]
            best_d, best_p = d[o], p[o]
        return best_p


class CKDTree:
    name = "ckdtree"

    def __init__(self, st):
        self.tree = cKDTree(unit_vectors(st["lon"].to_numpy(), st["lat"].to_numpy()))

    def one(self, lon, lat):
        return self.tree.query(unit_vectors(np.array([lon]), np.array([lat]))[0], k=K)[1]

    def many(self, q):
        return self.tree.query(unit_vectors(q[:, 0], q[:, 1]), k=K)[1]


class BallTree:
    name = "balltree"

    def __init__(self, st):
        self.tree = SkBallTree(np.radians(st[["lat", "lon"]].to_numpy()), metric="haversine")

    def one(self, lon, lat):
        return self.tree.query(np.radians([[lat, lon]]), k=K)[1][0]

    def many(self, q):
        return self.tree.query(np.radians(q[:, ::-1]), k=K)[1]


class Brute:
    name = "brute"

    def __init__(self, st):
        self.lon = np.radians(st["lon"].to_numpy())
        self.lat = np.radians(st["lat"].to_numpy())
        self.coslat = np.cos(self.lat)

    def one(self, lon, lat):
        lon, lat = np.radians(lon), np.radians(lat)
        a = (np.sin((self.lat - lat) / 2) ** 2
             + np.cos(lat) * self.coslat * np.sin((self.lon - lon) / 2) ** 2)
        part = np.argpartition(a, K)[:K]
        return part[np.argsort(a[part])]


class StrtreeDegrees:
    """The trap: an STRtree on raw lon/lat, nearest by degrees (what not to do)."""

    name = "strtree_deg"

    def __init__(self, st):
        self.xy = st[["lon", "lat"]].to_numpy()
        self.tree = shapely.STRtree(shapely.points(self.xy))

    def one(self, lon, lat):
        p = shapely.Point(lon, lat)
        r = 0.02
        while True:
            cand = self.tree.query(p, predicate="dwithin", distance=r)
            if len(cand) >= K:
                break
            r *= 2
        d = np.hypot(self.xy[cand, 0] - lon, self.xy[cand, 1] - lat)
        return cand[np.argsort(d, kind="stable")[:K]]


ENGINES = [Ours, PerDistrict, CKDTree, BallTree, Brute, StrtreeDegrees]


# --- measuring ---------------------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def oracle(st, q):
    lon, lat = st["lon"].to_numpy(), st["lat"].to_numpy()
    out = []
    for qlon, qlat in q:
        d = GEOD.inv(np.full_like(lon, qlon), np.full_like(lat, qlat), lon, lat)[2]
        part = np.argpartition(d, K)[:K + 1]
        order = part[np.lexsort((part, d[part]))][:K]
        out.append(set(order.tolist()))
    return out


def time_single(engine, q) -> np.ndarray:
    t = np.empty(len(q))
    one = engine.one
    for i, (lon, lat) in enumerate(q):
        t0 = time.perf_counter_ns()
        one(lon, lat)
        t[i] = time.perf_counter_ns() - t0
    return t / 1e3  # µs


def time_batch(engine, q) -> float:
    t0 = time.perf_counter()
    if hasattr(engine, "many"):
        engine.many(q)
    else:
        for lon, lat in q:
            engine.one(lon, lat)
    return len(q) / (time.perf_counter() - t0)


def run(n_label, stations, q_single, q_batch, q_check, rounds, brute_limit, engines=None):
    print(f"\n## n = {len(stations):,} stations", flush=True)
    built, build_ms, mem = {}, {}, {}
    for cls in (engines or ENGINES):
        gc.collect()
        before = rss_mb()
        t0 = time.perf_counter()
        built[cls.name] = cls(stations)
        build_ms[cls.name] = (time.perf_counter() - t0) * 1e3
        mem[cls.name] = rss_mb() - before
        print(f"  built {cls.name}: {build_ms[cls.name]:.1f} ms, +{mem[cls.name]:.1f} MB",
              flush=True)
    truth = oracle(stations, q_check) if len(q_check) else []
    correct = {}
    for name, eng in built.items():
        qc = q_check if name != "brute" else q_check[:brute_limit]
        got = [set(np.asarray(eng.one(lon, lat)).tolist()) for lon, lat in qc]
        correct[name] = (float(np.mean([g == t for g, t in zip(got, truth, strict=False)]))
                         if len(truth) else float("nan"))
    p50 = {n: [] for n in built}
    p99 = {n: [] for n in built}
    thr = {n: [] for n in built}
    names = list(built)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            eng = built[name]
            qs = q_single if name != "brute" else q_single[:brute_limit]
            qb = q_batch if name != "brute" else q_batch[:brute_limit]
            t = time_single(eng, qs)
            p50[name].append(float(np.percentile(t, 50)))
            p99[name].append(float(np.percentile(t, 99)))
            thr[name].append(time_batch(eng, qb))
    ratio = {n: statistics.median(a / b for a, b in zip(p50[n], p50["ckdtree"], strict=True))
             for n in names} if "ckdtree" in p50 else {n: float("nan") for n in names}
    rows = []
    for n in names:
        rows.append({
            "method": n, "build_ms": build_ms[n], "rss_mb": mem[n],
            "p50_us": statistics.median(p50[n]), "p99_us": statistics.median(p99[n]),
            "p50_ratio_vs_ckdtree": ratio[n],
            "batch_qps": statistics.median(thr[n]),
            "top5_equal_geodesic": correct[n],
        })
    return {"n": len(stations), "label": n_label, "rounds": rounds, "rows": rows,
            "queries": {"single": len(q_single), "batch": len(q_batch),
                        "check": len(q_check)}}


def markdown(result) -> str:
    lines = [f"#### n = {result['n']:,} stations ({result['label']}; {result['rounds']} rounds; "
             f"{result['queries']['single']:,} single / {result['queries']['batch']:,} batch "
             f"queries; correctness on {result['queries']['check']:,})", "",
             "| method | build (ms) | RSS (MB) | single p50 (µs) | p99 (µs) | p50 / cKDTree "
             "| batch (q/s) | top-5 = geodesic |", "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['method']} | {r['build_ms']:.1f} | {r['rss_mb']:.1f} | "
                     f"{r['p50_us']:.1f} | {r['p99_us']:.1f} | {r['p50_ratio_vs_ckdtree']:.2f} "
                     f"| {r['batch_qps']:,.0f} | {r['top5_equal_geodesic'] * 100:.2f} % |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,790 stations only, fewer queries")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big", type=int, default=1_000_000, help="size of the large set")
    ap.add_argument("--big-engines", default="",
                    help="comma-separated engines to run at the large size (default: all)")
    ap.add_argument("--big-check", type=int, default=100,
                    help="queries checked against the geodesic brute force at the large size "
                         "(each costs a full pass over every station)")
    args = ap.parse_args()
    base = demo_stations()
    results = []
    nq = 2_000 if args.quick else 10_000
    q = make_queries(base, nq)
    results.append(run("demo stations, clustered", base, q[:2000], q, q[:2000],
                       args.rounds, brute_limit=2000))
    if not args.quick:
        big = synthetic_stations(args.big, base)
        qb = make_queries(big, 10_000, seed=12)
        chosen = [c for c in ENGINES if not args.big_engines
                  or c.name in args.big_engines.split(",")]
        results.append(run("synthetic, clustered like the demo", big, qb[:1000], qb[:5000],
                           qb[:args.big_check], max(2, args.rounds // 2), brute_limit=100,
                           engines=chosen))
        small, large = (next(r for r in res["rows"] if r["method"] == "ours")
                        for res in results)
        print(f"\nours p50 at {args.big:,} / at 5,790: {large['p50_us'] / small['p50_us']:.2f}")
    text = "\n\n".join(markdown(r) for r in results)
    print("\n" + text)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                         if line.startswith("model name")), "?"),
            "cores": __import__("os").cpu_count()}
    (OUT / "nearest.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"\n{meta}")


if __name__ == "__main__":
    main()
