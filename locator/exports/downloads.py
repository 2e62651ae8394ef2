"""Managers' download files, made once per data version and kept in the instance folder.

The coverage page offers every coverage export and the station list
(:mod:`locator.exports.writers`) as downloads, with the media type of its row in
:data:`~locator.exports.registry.FORMATS`. PDF and PNG take seconds to draw, so each file is
written once per (kind, format, area, radius, data version, demand) and kept under a
name the server makes from those validated values (never from a user's string):
a second click is served from disk.

Concurrency: a file is written inside a fresh temporary folder beside the cache
(``tempfile.mkdtemp``), then moved into place with one atomic ``os.replace``, and the
temporary folder is removed whatever happens. Two requests for the same file in one
worker wait for one writer (a lock per file); in two workers both may write, and the
last rename wins with an identical, complete file: no reader ever sees half of one.
Files of other data versions are deleted when a new one is written; a reader that has
one open keeps reading it (POSIX unlink semantics). No Flask here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from locator.coverage.engine import DEFAULT_RADIUS_M, CoverageEngine, area_name
from locator.coverage.page import demand_key
from locator.errors import shown
from locator.exports.files import ExportError
from locator.exports.registry import MIMETYPES, Format, find
from locator.exports.writers import export_coverage, export_stations

__all__ = ["MIMETYPES", "Download", "DownloadCache", "download_name"]

_STALE_TMP_S = 3600  # a temporary folder this old belongs to a crashed writer


@dataclass
class Download:
    """An open cached file and how to offer it.

    Attributes
    ----------
    file : BinaryIO
        Open for reading; the caller closes it (a web framework does after sending).
    name : str
        File name for the user (Chinese; for ``Content-Disposition``'s ``filename*``).
    ascii_name : str
        The same in ASCII, for old clients (``Content-Disposition``'s ``filename``).
    mimetype : str
    size : int
        Bytes.
    """

    file: BinaryIO
    name: str
    ascii_name: str
    mimetype: str
    size: int


def download_name(kind: str, fmt: str, area_name: str, radius_m: int | None = None) -> str:
    """The file name offered to the user, e.g. ``石家庄市-驿站覆盖-1000米.pdf``.

    Parameters
    ----------
    kind : {"coverage", "stations"}
    fmt : str
        The format's key, used as the suffix.
    area_name : str
        From our boundaries (a district name or 河北省), never from a request.
    radius_m : int, optional
        Service radius, metres (coverage only).

    Returns
    -------
    str

    Examples
    --------
    >>> download_name("coverage", "pdf", "石家庄市", 1000)
    '石家庄市-驿站覆盖-1000米.pdf'
    >>> download_name("stations", "kml", "河北省")
    '河北省-站点名单.kml'
    """
    if kind == "coverage":
        return f"{area_name}-驿站覆盖-{radius_m}米.{fmt}"
    return f"{area_name}-站点名单.{fmt}"


class DownloadCache:
    """Download files kept in ``folder`` (e.g. ``instance/cache/downloads``).

    Parameters
    ----------
    folder : str or pathlib.Path
        Created when missing. Only this class writes in it.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- public ------------------------------------------------------------------------

    def coverage(self, engine: CoverageEngine, fmt: str, *, radius_m: int = DEFAULT_RADIUS_M,
                 district: str | None = None) -> Download:
        """A coverage export (:func:`locator.exports.writers.export_coverage`) of the province or
        a district at ``radius_m``, written on first request.

        Parameters
        ----------
        engine : CoverageEngine
            The coverage engine of the data version (and demand) to report.
        fmt : str
            A key of :data:`locator.exports.registry.COVERAGE_FORMATS`.
        radius_m : int
            Service radius, geodesic metres.
        district : str, optional
            Union district code; the province when None.

        Returns
        -------
        Download
            The open file (WGS-84 coordinates) and how to offer it.

        Raises
        ------
        locator.exports.writers.ExportError
            For an unknown format (status 400) or a failed export.
        locator.errors.BadRequest
            For an unknown district or a radius out of range.
        """
        row = _format("coverage", fmt)
        engine.check_district(district)
        radius_m = int(radius_m)
        engine.figures(radius_m)  # validates the radius before any file is named
        stamp = f"v{engine.version}-{demand_key(engine.grid)}"
        area = district or "hebei"
        path = self.folder / f"coverage-{stamp}-{area}-{radius_m}.{fmt}"
        self._ensure(path, "coverage-", stamp, lambda out: export_coverage(
            engine, out, fmt, radius_m=radius_m, district=district))
        name = download_name("coverage", fmt, area_name(engine.regions, district), radius_m)
        return self._open(path, name, f"coverage-{area}-{radius_m}m.{fmt}", row)

    def stations(self, sites: pd.DataFrame, version: int, fmt: str, *, regions,
                 district: str | None = None) -> Download:
        """The sites (all that are not removed, or one district's) as a station list
        (:func:`locator.exports.writers.export_stations`), written on first request per data
        version.

        Parameters
        ----------
        sites : pandas.DataFrame
            Every site that is not removed (the snapshot of ``version``).
        version : int
            The data version of ``sites``.
        fmt : str
            A key of :data:`locator.exports.registry.STATION_FORMATS`.
        regions : locator.geo.regions.Regions
            For the district's name and the list of valid codes.
        district : str, optional
            Union district code; every district when None.

        Returns
        -------
        Download
            The open file (WGS-84 coordinates) and how to offer it.

        Raises
        ------
        locator.exports.writers.ExportError
            For an unknown format (status 400) or a failed export.
        locator.errors.BadRequest
            For an unknown district.
        """
        row = _format("stations", fmt)
        if district is not None and district not in set(regions.districts["code"]):
            from locator.errors import BadRequest

            raise BadRequest(f"没有这个地区代码 {shown(district)}（unknown district）。")
        stamp = f"v{int(version)}"
        area = district or "hebei"
        path = self.folder / f"stations-{stamp}-{area}.{fmt}"
        chosen = sites if district is None else sites[sites["district_code"] == district]
        self._ensure(path, "stations-", stamp,
                     lambda out: export_stations(chosen.reset_index(drop=True), out, fmt))
        return self._open(path, download_name("stations", fmt, area_name(regions, district)),
                          f"stations-{area}.{fmt}", row)

    # -- the cache ---------------------------------------------------------------------

    def _lock_for(self, path: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(path.name, threading.Lock())

    def _ensure(self, path: Path, prefix: str, stamp: str, write) -> None:
        """Make ``path`` exist: write it through ``write(tmp_path)`` unless it does."""
        if path.is_file():
            return
        with self._lock_for(path):
            if path.is_file():
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp_dir = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
            try:
                out = tmp_dir / path.name
                write(out)
                os.replace(out, path)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
            self._prune(prefix, stamp)

    def _prune(self, prefix: str, stamp: str) -> None:
        """Delete files of ``prefix`` made for an older data version (or for another
        demand at this version), and temporary folders abandoned by a crashed writer.

        Files of a newer version are left alone: a worker that has not yet seen the new
        version must not delete what a faster one just wrote."""
        now = time.time()
        version = _version_of(stamp)
        for entry in self.folder.iterdir():
            try:
                if entry.name.startswith(".tmp-"):
                    if now - entry.stat().st_mtime > _STALE_TMP_S:
                        shutil.rmtree(entry, ignore_errors=True)
                    continue
                if not entry.name.startswith(prefix):
                    continue
                other = entry.name[len(prefix):].split("-", 2)
                other_stamp = "-".join(other[:2]) if prefix == "coverage-" else other[0]
                other_version = _version_of(other_stamp)
                if other_version < version or (other_version == version
                                               and other_stamp != stamp):
                    entry.unlink(missing_ok=True)
            except OSError:
                continue  # another worker pruned it first

    def _open(self, path: Path, name: str, ascii_name: str, row: Format) -> Download:
        try:
            f = open(path, "rb")  # noqa: SIM115 - the caller closes it after sending
        except FileNotFoundError:
            # another worker's newer version pruned it between write and open: rare,
            # and the user can click again
            raise ExportError("文件刚被更新的数据替换，请再点一次。", code="export_replaced",
                              status=409) from None
        return Download(f, name, ascii_name, row.mimetype, os.fstat(f.fileno()).st_size)


def _format(kind: str, fmt: str) -> Format:
    """The registry row of ``fmt``: checked before any file is named."""
    row = find(kind, fmt)
    if row is None:
        raise ExportError(f"不支持的格式 {shown(fmt)}。", code="bad_format", status=400)
    return row


def _version_of(stamp: str) -> int:
    """The data version in a stamp such as ``v12-3f9a…`` (-1 when unreadable)."""
    head = stamp.split("-", 1)[0]
    return int(head[1:]) if head[:1] == "v" and head[1:].isdigit() else -1

