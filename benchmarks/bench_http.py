"""HTTP throughput of ``/api/v1/nearest`` against ``/healthz``, behind gunicorn, with wrk.

Usage::

    .venv/bin/python benchmarks/bench_http.py [--rounds 3] [--duration 5] [--connections 4]

One run:

1. makes a temporary instance folder, runs ``locator init`` there (the bundled synthetic
   demo sites) and starts ``gunicorn -w 2`` (sync workers) on a free loopback port;
2. warms both workers up, then runs ``wrk -t1 -c<connections> -d<duration>s --latency``
   against ``/healthz`` and ``/api/v1/nearest``, interleaved for ``--rounds`` rounds
   (the order alternates each round). ``benchmarks/wrk_nearest.lua`` draws a fresh point
   per request: 80 % within 2 km of a city centre, 20 % uniform over Hebei's bbox;
3. prints per round and the median: req/s of each, the ratio nearest/healthz (per round,
   then the median), p50/p99 of each, as a Markdown table; writes the raw numbers and the
   machine under ``benchmarks/out/``;
4. fails (exit status 1) when wrk saw any socket error or any response with status >= 400
   (wrk's "Non-2xx or 3xx" count; these endpoints never redirect);
5. stops gunicorn and removes the temporary folder in every case.

Per run it also measures the CPU that *other* processes used meanwhile (all busy CPU from
/proc/stat minus gunicorn, its workers, wrk and this script), in cores, the VM's steal
time, and how long the workers waited for a CPU: on a shared box a run with other load in
it is not comparable, and it says so. Options for such a box: ``--nice -15`` (root) runs
gunicorn and wrk in their own scheduler autogroups at that nice level, so other sessions'
jobs get only the CPU they leave idle; ``--wait-idle S`` waits for a quiet second before
each run. ``--ref COMMIT`` serves that commit (``git archive``) instead of the working
tree, so that others' uncommitted edits do not move the numbers.

wrk runs on the same machine and shares its cores with the two workers, so the numbers
are this box's limits, not the server's alone. Needs Debian's ``wrk``
(``sudo apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "wrk_nearest.lua"
OUT = HERE / "out"
BIN = Path(sys.executable).parent
ENDPOINTS = ("healthz", "nearest")
PACKAGES = ("flask", "werkzeug", "gunicorn", "flask-compress", "flask-wtf", "numpy", "pandas",
            "geopandas", "shapely", "pyproj", "sqlalchemy")
WORKERS = 2
TARGET_RATIO = 0.8
BUSY_WARN = 0.15  # other processes' CPU, in cores, above which a run is flagged
TICK = os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per endpoint")
    ap.add_argument("--seed", type=int, default=1, help="base seed of the random points")
    ap.add_argument("--ref", default=None,
                    help="serve this git commit (git archive of locator/, templates/, "
                         "geodata/) instead of the working tree")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="before each wrk run wait up to this long for a second in which "
                         f"other processes use < {BUSY_WARN} cores (shared machines)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run gunicorn and wrk each in a new session whose autogroup (and "
                         "process) has this nice level; negative needs root. On a shared "
                         "machine -15 keeps other sessions' jobs from taking their CPU")
    args = ap.parse_args()
    if args.rounds < 1 or args.duration < 1 or args.connections < 1:
        ap.error("--rounds, --duration and --connections must be >= 1")

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk",
              file=sys.stderr)
        return 2
    gunicorn = BIN / "gunicorn"
    if not gunicorn.exists():
        print(f"gunicorn is not installed in {BIN}: {BIN}/python -m pip install gunicorn",
              file=sys.stderr)
        return 2

    planned = 2 * args.warmup + 2 * args.rounds * args.duration
    print(f"plan: {args.rounds} rounds x 2 endpoints x {args.duration}s, "
          f"{args.connections} connection(s); ~{planned}s of load + start-up", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench_http-"))
    server = None
    log = None
    try:
        env = {**os.environ, "LOCATOR_INSTANCE_PATH": str(tmp / "instance")}
        cwd, code = prepare_code(args.ref, tmp, env)
        print(f"code: {code['source']} ({code['serving']})", flush=True)
        init = subprocess.run([sys.executable, "-c", "from locator.app import main; main()",
                               "init"], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=300)
        if init.returncode != 0:
            raise SystemExit(f"locator init failed:\n{init.stdout}{init.stderr}")
        print(init.stdout.strip(), flush=True)

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(tmp / "gunicorn.log", "w+")  # noqa: SIM115 (closed in finally)
        server = subprocess.Popen(
            [str(gunicorn), "-w", str(WORKERS),
             "--bind", f"127.0.0.1:{port}", "locator:create_app()"],
            env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
            **_session(args.nice))
        health = _wait_ready(base, server, log)
        _check_nearest(base)
        print(f"gunicorn pid {server.pid} on {base}: {health}", flush=True)

        for endpoint in ENDPOINTS:  # both workers load their snapshot and warm their caches
            _wrk(wrk, base, endpoint, args.warmup, args.connections, seed=10_000 + args.seed,
                 nice=args.nice)

        rounds = []
        for r in range(args.rounds):
            order = ENDPOINTS if r % 2 == 0 else ENDPOINTS[::-1]
            runs = {}
            for endpoint in order:
                waited = _wait_idle(args.wait_idle, server.pid)
                before = _cpu_sample(server.pid)
                runs[endpoint] = m = _wrk(wrk, base, endpoint, args.duration,
                                          args.connections, seed=args.seed + 1000 * r,
                                          nice=args.nice)
                m["cpu"] = _cpu_delta(before, _cpu_sample(server.pid))
                m["waited_idle_s"] = waited
                print(f"  round {r + 1} {endpoint:8s} {m['rps']:8.0f} req/s  "
                      f"p50 {m['p50_ms']:.2f} ms  p99 {m['p99_ms']:.2f} ms  "
                      f"errors {m['socket_errors']} non2xx {m['non_2xx']}  "
                      f"other CPU {m['cpu']['other_cores']:.2f} cores  "
                      f"steal {m['cpu']['steal_cores']:.2f}  workers waited for a CPU "
                      f"{m['cpu']['server_runq_wait_ms_per_s']:.0f} ms/s", flush=True)
            rounds.append({"round": r + 1, "order": list(order), **runs,
                           "ratio": runs["nearest"]["rps"] / runs["healthz"]["rps"]})
        if server.poll() is not None:
            raise SystemExit(f"gunicorn died during the run:\n{_tail(log)}")
    finally:
        _stop(server)
        if log is not None:
            log.close()
        shutil.rmtree(tmp, ignore_errors=True)

    summary = _summary(rounds)
    table = _table(rounds, summary, args, code)
    print()
    print(table)
    bad = [f"round {x['round']} {e}: {x[e]['socket_errors']} socket errors, "
           f"{x[e]['non_2xx']} non-2xx" for x in rounds for e in ENDPOINTS
           if x[e]["socket_errors"] or x[e]["non_2xx"]]

    busy = [f"round {x['round']} {e}: other processes used "
            f"{x[e]['cpu']['other_cores']:.2f} cores" for x in rounds for e in ENDPOINTS
            if x[e]["cpu"]["other_cores"] > BUSY_WARN]
    if busy and args.nice:
        print(f"\nnote: other processes used > {BUSY_WARN} cores during some runs; with "
              f"--nice {args.nice} they mostly got CPU this benchmark left idle (see "
              "server_runq_wait_ms_per_s in the JSON):\n  " + "\n  ".join(busy))
        busy = []
    elif busy:
        print(f"\nWARNING: the machine was not idle (> {BUSY_WARN} cores of other load); "
              "these runs are not comparable (try --nice -15 as root):\n  "
              + "\n  ".join(busy), file=sys.stderr)

    OUT.mkdir(exist_ok=True)
    stamp = dt.datetime.now().astimezone()
    path = OUT / f"bench_http-{stamp:%Y%m%dT%H%M%S}-c{args.connections}.json"
    path.write_text(json.dumps({
        "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
        "date": stamp.isoformat(timespec="seconds"),
        "settings": {**vars(args), "threads": 1, "workers": WORKERS,
                     "server": "gunicorn sync", "lua": LUA.name},
        "code": code,
        "machine": _machine(wrk),
        "rounds": rounds,
        "median": summary,
        "target_ratio": TARGET_RATIO,
        "ok": not bad,
        "failures": bad,
        "contended_runs": busy,
        "markdown": table,
    }, indent=2, ensure_ascii=False) + "\n")
    print(f"\nraw numbers: {path.relative_to(ROOT)}")
    if bad:
        print("FAILED: wrk saw errors:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    met = "met" if summary["ratio"] >= TARGET_RATIO else "NOT met"
    if busy:
        met += "; but the machine was busy, so this says little"
    print(f"median ratio nearest/healthz {summary['ratio']:.2f} "
          f"(target >= {TARGET_RATIO}: {met})")
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(log, n: int = 4000) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-n:]


def _wait_ready(base: str, server: subprocess.Popen, log, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return json.load(resp)
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"/healthz did not answer within {timeout:.0f}s:\n{_tail(log)}")


def _check_nearest(base: str) -> None:
    """One real request, so a broken endpoint fails here rather than as a fast 500 flood."""
    url = base + "/api/v1/nearest?lat=38.0428&lon=114.5149&k=5"
    with urllib.request.urlopen(url, timeout=30) as resp:
        body = json.load(resp)
    if len(body.get("features", ())) != 5:
        raise SystemExit(f"/api/v1/nearest returned {len(body.get('features', ()))} features")


def _session(nice: int) -> dict:
    """Popen arguments: a new session (so gunicorn can be stopped as a group), and with
    ``nice`` that session's scheduler autogroup and the process get that nice level. With
    autogroups (Linux's default) a plain ``nice`` only ranks processes within one session,
    not against other sessions' jobs."""
    if not nice:
        return {"start_new_session": True}

    def prio():
        os.setsid()
        try:
            Path("/proc/self/autogroup").write_text(str(nice))
        except OSError:
            pass
        os.setpriority(os.PRIO_PROCESS, 0, nice)

    return {"preexec_fn": prio}


def _wrk(wrk: str, base: str, endpoint: str, duration: int, connections: int,
         seed: int, nice: int = 0) -> dict:
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
           "-s", str(LUA), base, "--", endpoint, str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60,
                          **_session(nice))
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"no WRKJSON line in wrk's output:\n{proc.stdout}{proc.stderr}")
    raw = json.loads(line[len("WRKJSON "):])
    e = raw["errors"]
    pct = raw["latency_us"]["percentiles"]
    # wrk's own "Requests/sec" line, as a cross-check of requests / duration
    m = re.search(r"Requests/sec:\s+([\d.]+)", proc.stdout)
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "wrk_requests_per_sec": float(m.group(1)) if m else None,
        "requests": raw["requests"],
        "p50_ms": pct["50"] / 1000,
        "p90_ms": pct["90"] / 1000,
        "p99_ms": pct["99"] / 1000,
        "p999_ms": pct["99.9"] / 1000,
        "socket_errors": e["connect"] + e["read"] + e["write"] + e["timeout"],
        "non_2xx": e["status"],
        "raw": raw,
        "wrk_stdout": proc.stdout,
    }


def _cpu_sample(master: int) -> dict:
    """Busy and steal CPU seconds of the whole machine, and of our own processes."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    ours = 0
    pids = [master]
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    wait_ns = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            wait_ns += int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
        except (OSError, IndexError):
            continue
        ours += int(stat[11]) + int(stat[12])  # utime, stime
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once waited for
    return {
        "t": time.monotonic(),
        "busy_s": (user + nice + system + irq + softirq) / TICK,
        "steal_s": steal / TICK,
        "server_s": ours / TICK,
        "server_runq_wait_s": wait_ns / 1e9,  # runnable but waiting for a CPU
        "client_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
    }


def _wait_idle(limit: float, master: int) -> float | None:
    """Wait (up to ``limit`` s) for a 1-s window with little other load; the wait, or None."""
    if limit <= 0:
        return 0.0
    t0 = time.monotonic()
    while True:
        a = _cpu_sample(master)
        time.sleep(1.0)
        if _cpu_delta(a, _cpu_sample(master))["other_cores"] < BUSY_WARN:
            return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            return None


def prepare_code(ref: str | None, tmp: Path, env: dict) -> tuple[Path, dict]:
    """The folder to run from, and which code it serves. With ``ref``, that commit's
    locator/, templates/ and geodata/ are extracted under ``tmp`` and put first on
    PYTHONPATH (in ``env``), ahead of the editable install of the working tree."""
    cwd = tmp
    code = _code_state(ref)
    if ref:
        cwd = tmp / "src"
        cwd.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", code["commit"],
                                  "locator", "templates", "geodata"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(cwd)], input=archive, check=True)
        env["PYTHONPATH"] = str(cwd)
    code["serving"] = subprocess.run(
        [sys.executable, "-c", "import locator; print(locator.__file__)"],
        env=env, cwd=cwd, capture_output=True, text=True).stdout.strip()
    return cwd, code


def _code_state(ref: str | None) -> dict:
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "HEAD")
    if ref:
        commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
        if not commit:
            raise SystemExit(f"not a git commit: {ref}")
        return {"source": f"git {ref} = {commit[:12]}", "commit": commit, "head": head}
    diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--", "locator",
                           "templates"], capture_output=True).stdout
    untracked = git("ls-files", "--others", "--exclude-standard", "locator", "templates")
    dirty = bool(diff or untracked)
    return {"source": f"working tree on {head[:12]}" + (" (uncommitted changes)" if dirty
                                                        else ""),
            "commit": None, "head": head, "dirty": dirty,
            "diff_sha1": hashlib.sha1(diff + untracked.encode()).hexdigest() if dirty else None,
            "untracked": untracked.split() if untracked else []}


def _cpu_delta(a: dict, b: dict) -> dict:
    wall = b["t"] - a["t"]
    d = {k: b[k] - a[k] for k in ("busy_s", "steal_s", "server_s", "client_s",
                                   "server_runq_wait_s")}
    other = max(0.0, d["busy_s"] - d["server_s"] - d["client_s"])
    return {"wall_s": wall, **d, "server_cores": d["server_s"] / wall,
            "client_cores": d["client_s"] / wall, "other_cores": other / wall,
            "steal_cores": d["steal_s"] / wall,
            "server_runq_wait_ms_per_s": d["server_runq_wait_s"] * 1000 / wall}


def _stop(server: subprocess.Popen | None) -> None:
    """SIGTERM to the gunicorn master (graceful), SIGKILL to its process group if stuck."""
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def _summary(rounds: list[dict]) -> dict:
    med = statistics.median
    out = {"ratio": med(x["ratio"] for x in rounds),
           "ratio_min": min(x["ratio"] for x in rounds),
           "ratio_max": max(x["ratio"] for x in rounds)}
    for e in ENDPOINTS:
        for key in ("rps", "p50_ms", "p99_ms"):
            out[f"{e}_{key}"] = med(x[e][key] for x in rounds)
        out[f"{e}_socket_errors"] = sum(x[e]["socket_errors"] for x in rounds)
        out[f"{e}_non_2xx"] = sum(x[e]["non_2xx"] for x in rounds)
        out[f"{e}_server_cpu_us_per_request"] = med(
            x[e]["cpu"]["server_s"] / x[e]["requests"] * 1e6 for x in rounds)
    out["other_cores_max"] = max(x[e]["cpu"]["other_cores"] for x in rounds for e in ENDPOINTS)
    return out


def _table(rounds: list[dict], s: dict, args, code: dict) -> str:
    head = (f"{args.connections} connection(s), {args.duration} s per run, "
            + (f"nice {args.nice}, " if args.nice else "") +
            f"code: {code['source']}\n\n"
            "| round (order) | healthz req/s | nearest req/s | ratio nearest/healthz "
            "| healthz p50 / p99 (ms) | nearest p50 / p99 (ms) | non-2xx / socket errors "
            "| other load (cores, h / n) |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [head]
    for x in rounds:
        h, n = x["healthz"], x["nearest"]
        first = "h→n" if x["order"][0] == "healthz" else "n→h"
        rows.append(
            f"| {x['round']} ({first}) | {h['rps']:,.0f} | {n['rps']:,.0f} | {x['ratio']:.2f} "
            f"| {h['p50_ms']:.2f} / {h['p99_ms']:.2f} | {n['p50_ms']:.2f} / {n['p99_ms']:.2f} "
            f"| {h['non_2xx'] + n['non_2xx']} / {h['socket_errors'] + n['socket_errors']} "
            f"| {h['cpu']['other_cores']:.2f} / {n['cpu']['other_cores']:.2f} |")
    err = (s["healthz_non_2xx"] + s["nearest_non_2xx"],
           s["healthz_socket_errors"] + s["nearest_socket_errors"])
    rows.append(
        f"| **median** | **{s['healthz_rps']:,.0f}** | **{s['nearest_rps']:,.0f}** "
        f"| **{s['ratio']:.2f}** [{s['ratio_min']:.2f}–{s['ratio_max']:.2f}] "
        f"| {s['healthz_p50_ms']:.2f} / {s['healthz_p99_ms']:.2f} "
        f"| {s['nearest_p50_ms']:.2f} / {s['nearest_p99_ms']:.2f} | {err[0]} / {err[1]} (total) "
        f"| max {s['other_cores_max']:.2f} |")
    rows.append(f"\nCPU of gunicorn + workers per request (median): healthz "
                f"{s['healthz_server_cpu_us_per_request']:.0f} µs, nearest "
                f"{s['nearest_server_cpu_us_per_request']:.0f} µs.")
    return "\n".join(rows)


def _machine(wrk: str) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "loadavg_at_end": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "wrk": wrk_version.splitlines()[0] if wrk_version else None,
    }


if __name__ == "__main__":
    sys.exit(main())
