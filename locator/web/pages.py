"""Pages for people: the map."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, url_for

from locator.maps import build_shell
from locator.web.state import get_state

bp = Blueprint("pages", __name__)


def _map_shell():
    """Render the folium shell once per worker; it depends only on settings."""
    state = get_state()
    if state.map_shell is None:
        cfg = current_app.config
        state.map_shell = build_shell(
            tile_url=cfg["TILE_URL"],
            attribution=cfg["TILE_ATTRIBUTION"],
            leaflet_js=url_for("vendor", package="leaflet", filename="leaflet.js"),
            leaflet_css=url_for("vendor", package="leaflet", filename="leaflet.css"),
        )
    return state.map_shell


@bp.get("/")
def index():
    """The map of every site."""
    snap = get_state().snapshot()
    html = render_template(
        "index.html", shell=_map_shell(), counts=snap.counts(), synthetic=snap.synthetic,
        sites_url=url_for("pages.sites_json", v=snap.version),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/data/sites.json")
def sites_json():
    """Compact station payload for the map; the URL carries the data version."""
    snap = get_state().snapshot()
    response = Response(snap.compact_json, mimetype="application/json")
    response.set_etag(f"v{snap.version}")
    if request.args.get("v") == str(snap.version):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
