"""Counted searches: a privacy-minded tally of where people look for a station.

Every successful ``/api/v1/nearest`` request adds one to a counter keyed by the H3
resolution-8 cell of the search point (about 0.5 km², an area ~700 m across), the
Asia/Shanghai day and whether the nearest active result was farther than
:data:`SEARCH_RADIUS_M` (1 km, the ACFTU target). **Nothing else is kept**: no
coordinates, no IP address, no account, no user agent, no time of day, no filters.
Searches outside :data:`COUNT_BOUNDS` (Hebei and its surroundings, WGS-84) are not
counted, which also bounds the table at one row per cell, day and flag.

Each worker buffers its counts in memory (:class:`SearchCounter`) and writes them in
one transaction every :data:`FLUSH_EVERY_S` seconds or :data:`FLUSH_AT_KEYS` distinct
keys (after the response has been sent), and when the process exits. Counts are not
station data: writing them never bumps ``data_version`` and never rebuilds an index.
The worker's counter is made once per app and kept with the rest of its long-lived state
(``app.extensions["locator"].searches``, see ``locator.web.state``).

When counts are shown per cell, cells with fewer than :data:`MIN_SHOWN` searches in
the period are left out (k-anonymity-style: a handful of searches from a village
could point at a person); totals per district include them.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import h3
import numpy as np
import pandas as pd
from sqlalchemy import func, select

from locator.geo.hours import TZ, today
from locator.store.models import SearchCount

__all__ = [
    "COUNT_BOUNDS", "FLUSH_AT_KEYS", "FLUSH_EVERY_S", "MIN_SHOWN", "SEARCH_DAYS",
    "SEARCH_RADIUS_M", "SEARCH_RESOLUTION", "TZ", "SearchCounter", "district_search_summary",
    "record_counts", "search_cell", "search_cells", "search_window",
    "today",
]

#: The distance that decides the "beyond" flag of a counted search (metres, geodesic).
SEARCH_RADIUS_M = 1000
#: H3 resolution of the counted cells (about 0.5 km² in Hebei).
SEARCH_RESOLUTION = 8
#: Searches are counted only inside this lon/lat box (Hebei with a margin; WGS-84).
COUNT_BOUNDS = (113.0, 35.5, 120.5, 43.0)
FLUSH_EVERY_S = 5.0
FLUSH_AT_KEYS = 5000
#: Cells with fewer searches than this in a period are not shown one by one.
MIN_SHOWN = 5
#: The searches demand counts this many full days, up to yesterday (Asia/Shanghai).
SEARCH_DAYS = 30


def search_cell(lon: float, lat: float) -> str | None:
    """The counted cell of a search point.

    Parameters
    ----------
    lon, lat : float
        The search point, WGS-84 degrees.

    Returns
    -------
    str or None
        Its H3 resolution-8 cell (hex), or None outside :data:`COUNT_BOUNDS`.

    Examples
    --------
    >>> search_cell(114.5149, 38.0428)
    '88319c9101fffff'
    >>> search_cell(121.47, 31.23) is None
    True
    """
    w, s, e, n = COUNT_BOUNDS
    if not (w <= lon <= e and s <= lat <= n):
        return None
    return h3.latlng_to_cell(lat, lon, SEARCH_RESOLUTION)


def record_counts(store, counts: Mapping[tuple[str, dt.date, bool], int], *,
                  keep_days: int | None = None, until: dt.date | None = None) -> int:
    """Add counts to the store in one transaction.

    Parameters
    ----------
    store : locator.store.store.Store
    counts : mapping
        ``(cell, day, beyond_r) -> searches``; cell an H3 res-8 hex string, day an
        Asia/Shanghai date.
    keep_days : int, optional
        In the same transaction, delete the counts of days more than this many days
        before ``until`` (default: today, Asia/Shanghai). None keeps everything.
    until : datetime.date, optional
        See ``keep_days``.

    Returns
    -------
    int
        How many keys were written.
    """
    rows = [{"cell": c, "day": d, "beyond_r": bool(b), "count": int(n)}
            for (c, d, b), n in counts.items() if n > 0]
    if not rows:
        return 0
    stmt = store.insert(SearchCount.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["cell", "day", "beyond_r"],
        set_={"count": SearchCount.__table__.c.count + stmt.excluded["count"]})
    # Core on a plain connection: not a Versioned model, so data_version stays put.
    with store.engine.begin() as conn:
        conn.execute(stmt, rows)
        if keep_days is not None:
            oldest = (until or today()) - dt.timedelta(days=keep_days)
            conn.execute(SearchCount.__table__.delete().where(
                SearchCount.__table__.c.day < oldest))
    return len(rows)


@dataclass(eq=False)
class SearchCounter:
    """Per-worker buffer of search counts, written in batches (see the module notes).

    Parameters
    ----------
    store : locator.store.store.Store
    flush_every_s : float
        A flush is due this many seconds after the last one.
    flush_at_keys : int
        ... or once the buffer holds this many distinct (cell, day, flag) keys.
    keep_days : int, optional
        Counts of older days are deleted at each flush (see :func:`record_counts`).
    """

    store: object
    flush_every_s: float = FLUSH_EVERY_S
    flush_at_keys: int = FLUSH_AT_KEYS
    keep_days: int | None = None
    _buffer: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _flushed_at: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        atexit.register(_flush_at_exit, weakref.ref(self))

    def count(self, lon: float, lat: float, beyond: bool, day: dt.date) -> bool:
        """Count one search.

        Only the cell of the point is kept (nothing when it is outside COUNT_BOUNDS).

        Parameters
        ----------
        lon, lat : float
            The search point, WGS-84 degrees.
        beyond : bool
            Whether the nearest active station was farther than :data:`SEARCH_RADIUS_M`.
        day : datetime.date
            The Asia/Shanghai day of the search.

        Returns
        -------
        bool
            True when a flush is due (call :meth:`flush` after the response is sent).
        """
        cell = search_cell(lon, lat)
        if cell is None:
            return False
        key = (cell, day, bool(beyond))
        with self._lock:
            self._buffer[key] = self._buffer.get(key, 0) + 1
            size = len(self._buffer)
        return size >= self.flush_at_keys or (
            time.monotonic() - self._flushed_at >= self.flush_every_s)

    def pending(self) -> int:
        """How many searches are buffered and not written yet.

        Returns
        -------
        int
        """
        with self._lock:
            return sum(self._buffer.values())

    def flush(self) -> int:
        """Write the buffered counts in one transaction.

        On a database error the counts go back into the buffer for the next flush.

        Returns
        -------
        int
            How many (cell, day, flag) keys were written.
        """
        with self._lock:
            batch, self._buffer = self._buffer, {}
            self._flushed_at = time.monotonic()
        if not batch:
            return 0
        try:
            return record_counts(self.store, batch, keep_days=self.keep_days)
        except Exception:
            with self._lock:
                for key, n in batch.items():
                    self._buffer[key] = self._buffer.get(key, 0) + n
            raise


def _flush_at_exit(ref) -> None:
    counter = ref()
    if counter is None:
        return
    try:
        counter.flush()
    except Exception:  # the process is ending: say so, but do not fail its exit
        logging.getLogger(__name__).exception("search counts not written at exit")


def search_window(days: int = SEARCH_DAYS, until: dt.date | None = None
                  ) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive) of the last ``days`` full days before today.

    Parameters
    ----------
    days : int
        How many days.
    until : datetime.date, optional
        The last day; default yesterday (Asia/Shanghai).

    Returns
    -------
    (datetime.date, datetime.date)

    Examples
    --------
    >>> search_window(3, until=dt.date(2026, 11, 20))
    (datetime.date(2026, 11, 18), datetime.date(2026, 11, 20))
    """
    last = (until or today() - dt.timedelta(days=1))
    return last - dt.timedelta(days=days - 1), last


def search_cells(store, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Searches per cell between two days (inclusive), all cells, unsuppressed.

    Parameters
    ----------
    store : locator.store.store.Store
    first, last : datetime.date
        Asia/Shanghai days, inclusive.

    Returns
    -------
    pandas.DataFrame
        Columns ``cell`` (H3 hex), ``searches``, ``beyond`` (searches whose nearest
        active result was beyond :data:`SEARCH_RADIUS_M`), one row per cell.
    """
    t = SearchCount.__table__
    beyond = func.sum(t.c.count * t.c.beyond_r.cast(t.c.count.type))
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.c.cell, func.sum(t.c.count), beyond)
            .where(t.c.day >= first, t.c.day <= last).group_by(t.c.cell)).all()
    frame = pd.DataFrame(rows, columns=["cell", "searches", "beyond"])
    return frame.astype({"searches": np.int64, "beyond": np.int64})


def district_search_summary(store, regions, first: dt.date, last: dt.date) -> list[dict]:
    """Per union district: searches between two days, and the share beyond 1 km.

    District totals include every cell (no suppression: a district is large). A cell
    belongs to the district holding its centre; cells outside Hebei are summed as
    ``district_code`` None.

    Parameters
    ----------
    store : locator.store.store.Store
    regions : locator.geo.regions.Regions
        Districts (WGS-84) that the cells' centres are located in.
    first, last : datetime.date
        Asia/Shanghai days, inclusive.

    Returns
    -------
    list of dict
        ``district_code``, ``district_name``, ``searches``, ``beyond``, ``beyond_share``
        (None when there were no searches), one per district in code order, then the
        outside row when it has searches.
    """
    cells = search_cells(store, first, last)
    names = regions.district_names()
    if len(cells):
        latlng = np.array([h3.cell_to_latlng(c) for c in cells["cell"]]).reshape(-1, 2)
        found = regions.locate(latlng[:, 1], latlng[:, 0])
        cells["district_code"] = found["district_code"].to_numpy()
    else:
        cells["district_code"] = []
    sums = cells.groupby(cells["district_code"].fillna(""))[["searches", "beyond"]].sum()
    out = []
    for code in [*names, ""]:
        n = int(sums["searches"].get(code, 0))
        b = int(sums["beyond"].get(code, 0))
        if code == "" and n == 0:
            continue
        out.append({"district_code": code or None, "district_name": names.get(code),
                    "searches": n, "beyond": b, "beyond_share": b / n if n else None})
    return out
