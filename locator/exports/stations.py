"""Station lists: CSV, XLSX, GeoJSON, GeoPackage and KML.

Columns are the public record fields (:data:`locator.sites.snapshot.PUBLIC_FIELDS`) with
their English names, as the import accepts them; ``services`` is ``|``-separated codes in
CSV, XLSX and GeoPackage, a list in GeoJSON. Coordinates are WGS-84 lon/lat degrees
(EPSG:4326) in every file.

KML is written by ElementTree (XML escaping) and its HTML ``description`` is escaped text
too (:func:`locator.escape.html_text`).

Each writer takes a :class:`StationList`, the output path and a progress callback (the
signature :class:`locator.exports.registry.Format` expects), and writes atomically.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from locator.escape import html_text, xml_text
from locator.exports.files import (
    SYNTHETIC_NOTICE,
    Progress,
    atomic,
    gpkg_frame,
    new_workbook,
    write_csv,
    xlsx_sheet,
)
from locator.jsonio import dumps, plain

__all__ = [
    "KIND_LABELS", "PREPARE_STEP", "StationList", "station_columns", "station_list",
    "write_stations_csv", "write_stations_geojson", "write_stations_gpkg",
    "write_stations_kml", "write_stations_xlsx",
]

#: The progress label of preparing the station list (:func:`station_list`).
PREPARE_STEP = "准备 prepare"
#: Chinese name of each site kind (KML folders, HTML map popups).
KIND_LABELS = {"station": "工会驿站", "mother_room": "爱心妈妈小屋"}


def station_columns(sites: pd.DataFrame) -> pd.DataFrame:
    """The public columns of a station table, as the files hold them.

    Parameters
    ----------
    sites : pandas.DataFrame or geopandas.GeoDataFrame
        Station records.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A copy: the columns of :data:`locator.sites.snapshot.PUBLIC_FIELDS` that ``sites``
        has, in that order (and its geometry, for a GeoDataFrame, CRS unchanged), with
        ``services`` as ``|``-joined codes.
    """
    from locator.sites.snapshot import PUBLIC_FIELDS

    columns = [c for c in PUBLIC_FIELDS if c in sites.columns]
    out = sites[columns].copy() if not isinstance(sites, gpd.GeoDataFrame) else sites[
        [*columns, sites.geometry.name]].copy()
    if "services" in out:
        out["services"] = ["|".join(s or ()) for s in out["services"]]
    return out


@dataclass(frozen=True)
class StationList:
    """The sites of a station-list export, ready for any writer.

    Attributes
    ----------
    sites : pandas.DataFrame
        The station records as given (``lon``/``lat`` WGS-84 degrees, ``services`` lists).
    table : pandas.DataFrame
        Their public columns (:func:`station_columns`).
    synthetic : bool
        True when any site is demo data: the file then carries :data:`SYNTHETIC_NOTICE`.
    """

    sites: pd.DataFrame
    table: pd.DataFrame
    synthetic: bool


def station_list(sites: pd.DataFrame) -> StationList:
    """Prepare station records for a writer.

    Parameters
    ----------
    sites : pandas.DataFrame
        Station records (``lon``/``lat`` WGS-84 degrees, ``services`` lists of codes).

    Returns
    -------
    StationList
    """
    synthetic = bool(sites["synthetic"].any()) if len(sites) and "synthetic" in sites else False
    return StationList(sites=sites, table=station_columns(sites), synthetic=synthetic)


def write_stations_csv(stations: StationList, path: Path,
                       progress: Progress | None = None) -> None:
    """A CSV of the public columns (UTF-8 with BOM; no live formula); ``lon``/``lat``
    WGS-84 degrees.

    Parameters
    ----------
    stations : StationList
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    write_csv(path, list(stations.table.columns), stations.table.itertuples(index=False))


def write_stations_xlsx(stations: StationList, path: Path,
                        progress: Progress | None = None) -> None:
    """An Excel workbook: sheet 站点 (the public columns, every string a text cell;
    ``lon``/``lat`` WGS-84 degrees) and, for demo data, a sheet 说明 with the notice.

    Parameters
    ----------
    stations : StationList
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    table = stations.table
    wb = new_workbook()
    xlsx_sheet(wb, "站点", list(table.columns), table.values.tolist(),
               [16, 12, 30, 36, 10, 10, 10, 10, 12, 12, 8, 40, 28, 30, 16, 12])
    if stations.synthetic:
        xlsx_sheet(wb, "说明", ["注意"], [[SYNTHETIC_NOTICE]], [100])
    with atomic(path) as tmp:
        wb.save(tmp)


def write_stations_geojson(stations: StationList, path: Path,
                           progress: Progress | None = None) -> None:
    """A GeoJSON (RFC 7946, EPSG:4326) FeatureCollection of points, the site's ``id`` as
    feature id and ``services`` as a list; members ``synthetic`` and ``notice``.

    Parameters
    ----------
    stations : StationList
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    from locator.sites.snapshot import PUBLIC_FIELDS

    point_features = []
    for row in stations.sites.to_dict("records"):
        props = {k: plain(row.get(k)) for k in PUBLIC_FIELDS if k in row}
        props["services"] = list(row.get("services") or [])
        point_features.append({"type": "Feature", "id": row["id"],
                               "geometry": {"type": "Point",
                                            "coordinates": [row["lon"], row["lat"]]},
                               "properties": props})
    collection = {"type": "FeatureCollection", "synthetic": stations.synthetic,
                  "notice": SYNTHETIC_NOTICE if stations.synthetic else None,
                  "features": point_features}
    with atomic(path) as tmp:
        tmp.write_text(dumps(collection) + "\n", encoding="utf-8")


def write_stations_gpkg(stations: StationList, path: Path,
                        progress: Progress | None = None) -> None:
    """A GeoPackage with one point layer ``stations`` (EPSG:4326) of the public columns.

    Parameters
    ----------
    stations : StationList
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    import pyogrio

    sites = stations.sites
    frame = gpd.GeoDataFrame(stations.table, geometry=shapely.points(
        sites["lon"].to_numpy(dtype=float), sites["lat"].to_numpy(dtype=float)),
        crs="EPSG:4326")
    with atomic(path) as tmp:
        pyogrio.write_dataframe(gpkg_frame(frame), tmp, layer="stations", driver="GPKG")


_KML_NS = "http://www.opengis.net/kml/2.2"
_KML_STYLES = {"station": "ff2e7d32", "mother_room": "ffb0278e"}  # aabbggrr


def _kml_description(row: dict) -> str:
    """The balloon HTML of a placemark; every station value through html_text."""
    items = [("地址", row.get("address")), ("服务", "、".join(row.get("services") or [])),
             ("开放时间", row.get("opening_hours")), ("主办单位", row.get("host")),
             ("电话", row.get("phone")), ("状态", row.get("status")),
             ("编号", row.get("id"))]
    return "".join(f"<p><b>{label}</b>：{html_text(value)}</p>"
                   for label, value in items if value)


def _kml_sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, f"{{{_KML_NS}}}{tag}", attrs)
    if text is not None:
        el.text = xml_text(text)
    return el


def _kml_placemark(folder, row: dict) -> None:
    mark = _kml_sub(folder, "Placemark", id=str(row["id"]))
    _kml_sub(mark, "name", row.get("name"))
    _kml_sub(mark, "description", _kml_description(row))
    _kml_sub(mark, "styleUrl", f"#{row.get('kind', 'station')}")
    data = _kml_sub(mark, "ExtendedData")
    for key in ("id", "kind", "district_name", "county_name", "status", "synthetic"):
        value = plain(row.get(key))
        if value is not None:
            d = _kml_sub(data, "Data", name=key)
            _kml_sub(d, "value", str(value).lower() if isinstance(value, bool) else value)
    point = _kml_sub(mark, "Point")
    _kml_sub(point, "coordinates", f"{float(row['lon']):.6f},{float(row['lat']):.6f}")


def write_stations_kml(stations: StationList, path: Path,
                       progress: Progress | None = None) -> None:
    """A KML 2.2 document (WGS-84 lon,lat to 6 decimals): one folder per site kind, one
    styled placemark per site with an escaped HTML description and ExtendedData.

    Parameters
    ----------
    stations : StationList
    path : pathlib.Path
        Output file, replaced atomically.
    progress : callable, optional
        Not called: this writer reports no step of its own.
    """
    ET.register_namespace("", _KML_NS)
    root = ET.Element(f"{{{_KML_NS}}}kml")
    doc = _kml_sub(root, "Document")
    _kml_sub(doc, "name", "驿站地图 · 河北工会驿站与爱心妈妈小屋")
    if stations.synthetic:
        _kml_sub(doc, "description", html_text(SYNTHETIC_NOTICE))
    for kind, colour in _KML_STYLES.items():
        style = _kml_sub(doc, "Style", id=kind)
        icon_style = _kml_sub(style, "IconStyle")
        _kml_sub(icon_style, "color", colour)
    folders = {kind: _kml_sub(doc, "Folder") for kind in _KML_STYLES}
    for kind, folder in folders.items():
        _kml_sub(folder, "name", KIND_LABELS[kind])
    for row in stations.sites.to_dict("records"):
        _kml_placemark(folders.get(row.get("kind"), folders["station"]), row)
    tree = ET.ElementTree(root)
    ET.indent(tree, space=" ")
    with atomic(path) as tmp:
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
