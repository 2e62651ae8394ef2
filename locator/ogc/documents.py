"""The OGC API – Features documents: landing page, conformance, collections, OpenAPI.

Built from :data:`locator.ogc.collections.COLLECTIONS` and :data:`locator.ogc.crs.CRSS`, so
a new collection or CRS shows up everywhere at once. ``base`` is always the absolute URL
of the API's root (``https://host/ogc``). No Flask here.
"""

from __future__ import annotations

from locator.ogc.collections import (
    COLLECTIONS,
    DEFAULT_LIMIT,
    FILTERS,
    MAX_LIMIT,
    Collection,
    Layer,
)
from locator.ogc.crs import CRS84, CRSS
from locator.ogc.opendata import LICENCE
from locator.sites.snapshot import PUBLIC_FIELDS
from locator.vocabulary import KINDS, SERVICES, STATUSES

__all__ = ["CONFORMANCE", "collection_doc", "collections_doc", "conformance_doc",
           "landing_doc", "openapi_doc"]

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

_CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
#: The conformance classes this API implements.
CONFORMANCE = (
    _CONF + "core", _CONF + "geojson", _CONF + "html", _CONF + "oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
TITLE = "驿站地图 · 河北工会驿站 OGC API"


def _link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _licence_link() -> dict:
    return _link(LICENCE["licence_url"], "license", HTML, LICENCE["licence"])


def _self_and_alternate(href: str, type_: str, title: str) -> list[dict]:
    return [_link(f"{href}?f=json", "self", type_, title),
            _link(f"{href}?f=html", "alternate", HTML, title + "（网页 HTML）")]


def landing_doc(base: str) -> dict:
    """The landing page: title, description and the links a client starts from."""
    return {
        "title": TITLE,
        "description": "河北省工会驿站、爱心妈妈小屋和工会地区边界，可在 QGIS、ArcGIS、GDAL "
                       "中作为图层直接添加。Hebei union stations, mother rooms and district "
                       "boundaries as OGC API – Features.",
        "attribution": LICENCE["attribution"],
        "links": [
            *_self_and_alternate(base, JSON, "本页 landing page"),
            _link(f"{base}/api", "service-desc", OPENAPI, "OpenAPI 3.0 文档"),
            _link(f"{base}/api?f=html", "service-doc", HTML, "接口说明 API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "符合的标准 conformance"),
            _link(f"{base}/collections", "data", JSON, "数据集合 collections"),
            _licence_link(),
        ],
    }


def conformance_doc() -> dict:
    """The conformance declaration."""
    return {"conformsTo": list(CONFORMANCE)}


def collection_doc(base: str, collection: Collection, layer: Layer) -> dict:
    """One collection's description (extent, CRSs, links to its items)."""
    href = f"{base}/collections/{collection.id}"
    extent: dict = {"spatial": {"bbox": [layer.extent() or [113.4, 36.0, 119.9, 42.7]],
                                "crs": CRS84.uri}}
    interval = layer.interval()
    if interval is not None:
        extent["temporal"] = {"interval": [interval],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "extent": extent,
        "crs": [c.uri for c in CRSS],
        "storageCrs": CRS84.uri,
        "links": [
            *_self_and_alternate(href, JSON, collection.title),
            _link(f"{href}/items?f=json", "items", GEOJSON, collection.title + "（GeoJSON）"),
            _link(f"{href}/items?f=html", "items", HTML, collection.title + "（网页 HTML）"),
            _licence_link(),
        ],
    }


def collections_doc(base: str, layers: dict[str, Layer]) -> dict:
    """Every collection of :data:`COLLECTIONS`; ``layers`` maps each id to its layer."""
    return {
        "links": _self_and_alternate(f"{base}/collections", JSON, "数据集合 collections"),
        "collections": [collection_doc(base, c, layers[c.id]) for c in COLLECTIONS],
        "crs": [c.uri for c in CRSS],
    }


# --------------------------------------------------------------------------------------
# The OpenAPI 3.0 document


def _param(name: str, schema: dict, description: str, *, where: str = "query",
           required: bool = False, style: str | None = None, explode=None) -> dict:
    out = {"name": name, "in": where, "required": required, "schema": schema,
           "description": description}
    if style:
        out["style"] = style
    if explode is not None:
        out["explode"] = explode
    return out


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _content(schema_name: str, type_: str = JSON, html: bool = True) -> dict:
    content = {type_: {"schema": _ref("schemas", schema_name)}}
    if html:
        content[HTML] = {"schema": {"type": "string"}}
    return content


def _site_properties() -> dict:
    text = {"type": "string"}
    nullable = {"type": "string", "nullable": True}
    schemas = {
        "id": text, "kind": {"type": "string", "enum": list(KINDS)}, "name": text,
        "address": nullable, "district_code": nullable, "district_name": nullable,
        "county_code": nullable, "county_name": nullable,
        "lon": {"type": "number", "minimum": -180, "maximum": 180,
                "description": "WGS-84 longitude, degrees"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90,
                "description": "WGS-84 latitude, degrees"},
        "source_datum": nullable,
        "services": {"type": "array", "items": {"type": "string", "enum": list(SERVICES)}},
        "opening_hours": {**nullable, "description": "OpenStreetMap opening_hours syntax"},
        "host": nullable, "phone": nullable,
        "status": {"type": "string", "enum": [s for s in STATUSES if s != "removed"]},
        "reopen_date": {**nullable, "format": "date"}, "status_reason": nullable,
        "verified_at": {**nullable, "format": "date"},
        "updated_at": {**nullable, "format": "date-time"},
        "synthetic": {"type": "boolean", "description": "true for generated demo rows"},
    }
    assert tuple(schemas) == PUBLIC_FIELDS
    return schemas


def _geometry(kind: str) -> dict:
    position = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
    ring = {"type": "array", "items": position, "minItems": 4}
    if kind == "point":
        return {"type": "object", "required": ["type", "coordinates"], "properties": {
            "type": {"type": "string", "enum": ["Point"]}, "coordinates": position}}
    return {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {
            "type": "array", "items": {"oneOf": [ring, position]}}}}}


def _feature_schema(collection: Collection) -> dict:
    if collection.geometry == "point":
        properties = {"type": "object", "required": ["id", "kind", "name", "status"],
                      "properties": _site_properties()}
    else:
        names = ["code", "name"] + (["district_code", "district_name"]
                                    if "district" in collection.filters else [])
        properties = {"type": "object", "required": names,
                      "properties": {n: {"type": "string"} for n in names}}
    return {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": _geometry(collection.geometry),
        "properties": properties,
        "links": {"type": "array", "items": _ref("schemas", "link")}}}


def _schemas() -> dict:
    link = {"type": "object", "required": ["href"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
        "hreflang": {"type": "string"}, "title": {"type": "string"},
        "length": {"type": "integer"}}}
    links = {"type": "array", "items": _ref("schemas", "link")}
    extent = {"type": "object", "properties": {
        "spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
            "crs": {"type": "string"}}},
        "temporal": {"type": "object", "properties": {
            "interval": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "items": {"type": "string", "format": "date-time", "nullable": True}}},
            "trs": {"type": "string"}}}}}
    collection = {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"},
        "description": {"type": "string"}, "links": links, "extent": extent,
        "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
        "storageCrs": {"type": "string"}}}
    schemas = {
        "link": link,
        "exception": {"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string"}, "description": {"type": "string"},
            "error": {"type": "string"}, "message": {"type": "string"}}},
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"},
            "attribution": {"type": "string"}, "links": links}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "collections": {"type": "array", "items": _ref("schemas",
                                                                            "collection")},
            "crs": {"type": "array", "items": {"type": "string"}}}},
        "collection": collection,
    }
    for c in COLLECTIONS:
        schemas[f"{c.id}Feature"] = _feature_schema(c)
        schemas[f"{c.id}FeatureCollection"] = {
            "type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("schemas", f"{c.id}Feature")},
                "links": links, "timeStamp": {"type": "string", "format": "date-time"},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
                "data_version": {"type": "integer"}, "synthetic": {"type": "boolean"}}}
    return schemas


def _parameters() -> dict:
    crs_uris = [c.uri for c in CRSS]
    params = {
        "f": _param("f", {"type": "string", "enum": ["json", "html"]},
                    "json（默认，程序）或 html（网页）; the response format."),
        "limit": _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                  "default": DEFAULT_LIMIT},
                        "每页最多几个要素 features per page.", style="form", explode=False),
        "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0},
                         "跳过前几个匹配的要素 matching features to skip (the next/prev links "
                         "carry it)."),
        "bbox": _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                                "items": {"type": "number"}},
                       "minx,miny,maxx,maxy in bbox-crs (CRS84: lon,lat; EPSG:4326/4490: "
                       "lat,lon).", style="form", explode=False),
        "bbox-crs": _param("bbox-crs", {"type": "string", "format": "uri", "enum": crs_uris,
                                        "default": CRS84.uri}, "The CRS of bbox."),
        "crs": _param("crs", {"type": "string", "format": "uri", "enum": crs_uris,
                              "default": CRS84.uri}, "The CRS of the coordinates returned."),
        "datetime": _param("datetime", {"type": "string"},
                           "RFC 3339 instant or interval (a/b, ../b, a/..), matched against "
                           "updated_at (UTC); boundaries match any.", style="form",
                           explode=False),
        "featureId": _param("featureId", {"type": "string"}, "The feature's id.",
                            where="path", required=True),
    }
    for f in FILTERS.values():
        schema = ({"type": "array", "items": {"type": "string", "enum": list(SERVICES)}}
                  if f.many else {"type": "string"})
        params[f.name] = _param(f.name, schema, f.description, style="form", explode=False)
    return params


def openapi_doc(base: str, server: str, district_codes: tuple[str, ...]) -> dict:
    """The OpenAPI 3.0 document of ``/ogc``.

    Parameters
    ----------
    base : str
        The API's absolute root URL (``https://host/ogc``).
    server : str
        The server's root URL (``https://host``), the document's ``servers`` entry.
    district_codes : tuple of str
        The values the ``district`` filter accepts.
    """
    params = _parameters()
    params["district"]["schema"]["enum"] = list(district_codes)
    f = _ref("parameters", "f")
    error = {"description": "错误 error", "content": {
        JSON: {"schema": _ref("schemas", "exception")}, HTML: {"schema": {"type": "string"}}}}
    prefix = base[len(server):] if base.startswith(server) else "/ogc"

    def get(summary, op_id, parameters, ok_name, ok_type=JSON, not_found=False):
        responses = {"200": {"description": "OK", "content": _content(ok_name, ok_type)},
                     "304": {"description": "Not modified (If-None-Match)"},
                     "400": error}
        if not_found:
            responses["404"] = error
        return {"get": {"summary": summary, "operationId": op_id, "parameters": parameters,
                        "responses": responses}}

    paths = {
        f"{prefix}": get("着陆页 landing page", "getLandingPage", [f], "landingPage"),
        f"{prefix}/conformance": get("符合的标准 conformance", "getConformance", [f],
                                     "confClasses"),
        f"{prefix}/api": {"get": {"summary": "本文档 this document", "operationId": "getApi",
                                  "parameters": [f], "responses": {"200": {
                                      "description": "OK", "content": {
                                          OPENAPI: {"schema": {"type": "object"}},
                                          HTML: {"schema": {"type": "string"}}}}}}},
        f"{prefix}/collections": get("数据集合 collections", "getCollections", [f],
                                     "collections"),
    }
    common = [_ref("parameters", n) for n in ("limit", "offset", "bbox", "bbox-crs", "datetime",
                                              "crs")]
    for c in COLLECTIONS:
        path = f"{prefix}/collections/{c.id}"
        paths[path] = get(c.title, f"describe_{c.id}", [f], "collection")
        items = get(f"{c.title}：要素 items", f"get_{c.id}_items",
                    [*common, *(_ref("parameters", n) for n in c.filters), f],
                    f"{c.id}FeatureCollection", GEOJSON)
        items["get"]["responses"]["200"]["headers"] = {
            "Content-Crs": {"schema": {"type": "string"},
                            "description": "<CRS URI> of the coordinates"}}
        paths[f"{path}/items"] = items
        paths[f"{path}/items/{{featureId}}"] = get(
            f"{c.title}：单个要素 one feature", f"get_{c.id}_feature",
            [_ref("parameters", "featureId"), _ref("parameters", "crs"), f],
            f"{c.id}Feature", GEOJSON, not_found=True)
    return {
        "openapi": "3.0.3",
        "info": {"title": TITLE, "version": "1.0.0",
                 "description": "OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) "
                                "and Part 2 (CRS by reference).",
                 "license": {"name": LICENCE["licence"], "url": LICENCE["licence_url"]}},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"parameters": params, "schemas": _schemas()},
    }
