"""The OpenAPI 3 document of the public API, built from the same constants the views use."""

from __future__ import annotations

from functools import lru_cache

from locator.coverage.demand import DEMAND_SOURCES
from locator.coverage.engine import DEFAULT_RADIUS_M, RADII_M
from locator.geo.datum import DATUMS
from locator.geo.index import MAX_K
from locator.vocabulary import KINDS, SERVICES, STATUSES


def _param(name, schema, description, required=False):
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


_ERROR = {"description": "Bad request: unknown parameter, bad number, NaN, out of range.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_CROSS_SITE = {"description": "A browser request from another site's page.",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_MEDIA = {"description": "The body is neither a form nor JSON.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NOT_FOUND = {"description": "No such site.",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _open_data_paths() -> dict:
    """The open station files (locator/ogc/opendata.py), one path per format."""
    from locator.ogc.opendata import OPEN_FORMATS

    return {f"/api/v1/exports/stations.{fmt}": {"get": {
        "summary": f"Every site that is not removed, as {fmt.upper()} (no account; the "
                   "synthetic flag, licence and attribution inside)",
        "operationId": f"open_stations_{fmt}",
        "responses": {"200": {"description": "The file, written once per data version",
                              "content": {mimetype: {"schema": (
                                  {"type": "object", "required": ["type", "features"]}
                                  if fmt == "geojson"
                                  else {"type": "string", "format": "binary"})}}},
                      "304": {"description": "Not modified (ETag, Last-Modified)"},
                      "400": _ERROR}}} for fmt, mimetype in OPEN_FORMATS.items()}


@lru_cache(maxsize=4)
def document(district_codes: tuple[str, ...]) -> dict:
    """The OpenAPI 3.0 description of ``/api/v1`` and ``/healthz``."""
    nullable_str = {"type": "string", "nullable": True}
    properties = {
        "id": {"type": "string", "pattern": r"^HB\d{6}-\d{4}$"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "name": {"type": "string"}, "address": {"type": "string"},
        "district_code": {"type": "string"}, "district_name": {"type": "string"},
        "county_code": {"type": "string"}, "county_name": {"type": "string"},
        "lon": {"type": "number"}, "lat": {"type": "number"},
        "source_datum": {"type": "string", "enum": list(DATUMS)},
        "services": {"type": "array", "items": {"type": "string", "enum": list(SERVICES)}},
        "opening_hours": {"type": "string", "description": "OpenStreetMap opening_hours"},
        "host": {"type": "string"}, "phone": {"type": "string"},
        "status": {"type": "string", "enum": [s for s in STATUSES if s != "removed"]},
        "reopen_date": {**nullable_str, "format": "date"},
        "status_reason": nullable_str,
        "verified_at": {**nullable_str, "format": "date"},
        "updated_at": {"type": "string", "format": "date-time"},
        "synthetic": {"type": "boolean", "description": "true for generated demo rows"},
        "distance_m": {"type": "number", "description": "geodesic metres (nearest only)"},
        "open_now": {"type": "boolean", "nullable": True,
                     "description": "open at the query time (Asia/Shanghai); null: unknown"},
    }
    feature = {
        "type": "object", "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
                "type": {"type": "string", "enum": ["Point"]},
                "coordinates": {"type": "array", "items": {"type": "number"},
                                "minItems": 2, "maxItems": 2,
                                "description": "[lon, lat], WGS-84 (RFC 7946)"}}},
            "properties": {"type": "object", "required": ["id", "kind", "name", "status"],
                           "properties": properties},
        },
    }
    collection_common = {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "numberReturned": {"type": "integer", "minimum": 0},
        "data_version": {"type": "integer"},
        "synthetic": {"type": "boolean"},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
    }
    geojson = "application/geo+json"
    share = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}
    figures = {
        "stations": {"type": "integer", "minimum": 0,
                     "description": "active stations located in the area"},
        "population": {"type": "integer", "minimum": 0,
                       "description": "residents (2020 census; coarse proxy below district "
                                      "level)"},
        "stations_per_10k": {"type": "number", "minimum": 0, "nullable": True,
                             "description": "active stations per 10,000 residents"},
        "area_km2": {"type": "number", "minimum": 0},
        "covered_km2": {"type": "number", "minimum": 0,
                        "description": "area within radius_m (geodesic) of an active station"},
        "share_area": {**share, "description": "covered_km2 / area_km2"},
        "population_covered": {"type": "integer", "minimum": 0},
        "share_demand": {**share, "description": "population-weighted share of H3 cells "
                                                 "whose centre is within radius_m"},
    }
    figure_keys = list(figures)

    def area_row(level):
        return {"type": "object", "required": [f"{level}_code", f"{level}_name", *figure_keys],
                "properties": {f"{level}_code": {"type": "string"},
                               f"{level}_name": {"type": "string"}, **figures}}

    coverage_schema = {
        "type": "object",
        "required": ["district_code", "name", "radius_m", *figure_keys, "counties", "gaps",
                     "demand", "data_version", "synthetic"],
        "properties": {
            "district_code": {"type": "string", "nullable": True,
                              "description": "null: the whole province"},
            "name": {"type": "string"},
            "radius_m": {"type": "integer", "enum": list(RADII_M)},
            **figures,
            "districts": {"type": "array", "items": area_row("district"),
                          "description": "per union district (province only)"},
            "counties": {"type": "array", "items": area_row("county")},
            "gaps": {"type": "array", "items": {
                "type": "object",
                "required": ["rank", "cell", "lon", "lat", "unmet_demand"],
                "properties": {
                    "rank": {"type": "integer", "minimum": 1},
                    "cell": {"type": "string", "description": "H3 index, resolution 6"},
                    "lon": {"type": "number"}, "lat": {"type": "number"},
                    "district_code": {"type": "string"}, "county_code": {"type": "string"},
                    "unmet_demand": {"type": "integer", "minimum": 0},
                    "share_uncovered": share,
                    "nearest_station_m": {"type": "number", "nullable": True}}}},
            "demand": {
                "type": "object", "required": ["source", "note", "coarse_proxy", "unit"],
                "description": "which demand the people figures use, and what it is",
                "properties": {
                    "source": {"type": "string", "enum": list(DEMAND_SOURCES)},
                    "note": {"type": "string"}, "coarse_proxy": {"type": "boolean"},
                    "unit": {"type": "string", "enum": ["persons", "searches"]},
                    "h3_resolution": {"type": "integer"},
                    "searches": {"type": "integer", "description": "searches only"},
                    "beyond_share": {"type": "number", "nullable": True,
                                     "description": "searches only: share whose nearest "
                                                    "active result was beyond 1 km"}}},
            "method": {"type": "object"},
            "data_version": {"type": "integer"},
            "synthetic": {"type": "boolean"},
        },
    }
    nearest_params = [
        _param("lat", {"type": "number", "minimum": -90, "maximum": 90},
               "latitude of the point", True),
        _param("lon", {"type": "number", "minimum": -180, "maximum": 180},
               "longitude of the point", True),
        _param("k", {"type": "integer", "minimum": 1, "maximum": MAX_K,
                     "default": 5}, "how many sites"),
        _param("kind", {"type": "string", "enum": list(KINDS)}, "only this kind"),
        {**_param("services", {"type": "array", "items": {
            "type": "string", "enum": list(SERVICES)}},
            "comma-separated service codes that must all be present"),
         "style": "form", "explode": False},
        _param("open_now", {"type": "string", "enum": ["0", "1", "true", "false"]},
               "only sites open now (Asia/Shanghai)"),
        _param("max_km", {"type": "number", "minimum": 0, "maximum": 1000},
               "range; when nothing matches within it, the nearest matches are "
               "returned with beyond_range=true"),
        _param("datum", {"type": "string", "enum": list(DATUMS),
                         "default": "wgs84"},
               "datum of lat/lon: wgs84 (GPS), gcj02 (Amap, Tencent, WeChat), "
               "bd09 (Baidu)"),
        _param("include_closed", {"type": "string",
                                  "enum": ["0", "1", "true", "false"]},
               "also temporarily closed sites (flagged by status)"),
        _param("all_day", {"type": "string", "enum": ["0", "1", "true", "false"]},
               "only sites open around the clock (opening_hours 24/7)"),
        _param("nav", {"type": "string", "enum": ["0", "1", "true", "false"]},
               "add to each feature a `nav` list of navigation-app links "
               "(Amap, Baidu, Tencent, Apple Maps), each in the datum it expects"),
    ]
    nearest_responses = {
        "200": {"description": "Sites ordered by distance", "content": {geojson: {
            "schema": {"type": "object", "required": ["type", "features",
                                                      "beyond_range"],
                       "properties": {**collection_common,
                                      "beyond_range": {"type": "boolean"},
                                      "query": {"type": "object"}}}}}},
        "400": _ERROR,
    }
    one_service = "(?:" + "|".join(SERVICES) + ")"
    listed = {"type": "string", "pattern": f"^{one_service}(?:,{one_service})*$"}
    nearest_body = {
        "type": "object", "required": ["lat", "lon"], "additionalProperties": False,
        "properties": {q["name"]: {**(listed if q["name"] == "services" else q["schema"]),
                                   "description": q["description"]}
                       for q in nearest_params},
    }

    def health(database: list[str], version: dict) -> dict:
        return {"type": "object", "required": ["status", "data_version", "database"],
                "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]},
                               "data_version": version,
                               "sites": {"type": "integer", "minimum": 0},
                               "database": {"type": "string", "enum": database}}}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "驿站地图 API — Hebei union station locator",
            "version": "1.0.0",
            "description": (
                "Trade-union service stations (工会驿站) and loving-mother rooms "
                "(爱心妈妈小屋) in Hebei. Coordinates are WGS-84 [lon, lat]; distances are "
                "geodesic metres on the WGS-84 ellipsoid. Errors are "
                '{"error": code, "message": text}.'),
        },
        "paths": {
            "/api/v1/nearest": {
                "get": {
                    "summary": "The k nearest sites to a point",
                    "operationId": "nearest",
                    "parameters": nearest_params,
                    "responses": nearest_responses,
                },
                "post": {
                    "summary": "The same, with the parameters in the body",
                    "description": (
                        "The parameters of GET in a form (application/x-www-form-urlencoded) "
                        "or a JSON object (numbers and booleans as such; services also as a "
                        "list), and none in the URL, so that the point is never in a URL a "
                        "proxy or server logs; the map page searches so. A browser request "
                        "from another site's page is refused (403)."),
                    "operationId": "nearestPost",
                    "requestBody": {"required": True, "content": {
                        "application/x-www-form-urlencoded": {"schema": nearest_body},
                        "application/json": {"schema": nearest_body}}},
                    "responses": {**nearest_responses, "403": _CROSS_SITE, "415": _MEDIA},
                },
            },
            "/api/v1/stations": {"get": {
                "summary": "Sites that are not removed, one page at a time",
                "operationId": "stations",
                "parameters": [
                    {**_param("bbox", {"type": "array", "minItems": 4, "maxItems": 4,
                                       "items": {"type": "number", "minimum": -180,
                                                 "maximum": 180}},
                              "minlon,minlat,maxlon,maxlat (WGS-84); latitudes within "
                              "-90..90, min <= max, else 400"),
                     "style": "form", "explode": False},
                    _param("district", {"type": "string", "enum": list(district_codes)},
                           "district code, e.g. 130100 (see /api/v1/districts)"),
                    _param("kind", {"type": "string", "enum": list(KINDS)}, "only this kind"),
                    _param("limit", {"type": "integer", "minimum": 1, "maximum": 1000,
                                     "default": 100}, "page size"),
                    _param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000,
                                      "default": 0}, "rows to skip"),
                ],
                "responses": {
                    "200": {"description": "A page of sites, in id order",
                            "content": {geojson: {"schema": {
                                "type": "object", "required": ["type", "features",
                                                               "numberMatched"],
                                "properties": {**collection_common,
                                               "numberMatched": {"type": "integer"},
                                               "next": {"type": "string"},
                                               "links": {"type": "array"}}}}}},
                    "304": {"description": "Not modified (ETag)"},
                    "400": _ERROR,
                },
            }},
            "/api/v1/stations/{id}": {"get": {
                "summary": "One site",
                "operationId": "station",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The site", "content": {geojson: {
                        "schema": {"$ref": "#/components/schemas/Feature"}}}},
                    "400": _ERROR,
                    "404": _NOT_FOUND,
                },
            }},
            "/api/v1/districts": {"get": {
                "summary": "The 14 union districts",
                "operationId": "districts",
                "responses": {"200": {"description": "Districts with their site counts",
                                      "content": {"application/json": {"schema": {
                                          "type": "object", "required": ["districts"],
                                          "properties": {"districts": {
                                              "type": "array", "items": {
                                                  "type": "object",
                                                  "required": ["code", "name"]}}}}}}},
                              "304": {"description": "Not modified (ETag)"},
                              "400": _ERROR},
            }},
            "/api/v1/coverage": {"get": {
                "summary": "Coverage of the province or a district by active stations",
                "description": (
                    "Service areas are geodesic circles of radius_m around active stations "
                    "(kind=station). Demand (the people figures) is, by demand=: "
                    "population — the 2020 census per union district spread over H3 "
                    "resolution-8 cells by an urban proxy (a coarse proxy); uploaded — the "
                    "population grid an admin uploaded; searches — nearest-station searches "
                    "counted per H3 cell over the last 30 full days (counts only). Absent: "
                    "the uploaded grid when one is in use, else population. The demand "
                    "member says which was used. Computed once per data version, demand "
                    "and radius (the first call after a change can take a few seconds)."),
                "operationId": "coverage",
                "parameters": [
                    _param("district", {"type": "string", "enum": list(district_codes)},
                           "union district code; absent: the whole province"),
                    _param("radius_m", {"type": "integer", "enum": list(RADII_M),
                                        "default": DEFAULT_RADIUS_M},
                           "service radius in geodesic metres (1000 = the ACFTU target)"),
                    _param("demand", {"type": "string", "enum": list(DEMAND_SOURCES)},
                           "demand source; absent: the uploaded grid if any, else population"),
                ],
                "responses": {
                    "200": {"description": "Coverage figures, per district and county",
                            "content": {"application/json": {"schema": coverage_schema}}},
                    "304": {"description": "Not modified (ETag)"},
                    "400": _ERROR,
                    "409": {"description": "demand=uploaded while no grid is in use",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/Error"}}}},
                },
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3",
                                      "content": {"application/json": {}}}}}},
            "/healthz": {"get": {
                "summary": "Liveness, data version and the database's state",
                "operationId": "healthz",
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {
                        "schema": health(["ok"], {"type": "integer"})}}},
                    "503": {"description": "The database cannot be reached (or needs "
                                           "`locator init`)",
                            "content": {"application/json": {"schema": health(
                                ["unreachable", "not_initialised"],
                                {"type": "integer", "nullable": True})}}},
                }}},
            **_open_data_paths(),
        },
        "components": {"schemas": {
            "Feature": feature,
            "Error": {"type": "object", "required": ["error", "message"],
                      "properties": {"error": {"type": "string"},
                                     "message": {"type": "string"}}},
        }},
    }
