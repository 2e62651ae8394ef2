"""GIS uploads: GeoJSON (parsed here with :mod:`json`), GeoPackage and zipped Shapefile
(read by GDAL in a child process).

Every reader gives a :class:`~locator.imports.table.Table` whose ``points`` are the
features' point geometries as ``(lon, lat)`` degrees in the file's datum (the user
declares it; projected GeoPackage and Shapefile layers are transformed to EPSG:4326 by
the child), ``None`` for a missing geometry, or a string naming the geometry's type when
it is not a point.

GeoPackage and Shapefile bytes are written to a server-generated temporary folder and
opened by pyogrio with GDAL restricted to four drivers (:mod:`locator.imports.gdal_guard`),
in a child process with capped memory, CPU and time (:mod:`locator.imports.gdal_child`).
A GeoPackage is first checked through a read-only, immutable SQLite connection with
``trusted_schema=OFF`` (``quick_check``, ``application_id``, no views, no triggers but
GeoPackage's own). A Shapefile zip may hold only ``.shp .shx .dbf .prj .cpg`` (and
ignorable index and metadata files) of exactly one layer. No user string becomes a path.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from locator.imports.archives import check_zip, open_zip, read_member
from locator.imports.table import (
    MAX_COLUMNS,
    Cell,
    Limits,
    Table,
    too_many_rows,
    unreadable,
    unsupported,
)
from locator.imports.text_files import decode_text

__all__ = ["GDAL_TIMEOUT_S", "read_gdal_file", "read_geojson"]

#: Wall-clock limit of the GDAL child process, in seconds.
GDAL_TIMEOUT_S = 120

_GEOGRAPHIC_CRS = {"urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:epsg::4326",
                   "epsg:4326", "urn:ogc:def:crs:epsg::4490", "epsg:4490"}
_SHAPE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
_SHAPE_IGNORED = {".sbn", ".sbx", ".qix", ".xml", ".aux", ".qmd", ".qpj", ".fix", ".atx"}
_GPKG_TRIGGER = re.compile(
    r"^(rtree_.+_(insert\d*|update\d*|delete)|trigger_(insert|delete)_feature_count_.+"
    r"|gpkg_.+)$"
)


# --------------------------------------------------------------------------- GeoJSON

def _point_of(geometry: Any) -> tuple[float, float] | str | None:
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        return "geometry"
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        return f"{kind}"
    if (not isinstance(coords, list) or len(coords) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool)
                       for c in coords[:2])):
        return "coordinates"
    return float(coords[0]), float(coords[1])


def _property(value: Any) -> Cell:
    if isinstance(value, list):
        return "、".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _feature_collection(data: bytes) -> dict:
    """The upload as a GeoJSON FeatureCollection (a single Feature is wrapped in one)
    whose CRS, if it names one, is geographic (lon/lat)."""
    text, _ = decode_text(data)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise unreadable("GeoJSON 格式有误，无法解析。",
                         "Malformed GeoJSON: it cannot be parsed.") from e
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not (isinstance(doc, dict) and doc.get("type") == "FeatureCollection"
            and isinstance(doc.get("features"), list)):
        raise unsupported("这个 JSON 文件不是 GeoJSON 要素集合（FeatureCollection）。",
                          "This JSON file is not a GeoJSON FeatureCollection.")
    crs = doc.get("crs")
    if crs is not None:
        name = str(((crs or {}).get("properties") or {}).get("name", "")).casefold()
        if name not in _GEOGRAPHIC_CRS:
            raise unsupported(
                "GeoJSON 的坐标参考系不是经纬度（WGS-84），请转换后再上传。",
                "The GeoJSON's CRS is not longitude/latitude (WGS-84): convert it first.",
            )
    return doc


def read_geojson(data: bytes, limits: Limits) -> Table:
    """Read a GeoJSON upload (RFC 7946, or the 2008 form with a geographic ``crs``).

    Parameters
    ----------
    data : bytes
        The file's bytes (UTF-8, or any encoding :func:`decode_text` knows).
    limits : Limits
        ``max_rows``; properties beyond :data:`~locator.imports.table.MAX_COLUMNS`
        distinct names are dropped.

    Returns
    -------
    Table
        Columns: every property name in order of first appearance; ``points``: each
        feature's ``(lon, lat)`` degrees as written (source datum). A list property is
        joined with 、, an object property kept as JSON text.

    Raises
    ------
    UploadRefused
        ``unreadable_file`` (malformed), ``unsupported_file`` (not a FeatureCollection,
        a projected CRS) or ``too_many_rows``.
    """
    features = _feature_collection(data)["features"]
    if len(features) > limits.max_rows:
        raise too_many_rows(limits)
    columns: list[str] = []
    index: dict[str, int] = {}
    props_list = []
    points = []
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        props = props if isinstance(props, dict) else {}
        for key in props:
            if key not in index and len(columns) < MAX_COLUMNS:
                index[key] = len(columns)
                columns.append(str(key))
        props_list.append(props)
        points.append(_point_of(feature.get("geometry")) if isinstance(feature, dict)
                      else "geometry")
    rows = []
    for number, props in enumerate(props_list, start=1):
        cells: list[Cell] = [None] * len(columns)
        for key, value in props.items():
            if key in index:
                cells[index[key]] = _property(value)
        rows.append((number, cells))
    return Table(format="geojson", columns=columns, rows=rows, points=points,
                 encoding="utf-8")


# --------------------------------------------------------------------------- GDAL formats

def read_gdal_file(data: bytes, fmt: str, limits: Limits,
                   tmp_root: str | Path | None = None) -> Table:
    """Read a GeoPackage or a zipped Shapefile through the GDAL child process.

    Parameters
    ----------
    data : bytes
        The upload's bytes.
    fmt : str
        ``gpkg`` or ``shapefile`` (from :func:`locator.imports.readers.detect_format`).
    limits : Limits
    tmp_root : str or pathlib.Path, optional
        Folder under which a private temporary folder ``locator-import-*`` is made for
        the file (default: the system's); it is removed before this returns.

    Returns
    -------
    Table
        ``points`` in EPSG:4326 degrees for projected layers, else as written.

    Raises
    ------
    UploadRefused
        ``unsupported_file``, ``unreadable_file`` or ``too_many_rows``.
    """
    with tempfile.TemporaryDirectory(prefix="locator-import-",
                                     dir=str(tmp_root) if tmp_root else None) as folder:
        folder = Path(folder)
        if fmt == "gpkg":
            path = folder / "upload.gpkg"
            path.write_bytes(data)
            _check_gpkg(path)
            return _read_gdal(path, fmt, limits)
        path, encoding = _extract_shapefile(data, folder, limits)
        return _read_gdal(path, fmt, limits, encoding=encoding)


def _sqlite_uri(path: Path) -> str:
    from urllib.parse import quote

    return "file:" + quote(str(path)) + "?mode=ro&immutable=1"


def _check_gpkg(path: Path) -> None:
    """Pre-check an uploaded GeoPackage without trusting it (reliability.md §2C-17)."""
    bad = unsupported("这个 GeoPackage 文件不符合规范或含有不允许的内容（视图、触发器），已拒绝。",
                      "This GeoPackage is invalid or holds forbidden content (views, "
                      "triggers); refused.")
    try:
        conn = sqlite3.connect(_sqlite_uri(path), uri=True)
    except sqlite3.Error as e:
        raise unreadable("GeoPackage 文件已损坏。", "The GeoPackage is damaged.") from e
    try:
        layers = _gpkg_layers(conn, bad)
    except sqlite3.Error as e:
        raise bad from e
    finally:
        conn.close()
    if len(layers) != 1:
        raise unsupported(
            f"GeoPackage 里应当只有一个图层，这里有 {len(layers)} 个。",
            f"The GeoPackage should hold exactly one layer; it holds {len(layers)}.",
        )


def _gpkg_layers(conn: sqlite3.Connection, bad: Exception) -> list:
    """The GeoPackage's feature and attribute tables, after its integrity, application
    id, views and triggers were checked (``bad`` is raised for forbidden content)."""
    conn.execute("PRAGMA trusted_schema=OFF")
    conn.execute("PRAGMA cell_size_check=ON")
    conn.execute("PRAGMA mmap_size=0")
    if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise unreadable("GeoPackage 文件已损坏。", "The GeoPackage is damaged.")
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id not in (0x47504B47, 0x47503130, 0x47503131):  # 'GPKG', 'GP10', 'GP11'
        raise unsupported("这是 SQLite 数据库，不是 GeoPackage。",
                          "This is an SQLite database, not a GeoPackage.")
    objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    if any(t == "view" for t, _ in objects):
        raise bad
    if any(t == "trigger" and not _GPKG_TRIGGER.match(n) for t, n in objects):
        raise bad
    return conn.execute(
        "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes')"
    ).fetchall()


def _shapefile_encoding(parts: dict[str, bytes]) -> str:
    if ".cpg" in parts:
        name = parts[".cpg"].decode("ascii", "replace").strip().upper()
        if name in {"UTF-8", "UTF8", "65001"}:
            return "UTF-8"
        if name in {"GBK", "CP936", "936", "GB2312", "GB18030"}:
            return "GB18030"
    dbf = parts.get(".dbf", b"")
    if len(dbf) > 29 and dbf[29] == 0x4D:  # language driver id 0x4D: code page 936
        return "GB18030"
    try:
        dbf[32:].decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"  # what Chinese desktop GIS writes without a .cpg


def _shapefile_members(zf: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    """The members of exactly one Shapefile by suffix (``.shp`` ...); ignorable index and
    metadata files are skipped, anything else is refused."""
    parts: dict[str, zipfile.ZipInfo] = {}
    stems = set()
    for info in (i for i in check_zip(zf, limits) if not i.is_dir()):
        pure = PurePosixPath(info.filename.replace("\\", "/"))
        suffix = pure.suffix.lower()
        if pure.name.lower().endswith(".shp.xml") or suffix in _SHAPE_IGNORED \
                or pure.name.startswith(".") or "__MACOSX" in pure.parts:
            continue
        if suffix not in _SHAPE_PARTS:
            raise unsupported(
                f"压缩包里有不属于 Shapefile 的文件（{suffix or '无扩展名'}），已拒绝。"
                "只允许 .shp .shx .dbf .prj .cpg。",
                f"The archive holds a file that is not part of a Shapefile "
                f"({suffix or 'no extension'}); only .shp .shx .dbf .prj .cpg are allowed.",
            )
        stems.add(str(pure.with_suffix("")).casefold())
        parts[suffix] = info
    if len(stems) != 1 or not {".shp", ".shx", ".dbf"} <= parts.keys():
        raise unsupported(
            "压缩包里应当恰好有一个 Shapefile（同名的 .shp、.shx、.dbf）。",
            "The archive should hold exactly one Shapefile (.shp, .shx and .dbf of one name).",
        )
    return parts


def _extract_shapefile(data: bytes, folder: Path, limits: Limits) -> tuple[Path, str]:
    with open_zip(data) as zf:
        parts = _shapefile_members(zf, limits)
        payload = {suffix: read_member(zf, info, limits) for suffix, info in parts.items()}
    if not payload[".shp"].startswith(b"\x00\x00\x27\x0a"):
        raise unreadable("Shapefile 的 .shp 文件已损坏。", "The Shapefile's .shp is damaged.")
    for suffix, raw in payload.items():
        (folder / f"layer{suffix}").write_bytes(raw)  # server-generated names only
    return folder / "layer.shp", _shapefile_encoding(payload)


def _read_gdal(path: Path, fmt: str, limits: Limits, encoding: str | None = None) -> Table:
    """Read a GeoPackage or Shapefile through :mod:`locator.imports.gdal_child`, a separate
    process: a GDAL crash or runaway ends the child, never this worker."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "locator.imports.gdal_child", str(path),
               str(limits.max_rows), encoding or ""]
    failed = unreadable("无法读取这个文件（文件已损坏或格式不对）。",
                        "This file cannot be read (damaged, or not what it seems).")
    try:
        done = subprocess.run(command, capture_output=True, timeout=GDAL_TIMEOUT_S, env=env,
                              cwd=str(path.parent), stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as e:
        raise unreadable("读取这个文件用时过长，已停止。",
                         "Reading this file took too long; stopped.") from e
    if done.returncode == 3:
        raise too_many_rows(limits)
    if done.returncode != 0:
        raise failed
    try:
        doc = json.loads(done.stdout)
    except ValueError as e:
        raise failed from e
    rows = [(number, list(cells)) for number, cells in enumerate(doc["rows"], start=1)]
    points = [tuple(p) if isinstance(p, list) else p for p in doc["points"]]
    return Table(format=fmt, columns=doc["columns"], rows=rows, points=points,
                 encoding=encoding)
