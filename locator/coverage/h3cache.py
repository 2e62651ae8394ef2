"""The H3 cells of every county, kept in a cache file between processes.

Finding the H3 resolution-8 cells of Hebei's counties and their centres costs about 3 s
of CPU; reading them back from an ``.npz`` file a few milliseconds. The file is named by a
hash of the county geometries, the resolution and the h3 version, so a change of any of
them makes a new file; it is written atomically (concurrent workers never read half a
file) and a damaged one is rebuilt. Centres are WGS-84 longitude/latitude degrees.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import h3
import h3.api.numpy_int as h3n
import numpy as np
import shapely

__all__ = ["ARRAYS", "cache_path", "grid_cells", "keep_copy"]

#: The arrays a cache file holds.
ARRAYS = ("cell", "county", "lon", "lat")


def _cells_of(geometry, resolution: int) -> np.ndarray:
    return np.asarray(h3n.geo_to_cells(geometry.__geo_interface__, resolution), dtype=np.uint64)


def cache_path(regions, resolution: int, cache_dir: Path) -> Path:
    """The cache file of a grid.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
        Its counties (codes and WGS-84 geometries) name the file.
    resolution : int
        H3 resolution.
    cache_dir : pathlib.Path
        The folder.

    Returns
    -------
    pathlib.Path
        ``cache_dir / "h3grid-<hash>.npz"``, the hash over the county codes and
        geometries, the resolution and the h3 version.
    """
    digest = hashlib.sha256(f"{resolution}|{h3.__version__}|".encode())
    for code, geom in zip(regions.counties["code"], regions.counties.geometry, strict=True):
        digest.update(str(code).encode() + shapely.to_wkb(geom))
    return Path(cache_dir) / f"h3grid-{digest.hexdigest()[:20]}.npz"


def _save_cells(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: concurrent workers never read a half-written file


def grid_cells(regions, resolution: int, cache_dir: Path | None) -> dict[str, np.ndarray]:
    """H3 cells of every county with their centres: the slow, population-free part.

    Parameters
    ----------
    regions : locator.geo.regions.Regions
        Counties, WGS-84 (EPSG:4326).
    resolution : int
        H3 resolution.
    cache_dir : pathlib.Path, optional
        Where the cells are kept (:func:`cache_path`); None builds them every time.

    Returns
    -------
    dict of str to numpy.ndarray
        ``cell`` (H3 indexes, uint64), ``county`` (row of ``regions.counties`` holding
        the cell's centre, int32), ``lon`` and ``lat`` (the centres, WGS-84 degrees).
    """
    counties = regions.counties
    path = None if cache_dir is None else cache_path(regions, resolution, cache_dir)
    if path is not None and path.is_file():
        try:
            with np.load(path) as saved:
                return {k: saved[k] for k in ARRAYS}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged cache file is rebuilt below
    per_county = [_cells_of(g, resolution) for g in counties.geometry]
    cell = np.concatenate(per_county) if per_county else np.empty(0, np.uint64)
    county = np.repeat(np.arange(len(counties)), [len(c) for c in per_county])
    # A centre exactly on a shared border may fall in two counties: keep the first.
    _, first = np.unique(cell, return_index=True)
    first.sort()
    cell, county = cell[first], county[first]
    latlng = np.array([h3n.cell_to_latlng(c) for c in cell], dtype=np.float64).reshape(-1, 2)
    arrays = {"cell": cell, "county": county.astype(np.int32), "lon": latlng[:, 1],
              "lat": latlng[:, 0]}
    if path is not None:
        _save_cells(path, arrays)
    return arrays


def keep_copy(regions, resolution: int, cache_dir: Path,
              arrays: Mapping[str, np.ndarray]) -> None:
    """Leave a cache file of cells built elsewhere in ``cache_dir`` unless one is there.

    Parameters
    ----------
    regions, resolution, cache_dir
        As for :func:`grid_cells`.
    arrays : mapping of str to numpy.ndarray
        ``cell``, ``county``, ``lon``, ``lat`` as :func:`grid_cells` returns them.
    """
    path = cache_path(regions, resolution, Path(cache_dir))
    if not path.is_file():
        _save_cells(path, {k: arrays[k] for k in ARRAYS})
