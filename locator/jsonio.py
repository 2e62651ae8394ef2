"""JSON, written one way: :func:`plain` makes a value JSON-ready, :func:`dumps` writes it.

Every JSON the app writes (API bodies, the sites payload, GeoJSON exports, JSON inside a
``<script>`` element, the bundled geodata) goes through :func:`dumps`: compact RFC 8259
text in UTF-8, no ``NaN`` or ``Infinity`` (a ``ValueError`` instead), and ``<``, ``>``,
``&``, U+2028 and U+2029 as ``\\u`` escapes, so the same text is safe in an HTTP response,
inside HTML and in a JavaScript string. Flask's own JSON follows the same rule through
``locator.web.state.SafeJSONProvider``, which calls :func:`safe_json_text`.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

__all__ = ["dumps", "plain", "safe_json_text"]


def plain(value):
    """A JSON-ready scalar: numpy scalars become Python ones, NaN, ±inf, ``NaT`` and
    ``NA`` become ``None``, dates and datetimes ISO 8601 text; anything else as it is.

    Parameters
    ----------
    value : object
        One scalar (containers are not walked).

    Returns
    -------
    object
        ``None``, a Python scalar, ISO 8601 text, or ``value`` unchanged. A datetime keeps
        its own offset (the store's are UTC aware, ``+00:00``); a naive one gets none.

    Examples
    --------
    >>> plain(np.float64("nan")), plain(np.int64(3)), plain(dt.date(2026, 12, 7))
    (None, 3, '2026-12-07')
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def safe_json_text(text: str) -> str:
    """JSON text with ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\u`` escapes (the same
    JSON value).

    Parameters
    ----------
    text : str
        Valid JSON text (these characters can only occur inside its strings).

    Returns
    -------
    str
        JSON text that is also safe inside HTML and JavaScript source.

    Examples
    --------
    >>> safe_json_text('"a<b"')
    '"a\\\\u003cb"'
    """
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def dumps(obj) -> str:
    """Compact, safe JSON text of ``obj`` (see the module docstring).

    Parameters
    ----------
    obj : object
        Built from dicts, lists, strings, numbers, booleans and ``None`` (pass other
        scalars through :func:`plain` first).

    Returns
    -------
    str
        No whitespace between tokens; non-ASCII characters other than U+2028 and U+2029
        written as themselves.

    Raises
    ------
    ValueError
        If ``obj`` holds NaN or an infinity.
    TypeError
        If ``obj`` holds a value JSON has no type for.

    Examples
    --------
    >>> dumps({"name": "</script><b>&", "n": 1.5})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026","n":1.5}'
    """
    return safe_json_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                                     allow_nan=False))
