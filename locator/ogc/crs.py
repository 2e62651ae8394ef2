"""The coordinate reference systems OGC API – Features serves (Part 2, CRS by reference).

Every coordinate is stored as WGS-84 longitude/latitude. Three CRSs are offered, and they
differ only in **axis order**:

* ``CRS84`` (OGC 1.3): longitude, latitude — the default of Part 1 and of GeoJSON;
* ``EPSG:4326`` (WGS-84): latitude, longitude, as the EPSG register defines its axes;
* ``EPSG:4490`` (CGCS2000, the datum of Tianditu and China's official maps): latitude,
  longitude. CGCS2000 and WGS-84 (G1762) agree to within a few centimetres at the epoch of
  the demo data, far below 1 m anywhere in Hebei, so the numbers are the same; the
  ``Content-Crs`` header says which CRS a response is in.

No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass

from locator.errors import BadRequest, shown

__all__ = ["CRS84", "CRSS", "Crs", "by_uri"]


@dataclass(frozen=True)
class Crs:
    """One CRS a client may ask for.

    Attributes
    ----------
    uri : str
        The OGC URI (``http://www.opengis.net/def/crs/...``).
    lat_first : bool
        Whether the first axis is latitude (EPSG:4326 and EPSG:4490) rather than longitude.
    label : str
        A short name for pages.
    """

    uri: str
    lat_first: bool
    label: str

    def xy(self, a: float, b: float) -> tuple[float, float]:
        """A coordinate pair in this CRS's axis order as (lon, lat).

        Examples
        --------
        >>> by_uri("http://www.opengis.net/def/crs/EPSG/0/4326").xy(38.0, 114.5)
        (114.5, 38.0)
        """
        return (b, a) if self.lat_first else (a, b)


CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", False, "WGS 84 (CRS84, 经度, 纬度)")
#: Every CRS served, the storage CRS (CRS84) first.
CRSS = (
    CRS84,
    Crs("http://www.opengis.net/def/crs/EPSG/0/4326", True, "WGS 84 (EPSG:4326, 纬度, 经度)"),
    Crs("http://www.opengis.net/def/crs/EPSG/0/4490", True, "CGCS2000 (EPSG:4490, 纬度, 经度)"),
)
_BY_URI = {c.uri: c for c in CRSS}


def by_uri(uri: str | None, name: str = "crs") -> Crs:
    """The CRS of a ``crs`` or ``bbox-crs`` parameter (CRS84 when absent or empty).

    Parameters
    ----------
    uri : str or None
        One of the URIs of :data:`CRSS`.
    name : str
        The parameter's name, for the error message.

    Raises
    ------
    locator.errors.BadRequest
        For any other value (HTTP 400, as Part 2 asks).

    Examples
    --------
    >>> by_uri(None) is CRS84
    True
    """
    if uri is None or uri == "":
        return CRS84
    crs = _BY_URI.get(uri)
    if crs is None:
        raise BadRequest(f"不支持的坐标参考系 {name}={shown(uri, 80)}（可选 "
                         + "、".join(c.uri for c in CRSS) + "）。", code="bad_crs")
    return crs
