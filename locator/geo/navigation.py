"""Links that open a site in the navigation apps couriers have, each in the datum it expects.

* Amap (高德): ``uri.amap.com/marker`` takes ``coordinate=wgs84`` — we pass WGS-84 as stored.
* Baidu (百度): ``api.map.baidu.com/marker`` takes ``coord_type=wgs84`` — WGS-84 as stored.
* Tencent (腾讯): ``apis.map.qq.com/uri/v1/marker`` expects GCJ-02 — converted here.
* Apple Maps: in mainland China it draws AutoNavi (GCJ-02) data — converted here.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from locator.geo.datum import wgs84_to_gcj02

SOURCE = "webapp.hebei-union.yizhan"  # the caller id Amap and Baidu ask for


def _coord(v: float) -> str:
    return f"{v:.6f}"


def navigation_links(lon: float, lat: float, name: str, address: str = "") -> list[dict]:
    """One link per app: ``{"app", "label", "url", "datum"}`` (WGS-84 input, degrees).

    Parameters
    ----------
    lon, lat : float
        The site, WGS-84 longitude/latitude in degrees (EPSG:4326), as stored.
    name : str
        Shown as the marker's title in every app.
    address : str, optional
        Shown by Baidu and Tencent; ``name`` is used when empty.

    Returns
    -------
    list of dict
        Amap, Baidu, Tencent and Apple Maps, in that order. ``app`` is the app's code,
        ``label`` its Chinese name, ``url`` the link with the point written at 6 decimals
        (about 0.1 m), and ``datum`` the datum of that point: ``"wgs84"`` for Amap and
        Baidu (their URLs say so), ``"gcj02"`` for Tencent and Apple Maps (converted with
        :func:`locator.geo.datum.wgs84_to_gcj02`).

    Examples
    --------
    >>> links = navigation_links(114.5149, 38.0428, "驿站")
    >>> [link["app"] for link in links]
    ['amap', 'baidu', 'tencent', 'apple']
    >>> "coordinate=wgs84" in links[0]["url"]
    True
    """
    glon, glat = wgs84_to_gcj02(lon, lat)
    amap = "https://uri.amap.com/marker?" + urlencode({
        "position": f"{_coord(lon)},{_coord(lat)}", "name": name, "src": SOURCE,
        "coordinate": "wgs84", "callnative": "1"})
    baidu = "https://api.map.baidu.com/marker?" + urlencode({
        "location": f"{_coord(lat)},{_coord(lon)}", "title": name, "content": address or name,
        "output": "html", "coord_type": "wgs84", "src": SOURCE})
    marker = f"coord:{_coord(glat)},{_coord(glon)};title:{name};addr:{address or name}"
    tencent = ("https://apis.map.qq.com/uri/v1/marker?marker=" + quote(marker, safe=":,;")
               + "&referer=" + quote(SOURCE))
    apple = "https://maps.apple.com/?" + urlencode({"ll": f"{_coord(glat)},{_coord(glon)}",
                                                    "q": name})
    return [
        {"app": "amap", "label": "高德地图", "url": amap, "datum": "wgs84"},
        {"app": "baidu", "label": "百度地图", "url": baidu, "datum": "wgs84"},
        {"app": "tencent", "label": "腾讯地图", "url": tencent, "datum": "gcj02"},
        {"app": "apple", "label": "Apple 地图", "url": apple, "datum": "gcj02"},
    ]
