"""``locator export coverage|stations``: files for managers, written by the exports core."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from locator.coverage.demand import DEMAND_SOURCES
from locator.errors import LocatorError
from locator.exports.registry import COVERAGE_FORMATS, STATION_FORMATS
from locator.web.state import get_state


@click.group("export")
def export_group():
    """Files for managers: coverage maps and figures, station lists."""


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
@click.option("--demand", type=click.Choice(DEMAND_SOURCES), default=None,
              help="Demand source: population (census proxy), uploaded (the grid uploaded "
                   "with `locator demand import`), searches (counted searches, last 30 days). "
                   "Default: the uploaded grid when one is in use, else population.")
@with_appcontext
def export_coverage_command(district: str | None, radius_m: int, fmt: str, output: Path,
                            population: Path | None, demand: str | None):
    """Coverage of the province or a district: map, report or figures."""
    from locator.exports import writers as exports

    try:
        engine = _coverage_engine(population, demand)
        names = {name: code for code, name in engine.regions.district_names().items()}
        with _progress(exports.coverage_steps(fmt), f"导出 {fmt}") as bar:
            layers = exports.export_coverage(engine, output, fmt, radius_m=radius_m,
                                             district=names.get(district, district),
                                             progress=lambda _label: bar.update(1))
    except LocatorError as e:
        raise click.ClickException(e.message) from e
    r = layers.report
    what = "coarse census proxy" if r["demand"]["coarse_proxy"] else r["demand"]["source"]
    click.echo(f"wrote {output}: {r['name']} R={radius_m} m, stations {r['stations']}, "
               f"share_area {r['share_area']}, share_demand {r['share_demand']} (demand: "
               f"{what})")


def _coverage_engine(population: Path | None, demand: str | None):
    """The coverage engine weighed by ``--population`` (a CSV grid) or ``--demand``."""
    from locator.coverage.demand import coverage_engine
    from locator.exports import writers as exports

    state = get_state()
    if population is None:
        return coverage_engine(state.coverage(), state.store, demand)
    if demand is not None:
        raise click.UsageError("--population and --demand exclude each other.")
    engine, dropped = exports.with_population_csv(state.coverage(), population)
    click.echo(f"population grid: {dropped:g} persons outside Hebei not counted", err=True)
    return engine


@export_group.command("stations")
@click.option("--format", "fmt", type=click.Choice(STATION_FORMATS), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def export_stations_command(fmt: str, output: Path):
    """Every site that is not removed, as CSV, XLSX, GeoJSON, GeoPackage or KML."""
    from locator.exports import writers as exports

    sites = get_state().snapshot().sites
    with _progress(exports.progress_steps("stations", fmt), f"导出 {fmt}") as bar:
        n = exports.export_stations(sites, output, fmt, progress=lambda _label: bar.update(1))
    click.echo(f"wrote {output}: {n} sites")


def _progress(length: int, label: str):
    return click.progressbar(length=length, label=label, file=sys.stderr,
                             show_eta=False)


def init_app(app: Flask) -> None:
    app.cli.add_command(export_group)
