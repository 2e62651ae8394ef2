"""The public JSON API (``/api/v1``) and the health check. Views parse, call, serialise."""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import Blueprint, Flask, Response, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from locator.coverage.demand import DEMAND_SOURCES, SEARCH_RADIUS_M, coverage_engine
from locator.coverage.engine import DEFAULT_RADIUS_M, RADII_M
from locator.errors import NotFound
from locator.geo import datum, hours
from locator.geo.index import MAX_K
from locator.jsonio import dumps
from locator.sites.geojson import (
    NearestQuery,
    json_bool,
    nearest_collection,
    nearest_is_beyond,
    stations_page,
)
from locator.vocabulary import KINDS, SERVICES
from locator.web import openapi
from locator.web import params as p
from locator.web.state import get_state

bp = Blueprint("api", __name__)

NEAREST_PARAMS = ("lat", "lon", "k", "kind", "services", "open_now", "max_km", "datum",
                  "include_closed", "all_day", "nav")
STATIONS_PARAMS = ("bbox", "district", "kind", "limit", "offset")
COVERAGE_PARAMS = ("district", "radius_m", "demand")
MAX_LIMIT = 1000


def now() -> dt.datetime:
    """The current time in Asia/Shanghai (tests replace this to freeze the clock)."""
    return dt.datetime.now(hours.TZ)


GEOJSON = "application/geo+json"


def _json(text: str, *, cache: str, etag: str | None = None,
          mimetype: str = "application/json") -> Response:
    response = Response(text, mimetype=mimetype)
    response.headers["Cache-Control"] = cache
    if etag:
        response.set_etag(etag)
        return response.make_conditional(request)
    return response


@bp.get("/healthz")
def healthz():
    """Liveness, the data version this worker serves, and whether the database answers
    (asked with the data version, at most once a second)."""
    try:
        snap = get_state().snapshot()
    except SQLAlchemyError:
        body = {"status": "unavailable", "data_version": None,
                "database": _database_state(get_state().store)}
        return _json(dumps(body), cache="no-store"), 503
    body = {"status": "ok", "data_version": snap.version, "sites": len(snap.sites),
            "database": "ok"}
    return _json(dumps(body), cache="no-store")


def _database_state(store) -> str:
    try:
        return "ok" if store.schema_is_current() else "not_initialised"
    except SQLAlchemyError:
        return "unreachable"


@bp.route("/api/v1/nearest", methods=["GET", "POST"])
def nearest():
    """The k nearest sites to a point, exact geodesic distance; see the OpenAPI document.

    POST takes the same parameters in its body (a form or a JSON object), so that the
    point never appears in a URL that a proxy logs; the courier page sends it so."""
    q = _nearest_query(request.args if request.method == "GET" else p.body_params(request))
    snap = get_state().snapshot()
    res, body = nearest_collection(snap, q)
    response = _json(body, cache="no-store", mimetype=GEOJSON)
    searches = get_state().searches  # counts only: see locator/coverage/searches.py
    if searches is not None and searches.count(
            q.lon, q.lat, nearest_is_beyond(snap, q, res, SEARCH_RADIUS_M), q.at.date()):
        response.call_on_close(searches.flush)  # after the response is sent
    return response


def _nearest_query(args) -> NearestQuery:
    p.reject_unknown(args, NEAREST_PARAMS)
    a = args.to_dict()  # one plain dict: absent parameters cost no exception
    lat = p.number(a, "lat", low=-90, high=90, required=True)
    lon = p.number(a, "lon", low=-180, high=180, required=True)
    source = p.choice(a, "datum", datum.DATUMS, default="wgs84")
    wlon, wlat = datum.to_wgs84(lon, lat, source)
    return NearestQuery(
        lon=wlon, lat=wlat, input_datum=source,
        k=p.integer(a, "k", low=1, high=MAX_K, default=5), kind=p.choice(a, "kind", KINDS),
        services=p.choices(a, "services", SERVICES), open_now=p.boolean(a, "open_now"),
        max_km=p.number(a, "max_km", low=0, high=1000),
        include_closed=p.boolean(a, "include_closed"), all_day=p.boolean(a, "all_day"),
        nav=p.boolean(a, "nav"), at=now())


@bp.get("/api/v1/stations")
def stations():
    """Sites that are not removed, filtered by bbox, district and kind, one page at a time."""
    p.reject_unknown(request.args, STATIONS_PARAMS)
    a = request.args.to_dict()
    snap = get_state().snapshot()
    body = stations_page(
        snap, bbox=p.bbox(a),
        district=p.choice(a, "district", get_state().district_codes()),
        kind=p.choice(a, "kind", KINDS),
        limit=p.integer(a, "limit", low=1, high=MAX_LIMIT, default=100),
        offset=p.integer(a, "offset", low=0, high=10**7, default=0),
        next_href=lambda offset: url_for("api.stations", **{**a, "offset": offset}))
    tag = hashlib.sha1(f"{snap.version}?{request.query_string!r}".encode()).hexdigest()[:20]
    return _json(body, cache="public, max-age=60", etag=tag, mimetype=GEOJSON)


@bp.get("/api/v1/stations/<site_id>")
def station(site_id: str):
    """One site as a GeoJSON Feature (also temporarily closed ones; never removed ones)."""
    p.reject_unknown(request.args, ())
    snap = get_state().snapshot()
    pos = snap.position_of.get(site_id)
    if pos is None:
        raise NotFound("没有找到这个站点（可能已撤销）。", code="station_not_found")
    at = now()
    state = hours.open_at(snap.sites["opening_hours"].iat[pos], at)
    body = f'{snap.feature_heads[pos]},"open_now":{json_bool(state)}}}}}'
    return _json(body, cache="no-cache", mimetype=GEOJSON)


@bp.get("/api/v1/districts")
def districts():
    """The 14 union districts with their counts of sites."""
    p.reject_unknown(request.args, ())
    state = get_state()
    snap = state.snapshot()
    counts = snap.sites.groupby(["district_code", "kind"]).size() if len(snap.sites) else {}
    items = []
    for code, name in state.regions().district_names().items():
        items.append({
            "code": code, "name": name,
            "stations": int(counts.get((code, "station"), 0)),
            "mother_rooms": int(counts.get((code, "mother_room"), 0)),
        })
    body = dumps({"districts": items, "data_version": snap.version})
    return _json(body, cache="public, max-age=300", etag=f"d{snap.version}")


@bp.get("/api/v1/coverage")
def coverage():
    """Coverage of the province or one district by active stations at a service radius."""
    a = request.args
    p.reject_unknown(a, COVERAGE_PARAMS)
    district = p.choice(a, "district", get_state().district_codes())
    radius_m = int(p.choice(a, "radius_m", [str(r) for r in RADII_M],
                            default=str(DEFAULT_RADIUS_M)))
    state = get_state()
    demand = p.choice(a, "demand", DEMAND_SOURCES)
    engine = coverage_engine(state.coverage(), state.store, demand)
    body = dumps(engine.report(radius_m, district))
    tag = f"c{engine.version}-{district or 'all'}-{radius_m}-{engine.grid.source}-" + \
        hashlib.sha1(engine.grid.note.encode()).hexdigest()[:8]
    return _json(body, cache="public, max-age=60", etag=tag)


@bp.get("/api/v1/openapi.json")
def openapi_document():
    """The OpenAPI 3 description of this API."""
    document = openapi.document(get_state().district_codes())
    return _json(dumps(document), cache="public, max-age=3600")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # A read-only query: no session, no cookie; body_params refuses other sites' pages.
    app.extensions["csrf"].exempt(nearest)
