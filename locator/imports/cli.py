"""``locator import FILE`` and ``locator import undo|batches|template``: station lists."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from locator.errors import LocatorError
from locator.imports.problems import problem_line
from locator.web.state import get_state


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
    from locator.imports.plan import plan_import
    from locator.imports.readers import Limits

    state = get_state()
    plan = plan_import(state.store, file.read_bytes(), datum=datum, regions=state.regions(),
                       limits=Limits.from_settings(current_app.config),
                       source_name=file.name, tmp_root=current_app.instance_path)
    if report_xlsx is not None:
        from locator.imports.problem_sheet import problems_xlsx

        report_xlsx.write_bytes(problems_xlsx(plan, lang=lang))
    batch_id = _apply(plan, user, lang) if plan.ok and not dry_run else None
    report = plan.report(lang)
    click.echo(_json(report) if as_json else _report_text(report, lang, dry_run=dry_run))
    if batch_id is not None:
        click.echo(f"导入批次 batch {batch_id}；撤销 undo: locator import undo {batch_id}",
                   err=as_json)
    raise SystemExit(0 if plan.ok else 2 if plan.refused else 1)


def _apply(plan, user: str | None, lang: str) -> int:
    """Apply a clean plan; exit 2 with the message when the store refuses it."""
    import getpass

    from locator.imports.plan import apply_import

    try:
        return apply_import(get_state().store, plan, user=user or f"cli:{getpass.getuser()}")
    except LocatorError as e:
        click.echo(e.message_for(lang), err=True)
        raise SystemExit(2) from None


def _json(report: dict) -> str:
    import json

    return json.dumps(report, ensure_ascii=False, allow_nan=False, indent=1)


def _report_text(report: dict, lang: str, *, dry_run: bool) -> str:
    zh = lang != "en"
    if zh:
        head = (f"共 {report['rows']} 行：新增 {report['new']}，更新 {report['changed']}，"
                f"不变 {report['unchanged']}，问题 {len(report['problems'])} 个")
    else:
        head = (f"{report['rows']} rows: {report['new']} new, {report['changed']} changed, "
                f"{report['unchanged']} unchanged, {len(report['problems'])} problems")
    lines = [head]
    lines.extend(problem_line(p, lang) for p in report["problems"])
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

    from locator.imports.plan import undo_import

    try:
        result = undo_import(get_state().store, batch_id,
                             user=user or f"cli:{getpass.getuser()}")
    except LocatorError as e:
        click.echo(e.message_for(lang), err=True)
        raise SystemExit(1) from None
    click.echo(f"Undid import batch {batch_id}: {result.restored} sites restored, "
               f"{result.removed} removed." if lang == "en" else
               f"已撤销导入批次 {batch_id}：恢复 {result.restored} 个站点，"
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


def init_app(app: Flask) -> None:
    app.cli.add_command(import_group)
