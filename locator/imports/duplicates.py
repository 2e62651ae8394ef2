"""The duplicate rule of an import (:data:`DUPLICATE_RULE`).

Two sites of the same kind are the same site when they are within :data:`SAME_PLACE_M`
metres of each other, or have the same name key
(:func:`~locator.imports.cells.name_key`: NFKC, case-folded, without spaces and
punctuation) within :data:`SAME_NAME_M` metres; distances are geodesic on WGS-84.
``duplicate_in_file`` flags the later row (and a repeated 编号), ``duplicate_existing`` a
row that would duplicate a site already in the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from locator.imports.cells import name_key
from locator.imports.problems import Problem
from locator.imports.rows import Row

__all__ = ["DUPLICATE_RULE", "SAME_NAME_M", "SAME_PLACE_M", "flag_duplicates"]

#: Two sites of one kind closer than this are the same site, whatever their names.
SAME_PLACE_M = 10.0
#: Two sites of one kind with the same name key closer than this are the same site.
SAME_NAME_M = 100.0
#: The rule in words, for messages and the template: (Chinese, English).
DUPLICATE_RULE = (
    f"同一类型、相距 {SAME_PLACE_M:g} 米以内，或同名且相距 {SAME_NAME_M:g} 米以内",
    f"same kind and within {SAME_PLACE_M:g} m, or same name within {SAME_NAME_M:g} m",
)

_GEOD = Geod(ellps="WGS84")
_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
# Planar candidates with a margin for UTM's scale (< 1.006 in Hebei), then geodesic.
_RADIUS_M = SAME_NAME_M * 1.01 + 1.0


def flag_duplicates(rows: list[Row], existing: pd.DataFrame | None,
                    header: dict[str, str]) -> None:
    """Add ``duplicate_in_file`` and ``duplicate_existing`` problems to ``rows``.

    Parameters
    ----------
    rows : list of Row
        Rows after :func:`~locator.imports.coordinates.locate_rows`: only those with
        WGS-84 ``lon``/``lat`` values take part in the spatial rule.
    existing : pandas.DataFrame or None
        The store's sites (``id``, ``kind``, ``name``, ``lon``, ``lat`` in WGS-84
        degrees, ``status``); removed sites and the sites the file updates (by 编号) are
        not compared.
    header : dict of str to str
        Field → header as written (the problems' ``column``).
    """
    column = header.get("name", "名称")
    _repeated_ids(rows, header)
    placed = _Placed.of([row for row in rows if "lon" in row.values])
    if placed is None:
        return
    _in_file(placed, column)
    if existing is None or not len(existing):
        return
    ids_in_file = {row.id for row in rows if row.id}
    others = existing[(existing["status"] != "removed") & ~existing["id"].isin(ids_in_file)]
    if len(others):
        _against_existing(placed, others, column)


@dataclass(frozen=True)
class _Placed:
    """The rows with a WGS-84 point: degrees, UTM 50N points (metres), kinds, name keys."""

    rows: list[Row]
    lon: np.ndarray
    lat: np.ndarray
    points: np.ndarray
    kinds: list[str]
    keys: list[str]

    @classmethod
    def of(cls, rows: list[Row]) -> _Placed | None:
        """The rows' points and keys; ``None`` when there are no rows.

        Parameters
        ----------
        rows : list of Row
            Rows with WGS-84 ``lon``/``lat`` values.

        Returns
        -------
        _Placed or None
        """
        if not rows:
            return None
        lon = np.array([row.values["lon"] for row in rows])
        lat = np.array([row.values["lat"] for row in rows])
        x, y = _TO_METRIC.transform(lon, lat)
        kinds = [row.values.get("kind", "station") for row in rows]
        keys = [name_key(row.values.get("name", "")) for row in rows]
        return cls(rows, lon, lat, shapely.points(x, y), kinds, keys)


def _repeated_ids(rows: list[Row], header: dict[str, str]) -> None:
    """The same 编号 twice: the later row is ``duplicate_in_file``."""
    first_of_id: dict[str, int] = {}
    for row in rows:
        if row.id is None:
            continue
        if row.id in first_of_id:
            row.problems.append(Problem(
                row.number, header.get("id", "编号"), "duplicate_in_file",
                f"编号「{row.id}」与第 {first_of_id[row.id]} 行重复",
                f"the id {row.id!r} repeats row {first_of_id[row.id]}"))
        else:
            first_of_id[row.id] = row.number


def _in_file(placed: _Placed, column: str) -> None:
    """Pairs of rows in the file that are one site: the later one is flagged."""
    rows, kinds, keys = placed.rows, placed.kinds, placed.keys
    a, b = shapely.STRtree(placed.points).query(placed.points, predicate="dwithin",
                                                distance=_RADIUS_M)
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return
    flagged: set[int] = set()
    _, _, dist_m = _GEOD.inv(placed.lon[a], placed.lat[a], placed.lon[b], placed.lat[b])
    for k in np.lexsort((a, b)):
        i, j = int(a[k]), int(b[k])
        if j in flagged or kinds[i] != kinds[j]:
            continue
        same_name = keys[i] == keys[j] and keys[i] != ""
        if dist_m[k] <= SAME_PLACE_M or (same_name and dist_m[k] <= SAME_NAME_M):
            flagged.add(j)
            first = rows[i]
            rows[j].problems.append(Problem(
                rows[j].number, column, "duplicate_in_file",
                f"与第 {first.number} 行「{first.values.get('name', '')}」重复（相距 "
                f"{dist_m[k]:.0f} 米）；同一站点只保留一行",
                f"duplicates row {first.number} ({first.values.get('name', '')!r}, "
                f"{dist_m[k]:.0f} m apart); keep one row per site"))


def _against_existing(placed: _Placed, others: pd.DataFrame, column: str) -> None:
    """Rows that are a site already in the store: the nearest such site is named."""
    olon, olat = others["lon"].to_numpy(float), others["lat"].to_numpy(float)
    ox, oy = _TO_METRIC.transform(olon, olat)
    a, b = shapely.STRtree(shapely.points(ox, oy)).query(placed.points, predicate="dwithin",
                                                          distance=_RADIUS_M)
    if not len(a):
        return
    kinds, keys = placed.kinds, placed.keys
    _, _, dist_m = _GEOD.inv(placed.lon[a], placed.lat[a], olon[b], olat[b])
    okinds, onames, oids = (others[c].to_numpy() for c in ("kind", "name", "id"))
    done: set[int] = set()
    for k in np.lexsort((dist_m, a)):
        i, j = int(a[k]), int(b[k])
        if i in done or kinds[i] != okinds[j]:
            continue
        same_name = keys[i] == name_key(str(onames[j])) and keys[i] != ""
        if dist_m[k] <= SAME_PLACE_M or (same_name and dist_m[k] <= SAME_NAME_M):
            done.add(i)
            row = placed.rows[i]
            hint = ("如要更新它，请在「编号」列填写 " + oids[j]) if row.id is None else \
                "两个站点不能在同一位置"
            hint_en = (f"to update it, put {oids[j]} in the id column" if row.id is None
                       else "two sites cannot share one place")
            row.problems.append(Problem(
                row.number, column, "duplicate_existing",
                f"与已有站点 {oids[j]}「{onames[j]}」重复（相距 {dist_m[k]:.0f} 米）；{hint}",
                f"duplicates the existing site {oids[j]} ({onames[j]!r}, {dist_m[k]:.0f} m "
                f"apart); {hint_en}"))
