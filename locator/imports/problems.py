"""The problems an import reports: :class:`Problem`, the problem codes, and
:class:`CellError`, what a cell rule raises.

Each problem has one of the codes of DESIGN.md §5 (:data:`CODES`) and a message in
Chinese and English that says what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CODES", "FILE_CODES", "CellError", "Problem"]

#: Problem codes that mean the file itself was refused (CLI exit status 2).
FILE_CODES = frozenset({"unreadable_file", "unsupported_file", "too_many_rows"})
#: Every problem code an import report may hold (DESIGN.md §5 and a few more).
CODES = (
    "unreadable_file", "unsupported_file", "too_many_rows", "missing_column",
    "duplicate_column", "no_rows", "bad_coordinate", "swapped_lat_lon", "out_of_area",
    "district_mismatch", "duplicate_in_file", "duplicate_existing", "unknown_id",
    "unknown_service", "bad_opening_hours", "bad_text", "bad_value",
    "outside_your_district",
)


@dataclass(frozen=True)
class Problem:
    """One problem: where (``row``, ``column``), what (``code``) and a message per language.

    Attributes
    ----------
    row : int or None
        The row number as the user sees it (see :class:`~locator.imports.table.Table`);
        ``None`` for problems of the whole file.
    column : str or None
        The header as it is written in the file (or the Chinese header of a missing
        column; ``"geometry"`` for a feature's geometry), ``None`` when no column is
        concerned.
    code : str
        One of :data:`CODES`.
    zh, en : str
        The message in Chinese and in English.
    """

    row: int | None
    column: str | None
    code: str
    zh: str
    en: str

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The problem as the import report lists it (JSON-ready).

        Parameters
        ----------
        lang : str
            ``zh`` or ``en``: the language of ``message``.

        Returns
        -------
        dict
            ``{"row", "column", "code", "message"}``.

        Examples
        --------
        >>> Problem(3, "经度", "bad_coordinate", "经度有误", "bad longitude").to_dict("en")
        {'row': 3, 'column': '经度', 'code': 'bad_coordinate', 'message': 'bad longitude'}
        """
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": self.en if lang == "en" else self.zh}


class CellError(Exception):
    """A cell (or form field) whose value breaks an import rule.

    Raised by the cell rules (:func:`~locator.imports.cells.clean_text`,
    :func:`~locator.imports.cells.normalise_hours`, ...); the caller turns it into a
    :class:`Problem` at the cell's row and column, or a form field's problem.

    Parameters
    ----------
    zh, en : str
        What is wrong (and how to fix it), in Chinese and English.
    code : str, optional
        The problem code (one of :data:`CODES`); ``None`` leaves it to the caller.
    """

    def __init__(self, zh: str, en: str, code: str | None = None):
        super().__init__(zh)
        self.zh, self.en, self.code = zh, en, code
