"""Front-end files from registry packages, served from our own origin (no CDN)."""

from __future__ import annotations

from flask import Flask, send_from_directory
from xstatic.pkg import leaflet as xs_leaflet

VENDOR = {"leaflet": xs_leaflet.BASE_DIR}
LEAFLET_VERSION = xs_leaflet.VERSION
ONE_YEAR_S = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    @app.get("/vendor/<any(leaflet):package>/<path:filename>")
    def vendor(package: str, filename: str):
        """A vendored asset; the folder is fixed and send_from_directory refuses ``..``."""
        response = send_from_directory(VENDOR[package], filename, max_age=ONE_YEAR_S)
        return response
