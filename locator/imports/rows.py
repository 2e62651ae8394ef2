"""A table's columns and rows as validation reads them.

:func:`find_columns` says which record field each column holds (by its header,
:func:`locator.imports.columns.field_of_header`) and :func:`missing_columns` which
required ones are absent; a :class:`Row` is one data row read through those columns,
collecting its values and problems while it is checked; :class:`RowResult` is what it
became.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from locator.imports.columns import COLUMNS, field_of_header
from locator.imports.problems import CellError, Problem
from locator.imports.table import Cell, Table

__all__ = ["Columns", "Row", "RowResult", "find_columns", "missing_columns"]


@dataclass(frozen=True)
class Columns:
    """Where each record field is in a table.

    Attributes
    ----------
    fields : dict of str to int
        Field (``name``, ``lon`` ...) → index of its column.
    more : dict of str to list of int
        For geo formats, the other columns of the same field (features may spell their
        properties differently: ``名称`` in one, ``name`` in another).
    header : dict of str to str
        Field → its header as written in the file (for problems' ``column``).
    """

    fields: dict[str, int]
    more: dict[str, list[int]]
    header: dict[str, str]

    def label(self, name: str) -> str:
        """How a problem names the column of a field.

        Parameters
        ----------
        name : str
            A record field.

        Returns
        -------
        str
            Its header as written, else the template's Chinese header (a missing
            column), else ``name`` itself.
        """
        return self.header.get(name, COLUMNS[name][0] if name in COLUMNS else name)


def find_columns(table: Table) -> tuple[Columns, list[Problem]]:
    """The field of each column; in a spreadsheet, two columns of one field are the
    problem ``duplicate_column`` (the first one is used).

    Parameters
    ----------
    table : Table

    Returns
    -------
    (Columns, list of Problem)
    """
    fields: dict[str, int] = {}
    more: dict[str, list[int]] = {}
    problems = []
    for i, header in enumerate(table.columns):
        f = field_of_header(header)
        if f is None:
            continue
        if f in fields and table.header_row is None:
            more.setdefault(f, []).append(i)
            continue
        if f in fields:
            problems.append(Problem(
                table.header_row, header, "duplicate_column",
                f"有两列都是「{COLUMNS[f][0]}」（第 {fields[f] + 1} 列和第 {i + 1} 列），"
                "请删除一列",
                f"two columns mean {f!r} (columns {fields[f] + 1} and {i + 1}); delete one",
            ))
            continue
        fields[f] = i
    header = {f: table.columns[i] for f, i in fields.items()}
    return Columns(fields, more, header), problems


def missing_columns(table: Table, fields: dict[str, int]) -> list[Problem]:
    """The problem ``missing_column`` for each required field the table lacks: 名称, and
    经度 and 纬度 unless the features have point geometries.

    Parameters
    ----------
    table : Table
    fields : dict of str to int
        From :func:`find_columns`.

    Returns
    -------
    list of Problem
    """
    has_points = table.points is not None and any(isinstance(p, tuple) for p in table.points)
    required = ["name"] + ([] if has_points else ["lon", "lat"])
    problems = []
    for f in required:
        if f not in fields:
            zh, aliases = COLUMNS[f]
            problems.append(Problem(
                table.header_row, zh, "missing_column",
                f"缺少「{zh}」列（表头可写 {'、'.join(aliases)}）",
                f"the column {zh!r} is missing (header may be {', '.join(aliases)})",
            ))
    return problems


@dataclass
class RowResult:
    """One data row after validation.

    Attributes
    ----------
    row : int
        The row number as the user sees it.
    values : dict
        The record fields the file gives (only the columns it has, plus the derived
        position, district and county; see
        :func:`~locator.imports.validate.validate_table`).
    id : str or None
        The declared 编号, if any.
    ok : bool
        False when any problem was found in the row.
    """

    row: int
    values: dict[str, Any]
    id: str | None = None
    ok: bool = True


@dataclass(eq=False)
class Row:
    """One data row while it is validated.

    Attributes
    ----------
    number : int
        The row number as the user sees it.
    cells : list
        The row's cells, as read.
    columns : Columns
    values : dict
        The normalised record fields found so far.
    id : str or None
        The declared 编号 of an existing site.
    point : (float, float) or None
        The row's point as written (lon, lat degrees in the file's datum), once read
        and in range.
    where : str or None
        The column(s) the point came from, as problems name them (``经度/纬度`` or
        ``geometry``).
    problems : list of Problem
        In the order they were found.
    """

    number: int
    cells: list[Cell]
    columns: Columns
    values: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    point: tuple[float, float] | None = None
    where: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def cell(self, name: str) -> Cell:
        """The row's cell of a field.

        Parameters
        ----------
        name : str
            A record field.

        Returns
        -------
        Cell
            The first non-empty cell of the field's columns (a geo format may have
            several), ``None`` when there is none.
        """
        columns = self.columns
        for i in [columns.fields[name], *columns.more.get(name, ())] \
                if name in columns.fields else ():
            value = self.cells[i] if i < len(self.cells) else None
            if value is not None and value != "":
                return value
        return None

    def bad(self, name: str | None, error: CellError) -> None:
        """Record a cell's error as a problem of this row.

        Parameters
        ----------
        name : str or None
            The field whose column the problem is in (``None``: no column).
        error : CellError
            Its code (``bad_value`` when it has none) and messages.
        """
        column = self.columns.label(name) if name else None
        self.problems.append(Problem(self.number, column, error.code or "bad_value",
                                     error.zh, error.en))

    def result(self) -> RowResult:
        """What the row became.

        Returns
        -------
        RowResult
            Its values and declared id; ``ok`` when it has no problem.
        """
        return RowResult(self.number, self.values, self.id, ok=not self.problems)
