"""Allowlist GDAL's vector drivers *before* pyogrio is first imported.

GDAL picks a driver by a file's content, not its name: a file called ``stations.geojson``
whose bytes are OGR-VRT XML makes GDAL read another local file or open a URL, during
*open* (../shared/research/reliability.md F6-F8). pyogrio has no "allowed drivers" argument
and GDAL registers its drivers once, when pyogrio is imported, honouring the ``GDAL_SKIP``
environment variable. So ``locator/__init__.py`` calls :func:`install` first thing, before
any module can import pyogrio, and :func:`check` asserts the result at startup and before
every read: exactly :data:`ALLOWED_DRIVERS` must remain, or nothing is read (fail closed).

:data:`SKIPPED_DRIVERS` was computed once from the installed GDAL (``pyogrio.list_drivers()``
with ``GDAL_SKIP`` unset; run ``python -m locator.imports.gdal_guard`` to print the current
list) and reviewed. When a newer GDAL brings a driver that is not on it, :func:`check`
raises and names it: add it here after review.

This module imports nothing heavy, so importing it is free.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ALLOWED_DRIVERS", "SKIPPED_DRIVERS", "GdalGuardError", "check", "install"]

#: The only drivers an uploaded file may be opened with.
ALLOWED_DRIVERS = frozenset({"GeoJSON", "GPKG", "ESRI Shapefile", "MEM"})

#: Every other vector driver of GDAL 3.12.4 (the pyogrio 0.13 wheel), reviewed 2026-11.
SKIPPED_DRIVERS = (
    "ADBC", "AIVector", "AVCBin", "AVCE00", "AmigoCloud", "CSV", "CSW", "Carto", "DGN", "DXF",
    "EDIGEO", "EEDA", "ESRIJSON", "Elasticsearch", "FlatGeobuf", "GDALG", "GML", "GPSBabel",
    "GPX", "GTFS", "GeoJSONSeq", "GeoRSS", "HTTP", "Idrisi", "JML", "JSONFG", "KML", "LIBKML",
    "LVBAG", "MBTiles", "MVT", "MapInfo File", "MapML", "MiraMonVector", "NGW", "OAPIF", "ODS",
    "OGCAPI", "OGR_GMT", "OGR_PDS", "OGR_VRT", "OSM", "OpenFileGDB", "PCIDSK", "PDF", "PDS4",
    "PGDUMP", "PLSCENES", "PMTiles", "S57", "SQLite", "SXF", "Selafin", "TopoJSON", "VDV",
    "VFK", "VICAR", "WAsP", "WFS", "XLSX",
)


class GdalGuardError(RuntimeError):
    """GDAL has drivers it must not have; nothing may be read."""


def _skip_value() -> str:
    names = list(SKIPPED_DRIVERS)
    existing = os.environ.get("GDAL_SKIP", "")
    names += [n.strip() for n in existing.split(",") if n.strip() and n.strip() not in names]
    # Comma-separated: names with spaces ("MapInfo File") survive (reliability.md F8).
    return ",".join(names)


def install() -> None:
    """Put the skip list into ``GDAL_SKIP`` (keeping any names already there).

    Must run before pyogrio is imported; when it already is, :func:`check` decides
    whether its drivers happen to be the allowed ones.

    Returns
    -------
    None
        The process environment is changed (``GDAL_SKIP``, and network timeouts GDAL
        reads when it loads).
    """
    if "pyogrio" not in sys.modules:
        os.environ["GDAL_SKIP"] = _skip_value()
        # Belt and braces: no uploaded byte should reach the network anyway.
        os.environ.setdefault("GDAL_HTTP_TIMEOUT", "1")
        os.environ.setdefault("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".none")


_checked = False


def check() -> None:
    """Make sure GDAL offers exactly :data:`ALLOWED_DRIVERS` before a file is opened.

    Imports pyogrio (after :func:`install` ran at package import). Cheap after the first
    successful call.

    Raises
    ------
    GdalGuardError
        GDAL offers a driver outside the allowlist.
    """
    global _checked
    if _checked:
        return
    import pyogrio

    drivers = set(pyogrio.list_drivers())
    extra = drivers - ALLOWED_DRIVERS
    if extra:
        raise GdalGuardError(
            "GDAL offers drivers outside the allowlist: " + ", ".join(sorted(extra))
            + " (pyogrio was imported before locator, or a newer GDAL added drivers: "
            "review them and add them to locator.imports.gdal_guard.SKIPPED_DRIVERS)"
        )
    _checked = True


if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    import json
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}
    out = subprocess.run(
        [sys.executable, "-c",
         "import json, pyogrio; print(json.dumps(sorted(pyogrio.list_drivers())))"],
        env=env, capture_output=True, text=True, check=True, cwd="/",
    ).stdout
    every = json.loads(out)
    print("drivers of this GDAL not yet skipped:",
          sorted(set(every) - ALLOWED_DRIVERS - set(SKIPPED_DRIVERS)) or "none")
