"""The one loopback server behind ``bench_page.py``: our app plus two baseline pages.

Run as a child process by ``bench_page.py`` (so its threads never share a GIL with the
Playwright driver)::

    .venv/bin/python benchmarks/bench_page_server.py --instance DIR [--port 0] [--cache-dir D]

It builds ``create_app`` on a fresh instance folder, runs ``locator init`` (the bundled
synthetic demo sites), renders the two baseline pages from the same snapshot, prints one
JSON line (port, URLs, page sizes) and serves until killed, with werkzeug's threaded
server (HTTP/1.1 keep-alive):

- ``/`` and everything else: our app, unchanged (it negotiates its own compression);
- ``/bench/handwritten``: the floor. Leaflet from our ``/vendor/leaflet`` files, one
  canvas renderer, our ``/data/sites.json`` payload (the exact URL our page fetches)
  drawn as ``L.circleMarker``; nothing else. The map fills the page unless ``?w=&h=``
  (CSS px) give its size: ``bench_page.py`` passes the size of our page's map, so both
  draw the same canvas area and load the same tiles;
- ``/bench/folium_markers``: a plain Folium map with one ``folium.Marker`` plus popup per
  station. Folium's CDN assets are replaced by our Leaflet files; jQuery, Bootstrap, Font
  Awesome and awesome-markers are dropped (which makes this baseline *faster* than real
  Folium defaults). Folium's popups call jQuery's ``$(html)[0]``; a 3-line ``$`` shim
  that parses the HTML with a ``<template>`` stands in for it;
- ``/bench/ours_preload`` (what-if, only measured with ``bench_page.py --what-if``): our
  ``/`` as the app renders it, plus one ``<link rel="preload" as="fetch">`` for the
  sites payload.

The two baseline pages are kept in memory, raw and gzip-6, and gzip'd when accepted.
Every page sets ``window.locatorSitesDrawn`` once all stations are on the map.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import inspect
import json
import re
import sys
import time
from pathlib import Path

TILE_HOST = "tiles.bench.invalid"
TILE_URL = f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"
PAGES = {"handwritten": "/bench/handwritten", "folium_markers": "/bench/folium_markers",
         "ours_preload": "/bench/ours_preload"}
GZIP_LEVEL = 6  # what flask-compress and a default nginx use

# Same view as locator.sites.maps.build_shell: Hebei's bounds, zoom 5-18.
HEBEI_BOUNDS_LONLAT = ((113.45, 36.05), (119.85, 42.62))

HANDWRITTEN = r"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>floor</title>
<link rel="stylesheet" href="{leaflet_css}">
<style>html,body,#map{{height:100%;margin:0}}</style>
<script src="{leaflet_js}"></script>
</head>
<body>
<div id="map"></div>
<script>
(function () {{
  var el = document.getElementById("map"), q = location.search;  // ?w=&h=: CSS px
  var w = /[?&]w=(\d+)/.exec(q), h = /[?&]h=(\d+)/.exec(q);
  if (w) {{ el.style.width = w[1] + "px"; }}
  if (h) {{ el.style.height = h[1] + "px"; }}
  var map = L.map("map", {{ center: [{clat}, {clon}], zoom: 7, minZoom: 5, maxZoom: 18 }});
  map.fitBounds([[{s}, {w}], [{n}, {e}]]);
  L.tileLayer({tile_url}, {{ maxZoom: 18, subdomains: "abc", attribution: {attr} }}).addTo(map);
  var renderer = L.canvas({{ padding: 0.5 }});
  var xhr = new XMLHttpRequest();
  xhr.open("GET", {sites_url});
  xhr.onload = function () {{
    var p = JSON.parse(xhr.responseText), f = p.fields || [], rows = p.sites;
    var X = f.indexOf("lon"), Y = f.indexOf("lat"), K = f.indexOf("kind");
    if (X < 0) {{ X = 0; Y = 1; K = 2; }}
    var group = L.layerGroup();
    for (var i = 0; i < rows.length; i++) {{
      var r = rows[i];
      group.addLayer(L.circleMarker([r[Y], r[X]], {{
        renderer: renderer, radius: 5, color: "#ffffff", weight: 1,
        fillColor: r[K] ? "#d81b60" : "#1565c0", fillOpacity: 0.9 }}));
    }}
    group.addTo(map);
    window.locatorSitesDrawn = rows.length;
  }};
  xhr.send();
}})();
</script>
</body>
</html>
"""

# Folium's popups do `$(`<div ...>...</div>`)[0]`; this stands in for jQuery there.
DOLLAR_SHIM = """<script>
window.$ = function (h) { var t = document.createElement("template");
  t.innerHTML = h.trim(); return [t.content.firstChild]; };
</script>
"""


def _js(value) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _popup_text(name: str, address: str) -> str:
    """Folium pastes popup HTML into a JS template literal: escape HTML, `` ` `` and ``${``."""
    text = f"<b>{html.escape(name)}</b><br>{html.escape(address)}"
    return text.replace("`", "&#96;").replace("${", "$&#123;")


def build_handwritten(*, leaflet_js: str, leaflet_css: str, sites_url: str,
                      attribution: str) -> str:
    (w, s), (e, n) = HEBEI_BOUNDS_LONLAT
    return HANDWRITTEN.format(
        leaflet_js=html.escape(leaflet_js), leaflet_css=html.escape(leaflet_css),
        clat=(s + n) / 2, clon=(w + e) / 2, s=s, w=w, n=n, e=e,
        tile_url=_js(TILE_URL), attr=_js(attribution), sites_url=_js(sites_url))


def build_folium_markers(sites, *, leaflet_js: str, leaflet_css: str,
                         attribution: str) -> str:
    """One ``folium.Marker`` with a popup per station, Folium's own rendering."""
    import folium

    (w, s), (e, n) = HEBEI_BOUNDS_LONLAT
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=7, tiles=None,
                   max_zoom=18, min_zoom=5)
    m.default_js = [("leaflet", leaflet_js)]
    m.default_css = [("leaflet_css", leaflet_css)]
    folium.TileLayer(tiles=TILE_URL, attr=attribution, max_zoom=18, subdomains="abc",
                     name="basemap0", control=False).add_to(m)
    for lon, lat, name, address in zip(sites["lon"], sites["lat"], sites["name"],
                                       sites["address"], strict=True):
        folium.Marker([float(lat), float(lon)],
                      popup=_popup_text(str(name), str(address or ""))).add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    page = m.get_root().render()
    if "https://" in page.replace(TILE_URL, ""):
        left = sorted(set(re.findall(r"https://[^\"'\s)]+", page.replace(TILE_URL, ""))))
        raise SystemExit(f"folium page still links external URLs: {left[:5]}")
    # the $ shim must run before folium's script; the flag after its last statement
    page = page.replace("</head>", DOLLAR_SHIM + "</head>", 1)
    cut = page.rfind("</script>")
    return (page[:cut] + f"\nwindow.locatorSitesDrawn = {len(sites)};\n" + page[cut:])


def preload_sites(page: str, sites_url: str) -> str:
    """What-if for ``ours``: the same page with one ``<link rel=preload>`` for the sites
    payload, placed where ``templates/index.html``'s head block starts (right after
    ``app.css``), so the download starts with Leaflet's instead of after app.js ran."""
    link = (f'<link rel="preload" href="{html.escape(sites_url)}" as="fetch" '
            'crossorigin="anonymous">')
    found = re.search(r'<link rel="stylesheet" href="[^"]*app\.css[^"]*">', page)
    at = found.end() if found else page.index("<head>") + len("<head>")
    return page[:at] + "\n  " + link + page[at:]


class Dispatcher:
    """WSGI: the baseline pages from memory, everything else to our app.

    ``derived`` pages are made per request from one of our app's pages (fetched
    uncompressed through the app itself) by a function of its text; served gzip'd too.
    """

    def __init__(self, app, pages: dict[str, bytes], derived: dict | None = None):
        self.app = app
        self.pages = {path: (raw, gzip.compress(raw, GZIP_LEVEL, mtime=0))
                      for path, raw in pages.items()}
        self.derived = derived or {}

    def _derive(self, environ) -> tuple[bytes, bytes] | None:
        source, change = self.derived[environ["PATH_INFO"]]
        inner = {**environ, "PATH_INFO": source, "QUERY_STRING": "",
                 "HTTP_ACCEPT_ENCODING": "identity"}
        got = {}

        def start(status, headers, exc_info=None):
            got["status"] = status
            return lambda data: None

        body = b"".join(self.app(inner, start))
        if not got.get("status", "").startswith("200"):
            return None
        raw = change(body.decode()).encode()
        return raw, gzip.compress(raw, GZIP_LEVEL, mtime=0)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        page = self.pages.get(path)
        if page is None and path in self.derived:
            page = self._derive(environ)
            if page is None:
                start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
                return [b"source page failed"]
        if page is None:
            return self.app(environ, start_response)
        raw, gz = page
        use_gz = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        body = gz if use_gz else raw
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Length", str(len(body))), ("Cache-Control", "no-cache"),
                   ("Vary", "Accept-Encoding")]
        if use_gz:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [body]


def _folium_cached(sites, cache_dir: Path | None, **kw) -> tuple[str, bool]:
    """Folium needs ~3-30 s to render 5,990 markers; keep the page keyed by its inputs."""
    import folium

    if cache_dir is None:
        return build_folium_markers(sites, **kw), False
    key = hashlib.sha256()
    for part in (folium.__version__, inspect.getsource(build_folium_markers),
                 inspect.getsource(_popup_text), DOLLAR_SHIM, TILE_URL, json.dumps(kw),
                 sites[["lon", "lat", "name", "address"]].to_json(orient="values")):
        key.update(part.encode())
    path = cache_dir / f"bench_page-folium-{key.hexdigest()[:16]}.html.gz"
    if path.exists():
        return gzip.decompress(path.read_bytes()).decode(), True
    page = build_folium_markers(sites, **kw)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(gzip.compress(page.encode(), 6, mtime=0))
    tmp.replace(path)
    return page, False


def build(instance: Path, cache_dir: Path | None = None) -> tuple[Dispatcher, dict]:
    from locator import create_app
    from locator.web.state import get_state

    app = create_app({"INSTANCE_PATH": str(instance), "BASEMAP": "custom",
                      "TILE_URL": TILE_URL})
    result = app.test_cli_runner().invoke(args=["init"])
    if result.exit_code != 0:
        raise SystemExit(f"locator init failed:\n{result.output}")

    client = app.test_client()
    ours = client.get("/", headers={"Accept-Encoding": "identity"})
    if ours.status_code != 200:
        raise SystemExit(f"GET / answered {ours.status_code}")
    text = ours.get_data(as_text=True)
    found = re.search(r'id="locator-config"[^>]*>(.*?)</script>', text, re.S)
    sites_url = json.loads(found.group(1))["sites"] if found else "/data/sites.json"

    with app.test_request_context("/"):
        from flask import url_for

        leaflet_js = url_for("vendor", package="leaflet", filename="leaflet.js")
        leaflet_css = url_for("vendor", package="leaflet", filename="leaflet.css")
        base = get_state().basemap
        attribution = base.layers[0].attribution
        sites = get_state().snapshot().sites

    t0 = time.perf_counter()
    folium_page, cached = _folium_cached(sites, cache_dir, leaflet_js=leaflet_js,
                                         leaflet_css=leaflet_css, attribution=attribution)
    folium_s = time.perf_counter() - t0
    pages = {
        PAGES["handwritten"]: build_handwritten(leaflet_js=leaflet_js, leaflet_css=leaflet_css,
                                                sites_url=sites_url,
                                                attribution=attribution).encode(),
        PAGES["folium_markers"]: folium_page.encode(),
    }
    dispatcher = Dispatcher(app, pages, derived={
        PAGES["ours_preload"]: ("/", lambda page: preload_sites(page, sites_url))})
    info = {
        "sites": int(len(sites)),
        "sites_url": sites_url,
        "leaflet_js": leaflet_js,
        "leaflet_css": leaflet_css,
        "folium_build_s": round(folium_s, 3),
        "folium_cached": cached,
        "ours_html_bytes": len(ours.get_data()),
        "pages": {path: {"raw": len(raw), "gzip": len(gz)}
                  for path, (raw, gz) in dispatcher.pages.items()},
    }
    return dispatcher, info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", required=True, type=Path)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help="keep the rendered Folium page here, keyed by its inputs")
    args = ap.parse_args()

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *a, **k):
            pass

    dispatcher, info = build(args.instance, args.cache_dir)
    server = make_server("127.0.0.1", args.port, dispatcher, threaded=True,
                         request_handler=QuietHandler)
    info["port"] = server.server_port
    print(json.dumps(info), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
