"""``locator serve`` (gunicorn) in a subprocess on a free loopback port, for tests that need
the production server itself: its processes, its logs, its limits across workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LOCATOR = Path(sys.executable).with_name("locator")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Served:
    base: str
    process: subprocess.Popen
    log: Path

    def get(self, path: str, **kwargs):
        return fetch(self.base + path, **kwargs)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def workers(self) -> list[int]:
        """The pids of the master's worker processes."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]


def fetch(url: str, *, data: bytes | None = None, headers: dict | None = None,
          method: str | None = None):
    """``(status, headers, body)`` of one request (an HTTP error status is returned too)."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def instance_from(demo_db: Path, folder: Path) -> Path:
    """A writable instance folder holding a copy of the demo database (and its grid cache)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo_db, folder / "locator.sqlite3")
    if (demo_db.parent / "cache").exists():
        shutil.copytree(demo_db.parent / "cache", folder / "cache", dirs_exist_ok=True)
    return folder


@contextlib.contextmanager
def serving(instance: Path, *args: str, env: dict | None = None, workers: int = 2,
            host: str = "127.0.0.1", ready_s: float = 90):
    """Run ``locator serve --workers N`` on ``host`` over ``instance``; yields a
    :class:`Served` once ``/healthz`` answers, and stops it (SIGTERM, then SIGKILL) in
    every case. (Clients connect from 127.0.0.1: serve on 127.0.0.2 to tell the server's
    own address from theirs.)"""
    port = free_port(host)
    log = instance / f"serve-{port}.log"
    environment = {**os.environ, "LOCATOR_INSTANCE_PATH": str(instance), **(env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(LOCATOR), "serve", "--host", host, "--port", str(port),
             "--workers", str(workers), *args],
            env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(f"http://{host}:{port}", process, log)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if process.poll() is not None:
                raise AssertionError(f"locator serve exited {process.returncode}:\n"
                                     + served.output())
            try:
                if served.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("locator serve did not answer:\n" + served.output())
            time.sleep(0.2)
        yield served
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
