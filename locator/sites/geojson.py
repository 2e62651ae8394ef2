"""The API's GeoJSON bodies, written from a snapshot's prepared per-site JSON.

Each site's Feature is serialised once per data version (``SitesSnapshot.feature_heads``,
without its closing braces); a response only appends the members that depend on the
request (``distance_m``, ``open_now``, navigation links) and joins the pieces. No Flask
here: the views in :mod:`locator.sites.api` parse the request and send what these return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from locator.jsonio import dumps
from locator.sites.snapshot import SitesSnapshot

__all__ = ["NearestQuery", "json_bool", "nearest_collection", "nearest_is_beyond",
           "stations_page"]


def json_bool(value) -> str:
    """``true``, ``false`` or ``null`` (for ``None``).

    Parameters
    ----------
    value : object
        Judged by truth value; ``None`` is "unknown".

    Returns
    -------
    str
        A JSON literal.

    Examples
    --------
    >>> json_bool(True), json_bool(0), json_bool(None)
    ('true', 'false', 'null')
    """
    return "null" if value is None else ("true" if value else "false")


@dataclass(frozen=True)
class NearestQuery:
    """A nearest search as the API received it.

    Attributes
    ----------
    lon, lat : float
        The point as WGS-84 longitude/latitude in degrees (EPSG:4326), converted from
        ``input_datum`` when parsed.
    input_datum : str
        ``wgs84``, ``gcj02`` or ``bd09``: the datum the client sent the point in.
    k : int
        How many sites at most (1..50).
    kind : str or None
        Only sites of this kind (``station`` or ``mother_room``); any when ``None``.
    services : tuple of str
        Service codes every site returned must offer.
    open_now : bool
        Only sites open at ``at``.
    max_km : float or None
        The range in geodesic kilometres on the WGS-84 ellipsoid; beyond it the nearest
        matches are still given, flagged ``beyond_range``.
    include_closed : bool
        Also temporarily closed sites.
    all_day : bool
        Only sites open around the clock (``24/7``).
    nav : bool
        Add each site's navigation-app links.
    at : datetime.datetime
        The time "open now" is judged at: an Asia/Shanghai aware datetime.
    """

    lon: float
    lat: float
    input_datum: str
    k: int
    kind: str | None
    services: tuple[str, ...]
    open_now: bool
    max_km: float | None
    include_closed: bool
    all_day: bool
    nav: bool
    at: dt.datetime


def nearest_collection(snap: SitesSnapshot, q: NearestQuery):
    """The nearest sites to ``q`` as GeoJSON text, with the index's result.

    Parameters
    ----------
    snap : SitesSnapshot
        The sites, and their index.
    q : NearestQuery
        The parsed request.

    Returns
    -------
    (result, text)
        ``result`` is :class:`locator.geo.index.NearestResult` (positions, geodesic
        ``distance_m`` on WGS-84, ``open_now``); ``text`` the FeatureCollection, sites in
        WGS-84 lon/lat, ordered by distance. Each Feature gains ``distance_m`` (geodesic
        metres on the WGS-84 ellipsoid, rounded to 0.1 m) and ``open_now``; the ``query``
        member echoes the point in WGS-84 degrees and ``at`` as ISO 8601 with its offset.
    """
    res = snap.index.nearest(
        q.lon, q.lat, k=q.k, kind=q.kind, services=q.services,
        open_at=q.at if q.open_now else None,
        max_distance_m=None if q.max_km is None else q.max_km * 1000.0,
        include_closed=q.include_closed, all_day=q.all_day, at=q.at)
    heads = snap.feature_heads
    features = ",".join(
        f'{heads[pos]},"distance_m":{round(float(d), 1)},"open_now":{json_bool(o)}}}'
        + (f',"nav":{snap.navigation_json(pos)}}}' if q.nav else "}")
        for pos, d, o in zip(res.positions, res.distance_m, res.open_now, strict=True))
    query = dumps({"lon": q.lon, "lat": q.lat, "datum": "wgs84", "input_datum": q.input_datum,
                   "k": q.k, "max_km": q.max_km, "at": q.at.isoformat(timespec="seconds")})
    text = (f'{{"type":"FeatureCollection","query":{query},'
            f'"beyond_range":{json_bool(res.beyond_range)},'
            f'"numberReturned":{len(res.positions)},"data_version":{snap.version},'
            f'"synthetic":{json_bool(snap.synthetic)},"features":[{features}]}}')
    return res, text


def nearest_is_beyond(snap: SitesSnapshot, q: NearestQuery, res, radius_m: float) -> bool:
    """Whether the nearest *active* site of ``res`` is farther than ``radius_m`` geodesic
    metres (or there is none): what a search is counted as, for the demand page.

    Parameters
    ----------
    snap : SitesSnapshot
        The snapshot ``res`` was computed on.
    q : NearestQuery
        The query ``res`` answers (``include_closed`` decides whether to skip closed sites).
    res : locator.geo.index.NearestResult
        From :func:`nearest_collection`.
    radius_m : float
        Geodesic metres on the WGS-84 ellipsoid.

    Returns
    -------
    bool
        Judged among the sites ``res`` holds, so the query's filters apply: an active
        site that did not match them, or was not among the ``k`` returned, does not count.
    """
    active = res.distance_m if not q.include_closed else res.distance_m[
        snap.sites["status"].to_numpy()[res.positions] == "active"]
    return not (len(active) and active[0] <= radius_m)


def stations_page(snap: SitesSnapshot, *, bbox, district: str | None, kind: str | None,
                  limit: int, offset: int, next_href: Callable[[int], str]) -> str:
    """One page of the sites that are not removed, as a GeoJSON FeatureCollection.

    Parameters
    ----------
    snap : SitesSnapshot
        The sites.
    bbox : (minlon, minlat, maxlon, maxlat) or None
        WGS-84 degrees (EPSG:4326), edges included.
    district : str or None
        6-digit union-district code.
    kind : str or None
        ``station`` or ``mother_room``.
    limit, offset : int
        Page size and the count of matching sites to skip (id order).
    next_href : callable
        ``next_href(offset)`` is the URL of the page starting at ``offset``.

    Returns
    -------
    str
        GeoJSON FeatureCollection text (geometries in WGS-84 lon/lat degrees, RFC 7946)
        with ``numberMatched``, ``numberReturned``, ``data_version`` and a ``next`` link
        when more pages follow.
    """
    positions = snap.select(bbox=bbox, district=district, kind=kind)
    page = positions[offset:offset + limit]
    heads = snap.feature_heads
    features = ",".join(heads[i] + "}}" for i in page)
    links = '"links":[],'
    if offset + limit < len(positions):
        nxt = next_href(offset + limit)
        links = (f'"next":{dumps(nxt)},"links":'
                 + dumps([{"rel": "next", "href": nxt, "type": "application/geo+json"}]) + ",")
    return (f'{{"type":"FeatureCollection","numberMatched":{len(positions)},'
            f'"numberReturned":{len(page)},"data_version":{snap.version},'
            f'"synthetic":{json_bool(snap.synthetic)},' + links + f'"features":[{features}]}}')
