"""GeoDataFrames and settings -> Folium maps; the one place lon/lat flips to [lat, lon].

Folium links its default assets from public CDNs (jQuery, Bootstrap, Font Awesome, Leaflet);
CDNs are slow or blocked in China and tests run offline, so every map built here links
only the Leaflet files that the app itself serves (from the ``xstatic-leaflet`` package).
jQuery, Bootstrap and Font Awesome are dropped: nothing on our maps uses them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import folium
from folium.template import Template

from locator.errors import LocatorError

OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
TIANDITU_WMTS = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)


class ConfigError(LocatorError):
    """A basemap setting that cannot work (HTTP 500, code ``configuration_error``)."""

    status = 500
    code = "configuration_error"


@dataclass(frozen=True)
class TileLayer:
    """One layer of map tiles.

    Attributes
    ----------
    url : str
        Leaflet URL template with ``{z}``, ``{x}``, ``{y}`` and optionally ``{s}``.
    attribution : str
        HTML credit shown on the map (trusted: from code or the operator's setting).
    subdomains : str
        Letters or digits that ``{s}`` takes, one per subdomain.
    """

    url: str
    attribution: str
    subdomains: str = "abc"


@dataclass(frozen=True)
class Basemap:
    """Tile layers drawn bottom-up, and the datum their pixels are in.

    Attributes
    ----------
    name : str
        The ``BASEMAP`` setting: ``osm``, ``tianditu``, ``gaode`` or ``custom``.
    layers : tuple of TileLayer
        Bottom layer first.
    datum : {"wgs84", "gcj02"}
        Where the tiles draw a WGS-84 point: on ``gcj02`` tiles every overlay must first
        be shifted with :func:`locator.geo.datum.wgs84_to_gcj02`.
    """

    name: str
    layers: tuple[TileLayer, ...]
    datum: str  # "wgs84" or "gcj02": overlays are shifted into this datum before drawing

    @property
    def origins(self) -> tuple[str, ...]:
        """The origins the tiles come from (``{s}`` expanded over each layer's
        subdomains), for the pages' Content-Security-Policy; a relative tile URL is our
        own origin and adds none.

        Examples
        --------
        >>> basemap("gaode").origins
        ('https://webrd01.is.autonavi.com', 'https://webrd02.is.autonavi.com', \
'https://webrd03.is.autonavi.com', 'https://webrd04.is.autonavi.com')
        >>> basemap("custom", tile_url="/tiles/{z}/{x}/{y}.png").origins
        ()
        """
        found: list[str] = []
        for layer in self.layers:
            for origin in _tile_origins(layer):
                if origin not in found:
                    found.append(origin)
        return tuple(found)


def _tile_origins(layer: TileLayer) -> list[str]:
    parts = urlsplit(layer.url)
    if not parts.netloc:
        return []
    hosts = ([parts.netloc.replace("{s}", s) for s in layer.subdomains]
             if "{s}" in parts.netloc else [parts.netloc])
    return [f"{parts.scheme}://{host}" for host in hosts]


def basemap(name: str, *, tianditu_key: str = "", tile_url: str = "",
            tile_datum: str = "wgs84", attribution: str = "") -> Basemap:
    """The basemap a setting names (DESIGN.md §3).

    ``osm`` and ``tianditu`` tiles are WGS-84 (Tianditu's CGCS2000 is within centimetres
    of it); ``gaode`` tiles are GCJ-02, so every overlay must be shifted by the caller.

    Parameters
    ----------
    name : {"osm", "tianditu", "gaode", "custom"}
        The ``BASEMAP`` setting.
    tianditu_key : str
        Tianditu developer key (``tk``); required for ``tianditu``.
    tile_url : str
        Tile URL template; required for ``custom``.
    tile_datum : {"wgs84", "gcj02"}
        Datum of the ``custom`` tiles.
    attribution : str
        HTML credit for ``custom`` tiles; the tile host's name when empty.

    Returns
    -------
    Basemap

    Raises
    ------
    ConfigError
        For an unknown ``name``, a missing key or URL, or a ``tile_datum`` other than
        ``wgs84`` or ``gcj02``.

    Examples
    --------
    >>> basemap("gaode").datum, basemap("osm").datum
    ('gcj02', 'wgs84')
    """
    if name == "osm":
        return Basemap(name, (TileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                                        OSM_ATTRIBUTION, "abc"),), "wgs84")
    if name == "tianditu":
        if not tianditu_key:
            raise ConfigError("设置有误 bad setting LOCATOR_BASEMAP=tianditu：需要设置 "
                              "LOCATOR_TIANDITU_KEY（天地图开发者密钥 your Tianditu key）")
        credit = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> 国家地理信息公共服务平台'
        return Basemap(name, tuple(
            TileLayer(TIANDITU_WMTS.replace("{layer}", layer).replace("{key}", tianditu_key),
                      credit, "01234567") for layer in ("vec", "cva")), "wgs84")
    if name == "gaode":
        return Basemap(name, (TileLayer(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}", "&copy; 高德地图 AutoNavi", "1234"),), "gcj02")
    if name == "custom":
        if not tile_url:
            raise ConfigError("设置有误 bad setting LOCATOR_BASEMAP=custom：需要设置 "
                              "LOCATOR_TILE_URL（瓦片地址模板 a tile URL template）")
        if tile_datum not in ("wgs84", "gcj02"):
            raise ConfigError(f"设置有误 bad setting LOCATOR_TILE_DATUM={tile_datum!r}：可选 one "
                              "of wgs84, gcj02")
        from urllib.parse import urlsplit

        parts = urlsplit(tile_url)
        if parts.netloc and parts.scheme not in ("http", "https"):
            raise ConfigError(f"设置有误 bad setting LOCATOR_TILE_URL={tile_url!r}：必须以 "
                              "https://、http:// 或 / 开头 (must start so)")
        if "{" in parts.netloc.replace("{s}", "") or not _HOST.fullmatch(
                parts.netloc.replace("{s}", "a")):
            raise ConfigError(f"设置有误 bad setting LOCATOR_TILE_URL={tile_url!r}：主机名中只能"
                              "用 {s} 作占位符 (only {s} may stand in the host name)")
        credit = attribution or html.escape(parts.netloc or "map tiles")
        return Basemap(name, (TileLayer(tile_url, credit, "abc"),), tile_datum)
    raise ConfigError(f"设置有误 bad setting LOCATOR_BASEMAP={name!r}：可选 one of osm, "
                      "tianditu, gaode, custom")


# A host name with an optional port: what a CSP source may name (no userinfo, no spaces).
_HOST = re.compile(r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?|")

# Hebei's extent (WGS-84 lon/lat): the first view shows the whole province.
HEBEI_BOUNDS_LONLAT = ((113.45, 36.05), (119.85, 42.62))


def latlon(lon: float, lat: float) -> list[float]:
    """Leaflet's axis order. Everything else in the project is (lon, lat).

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude in degrees (WGS-84, or GCJ-02 on a GCJ-02 basemap).

    Returns
    -------
    list of float
        ``[lat, lon]``, as ``L.latLng`` and folium's ``location`` take it.

    Examples
    --------
    >>> latlon(114.5149, 38.0428)
    [38.0428, 114.5149]
    """
    return [lat, lon]


@dataclass(frozen=True)
class MapShell:
    """The pieces of a rendered Folium map, to place in our own Jinja template.

    Attributes
    ----------
    name : str
        The JS variable holding the ``L.map``.
    header : str
        HTML for ``<head>``: Leaflet's JS and CSS links, the map's style and Leaflet's
        global switches.
    html : str
        The map's ``<div>``.
    script : str
        JavaScript that creates the map, its tile layers and its first view.
    """

    name: str
    header: str
    html: str
    script: str

    def with_nonce(self, nonce: str) -> MapShell:
        """This shell with ``nonce`` on every ``<script>`` and ``<style>`` element of its
        header, for a Content-Security-Policy without ``'unsafe-inline'``. The page wraps
        :attr:`script` in a ``<script nonce=…>`` of its own."""
        if not _NONCE.fullmatch(nonce):
            raise ValueError(f"not a nonce: {nonce!r}")
        return replace(self, header=_INLINE_TAG.sub(rf'<\1 nonce="{nonce}"', self.header))


_INLINE_TAG = re.compile(r"<(script|style)(?=[\s>])")
_NONCE = re.compile(r"[A-Za-z0-9_+/=-]{16,}")


class _Es5Map(folium.Map):
    """folium.Map whose script is plain ES5: folium writes the map options with object
    spread (``...{}``, ES2018), which old Android WebViews cannot parse."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <style>
                #{{ this.get_name() }} { position: relative; width: 100%; height: 100%; }
                .leaflet-container { font-size: {{ this.font_size }}; }
            </style>
            <script>
                L_NO_TOUCH = {{ this.global_switches.no_touch | tojson }};
                L_DISABLE_3D = {{ this.global_switches.disable_3d | tojson }};
            </script>
        {% endmacro %}

        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name() | tojson }}></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map({{ this.get_name() | tojson }}, L.Util.extend(
                {center: {{ this.location | tojson }}, crs: L.CRS.{{ this.crs }}},
                {{ this.options | tojavascript }}));
        {% endmacro %}
        """)


def build_shell(*, base: Basemap, leaflet_js: str, leaflet_css: str) -> MapShell:
    """Render the base map once: tiles, canvas renderer, scale bar, Hebei in view.

    Parameters
    ----------
    base : Basemap
        Tile layers and their datum (see :func:`basemap`).
    leaflet_js, leaflet_css : str
        Same-origin URLs of Leaflet's files.

    Returns
    -------
    MapShell
        A Leaflet map in Web Mercator (``L.CRS.EPSG3857``) fitted to
        :data:`HEBEI_BOUNDS_LONLAT` (WGS-84 degrees, flipped to ``[lat, lon]`` here);
        tiles up to zoom 18.
    """
    (w, s), (e, n) = HEBEI_BOUNDS_LONLAT
    m = _Es5Map(
        location=latlon((w + e) / 2, (s + n) / 2),
        zoom_start=7,
        tiles=None,
        prefer_canvas=True,
        max_zoom=18,
        min_zoom=5,
    )
    # Instance attributes shadow folium's shared class lists (never mutate those).
    m.default_js = [("leaflet", leaflet_js)]
    m.default_css = [("leaflet_css", leaflet_css)]
    for i, layer in enumerate(base.layers):
        folium.TileLayer(tiles=layer.url, attr=layer.attribution, max_zoom=18,
                         subdomains=layer.subdomains, name=f"basemap{i}",
                         control=False).add_to(m)
    m.fit_bounds([latlon(w, s), latlon(e, n)])
    root = m.get_root()
    root.render()
    return MapShell(
        name=m.get_name(),
        header=root.header.render(),
        html=root.html.render(),
        script=root.script.render(),
    )
