"""The folium map shell that every page with a map embeds (courier map, import review, coverage)."""

from __future__ import annotations

from flask import url_for

from locator.sites.maps import MapShell, build_shell
from locator.web.headers import csp_nonce
from locator.web.state import get_state


def map_shell() -> MapShell:
    """The folium shell, rendered once per worker (it depends only on settings), with this
    request's CSP nonce on the inline elements of its header."""
    state = get_state()
    if state.map_shell is None:
        state.map_shell = build_shell(
            base=state.basemap,
            leaflet_js=url_for("vendor", package="leaflet", filename="leaflet.js"),
            leaflet_css=url_for("vendor", package="leaflet", filename="leaflet.css"),
        )
    return state.map_shell.with_nonce(csp_nonce())
