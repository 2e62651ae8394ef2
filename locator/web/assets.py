"""Front-end files served from our own origin (no CDN): our static files and Leaflet from
the ``xstatic-leaflet`` package.

Each file is read once, gzipped once and kept in memory: phones on a weak signal get the
small copy, and no request streams from disk. A request is looked up in the listing of a
fixed folder, so no request can name a file outside it, and what it sends is never a path.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, request
from xstatic.pkg import leaflet as xs_leaflet

ONE_YEAR_S = 365 * 24 * 3600
STATIC_DIR = Path(__file__).with_name("static")
FOLDERS = {"leaflet": Path(xs_leaflet.BASE_DIR)}
LEAFLET_VERSION = xs_leaflet.VERSION


@dataclass(frozen=True)
class Asset:
    raw: bytes
    gz: bytes
    etag: str
    mimetype: str


class AssetCache:
    """Files of a few folders, read once. A request names a file by its path relative to
    its folder and is answered only when that name is in the folder's listing (made once):
    what the client sends never becomes a filesystem path."""

    def __init__(self):
        self._files: dict[Path, Asset] = {}
        self._listings: dict[Path, dict[str, Path]] = {}
        self._lock = threading.Lock()

    def _listing(self, folder: Path) -> dict[str, Path]:
        listing = self._listings.get(folder)
        if listing is None:
            listing = {p.relative_to(folder).as_posix(): p
                       for p in sorted(folder.rglob("*")) if p.is_file()}
            with self._lock:
                self._listings[folder] = listing
        return listing

    def get(self, folder: Path, filename: str) -> Asset:
        path = self._listing(folder).get(filename)
        if path is None:
            abort(404)
        asset = self._files.get(path)
        if asset is None:
            raw = path.read_bytes()
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mimetype.startswith("text/") or mimetype == "application/javascript":
                mimetype += "; charset=utf-8"
            asset = Asset(raw, gzip.compress(raw, 9, mtime=0),
                          hashlib.sha256(raw).hexdigest()[:20], mimetype)
            with self._lock:
                self._files[path] = asset
        return asset


def _respond(asset: Asset, max_age: int) -> Response:
    gz = "gzip" in request.headers.get("Accept-Encoding", "") and len(asset.gz) < len(asset.raw)
    response = Response(asset.gz if gz else asset.raw, content_type=asset.mimetype)
    if gz:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.set_etag(asset.etag + ("-gz" if gz else ""))
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    cache = AssetCache()
    # our own files change with releases: revalidate hourly; vendored ones are versioned
    own_max_age = 0 if app.debug else 3600

    @app.get("/vendor/<any(leaflet):package>/<path:filename>")
    def vendor(package: str, filename: str):
        """A vendored asset (Leaflet)."""
        return _respond(cache.get(FOLDERS[package], filename), ONE_YEAR_S)

    @app.get("/static/<path:filename>", endpoint="static")
    def static(filename: str):
        """Our CSS and JS."""
        return _respond(cache.get(STATIC_DIR, filename), own_max_age)
