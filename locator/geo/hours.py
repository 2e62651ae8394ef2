"""Opening hours in OpenStreetMap ``opening_hours`` syntax, evaluated in Asia/Shanghai.

Parsing goes through the maintained ``opening-hours-py`` parser with China's public-holiday
calendar (``PH`` rules). Parsed expressions are cached: thousands of sites share a few
hundred distinct expressions.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

TZ = ZoneInfo("Asia/Shanghai")

__all__ = ["TZ", "is_valid", "open_at", "parse"]


@lru_cache(maxsize=4096)
def parse(expression: str):
    """The parsed expression, or ``None`` when it is empty or not valid syntax.

    Parameters
    ----------
    expression : str
        OSM ``opening_hours`` value, e.g. ``"Mo-Fr 08:30-17:30; PH off"``.

    Returns
    -------
    opening_hours.OpeningHours or None
        Evaluates in Asia/Shanghai with China's public holidays; cached per expression
        (up to 4,096), so treat it as read-only.
    """
    if not expression or not expression.strip():
        return None
    try:
        return opening_hours.OpeningHours(expression, country="CN", timezone=TZ)
    except (opening_hours.ParserError, SyntaxError, ValueError):
        return None


def is_valid(expression: str) -> bool:
    """True when ``expression`` is valid ``opening_hours`` syntax.

    Parameters
    ----------
    expression : str
        OSM ``opening_hours`` value.

    Returns
    -------
    bool
        ``False`` also for an empty or blank expression.

    Examples
    --------
    >>> is_valid("Mo-Fr 08:30-17:30; PH off"), is_valid("open sometimes"), is_valid("")
    (True, False, False)
    """
    return parse(expression) is not None


def open_at(expression: str, when: dt.datetime) -> bool | None:
    """Whether a site with these hours is open at ``when``.

    Parameters
    ----------
    expression : str
        OSM ``opening_hours`` value, e.g. ``"Mo-Fr 08:30-17:30; PH off"``.
    when : datetime.datetime
        An aware datetime in any zone, judged in Asia/Shanghai (naive ones are taken as
        Asia/Shanghai local time).

    Returns
    -------
    bool or None
        Whether the site is open at ``when``; ``None`` when the hours are unknown
        (empty, unparseable, or ``unknown`` state).

    Examples
    --------
    >>> open_at("Mo-Fr 09:00-17:00; PH off", dt.datetime(2026, 10, 1, 10, tzinfo=TZ))
    False
    >>> open_at("24/7", dt.datetime(2026, 10, 1, 3, tzinfo=TZ))
    True
    """
    parsed = parse(expression)
    if parsed is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=TZ)
    else:
        when = when.astimezone(TZ)
    if parsed.is_unknown(when):
        return None
    return bool(parsed.is_open(when))
