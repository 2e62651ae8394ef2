"""Issue 14: a production server is the default. ``locator serve`` runs gunicorn with the
app factory; ``locator run`` says it is the development server."""

from __future__ import annotations

import json
import subprocess

import pytest

from locator.cli import MAX_AUTO_WORKERS, auto_workers, gunicorn_options
from tests.served import LOCATOR, instance_from, serving


@pytest.fixture(scope="module")
def served(demo_db, tmp_path_factory):
    instance = instance_from(demo_db, tmp_path_factory.mktemp("serve"))
    with serving(instance, workers=2) as s:
        yield s


def test_serve_runs_gunicorn_with_two_workers(served):
    status, headers, body = served.get("/healthz")
    assert status == 200 and headers["Server"] == "gunicorn"
    health = json.loads(body)
    assert health["status"] == "ok" and health["data_version"] >= 1
    assert len(served.workers()) == 2
    status, headers, body = served.get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "驿站地图" in body.decode()
    status, _, body = served.get("/api/v1/nearest?lat=38.0428&lon=114.5149&k=3")
    assert status == 200 and len(json.loads(body)["features"]) == 3


def test_serve_says_how_it_runs_and_keeps_no_access_log(served):
    served.get("/about")
    out = served.output()
    assert "2 workers × 4 threads (gunicorn)" in out and "Booting worker" in out
    assert "Werkzeug" not in out and "Traceback" not in out
    assert "GET /about" not in out  # gunicorn's access log is off


def test_a_stopped_server_exits_cleanly(demo_db, tmp_path):
    with serving(instance_from(demo_db, tmp_path / "i"), workers=1) as s:
        process = s.process
    assert process.returncode == 0
    assert "Shutting down: Master" in s.output()


@pytest.mark.parametrize(("cores", "workers"), [(1, 3), (2, 5), (3, 7), (4, MAX_AUTO_WORKERS),
                                                 (64, MAX_AUTO_WORKERS)])
def test_workers_follow_the_cores_up_to_a_cap(cores, workers):
    assert auto_workers(cores) == workers


def test_gunicorn_options():
    options = gunicorn_options(host="::1", port=8000, workers=0, threads=1, timeout=30)
    assert options["bind"] == ["[::1]:8000"] and options["workers"] == auto_workers()
    assert options["worker_class"] == "sync" and options["accesslog"] is None
    options = gunicorn_options(host="127.0.0.1", port=5000, workers=3, threads=4, timeout=120)
    assert options["bind"] == ["127.0.0.1:5000"] and options["workers"] == 3
    assert options["worker_class"] == "gthread" and options["timeout"] == 120
    assert options["forwarded_allow_ips"] == ""  # X-Forwarded-*: LOCATOR_TRUSTED_PROXIES only


def test_run_is_the_development_server_and_serve_is_listed(tmp_path):
    env = {"LOCATOR_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([str(LOCATOR), "--help"], env=env, capture_output=True, text=True,
                         timeout=60).stdout
    assert "serve" in out and "Development server only" in out
    out = subprocess.run([str(LOCATOR), "run", "--help"], env=env, capture_output=True,
                         text=True, timeout=60).stdout
    assert "Development server only" in out and "locator serve" in out
