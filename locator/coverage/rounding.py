"""Numbers rounded for reading: the JSON report and every export show the same digits.

Values go through :func:`locator.jsonio.plain` first (numpy scalars to Python, NaN to
None), then the keys of :data:`DIGITS` are rounded: persons to whole numbers, km² to
3 decimals (1,000 m²), shares to 4, metres to 1 decimal, WGS-84 degrees to 6 (about
0.1 m).
"""

from __future__ import annotations

from collections.abc import Mapping

from locator.jsonio import plain

__all__ = ["DIGITS", "area_row", "rounded"]

#: Decimals kept per key (0: a whole number, as int).
DIGITS = {"population": 0, "population_covered": 0, "area_km2": 3, "covered_km2": 3,
          "share_area": 4, "share_demand": 4, "stations_per_10k": 3, "unmet_demand": 0,
          "share_uncovered": 4, "nearest_station_m": 1, "demand_added": 0,
          "share_demand_after": 4, "lon": 6, "lat": 6}


def rounded(row: Mapping) -> dict:
    """A row with plain JSON values, the keys of :data:`DIGITS` rounded.

    Parameters
    ----------
    row : mapping
        Figures as the engine's tables hold them (numpy scalars, NaN).

    Returns
    -------
    dict
        The same keys in the same order.

    Examples
    --------
    >>> rounded({"name": "x", "population": 12.6, "share_area": 0.123456, "other": 1.23456})
    {'name': 'x', 'population': 13, 'share_area': 0.1235, 'other': 1.23456}
    """
    out = {}
    for key, value in row.items():
        value = plain(value)
        if isinstance(value, float) and key in DIGITS:
            value = round(value, DIGITS[key]) if DIGITS[key] else int(round(value))
        out[key] = value
    return out


def area_row(row: Mapping, level: str) -> dict:
    """A row of a figures table as the report lists it, rounded.

    Parameters
    ----------
    row : mapping
        A row with :data:`locator.coverage.figures.FIGURE_COLUMNS`.
    level : {"county", "district"}
        ``code``/``name`` become ``<level>_code``/``<level>_name``; a district row drops
        its (redundant) ``district_code``/``district_name``.

    Returns
    -------
    dict
    """
    row = rounded(row)
    code, name = row.pop("code"), row.pop("name")
    if level == "district":
        row.pop("district_code"), row.pop("district_name")
    return {f"{level}_code": code, f"{level}_name": name, **row}
