"""Read models built from the store: one consistent snapshot of the sites per version."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import select

from locator.jsonio import dumps, plain
from locator.store.models import Meta, Station
from locator.store.store import Store
from locator.vocabulary import KINDS

# The record fields the public API shows, in order (``updated_by`` names staff: not public).
PUBLIC_FIELDS = (
    "id", "kind", "name", "address", "district_code", "district_name", "county_code",
    "county_name", "lon", "lat", "source_datum", "services", "opening_hours", "host", "phone",
    "status", "reopen_date", "status_reason", "verified_at", "updated_at", "synthetic",
)

# Columns of the compact map payload, in order (see :func:`compact_sites_json`).
COMPACT_FIELDS = ("lon", "lat", "kind", "id", "name", "status")


@dataclass(frozen=True)
class SitesSnapshot:
    """Every site that is not removed, as of one ``data_version``.

    The derived views (JSON payloads, the nearest index) are built on first use and kept
    for the snapshot's life, so treat ``sites`` as read-only.

    Attributes
    ----------
    version : int
        The store's ``data_version`` the rows were read at.
    sites : pandas.DataFrame
        One row per site, in id order, index 0..n-1, with the station-record columns
        (:class:`locator.store.models.Station`); ``lon``/``lat`` are WGS-84
        longitude/latitude in degrees (EPSG:4326). Positions elsewhere index these rows.

    Examples
    --------
    >>> snap = SitesSnapshot(7, pd.DataFrame({
    ...     "id": ["HB130102-0001", "HB131182-0001"], "kind": ["station", "mother_room"],
    ...     "district_code": ["130100", "131100"],
    ...     "lon": [114.653185, 115.663431], "lat": [38.087038, 37.952974]}))
    >>> snap.select(bbox=(114.0, 37.5, 115.0, 38.5)).tolist()
    [0]
    >>> snap.counts(), snap.position_of["HB131182-0001"]
    ({'station': 1, 'mother_room': 1}, 1)
    """

    version: int
    sites: pd.DataFrame

    @cached_property
    def synthetic(self) -> bool:
        """Whether any site is generated demo data (pages and the API then say so).

        Returns
        -------
        bool
        """
        return bool(self.sites["synthetic"].any()) if len(self.sites) else False

    @cached_property
    def compact_json(self) -> bytes:
        """The map payload of this snapshot, serialised once.

        Returns
        -------
        bytes
            UTF-8 JSON from :func:`compact_sites_json`.
        """
        return compact_sites_json(self)

    @cached_property
    def search_rows(self) -> list[list[str]]:
        """Per site, in :attr:`sites` order: ``[address, pinyin initials of the name]`` —
        what the offline search box needs beyond the map payload (loaded on first use).

        Returns
        -------
        list of list of str
            See :func:`initials`.
        """
        return [[address, initials(name)]
                for name, address in zip(self.sites["name"], self.sites["address"],
                                         strict=True)]

    @cached_property
    def index(self):
        """The nearest-site index of this snapshot (built on first use).

        Returns
        -------
        locator.geo.index.SiteIndex
            Over :attr:`sites` (same positions), tagged with :attr:`version`; searches in
            geodesic metres on the WGS-84 ellipsoid.
        """
        from locator.geo.index import SiteIndex

        return SiteIndex(self.sites, self.version)

    @cached_property
    def feature_heads(self) -> list[str]:
        """Per site (rows of :attr:`sites`), its GeoJSON Feature as JSON text *without* the
        two closing braces, so a response can append members such as ``distance_m``.

        Returns
        -------
        list of str
            Point geometry in WGS-84 longitude/latitude degrees (RFC 7946, EPSG:4326), as
            stored; properties are :data:`PUBLIC_FIELDS` (``updated_at`` UTC, ISO 8601).
        """
        return [_feature_head(row) for row in self.sites.itertuples(index=False)]

    def navigation_json(self, pos: int) -> str:
        """The navigation-app links of one site as JSON text (see geo/navigation.py).

        Parameters
        ----------
        pos : int
            Row of :attr:`sites`.

        Returns
        -------
        str
            JSON array from :func:`locator.geo.navigation.navigation_links` (each link
            says the datum of its point: WGS-84 or GCJ-02).
        """
        from locator.geo.navigation import navigation_links

        row = self.sites.iloc[pos]
        return dumps(navigation_links(row["lon"], row["lat"], row["name"],
                                            row["address"]))

    @cached_property
    def position_of(self) -> dict[str, int]:
        """Site id → its row of :attr:`sites`.

        Returns
        -------
        dict of str to int
        """
        return {sid: i for i, sid in enumerate(self.sites["id"])}

    def select(self, *, bbox=None, district=None, kind=None) -> np.ndarray:
        """Positions of the sites inside ``bbox`` (WGS-84 lon/lat, edges included), of a
        district and of a kind; in id order.

        Parameters
        ----------
        bbox : (min_lon, min_lat, max_lon, max_lat), optional
            WGS-84 degrees (EPSG:4326); edges included. Does not wrap the antimeridian.
        district : str, optional
            6-digit union-district code.
        kind : {"station", "mother_room"}, optional

        Returns
        -------
        numpy.ndarray of int
            Rows of :attr:`sites`; every site when no filter is given.
        """
        s = self.sites
        keep = np.ones(len(s), dtype=bool)
        if bbox is not None:
            w, south, e, n = bbox
            lon, lat = s["lon"].to_numpy(), s["lat"].to_numpy()
            keep &= (lon >= w) & (lon <= e) & (lat >= south) & (lat <= n)
        if district is not None:
            keep &= (s["district_code"] == district).to_numpy()
        if kind is not None:
            keep &= (s["kind"] == kind).to_numpy()
        return np.flatnonzero(keep)

    def counts(self) -> dict[str, int]:
        """Sites per kind.

        Returns
        -------
        dict of str to int
            Every kind of :data:`locator.vocabulary.KINDS`, in that order (0 when none).
        """
        counts = self.sites["kind"].value_counts() if len(self.sites) else {}
        return {kind: int(counts.get(kind, 0)) for kind in KINDS}


def _feature_head(row) -> str:
    props = {f: plain(getattr(row, f)) for f in PUBLIC_FIELDS}
    props["services"] = list(props["services"] or [])
    feature = {
        "type": "Feature",
        "id": row.id,
        "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
        "properties": props,
    }
    text = dumps(feature)
    assert text.endswith("}}")
    return text[:-2]


def _first_letter(reading: str) -> str:
    letter = unicodedata.normalize("NFKD", reading)[:1].lower()
    return letter if letter.isascii() and letter.isalpha() else ""


@lru_cache(maxsize=1)
def _initial_tables() -> tuple[dict[str, str], dict[str, str]]:
    """Character -> initial of its most common reading, and two-character word ->
    initials (pypinyin's tables), so that 银行 gives "yh" and 长安 "ca"."""
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    chars = {chr(code): _first_letter(r.split(",")[0]) for code, r in pinyin_dict.items()}
    words = {w: "".join(_first_letter(r[0]) for r in readings)
             for w, readings in phrases_dict.items() if len(w) == 2}
    return chars, words


def initials(text: str) -> str:
    """Pinyin initials of the Chinese characters in ``text``, for offline search.

    Two-character words come first (greedy), then single characters: fast enough for
    thousands of names, and right for the common heteronyms.

    Parameters
    ----------
    text : str
        A site name.

    Returns
    -------
    str
        Lowercase ASCII letters, at most one per Chinese character; other characters (Latin
        letters and digits included) give nothing.

    Examples
    --------
    >>> initials("石家庄长安区建设银行")
    'sjzcaqjsyh'
    """
    chars, words = _initial_tables()
    out, i = [], 0
    while i < len(text):
        pair = words.get(text[i:i + 2])
        if pair is not None and len(pair) == 2:
            out.append(pair)
            i += 2
        else:
            out.append(chars.get(text[i], ""))
            i += 1
    return "".join(out)


def load_snapshot(store: Store) -> SitesSnapshot:
    """Read the version and the sites in one transaction, so they agree.

    Parameters
    ----------
    store : Store
        A migrated store.

    Returns
    -------
    SitesSnapshot
        Sites that are not removed, in id order (``lon``/``lat`` WGS-84 degrees,
        ``updated_at`` UTC aware datetimes).
    """
    columns = [c for c in Station.__table__.columns]
    with store.read() as session, session.begin():
        version = session.scalar(select(Meta.data_version).where(Meta.id == 1)) or 0
        rows = session.execute(
            select(*columns).where(Station.status != "removed").order_by(Station.id)
        ).all()
    sites = pd.DataFrame(rows, columns=[c.name for c in columns])
    return SitesSnapshot(version=int(version), sites=sites)


def compact_sites_json(snapshot: SitesSnapshot) -> bytes:
    """The map's station payload: positional arrays, lon/lat at 5 decimals (~1 m).

    Station text is plain JSON data here; the page inserts it with ``textContent``,
    never as HTML.

    Parameters
    ----------
    snapshot : SitesSnapshot
        The sites to send.

    Returns
    -------
    bytes
        UTF-8 JSON ``{"version", "synthetic", "kinds", "fields", "sites"}``: each site is
        an array in :data:`COMPACT_FIELDS` order, ``lon``/``lat`` in WGS-84 degrees
        (EPSG:4326) rounded to 5 decimals, ``kind`` an index into ``kinds``.
    """
    s = snapshot.sites
    kind_index = {k: i for i, k in enumerate(KINDS)}
    rows = [
        [round(lon, 5), round(lat, 5), kind_index[kind], sid, name, status]
        for lon, lat, kind, sid, name, status in zip(
            s["lon"], s["lat"], s["kind"], s["id"], s["name"], s["status"], strict=True)
    ]
    payload = {
        "version": snapshot.version,
        "synthetic": snapshot.synthetic,
        "kinds": list(KINDS),
        "fields": list(COMPACT_FIELDS),
        "sites": rows,
    }
    return dumps(payload).encode("utf-8")
