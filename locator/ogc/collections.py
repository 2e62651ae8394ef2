"""The collections of OGC API – Features, and their items, from one snapshot of the data.

:data:`COLLECTIONS` is the one table: a new collection is one row (its id, titles, geometry
type, the filters it accepts and the function that gives its :class:`Layer`). Everything
else — the collections document, items pages, single features, the OpenAPI document and
the tests — iterates that table.

Features are GeoJSON text built once per data version (sites: ``SitesSnapshot.feature_heads``;
regions: once per process) and joined per page, so a 1,000-feature page costs a join, not
a serialisation. Coordinates are WGS-84 longitude/latitude (CRS84) unless the request asks
for a latitude-first CRS (:mod:`locator.ogc.crs`), in which case each feature's coordinates
are swapped. No Flask here: :mod:`locator.ogc.web` parses requests and sends these.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from locator.errors import BadRequest, NotFound, shown
from locator.geo.regions import Regions
from locator.jsonio import dumps
from locator.ogc.crs import CRS84, Crs
from locator.sites.snapshot import SitesSnapshot
from locator.vocabulary import SERVICES, STATUSES

__all__ = [
    "COLLECTIONS", "DEFAULT_LIMIT", "FILTERS", "MAX_LIMIT", "Collection", "Filter",
    "ItemsQuery", "Layer", "by_id", "feature_text", "items_text", "parse_bbox",
    "parse_datetime",
]

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
#: Statuses a served site can have (removed sites are never served).
SERVED_STATUSES = tuple(s for s in STATUSES if s != "removed")


# --------------------------------------------------------------------------------------
# Layers: the features of one collection at one data version


@dataclass(frozen=True)
class Layer:
    """The features of one collection.

    Attributes
    ----------
    frame : pandas.DataFrame
        Attribute rows (filters read their columns); ``heads`` and ``geometries`` share its
        positions.
    rows : numpy.ndarray of int
        The positions of ``frame`` that belong to the collection, in id order.
    heads : sequence of str
        Per position, the GeoJSON Feature text without its two closing braces, CRS84.
    ids : numpy.ndarray of str
        Per position, the feature id.
    lon, lat : numpy.ndarray, optional
        Per position, WGS-84 degrees (point layers); bbox tests use them.
    geometries : numpy.ndarray of shapely geometries, optional
        Per position, WGS-84 lon/lat (polygon layers); bbox tests intersect them.
    time_column : str, optional
        The column ``datetime`` filters on (UTC aware datetimes); none: every feature
        matches a ``datetime`` filter (boundaries are timeless here).
    """

    frame: pd.DataFrame
    rows: np.ndarray
    heads: Sequence[str]
    ids: np.ndarray
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    geometries: np.ndarray | None = None
    time_column: str | None = None
    _flipped: dict = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def position_of(self) -> dict[str, int]:
        """Feature id → position, for the collection's rows only."""
        return {self.ids[i]: int(i) for i in self.rows}

    def extent(self) -> list[float] | None:
        """[min lon, min lat, max lon, max lat] of the collection (WGS-84), or None."""
        if not len(self.rows):
            return None
        if self.geometries is not None:
            return [float(v) for v in shapely.total_bounds(self.geometries[self.rows])]
        lon, lat = self.lon[self.rows], self.lat[self.rows]
        return [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]

    def interval(self) -> list[str | None] | None:
        """[first, last] of the time column (ISO 8601 UTC), or None without one."""
        if self.time_column is None or not len(self.rows):
            return None
        times = pd.to_datetime(self.frame[self.time_column].iloc[self.rows], utc=True)
        return [_iso(times.min()), _iso(times.max())]

    def head(self, pos: int, crs: Crs) -> str:
        """The Feature text of ``pos`` (without the two closing braces) in ``crs``."""
        text = self.heads[pos]
        if not crs.lat_first:
            return text
        flipped = self._flipped.get(pos)
        if flipped is None:
            flipped = self._flipped[pos] = _flip(text, self, pos)
        return flipped


def _flip(text: str, layer: Layer, pos: int) -> str:
    """``text`` with its geometry's coordinates in latitude, longitude order."""
    start = text.index('"geometry":')
    end = text.index(',"properties":', start)
    if layer.geometries is None:
        geometry = dumps({"type": "Point", "coordinates": [float(layer.lat[pos]),
                                                           float(layer.lon[pos])]})
    else:
        geometry = shapely.to_geojson(
            shapely.transform(layer.geometries[pos], lambda xy: xy[:, ::-1]))
    return text[:start] + '"geometry":' + geometry + text[end:]


def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def sites_layer(kind: str) -> Callable[[SitesSnapshot, Regions], Layer]:
    """The layer of one kind of site (the snapshot holds no removed site)."""

    def build(snap: SitesSnapshot, _regions: Regions) -> Layer:
        return _sites_layer(snap, kind)

    return build


def _sites_layer(snap: SitesSnapshot, kind: str) -> Layer:
    # one layer per snapshot and kind, kept on the snapshot's own cache dict
    cache = snap.__dict__.setdefault("_ogc_layers", {})
    if kind not in cache:
        s = snap.sites
        cache[kind] = Layer(
            frame=s, rows=snap.select(kind=kind), heads=snap.feature_heads,
            ids=s["id"].to_numpy(dtype=object), lon=s["lon"].to_numpy(dtype=float),
            lat=s["lat"].to_numpy(dtype=float), time_column="updated_at")
    return cache[kind]


def regions_layer(level: str) -> Callable[[SitesSnapshot, Regions], Layer]:
    """The layer of the districts (``level="districts"``) or counties."""

    def build(_snap: SitesSnapshot, regions: Regions) -> Layer:
        return _regions_layer(regions, level)

    return build


@functools.lru_cache(maxsize=8)
def _regions_layer(regions: Regions, level: str) -> Layer:
    frame = getattr(regions, level)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    geometries = frame.geometry.to_numpy()
    heads = []
    for code, geom, record in zip(frame["code"], geometries, frame[columns].to_dict("records"),
                                  strict=True):
        text = dumps({"type": "Feature", "id": code, "geometry": None, "properties": record})
        text = text.replace('"geometry":null', '"geometry":' + shapely.to_geojson(geom), 1)
        heads.append(text[:-2])
    return Layer(frame=pd.DataFrame(frame[columns]), rows=np.arange(len(frame)), heads=heads,
                 ids=frame["code"].to_numpy(dtype=object), geometries=geometries)


# --------------------------------------------------------------------------------------
# Filters by the record's own fields


@dataclass(frozen=True)
class Filter:
    """A query parameter filtering by a column of the record.

    Attributes
    ----------
    name : str
        The parameter, also the column unless ``column`` says otherwise.
    options : callable
        ``options(regions)`` → the allowed values.
    many : bool
        A comma list, every value required (``services``); else one value.
    column : str
        The column compared.
    description : str
        For the OpenAPI document.
    """

    name: str
    options: Callable[[Regions], tuple[str, ...]]
    many: bool
    column: str
    description: str

    def mask(self, frame: pd.DataFrame, rows: np.ndarray, value) -> np.ndarray:
        """Which of ``rows`` match ``value`` (a str, or a tuple for ``many``)."""
        column = frame[self.column].to_numpy(dtype=object)[rows]
        if not self.many:
            return column == value
        wanted = set(value)
        return np.fromiter((wanted <= set(v or ()) for v in column), dtype=bool,
                           count=len(rows))


def _district_codes(regions: Regions) -> tuple[str, ...]:
    return tuple(regions.districts["code"])


#: Every filter parameter, by name; a collection names those it accepts.
FILTERS = {f.name: f for f in (
    Filter("district", _district_codes, False, "district_code",
           "6-digit union-district code (14 districts)"),
    Filter("services", lambda _r: SERVICES, True, "services",
           "comma-separated service codes; a feature must offer every one"),
    Filter("status", lambda _r: SERVED_STATUSES, False, "status",
           "active or temporarily_closed (removed sites are never served)"),
)}


# --------------------------------------------------------------------------------------
# The table of collections


@dataclass(frozen=True)
class Collection:
    """One row of :data:`COLLECTIONS`.

    Attributes
    ----------
    id : str
        The ``{collectionId}`` of the URLs.
    title, title_en : str
        Chinese and English titles.
    description : str
        Chinese, then English.
    geometry : str
        ``point`` or ``polygon`` (the OpenAPI schema of its features follows).
    filters : tuple of str
        Names in :data:`FILTERS` its items accept.
    layer : callable
        ``layer(snapshot, regions)`` → :class:`Layer`.
    synthetic : bool
        Whether its features carry the snapshot's demo-data flag.
    """

    id: str
    title: str
    title_en: str
    description: str
    geometry: str
    filters: tuple[str, ...]
    layer: Callable[[SitesSnapshot, Regions], Layer]
    synthetic: bool = False


_SITE_FILTERS = ("district", "services", "status")

COLLECTIONS = (
    Collection("stations", "工会户外劳动者服务站点（驿站）", "Union outdoor-worker stations",
               "河北省工会驿站：饮水、热水、休息、卫生间、充电等。"
               "Hebei trade-union service stations for outdoor workers.",
               "point", _SITE_FILTERS, sites_layer("station"), synthetic=True),
    Collection("mother_rooms", "爱心妈妈小屋", "Loving-mother rooms",
               "供职工妈妈哺乳、休息的爱心妈妈小屋。Lactation rooms for working mothers.",
               "point", _SITE_FILTERS, sites_layer("mother_room"), synthetic=True),
    Collection("districts", "工会地区（14 个）", "Union districts (14)",
               "河北省 14 个工会地区：11 个设区市、雄安新区、定州、辛集（WGS-84，已简化）。"
               "Hebei's 14 union districts (simplified boundaries, WGS-84).",
               "polygon", (), regions_layer("districts")),
    Collection("counties", "区县（167 个）", "Counties (167)",
               "河北省 167 个县级行政区及其所属工会地区（WGS-84，已简化）。"
               "Hebei's 167 county-level units and their union district.",
               "polygon", ("district",), regions_layer("counties")),
)
_BY_ID = {c.id: c for c in COLLECTIONS}


def by_id(collection_id: str) -> Collection:
    """The collection of ``collection_id``.

    Raises
    ------
    locator.errors.NotFound
        ``collection_not_found`` for an unknown id.

    Examples
    --------
    >>> by_id("stations").geometry
    'point'
    """
    collection = _BY_ID.get(collection_id)
    if collection is None:
        raise NotFound(f"没有这个数据集合 {shown(collection_id)}。", code="collection_not_found",
                       message_en="No such collection.")
    return collection


# --------------------------------------------------------------------------------------
# Parsing the OGC-specific parameters


def parse_bbox(raw: str | None, crs: Crs = CRS84) -> tuple[float, float, float, float] | None:
    """A ``bbox`` parameter as (min lon, min lat, max lon, max lat) in WGS-84 degrees.

    Parameters
    ----------
    raw : str or None
        Four numbers (or six, with heights, which are ignored) in the axis order of
        ``crs``: ``minlon,minlat,maxlon,maxlat`` for CRS84, ``minlat,minlon,maxlat,maxlon``
        for EPSG:4326 and EPSG:4490.
    crs : Crs
        The ``bbox-crs``.

    Raises
    ------
    locator.errors.BadRequest
        For anything else, NaN and out-of-range values included.

    Examples
    --------
    >>> parse_bbox("114,38,115,39")
    (114.0, 38.0, 115.0, 39.0)
    >>> from locator.ogc.crs import CRSS
    >>> parse_bbox("38,114,39,115", CRSS[1])
    (114.0, 38.0, 115.0, 39.0)
    """
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise BadRequest("参数 bbox 应是 4 个（或带高度的 6 个）数。", code="bad_parameter")
    try:
        numbers = [float(p) for p in parts if p.strip().isascii() and "_" not in p]
    except ValueError:
        numbers = []
    if len(numbers) != len(parts) or not all(np.isfinite(numbers)):
        raise BadRequest(f"参数 bbox 应是数（got {shown(raw)}）。", code="bad_parameter")
    if len(numbers) == 6:
        numbers = numbers[0:2] + numbers[3:5]
    w, s = crs.xy(numbers[0], numbers[1])
    e, n = crs.xy(numbers[2], numbers[3])
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise BadRequest(f"参数 bbox 超出范围或最小纬度大于最大纬度（got {shown(raw)}）。",
                         code="bad_parameter")
    if w > e:
        raise BadRequest("参数 bbox 跨越 180° 经线，本服务不支持。", code="bad_parameter")
    return w, s, e, n


def _instant(text: str, end: bool) -> pd.Timestamp | None:
    """One end of a datetime interval; a date means its whole day (UTC)."""
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = pd.Timestamp(dt.date.fromisoformat(text), tz="UTC")
            return day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if end else day
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"参数 datetime 应是 RFC 3339 时间或区间（got {shown(text)}）。",
                         code="bad_parameter") from None
    if value.tzinfo is None:
        raise BadRequest("参数 datetime 须带时区（如 Z 或 +08:00）。", code="bad_parameter")
    return pd.Timestamp(value).tz_convert("UTC")


def parse_datetime(raw: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """A ``datetime`` parameter as an inclusive UTC interval (None ends are open).

    Parameters
    ----------
    raw : str or None
        An RFC 3339 date-time (``2024-05-01T08:00:00Z``), a date (its whole day, UTC), or an
        interval ``start/end`` where either end may be ``..`` or empty.

    Examples
    --------
    >>> parse_datetime("2024-05-01/..")[0].isoformat()
    '2024-05-01T00:00:00+00:00'
    """
    if raw is None or raw == "":
        return None
    if not raw.isascii() or len(raw) > 80:
        raise BadRequest(f"参数 datetime 应是 RFC 3339 时间或区间（got {shown(raw)}）。",
                         code="bad_parameter")
    if "/" in raw:
        start, _, end = raw.partition("/")
        if start in ("", "..") and end in ("", ".."):
            raise BadRequest("参数 datetime 的区间至少要有一端。", code="bad_parameter")
        low, high = _instant(start, False), _instant(end, True)
        if low is not None and high is not None and low > high:
            raise BadRequest("参数 datetime 的开始晚于结束。", code="bad_parameter")
        return low, high
    if len(raw) == 10:
        return _instant(raw, False), _instant(raw, True)
    t = _instant(raw, False)
    return t, t


# --------------------------------------------------------------------------------------
# Items


@dataclass(frozen=True)
class ItemsQuery:
    """An items request, parsed.

    Attributes
    ----------
    limit, offset : int
        Page size (1..:data:`MAX_LIMIT`) and the matching features to skip (id order).
    bbox : (min lon, min lat, max lon, max lat) or None
        WGS-84 degrees, edges included; a polygon matches when it intersects the box.
    interval : (start, end) or None
        From :func:`parse_datetime`.
    filters : mapping
        Filter name → value (a tuple for ``services``).
    crs : Crs
        The CRS of the response's coordinates.
    """

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    interval: tuple | None = None
    filters: Mapping[str, object] = field(default_factory=dict)
    crs: Crs = CRS84


def matching(layer: Layer, q: ItemsQuery) -> np.ndarray:
    """Positions of ``layer`` that match ``q``'s filters, in id order.

    Returns
    -------
    numpy.ndarray of int
    """
    rows = layer.rows
    if q.bbox is not None:
        w, s, e, n = q.bbox
        if layer.geometries is not None:
            keep = shapely.intersects(layer.geometries[rows], shapely.box(w, s, e, n))
        else:
            lon, lat = layer.lon[rows], layer.lat[rows]
            keep = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        rows = rows[keep]
    for name, value in q.filters.items():
        if value is not None and value != ():
            rows = rows[FILTERS[name].mask(layer.frame, rows, value)]
    if q.interval is not None and layer.time_column is not None:
        times = pd.to_datetime(layer.frame[layer.time_column].iloc[rows], utc=True)
        low, high = q.interval
        keep = np.ones(len(rows), dtype=bool)
        if low is not None:
            keep &= (times >= low).to_numpy()
        if high is not None:
            keep &= (times <= high).to_numpy()
        rows = rows[keep]
    return rows


def items_text(collection: Collection, snap: SitesSnapshot, regions: Regions, q: ItemsQuery,
               *, href: Callable[[int | None], str], now: dt.datetime,
               extra_links: Sequence[dict] = ()) -> tuple[str, int, int]:
    """One page of a collection's items as GeoJSON FeatureCollection text.

    Parameters
    ----------
    collection : Collection
    snap : SitesSnapshot
        The sites (point collections).
    regions : Regions
        The districts and counties (polygon collections).
    q : ItemsQuery
    href : callable
        ``href(offset)`` → the URL of the page starting at ``offset`` (None: this page).
    now : datetime.datetime
        The ``timeStamp`` (an aware datetime).
    extra_links : sequence of dict
        Links added after self/next/prev (alternate formats, the collection).

    Returns
    -------
    (text, number_matched, number_returned)
        Coordinates in ``q.crs`` (CRS84: lon, lat; EPSG:4326/4490: lat, lon).
    """
    layer = collection.layer(snap, regions)
    rows = matching(layer, q)
    page = rows[q.offset:q.offset + q.limit]
    geojson = "application/geo+json"
    links = [{"rel": "self", "type": geojson, "title": "本页 this page", "href": href(None)}]
    if q.offset + q.limit < len(rows):
        links.append({"rel": "next", "type": geojson, "title": "下一页 next page",
                      "href": href(q.offset + q.limit)})
    if q.offset > 0:
        links.append({"rel": "prev", "type": geojson, "title": "上一页 previous page",
                      "href": href(max(0, q.offset - q.limit))})
    links += extra_links
    features = ",".join(layer.head(int(i), q.crs) + "}}" for i in page)
    synthetic = (',"synthetic":' + ("true" if snap.synthetic else "false")
                 if collection.synthetic else "")
    text = (f'{{"type":"FeatureCollection","numberMatched":{len(rows)},'
            f'"numberReturned":{len(page)},"timeStamp":"{_iso(now)}",'
            f'"data_version":{snap.version}{synthetic},'
            f'"links":{dumps(links)},"features":[{features}]}}')
    return text, len(rows), len(page)


def feature_text(collection: Collection, snap: SitesSnapshot, regions: Regions,
                 feature_id: str, *, crs: Crs, links: Sequence[dict]) -> str:
    """One feature of a collection as GeoJSON Feature text, with ``links``.

    Raises
    ------
    locator.errors.NotFound
        ``feature_not_found`` when the collection has no such feature (a removed site, or
        a site of the other kind, included).
    """
    return _head(collection, snap, regions, feature_id, crs) + f'}},"links":{dumps(links)}}}'


def _head(collection, snap, regions, feature_id: str, crs: Crs) -> str:
    layer = collection.layer(snap, regions)
    pos = layer.position_of.get(feature_id)
    if pos is None:
        raise NotFound(f"{collection.id} 中没有 {shown(feature_id)}（可能已撤销）。",
                       code="feature_not_found", message_en="No such feature.")
    return layer.head(pos, crs)


def feature_record(collection: Collection, snap: SitesSnapshot, regions: Regions,
                   feature_id: str) -> dict:
    """One feature's properties as a dict (for the HTML page).

    Raises
    ------
    locator.errors.NotFound
        As :func:`feature_text`.
    """
    import json

    return json.loads(_head(collection, snap, regions, feature_id, CRS84) + "}}")
