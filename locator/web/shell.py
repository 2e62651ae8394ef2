"""The folium map shell that every page with a map embeds (courier map, import review, coverage)."""

from __future__ import annotations

from flask import url_for

from locator.sites.maps import build_shell
from locator.web.state import get_state


def map_shell():
    """Render the folium shell once per worker; it depends only on settings."""
    state = get_state()
    if state.map_shell is None:
        state.map_shell = build_shell(
            base=state.basemap,
            leaflet_js=url_for("vendor", package="leaflet", filename="leaflet.js"),
            leaflet_css=url_for("vendor", package="leaflet", filename="leaflet.css"),
        )
    return state.map_shell
