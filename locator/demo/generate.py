"""Deterministic generator of the synthetic demo dataset (示例数据).

The repository ships 5,790 union service stations (``kind="station"``) and 200 loving-mother
rooms (``kind="mother_room"``) so that the app is useful before real lists are uploaded
(DESIGN.md §4). Everything here is invented: names, hosts, addresses, phones and hours are
composed from generic word lists, and every record says ``synthetic: true``.

This module holds the recipe's outline and writes the file; the points are placed by
:mod:`~locator.demo.placement` and described by :mod:`~locator.demo.attributes`.

How the points are placed
-------------------------
1. Each kind's total is split over the 14 union districts in proportion to the 7th-census
   population (:data:`DISTRICTS`) with the largest-remainder method (:func:`allocate`), so
   the totals are exact.
2. Within a district every point comes from a mixture, sampled in UTM zone 50N
   (EPSG:32650, metres): an isotropic Gaussian around the city centre, Gaussians around
   each county's "seat", and (stations only) a uniform rural share over the district's
   bounding box. A county's seat is stood in for by its ``representative_point()`` — the
   geography file has no seat locations — and urban districts (names ending in 区) weigh
   more than counties.
3. Points are converted back to WGS-84 (EPSG:4326), rounded to 6 decimals (about 0.1 m),
   and kept only if ``Regions.locate`` puts the *rounded* point in a county of the intended
   district (rejection sampling). The county a record names is the county ``locate``
   returned, so every point lies in the county it names by construction.

The random streams are ``numpy.random.default_rng`` seeded from ``(seed, district code,
purpose)``, so the output depends only on the seed and the geography file: regenerate
``geodata/demo_sites.geojson`` whenever ``geodata/hebei_regions.geojson`` changes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pyproj import Transformer

from locator import jsonio
from locator.demo.attributes import REFERENCE_DATE, attributes
from locator.demo.placement import METRIC_CRS, district_frames, sample_district
from locator.geo.census import DISTRICTS, District

if TYPE_CHECKING:
    from locator.geo.regions import Regions

__all__ = [
    "DEFAULT_DEMO_PATH",
    "DEFAULT_SEED",
    "DISTRICTS",
    "METRIC_CRS",
    "MOTHER_ROOM_TOTAL",
    "NOTICE",
    "PROPERTY_KEYS",
    "REFERENCE_DATE",
    "STATION_TOTAL",
    "District",
    "allocate",
    "district_allocation",
    "dumps",
    "generate",
    "write_demo",
]

DEFAULT_SEED = 20231231
DEFAULT_DEMO_PATH = Path(__file__).resolve().parents[2] / "geodata" / "demo_sites.geojson"
STATION_TOTAL = 5790
MOTHER_ROOM_TOTAL = 200
GENERATOR = "locator.data.demo"  # the name recorded in geodata/demo_sites.geojson; kept
UPDATED_BY = "demo-generator"
NOTICE = (
    "示例数据：全部为程序生成的虚构站点，不是真实驿站。"
    "Synthetic demo data: every site is generated, none is real."
)

#: Record fields in the order they are written (DESIGN.md §4).
PROPERTY_KEYS = (
    "id", "kind", "name", "address", "district_code", "district_name", "county_code",
    "county_name", "lon", "lat", "source_datum", "services", "opening_hours", "host", "phone",
    "status", "reopen_date", "status_reason", "verified_at", "updated_at", "updated_by",
    "synthetic",
)
# The random stream of each kind's points (the attributes' stream is 2).
_KIND_INDEX = {"station": 0, "mother_room": 1}


# --------------------------------------------------------------------------------------
# Allocation


def allocate(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` over keys in proportion to integer weights (largest remainder).

    Every key first gets the floor of its quota ``total * w / sum(w)``; the units left over
    go to the largest fractional remainders, ties broken by the keys' order in ``weights``.
    The arithmetic is exact (integers), so the result is deterministic.

    Parameters
    ----------
    total : int
        Non-negative number of items to split.
    weights : mapping of str to int
        Non-negative integer weight per key (e.g. population, persons); the sum must be > 0.

    Returns
    -------
    dict of str to int
        Items per key, in the order of ``weights``; sums to ``total`` exactly, and each value
        is its quota rounded down or up.

    Examples
    --------
    >>> allocate(10, {"a": 1, "b": 1, "c": 1})
    {'a': 4, 'b': 3, 'c': 3}
    """
    keys = list(weights)
    values = [int(weights[k]) for k in keys]
    if total < 0 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError("allocate needs total >= 0, weights >= 0 and a positive weight sum")
    denominator = sum(values)
    floors = [total * v // denominator for v in values]
    remainders = [total * v % denominator for v in values]
    left = total - sum(floors)
    order = sorted(range(len(keys)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return dict(zip(keys, floors, strict=True))


def district_allocation() -> dict[str, dict[str, int]]:
    """Sites per district and kind, by largest remainder over census population.

    Returns
    -------
    dict
        ``{"station": {district_code: n, ...}, "mother_room": {...}}``, 14 codes each,
        summing to :data:`STATION_TOTAL` and :data:`MOTHER_ROOM_TOTAL`.
    """
    population = {d.code: d.population for d in DISTRICTS}
    return {
        "station": allocate(STATION_TOTAL, population),
        "mother_room": allocate(MOTHER_ROOM_TOTAL, population),
    }


# --------------------------------------------------------------------------------------
# Public API


def generate(regions: Regions | None = None, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Generate the synthetic demo sites.

    Parameters
    ----------
    regions : Regions, optional
        District and county polygons (EPSG:4326) with ``locate``; by default the bundled
        geography from :func:`locator.geo.regions.load_regions`.
    seed : int, default DEFAULT_SEED
        Seed of every random stream; the same seed and geography give the same records.

    Returns
    -------
    list of dict
        :data:`STATION_TOTAL` stations and :data:`MOTHER_ROOM_TOTAL` mother rooms sorted by
        ``id``, each with the keys of :data:`PROPERTY_KEYS` in that order. ``lon``/``lat``
        are WGS-84 (EPSG:4326) degrees rounded to 6 decimals; the point lies in the county
        it names (as decided by ``regions.locate``); ``synthetic`` is always true.
    """
    if regions is None:
        from locator.geo.regions import load_regions

        regions = load_regions()
    sites = _place(regions, seed)
    _number(sites)
    used: defaultdict[str, set[str]] = defaultdict(set)
    rngs = {d.code: np.random.default_rng([seed, int(d.code), 2]) for d in DISTRICTS}
    by_code = {d.code: d for d in DISTRICTS}
    records = []
    for site in sites:
        d = by_code[site["district_code"]]
        fields = attributes(rngs[d.code], site, d, used[site["county_code"]])
        record = {
            **site, **fields, "district_name": d.name, "source_datum": "wgs84",
            "updated_by": UPDATED_BY, "synthetic": True,
        }
        records.append({k: record[k] for k in PROPERTY_KEYS})
    return records


def _place(regions: Regions, seed: int) -> list[dict[str, Any]]:
    """Every site's point, kind and district: per district and kind, its own stream."""
    frames = district_frames(regions)
    to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    allocation = district_allocation()
    sites: list[dict[str, Any]] = []
    for d in DISTRICTS:
        for kind in ("station", "mother_room"):
            rng = np.random.default_rng([seed, int(d.code), _KIND_INDEX[kind]])
            points = sample_district(regions, frames[d.code], d.code, kind,
                                     allocation[kind][d.code], rng, to_wgs84)
            sites.extend({**p, "kind": kind, "district_code": d.code} for p in points)
    return sites


def _number(sites: list[dict[str, Any]]) -> None:
    """Give ids ``HB<county>-<4 digits>``: per county, stations first, each kind in
    sampling order; then sort ``sites`` by id."""
    sequence: Counter[str] = Counter()
    for site in sorted(sites, key=lambda s: (s["county_code"], _KIND_INDEX[s["kind"]])):
        sequence[site["county_code"]] += 1
        site["id"] = f"HB{site['county_code']}-{sequence[site['county_code']]:04d}"
    sites.sort(key=lambda s: s["id"])


def _counts(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Sites per kind, and per district and kind (for the file's metadata)."""
    per = Counter((r["district_code"], r["kind"]) for r in records)
    return {
        "station": sum(v for (_, k), v in per.items() if k == "station"),
        "mother_room": sum(v for (_, k), v in per.items() if k == "mother_room"),
        "by_district": {
            d.code: {"name": d.name, "station": per[d.code, "station"],
                     "mother_room": per[d.code, "mother_room"]}
            for d in DISTRICTS
        },
    }


def dumps(records: Sequence[Mapping[str, Any]], seed: int = DEFAULT_SEED) -> bytes:
    """Serialise records as the demo GeoJSON file (RFC 7946 FeatureCollection, UTF-8).

    Parameters
    ----------
    records : sequence of dict
        Output of :func:`generate`; ``lon``/``lat`` in WGS-84 degrees.
    seed : int
        Recorded in the top-level ``metadata`` member.

    Returns
    -------
    bytes
        Compact, deterministic JSON (``ensure_ascii=False``) ending in a newline: Point
        geometries ``[lon, lat]``; properties are the record fields in :data:`PROPERTY_KEYS`
        order; ``metadata`` says the data is synthetic and gives the counts.
    """
    collection = {
        "type": "FeatureCollection",
        "metadata": {
            "synthetic": True, "notice": NOTICE, "seed": seed, "generator": GENERATOR,
            "counts": _counts(records),
        },
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {k: r[k] for k in PROPERTY_KEYS},
            }
            for r in records
        ],
    }
    text = jsonio.dumps(collection)
    return (text + "\n").encode("utf-8")


def write_demo(
    path: str | Path = DEFAULT_DEMO_PATH, regions: Regions | None = None,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Generate the demo sites and write them as GeoJSON.

    Parameters
    ----------
    path : str or Path, default DEFAULT_DEMO_PATH
        Output file (``geodata/demo_sites.geojson`` in the repository); overwritten.
    regions : Regions, optional
        Geography to sample in (EPSG:4326); the bundled one by default.
    seed : int, default DEFAULT_SEED
        Seed of the generator.

    Returns
    -------
    dict
        ``{"path", "bytes", "seed", "station", "mother_room", "by_district"}`` where
        ``by_district`` maps each district code to its name and count per kind.
    """
    records = generate(regions, seed)
    data = dumps(records, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"path": str(path), "bytes": len(data), "seed": seed, **_counts(records)}
