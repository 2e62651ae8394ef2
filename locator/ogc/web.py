"""OGC API – Features at ``/ogc`` and the open station files at ``/api/v1/exports``.

Views parse the request, call the core (:mod:`locator.ogc.collections`,
:mod:`locator.ogc.documents`, :mod:`locator.ogc.opendata`) and send JSON or HTML: JSON
unless ``f=html`` or the client prefers ``text/html`` (``f=json`` forces JSON).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    render_template,
    request,
    url_for,
)

from locator.errors import BadRequest, LocatorError
from locator.jsonio import dumps
from locator.ogc import collections as oc
from locator.ogc import documents as docs
from locator.ogc.crs import by_uri
from locator.ogc.opendata import LICENCE, OPEN_FORMATS, OpenData
from locator.web import params as p
from locator.web.state import get_state

bp = Blueprint("ogc", __name__)

#: Parameters every /ogc page accepts (``lang`` picks the page language).
COMMON = ("f", "lang")
ITEM_PARAMS = (*COMMON, "crs")
ITEMS_PARAMS = (*ITEM_PARAMS, "limit", "offset", "bbox", "bbox-crs", "datetime")
JSON_TYPES = ("application/json", "application/geo+json", docs.OPENAPI)
EXTENSION = "locator.ogc"


def _wants_html() -> bool:
    f = p.choice(request.args, "f", ("json", "html"))
    if f is not None:
        return f == "html"
    best = request.accept_mimetypes.best_match([*JSON_TYPES, "text/html"])
    return best == "text/html"


def _base() -> str:
    return url_for("ogc.landing", _external=True).rstrip("/")


def _send(body: str, mimetype: str, *, version: int, headers: dict | None = None) -> Response:
    response = Response(body, mimetype=mimetype)
    tag = hashlib.sha1(f"{version}|{mimetype}|{request.full_path}|"
                       f"{request.cookies.get('lang', '')}".encode()).hexdigest()[:20]
    response.set_etag(f"ogc-{version}-{tag}", weak=True)  # timeStamp differs, data does not
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Vary"] = "Accept, Cookie"
    response.headers.update(headers or {})
    return response.make_conditional(request)


def _respond(document: dict, template: str, *, version: int, mimetype="application/json",
             headers: dict | None = None, **context) -> Response:
    if _wants_html():
        body = render_template(template, doc=document, synthetic=get_state().snapshot().synthetic,
                               json_href=_with(f="json"), **context)
        return _send(body, "text/html", version=version, headers=headers)
    return _send(dumps(document), mimetype, version=version, headers=headers)


def _with(**args) -> str:
    """This request's URL with ``args`` replaced."""
    merged = {**request.args.to_dict(), **args}
    return url_for(request.endpoint, **(request.view_args or {}), **merged, _external=True)


def _layers() -> dict:
    state = get_state()
    snap, regions = state.snapshot(), state.regions()
    return {c.id: c.layer(snap, regions) for c in oc.COLLECTIONS}


@bp.get("/ogc", strict_slashes=False)
def landing():
    """The landing page."""
    p.reject_unknown(request.args, COMMON)
    version = get_state().snapshot().version
    return _respond(docs.landing_doc(_base()), "ogc/landing.html", version=version,
                    collections=oc.COLLECTIONS)


@bp.get("/ogc/conformance")
def conformance():
    """The conformance classes."""
    p.reject_unknown(request.args, COMMON)
    return _respond(docs.conformance_doc(), "ogc/conformance.html",
                    version=get_state().snapshot().version)


@bp.get("/ogc/api")
def api():
    """The OpenAPI 3.0 document of /ogc."""
    p.reject_unknown(request.args, COMMON)
    document = docs.openapi_doc(_base(), request.host_url.rstrip("/"),
                                get_state().district_codes())
    return _respond(document, "ogc/api.html", version=get_state().snapshot().version,
                    mimetype=docs.OPENAPI)


@bp.get("/ogc/collections")
def collections():
    """Every collection."""
    p.reject_unknown(request.args, COMMON)
    return _respond(docs.collections_doc(_base(), _layers()), "ogc/collections.html",
                    version=get_state().snapshot().version)


@bp.get("/ogc/collections/<collection_id>")
def collection(collection_id: str):
    """One collection."""
    p.reject_unknown(request.args, COMMON)
    c = oc.by_id(collection_id)
    state = get_state()
    document = docs.collection_doc(_base(), c, c.layer(state.snapshot(), state.regions()))
    return _respond(document, "ogc/collection.html", version=state.snapshot().version,
                    collection=c)


@bp.get("/ogc/collections/<collection_id>/items")
def items(collection_id: str):
    """A page of a collection's features (bbox, datetime, record filters, crs)."""
    c = oc.by_id(collection_id)
    q = _items_query(c)
    state = get_state()
    snap = state.snapshot()
    html = _wants_html()
    fmt = "html" if html else "json"
    other = "json" if html else "html"
    alternate = [{"rel": "alternate", "type": "text/html" if other == "html" else
                  "application/geo+json", "title": other, "href": _with(f=other, offset=None)},
                 {"rel": "collection", "type": "application/json", "title": c.title,
                  "href": url_for("ogc.collection", collection_id=c.id, _external=True)}]
    text, matched, returned = oc.items_text(
        c, snap, state.regions(), q, now=dt.datetime.now(dt.UTC), extra_links=alternate,
        href=lambda offset: _with(f=fmt, offset=q.offset if offset is None else offset))
    headers = {"Content-Crs": f"<{q.crs.uri}>"}
    if html:
        body = render_template("ogc/items.html", collection=c, doc=_loads(text), query=q,
                               synthetic=snap.synthetic, json_href=_with(f="json"))
        return _send(body, "text/html", version=snap.version, headers=headers)
    return _send(text, "application/geo+json", version=snap.version, headers=headers)


def _loads(text: str) -> dict:
    import json

    return json.loads(text)


def _items_query(c: oc.Collection) -> oc.ItemsQuery:
    args = request.args
    p.reject_unknown(args, (*ITEMS_PARAMS, *c.filters))
    a = args.to_dict()
    regions = get_state().regions()
    filters = {}
    for name in c.filters:
        f = oc.FILTERS[name]
        filters[name] = (p.choices(a, name, f.options(regions)) if f.many
                         else p.choice(a, name, f.options(regions)))
    return oc.ItemsQuery(
        limit=p.integer(a, "limit", low=1, high=oc.MAX_LIMIT, default=oc.DEFAULT_LIMIT),
        offset=p.integer(a, "offset", low=0, high=10**7, default=0),
        bbox=oc.parse_bbox(a.get("bbox"), by_uri(a.get("bbox-crs"), "bbox-crs")),
        interval=oc.parse_datetime(a.get("datetime")), filters=filters,
        crs=by_uri(a.get("crs")))


@bp.get("/ogc/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    """One feature (404 for an unknown or removed one)."""
    p.reject_unknown(request.args, ITEM_PARAMS)
    c = oc.by_id(collection_id)
    crs = by_uri(request.args.get("crs"))
    state = get_state()
    snap, regions = state.snapshot(), state.regions()
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if _wants_html():
        record = oc.feature_record(c, snap, regions, feature_id)
        body = render_template("ogc/item.html", collection=c, feature=record,
                               synthetic=snap.synthetic, json_href=_with(f="json"))
        return _send(body, "text/html", version=snap.version, headers=headers)
    here = url_for("ogc.item", collection_id=c.id, feature_id=feature_id, _external=True)
    links = [
        {"rel": "self", "type": "application/geo+json", "title": "本要素", "href": here},
        {"rel": "alternate", "type": "text/html", "title": "网页", "href": here + "?f=html"},
        {"rel": "collection", "type": "application/json", "title": c.title,
         "href": url_for("ogc.collection", collection_id=c.id, _external=True)},
    ]
    text = oc.feature_text(c, snap, regions, feature_id, crs=crs, links=links)
    return _send(text, "application/geo+json", version=snap.version, headers=headers)


def open_file(fmt: str):
    """The open station list (no account): csv, geojson, gpkg or xlsx."""
    p.reject_unknown(request.args, ())
    snap = get_state().snapshot()
    f = current_app.extensions[EXTENSION].file(snap.sites, snap.version, fmt,
                                               synthetic=snap.synthetic)
    # Sent from memory (a few MB): no file handle outlives the request, and a newer
    # version pruning the file mid-send cannot cut the download short.
    with open(f.path, "rb") as fh:
        data, mtime = fh.read(), os.fstat(fh.fileno()).st_mtime
    response = Response(data, mimetype=f.mimetype)
    response.set_etag(f"stations-v{f.version}-{fmt}")
    response.last_modified = dt.datetime.fromtimestamp(mtime, dt.UTC)
    response.headers["Content-Disposition"] = f"attachment; filename={f.download_name}"
    response.headers["Cache-Control"] = "public, max-age=300"
    response = response.make_conditional(request)
    response.headers["Link"] = f'<{LICENCE["licence_url"]}>; rel="license"'
    return response


for _fmt in OPEN_FORMATS:  # one literal path per format, as the OpenAPI document lists them
    bp.add_url_rule(f"/api/v1/exports/stations.{_fmt}", "open_file", open_file,
                    defaults={"fmt": _fmt}, methods=["GET"])


@bp.errorhandler(LocatorError)
def ogc_error(e: LocatorError):
    """OGC clients get the OGC exception shape (code, description) with our own
    (error, message); a browser asking for HTML gets the error page."""
    try:
        html = request.path.startswith("/ogc") and _wants_html()
    except BadRequest:
        html = False
    if html:
        return render_template("error.html", status=e.status, message=e.message), e.status
    body = dumps({"code": e.code, "description": e.message, "error": e.code,
                  "message": e.message})
    return Response(body, status=e.status, mimetype="application/json")


def init_app(app: Flask) -> None:
    from pathlib import Path

    app.extensions[EXTENSION] = OpenData(Path(app.instance_path) / "cache" / "opendata")
    app.register_blueprint(bp)
