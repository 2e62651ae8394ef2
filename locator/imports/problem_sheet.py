"""The import's problems as an XLSX: the file's rows with their problems beside them.

Every string cell is written as text (``data_type = "s"``): openpyxl would otherwise store
a station name such as ``=HYPERLINK(...)`` as a live formula (reliability.md F9).
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from locator.escape import xml_text

__all__ = ["problems_xlsx"]

_PROBLEM_FILL = PatternFill("solid", fgColor="FCE4D6")


def _put(ws, row: int, col: int, value: Any):
    """Write one cell: numbers as numbers, everything else as text, never a formula."""
    cell = ws.cell(row, col)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                         and math.isfinite(value)):
        cell.value = value
    else:
        # XML 1.0 cannot hold some control characters an upload may carry: dropped here
        # (the problems column says which character it was).
        cell.value = xml_text(value)
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def problems_xlsx(plan, lang: str = "zh") -> bytes:
    """The import's problems as an XLSX workbook.

    Parameters
    ----------
    plan : locator.imports.plan.ImportPlan
        Its table (``None`` for a refused file) and its report.
    lang : str
        ``zh`` or ``en``: the sheets' titles, headers and messages.

    Returns
    -------
    bytes
        Sheet 1: the uploaded rows (header row and row numbers as in the file) with a
        「问题」 column first; sheet 2: one line per problem (row, column, code, message).
    """
    zh = lang != "en"
    report = plan.report(lang)
    by_row: dict[int | None, list[str]] = defaultdict(list)
    for p in report["problems"]:
        column = f"[{p['column']}] " if p["column"] else ""
        by_row[p["row"]].append(column + p["message"])
    wb = Workbook()
    _annotate(wb.active, plan.table, by_row, zh)
    summary = wb.create_sheet("问题列表" if zh else "problems")
    for col, value in enumerate(("行号" if zh else "row", "列" if zh else "column",
                                 "代码" if zh else "code", "说明" if zh else "message"),
                                start=1):
        _put(summary, 1, col, value).font = Font(bold=True)
    for i, p in enumerate(report["problems"], start=2):
        for col, key in enumerate(("row", "column", "code", "message"), start=1):
            _put(summary, i, col, p[key])
    summary.column_dimensions["D"].width = 100

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _annotate(ws, table, by_row: dict[int | None, list[str]], zh: bool) -> None:
    """Sheet 1: the file's problems (whole file, header row), then every data row with
    its problems in the first column and its row number in the second."""
    ws.title = "标注" if zh else "annotated"
    header = ["问题" if zh else "problems", "行号" if zh else "row"]
    header += list(table.columns) if table is not None else []
    for col, value in enumerate(header, start=1):
        _put(ws, 1, col, value).font = Font(bold=True)
    line = 2
    if None in by_row:
        _put(ws, line, 1, "\n".join(by_row[None])).fill = _PROBLEM_FILL
        line += 1
    if table is not None and table.header_row in by_row:
        _put(ws, line, 1, "\n".join(by_row[table.header_row])).fill = _PROBLEM_FILL
        _put(ws, line, 2, table.header_row)
        line += 1
    for number, cells in (table.rows if table is not None else []):
        messages = by_row.get(number)
        first = _put(ws, line, 1, "\n".join(messages) if messages else "")
        if messages:
            first.fill = _PROBLEM_FILL
            first.alignment = Alignment(wrap_text=True, vertical="top")
        _put(ws, line, 2, number)
        for col, value in enumerate(cells, start=3):
            _put(ws, line, col, value)
        line += 1
    ws.column_dimensions["A"].width = 60
    ws.freeze_panes = "C2"
