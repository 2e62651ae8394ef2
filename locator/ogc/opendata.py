"""The open station list: CSV, GeoJSON, GeoPackage and XLSX for anyone, without an account.

Each file holds every site that is not removed (stations and mother rooms, the public
record fields of :data:`locator.sites.snapshot.PUBLIC_FIELDS`, WGS-84 lon/lat), written by
:func:`locator.exports.writers.export_stations` once per data version into the instance
cache, then stamped with the licence and attribution (:data:`LICENCE`) in the way each
format can carry it:

* CSV: two more columns, ``licence`` and ``attribution`` (a CSV has nowhere else to say it);
* GeoJSON: top-level members ``licence``, ``licence_url``, ``attribution``, ``data_version``
  (beside the ``synthetic`` flag and ``notice`` the writer puts there);
* GeoPackage: an attribute table ``about`` (``key``, ``value``) beside layer ``stations``;
* XLSX: a sheet ``许可 licence`` (beside ``说明``, the synthetic notice, when there is one).

Every format carries the ``synthetic`` column. Files are written in a temporary folder and
renamed into place, so a reader never sees half a file; files of older versions are
deleted. No Flask here.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from locator.errors import NotFound, shown
from locator.exports.writers import export_stations
from locator.jsonio import dumps

__all__ = ["LICENCE", "OPEN_FORMATS", "OpenData", "OpenFile"]

#: Media type of each open format.
OPEN_FORMATS = {
    "csv": "text/csv",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: The terms the open files and the OGC API are published under.
LICENCE = {
    "licence": "CC BY 4.0",
    "licence_url": "https://creativecommons.org/licenses/by/4.0/",
    "attribution": "河北省总工会 · 驿站地图（工会户外劳动者服务站点、爱心妈妈小屋）",
}


@dataclass(frozen=True)
class OpenFile:
    """A written open-data file.

    Attributes
    ----------
    path : pathlib.Path
    mimetype : str
    download_name : str
        The stable name offered to the user (``hebei-union-stations.csv``).
    version : int
        The data version it holds.
    """

    path: Path
    mimetype: str
    download_name: str
    version: int


class OpenData:
    """The open files of the current data version, kept in ``folder``.

    Parameters
    ----------
    folder : str or pathlib.Path
        E.g. ``instance/cache/opendata``; only this class writes in it.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()

    def file(self, sites: pd.DataFrame, version: int, fmt: str, *, synthetic: bool) -> OpenFile:
        """The file of ``fmt`` for data version ``version``, written on first request.

        Parameters
        ----------
        sites : pandas.DataFrame
            Every site that is not removed, at ``version`` (``SitesSnapshot.sites``).
        version : int
        fmt : {"csv", "geojson", "gpkg", "xlsx"}
        synthetic : bool
            Whether the sites are demo data (said in the licence sheet/table too).

        Raises
        ------
        locator.errors.NotFound
            For another format.
        """
        if fmt not in OPEN_FORMATS:
            raise NotFound(f"没有这种格式的开放数据 {shown(fmt)}。", code="format_not_found")
        path = self.folder / f"stations-v{int(version)}.{fmt}"
        if not path.is_file():
            with self._lock:
                if not path.is_file():
                    self._write(path, sites, int(version), fmt, synthetic)
        return OpenFile(path, OPEN_FORMATS[fmt], f"hebei-union-stations.{fmt}", int(version))

    def _write(self, path: Path, sites, version: int, fmt: str, synthetic: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
        try:
            out = tmp_dir / path.name
            export_stations(sites.reset_index(drop=True), out, fmt)
            about = {**LICENCE, "data_version": version, "synthetic": synthetic}
            STAMPS[fmt](out, about)
            os.replace(out, path)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        for entry in self.folder.glob("stations-v*.*"):
            if entry.name.split(".")[0] != path.name.split(".")[0]:
                entry.unlink(missing_ok=True)


def _stamp_csv(path: Path, about: dict) -> None:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        for i, row in enumerate(rows):
            writer.writerow(row + (["licence", "attribution"] if i == 0 else
                                   [f"{about['licence']} {about['licence_url']}",
                                    about["attribution"]]))


def _stamp_geojson(path: Path, about: dict) -> None:
    collection = json.loads(path.read_text(encoding="utf-8"))
    features = collection.pop("features")
    path.write_text(dumps({**collection, **about, "features": features}) + "\n",
                    encoding="utf-8")


def _stamp_gpkg(path: Path, about: dict) -> None:
    import pyogrio

    table = pd.DataFrame({"key": list(about), "value": [str(v) for v in about.values()]})
    pyogrio.write_dataframe(table, path, layer="about", driver="GPKG")


def _stamp_xlsx(path: Path, about: dict) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    sheet = wb.create_sheet("许可 licence")
    sheet.append(["key", "value"])
    for key, value in about.items():  # our own constants: no formula can hide here
        sheet.append([key, str(value)])
    sheet.column_dimensions["B"].width = 80
    wb.save(path)


#: How each format carries the licence (see the module docstring).
STAMPS = {"csv": _stamp_csv, "geojson": _stamp_geojson, "gpkg": _stamp_gpkg,
          "xlsx": _stamp_xlsx}
