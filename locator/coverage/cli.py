"""``locator demand import|status|withdraw``: the demand the coverage analysis weighs."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from locator.errors import LocatorError
from locator.web.state import get_state


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
    with file.open("rb") as f:
        data = f.read(demand.MAX_GRID_BYTES + 1)
    plan = demand.plan_grid(data, state.coverage().grid, source_name=file.name)
    report = plan.report(lang)
    if plan.ok and not dry_run:
        report["upload_id"] = demand.apply_grid(state.store, plan,
                                                user=user or f"cli:{getpass.getuser()}")
    click.echo(json.dumps(report, ensure_ascii=False, allow_nan=False, indent=1) if as_json
               else _grid_report_text(report, lang, ok=plan.ok, dry_run=dry_run))
    refused = not plan.ok and plan.rows == 0
    raise SystemExit(0 if plan.ok else 2 if refused else 1)


def _grid_report_text(report: dict, lang: str, *, ok: bool, dry_run: bool) -> str:
    zh = lang != "en"
    lines = []
    for p in report["problems"]:
        where = (f"第 {p['row']} 行" if zh else f"row {p['row']}") if p["row"] else (
            "文件" if zh else "file")
        column = f" [{p['column']}]" if p["column"] else ""
        lines.append(f"  {where}{column} {p['code']}: {p['message']}")
    if ok:
        done = ("检查通过（试运行，未保存）" if zh else "OK (dry run: nothing stored)") \
            if dry_run else ("已启用" if zh else "In use")
        lines.append(f"{done}: {report['rows']} rows, {report['cells']} cells, "
                     f"{report['total_weight'] - report['outside_weight']:,.0f} persons in "
                     f"Hebei ({report['outside_weight']:,.0f} outside, not counted)")
    else:
        lines.append(("有 {n} 个问题，未保存任何内容。" if zh else
                      "{n} problems: nothing stored.").format(n=report["problems_total"]))
    return "\n".join(lines)


@demand_group.command("status")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@with_appcontext
def demand_status(days: int):
    """Which demand is in use, the uploads, and searches per district (last DAYS days)."""
    from locator.coverage import demand

    state = get_state()
    counter = state.searches
    if counter is not None:
        counter.flush()
    click.echo(f"demand in use: {demand.default_source(state.store)}")
    for u in demand.uploads(state.store, 5):
        click.echo(_upload_line(u))
    first, last = demand.search_window(days, until=demand.today())
    click.echo(f"search counting: {'on' if counter is not None else 'off'}; searches "
               f"{first} .. {last} (only counts are stored):")
    for r in demand.district_search_summary(state.store, state.regions(), first, last):
        share = "-" if r["beyond_share"] is None else f"{r['beyond_share']:.1%}"
        click.echo(f"  {r['district_code'] or 'outside'}\t{r['district_name'] or '河北省外'}\t"
                   f"{r['searches']}\tbeyond 1 km: {r['beyond']} ({share})")


def _upload_line(u: dict) -> str:
    status = f"withdrawn {u['withdrawn_at']:%Y-%m-%d}" if u["withdrawn_at"] else "in use"
    return (f"upload {u['id']}: {u['created_at']:%Y-%m-%d %H:%M} UTC by "
            f"{u['created_by']}, {u['source_name']}, {u['cells']} cells, "
            f"{u['total_weight'] - u['outside_weight']:,.0f} persons ({status})")


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


def init_app(app: Flask) -> None:
    app.cli.add_command(demand_group)
