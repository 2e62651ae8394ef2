"""Parse one GeoPackage or Shapefile with GDAL in a child process; print it as JSON.

    python -m locator.imports.gdal_child PATH MAX_ROWS [ENCODING]

Run only by :func:`locator.imports.readers.read_upload`, with a server-generated ``PATH``.
GDAL is a large C library reading hostile bytes: a crash, a runaway allocation or an
endless loop here ends this process, never the web worker (reliability.md §2C-16). The
process caps itself before importing anything heavy: address space, CPU seconds and the
size of files it may write; the parent adds a wall-clock timeout. GDAL's drivers are
allowlisted as in every process (``import locator`` runs
:func:`locator.imports.gdal_guard.install` first) and checked before the file is opened.

Output (stdout, JSON): ``{"columns": [...], "rows": [[cell, ...], ...], "points": [...]}``
where a point is ``[lon, lat]`` (degrees; projected layers are transformed to EPSG:4326),
``null`` for no geometry, or the geometry type's name when it is not a point.
Exit status: 0 read, 3 more than ``MAX_ROWS`` features, 4 GDAL could not read the file.
"""

from __future__ import annotations

import resource
import sys

ADDRESS_SPACE_BYTES = 4 * 1024**3
CPU_SECONDS = 60
WRITE_BYTES = 1024**2
MAX_COLUMNS = 100


def _limit_self() -> None:
    for which, value in ((resource.RLIMIT_AS, ADDRESS_SPACE_BYTES),
                         (resource.RLIMIT_CPU, CPU_SECONDS),
                         (resource.RLIMIT_FSIZE, WRITE_BYTES)):
        soft, hard = resource.getrlimit(which)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (cap, hard))


def _cell(value):
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, bytes):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read(path: str, max_rows: int, encoding: str | None) -> dict:
    """Read the first layer of a GeoPackage or Shapefile with pyogrio (GDAL checked).

    Parameters
    ----------
    path : str
        A server-generated path.
    max_rows : int
        More features than this raise :class:`OverflowError`.
    encoding : str or None
        The attribute table's encoding (a Shapefile's), ``None`` to let GDAL decide.

    Returns
    -------
    dict
        ``{"columns", "rows", "points"}``: attribute names, cells (JSON-ready), and per
        feature ``[lon, lat]`` degrees (a projected layer transformed to EPSG:4326, a
        geographic one as written), ``None`` or the geometry type's name.
    """
    from locator.imports import gdal_guard

    gdal_guard.check()
    import numpy as np
    import pyogrio.raw
    import shapely
    from pyproj import CRS, Transformer

    meta, _fids, wkb, fields = pyogrio.raw.read(
        path, layer=0, encoding=encoding or None, max_features=max_rows + 1,
        datetime_as_string=True,
    )
    n = len(wkb) if wkb is not None else (len(fields[0]) if len(fields) else 0)
    if n > max_rows:
        raise OverflowError(n)
    columns = [str(c) for c in meta["fields"]][:MAX_COLUMNS]
    data = [fields[j] for j in range(len(columns))]
    rows = [[_cell(column[i]) for column in data] for i in range(n)]
    points: list = [None] * n
    if wkb is not None:
        geoms = shapely.from_wkb(wkb)
        kinds = shapely.get_type_id(geoms)
        # a single-point MultiPoint counts as a point
        multi = (kinds == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(multi, shapely.get_geometry(geoms, 0), geoms)
        is_point = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        crs = meta.get("crs")
        if crs and not CRS.from_user_input(crs).is_geographic:
            x, y = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        for i, geom in enumerate(geoms):
            if geom is None or shapely.is_empty(geom):
                points[i] = None
            elif is_point[i]:
                points[i] = [float(x[i]), float(y[i])]
            else:
                points[i] = geom.geom_type
    return {"columns": columns, "rows": rows, "points": points}


def main(argv: list[str]) -> int:
    """Cap this process, read ``PATH MAX_ROWS [ENCODING]`` and print the JSON.

    Parameters
    ----------
    argv : list of str
        The command line's arguments.

    Returns
    -------
    int
        The exit status: 0 read, 3 too many features, 4 GDAL could not read the file.
    """
    _limit_self()
    path, max_rows = argv[0], int(argv[1])
    encoding = argv[2] if len(argv) > 2 and argv[2] else None
    import json

    try:
        doc = read(path, max_rows, encoding)
    except OverflowError:
        return 3
    except Exception as e:  # any GDAL or decoding error: the parent says "unreadable"
        print(type(e).__name__, file=sys.stderr)
        return 4
    sys.stdout.write(json.dumps(doc, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
