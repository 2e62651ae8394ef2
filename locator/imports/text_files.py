"""Text uploads: the decoder (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16 with BOM) and CSV.

A CSV's delimiter (comma, tab or semicolon) is the one that gives the widest rows near the
top; its header is found as in any spreadsheet (:func:`locator.imports.table.grid_table`).
GeoJSON is text too and goes through :func:`decode_text`
(:mod:`locator.imports.gis_files`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from locator.imports.table import (
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    Cell,
    Limits,
    Table,
    grid_table,
    unreadable,
)

__all__ = ["decode_text", "read_csv"]


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode an uploaded text file, whatever Excel or a Chinese desktop wrote.

    Parameters
    ----------
    data : bytes
        The file's bytes.

    Returns
    -------
    (text, encoding) : (str, str)
        ``encoding`` is ``utf-8-sig`` (a UTF-8 BOM), ``utf-16`` (a UTF-16 BOM, Excel's
        "Unicode text"), ``utf-8``, or else ``gb18030`` (a superset of GBK and GB2312).

    Raises
    ------
    UploadRefused
        ``unreadable_file`` when no candidate decodes the bytes.

    Examples
    --------
    >>> decode_text("名称".encode("gbk"))
    ('名称', 'gb18030')
    >>> decode_text(b"\\xef\\xbb\\xbfname")
    ('name', 'utf-8-sig')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise unreadable(
        "无法识别文件的文字编码。请在 Excel 中另存为“CSV UTF-8”或 .xlsx。",
        "Unknown text encoding: save the file as CSV UTF-8 or .xlsx.",
    )


def _csv_records(text: str, delimiter: str) -> Iterable[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def _pick_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    best, best_width = ",", 0
    for delimiter in (",", "\t", ";"):
        try:
            width = max((len(r) for r in _csv_records(sample, delimiter)), default=0)
        except csv.Error:
            continue
        if width > best_width:
            best, best_width = delimiter, width
    return best


def read_csv(data: bytes, limits: Limits) -> Table:
    """Read a CSV (or tab- or semicolon-separated) upload.

    Parameters
    ----------
    data : bytes
        The file's bytes (see :func:`decode_text` for the encodings).
    limits : Limits
        ``max_rows``; columns beyond :data:`~locator.imports.table.MAX_COLUMNS` are
        dropped.

    Returns
    -------
    Table
        Rows numbered as a spreadsheet shows them; ``encoding`` says what was detected.

    Raises
    ------
    UploadRefused
        ``unreadable_file`` (encoding, an unpaired quote) or ``too_many_rows``.
    """
    text, encoding = decode_text(data)
    delimiter = _pick_delimiter(text)
    grid: list[tuple[int, list[Cell]]] = []
    try:
        for number, record in enumerate(_csv_records(text, delimiter), start=1):
            grid.append((number, list(record[:MAX_COLUMNS])))
            if len(grid) > limits.max_rows + HEADER_SEARCH_ROWS + 1:
                break
    except csv.Error as e:
        raise unreadable(
            f"CSV 格式有误（第 {len(grid) + 1} 行附近，可能有未配对的引号）。",
            f"Malformed CSV near row {len(grid) + 1} (an unpaired quote?).",
        ) from e
    table = grid_table("csv", grid, limits)
    table.encoding = encoding
    return table
