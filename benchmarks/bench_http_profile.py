"""Where the time of one ``/api/v1/nearest`` request goes (a report, not a benchmark gate).

Usage::

    .venv/bin/python benchmarks/bench_http_profile.py [-n 2000] [--repeats 5]
    .venv/bin/python benchmarks/bench_http_profile.py --live --py-spy PATH [--seconds 8]

In-process (default), on a fresh instance with the bundled demo sites and the same random
points as ``wrk_nearest.lua`` (80 % near a city centre, 20 % over Hebei's bbox):

* µs per request through the WSGI app with prebuilt environs (what gunicorn hands Flask),
  for ``/healthz`` and ``/api/v1/nearest``, and through Flask's test client;
* µs per step of the view, each step timed alone over the same points: query-string
  parsing, parameter validation, datum, snapshot + clock, the engine, JSON assembly and the
  ``Response``; and, timed inside the real requests, the view as a whole and the engine,
  so that the rest is Flask/Werkzeug around the view;
* cProfile over the WSGI requests: the top functions and the time per package.

``--live`` starts ``gunicorn -w 2`` as ``bench_http.py`` does, drives ``/api/v1/nearest``
with wrk, and samples both workers with py-spy (``pip install py-spy``; give the binary
with ``--py-spy``) to split a real request between gunicorn, Flask and the view.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CENTRES = [(38.0428, 114.5149), (39.6305, 118.1802), (39.9354, 119.6005),
           (36.6256, 114.5391), (37.0706, 114.5044), (38.8739, 115.4646),
           (40.8244, 114.8875), (40.9515, 117.9634), (38.3045, 116.8388),
           (39.5380, 116.6838), (37.7390, 115.6709)]


def points(n: int, seed: int = 1) -> list[tuple[float, float]]:
    """(lat, lon) drawn like wrk_nearest.lua."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.8:
            clat, clon = rng.choice(CENTRES)
            r = 2000.0 * math.sqrt(rng.random())
            t = 2 * math.pi * rng.random()
            out.append((clat + r * math.cos(t) / 111320.0,
                        clon + r * math.sin(t) / (111320.0 * math.cos(math.radians(clat)))))
        else:
            out.append((36.1 + 6.4 * rng.random(), 113.5 + 6.3 * rng.random()))
    return out


def per_call_us(fn, items, repeats: int) -> tuple[float, list[float]]:
    """Median over ``repeats`` of the mean µs per call of ``fn(item)`` over ``items``.

    CPU time of this thread, not wall time, so that other load on a shared machine
    distorts it less (everything here is CPU-bound and single-threaded)."""
    runs = []
    for _ in range(repeats):
        t0 = time.thread_time()
        for it in items:
            fn(it)
        runs.append((time.thread_time() - t0) / len(items) * 1e6)
    return statistics.median(runs), runs


def in_process(n: int, repeats: int, ref: str | None) -> None:
    import bench_http as bh

    tmp = Path(tempfile.mkdtemp(prefix="bench_http_profile-"))
    try:
        env = dict(os.environ)
        cwd, code = bh.prepare_code(ref, tmp, env)
        if ref:
            sys.path.insert(0, str(cwd))
        print(f"code: {code['source']}")
        _in_process(tmp, n, repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _in_process(tmp: Path, n: int, repeats: int) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from locator import create_app
    from locator.geo import datum
    from locator.geo.index import MAX_K
    from locator.jsonio import dumps
    from locator.sites import api
    from locator.sites.geojson import json_bool
    from locator.vocabulary import KINDS, SERVICES
    from locator.web import params as p
    from locator.web.state import get_state

    app = create_app({"INSTANCE_PATH": str(tmp / "instance")})
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    print(result.output.strip())

    pts = points(n)
    qs = [f"lat={lat:.6f}&lon={lon:.6f}&k=5" for lat, lon in pts]
    near_env = [EnvironBuilder(path="/api/v1/nearest", query_string=q).get_environ()
                for q in qs]
    health_env = [EnvironBuilder(path="/healthz").get_environ() for _ in qs]

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise AssertionError(status)

    def wsgi(env):
        body = app(dict(env), start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()

    client = app.test_client()
    for e in near_env[:200] + health_env[:50]:  # snapshot, masks, hours caches
        wsgi(e)

    rows = []
    t_health, _ = per_call_us(wsgi, health_env, repeats)
    t_near, runs_near = per_call_us(wsgi, near_env, repeats)
    t_client, _ = per_call_us(lambda q: client.get("/api/v1/nearest?" + q), qs, repeats)
    rows += [("WSGI /healthz (Flask + jsonify of a small dict)", t_health),
             ("WSGI /api/v1/nearest (whole request)", t_near),
             ("test client /api/v1/nearest (adds EnvironBuilder etc.)", t_client)]

    # the view's steps, each timed alone over the same points
    args = [Request(dict(e)).args for e in near_env]
    with app.app_context():
        snap = get_state().snapshot()
        index = snap.index
        heads = snap.feature_heads

        def parse_qs(env):
            Request(dict(env)).args  # noqa: B018 (the parse is the point)

        def validate(a):
            p.reject_unknown(a, api.NEAREST_PARAMS)
            lat = p.number(a, "lat", low=-90, high=90, required=True)
            lon = p.number(a, "lon", low=-180, high=180, required=True)
            k = p.integer(a, "k", low=1, high=MAX_K, default=5)
            p.choice(a, "kind", KINDS)
            p.choices(a, "services", SERVICES)
            p.boolean(a, "open_now")
            p.number(a, "max_km", low=0, high=1000)
            source = p.choice(a, "datum", datum.DATUMS, default="wgs84")
            p.boolean(a, "include_closed")
            return lat, lon, k, source

        parsed = [validate(a) for a in args]
        wgs = [datum.to_wgs84(lon, lat, src) for lat, lon, _, src in parsed]
        at = api.now()
        results = [index.nearest(x, y, k=5, open_at=None, max_distance_m=None,
                                 include_closed=False) for x, y in wgs]

        def assemble(i):
            res = results[i]
            wlon, wlat = wgs[i]
            features = ",".join(
                f'{heads[pos]},"distance_m":{round(float(d), 1)},'
                f'"open_now":{json_bool(o)}}}}}'
                for pos, d, o in zip(res.positions, res.distance_m, res.open_now, strict=True))
            query = dumps({"lon": wlon, "lat": wlat, "datum": "wgs84",
                                   "input_datum": "wgs84", "k": 5, "max_km": None,
                                   "at": at.isoformat(timespec="seconds")})
            return (f'{{"type":"FeatureCollection","query":{query},'
                    f'"beyond_range":{json_bool(res.beyond_range)},'
                    f'"numberReturned":{len(res.positions)},"data_version":{snap.version},'
                    f'"synthetic":{json_bool(snap.synthetic)},"features":[{features}]}}')

        bodies = [assemble(i) for i in range(len(qs))]
        queries = [{"lon": x, "lat": y, "datum": "wgs84", "input_datum": "wgs84", "k": 5,
                    "max_km": None, "at": at.isoformat(timespec="seconds")} for x, y in wgs]

        def features(res):
            return ",".join(
                f'{heads[pos]},"distance_m":{round(float(d), 1)},'
                f'"open_now":{json_bool(o)}}}}}'
                for pos, d, o in zip(res.positions, res.distance_m, res.open_now, strict=True))

        parts = [
            ("  of which snap.synthetic (pandas column .any() on every call)",
             lambda _: snap.synthetic, qs),
            ("  of which the 5 feature f-strings + join", features, results),
            ("  of which dumps(query)", dumps, queries),
        ]
        flask_parts = [
            ("  of which request context push+pop (URL match, session open)",
             lambda e: app.request_context(dict(e)).__enter__().pop(), near_env),
            ("  of which session_interface.open_session alone (unused session)",
             lambda e: app.session_interface.open_session(app, app.request_class(dict(e))),
             near_env),
        ]
        steps = [
            ("query-string parse (werkzeug Request.args)", parse_qs, near_env),
            ("parameter validation (locator.web.params, 10 calls)", validate, args),
            ("datum.to_wgs84 (wgs84 → wgs84)", lambda t: datum.to_wgs84(t[1], t[0], t[3]),
             parsed),
            ("get_state().snapshot() + now()", lambda _: (get_state().snapshot(), api.now()),
             qs),
            ("engine: SiteIndex.nearest(k=5)",
             lambda w: index.nearest(w[0], w[1], k=5, open_at=None, max_distance_m=None,
                                     include_closed=False), wgs),
            ("JSON assembly (f-strings + dumps of the query)", assemble,
             range(len(qs))),
            ("Response(...) + Cache-Control", lambda b: api._json(b, cache="no-store",
                                                                  mimetype=api.GEOJSON),
             bodies),
        ]
        step_rows = [(name, per_call_us(fn, items, repeats)[0]) for name, fn, items in steps]
        part_rows = [(name, per_call_us(fn, items, repeats)[0]) for name, fn, items in parts]
    flask_rows = [(name, per_call_us(fn, items, repeats)[0]) for name, fn, items in flask_parts]

    explained = sum(t for _, t in step_rows)
    view_us, engine_us = _in_situ(app, near_env, wsgi, repeats)
    gzip_env = [EnvironBuilder(path="/api/v1/nearest", query_string=q,
                               headers={"Accept-Encoding": "gzip, deflate, br"}).get_environ()
                for q in qs]
    whatif_rows = _what_if(app, near_env, gzip_env, wsgi, repeats)
    print(f"\n{n} points, median of {repeats} passes (thread CPU time); "
          "WSGI /api/v1/nearest passes (µs): " + ", ".join(f"{x:.0f}" for x in runs_near))
    print("\n| path | µs per request |\n|---|---:|")
    for name, t in rows:
        print(f"| {name} | {t:.0f} |")
    print("\nIn situ (timers around the view function and around SiteIndex.nearest during "
          "the WSGI requests):\n\n| part of a WSGI /api/v1/nearest request | µs | share |"
          "\n|---|---:|---:|")
    print(f"| Flask/Werkzeug around the view (WSGI − view) | {t_near - view_us:.0f} "
          f"| {(t_near - view_us) / t_near:.0%} |")
    print(f"| the view, all of it | {view_us:.0f} | {view_us / t_near:.0%} |")
    print(f"|   of which the engine SiteIndex.nearest | {engine_us:.0f} "
          f"| {engine_us / t_near:.0%} |")
    print(f"|   of which the rest of the view (parsing, validation, JSON, Response) "
          f"| {view_us - engine_us:.0f} | {(view_us - engine_us) / t_near:.0%} |")
    print("\n| step of /api/v1/nearest (each timed alone) | µs | share of WSGI request |"
          "\n|---|---:|---:|")
    for name, t in step_rows:
        print(f"| {name} | {t:.1f} | {t / t_near:.0%} |")
        if name.startswith("JSON assembly"):
            for sub, ts in part_rows:
                print(f"| {sub} | {ts:.1f} | {ts / t_near:.0%} |")
    print(f"| what the steps alone leave of the WSGI request | {t_near - explained:.1f} "
          f"| {(t_near - explained) / t_near:.0%} |")
    for sub, ts in flask_rows:
        print(f"| {sub} | {ts:.1f} | {ts / t_near:.0%} |")

    print("\nWhat if (monkeypatched in this process only; each paired with a baseline pass "
          "right before it):\n\n| change | baseline µs | with it µs | saved µs |"
          "\n|---|---:|---:|---:|")
    for name, base_us, with_us in whatif_rows:
        print(f"| {name} | {base_us:.0f} | {with_us:.0f} | {base_us - with_us:+.0f} |")

    prof = cProfile.Profile()
    prof.enable()
    for e in near_env:
        wsgi(e)
    prof.disable()
    _report_profile(prof, len(near_env))


def _in_situ(app, envs, wsgi, repeats: int) -> tuple[float, float]:
    """µs per request spent in the view, and in the engine, timed inside real requests
    (wrappers installed on this app object only)."""
    from locator.web.state import get_state

    spent = {"view": 0.0, "engine": 0.0}
    view = app.view_functions["api.nearest"]

    def timed_view(*a, **kw):
        t0 = time.thread_time()
        try:
            return view(*a, **kw)
        finally:
            spent["view"] += time.thread_time() - t0

    with app.app_context():
        index = get_state().snapshot().index
    engine = index.nearest

    def timed_engine(*a, **kw):
        t0 = time.thread_time()
        try:
            return engine(*a, **kw)
        finally:
            spent["engine"] += time.thread_time() - t0

    app.view_functions["api.nearest"] = timed_view
    index.nearest = timed_engine
    try:
        views, engines = [], []
        for _ in range(repeats):
            spent.update(view=0.0, engine=0.0)
            for e in envs:
                wsgi(e)
            views.append(spent["view"] / len(envs) * 1e6)
            engines.append(spent["engine"] / len(envs) * 1e6)
    finally:
        app.view_functions["api.nearest"] = view
        del index.nearest
    return statistics.median(views), statistics.median(engines)


def _what_if(app, envs, gzip_envs, wsgi, repeats: int) -> list[tuple[str, float, float]]:
    """µs per WSGI /api/v1/nearest request with one thing changed, against a baseline
    measured just before it. Nothing here changes the project's code."""
    import gc

    from flask.sessions import SecureCookieSessionInterface

    from locator.sites.snapshot import SitesSnapshot
    from locator.web.state import get_state

    class NoSession(SecureCookieSessionInterface):
        def open_session(self, app, request):
            return self.make_null_session(app)

        def save_session(self, app, session, response):
            return None

    with app.app_context():
        synthetic = get_state().snapshot().synthetic
    before = {k: list(v) for k, v in app.before_request_funcs.items()}
    after = {k: list(v) for k, v in app.after_request_funcs.items()}
    interface = app.session_interface
    prop = SitesSnapshot.__dict__["synthetic"]

    def hook_name(f):
        return f"{f.__module__}.{f.__qualname__}"

    def no_hooks(funcs, word):
        for v in funcs.values():
            v[:] = [f for f in v if word not in hook_name(f)]

    def set_synthetic():
        SitesSnapshot.synthetic = property(lambda self: synthetic)

    def set_session():
        app.session_interface = NoSession()

    changes = [
        ("SitesSnapshot.synthetic computed once (not a pandas .any() per request)",
         set_synthetic),
        ("no cookie session opened/saved (NullSession for the API)", set_session),
        ("without the flask_wtf CSRFProtect before_request hook",
         lambda: no_hooks(app.before_request_funcs, "csrf")),
        ("without the flask_compress after_request hook (no Accept-Encoding sent)",
         lambda: no_hooks(app.after_request_funcs, "ompress")),
        ("gc disabled (upper bound of what garbage collection costs)", gc.disable),
        ("all of the above", lambda: (set_synthetic(), set_session(),
                                      no_hooks(app.before_request_funcs, "csrf"),
                                      no_hooks(app.after_request_funcs, "ompress"),
                                      gc.disable())),
    ]

    def restore():
        SitesSnapshot.synthetic = prop
        app.session_interface = interface
        for k, v in before.items():
            app.before_request_funcs[k][:] = v
        for k, v in after.items():
            app.after_request_funcs[k][:] = v
        gc.enable()

    rows = []
    try:
        for name, apply in changes:
            base = per_call_us(wsgi, envs, repeats)[0]
            apply()
            try:
                rows.append((name, base, per_call_us(wsgi, envs, repeats)[0]))
            finally:
                restore()
        base = per_call_us(wsgi, envs, repeats)[0]
        rows.append(("a browser's Accept-Encoding: gzip, deflate, br (flask_compress compresses "
                     "each response)", base, per_call_us(wsgi, gzip_envs, repeats)[0]))
    finally:
        restore()
    return rows


def _category(filename: str, func: str) -> str:
    f = filename.replace("\\", "/")
    if "/locator/web/params.py" in f:
        return "locator.web.params (validation)"
    if "/locator/geo/index.py" in f:
        return "locator.geo.index (engine, Python part)"
    if "/locator/geo/hours.py" in f:
        return "locator.geo.hours"
    if "/locator/sites/api.py" in f:
        return "locator.sites.api (view body, f-strings)"
    if "/locator/" in f:
        return "locator (other)"
    for pkg in ("werkzeug", "flask", "shapely", "pyproj", "numpy", "json", "heapq"):
        if f"/{pkg}/" in f or f.endswith(f"/{pkg}.py"):
            return pkg
    if filename == "~":
        if any(s in func for s in ("numpy", "ndarray", "lexsort", "argpartition", "hypot")):
            return "numpy (C)"
        if "shapely" in func or "STRtree" in func or "lib." in func:
            return "shapely (C)"
        if "Geod" in func or "_inv" in func or "pyproj" in func:
            return "pyproj (C)"
        return "builtins (C)"
    return "other Python (stdlib)"


NAMED = [  # (label, file suffix, function): cumulative time per request under cProfile
    ("Flask wsgi_app (the whole request)", "flask/app.py", "wsgi_app"),
    ("  request context push", "flask/ctx.py", "push"),
    ("    URL matching", "flask/ctx.py", "match_request"),
    ("    session open (SecureCookieSessionInterface)", "flask/sessions.py", "open_session"),
    ("  before_request: flask_wtf CSRFProtect", "flask_wtf/csrf.py", "csrf_protect"),
    ("  the view locator.sites.api.nearest", "locator/sites/api.py", "nearest"),
    ("    engine SiteIndex.nearest", "locator/geo/index.py", "nearest"),
    ("    SitesSnapshot.synthetic", "locator/sites/snapshot.py", "synthetic"),
    ("    params.reject_unknown", "locator/web/params.py", "reject_unknown"),
    ("    params.number", "locator/web/params.py", "number"),
    ("    werkzeug MultiDict.get (raises+catches KeyError when absent)",
     "werkzeug/datastructures/structures.py", "get"),
    ("    dumps", "locator/web/openapi.py", "dumps"),
    ("  after_request: flask_compress", "flask_compress/flask_compress.py", "after_request"),
    ("  session save", "flask/sessions.py", "save_session"),
    ("  request context pop (teardown)", "flask/ctx.py", "pop"),
]


def _report_profile(prof: cProfile.Profile, calls: int) -> None:
    st = pstats.Stats(prof)
    total = st.total_tt
    whole = None
    print(f"\ncProfile, cumulative µs per request ({calls} requests; the profiler roughly "
          "doubles Python-heavy code, compare shares, not µs)")
    print("\n| function | calls/request | µs/request | share of wsgi_app |\n|---|---:|---:|---:|")
    for label, suffix, func in NAMED:
        hits = [(v[1], v[3]) for (f, _, fn), v in st.stats.items()
                if fn == func and f.replace("\\", "/").endswith(suffix)]
        if not hits:
            continue
        ncalls = sum(h[0] for h in hits)
        cum = (max if func in ("push", "pop") else sum)(h[1] for h in hits)
        whole = whole or cum
        print(f"| {label} | {ncalls / calls:.0f} | {cum / calls * 1e6:.0f} | {cum / whole:.0%} |")
    by_cat: Counter[str] = Counter()
    for (filename, _, func), (_, _, tt, _, _) in st.stats.items():
        by_cat[_category(filename, func)] += tt
    print(f"\ncProfile over {calls} WSGI requests (profiler overhead inflates Python-heavy "
          f"code): {total / calls * 1e6:.0f} µs per request under the profiler")
    print("\n| where (own time) | share |\n|---|---:|")
    for cat, tt in by_cat.most_common():
        print(f"| {cat} | {tt / total:.1%} |")
    for key, title in (("cumulative", "cumulative"), ("tottime", "own time")):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(22)
        lines = buf.getvalue().splitlines()
        start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("ncalls"))
        print(f"\ntop by {title}:")
        print("\n".join(lines[start:start + 23]))


# --- live: py-spy on gunicorn under wrk ------------------------------------------------

LIVE_MARKERS = [  # (label, substring of a collapsed frame "func (file:line)")
    ("view: locator.sites.api.nearest", "nearest (locator/sites/api.py"),
    ("  engine: SiteIndex.nearest", "nearest (locator/geo/index.py"),
    ("  validation: locator.web.params", "(locator/web/params.py"),
    ("  snapshot()", "snapshot (locator/web/state.py"),
    ("  datum.to_wgs84", "to_wgs84 (locator/geo/datum.py"),
    ("  dumps (query JSON)", "dumps (locator/web/openapi.py"),
    ("  _json (Response)", "_json (locator/sites/api.py"),
    ("Flask app (wsgi_app, incl. the view)", "wsgi_app (flask/app.py"),
    ("  request.args parse (werkzeug)", "args (werkzeug/"),
    ("  full_dispatch_request", "full_dispatch_request (flask/app.py"),
    ("gunicorn handle_request (incl. Flask)", "handle_request (gunicorn/workers/sync.py"),
    ("gunicorn handle (incl. all above)", "handle (gunicorn/workers/sync.py"),
]


def live(py_spy: str, seconds: int, connections: int, ref: str | None, nice: int) -> None:
    import bench_http as bh

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: sudo apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="bench_http_profile-"))
    server = log = None
    try:
        env = {**os.environ, "LOCATOR_INSTANCE_PATH": str(tmp / "instance")}
        cwd, code = bh.prepare_code(ref, tmp, env)
        print(f"code: {code['source']}")
        subprocess.run([sys.executable, "-c", "from locator.app import main; main()", "init"],
                       env=env, cwd=cwd, check=True, capture_output=True)
        port = bh._free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(tmp / "gunicorn.log", "w+")  # noqa: SIM115 (closed in finally)
        server = subprocess.Popen(
            [str(bh.BIN / "gunicorn"), "-w", str(bh.WORKERS), "--bind", f"127.0.0.1:{port}",
             "locator:create_app()"], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
            **bh._session(nice))
        bh._wait_ready(base, server, log)
        bh._wrk(wrk, base, "nearest", 2, connections, seed=7, nice=nice)  # warm up
        out = tmp / "stacks.txt"
        spy = subprocess.Popen([py_spy, "record", "--pid", str(server.pid), "--subprocesses",
                                "--nonblocking", "--rate", "250", "--format", "raw",
                                "--duration", str(seconds + 1), "--output", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        m = bh._wrk(wrk, base, "nearest", seconds, connections, seed=8, nice=nice)
        _, err = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0 or not out.exists():
            raise SystemExit(f"py-spy failed: {err}")
        print(f"gunicorn -w 2 under wrk -c{connections} for {seconds}s: {m['rps']:.0f} req/s "
              f"(sampled by py-spy at 250 Hz, non-blocking)")
        _report_stacks(out.read_text())
    finally:
        bh._stop(server)
        if log is not None:
            log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _report_stacks(text: str) -> None:
    total = 0
    worker = 0
    incl: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        if "run (gunicorn/workers/sync.py" not in stack:
            continue  # the master process, or idle
        worker += c
        for label, marker in LIVE_MARKERS:
            if marker in stack:
                incl[label] += c
    print(f"{total} samples, {worker} in the two workers' request loop\n")
    print("| inclusive, share of busy worker samples | share |\n|---|---:|")
    for label, _ in LIVE_MARKERS:
        print(f"| {label} | {incl[label] / worker:.1%} |")
    print(f"| gunicorn outside handle (accept/select loop, busy part) "
          f"| {1 - incl['gunicorn handle (incl. all above)'] / worker:.1%} |")
    # what gunicorn's handle_request does besides calling Flask, and the hottest leaves
    below: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or "run (gunicorn/workers/sync.py" not in stack:
            continue
        frames = stack.split(";")
        leaves[frames[-1]] += int(count)
        for i, f in enumerate(frames[:-1]):
            if "handle_request (gunicorn/workers/sync.py" in f:
                below[frames[i + 1].rsplit(":", 1)[0]] += int(count)
                break
    print("\n| called by gunicorn's handle_request (inclusive) | share |\n|---|---:|")
    for f, c in below.most_common(10):
        print(f"| `{f})` | {c / worker:.1%} |")
    print("\n| hottest leaf frames | share |\n|---|---:|")
    for f, c in leaves.most_common(12):
        print(f"| `{f}` | {c / worker:.1%} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="requests (points) per pass")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--live", action="store_true", help="py-spy on gunicorn under wrk")
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--ref", default=None, help="profile this git commit, not the working tree")
    ap.add_argument("--nice", type=int, default=0, help="--live: as in bench_http.py")
    args = ap.parse_args()
    if args.live:
        live(args.py_spy, args.seconds, args.connections, args.ref, args.nice)
    else:
        in_process(args.n, args.repeats, args.ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
