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

    ``sites`` has one row per site with the station-record columns; ``lon``/``lat`` are
    WGS-84 degrees.
    """

    version: int
    sites: pd.DataFrame

    @cached_property
    def synthetic(self) -> bool:
        return bool(self.sites["synthetic"].any()) if len(self.sites) else False

    @cached_property
    def compact_json(self) -> bytes:
        """The map payload of this snapshot, serialised once."""
        return compact_sites_json(self)

    @cached_property
    def search_rows(self) -> list[list[str]]:
        """Per site, in :attr:`sites` order: ``[address, pinyin initials of the name]`` —
        what the offline search box needs beyond the map payload (loaded on first use)."""
        return [[address, initials(name)]
                for name, address in zip(self.sites["name"], self.sites["address"],
                                         strict=True)]

    @cached_property
    def index(self):
        """The nearest-site index of this snapshot (built on first use)."""
        from locator.geo.index import SiteIndex

        return SiteIndex(self.sites, self.version)

    @cached_property
    def feature_heads(self) -> list[str]:
        """Per site (rows of :attr:`sites`), its GeoJSON Feature as JSON text *without* the
        two closing braces, so a response can append members such as ``distance_m``."""
        return [_feature_head(row) for row in self.sites.itertuples(index=False)]

    def navigation_json(self, pos: int) -> str:
        """The navigation-app links of one site as JSON text (see geo/navigation.py)."""
        from locator.geo.navigation import navigation_links

        row = self.sites.iloc[pos]
        return dumps(navigation_links(row["lon"], row["lat"], row["name"],
                                            row["address"]))

    @cached_property
    def position_of(self) -> dict[str, int]:
        return {sid: i for i, sid in enumerate(self.sites["id"])}

    def select(self, *, bbox=None, district=None, kind=None) -> np.ndarray:
        """Positions of the sites inside ``bbox`` (WGS-84 lon/lat, edges included), of a
        district and of a kind; in id order."""
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
    """Read the version and the sites in one transaction, so they agree."""
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
