"""/ogc read by real clients nobody here wrote: GDAL's OAPIF driver (Debian's gdal-bin,
installed by `make test`) and OWSLib, from the app served on loopback; and every JSON
answer checked against the schemas of our own OpenAPI document (issue 16 part 3).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from locator import create_app
from locator.ogc.collections import COLLECTIONS
from tests.browser.conftest import serving

OGRINFO, OGR2OGR = shutil.which("ogrinfo"), shutil.which("ogr2ogr")


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_db):
    instance = tmp_path_factory.mktemp("ogc-clients")
    shutil.copyfile(demo_db, instance / "locator.sqlite3")
    app = create_app({"INSTANCE_PATH": str(instance)})
    with serving(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def snap(served):
    app, _ = served
    with app.app_context():
        return app.extensions["locator"].snapshot()


def gdal(*args: str) -> str:
    if OGRINFO is None:
        pytest.fail("GDAL's ogrinfo is missing: `make test` installs Debian's gdal-bin")
    # The app's own GDAL guard (locator.imports.gdal_guard) narrows GDAL in this process
    # and its children; the client is a separate program with its full driver set.
    guard = ("GDAL_SKIP", "GDAL_HTTP_TIMEOUT", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS")
    env = {k: v for k, v in os.environ.items() if k not in guard}
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- GDAL -----------------------------------------------------------------------------


def test_ogrinfo_lists_every_collection(served):
    _, url = served
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{url}/ogc")
    for i, c in enumerate(COLLECTIONS, 1):
        assert f"{i}: {c.id} (title: {c.title})" in out


@pytest.mark.parametrize("collection", [c.id for c in COLLECTIONS])
def test_ogrinfo_reads_every_feature_of_every_collection(served, snap, collection):
    app, url = served
    with app.app_context():
        regions = app.extensions["locator"].regions()
    expected = {"stations": snap.counts()["station"], "mother_rooms": snap.counts()["mother_room"],
                "districts": len(regions.districts), "counties": len(regions.counties)}
    summary = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{url}/ogc", collection)
    assert f"Feature Count: {expected[collection]}" in summary
    out = gdal("ogrinfo", "-ro", "-al", "-q", "-oo", "PAGE_SIZE=1000", f"OAPIF:{url}/ogc",
               collection)
    assert out.count("OGRFeature(") == expected[collection]


def test_ogr2ogr_copies_stations_equal_to_our_own_geopackage(served, snap, tmp_path):
    import pyogrio

    from locator.exports.writers import export_stations

    _, url = served
    copied = tmp_path / "copied.gpkg"
    gdal("ogr2ogr", "-oo", "PAGE_SIZE=1000", "-f", "GPKG", str(copied), f"OAPIF:{url}/ogc",
         "stations")
    ours = tmp_path / "ours.gpkg"
    export_stations(snap.sites[snap.sites["kind"] == "station"], ours, "gpkg")
    a = pyogrio.read_dataframe(copied)
    b = pyogrio.read_dataframe(ours)
    assert a.crs.to_epsg() == b.crs.to_epsg() == 4326
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == snap.counts()["station"]
    # GDAL keeps services as a StringList ("(2:a,b)" in a GeoPackage), we write "a|b";
    # it types the dates as dates, we keep ISO text: compare the values, not the types.
    a["services"] = a["services"].str.replace(r"^\(\d+:(.*)\)$", r"\1", regex=True).str.replace(
        ",", "|")
    for column in ("reopen_date", "verified_at"):
        a[column] = a[column].dt.strftime("%Y-%m-%d")
    assert a.drop(columns="geometry").fillna("").astype(str).equals(
        b.drop(columns="geometry").fillna("").astype(str))
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all()


# --- OWSLib ---------------------------------------------------------------------------


def test_owslib_reads_the_collections_and_every_station(served, snap):
    from owslib.ogcapi.features import Features

    _, url = served
    api = Features(f"{url}/ogc")
    assert [c["id"] for c in api.collections()["collections"]] == [c.id for c in COLLECTIONS]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()[
        "conformsTo"]
    ids, offset = [], 0
    while True:
        page = api.collection_items("stations", limit=1000, offset=offset)
        ids += [f["id"] for f in page["features"]]
        offset += page["numberReturned"]
        if offset >= page["numberMatched"]:
            break
    assert ids == snap.sites.loc[snap.sites["kind"] == "station", "id"].tolist()
    one = api.collection_item("mother_rooms", ids_of(snap, "mother_room")[0])
    assert one["properties"]["kind"] == "mother_room"


def ids_of(snap, kind):
    return snap.sites.loc[snap.sites["kind"] == kind, "id"].tolist()


# --- the schemas of our own OpenAPI document --------------------------------------------


def _validator(document: dict, name: str):
    """A JSON Schema validator of ``#/components/schemas/name`` (OpenAPI 3.0's
    ``nullable`` turned into JSON Schema's null type)."""
    import jsonschema_rs

    def convert(node):
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.pop("nullable", False):
                node = {"anyOf": [node, {"type": "null"}]}
            return node
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    schema = {"$ref": f"#/components/schemas/{name}",
              "components": convert(document["components"])}
    return jsonschema_rs.validator_for(schema)


def _get(url: str):
    from urllib.request import urlopen

    with urlopen(url, timeout=30) as r:  # noqa: S310 - our own loopback server
        return json.loads(r.read())


def test_every_answer_validates_against_our_openapi_schemas(served):
    _, url = served
    document = _get(f"{url}/ogc/api")
    checks = [("/ogc", "landingPage"), ("/ogc/conformance", "confClasses"),
              ("/ogc/collections", "collections")]
    for c in COLLECTIONS:
        checks += [(f"/ogc/collections/{c.id}", "collection"),
                   (f"/ogc/collections/{c.id}/items?limit=10000", f"{c.id}FeatureCollection")]
        first = _get(f"{url}/ogc/collections/{c.id}/items?limit=1")["features"][0]["id"]
        checks.append((f"/ogc/collections/{c.id}/items/{first}", f"{c.id}Feature"))
    for path, schema in checks:
        errors = list(_validator(document, schema).iter_errors(_get(url + path)))
        assert not errors, f"{path}: {[str(e)[:200] for e in errors[:3]]}"
    bad = _get(f"{url}/ogc/collections/stations/items?limit=1")
    bad["features"][0]["geometry"]["type"] = "Polygon"
    assert not _validator(document, "stationsFeatureCollection").is_valid(bad)


def test_the_next_links_walk_every_feature_exactly_once_over_http(served, snap):
    _, url = served
    for c in COLLECTIONS:
        seen, page = [], f"{url}/ogc/collections/{c.id}/items?limit=37"
        total = None
        while page:
            body = _get(page)
            total = body["numberMatched"]
            seen += [f["id"] for f in body["features"]]
            page = next((link["href"] for link in body["links"] if link["rel"] == "next"),
                        None)
        assert len(seen) == len(set(seen)) == total, c.id
