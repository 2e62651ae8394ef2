"""GeoDataFrames and settings -> Folium maps; the one place lon/lat flips to [lat, lon].

Folium's default assets come from CDNs (jsdelivr, cdnjs, code.jquery.com, bootstrapcdn);
CDNs are slow or blocked in China and tests run offline, so every map built here links
only the Leaflet files that the app itself serves (from the ``xstatic-leaflet`` package).
jQuery, Bootstrap and Font Awesome are dropped: nothing on our maps uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium

# Hebei's extent (WGS-84 lon/lat): the first view shows the whole province.
HEBEI_BOUNDS_LONLAT = ((113.45, 36.05), (119.85, 42.62))


def latlon(lon: float, lat: float) -> list[float]:
    """Leaflet's axis order. Everything else in the project is (lon, lat)."""
    return [lat, lon]


@dataclass(frozen=True)
class MapShell:
    """The pieces of a rendered Folium map, to place in our own Jinja template."""

    name: str  # the JS variable holding the L.map
    header: str
    html: str
    script: str


def build_shell(*, tile_url: str, attribution: str, leaflet_js: str,
                leaflet_css: str) -> MapShell:
    """Render the base map once: tiles, canvas renderer, scale bar, Hebei in view.

    Parameters
    ----------
    tile_url, attribution : str
        Tile URL template (WGS-84 / Web Mercator tiles) and its attribution HTML.
    leaflet_js, leaflet_css : str
        Same-origin URLs of Leaflet's files.
    """
    (w, s), (e, n) = HEBEI_BOUNDS_LONLAT
    m = folium.Map(
        location=latlon((w + e) / 2, (s + n) / 2),
        zoom_start=7,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        max_zoom=18,
        min_zoom=5,
    )
    # Instance attributes shadow folium's shared class lists (never mutate those).
    m.default_js = [("leaflet", leaflet_js)]
    m.default_css = [("leaflet_css", leaflet_css)]
    folium.TileLayer(tiles=tile_url, attr=attribution, max_zoom=18, name="basemap").add_to(m)
    m.fit_bounds([latlon(w, s), latlon(e, n)])
    root = m.get_root()
    root.render()
    return MapShell(
        name=m.get_name(),
        header=root.header.render(),
        html=root.html.render(),
        script=root.script.render(),
    )
