"""Conversions between the three datums in daily use in China.

* **WGS-84** (EPSG:4326) — GPS, browser geolocation, OSM, Tianditu; what we store and serve.
* **GCJ-02** — the obfuscated datum of Amap/Gaode, Tencent and WeChat; 460-670 m off in Hebei.
* **BD-09** — Baidu's further offset of GCJ-02; about 1.3 km off WGS-84 in Hebei.

pyproj does not know GCJ-02 or BD-09 (PROJ closed that request as wontfix), so the
widely published forward formulas live here, vectorised over numpy arrays. The inverses
are *fixed-iteration* fixed-point solutions: a fixed count keeps the result a pure function
of each input vertex, so vertices shared by neighbouring polygons stay bit-identical (an
early-exit loop broke coverage validity in ../shared/research/data.md §1.4). Three
iterations leave < 1 µm of error; we run four.

Points outside China's bounding box pass through every function unchanged, as GCJ-02 is
only defined inside China.

All functions take and return ``(lon, lat)`` in degrees, as scalars or array-likes, and
accept the datum names of :data:`DATUMS` through :func:`to_wgs84` / :func:`from_wgs84`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DATUMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

DATUMS = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as the published GCJ-02 algorithm uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_ITERATIONS = 4


def _arrays(lon, lat):
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return np.broadcast_arrays(lon, lat)


def _result(lon, lat, scalar):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def out_of_china(lon, lat):
    """True where a point lies outside the rough bounding box in which GCJ-02 applies.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude in degrees, in any of the three datums: the box
        (lon 72.004-137.8347, lat 0.8293-55.8271) is far coarser than their offsets.

    Returns
    -------
    bool or numpy.ndarray of bool
        A bool for scalar input, else an array of the broadcast shape.

    Examples
    --------
    >>> out_of_china(2.3522, 48.8566), out_of_china(114.5149, 38.0428)
    (True, False)
    """
    lon, lat = _arrays(lon, lat)
    out = ~((lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271))
    return bool(out) if out.ndim == 0 else out


def _gcj_delta(lon, lat):
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj(lon, lat):
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon, lat):
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_approx(lon, lat):
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon, lat, start):
    """Solve ``forward(w) == (lon, lat)`` by a fixed number of fixed-point steps."""
    wlon, wlat = start
    for _ in range(_INVERSE_ITERATIONS):
        flon, flat = forward(wlon, wlat)
        wlon = wlon - (flon - lon)
        wlat = wlat - (flat - lat)
    return wlon, wlat


def _apply(fn, lon, lat):
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon, lat = _arrays(lon, lat)
    outside = out_of_china(lon, lat)
    rlon, rlat = fn(lon, lat)
    rlon = np.where(outside, lon, rlon)
    rlat = np.where(outside, lat, rlat)
    return _result(rlon, rlat, scalar)


def wgs84_to_gcj02(lon, lat):
    """WGS-84 → GCJ-02 (the published forward formula; exact by definition).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude/latitude in degrees (EPSG:4326).

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 longitude/latitude in degrees; floats for scalar input, else arrays.
        Points outside China come back unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)
    >>> round(lon, 9), round(lat, 9)
    (116.384047225, 39.913345455)
    """
    return _apply(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS-84 by a fixed-iteration inverse (error < 1 µm in China).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude/latitude in degrees (Amap, Tencent, WeChat).

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS-84 longitude/latitude in degrees (EPSG:4326); floats for scalar input, else
        arrays. Points outside China come back unchanged.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.384047225, 39.913345455)
    >>> round(lon, 6), round(lat, 6)
    (116.377817, 39.911954)
    """

    def inverse(glon, glat):
        return _invert(_wgs_to_gcj, glon, glat, (glon, glat))

    return _apply(inverse, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu's published forward formula).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude/latitude in degrees.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        BD-09 longitude/latitude in degrees (Baidu); floats for scalar input, else
        arrays. Points outside China come back unchanged.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.384047225, 39.913345455)
    >>> round(lon, 6), round(lat, 6)
    (116.390455, 39.919576)
    """
    return _apply(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02: Baidu's one-step inverse refined by fixed iterations (< 1 µm).

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude/latitude in degrees (Baidu).

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 longitude/latitude in degrees; floats for scalar input, else arrays.
        Points outside China come back unchanged.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(116.390455, 39.919576)
    >>> round(lon, 5), round(lat, 5)
    (116.38405, 39.91335)
    """

    def inverse(blon, blat):
        return _invert(_gcj_to_bd, blon, blat, _bd_to_gcj_approx(blon, blat))

    return _apply(inverse, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS-84 → BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude/latitude in degrees (EPSG:4326).

    Returns
    -------
    lon, lat : float or numpy.ndarray
        BD-09 longitude/latitude in degrees; floats for scalar input, else arrays.
        Points outside China come back unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(116.377817, 39.911954)
    >>> round(lon, 6), round(lat, 6)
    (116.390455, 39.919576)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS-84 (via GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude/latitude in degrees (Baidu).

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS-84 longitude/latitude in degrees (EPSG:4326); floats for scalar input, else
        arrays. Points outside China come back unchanged.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(*wgs84_to_bd09(116.377817, 39.911954))
    >>> round(lon, 9), round(lat, 9)
    (116.377817, 39.911954)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS = {"wgs84": None, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS = {"wgs84": None, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _check(datum: str) -> str:
    if datum not in DATUMS:
        from locator.errors import BadDatum

        raise BadDatum(datum)
    return datum


def to_wgs84(lon, lat, datum: str):
    """Convert ``(lon, lat)`` in ``datum`` (one of :data:`DATUMS`) to WGS-84.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude/latitude in degrees, in ``datum``.
    datum : {"wgs84", "gcj02", "bd09"}
        The datum of the input.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS-84 longitude/latitude in degrees (EPSG:4326); floats for scalar input, else
        arrays (``wgs84`` input comes back as float64 values, unchanged).

    Raises
    ------
    locator.errors.BadDatum
        If ``datum`` is not one of :data:`DATUMS` (HTTP 400, ``bad_datum``).

    Examples
    --------
    >>> lon, lat = to_wgs84(116.384047225, 39.913345455, "gcj02")
    >>> round(lon, 6), round(lat, 6)
    (116.377817, 39.911954)
    >>> to_wgs84(114.5, 38.0, "utm50")
    Traceback (most recent call last):
    ...
    locator.errors.BadDatum: 不支持的坐标系 'utm50'，可选 wgs84、gcj02、bd09。
    """
    fn = _TO_WGS[_check(datum)]
    if fn is None:
        scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
        return (float(lon), float(lat)) if scalar else _arrays(lon, lat)
    return fn(lon, lat)


def from_wgs84(lon, lat, datum: str):
    """Convert WGS-84 ``(lon, lat)`` to ``datum`` (one of :data:`DATUMS`).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS-84 longitude/latitude in degrees (EPSG:4326).
    datum : {"wgs84", "gcj02", "bd09"}
        The datum wanted.

    Returns
    -------
    lon, lat : float or numpy.ndarray
        Longitude/latitude in degrees, in ``datum``; floats for scalar input, else arrays.

    Raises
    ------
    locator.errors.BadDatum
        If ``datum`` is not one of :data:`DATUMS` (HTTP 400, ``bad_datum``).

    Examples
    --------
    >>> lon, lat = from_wgs84(116.377817, 39.911954, "gcj02")
    >>> round(lon, 9), round(lat, 9)
    (116.384047225, 39.913345455)
    """
    fn = _FROM_WGS[_check(datum)]
    if fn is None:
        scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
        return (float(lon), float(lat)) if scalar else _arrays(lon, lat)
    return fn(lon, lat)
